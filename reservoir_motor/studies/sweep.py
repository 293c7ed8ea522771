"""Parameter studies: every condition over many seeds, on local processes or a Dask cluster, resumable.

A condition is an experiment with a set of grid values; its name carries the grid values, e.g.
``task1-supertrex[rule.kappa=0.3]``. Each run is one HDF5 file named from the condition's config digest
and the seed, written atomically, so a finished run is a complete file and a sweep that is run again
skips it. A run that raises leaves a ``.failed.json`` record instead; diverged runs are ordinary results
marked diverged.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..config import ExperimentConfig
from ..errors import ConfigError
from ..experiments import load_experiment
from ..progress import SweepProgress
from ..storage.files import written_atomically
from ..storage.result import config_digest

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
    return execute_tree([(config_dict, seed, path)])[0]


def execute_tree(jobs: list, lockstep: bool = False) -> list[dict]:
    """Simulate the runs ``jobs`` (``(config_dict, seed, path)``) whose files are missing, the shared prefixes
    once (``prefix.plan_tree``), and write their files; return one status per job. Runs in a worker process.

    A parent keeps in memory the checkpoints its children continue from; a child whose checkpoint is not
    there (its parent failed, or diverged before it) is simulated from step 0. With ``lockstep`` the runs go in
    waves, the trees' roots first, then their children, and so on; the runs of a wave that share a network
    advance in lockstep (``simulate.simulate_group``), and write the files they would write alone.
    """
    from .prefix import plan_tree

    statuses, todo = _pending(jobs)
    trees = plan_tree(todo)
    waves = _waves(trees) if lockstep else [[node] for tree in trees for node in tree]
    nodes = [node for tree in trees for node in tree]
    captured, waiting, needs_of = {}, {}, {}  # needs_of: the periods a run's children continue from
    for node in nodes:
        if node.parent is not None:
            waiting[node.parent] = waiting.get(node.parent, 0) + 1
            needs_of.setdefault(node.parent, set()).add(node.period)
    for wave in waves:
        groups = {}
        for node in wave:
            groups.setdefault(network_key(todo[node.run].config, todo[node.run].seed), []).append(node)
        for group in groups.values():
            jobs_of = []
            for node in group:
                start = captured.get(node.parent, {}).get(node.period)
                needs = sorted(needs_of.get(node.run, ()))
                parent = todo[node.parent].path.name if start is not None else None
                captured[node.run] = {}
                jobs_of.append((todo[node.run], start, parent, needs, captured[node.run]))
            for status in _execute_group(jobs_of):
                statuses[status["path"]] = status
            for node in group:
                if node.parent is not None:
                    waiting[node.parent] -= 1
                    if not waiting[node.parent]:
                        captured.pop(node.parent)  # its last child has started: free its checkpoints
    return [statuses[str(path)] for _, _, path in jobs]


def _pending(jobs: list) -> tuple[dict, list[Run]]:
    """Of the jobs ``(config_dict, seed, path)`` given to a worker: the statuses of those it need not simulate
    (their file is there, e.g. in a retried task, or their config no longer loads: recorded), and the runs to
    simulate."""
    statuses, todo = {}, []
    for config_dict, seed, path in jobs:
        path = Path(path)
        if path.exists():  # e.g. in a retried task: its finished runs are not redone
            statuses[str(path)] = {"path": str(path), "status": "done", "skipped": True, "steps_simulated": 0,
                                   "steps_independent": 0}
            continue
        try:  # the config is checked again here: e.g. its target file may have gone
            todo.append(Run(ExperimentConfig.from_dict(config_dict), seed, path))
        except Exception as exc:  # noqa: BLE001 - recorded, the others go on
            statuses[str(path)] = _failed(path, config_dict["name"], seed, exc)
    return statuses, todo


def _waves(trees) -> list[list]:
    """The nodes of ``trees`` by depth: the roots, then their children, and so on."""
    depth, waves = {}, []
    for tree in trees:
        for node in tree:  # parents come first
            d = depth[node.run] = 0 if node.parent is None else depth[node.parent] + 1
            if d == len(waves):
                waves.append([])
            waves[d].append(node)
    return waves


def network_key(config: ExperimentConfig, seed: int) -> tuple:
    """What decides a run's J and its compiled loop: runs with one key can advance in lockstep."""
    from .. import kinds

    net = config.network
    user_plant = kinds.effector(config.task.effector).code == kinds.USER_PLANT  # a loop of its own
    return (seed, net.n_neurons, net.connection_prob, net.gain, net.connectivity,
            config.task.effector if user_plant else None)


def _execute_group(jobs: list) -> list[dict]:
    """Simulate ``jobs`` (``(run, start, parent, needs, captured)``, one network) together and write their files;
    a group that cannot be built (a run that raises before its first step) runs its members one by one, so
    each failure is recorded against its own run."""
    from ..simulation.simulate import simulate_group

    if len(jobs) == 1:
        return [dict(_execute_one(*jobs[0]), group_size=1)]
    try:
        results = simulate_group([_simulate_args(run, start, needs, captured)
                                  for run, start, _, needs, captured in jobs])
    except Exception:  # noqa: BLE001 - each run again alone, which records its own failure
        for *_, captured in jobs:
            captured.clear()
        return [dict(_execute_one(*job), group_size=1) for job in jobs]
    return [dict(_saved(run, result, start, parent), group_size=len(jobs))
            for (run, start, parent, _, _), result in zip(jobs, results, strict=True)]


def _simulate_args(run: Run, start, needs: list, captured: dict) -> dict:
    return dict(config=run.config, seed=run.seed, start=start, capture_at=needs, keep_replay=bool(needs),
                on_checkpoint=lambda ck: captured.__setitem__(ck.period, ck))


def _execute_one(run: Run, start, parent: str | None, needs: list, captured: dict) -> dict:
    """Simulate ``run`` (from the checkpoint ``start`` of the run in the file ``parent``, if any), keeping in
    ``captured`` the checkpoints at the periods ``needs``; write its file or its failure record."""
    from ..simulation.simulate import simulate

    try:
        return _saved(run, simulate(**_simulate_args(run, start, needs, captured)), start, parent)
    except Exception as exc:  # noqa: BLE001 - a failing run is recorded and the sweep goes on
        captured.clear()  # its children start from step 0
        return _failed(run.path, run.config.name, run.seed, exc)


def _saved(run: Run, result, start, parent: str | None) -> dict:
    """Write ``result``'s file; its status."""
    from ..storage.provenance import ORIGIN_KEYS

    if start is not None:  # provenance only: the file is the independent run's, not a user's continuation
        for key in ORIGIN_KEYS:
            result.provenance.pop(key, None)
        result.provenance.update(shared_prefix_from=parent, shared_prefix_period=start.period)
    result.save(run.path)
    first = start.step if start is not None else 0
    return {"path": str(run.path), "status": "diverged" if result.diverged else "done", "skipped": False,
            "deviation": result.deviation, "wall_s": result.metrics["wall_s"],
            "steps_simulated": result.metrics["n_steps"] - first, "steps_independent": result.metrics["n_steps"],
            "shared_prefix_from": parent}


def _failed(path: Path, experiment: str, seed: int, exc: Exception) -> dict:
    """Write the failure record of the run of ``path`` (inside the ``except`` that caught ``exc``)."""
    record = {"experiment": experiment, "seed": seed, "error": repr(exc), "traceback": traceback.format_exc()}
    with written_atomically(path.with_suffix(".failed.json")) as tmp:
        tmp.write_text(json.dumps(record, indent=1))
    return {"path": str(path), "status": "failed", "skipped": False, "error": repr(exc), "steps_simulated": 0,
            "steps_independent": 0}


def execute_batch(jobs: list, threads: int | None = None) -> list[dict]:
    """Simulate the runs ``jobs`` (``(config_dict, seed, path)``) whose files are missing as one batch on this
    process's GPU (``simulate_group(..., device="cuda")``) and write their files; return one status per job. A
    batch that raises runs its runs one by one on the GPU, so that each failure is recorded against its own run."""
    from ..simulation.simulate import simulate_group

    statuses, todo = _pending(jobs)

    def run_all(runs):
        results = simulate_group([dict(config=r.config, seed=r.seed) for r in runs], device="cuda", threads=threads)
        return [dict(_saved(r, res, None, None), group_size=len(runs)) for r, res in zip(runs, results, strict=True)]

    try:
        done = run_all(todo) if todo else []
    except Exception:  # noqa: BLE001 - each run again alone, which records its own failure
        done = []
        for r in todo:
            try:
                done += run_all([r])
            except Exception as exc:  # noqa: BLE001
                done.append(_failed(r.path, r.config.name, r.seed, exc))
    statuses.update({d["path"]: d for d in done})
    return [statuses[str(path)] for _, _, path in jobs]


def device_batches(runs: list[Run], free: int | None, batch_size: int | None = None) -> list[list[Run]]:
    """``runs`` in batches for the GPU, the longest runs first (a batch lasts as long as its longest run): each
    batch at most ``batch_size`` runs and, where the GPU's ``free`` bytes are known, at most 90 % of them; the runs
    of a user's plant apart (it is compiled into their kernel)."""
    from ..simulation.on_device import batch_bytes, plant_step_of

    batches, current = [], {}
    for run in sorted(runs, key=lambda r: -r.config.n_steps):
        key = plant_step_of(run.config)
        now = current.setdefault(key, [])
        full = batch_size is not None and len(now) >= batch_size
        if now and (full or (free is not None and batch_bytes([c.config for c in now + [run]]) > 0.9 * free)):
            batches.append(now)
            now = current[key] = []
        now.append(run)
    return batches + [b for b in current.values() if b]


def run_sweep(experiments, seeds, out_dir, *, grid=(), overrides=(), workers=None, scheduler=None,
              retry_failed=False, progress=True, share=True, lockstep=False, device="cpu",
              batch_size=None) -> list[dict]:
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
    share : bool
        Simulate the prefix shared by runs of one seed once (``studies.prefix``); the files are those of
        independent runs either way. Each status says the steps its run simulated (``steps_simulated``) and
        those of its independent run (``steps_independent``); 0 for a run skipped.
    lockstep : bool
        Give each worker all the runs of one network (``network_key``: a seed's conditions that differ only in
        rule, task, manipulations, ...), which it advances in lockstep (``execute_tree``): one product of J
        with their rates per step instead of one per run. The files are the same either way.
    device : {"cpu", "cuda"}
        With ``"cuda"`` the runs go to the GPU in batches (``device_batches``; a Dask worker takes a batch to its
        own GPU), each run from step 0 (``share`` and ``lockstep`` do not apply); a run the GPU engine does not
        cover is refused before anything runs (``ConfigError``).
    batch_size : int, optional
        With ``device="cuda"``: at most this many runs a batch (default: as many as the GPU's memory holds).
    """
    from .prefix import plan_tree

    if isinstance(seeds, str):
        seeds = parse_seeds(seeds)
    if grid and isinstance(grid[0], str):
        grid = parse_grid(list(grid))
    out_dir = Path(out_dir)
    runs = plan(list(experiments), list(seeds), out_dir, grid=grid, overrides=overrides)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [r for r in runs if not r.path.exists() and (retry_failed or not r.failed_path.exists())]
    skipped = dict(skipped=True, steps_simulated=0, steps_independent=0)
    statuses = {str(r.path): {"path": str(r.path), "status": "done", **skipped} for r in runs if r.path.exists()}
    statuses.update({str(r.path): {"path": str(r.path), "status": "failed", **skipped}
                     for r in runs if not r.path.exists() and r.failed_path.exists() and not retry_failed})
    if device == "cuda":
        return _run_on_device(runs, todo, statuses, scheduler, batch_size, progress)
    if device != "cpu":
        raise ConfigError(f"device = {device!r} is not allowed: must be 'cpu' or 'cuda'")
    bar = SweepProgress(len(runs), len(runs) - len(todo), disable=not progress)
    groups = [[todo[n.run] for n in tree] for tree in plan_tree(todo)] if share else [[r] for r in todo]
    if lockstep:  # the trees of one network in one job
        by_key = {}
        for g in groups:
            by_key.setdefault(network_key(g[0].config, g[0].seed), []).extend(g)
        groups = list(by_key.values())
    groups.sort(key=lambda g: -sum(r.config.n_steps for r in g))  # the longest first: the workers end together
    jobs = [[(r.config.to_dict(), r.seed, str(r.path)) for r in g] for g in groups]
    if scheduler:
        results = _run_dask(jobs, scheduler, bar, execute_tree, lockstep)
    else:
        results = _run_local(jobs, workers, bar, lockstep)
    for res in results:
        statuses[res["path"]] = res
    bar.close()
    return [statuses[str(r.path)] for r in runs]


def _run_on_device(runs, todo, statuses, scheduler, batch_size, progress) -> list[dict]:
    """The device path of ``run_sweep``: every run checked, then the batches run here or on Dask's workers."""
    from ..simulation import on_device

    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise ConfigError(f"--batch-size {batch_size} is not allowed: must be an integer >= 1")
    why = on_device.unavailable() if not scheduler else None  # a cluster's workers have their own GPUs
    if why:
        raise ConfigError(why)
    for r in todo:
        why = on_device.unsupported(r.config)
        if why:
            raise ConfigError(f"{r.config.name} seed {r.seed}: {why}")
    free = on_device.device_free_bytes() if not scheduler else None
    batches = device_batches(todo, free, batch_size)
    for b in batches:  # a single run too large for the GPU
        why = on_device.device_memory_refusal([r.config for r in b], free) if free is not None else None
        if why:
            raise ConfigError(f"{b[0].config.name} seed {b[0].seed}: {why}")
    jobs = [[(r.config.to_dict(), r.seed, str(r.path)) for r in b] for b in batches]
    bar = SweepProgress(len(runs), len(runs) - len(todo), disable=not progress)
    if scheduler:
        results = _run_dask(jobs, scheduler, bar, execute_batch)
    else:
        results = []
        for job in jobs:
            results += _finished(execute_batch(job), bar)
    for res in results:
        statuses[res["path"]] = res
    bar.close()
    return [statuses[str(r.path)] for r in runs]


def steps_line(statuses: list[dict]) -> str:
    """The steps the sweep simulated, beside those of independent runs, e.g. for its summary line."""
    done = sum(s["steps_simulated"] for s in statuses)
    independent = sum(s["steps_independent"] for s in statuses)
    saved = f" ({100 * (1 - done / independent):.1f} % fewer)" if independent else ""
    return f"{done} steps simulated, {independent} as independent runs{saved}"


def _run_local(jobs, workers, bar, lockstep):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    if not jobs:
        return []
    workers = workers or os.cpu_count() or 1
    os.environ.update(_SINGLE_THREAD)  # inherited by the worker processes
    out = []
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = [pool.submit(execute_tree, job, lockstep) for job in jobs]
        for fut in as_completed(futures):
            out += _finished(fut.result(), bar)
    return out


def _finished(statuses: list[dict], bar) -> list[dict]:
    for res in statuses:
        bar.update(res["status"])
    return statuses


def _job_key(job: list) -> str:
    """The task key of a job, from its files: a resubmitted job is the same task, never a duplicate."""
    stem = Path(job[0][2]).stem
    if len(job) == 1:
        return f"run-{stem}"
    files = hashlib.sha256("\n".join(path for _, _, path in job).encode()).hexdigest()[:12]
    return f"tree-{stem}-{len(job)}-{files}"


def _run_dask(jobs, scheduler, bar, task, *args):
    """``task(job, *args)`` for every job on the Dask cluster at ``scheduler``; the statuses, as they finish."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install 'reservoir-motor[dask]'") from None
    if not jobs:
        return []
    out = []
    with Client(scheduler, timeout="30s") as client:
        futures = [client.submit(task, job, *args, key=_job_key(job), pure=False, retries=3) for job in jobs]
        for fut in as_completed(futures):
            out += _finished(fut.result(), bar)
    return out
