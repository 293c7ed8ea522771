"""reservoir-motor: reward-modulated motor learning in a reservoir (SUPERTREX, Pyle & Rosenbaum 2019)."""

__version__ = "0.1.0"

from .config import ConfigError, ExperimentConfig  # noqa: E402
from .experiments import experiment_names, load_experiment  # noqa: E402
from .result import Result, load_result  # noqa: E402
from .simulate import simulate  # noqa: E402

__all__ = ["ConfigError", "ExperimentConfig", "Result", "experiment_names", "load_experiment", "load_result",
           "simulate", "__version__"]
