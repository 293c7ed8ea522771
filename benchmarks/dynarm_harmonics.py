"""Which parts of the butterfly does reward teach the dynamical arm? The hand's error per harmonic of the period.

For the runs in each directory (a sweep's files, e.g. from ``benchmarks/dynarm_credit.py``): per period, the power
of the hand's error (hand less target, means removed) at harmonics 1-8 of the period, as a share of the target's
power; the median over the runs is drawn against the period, and the last test period's shares and the hand's
amplitude per harmonic relative to the target's are printed. The deviation a still hand would have, squared and
relative, is 1 (all shares together); a quarter of the resting hand's deviation is a total share of 1/16.

Usage: python benchmarks/dynarm_harmonics.py DIR [DIR ...] [--figure PNG]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reservoir_motor import load_result

N_HARMONICS = 8


def harmonic_shares(result) -> tuple[np.ndarray, np.ndarray]:
    """Per period (rows) and harmonic 1-8 (columns): the error's power as a share of the target's, and the hand's
    amplitude over the target's."""
    n = result.config.n_period_steps // result.config.recording.record_every
    hand, target = result.traces["hand"], result.traces["target"]
    shares, gains = [], []
    for k in range(hand.shape[0] // n):
        h, t = hand[k * n:(k + 1) * n], target[k * n:(k + 1) * n]
        H = np.fft.rfft(h - h.mean(0), axis=0)[1:N_HARMONICS + 1]
        T_all = np.fft.rfft(t - t.mean(0), axis=0)[1:]
        T, total = T_all[:N_HARMONICS], np.sum(np.abs(T_all) ** 2)
        shares.append(np.sum(np.abs(H - T) ** 2, axis=1) / total)
        gains.append(np.sqrt(np.sum(np.abs(H) ** 2, axis=1) / np.sum(np.abs(T) ** 2, axis=1)))
    return np.array(shares), np.array(gains)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directories", nargs="+")
    ap.add_argument("--figure", help="draw the median shares per period into this PNG")
    args = ap.parse_args(argv)
    curves = {}
    print("| runs | n | " + " | ".join(f"h{k} share" for k in range(1, N_HARMONICS + 1)) + " | total | "
          + " | ".join(f"h{k} amplitude" for k in range(1, 5)) + " |")
    print("|---|---|" + "---|" * (N_HARMONICS + 5))
    for directory in map(Path, args.directories):
        runs = [load_result(f) for f in sorted(directory.glob("*.h5"))]
        runs = [r for r in runs if not r.metrics["diverged"]]
        if not runs:
            continue
        pairs = [harmonic_shares(r) for r in runs]
        shares = np.median([s for s, _ in pairs], axis=0)
        gains = np.median([g[-1] for _, g in pairs], axis=0)
        total = np.median([s[-1].sum() for s, _ in pairs])
        curves[directory.name] = shares
        print(f"| {directory.name} | {len(runs)} | " + " | ".join(f"{x:.3f}" for x in shares[-1])
              + f" | {total:.3f} | " + " | ".join(f"{x:.2f}" for x in gains[:4]) + " |")
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves) + 2.5, 4.2), squeeze=False, sharey=True)
        for ax, (name, shares) in zip(axes[0], curves.items(), strict=True):
            for k in range(4):
                ax.plot(shares[:, k], label=f"harmonic {k + 1}")
            ax.plot(shares[:, 4:].sum(1), label="harmonics 5-8")
            ax.plot(shares.sum(1), "k", lw=1.5, label="all (deviation$^2$ / resting hand's$^2$)")
            ax.axhline(1 / 16, color="k", ls="--", lw=0.8)
            ax.set_yscale("log")
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("period")
        axes[0][0].set_ylabel("error power / target's power\n(median over seeds)")
        axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        fig.tight_layout()
        fig.savefig(args.figure, dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
