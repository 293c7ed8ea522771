"""Recorded reservoir activity: the rates (and optionally states) of sampled units, in memory or on disk.

A run records the units of ``recording.n_units`` every ``recording.units_every`` steps of the periods of
``recording.units_window`` (samples at steps 0, every, 2 every, ... of each recorded period). The rates
are those the readouts see at that step, r = tanh(x) plus the training noise. In a result file they are
the ``/activity`` group (docs/results-layout.md); :func:`load_result` reads them lazily, so a file with
hundreds of megabytes of activity opens at once and a slice reads only its chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Rows per HDF5 chunk aim at about 1 MB, so a time window reads few chunks and compresses well.
_CHUNK_BYTES = 1 << 20


class LazyDataset:
    """An HDF5 dataset read on demand: ``a[i:j]`` reads those rows, ``np.asarray(a)`` all of it."""

    def __init__(self, path, name: str):
        import h5py

        self.path, self.name = Path(path), name
        with h5py.File(self.path, "r") as f:
            self.shape, self.dtype = f[name].shape, f[name].dtype

    def __getitem__(self, key):
        import h5py

        with h5py.File(self.path, "r") as f:
            return f[self.name][key]

    def __array__(self, dtype=None, copy=None):
        arr = self[()]
        return arr if dtype is None else arr.astype(dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"LazyDataset({str(self.path)!r}, {self.name!r}, shape={self.shape}, dtype={self.dtype})"


@dataclass
class Activity:
    """The recorded units of one run.

    Attributes
    ----------
    units : ndarray of int, shape (n_units,)
        Indices of the recorded reservoir units.
    time_ms : ndarray, shape (n_samples,)
        Time of every sample from the start of the run.
    rates : ndarray or LazyDataset, shape (n_samples, n_units), float32
        Rates r of the units.
    states : ndarray or LazyDataset or None
        States x of the same units, if ``recording.record_states``.
    """

    units: np.ndarray
    time_ms: np.ndarray
    rates: object
    states: object = None

    @classmethod
    def from_record(cls, config, units, steps, rec, diverged_step: int) -> "Activity | None":
        """The activity of a finished run; samples from the step a run diverged at on are dropped."""
        if units.size == 0:
            return None
        n = int(np.searchsorted(steps, diverged_step)) if diverged_step >= 0 else steps.size
        return cls(units=units, time_ms=steps[:n] * config.network.dt_ms, rates=rec.rates[:n],
                   states=rec.states[:n] if config.recording.record_states else None)

    def save(self, f) -> None:
        """Write the ``/activity`` group into the open HDF5 file ``f``."""
        g = f.create_group("activity")
        g.create_dataset("units", data=self.units)
        g.create_dataset("time_ms", data=self.time_ms)
        for name in ("rates", "states"):
            arr = getattr(self, name)
            if arr is None:
                continue
            arr = np.asarray(arr, dtype=np.float32)
            rows = max(1, min(arr.shape[0], _CHUNK_BYTES // (4 * max(1, arr.shape[1]))))
            g.create_dataset(name, data=arr, chunks=(rows, arr.shape[1]) if arr.size else None,
                             compression="gzip", compression_opts=4, shuffle=True)

    @classmethod
    def load(cls, path, f) -> "Activity | None":
        """The activity of the result file ``path`` (open as ``f``): indices and times read, rates lazy."""
        if "activity" not in f:
            return None
        g = f["activity"]
        return cls(units=g["units"][()], time_ms=g["time_ms"][()], rates=LazyDataset(path, "activity/rates"),
                   states=LazyDataset(path, "activity/states") if "states" in g else None)

    def window(self, t0_ms: float, t1_ms: float) -> tuple[np.ndarray, np.ndarray]:
        """Times and rates of the samples with t0 <= t < t1, reading only those rows."""
        i0, i1 = np.searchsorted(self.time_ms, [t0_ms, t1_ms])
        return self.time_ms[i0:i1], np.asarray(self.rates[i0:i1])
