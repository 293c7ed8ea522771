"""Progress bars on stderr (tqdm): the steps of one run, and the runs of a sweep."""

from __future__ import annotations

import sys

from tqdm import tqdm

# Away from a terminal (a log file, a pipe) a redraw is a new chunk of text: at most one per this many seconds.
LOG_INTERVAL_S = 10.0
_RUN_FORMAT = "{desc}: {percentage:5.1f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]"


def _bar(file, disable: bool, **kwargs) -> tqdm:
    file = file if file is not None else sys.stderr
    tty = hasattr(file, "isatty") and file.isatty()
    return tqdm(file=file, disable=disable, mininterval=0.1 if tty else LOG_INTERVAL_S, dynamic_ncols=tty,
                **kwargs)


class RunProgress:
    """The ``progress(done, total)`` callback of :func:`~reservoir_motor.simulate`, drawn as a bar.

    Until its first call the bar says "compiling". The clock, rate and ETA start at that first call
    (``simulate`` makes it, as ``progress(0, n_steps)``, once numba has compiled the kernel), so the
    compilation does not enter the ETA; steps reported done at the first call do not enter the rate either.

    Parameters
    ----------
    label : str
        Shown before the bar, e.g. the experiment and seed.
    file : file-like, optional
        Where the bar goes (default ``sys.stderr``).
    disable : bool
        No output at all (``--quiet``).
    """

    def __init__(self, label: str, *, file=None, disable: bool = False):
        self.label = label
        self.bar = _bar(file, disable, desc=f"{label}: compiling", bar_format="{desc}", unit="step",
                        unit_scale=True)
        self._started = False

    def __call__(self, done: int, total: int) -> None:
        if self._started:
            self.bar.update(done - self.bar.n)
            return
        self._started = True
        self.bar.bar_format = _RUN_FORMAT
        self.bar.set_description_str(self.label, refresh=False)
        self.bar.reset(total=total)  # start_t = now; draws the bar at 0
        if done:
            self.bar.initial = self.bar.n = self.bar.last_print_n = done
            self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


class SweepProgress:
    """Finished runs of a sweep out of all its runs, with the failed ones counted and an ETA from the new runs.

    Parameters
    ----------
    total : int
        Runs of the sweep.
    already : int
        Runs finished (or failed) before this sweep started; they do not enter the rate.
    disable : bool
        No output at all.
    """

    def __init__(self, total: int, already: int, *, file=None, disable: bool = False):
        self.failed = 0
        if not disable:
            tqdm.write(f"sweep: {total} runs, {already} already done, {total - already} to run",
                       file=file if file is not None else sys.stderr)
        self.bar = _bar(file, disable, desc="sweep", total=total, initial=already, unit="run",
                        postfix="0 failed")

    def update(self, status: str) -> None:
        """One run finished with ``status`` (``done``, ``diverged`` or ``failed``)."""
        if status == "failed":
            self.failed += 1
            self.bar.set_postfix_str(f"{self.failed} failed", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
