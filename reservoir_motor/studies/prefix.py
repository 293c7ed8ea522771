"""Shared prefixes: runs of a sweep with one seed whose configs agree up to a period are simulated once up to
it, and the others continue from its checkpoint (``simulate(start=...)``), with the numbers of their
independent runs.

Two runs with the same seed are the same run over their first K periods when every value that acts from step
0 agrees and the rest acts from period K on: the manipulations (cut at step K, they must agree), the test
(``schedule.test_feedback`` and ``n_test_trials``, when K is still in both trainings), the number of training
periods (K in both), the name and the description. Anything else, including every recording key, must be
equal. The runs of one seed form a tree (``plan_tree``): a run continues from the run it shares the most
periods with, the root is simulated from step 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ExperimentConfig
from ..simulation.continuation import _manipulations_before

#: Schedule keys that act only once the training is over (or end it).
_SCHEDULE_FROM_K = ("test_feedback", "n_test_trials", "n_train_trials")


def _fixed(config: ExperimentConfig) -> dict:
    """Every value that must agree for two runs to share any step."""
    out = config.to_dict()
    for key in ("name", "description", "manipulations"):
        out.pop(key)
    for key in _SCHEDULE_FROM_K:
        out["schedule"].pop(key)
    return out


def _replay_limit(config: ExperimentConfig, other: ExperimentConfig) -> int:
    """The last period from which ``config``'s replaying test can go on from ``other``'s checkpoint: any,
    when both keep replay buffers of one length; else early enough that its own buffer fills before the test."""
    if config.schedule.test_feedback != "replay" or config.replay_lag_steps == other.replay_lag_steps:
        return config.n_periods
    return (config.n_train_steps - config.replay_lag_steps) // config.n_period_steps


def shared_periods(a: ExperimentConfig, b: ExperimentConfig) -> int:
    """The number K of first periods over which the runs of ``a`` and ``b`` with one seed are the same run.

    K is at most one period less than the shorter run (each run simulates something of its own), within both
    trainings when the schedules differ, no later than the first of ``recording.checkpoints`` (a run keeps its
    checkpoints from its start on) and, for a replaying test, late enough in neither that the replay buffer
    would have to hold steps from before it. Returns 0 when the runs share nothing.
    """
    if _fixed(a) != _fixed(b):
        return 0
    limit = min(a.n_periods, b.n_periods) - 1
    sa, sb = a.schedule, b.schedule
    if any(getattr(sa, key) != getattr(sb, key) for key in _SCHEDULE_FROM_K):
        limit = min(limit, sa.n_train_trials, sb.n_train_trials)
    if a.recording.checkpoints:
        limit = min(limit, min(a.recording.checkpoints))
    limit = min(limit, _replay_limit(a, b), _replay_limit(b, a))
    per = a.n_period_steps
    for k in range(limit, 0, -1):  # agreement before step K holds before every earlier step too
        if _manipulations_before(a, k * per) == _manipulations_before(b, k * per):
            return k
    return 0


@dataclass(frozen=True)
class Node:
    """One run of a tree: its index in the planned runs, its parent's (None: from step 0) and the period it
    continues from."""

    run: int
    parent: int | None
    period: int


def plan_tree(runs) -> list[list[Node]]:
    """The runs (anything with ``config`` and ``seed``) as trees of shared prefixes, one list per tree, each
    parent before its children; a run that shares nothing is a tree of its own.

    Within a seed the trees are a maximum spanning forest of ``shared_periods`` (Prim's algorithm, ties to the
    earlier run), so the steps saved, the sum of the periods the children continue from, are the most a tree
    can save. A child continues from a later period than its parent started at: one that would continue from
    earlier goes to its grandparent, which shares those periods with it too (or fewer, in which case it
continues from fewer: every edge is its own ``shared_periods``).
    """
    by_seed: dict[int, list[int]] = {}
    for i, run in enumerate(runs):
        by_seed.setdefault(run.seed, []).append(i)
    trees = []
    for members in by_seed.values():
        shared = {(i, j): shared_periods(runs[i].config, runs[j].config) for i in members for j in members if i < j}
        pending = list(members)
        while pending:
            root = pending.pop(0)
            parent, period, order = {root: None}, {root: 0}, [root]
            best = {j: (shared[min(root, j), max(root, j)], root) for j in pending}
            while best:
                j = max(best, key=lambda r: (best[r][0], -r))
                k, via = best.pop(j)
                if k == 0:
                    break
                while k > 0 and period[via] >= k:  # its parent's start is no later: continue from further up
                    via = parent[via]
                    k = min(k, shared[min(j, via), max(j, via)])
                if k == 0:  # shares nothing with the path up to the root: the root of a later tree
                    continue
                pending.remove(j)
                parent[j], period[j] = via, k
                order.append(j)
                for r in best:
                    s = shared[min(j, r), max(j, r)]
                    if s > best[r][0]:
                        best[r] = (s, j)
            trees.append(_parents_first(order, parent, period))
    return trees


def _parents_first(order, parent, period) -> list[Node]:
    """The nodes in an order where every parent comes before its children (depth first)."""
    children: dict[int | None, list[int]] = {}
    for i in order:
        children.setdefault(parent[i], []).append(i)
    out, stack = [], list(reversed(children[None]))
    while stack:
        i = stack.pop()
        out.append(Node(i, parent[i], period[i]))
        stack.extend(reversed(children.get(i, [])))
    return out


def planned_steps(runs, trees) -> tuple[int, int]:
    """The steps a sweep of ``runs`` planned as ``trees`` simulates, and those of independent runs."""
    independent = sum(run.config.n_steps for run in runs)
    saved = sum(node.period * runs[node.run].config.n_period_steps for tree in trees for node in tree)
    return independent - saved, independent
