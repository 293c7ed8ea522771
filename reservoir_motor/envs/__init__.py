"""Motor environments: the target curves and the map from network output to hand position.

With Gymnasium installed (extra ``gym``), every built-in plant is a Gymnasium env under the id of its entry
in ``kinds.EFFECTORS`` (``Effector.env_id``): ``reservoir_motor/Identity-v0``, ``reservoir_motor/Arm-v0``
(``ARM_ENV_ID``) and ``reservoir_motor/ArmDynamics-v0``. ``kinds`` registers them once its registry is
complete (this package is imported before it). Gymnasium 1.0 dropped its plugin system (entry points in
the ``gymnasium.envs`` group are no longer read), so a fresh process names the module that registers the
envs in the id::

    gymnasium.make("reservoir_motor.envs:reservoir_motor/ArmDynamics-v0")

or imports the package first: ``import reservoir_motor`` and then ``gymnasium.make("reservoir_motor/Arm-v0")``.
"""

from .targets import make_target

ARM_ENV_ID = "reservoir_motor/Arm-v0"

__all__ = ["ARM_ENV_ID", "make_target", "register_envs"]


def register_envs() -> None:
    """Register every built-in plant's env with Gymnasium; calling it again changes nothing.

    The entry points are strings, so the env modules (and their Gymnasium imports) load only when an env is made.
    """
    import gymnasium

    from .. import kinds

    for plant in kinds.EFFECTORS.values():
        if plant.env_id and plant.env_id not in gymnasium.registry:
            own = {"effector": plant.name} if plant.env_entry_point == kinds.PLANT_ENV else {}
            gymnasium.register(id=plant.env_id, entry_point=plant.env_entry_point, kwargs={**own, **plant.env_kwargs})
