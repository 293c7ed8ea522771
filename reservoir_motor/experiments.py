"""Experiment files: the TOML files under ``tasks/``, available by name after installation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .config import ExperimentConfig, apply_overrides
from .errors import ConfigError
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


def _locate(name_or_path: str):
    """The file of a bundled experiment name or of a path, and the experiment's default name."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"experiment file {str(path)!r} does not exist")
        return path, path.stem
    bundled = _task_dir() / f"{name_or_path}.toml"
    if not bundled.is_file():
        raise ConfigError(f"unknown experiment {name_or_path!r}: choose one of {', '.join(experiment_names())}, "
                          "or give a path to a .toml file")
    return bundled, name_or_path


def _parse(source, label: str) -> dict:
    try:
        return loads_toml(source.read_text())
    except ValueError as exc:  # tomllib's decode errors are ValueErrors
        raise ConfigError(f"{label}: not valid TOML ({exc})") from None


def _locate_parent(ref, source, label: str):
    """The file named by ``extends = ref`` in ``source``: a bundled name, or a .toml path from its folder."""
    allowed = "must be a bundled experiment name or a path to a .toml file, relative to the file's folder"
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"{label}: extends = {ref!r} is not allowed: {allowed}")
    if ref.endswith(".toml") or "/" in ref:
        folder = source.parent if isinstance(source, Path) else _task_dir()
        parent = folder / ref
        if not parent.is_file():
            raise ConfigError(f"{label}: extends = {ref!r} is not allowed: {parent} does not exist")
        return parent, str(parent)
    bundled = _task_dir() / f"{ref}.toml"
    if not bundled.is_file():
        raise ConfigError(f"{label}: extends = {ref!r} is not allowed: no bundled experiment {ref!r} "
                          f"(see `reservoir-motor list`); {allowed}")
    return bundled, ref


def merge_config_data(parent: dict, child: dict) -> dict:
    """``child`` over ``parent``: tables merge key by key (recursively); any other value, lists included, replaces.

    So a child's ``[[manipulations]]`` replace the parent's whole schedule: the file then shows every
    manipulation of the run in order, and can drop or change an inherited one, which appending could not.
    """
    out = dict(parent)
    for key, value in child.items():
        both_tables = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge_config_data(out[key], value) if both_tables else value
    return out


def _file_key(source) -> str:
    return str(source.resolve() if isinstance(source, Path) else source)


def _resolve(source, label: str, chain: tuple = ()) -> dict:
    """The data of one experiment file with its ``extends`` chain merged in; ``chain`` holds the files below."""
    chain = chain + ((_file_key(source), label),)
    data = _parse(source, label)
    if "extends" not in data:
        return data
    ref = data.pop("extends")
    parent_source, parent_label = _locate_parent(ref, source, label)
    if _file_key(parent_source) in (key for key, _ in chain):
        cycle = " -> ".join([lab for _, lab in chain] + [parent_label])
        raise ConfigError(f"{label}: extends = {ref!r} is not allowed: the files extend each other ({cycle})")
    parent = _resolve(parent_source, parent_label, chain)
    for own in ("name", "description"):  # these belong to the file itself
        parent.pop(own, None)
    return merge_config_data(parent, data)


def _read(name_or_path: str) -> tuple[dict, str]:
    source, default_name = _locate(name_or_path)
    return _resolve(source, name_or_path), default_name


def load_experiment(name_or_path: str, overrides: list[str] = ()) -> ExperimentConfig:
    """Load a bundled experiment by name (see ``reservoir-motor list``) or a TOML file by path.

    A file with ``extends = "NAME"`` (a bundled experiment) or ``extends = "PATH.toml"`` (relative to the
    file's folder) holds only what differs from that parent; see :func:`merge_config_data`. ``name`` and
    ``description`` are not inherited. ``overrides`` are ``SECTION.KEY=VALUE`` strings applied before validation.
    """
    data, default_name = _read(name_or_path)
    data.setdefault("name", default_name)
    return ExperimentConfig.from_dict(apply_overrides(data, list(overrides)))


def describe(name: str) -> str:
    """The first line of an experiment's description (a bundled name or a file); empty if it has none."""
    lines = str(_read(name)[0].get("description", "")).strip().splitlines() if name else []
    return lines[0] if lines else ""
