"""Motor environments: the target curves and the map from network output to hand position."""

from .targets import make_target

__all__ = ["make_target"]
