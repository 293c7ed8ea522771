"""Is a trained network chaotic? The divergence of two nearby trajectories from one checkpoint.

A checkpoint is continued twice under one config: once as saved, once with the reservoir state x
moved by a perturbation of norm ``delta`` in a random direction (drawn from the seed). Both copies draw
the same noise and exploration (the streams are part of the checkpoint), so the distance d(t) between
their rates is the dynamics' own amplification of the perturbation: it grows like exp(lambda t) in a
chaotic network until it saturates at the distance between unrelated states of the trajectory, and
shrinks when the input (a teacher signal, the state input, the network's own feedback) entrains the
reservoir. ``lambda``, fitted on the growth before saturation, estimates the largest Lyapunov exponent
of the closed loop, the readout and its feedback included.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..config import ExperimentConfig
from ..errors import ConfigError
from ..storage.checkpoint import Checkpoint

#: The growth is fitted while d(t) is below this fraction of the saturation distance.
SATURATION_FRACTION = 0.1


@dataclass(frozen=True)
class Divergence:
    """Distance between the rates of a run and of its perturbed twin.

    Attributes
    ----------
    time_ms : ndarray
        Time of each sample from the checkpoint.
    distance : ndarray
        ``|r(t) - r'(t)|`` over the recorded units at those times.
    saturation : float
        The distance between two unrelated states of the unperturbed window, sqrt(2 tr Cov(r)).
    delta : float
        Norm of the perturbation of x.
    rate_per_s : float
        Slope of log d(t) (1/s) fitted on the samples before d first reaches ``SATURATION_FRACTION`` x
        ``saturation``: the largest Lyapunov exponent estimate (> 0: nearby trajectories separate).
    """

    time_ms: np.ndarray
    distance: np.ndarray
    saturation: float
    delta: float
    rate_per_s: float


def growth_rate(time_ms, distance, saturation: float) -> float:
    """Slope (1/s) of log ``distance`` against time, on the samples before the first that reaches
    ``SATURATION_FRACTION`` x ``saturation`` (or twice the first distance, when a decaying trajectory's
    own spread is smaller than the perturbation) or 0 (the two copies merged to the rates' float32
    rounding); NaN with fewer than 3 samples to fit."""
    t, d = np.asarray(time_ms, dtype=np.float64), np.asarray(distance, dtype=np.float64)
    cap = max(SATURATION_FRACTION * saturation, 2.0 * d[0]) if d.size else 0.0
    ends = np.nonzero((d >= cap) | (d <= 0))[0]
    n = ends[0] if ends.size else d.size
    if n < 3:
        return float("nan")
    return float(np.polyfit(t[:n] / 1000.0, np.log(d[:n]), 1)[0])


def perturbed(ck: Checkpoint, delta: float) -> Checkpoint:
    """A copy of ``ck`` whose reservoir state x is moved by ``delta`` in a random direction from its seed."""
    direction = np.random.default_rng([ck.seed, ck.period, 0x5EED]).standard_normal(ck.state["x"].shape)
    state = dict(ck.state, x=ck.state["x"] + delta * direction / np.linalg.norm(direction))
    return dataclasses.replace(ck, state=state)


def _recording_all_units(config: ExperimentConfig, periods: list[int], every: int) -> ExperimentConfig:
    d = config.to_dict()
    d["recording"] = dict(d["recording"], n_units=config.network.n_neurons, units_every=every,
                          units_window=periods, record_states=False)
    return ExperimentConfig.from_dict(d)


def nearby_divergence(config: ExperimentConfig, start: Checkpoint, *, n_periods: int = 1, delta: float = 1e-3,
                      units_every: int = 5) -> Divergence:
    """Continue ``start`` under ``config`` twice, as saved and with x perturbed by ``delta``, and measure how
    the two trajectories separate over the ``n_periods`` periods after the checkpoint.

    Parameters
    ----------
    config : ExperimentConfig
        The continuation (e.g. the checkpoint's run with ``schedule.test_feedback = 'autonomous'``); every
        unit is recorded every ``units_every`` steps in the measured periods.
    start : Checkpoint
        Where both copies start.
    n_periods : int
        Periods measured, from the checkpoint's; must lie inside the run.
    delta : float
        Norm of the perturbation of x (over all N units); > 0. The rates are stored in float32, so a
        perturbation much below 1e-5 is lost in their rounding.
    """
    if not delta > 0:
        raise ConfigError(f"delta = {delta!r} is not allowed: must be > 0 (the norm of the perturbation of x)")
    total = config.n_periods
    if not 1 <= n_periods <= total - start.period:
        raise ConfigError(f"n_periods = {n_periods!r} is not allowed: must be from 1 to {total - start.period} "
                          f"(the run has {total} periods, the checkpoint is at period {start.period})")
    from ..simulation.simulate import simulate

    cfg = _recording_all_units(config, list(range(start.period, start.period + n_periods)), units_every)
    runs = [simulate(cfg, start.seed, start=ck) for ck in (start, perturbed(start, delta))]
    if any(r.diverged for r in runs):
        raise ConfigError(f"the continuation diverged (step {runs[0].metrics['diverged_step']}, "
                          f"{runs[1].metrics['diverged_step']}): no divergence of trajectories to measure")
    t0 = start.step * config.network.dt_ms
    t, a = runs[0].activity.window(t0, np.inf)
    _, b = runs[1].activity.window(t0, np.inf)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    distance = np.linalg.norm(a - b, axis=1)
    saturation = float(np.sqrt(2.0 * np.sum(np.var(a, axis=0))))
    return Divergence(time_ms=t - t0, distance=distance, saturation=saturation, delta=float(delta),
                      rate_per_s=growth_rate(t - t0, distance, saturation))
