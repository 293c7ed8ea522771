"""Every figure of the package by name: the scripts in ``figures/`` and ``reservoir-motor figure`` draw through
``draw``, which runs what is missing and draws from the stored results."""

from __future__ import annotations

from .figures import CONDITION_FIGURES, PAPER_FIGURES, make_condition_figure, make_paper_figure
from .neural import neural_dynamics_figure
from .state import state_stability_figure


def main(name: str, argv=None) -> int:
    """Command line of one figure script: ``python figures/NAME.py [--quick] [--seeds 0:11]``."""
    import argparse

    ap = argparse.ArgumentParser(description=(CONDITION_FIGURES.get(name) or PAPER_FIGURES.get(name)
                                              or OTHER_FIGURES[name])[-1])
    ap.add_argument("--quick", action="store_true", help="reduced size and 2 seeds (what the tests run)")
    ap.add_argument("--seeds", default="0:11")
    ap.add_argument("--workers", type=int)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = ap.parse_args(argv)
    print(draw(name, quick=args.quick, seeds=args.seeds, workers=args.workers, device=args.device))
    return 0


def draw(name, *, quick=False, seeds="0:11", out_dir="figures/out", workers=None, device="cpu"):
    """Any figure by name: a paper figure, a condition figure or one of OTHER_FIGURES."""
    if name in OTHER_FIGURES:
        return OTHER_FIGURES[name][0](quick=quick, seeds=seeds, out_dir=out_dir, workers=workers, device=device)
    if name in PAPER_FIGURES:
        return make_paper_figure(name, quick=quick, out_dir=out_dir, workers=workers, device=device)
    experiments, title = CONDITION_FIGURES[name]
    return make_condition_figure(name, experiments, title=title, quick=quick, seeds=seeds, out_dir=out_dir,
                                 workers=workers, device=device)


#: name: (function, title): figures with a drawing of their own.
OTHER_FIGURES = {
    "neural_dynamics": (neural_dynamics_figure,
                        "Reservoir dynamics on Task 1: FORCE, RMHL, SUPERTREX, and SUPERTREX lesioned"),
    "state_stability": (state_stability_figure,
                        "State information and closed-loop stability: autonomous test against the state input"),
}

ALL_FIGURES = sorted(PAPER_FIGURES) + sorted(CONDITION_FIGURES) + sorted(OTHER_FIGURES)
