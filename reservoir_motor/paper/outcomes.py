"""The expected outcomes of the lesion, Parkinson's and state-information experiments, tested on stored runs.

Each outcome of ``lesions.md`` (and the state-information comparison of spec section 7.1) is a list of
paired comparisons between bundled experiments, over the seeds both have. A comparison states what the
protocol expects of the difference (condition - control):

- ``higher`` / ``lower``: the mean difference has that sign and the Wilcoxon signed-rank p < 0.05;
- ``not lower``: no significant decrease (no further improvement);
- ``similar``: the mean difference is within 10 % of the control's mean;
- ``report``: no expectation, the numbers only.

``reservoir-motor outcomes DIR`` prints the table; comparisons whose runs are not in DIR are marked.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..studies.report import paired, runs_by_condition

ALPHA = 0.05
SIMILAR = 0.10


@dataclass(frozen=True)
class Check:
    condition: str
    control: str
    expect: str
    metric: str = "deviation"
    control_metric: str | None = None


def _chain(names, expect, metric="deviation"):
    """Consecutive comparisons: names[0] vs names[1], names[1] vs names[2], ... (a monotone ordering)."""
    return [Check(a, b, expect, metric) for a, b in zip(names, names[1:], strict=False)]


LAST_TRAIN_10, LAST_TRAIN_20 = "period:9", "period:19"  # the last training period of 10- and 20-period runs
P1_RISING_DOPAMINE = ["p1-dopamine-0.0", "p1-dopamine-0.1", "p1-dopamine-0.25", "p1-dopamine-0.5", "task1-supertrex"]

#: id: (the expected outcome, its comparisons). Experiments are files in tasks/.
OUTCOMES = {
    "L1": ("late lesion: SUPERTREX keeps the skill, RMHL loses it", [
        Check("l1-supertrex-lesion", "task1-supertrex", "similar"),
        Check("l1-rmhl-lesion", "task1-rmhl", "higher")]),
    "L2": ("the later the lesion, the better the kept skill; no improvement after the lesion", [
        *_chain(["l2-lesion-after-1", "l2-lesion-after-2", "l2-lesion-after-5", "l1-supertrex-lesion"], "higher"),
        Check("l2-lesion-after-5", "l2-lesion-after-5", "not lower", LAST_TRAIN_10, "period:5")]),
    "L3": ("lesion before training: nothing is learned", [
        Check("l3-lesion-before-training", "task1-supertrex", "higher"),
        Check("l3-lesion-before-training", "l3-lesion-before-training", "similar", "deviation", "period:0")]),
    "L4": ("blocked transfer: training as RMHL, the skill lost without the exploratory pathway", [
        Check("l4-blocked-transfer", "task1-rmhl", "similar", LAST_TRAIN_10),
        Check("l4-blocked-transfer", "task1-supertrex", "higher")]),
    "P1": ("dopamine d from t = 0: slower learning and worse skill as d falls, monotonically", [
        *_chain(P1_RISING_DOPAMINE, "higher"), *_chain(P1_RISING_DOPAMINE, "higher", "period:1")]),
    "P2": ("disease after learning: the consolidated skill degrades", [
        Check("p2-parkinson-after-learning", "p-control-20", "higher", LAST_TRAIN_20),
        Check("p2-parkinson-after-learning", "p-control-20", "report")]),
    "P3": ("pallidotomy: performance returns near the pre-disease level; a new target is not learned", [
        Check("p3-pallidotomy-same-target", "p2-parkinson-after-learning", "lower", LAST_TRAIN_20),
        Check("p3-pallidotomy-same-target", "p3-pallidotomy-same-target", "similar", LAST_TRAIN_20, LAST_TRAIN_10),
        Check("p3-pallidotomy", "p3-pallidotomy", "not lower", LAST_TRAIN_20, "period:15")]),
    "P4": ("L-DOPA: learning recovers when dopamine is restored", [
        Check("p4-ldopa", "p4-parkinson-untreated", "lower", LAST_TRAIN_20),
        Check("p4-ldopa", "p4-parkinson-untreated", "lower")]),
    "S1": ("state information, Task 1: autonomous worse than teacher forcing, the state input restores it", [
        Check("state-task1-replay", "task1-supertrex", "report"),
        Check("state-task1-autonomous", "task1-supertrex", "higher"),
        Check("state-task1-autonomous-state", "state-task1-autonomous", "lower"),
        Check("state-task1-autonomous-state", "task1-supertrex", "similar")]),
    "S2": ("state information, Task 2: the same against the scripts' replay", [
        Check("state-task2-autonomous", "task2-supertrex", "higher"),
        Check("state-task2-autonomous-state", "state-task2-autonomous", "lower"),
        Check("state-task2-autonomous-state", "task2-supertrex", "similar")]),
}


def select(ids=None) -> list[str]:
    """The outcome ids asked for (default: all), each checked to exist."""
    ids = list(ids or OUTCOMES)
    for key in ids:
        if key not in OUTCOMES:
            raise ConfigError(f"unknown outcome {key!r}: choose from {', '.join(OUTCOMES)}")
    return ids


def experiments(ids=None) -> list[str]:
    """The experiments the outcomes ``ids`` (default: all) need, each once."""
    names = {}
    for key in select(ids):
        for c in OUTCOMES[key][1]:
            names[c.condition] = names[c.control] = None
    return list(names)


def verdict(expect: str, stats: dict) -> str:
    """'holds' or 'does not hold' for the expectation, or '-' for ``report``."""
    d, p, control = stats["mean_difference"], stats["wilcoxon_p"], stats["mean_control"]
    significant = p < ALPHA
    holds = {"higher": d > 0 and significant, "lower": d < 0 and significant,
             "not lower": not (d < 0 and significant), "similar": abs(d) <= SIMILAR * abs(control)}
    if expect == "report":
        return "-"
    if expect not in holds:
        raise ConfigError(f"expect = {expect!r} is not allowed: use one of {', '.join(holds)}, 'report'")
    return "holds" if holds[expect] else "does not hold"


def evaluate(directory, ids=None) -> list[dict]:
    """Every comparison of the outcomes ``ids`` (default: all) on the runs in ``directory``."""
    runs = runs_by_condition(directory)
    rows = []
    for key in select(ids):
        claim, checks = OUTCOMES[key]
        for c in checks:
            row = dict(id=key, claim=claim, expect=c.expect, condition=c.condition, control=c.control,
                       metric=c.metric, control_metric=c.control_metric or c.metric)
            try:
                stats = paired(runs, c.condition, c.control, c.metric, c.control_metric)
            except ConfigError as err:
                rows.append({**row, "verdict": "not run", "why": str(err)})
                continue
            rows.append({**row, **stats, "verdict": verdict(c.expect, stats)})
    return rows


def format_outcomes(rows) -> str:
    lines = ["| id | expected outcome | comparison (condition vs control) | n | condition | control | "
             "difference [95 % CI] | Wilcoxon p | expect | verdict |", "|" + "---|" * 10]
    last = None
    for r in rows:
        claim = r["claim"] if r["id"] != last else ""
        last = r["id"]
        metric = r["metric"] if r["control_metric"] == r["metric"] else f"{r['metric']} vs {r['control_metric']}"
        if r["verdict"] == "not run":
            lines.append(f"| {r['id']} | {claim} | {r['condition']} vs {r['control']} ({metric}) | 0 | | | | | "
                         f"{r['expect']} | not run |")
            continue
        lo, hi = r["ci95"]
        lines.append(f"| {r['id']} | {claim} | {r['condition']} vs {r['control']} ({metric}) | {r['n']} | "
                     f"{r['mean_condition']:.4g} | {r['mean_control']:.4g} | {r['mean_difference']:+.3g} "
                     f"[{lo:+.3g}, {hi:+.3g}] | {r['wilcoxon_p']:.2g} | {r['expect']} | {r['verdict']} |")
    return "\n".join(lines)
