"""A dependency-free progress bar with ETA on stderr."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Call with ``(done, total)``; redraws in place on a terminal, prints every 10 % otherwise."""

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.t0 = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        if not self.tty:
            decile = int(frac * 10)
            if decile == self._last_decile:
                return
            self._last_decile = decile
        elapsed = time.perf_counter() - self.t0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        bar = "#" * int(frac * self.width)
        line = (f"{self.label} [{bar:<{self.width}}] {100 * frac:5.1f}%  {done}/{total}  "
                f"elapsed {_fmt(elapsed)}  eta {_fmt(eta)}")
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _fmt(seconds: float) -> str:
    if seconds != seconds:
        return "--:--"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m:02d}:{s:02d}"
