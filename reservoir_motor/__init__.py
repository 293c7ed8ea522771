"""reservoir-motor: reward-modulated motor learning in a reservoir (SUPERTREX, Pyle & Rosenbaum 2019)."""

from importlib.metadata import PackageNotFoundError, version

try:  # the installed metadata, whose version setuptools-scm derives from git at build time
    __version__ = version("reservoir-motor")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "unknown"
del version, PackageNotFoundError

from .config import ConfigError, ExperimentConfig  # noqa: E402
from .experiments import experiment_names, load_experiment  # noqa: E402
from .gather import load_runs, load_traces  # noqa: E402  (pandas and xarray are imported when called)
from .result import Result, load_result  # noqa: E402
from .simulate import simulate  # noqa: E402

__all__ = ["ConfigError", "ExperimentConfig", "Result", "experiment_names", "load_experiment", "load_result",
           "load_runs", "load_traces", "simulate", "__version__"]
