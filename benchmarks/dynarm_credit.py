"""Does reward move the dynamical arm? Credit over the arm's response time, measured at full size.

Runs ``dynarm-rmhl`` (or ``--experiment``) on seeds 0-10 under the scripts' rule and the rule's options for a
reward that shows the exploration's effect only later (``CONDITIONS``): the eligibility trace
(``rule.eligibility_filter``) with a reward baseline of the same time constant (``rule.error_filter``), with and
without correlated exploration (``rule.exploration_filter``); the reward against a running baseline per step of the
period (``rule.phase_baseline``), alone and with the exploration itself as the Hebbian term
(``rule.hebbian_term``) traced and correlated over 100 ms; and the trial-based form (``rule.trial_ms``), each at two
learning rates. Then it prints, per condition, the test deviation against the resting hand's (the RMS distance of
the test-phase target from the hand's first recorded position): the median ratio, the seeds at or below a quarter
(the criterion: 9 of 11), the diverged runs, how far the hand travelled from rest, whether the output repeats
from one training period to the next (``periodicity``), whether the hand moves with the target or against it
(``in_phase``), and W_exp's final norm. ``--figure`` draws the per-period curves.

Usage: python benchmarks/dynarm_credit.py --out DIR [--workers 2] [--experiment dynarm-rmhl] [--seeds 0:11]
       [--conditions scripts,trial-1000ms,...]
The runs are a sweep's files (``DIR/<experiment>-<condition>``): run again, it simulates only what is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reservoir_motor import load_experiment, load_result
from reservoir_motor.studies.sweep import run_sweep

#: condition: the --set values of the rule and the learning rates it runs at. The time constants come from the
#: arm's response (docs/arm-dynamics.md: a command change shows in the hand after tens of ms and grows over
#: hundreds); at dt = 0.2 ms a filter a = 0.01 is 20 ms, 0.002 is 100 ms.
SCRIPTS_RATES = ("5e-4", "5e-3")  # the scripts' (Task 2), and ten times it
PERTURBATION = ["rule.hebbian_term=perturbation", "rule.exploration_filter=0.002"]  # correlated over 100 ms
STATE = ["network.state_input=true"]  # the phase (cos, sin) as state input
STIFF = ["task.plant.k1=0.02", "task.plant.k2=0.02"]  # N m / rad toward the resting posture
# a joint impedance of the size measured in the human arm (docs/arm-dynamics.md, "Joint stiffness"): 5 N m / rad,
# damping 0.05 s times it (Li & Todorov's B scaled by 5), a unit output holding the joint 1 rad from rest
IMPEDANCE = ["task.plant.k1=5", "task.plant.k2=5", "task.plant.b11=0.25", "task.plant.b12=0.125",
             "task.plant.b21=0.125", "task.plant.b22=0.25", "task.plant.torque_scale=5"]
LONG_CREDIT = STATE + ["rule.phase_baseline=0.5", "rule.hebbian_term=perturbation", "rule.exploration_filter=0.0004",
                       "rule.eligibility_filter=6.6667e-5", "schedule.n_train_trials=100"]
CONDITIONS = {
    "scripts": ([], ()),
    "trace-20ms": (["rule.eligibility_filter=0.01", "rule.error_filter=0.01"], SCRIPTS_RATES),
    "trace-100ms": (["rule.eligibility_filter=0.002", "rule.error_filter=0.002"], SCRIPTS_RATES),
    "trace-100ms-correlated": (["rule.eligibility_filter=0.002", "rule.error_filter=0.002",
                                "rule.exploration_filter=0.002"], SCRIPTS_RATES),
    # the reward against the error at the same step of earlier periods (the target's own part removed)
    "phase-baseline": (["rule.phase_baseline=0.5"], ("5e-4", "5e-5")),
    "phase-baseline-perturbation-trace-100ms": (["rule.phase_baseline=0.5", "rule.eligibility_filter=0.002",
                                                 *PERTURBATION], ("5e-5", "5e-6")),
    # one update per trial, with the trial's mean error against its phase's baseline
    "trial-200ms": (["rule.phase_baseline=0.5", "rule.trial_ms=200", *PERTURBATION], ("2e-5", "2e-6")),
    "trial-1000ms": (["rule.phase_baseline=0.5", "rule.trial_ms=1000", *PERTURBATION], ("2e-5", "2e-6")),
    # the same with the phase as state input, which makes the reservoir (and so the output) a function of the phase,
    # as the baseline per phase assumes
    "state-phase-baseline-perturbation-trace-100ms": (STATE + ["rule.phase_baseline=0.5",
                                                               "rule.eligibility_filter=0.002", *PERTURBATION],
                                                      ("5e-6", "5e-7")),
    "state-trial-200ms": (STATE + ["rule.phase_baseline=0.5", "rule.trial_ms=200", *PERTURBATION], ("2e-6", "2e-7")),
    # credit over the arm's response (a 3 s trace: benchmarks/credit_alignment.py), exploration correlated over
    # 500 ms (the target's band), 100 training periods; with and without a joint stiffness (docs/arm-dynamics.md)
    "long-credit": (LONG_CREDIT, ("2e-6",)),
    "stiff-long-credit": (STIFF + LONG_CREDIT, ("2e-6",)),
    "stiff-scripts": (STIFF, ()),
    "stiff-long-credit-adaptive-threshold": (STIFF + LONG_CREDIT + ["rule.adaptive_threshold=2"], ("2e-6",)),
    "impedance-scripts": (IMPEDANCE, ()),
    "impedance-long-credit": (IMPEDANCE + LONG_CREDIT, ("2e-6",)),
    # on the impedance arm the response is over in about 300 ms (poles 5.8 and 12 rad/s): credit over 300 ms,
    # exploration over 100 ms (more independent explorations per period), and harmonics 1-4 of the phase as input
    # (the reservoir then carries the even harmonics; benchmarks/reservoir_harmonics.py); chosen with
    # benchmarks/readout_learning.py --arm
    "impedance-harmonics-short-credit": (IMPEDANCE + STATE + [
        "network.state_signal=harmonics", "network.state_harmonics=4", "rule.phase_baseline=0.5",
        "rule.hebbian_term=perturbation", "rule.exploration_filter=0.002", "rule.eligibility_filter=6.6667e-4",
        "schedule.n_train_trials=100"], ("5e-6", "1e-5")),
}


def rest_rms(result) -> float:
    """The deviation of a hand that never leaves its first recorded position."""
    first_test = result.config.n_train_steps // result.config.recording.record_every
    gap = result.traces["target"][first_test:] - result.traces["hand"][0]
    return float(np.sqrt(np.mean(np.sum(gap ** 2, axis=1))))


def periodicity(result) -> float:
    """The correlation of the output in the last training period with the one before, phase by phase (from
    ``per_period``): near 1 when the output is a function of the phase, near 0 when it is not (a chaotic
    reservoir); NaN for a single training period or a run that diverged before the end of training."""
    last = result.config.schedule.n_train_trials - 1
    corr = per_period(result)[1]
    return float(corr[last]) if last < corr.size else np.nan


def in_phase(result) -> float:
    """The correlation of the hand's path with the target's in the last test period, both less their means, at no
    shift: 1 for a hand that follows the target, -1 for one that moves opposite to it."""
    n = result.config.n_period_steps // result.config.recording.record_every
    hand, target = result.traces["hand"][-n:], result.traces["target"][-n:]
    hand, target = hand - hand.mean(0), target - target.mean(0)
    return float(np.sum(hand * target) / np.sqrt(np.sum(hand * hand) * np.sum(target * target)))


def per_period(result) -> tuple[np.ndarray, np.ndarray]:
    """Per period: the RMS distance of the hand from the target over the resting hand's, and the correlation of the
    output with the period before, phase by phase (NaN for the first)."""
    n = result.config.n_period_steps // result.config.recording.record_every
    hand, target, z = result.traces["hand"], result.traces["target"], result.traces["z"]
    k_max = z.shape[0] // n
    rest = rest_rms(result)
    dev = [np.sqrt(np.mean(np.sum((hand[k * n:(k + 1) * n] - target[k * n:(k + 1) * n]) ** 2, 1))) / rest
           for k in range(k_max)]
    corr = [np.nan] + [np.corrcoef(z[(k - 1) * n:k * n].ravel(), z[k * n:(k + 1) * n].ravel())[0, 1]
                       for k in range(1, k_max)]
    return np.array(dev), np.array(corr)


def figure(directories: list[Path], path: Path) -> None:
    """Per condition, the median over seeds of ``per_period``: how the distance and the output's periodicity
    evolve over training and test."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    colours = iter(plt.cm.tab20(np.linspace(0, 1, 20)))
    for directory in directories:
        curves = {}
        for file in sorted(directory.glob("*.h5")):
            r = load_result(file)
            if r.metrics["diverged"]:
                continue
            curves.setdefault(r.config.rule.learning_rate, []).append(per_period(r))
        for rate, runs in curves.items():
            label = f"{directory.name.split('-', 2)[-1]}, learning rate {rate:g}"
            dev = np.median([d for d, _ in runs], axis=0)
            corr = np.nanmedian([c for _, c in runs], axis=0) if len(runs) > 1 else runs[0][1]
            colour = next(colours)
            top.plot(np.arange(dev.size), dev, marker=".", color=colour, label=f"{label} (n = {len(runs)})")
            bottom.plot(np.arange(corr.size), corr, marker=".", color=colour)
    n_train = r.config.schedule.n_train_trials
    for ax in (top, bottom):
        ax.axvspan(n_train - 0.5, r.config.n_periods - 0.5, color="0.9", zorder=0)
    top.axhline(0.25, color="k", lw=0.8, ls="--")
    top.set_yscale("log")
    top.set_ylabel("distance / resting hand's\n(median over seeds)")
    bottom.set_ylabel("output's correlation with\nthe period before")
    bottom.set_xlabel("period (test shaded)")
    top.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def summary(directory: Path) -> list[dict]:
    rows = {}
    for path in sorted(directory.glob("*.h5")):
        r = load_result(path)
        travel = float(np.max(np.linalg.norm(r.traces["hand"] - r.traces["hand"][0], axis=1)))
        deviation = r.deviation if r.deviation is not None else np.inf
        rows.setdefault(r.config.name, []).append(dict(
            deviation=deviation, ratio=deviation / rest_rms(r), diverged=bool(r.metrics["diverged"]),
            satisfactory=bool(r.metrics["satisfactory"]), travel=travel, periodic=periodicity(r),
            in_phase=in_phase(r) if not r.metrics["diverged"] else np.nan,
            norm=float(r.traces["norm_exploratory"][-1]), gate=float(r.traces["gate"].max()),
            norm_mst=float(r.traces["norm_mastery"][-1])))
    out = []
    for name, runs in rows.items():
        def median(key, runs=runs):
            return float(np.median([x[key] for x in runs]))
        ratios = np.array([x["ratio"] for x in runs])
        out.append(dict(condition=f"{directory.name} {name}", n=len(runs), median_deviation=median("deviation"),
                        median_ratio=float(np.median(ratios)), quarter=int((ratios <= 0.25).sum()),
                        satisfactory=sum(x["satisfactory"] for x in runs), diverged=sum(x["diverged"] for x in runs),
                        travel_mm=1000 * median("travel"), periodic=median("periodic"), norm_w_exp=median("norm"),
                        gate=max(x["gate"] for x in runs), norm_w_mst=median("norm_mst"),
                        in_phase=float(np.nanmedian([x["in_phase"] for x in runs] + [np.nan]))))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--experiment", default="dynarm-rmhl")
    ap.add_argument("--seeds", default="0:11")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--conditions", default=",".join(CONDITIONS), help="a comma-separated list of: "
                    + ", ".join(CONDITIONS))
    ap.add_argument("--rates", help="learning rates (comma-separated) in place of each condition's own")
    ap.add_argument("--figure", help="also draw the per-period curves of the conditions into this PNG")
    args = ap.parse_args(argv)
    rows = []
    for condition in args.conditions.split(","):
        sets, rates = CONDITIONS[condition]
        directory = Path(args.out) / f"{args.experiment}-{condition}"
        rates = args.rates.split(",") if args.rates and rates else rates
        grid = [f"rule.learning_rate={','.join(rates)}"] if rates else []
        run_sweep([args.experiment], args.seeds, directory, overrides=sets, grid=grid, workers=args.workers,
                  progress=False, lockstep=True)
        rows += summary(directory)
    if args.figure:
        figure([Path(args.out) / f"{args.experiment}-{c}" for c in args.conditions.split(",")], Path(args.figure))
    mastery = load_experiment(args.experiment).rule.name == "supertrex"  # the transfer's columns too
    print("| condition | runs | median deviation | / resting hand's | seeds <= 1/4 | satisfactory | diverged | "
          "median hand travel (mm) | output periodic | hand in phase with target | median final norm of W_exp |"
          + (" largest gate | median final norm of W_mst |" if mastery else ""))
    print("|---|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if mastery else ""))
    for row in rows:
        print(f"| {row['condition']} | {row['n']} | {row['median_deviation']:.3g} | {row['median_ratio']:.3f} | "
              f"{row['quarter']}/{row['n']} | {row['satisfactory']}/{row['n']} | {row['diverged']} | "
              f"{row['travel_mm']:.1f} | {row['periodic']:.2f} | {row['in_phase']:.2f} | {row['norm_w_exp']:.3g} |"
              + (f" {row['gate']:.2g} | {row['norm_w_mst']:.3g} |" if mastery else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
