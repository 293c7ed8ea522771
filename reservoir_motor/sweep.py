"""Parameter studies: every condition over many seeds, on local processes or a Dask cluster, resumable.

A condition is an experiment with a set of grid values; its name carries the grid values, e.g.
``task1-supertrex[rule.kappa=0.3]``. Each run is one HDF5 file named from the condition's config digest
and the seed, written atomically, so a finished run is a complete file and a sweep that is run again
skips it. A run that raises leaves a ``.failed.json`` record instead; diverged runs are ordinary results
marked diverged.
"""

from __future__ import annotations

import itertools
import json
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, ExperimentConfig
from .experiments import load_experiment
from .progress import SweepProgress
from .result import config_digest

# One BLAS/numba thread per worker process: the runs, not the threads, fill the cores.
_SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                  "NUMBA_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Run:
    """One (condition, seed) of a sweep and where its result goes."""

    config: ExperimentConfig
    seed: int
    path: Path

    @property
    def failed_path(self) -> Path:
        return self.path.with_suffix(".failed.json")


def parse_seeds(text: str) -> list[int]:
    """``0:11`` (a range, end excluded) or ``1,5,9``."""
    try:
        if ":" in text:
            lo, hi = (int(v) for v in text.split(":"))
            seeds = list(range(lo, hi))
        else:
            seeds = [int(v) for v in text.split(",")]
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds {text!r} is not allowed: write START:STOP (e.g. 0:11) or a list like 1,5,9 "
                          "of integers >= 0")
    return seeds


def parse_grid(items: list[str]) -> list[tuple[str, list[str]]]:
    """``KEY=V1,V2`` items into (key, [values]); values stay text, read as TOML by the overrides."""
    grid = []
    for item in items:
        key, _, values = item.partition("=")
        vals = [v.strip() for v in split_top_level(values, ",")]
        if not key.strip() or not vals or any(v == "" for v in vals):
            raise ConfigError(f"--grid {item!r} is not allowed: write KEY=V1,V2,... e.g. rule.kappa=0.3,0.5")
        grid.append((key.strip(), vals))
    return grid


def split_top_level(text: str, sep: str, maxsplit: int = -1) -> list[str]:
    """Split on ``sep`` outside [...] and {...}, so values like [1.8,1.8] and condition names like
    ``task1-supertrex[rule.kappa=0.3]`` stay whole."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "[{") - (ch in "]}")
        if ch == sep and depth == 0 and (maxsplit < 0 or len(out) < maxsplit):
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def plan(experiments: list[str], seeds: list[int], out_dir, *, grid=(), overrides=()) -> list[Run]:
    """Every run of the sweep, validated before anything is simulated."""
    out_dir = Path(out_dir)
    keys = [k for k, _ in grid]
    runs = []
    for name in experiments:
        for combo in itertools.product(*[vals for _, vals in grid]) if grid else [()]:
            sets = [f"{k}={v}" for k, v in zip(keys, combo, strict=True)]
            config = load_experiment(name, list(overrides) + sets)
            if sets:
                label = f"{config.name}[{','.join(sets)}]"
                config = ExperimentConfig.from_dict({**config.to_dict(), "name": label})
            stem = f"{_safe(config.name)}-{config_digest(config)}"
            runs += [Run(config, seed, out_dir / f"{stem}-seed{seed}.h5") for seed in seeds]
    return runs


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.=" else "_" for c in name)[:120]


def execute(config_dict: dict, seed: int, path: str) -> dict:
    """Simulate one run and write its file (or its failure record). Runs in a worker process."""
    from .simulate import simulate

    path = Path(path)
    if path.exists():
        return {"path": str(path), "status": "done", "skipped": True}
    try:
        result = simulate(ExperimentConfig.from_dict(config_dict), seed)
        result.save(path)
        return {"path": str(path), "status": "diverged" if result.diverged else "done", "skipped": False,
                "deviation": result.deviation, "wall_s": result.metrics["wall_s"]}
    except Exception as exc:  # noqa: BLE001 - a failing run is recorded and the sweep goes on
        record = {"experiment": config_dict["name"], "seed": seed, "error": repr(exc),
                  "traceback": traceback.format_exc()}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.failed.partial")
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, path.with_suffix(".failed.json"))
        return {"path": str(path), "status": "failed", "skipped": False, "error": repr(exc)}


def run_sweep(experiments, seeds, out_dir, *, grid=(), overrides=(), workers=None, scheduler=None,
              retry_failed=False, progress=True) -> list[dict]:
    """Run every missing run of a sweep; return one status dict per run.

    Parameters
    ----------
    experiments : list of str
        Bundled experiment names or TOML paths.
    seeds : list of int or str
        Seeds, or a ``START:STOP`` / ``a,b,c`` string.
    out_dir : path
        One HDF5 file per run lands here; files already there are not simulated again.
    grid : list of (key, [values]) or list of ``KEY=V1,V2`` strings
        The conditions: the product of all grid values, for every experiment.
    workers : int, optional
        Local worker processes (default: one per core).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``); the runs go to its workers instead.
    """
    if isinstance(seeds, str):
        seeds = parse_seeds(seeds)
    if grid and isinstance(grid[0], str):
        grid = parse_grid(list(grid))
    out_dir = Path(out_dir)
    runs = plan(list(experiments), list(seeds), out_dir, grid=grid, overrides=overrides)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [r for r in runs if not r.path.exists() and (retry_failed or not r.failed_path.exists())]
    statuses = {str(r.path): {"path": str(r.path), "status": "done", "skipped": True}
                for r in runs if r.path.exists()}
    statuses.update({str(r.path): {"path": str(r.path), "status": "failed", "skipped": True}
                     for r in runs if not r.path.exists() and r.failed_path.exists() and not retry_failed})
    bar = SweepProgress(len(runs), len(runs) - len(todo), disable=not progress)
    jobs = [(r.config.to_dict(), r.seed, str(r.path)) for r in todo]
    results = _run_dask(jobs, scheduler, bar) if scheduler else _run_local(jobs, workers, bar)
    for res in results:
        statuses[res["path"]] = res
    bar.close()
    return [statuses[str(r.path)] for r in runs]


def _run_local(jobs, workers, bar):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if not jobs:
        return []
    workers = workers or os.cpu_count() or 1
    os.environ.update(_SINGLE_THREAD)  # inherited by the worker processes
    out = []
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(execute, *job) for job in jobs]
        for fut in as_completed(futures):
            res = fut.result()
            bar.update(res["status"])
            out.append(res)
    return out


def _run_dask(jobs, scheduler, bar):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'reservoir-motor[dask]'") from None
    if not jobs:
        return []
    out = []
    with Client(scheduler, timeout="30s") as client:
        # The run's file name is its key: a resubmitted run is the same task, never a duplicate.
        futures = [client.submit(execute, *job, key=f"run-{Path(job[2]).stem}", pure=False, retries=3)
                   for job in jobs]
        for fut in as_completed(futures):
            res = fut.result()
            bar.update(res["status"])
            out.append(res)
    return out
