"""Motor environments: the target curves and the map from network output to hand position.

With Gymnasium installed (extra ``gym``), importing this package registers the arm as ``ARM_ENV_ID``.
Gymnasium 1.0 dropped its plugin system (entry points in the ``gymnasium.envs`` group are no longer
read), so a fresh process names the module that registers the env in the id::

    gymnasium.make("reservoir_motor.envs:reservoir_motor/Arm-v0")

or imports it first: ``import reservoir_motor.envs`` and then ``gymnasium.make("reservoir_motor/Arm-v0")``.
"""

from importlib.util import find_spec

from .targets import make_target

ARM_ENV_ID = "reservoir_motor/Arm-v0"

__all__ = ["ARM_ENV_ID", "make_target", "register_envs"]


def register_envs() -> None:
    """Register the arm environment with Gymnasium as ``ARM_ENV_ID``; calling it again changes nothing.

    The entry point is a string, so the env module (and its Gymnasium imports) loads only when an env is made.
    """
    import gymnasium

    if ARM_ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ARM_ENV_ID, entry_point="reservoir_motor.envs.arm_env:ArmDrawEnv")


if find_spec("gymnasium") is not None:  # Gymnasium is optional; the simulator does not need it
    register_envs()
