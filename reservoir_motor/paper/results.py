"""``docs/results.md``, rebuilt from stored result files: ``reservoir-motor results``.

Each generated table sits in the page between ``<!-- results:KEY -->`` and ``<!-- /results:KEY -->``. A rebuild
runs what is missing of the table's experiments through the sweep (stored runs are reused, so a second
rebuild simulates nothing), formats the table from the files, and replaces the block: the line above the
table names the command, the commits that made its runs, the machines (the CPU each run's loop was compiled
for, or the device) and the dates the runs were made, all read from the files' provenance. The prose
around the blocks, the discussion of the numbers, is kept as it is. A table whose block the page lacks is
appended under its title, so a new page (``--out`` elsewhere) holds every table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..storage.provenance import read_provenance
from ..storage.result import open_result
from ..studies.report import collect, format_table
from ..studies.sweep import parse_seeds, plan, run_sweep
from . import outcomes, reproduce
from .figures import QUICK

DEFAULT_OUT = "docs/results.md"
DEFAULT_RESULTS = "results/paper"
QUICK_SEEDS = "0:2"
DYNAMICAL_ARM = ["dynarm-rmhl", "dynarm-rmhl-correlated", "dynarm-supertrex", "dynarm-supertrex-correlated"]


@dataclass(frozen=True)
class Table:
    """One generated table: its title, the experiments it needs, and how it is drawn from their directory."""

    title: str
    experiments: Callable[[], list[str]]
    render: Callable[[Path, list[str]], str]   # (directory, overrides) -> markdown


def _report(experiments):
    def render(directory, overrides):
        return format_table(list(reproduce.rows_of_configs(collect(directory), experiments, overrides).values()))
    return render


def _published(experiments):
    def render(directory, overrides):
        return reproduce.table_markdown("table1", directory, overrides, experiments)
    return render


TASK1 = ["task1-force", "task1-rmhl", "task1-supertrex"]
ARM_TASKS = ["task2-supertrex", "task2-rmhl", "task3-supertrex", "task2-3seg-supertrex"]
TABLES = {
    "task1": Table("Task 1 (butterfly), faithful presets", lambda: list(TASK1), _published(TASK1)),
    "arm-tasks": Table("Arm tasks (scalar reward), faithful presets", lambda: list(ARM_TASKS), _published(ARM_TASKS)),
    "dynamical-arm": Table("The dynamical arm (torques)", lambda: list(DYNAMICAL_ARM), _report(DYNAMICAL_ARM)),
    "outcomes": Table("Lesions, dopamine, Parkinson's disease and state information: every expected outcome",
                      outcomes.experiments,
                      lambda directory, overrides: outcomes.format_outcomes(outcomes.evaluate(directory))),
}

_BLOCK = re.compile(r"<!-- results:(?P<key>[\w-]+) -->\n.*?<!-- /results:(?P=key) -->", re.S)


def select(only=None) -> list[str]:
    """The tables asked for (default: all), each checked to exist."""
    keys = list(only or TABLES)
    for key in keys:
        if key not in TABLES:
            raise ValueError(f"unknown table {key!r}: choose from {', '.join(TABLES)}")
    return keys


def _span(values) -> str:
    values = sorted(set(values))
    return values[0] if len(values) == 1 else f"{values[0]} to {values[-1]}"


def machine(prov: dict) -> str:
    """What ran a run's loop, from its provenance: the CPU model and numba's target, or the GPU and its software."""
    cpu = f"{prov.get('cpu_model', 'CPU model not recorded')} (numba target {prov.get('cpu', '?')})"
    if prov.get("device"):
        return (f"GPU {prov['device']} (CUDA driver {prov.get('cuda_driver') or '-'}, numba-cuda "
                f"{prov.get('numba_cuda_version', '?')}) on {cpu}")
    return cpu


def provenance_line(command: str, paths) -> str:
    """``Made by`` the command, with the commits, machines and dates of the runs in ``paths``."""
    commits, machines, dates = {}, set(), []
    for path in paths:
        with open_result(path) as f:
            prov = read_provenance(f.attrs)
        commit = prov.get("git_commit", "unknown")[:7] + ("-dirty" if prov.get("git_commit", "").endswith("-dirty")
                                                          else "")
        commits[commit] = commits.get(commit, 0) + 1
        machines.add(machine(prov))
        dates.append(prov.get("created_utc", "not recorded")[:10])
    made = ", ".join(f"{c} ({n} runs)" if len(commits) > 1 else c for c, n in sorted(commits.items()))
    return (f"Made by `{command}`; {len(dates)} runs; commit {made}; machine {'; '.join(sorted(machines))}; "
            f"date {_span(dates)}.")


def block(key: str, directory: Path, seeds: list[int], overrides: list[str], command: str) -> str:
    """The marked block of one table: its provenance line and the table, from the runs in ``directory``."""
    runs = plan(TABLES[key].experiments(), seeds, directory, overrides=overrides)
    paths = [r.path for r in runs if r.path.exists()]
    table = TABLES[key].render(directory, overrides)
    return (f"<!-- results:{key} -->\n{provenance_line(command, paths)}\n\n{table}\n<!-- /results:{key} -->")


def rebuild_page(page: str, blocks: dict[str, str]) -> str:
    """``page`` with each block of ``blocks`` in place of its marked block; one the page lacks is appended."""
    missing = dict(blocks)

    def replace(match):
        return missing.pop(match["key"], match[0])

    page = _BLOCK.sub(replace, page)
    for key, text in missing.items():
        page = page.rstrip("\n") + f"\n\n## {TABLES[key].title}\n\n{text}\n"
    return page


def build_results(out=DEFAULT_OUT, results_dir=DEFAULT_RESULTS, *, seeds=None, quick=False, only=None, workers=None,
                  device="cpu", overrides=(), lockstep=False, progress=True) -> Path:
    """Run what is missing of the tables ``only`` (default: all), then rebuild their blocks in ``out``.

    ``quick``: the figures' reduced size and seeds 0-1 (what the tests run), in ``results_dir``/quick; the full
    runs go to ``results_dir``/full. ``overrides`` are ``--set`` values for every run (named in the command);
    ``lockstep`` runs those of one network together (the same numbers, docs/lockstep.md).
    """
    keys = select(only)
    seeds_text = seeds or (QUICK_SEEDS if quick else "0:11")
    seed_list = parse_seeds(seeds_text)
    sets = (QUICK if quick else []) + list(overrides)
    directory = Path(results_dir) / ("quick" if quick else "full")
    experiments = list(dict.fromkeys(e for key in keys for e in TABLES[key].experiments()))
    run_sweep(experiments, seed_list, directory, overrides=sets, workers=workers, device=device, progress=progress,
              lockstep=lockstep)
    command = " ".join(["reservoir-motor results", *(["--quick"] if quick else []),
                        *(["--device cuda"] if device == "cuda" else []),
                        *([f"--seeds {seeds_text}"] if seeds else []), *([f"--only {','.join(keys)}"] if only else []),
                        *(f"--set {s}" for s in overrides)])
    blocks = {key: block(key, directory, seed_list, sets, command) for key in keys}
    out = Path(out)
    page = out.read_text() if out.exists() else (
        "# Results\n\nRebuilt by `reservoir-motor results` from stored result files (docs/results.md).\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(rebuild_page(page, blocks))
    return out
