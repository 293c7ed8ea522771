"""A run's result: metrics, downsampled traces, final weights and provenance; HDF5 storage.

File layout (schema 1)::

    /                 attrs: schema_version, complete, experiment, seed, config_toml, config_digest,
                             target_files (JSON {path: sha256} of file target curves), created_utc,
                             the provenance (``provenance.PROVENANCE_KEYS``, ``ORIGIN_KEYS``)
    /metrics          attrs: deviation, deviation_median, deviation_std, satisfactory, diverged,
                             diverged_step, n_steps, n_steps_planned, n_train_steps, wall_s, ...
    /traces/*         time_ms, z, z_exploratory, hand, target, distance, error,
                      norm_exploratory, norm_mastery, gate, plant_state   (every record_every steps);
                      period_distance: the mean distance of every complete period (every step counted)
    /weights/*        w_exploratory, w_mastery (n_out x N, at the end of the run)
/activity/*       the recorded units (``storage.activity``), when recorded
/checkpoints/period<K>/   the learner's state after K periods (``storage.checkpoint``), when saved

Files are written under a temporary name and renamed when complete, so a file with the final name is
always whole.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import ExperimentConfig
from ..errors import ConfigError
from ..plants.targets import NAMED
from ..tomlio import dumps_toml, loads_toml
from .activity import Activity
from .files import written_atomically
from .provenance import read_provenance

SCHEMA_VERSION = 1


def target_files(config: ExperimentConfig) -> dict[str, str]:
    """``{path: sha256 of its content}`` of every target curve read from a file (``task.target`` and the
    targets of ``switch_target``); empty when only built-in curves are used."""
    paths = [config.task.target] + [m.target for m in config.manipulations if m.kind == "switch_target"]
    hashes = {}
    for path in paths:
        if path in NAMED:
            continue
        try:
            hashes[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError as exc:
            raise ConfigError(f"target file {path!r} cannot be read ({exc.strerror}): its content is part of "
                              "the config digest") from None
    return hashes


def config_digest(config: ExperimentConfig) -> str:
    """A short stable hash of every config value (the name and description excluded) and of the content
    of target files, so a changed curve file is a new condition, not a reused result."""
    data = config.digest_dict()
    files = target_files(config)
    if files:  # only then: built-in-curve configs keep the digest their stored results are named by
        data["target_files"] = files
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def root_attributes(config: ExperimentConfig, seed: int, provenance: dict) -> dict:
    """The root attributes of a run's file (``complete`` false until the file is whole)."""
    return dict(schema_version=SCHEMA_VERSION, complete=False, experiment=config.name, seed=seed,
                config_toml=dumps_toml(config.to_dict()), config_digest=config_digest(config),
                target_files=json.dumps(target_files(config), sort_keys=True),
                created_utc=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **provenance)


@dataclass
class Result:
    """Everything kept from one run of ``config`` with ``seed``."""

    config: ExperimentConfig
    seed: int
    metrics: dict
    traces: dict = field(repr=False)
    weights: dict = field(repr=False)
    provenance: dict = field(default_factory=dict, repr=False)
    activity: Activity | None = field(default=None, repr=False)  # recorded units, if any
    checkpoints: dict = field(default_factory=dict, repr=False)  # period -> checkpoint.Checkpoint, if saved

    @property
    def deviation(self):
        return self.metrics["deviation"]

    @property
    def diverged(self) -> bool:
        return self.metrics["diverged"]

    @classmethod
    def from_run(cls, config, seed, rec, state, target_at, *, diverged_step, wall_s, provenance, activity=None):
        """Summarise the arrays of a finished (or diverged) run; ``target_at(steps)`` gives the target."""
        n_train, n_planned = config.n_train_steps, config.n_steps
        diverged = diverged_step >= 0
        n_done = diverged_step if diverged else n_planned  # the step that diverged is not kept
        metrics = dict(diverged=diverged, diverged_step=diverged_step, n_steps=n_done,
                       n_steps_planned=n_planned, n_train_steps=n_train, wall_s=wall_s,
                       deviation=None, deviation_median=None, deviation_std=None, satisfactory=False,
                       train_distance_final=float(rec.distance[min(n_done, n_train) - 1]) if n_done else None)
        if not diverged and n_planned > n_train:
            window = rec.distance[n_train:n_planned]  # the test samples (spec section 5)
            metrics.update(deviation=float(window.mean()), deviation_median=float(np.median(window)),
                           deviation_std=float(window.std(ddof=1)) if window.size > 1 else 0.0)
            metrics["satisfactory"] = metrics["deviation"] < config.recording.satisfactory_below
        every = config.recording.record_every
        n_rec = -(-n_done // every)
        steps = np.arange(n_rec) * every
        traces = dict(
            time_ms=steps * config.network.dt_ms, z=rec.z[:n_rec], z_exploratory=rec.z_exp[:n_rec],
            hand=rec.hand[:n_rec], target=target_at(steps),
            distance=rec.distance[steps], error=rec.error[steps],
            norm_exploratory=rec.norm_exp[:n_rec], norm_mastery=rec.norm_mst[:n_rec], gate=rec.gate[:n_rec],
            plant_state=rec.plant_state[:n_rec],
        )
        per = config.n_period_steps
        n_full = n_done // per  # complete periods only
        traces["period_distance"] = rec.distance[:n_full * per].reshape(n_full, per).mean(axis=1)
        weights = dict(w_exploratory=state.W_exp.copy(), w_mastery=state.W_mst.copy())
        return cls(config=config, seed=seed, metrics=metrics, traces=traces, weights=weights,
                   provenance=provenance, activity=activity)

    def default_filename(self) -> str:
        return result_filename(self.config, self.seed, self.provenance)

    def summary(self, path=None) -> dict:
        """The one-line summary printed by ``reservoir-motor run --json``."""
        m = self.metrics
        return dict(experiment=self.config.name, seed=self.seed, deviation=m["deviation"],
                    satisfactory=m["satisfactory"], diverged=m["diverged"], n_steps=m["n_steps"],
                    wall_s=round(m["wall_s"], 3), path=None if path is None else str(path))

    def save(self, path) -> Path:
        """Write the result to ``path`` (a ``.h5`` file, or a directory for the default name), atomically."""
        import h5py

        path = result_path(path, self.default_filename())
        path.parent.mkdir(parents=True, exist_ok=True)
        with written_atomically(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs.update(root_attributes(self.config, self.seed, self.provenance))
                g = f.create_group("metrics")
                for key, value in self.metrics.items():
                    g.attrs[key] = np.nan if value is None else value
                for group, arrays in (("traces", self.traces), ("weights", self.weights)):
                    g = f.create_group(group)
                    for key, arr in arrays.items():
                        g.create_dataset(key, data=arr, compression="gzip", compression_opts=4, shuffle=True)
                if self.activity is not None:
                    self.activity.save(f)
                if self.checkpoints:
                    g = f.create_group("checkpoints")
                    for period in sorted(self.checkpoints):
                        self.checkpoints[period].write(g)
                f.attrs["complete"] = True
        return path


def result_filename(config: ExperimentConfig, seed: int, provenance: dict | None = None) -> str:
    """``<experiment>-<digest>-seed<seed>.h5``; a run continued from a checkpoint adds
    ``-from-<digest of the checkpoint's run>-period<K>``, so it never takes the name of a run from step 0."""
    name = f"{config.name}-{config_digest(config)}-seed{seed}"
    if provenance and "continued_from_digest" in provenance:
        name += f"-from-{provenance['continued_from_digest']}-period{provenance['continued_from_period']}"
    return name + ".h5"


def result_path(out, filename: str) -> Path:
    """``out`` itself when it names a file, else ``out / filename`` (the directory is created)."""
    out = Path(out)
    if out.is_dir() or out.suffix == "":
        out.mkdir(parents=True, exist_ok=True)
        return out / filename
    return out


@contextmanager
def open_result(path, *, side_file_ok=False):
    """The HDF5 file of a complete result written by :meth:`Result.save`, open for reading.

    Raises ``ConfigError`` with one line naming the file when it is missing, not HDF5, an HDF5 file
    without a result's attributes, of another schema, or incomplete. The checkpoint file of an unfinished
    run (``simulation.resume``) is refused too unless ``side_file_ok``.
    """
    import h5py

    name = repr(str(path))
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"result file {name} does not exist")
    if not path.is_file():
        raise ConfigError(f"{name} is not a reservoir-motor result: not a file")
    if not h5py.is_hdf5(path):
        raise ConfigError(f"{name} is not a reservoir-motor result: not an HDF5 file")
    with h5py.File(path, "r") as f:
        if not {"schema_version", "experiment", "config_toml"} <= set(f.attrs):
            raise ConfigError(f"{name} is not a reservoir-motor result: an HDF5 file without a result's attributes "
                              "(schema_version, experiment, config_toml)")
        if f.attrs["schema_version"] != SCHEMA_VERSION:
            raise ConfigError(f"{name} is a reservoir-motor result of schema {f.attrs['schema_version']}; this "
                              f"version reads schema {SCHEMA_VERSION}")
        if not f.attrs.get("complete", False):
            raise ConfigError(f"{name} is not a complete reservoir-motor result (its run did not finish writing)")
        if f.attrs.get("checkpoint_file", False) and not side_file_ok:
            raise ConfigError(f"{name} is the checkpoint file of an unfinished run, not a result: run its command "
                              "again to resume it, or continue from it with --from")
        yield f


def stored_config(path, f) -> ExperimentConfig:
    """The config of the result file ``path``, open as ``f``."""
    try:
        return ExperimentConfig.from_dict(loads_toml(f.attrs["config_toml"]))
    except ConfigError as exc:  # e.g. its target curve file is no longer there
        raise ConfigError(f"{str(path)!r}: the stored config is not valid here: {exc}") from None


def load_result(path) -> Result:
    """Read a result file written by :meth:`Result.save`; refuses incomplete or foreign files."""
    with open_result(path) as f:
        config = stored_config(path, f)
        metrics = {}
        for key, value in f["metrics"].attrs.items():
            value = value.item() if isinstance(value, np.generic) else value
            metrics[key] = None if isinstance(value, float) and np.isnan(value) else value
        metrics["diverged"] = bool(metrics["diverged"])
        metrics["satisfactory"] = bool(metrics["satisfactory"])
        traces = {k: v[()] for k, v in f["traces"].items()}
        weights = {k: v[()] for k, v in f["weights"].items()}
        prov = read_provenance(f.attrs)
        if "target_files" in f.attrs:  # absent from files written before it was recorded
            prov["target_files"] = json.loads(f.attrs["target_files"])
        return Result(config=config, seed=int(f.attrs["seed"]), metrics=metrics, traces=traces,
                      weights=weights, provenance=prov, activity=Activity.load(path, f))
