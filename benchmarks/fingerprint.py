"""A fingerprint of the loop's numbers on this machine: small runs of every compiled path, each array hashed.

Two fingerprints are equal exactly when every trace, weight, recorded rate and metric of every run is equal
bit for bit, so a fingerprint made on one machine checks another (``--compare``): the test across CPU targets
(``tests/kernel/test_cross_cpu.py``) compares fingerprints made for three numba targets on one machine, and
``benchmarks/data/fingerprint-*.json`` holds fingerprints made elsewhere. The runs: FORCE and SUPERTREX on
Task 1, SUPERTREX on Task 2 (the kinematic arm) and on the dynamical arm, a lockstep group with a lesioned and
a dopamine-depleted run, a run continued from a checkpoint, and a user's plant (``tests/plant_cases.py``).

Usage:
    python benchmarks/fingerprint.py --out FILE.json        # write this machine's
    python benchmarks/fingerprint.py --compare FILE.json    # compare with a stored one (exit 1 if they differ)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SIZE = ["network.n_neurons=120", "task.duration_ms=60", "schedule.n_train_trials=5", "schedule.n_test_trials=2",
        "schedule.replay_lag_trials=1", "recording.record_every=1", "recording.n_units=5"]
ARM = ["task.effector='arm_dynamics'", "task.arm_lengths=[]", "task.target_scale=144.734"]
USER = ["task.effector='plant_cases:POINT_MASS'", "schedule.test_feedback='replay'"]
SEED = 7


def runs() -> dict:
    """Every run of the fingerprint, by name."""
    sys.path.insert(0, str(ROOT / "tests"))  # the user's plant
    from reservoir_motor import ExperimentConfig, load_experiment, simulate
    from reservoir_motor.simulation.simulate import simulate_group

    out = {}
    for key, name, extra in [("force", "task1-force", []), ("supertrex", "task1-supertrex", []),
                             ("task2", "task2-supertrex", []), ("arm-dynamics", "task2-supertrex", ARM),
                             ("user-plant", "task1-supertrex", USER)]:
        out[key] = simulate(load_experiment(name, SIZE + extra), SEED)
    control = load_experiment("task1-supertrex", SIZE).to_dict()
    manipulated = [ExperimentConfig.from_dict({**control, "manipulations": m}) for m in (
        [], [{"kind": "lesion_exploratory", "start": 3}], [{"kind": "dopamine", "value": 0.3}])]
    for i, result in enumerate(simulate_group([dict(config=c, seed=SEED) for c in manipulated])):
        out[f"lockstep-{i}"] = result
    start = simulate(load_experiment("task1-supertrex", SIZE + ["recording.checkpoints=[3]"]), SEED).checkpoints[3]
    out["continued"] = simulate(load_experiment("task1-supertrex", SIZE), SEED, start=start)
    return out


def fingerprint() -> dict:
    """{array: [sha256 of its bytes, exact sum]} of every run, and where it was made."""
    from reservoir_motor.storage.provenance import provenance

    arrays = {}
    for key, result in runs().items():
        named = {f"{group}/{name}": value for group in ("traces", "weights")
                 for name, value in getattr(result, group).items()}
        named["rates"] = np.asarray(result.activity.rates)
        named["metrics"] = np.array([math.nan if v is None else float(v)
                                     for k, v in sorted(result.metrics.items()) if k != "wall_s"])
        for name, value in named.items():
            value = np.ascontiguousarray(value)
            finite = value[np.isfinite(value)] if value.dtype.kind == "f" else value
            arrays[f"{key}/{name}"] = [hashlib.sha256(value.tobytes()).hexdigest(),
                                       math.fsum(np.asarray(finite, dtype=np.float64).ravel())]
    prov = provenance()
    made = {k: prov[k] for k in ("git_commit", "cpu", "cpu_model", "numpy_version", "numba_version")}
    made["libc"] = " ".join(platform.libc_ver())
    return {"made": made, "arrays": arrays}


def differences(a: dict, b: dict) -> list[str]:
    """The arrays whose hashes differ (or that only one side has)."""
    names = sorted(set(a["arrays"]) | set(b["arrays"]))
    return [n for n in names if a["arrays"].get(n, [None])[0] != b["arrays"].get(n, [None])[0]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", help="write this machine's fingerprint to this JSON file")
    group.add_argument("--compare", help="compare this machine's with a stored fingerprint")
    args = ap.parse_args(argv)
    mine = fingerprint()
    if args.out:
        Path(args.out).write_text(json.dumps(mine, indent=1, sort_keys=True))
        print(f"{len(mine['arrays'])} arrays; made {json.dumps(mine['made'])}")
        return 0
    stored = json.loads(Path(args.compare).read_text())
    differ = differences(stored, mine)
    print(f"{len(stored['arrays'])} stored arrays ({json.dumps(stored['made'])}); here {json.dumps(mine['made'])}: "
          f"{len(differ)} differ" + "".join(f"\n  {name}" for name in differ[:40]))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
