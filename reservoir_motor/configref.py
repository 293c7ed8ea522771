"""The config reference, generated from the field metadata of :mod:`reservoir_motor.config`.

Every key of an experiment (sections ``network``, ``task``, ``rule``, ``schedule``, ``recording``; the
top-level ``name``, ``description`` and ``preset``; the ``[[manipulations]]`` tables) is listed with its
type, default, unit, allowed values and meaning, read from the same metadata that the validator uses, so
the reference cannot say something the validator does not enforce. Regenerate the committed copy with::

    python -m reservoir_motor.configref > docs/config-reference.md

``tests/test_docs.py`` checks that the committed file equals :func:`config_reference_markdown`.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from . import config as C
from . import kinds

_TYPES = {"int": "integer", "float": "float", "str": "string", "bool": "boolean", "tuple": "list of floats",
          "dict": "table"}

_CROSS_CHECKS = [
    "`network.dt_ms` must not exceed `network.tau_ms`.",
    "`task.duration_ms` must be a whole number (>= 2) of `network.dt_ms` steps.",
    "`task.effector = \"arm\"` needs `task.arm_lengths`; `\"identity\"` and `\"arm_dynamics\"` take none "
    "(the dynamical arm's segments are `task.plant.l1`, `task.plant.l2`).",
    "`task.effector = \"package.module:name\"` must import a `reservoir_motor.plants.Plant` whose step runs once "
    "from its initial state with finite results, and `task.plant` may only name that plant's parameters "
    "(docs/plants.md).",
    "`task.costs`, if given, has one entry per output (2 for the identity effector, one per joint for an arm).",
    "`task.target` must be a built-in curve or a readable .csv / .npy file of (x, y) points; for an arm every "
    "point must lie within reach of the shoulder.",
    "`rule.name = \"force\"` is refused with an arm: FORCE needs the target output at every step, and the "
    "target joint angles are unknown (only a scalar reward is available).",
    "`schedule.test_feedback = \"target\"` is refused with an arm for the same reason; use `replay` or "
    "`autonomous`.",
    "A preset fills its keys; giving one of them explicitly with a different value is an error, not silently "
    "replaced.",
    "Manipulations must start before the end of the run and stop after they start; two manipulations of the "
    "same kind must not overlap in time (different kinds may act at the same time).",
]


def _toml_value(v) -> str:
    """A value as it is written in an experiment file."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def _cell(text) -> str:
    """A markdown table cell: pipes escaped, never empty."""
    text = str(text).replace("|", "\\|").replace("\n", " ")
    return text if text else "-"


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()


def _allowed(meta, ftype: str) -> str:
    if meta["allowed"]:  # a field of two shapes says what it accepts
        return meta["allowed"]
    if meta["choices"]:
        return "one of " + ", ".join(f"`{_toml_value(c)}`" for c in meta["choices"])
    if ftype == "bool":
        return "`true` or `false`"
    if ftype == "str":
        return "a string (see meaning)"
    bounds = []
    if meta["lo"] is not None:
        bounds.append(f"{'>' if meta['lo_open'] else '>='} {meta['lo']:g}")
    if meta["hi"] is not None:
        bounds.append(f"<= {meta['hi']:g}")
    text = " and ".join(bounds) if bounds else "any"
    return ("each entry " + text) if ftype == "tuple" else text


def _section_table(name: str, cls, heading: bool = True) -> list[str]:
    lines = [f"## [{name}]", "", cls.__doc__.strip().splitlines()[0], ""] if heading else []
    lines += ["| key | type | default | unit | allowed | meaning |", "|---|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        meta = f.metadata
        default = f"`{_toml_value(_default(f))}`" if heading or f.name != "kind" else "(required)"
        lines.append("| " + " | ".join(_cell(c) for c in (
            f"`{name}.{f.name}`", _TYPES.get(f.type, f.type), default, meta["unit"],
            _allowed(meta, f.type), meta["doc"])) + " |")
    return lines + [""]


def _preset_lines() -> list[str]:
    lines = []
    for preset, sections in C.PRESETS.items():
        sets = [f"`{sec}.{key} = {_toml_value(val)}`" for sec, values in sections.items()
                for key, val in values.items()]
        lines.append(f"- `{preset}`: " + (", ".join(sets) if sets else "nothing (every key as written)"))
    return lines


def config_reference_markdown() -> str:
    """The markdown reference of every config key, from the dataclass metadata of :mod:`reservoir_motor.config`.

    Returns
    -------
    str
        The text of ``docs/config-reference.md``.
    """
    top = {f.name: f for f in dataclasses.fields(C.ExperimentConfig)}

    lines = [
        "# Config reference",
        "",
        "<!-- Generated by `python -m reservoir_motor.configref > docs/config-reference.md` from the field",
        "     metadata in reservoir_motor/config.py; do not edit by hand (tests/test_docs.py checks it). -->",
        "",
        "An experiment is a TOML file (see `tasks/`) with three top-level keys, five sections and an optional",
        "list of `[[manipulations]]` tables. Every key has a default, so a file only states what differs.",
        "Any key can be overridden on the command line, `--set SECTION.KEY=VALUE` (the value is read as TOML:",
        "`300`, `0.5`, `[1.8, 1.2, 0.6]`, `\"circle\"`; a bare word is taken as a string).",
        "`reservoir-motor show EXPERIMENT [--set ...]` prints the fully resolved config, every key.",
        "A bad value stops the program with one line naming the key, the value and what is allowed.",
        "",
        "Symbols: N reservoir size, r rates, z output, zbar filtered output, e squared error to the target,",
        "ebar its fast filter, e_hat = e - ebar, Psi exploration amplitude, Phi reward function,",
        "P the RLS inverse correlation matrix.",
        "",
        "## Top level",
        "",
        "| key | type | default | allowed | meaning |",
        "|---|---|---|---|---|",
        f"| `name` | string | `{_toml_value(top['name'].default)}` | any string | the experiment's name, used in "
        "file names and reports; a file in `tasks/` or on disk defaults to its file name |",
        f"| `description` | string | `{_toml_value(top['description'].default)}` | any string | one line shown "
        "by `reservoir-motor list` |",
        f"| `preset` | string | `{_toml_value(top['preset'].default)}` | one of "
        + ", ".join(f"`{_toml_value(p)}`" for p in C.PRESETS)
        + " | a named bundle of settings applied on top of the file (below) |",
        "",
        "Presets:",
        "",
        *_preset_lines(),
        "",
        "`faithful` is the authors' scripts; `robust` is this package's change for redundant arms and movement",
        "costs (README, *The robust preset*).",
        "",
    ]
    for name, cls in C.SECTIONS.items():
        lines += _section_table(name, cls)
    lines += [
        "## [[manipulations]]",
        "",
        "A schedule of manipulations of the exploratory (basal-ganglia) pathway and of the task, each acting",
        "from `start` to `stop`. Write one `[[manipulations]]` table per entry in TOML, or on the command",
        "line `--set 'manipulations=[{kind=\"lesion_exploratory\", start=5}]'` (this replaces the whole list).",
        "A run with manipulations and its control with the same seed share the network, the initial state",
        "and every noise stream: they are paired.",
        "",
    ]
    lines += _section_table("manipulations", C.Manipulation, heading=False)
    lines += ["| kind | effect while active |", "|---|---|"]
    for kind in kinds.MANIPULATIONS.values():
        lines.append(f"| `{kind.name}` | {_cell(kind.effect)} |")
    lines += ["", "## Checks across keys", ""]
    lines += [f"- {text}" for text in _CROSS_CHECKS]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Print the reference: ``python -m reservoir_motor.configref > docs/config-reference.md``."""
    sys.stdout.write(config_reference_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
