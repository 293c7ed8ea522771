"""Gymnasium adapters (extra ``gym``): every built-in plant as an env, on the compiled loop's own step and error.

One class, :class:`~reservoir_motor.envs.plant_env.PlantDrawEnv`, serves every plant; ``ENVS`` gives each
built-in plant (an entry of ``kinds.EFFECTORS``) its id and its defaults. Importing this package registers
them (``register_envs``); so does ``import reservoir_motor`` when Gymnasium is installed. Gymnasium 1.0
dropped its plugin system (entry points in the ``gymnasium.envs`` group are no longer read), so a fresh
process names the module that registers the envs in the id::

    gymnasium.make("reservoir_motor.envs:reservoir_motor/ArmDynamics-v0")
"""

from __future__ import annotations

ENTRY_POINT = "reservoir_motor.envs.plant_env:PlantDrawEnv"

#: plant name -> (Gymnasium id, the env's defaults beyond PlantDrawEnv's own)
ENVS = {
    "identity": ("reservoir_motor/Identity-v0", {"action_bound": 2.0}),
    "arm": ("reservoir_motor/Arm-v0", {"arm_lengths": (1.8, 1.8)}),
    # the experiments' drawing: the butterfly at 0.1 m in 10 s, in steps of 10 ms (RK4 is exact enough at that
    # step for this slow a movement); outputs of +-20 are +-2 N m at the default torque_scale
    "arm_dynamics": ("reservoir_motor/ArmDynamics-v0",
                     {"target_scale": 144.734, "n_steps": 1000, "dt_ms": 10.0, "action_bound": 20.0}),
}
ARM_ENV_ID = ENVS["arm"][0]

__all__ = ["ARM_ENV_ID", "ENVS", "register_envs"]


def register_envs() -> None:
    """Register every built-in plant's env with Gymnasium; calling it again changes nothing.

    The entry point is a string, so the env module loads only when an env is made.
    """
    import gymnasium

    for plant, (env_id, defaults) in ENVS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=ENTRY_POINT, kwargs={"effector": plant, **defaults})


register_envs()
