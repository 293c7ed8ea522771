"""Where a result comes from: the package's version and commit, the libraries, the CPU; and the keys that
record what a run was continued from.

Every file a run writes carries ``provenance()`` in its root attributes; ``read_provenance`` reads them
back, and ``PROVENANCE_KEYS`` / ``ORIGIN_KEYS`` are the one list of them that reports and loaders use.
"""

from __future__ import annotations

import platform
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

try:  # the installed metadata, whose version setuptools-scm derives from git at build time
    VERSION = version("reservoir-motor")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    VERSION = "unknown"

PACKAGE_DIR = Path(__file__).resolve().parents[1]

#: What ``provenance()`` records, with the time the file was made.
PROVENANCE_KEYS = ("package_version", "git_commit", "python_version", "numpy_version", "numba_version",
                   "h5py_version", "cpu", "cpu_model", "created_utc")
#: What a run made on a GPU records of it (``simulation.on_device``); absent in a CPU run's file.
DEVICE_KEYS = ("device", "cuda_driver", "numba_cuda_version")
#: What a run continued from a checkpoint records of its source (``simulation.continuation.origin``).
ORIGIN_KEYS = ("continued_from_file", "continued_from_digest", "continued_from_period", "continued_from_experiment",
               "continued_from_config_toml")
#: Integer-valued keys of what a run was continued, resumed or branched from.
PERIOD_KEYS = ("continued_from_period", "resumed_from_period", "shared_prefix_period")


def commit_of_version(version: str) -> str | None:
    """The commit named in a setuptools-scm version (``0.1.dev12+g1a2b3c4``; ``-dirty`` added when built
    with uncommitted changes, ``.dYYYYMMDD``), or None: a tagged release names none."""
    local = version.partition("+")[2].split(".")
    commits = [part[1:] for part in local if re.fullmatch(r"g[0-9a-f]{4,40}", part)]
    if not commits:
        return None
    return commits[0] + ("-dirty" if any(re.fullmatch(r"d\d{8}", part) for part in local) else "")


def _git(package_dir: Path, *args) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(package_dir), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _checkout_commit(package_dir: Path) -> str | None:
    """HEAD (``-dirty`` with uncommitted changes) of the checkout the package is imported from, or None when
    it is not imported from the top of a checkout where it is tracked, e.g. an installed copy in a venv,
    which may well sit inside another project's repository."""
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != package_dir.parent or _git(
            package_dir, "ls-files", "--error-unmatch", "__init__.py") is None:
        return None
    head = _git(package_dir, "rev-parse", "HEAD")
    dirty = _git(package_dir, "status", "--porcelain", "--untracked-files=no")
    return None if head is None else head + ("-dirty" if dirty else "")


def _code_commit() -> str:
    """The commit of the code this process runs: the checkout's HEAD, else the one its version names."""
    return (_checkout_commit(PACKAGE_DIR) or commit_of_version(VERSION)
            or f"unknown (installed version {VERSION} names no commit)")


# Read when the package is imported, i.e. for the code this process has loaded, not later when a
# run finishes (a commit made meanwhile would be recorded otherwise).
_GIT_COMMIT = _code_commit()


def cpu_model() -> str:
    """The processor's name as the operating system gives it (Linux: /proc/cpuinfo), or ``platform``'s guess."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "not recorded"


def provenance() -> dict:
    """Versions and commit of the code that produced a result, the CPU it was compiled for (``cpu``, LLVM's
    name) and the processor's model (``cpu_model``).

    numba compiles for the host CPU unless ``NUMBA_CPU_NAME`` names another (``cpu``, LLVM's name for it). The
    loop's arithmetic is written down (``kernel.loop``), so every x86-64 CPU gives the same numbers; files made
    before that hold only where ``cpu`` agrees (docs/arithmetic.md).
    """
    import h5py
    import llvmlite.binding
    import numba
    from numba.core import config as numba_config

    return dict(package_version=VERSION, git_commit=_GIT_COMMIT, python_version=platform.python_version(),
                numpy_version=np.__version__, numba_version=numba.__version__, h5py_version=h5py.__version__,
                cpu=numba_config.CPU_NAME or llvmlite.binding.get_host_cpu_name(), cpu_model=cpu_model())


def read_provenance(attrs) -> dict:
    """The provenance among a file's root attributes (strings; the periods as integers)."""
    prov = {k: str(attrs[k]) for k in (*PROVENANCE_KEYS, *DEVICE_KEYS, *ORIGIN_KEYS, "shared_prefix_from")
            if k in attrs and k not in PERIOD_KEYS}
    prov.update({k: int(attrs[k]) for k in PERIOD_KEYS if k in attrs})
    return prov
