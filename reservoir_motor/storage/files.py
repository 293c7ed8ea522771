"""Files that are whole or absent: every file of this package is written under a temporary name beside its
final one and renamed when complete, so a file with the final name is never partial (a kill or an error
leaves at most a hidden ``.<name>.<pid>.partial``, which is removed when the error is caught)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


def publish(tmp: Path, path: Path) -> None:
    """Give the whole temporary file its name, atomically."""
    os.replace(tmp, path)


@contextmanager
def written_atomically(path: Path, *, sync: bool = False):
    """Yield the temporary path to write ``path``'s content to; it takes ``path``'s name when the block ends
    without an error (after ``fsync`` with ``sync``: on disk before it replaces a file that must survive a
    crash) and is removed otherwise."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield tmp
        if sync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        publish(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
