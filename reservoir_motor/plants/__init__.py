"""The plants: what the network's outputs move, as plain physics that the compiled loop inlines.

``arm`` (the kinematic arm of Tasks 2 and 3), ``arm_dynamics`` (a two-joint arm driven by torques),
``targets`` (the curves to draw) and ``user`` (a plant of one's own, :class:`Plant`). Nothing here knows a
config; ``kinds.EFFECTORS`` is the registry that names them.
"""

from .targets import make_target
from .user import Plant

__all__ = ["Plant", "make_target"]
