"""reservoir-motor: reward-modulated motor learning in a reservoir (SUPERTREX, Pyle & Rosenbaum 2019).

The layers, each importing only from those before it: ``errors``, ``tomlio`` and ``progress``; ``plants``
(physics); ``kernel`` (the compiled loop); the configuration (``kinds``, ``config``, ``experiments``,
``configref``); ``storage``; ``simulation``; ``studies``; ``plots``; ``paper``; and the interfaces
(``cli``, ``envs``, this module).
"""

from importlib.util import find_spec

from .config import ExperimentConfig
from .errors import ConfigError
from .experiments import experiment_names, load_experiment
from .simulation.simulate import simulate
from .storage.provenance import VERSION as __version__
from .storage.result import Result, load_result
from .studies.gather import load_runs, load_traces  # pandas and xarray are imported when called

if find_spec("gymnasium") is not None:  # the envs' ids work after `import reservoir_motor`
    from . import envs  # noqa: F401

__all__ = ["ConfigError", "ExperimentConfig", "Result", "experiment_names", "load_experiment", "load_result",
           "load_runs", "load_traces", "simulate", "__version__"]
