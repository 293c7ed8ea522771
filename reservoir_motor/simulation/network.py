"""Construction of the reservoir: recurrent matrix, feedback weights, initial state, random streams.

Symbols (spec section 2): ``J`` recurrent weights (N x N, sparse), ``Q`` output feedback weights
(N x n_out), ``x0`` initial state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import kinds
from ..config import ExperimentConfig

#: Named random streams split from a run's seed. Their order is fixed: adding a stream appends to it.
STREAMS = ("network", "initial_state", "reservoir_noise", "exploration", "state_input", "recording")


def make_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators for each stream of ``STREAMS``; a pure function of ``seed``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(ss)) for name, ss in zip(STREAMS, children, strict=True)}


@dataclass(frozen=True)
class Network:
    """The fixed parts of a reservoir."""

    J: sp.csr_matrix
    Q: np.ndarray
    x0: np.ndarray

    def csr_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """J's CSR arrays as the compiled loop wants them (``kernel.loop._spmv``): the values times 2**e (float32,
        exact), unsigned indices, and 2**-e."""
        e = fixed_point_exponent(self.J)
        return ((self.J.data * np.float32(2.0 ** e)).astype(np.float32), self.J.indices.astype(np.uint32),
                self.J.indptr.astype(np.uint64), 2.0 ** -e)


#: The largest |rate| the fixed-point product allows for: tanh plus noise, ``network.noise_amplitude <= 3``.
RATE_BOUND = 4.0


def fixed_point_exponent(J: sp.csr_matrix) -> int:
    """The e of J r's fixed point (``kernel.loop._spmv``): the largest with every row's sum of |J_ij| RATE_BOUND 2**e
    below 2**62, so that no sum of truncated products reaches 2**63. A function of J alone, so that the runs
    sharing J share it. For the scripts' networks (N = 1000, gain 1.5) e = 56: units of 1.4e-17."""
    row_l1 = float(abs(J).sum(axis=1).max()) if J.nnz else 0.0
    return 62 - int(np.ceil(np.log2(row_l1 * RATE_BOUND))) if row_l1 > 0 else 0


def make_network(config: ExperimentConfig, streams: dict[str, np.random.Generator]) -> Network:
    """Draw J (positions as ``network.connectivity`` says, N(0,1) values scaled by gain / sqrt(pN)),
    Q ~ U(-a, a) and x(0)."""
    net = config.network
    n, n_out, p = net.n_neurons, config.task.n_outputs, net.connection_prob
    rng = streams["network"]
    if net.connectivity == "sprandn":
        # MATLAB's sprandn draws round(p N^2) positions with replacement and keeps each one once. The lost
        # duplicates lower the density to 1 - exp(-p) and the spectral radius to about gain sqrt(0.95)
        # at p = 0.1, which is what the authors' networks had.
        flat = np.unique(rng.integers(0, n * n, round(p * n * n)))
        rows, cols = np.divmod(flat, n)
    else:
        rows, cols = np.nonzero(rng.random((n, n)) < p)
    values = rng.standard_normal(rows.size) * (net.gain / np.sqrt(p * n))
    # J is stored in single precision: the compiled matvec streams 100 000 entries a step and is ~15 %
    # faster so. The rounding (relative 6e-8) is applied here, once, so J.toarray() is the exact matrix
    # every implementation uses; the products are accumulated in double precision.
    values = values.astype(np.float32)
    J = sp.csr_matrix((values, (rows, cols)), shape=(n, n))
    Q = rng.uniform(-net.feedback_amplitude, net.feedback_amplitude, (n, n_out))
    x0 = streams["initial_state"].uniform(-net.init_state_amplitude, net.init_state_amplitude, n)
    return Network(J=J, Q=Q, x0=x0)


def state_channels(config: ExperimentConfig) -> int:
    """Channels of the state signal: 0 when the state input is off."""
    net = config.network
    if not net.state_input:
        return 0
    return kinds.STATE_SIGNALS[net.state_signal].channels(net)


def make_state_input(config: ExperimentConfig, streams) -> tuple[np.ndarray, np.ndarray]:
    """State input weights Q_s (N x channels, U(-a, a) like Q) and, for the signals that are a function of the
    phase, their value at every step of a period (spec 7.1); 'hand' and 'target' are read in the loop.

    Off (``network.state_input = false``): a weight matrix with no columns, so the loop adds nothing.
    """
    net, period = config.network, config.n_period_steps
    channels = state_channels(config)
    amp = net.feedback_amplitude
    Q_state = streams["state_input"].uniform(-amp, amp, (net.n_neurons, channels)) if channels \
        else np.zeros((net.n_neurons, 0))
    table = kinds.STATE_SIGNALS[net.state_signal].table
    if channels == 0 or table is None:  # off, or read in the loop
        return Q_state, np.zeros((period, 0))
    return Q_state, table(np.linspace(0.0, 2.0 * np.pi, period), net)  # on the butterfly's grid


def recorded_units(config: ExperimentConfig, streams) -> np.ndarray:
    """The indices of the recorded units: ``recording.n_units`` of them drawn without replacement from the
    ``recording`` stream (sorted), or the listed ones; none by default."""
    n_units = config.recording.n_units
    if isinstance(n_units, tuple):
        return np.array(n_units, dtype=np.int64)
    if n_units == 0:
        return np.zeros(0, dtype=np.int64)
    return np.sort(streams["recording"].choice(config.network.n_neurons, n_units, replace=False)).astype(np.int64)
