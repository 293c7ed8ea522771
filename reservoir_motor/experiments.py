"""Experiment files: the TOML files under ``tasks/``, available by name after installation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .config import ConfigError, ExperimentConfig, apply_overrides
from .tomlio import loads_toml


def _task_dir():
    """The installed ``reservoir_motor.tasks`` data, or ``tasks/`` of a source checkout."""
    try:
        return resources.files("reservoir_motor.tasks")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "tasks"


def experiment_names() -> list[str]:
    """Names of the bundled experiments, sorted."""
    return sorted(p.name[:-5] for p in _task_dir().iterdir() if p.name.endswith(".toml"))


def _read(name_or_path: str) -> tuple[dict, str]:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"experiment file {str(path)!r} does not exist")
        return loads_toml(path.read_text()), path.stem
    bundled = _task_dir() / f"{name_or_path}.toml"
    if not bundled.is_file():
        raise ConfigError(f"unknown experiment {name_or_path!r}: choose one of {', '.join(experiment_names())}, "
                          "or give a path to a .toml file")
    return loads_toml(bundled.read_text()), name_or_path


def load_experiment(name_or_path: str, overrides: list[str] = ()) -> ExperimentConfig:
    """Load a bundled experiment by name (see ``reservoir-motor list``) or a TOML file by path.

    ``overrides`` are ``SECTION.KEY=VALUE`` strings applied before validation.
    """
    try:
        data, default_name = _read(name_or_path)
    except ValueError as exc:  # tomllib's decode errors are ValueErrors
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{name_or_path}: not valid TOML ({exc})") from None
    data.setdefault("name", default_name)
    return ExperimentConfig.from_dict(apply_overrides(data, list(overrides)))


def describe(name: str) -> str:
    """The first line of an experiment's description (a bundled name or a file); empty if it has none."""
    lines = str(_read(name)[0].get("description", "")).strip().splitlines() if name else []
    return lines[0] if lines else ""
