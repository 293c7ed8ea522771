"""The compiled time loop: every step of a run, training and test, inside numba.

This is the only module that imports numba. ``run_steps`` advances a run from step ``s0`` to ``s1``; the
caller cuts a run into a few chunks only to report progress. All state lives in the arrays of ``State``,
so chunked and unchunked runs are bit-identical.

Symbols (spec sections 2-5)
---------------------------
x, r        reservoir state and rates, r = tanh(x) + noise
J, Q        recurrent (CSR) and output-feedback weights
W_exp       exploratory readout (RMHL, and SUPERTREX's basal-ganglia pathway)
W_mst       mastery readout (FORCE's only readout, SUPERTREX's cortical pathway), trained by RLS
P           running inverse correlation matrix of r; only its upper triangle is kept current
z, z_exp, z_mst   total, exploratory and mastery outputs; fb is the feedback used at the next step
zbar, ebar  output and fast error filters; beta the exploration amplitude Psi(ebar)
m           slow error filter; the distance from target is sqrt(m)

RLS with one pass over P
------------------------
The update ``P <- P - g c k k^T`` of one RLS step is kept pending (``pend_k``, ``pend_c``) and applied in
the same pass over the upper triangle that computes the next ``k = P r``. This halves the memory traffic
of the N x N matrix, which dominates the cost of RLS. ``flush_pending`` applies it explicitly.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .envs import arm

RULE_FORCE, RULE_RMHL, RULE_SUPERTREX = 0, 1, 2
FEEDBACK_TARGET, FEEDBACK_REPLAY, FEEDBACK_AUTONOMOUS = 0, 1, 2
EFFECTOR_IDENTITY, EFFECTOR_ARM = 0, 1
# Manipulation kinds of a schedule row (kind, start_step, stop_step, value).
MANIP_DOPAMINE, MANIP_EXPLORATION_GAIN, MANIP_REWARD_BIAS, MANIP_LESION, MANIP_BLOCK_TRANSFER = 0, 1, 2, 3, 4
MANIP_SWITCH_TARGET = 5  # value: the index of the target curve to draw

# Scalar state, kept in one float array so that it survives between chunks.
S_EBAR, S_BETA, S_M, S_PEND_C, S_DIVERGED, S_ESUM, S_EBEST, S_GATE, S_STALLED = 0, 1, 2, 3, 4, 5, 6, 7, 8
N_SCALARS = 9

# Compiler flags, in one place. Reassociation lets LLVM vectorise the reductions; NaN and inf semantics
# are kept (no 'nnan'/'ninf'), so the divergence check stays valid. error_model='numpy' drops the
# ZeroDivisionError branch of every division, which otherwise blocks vectorisation.
FASTMATH = {"reassoc", "nsz", "arcp", "contract"}
JIT = dict(cache=True, fastmath=FASTMATH, error_model="numpy")

Params = namedtuple("Params", [
    "rule", "effector", "test_feedback",
    "n_train_steps", "n_period_steps", "replay_lag", "rls_every", "record_every",
    "dt_over_tau", "noise_amplitude",
    "learning_rate", "phi_odd", "phi_gain", "phi_exponent", "psi_prefactor", "psi_exponent",
    "error_filter", "output_filter", "supervisor_filtered", "kappa", "threshold", "gate_steepness",
    "transfer_moves", "adaptive_threshold", "cost_on_movement",
    "distance_filter", "divergence_bound",
])

State = namedtuple("State", [
    "x", "r", "Jr", "fb", "z", "z_exp", "z_mst", "zbar", "zbar_total", "hand",
    "W_exp", "W_mst", "P", "k", "pend_k", "replay", "scalars",
])

Record = namedtuple("Record", [
    "error", "distance",                 # every step
    "z", "z_exp", "hand", "norm_exp", "norm_mst", "gate",   # every record_every steps
])


@njit(**JIT)
def _spmv(data, indices, indptr, v, out):
    """out = J v for CSR J.

    ``indptr`` is uint64 so the loop index is unsigned: numba then skips its negative-index wraparound
    code on every element, which more than halves the time of this loop.
    """
    for i in range(out.size):
        acc = 0.0
        for q in range(indptr[i], indptr[i + 1]):
            acc += data[q] * v[indices[q]]
        out[i] = acc


@njit(**JIT)
def _apply_pending_and_multiply(P, pend_k, pend_c, r, k):
    """P <- P - pend_c pend_k pend_k^T on the upper triangle, and k = P r with the updated P, in one pass.

    Row i of the upper triangle adds P[i, j] r[j] to k[i] and P[i, j] r[i] to k[j] for j > i. Rows are
    taken two at a time, so each k[j] is loaded and stored once per pair of rows. The inner loop runs
    over views that start at index 0, which lets numba drop its negative-index wraparound checks.
    """
    n = r.size
    for i in range(n):
        k[i] = 0.0
    i = 0
    while i + 1 < n:
        c0, c1 = pend_c * pend_k[i], pend_c * pend_k[i + 1]
        r0, r1 = r[i], r[i + 1]
        p00 = P[i, i] - c0 * pend_k[i]
        p01 = P[i, i + 1] - c0 * pend_k[i + 1]
        p11 = P[i + 1, i + 1] - c1 * pend_k[i + 1]
        P[i, i], P[i, i + 1], P[i + 1, i + 1] = p00, p01, p11
        acc0 = p00 * r0 + p01 * r1
        acc1 = p01 * r0 + p11 * r1
        row0, row1, pk, rr, kk = P[i, i + 2:], P[i + 1, i + 2:], pend_k[i + 2:], r[i + 2:], k[i + 2:]
        for j in range(row0.size):
            a = row0[j] - c0 * pk[j]
            b = row1[j] - c1 * pk[j]
            row0[j] = a
            row1[j] = b
            acc0 += a * rr[j]
            acc1 += b * rr[j]
            kk[j] += a * r0 + b * r1
        k[i] += acc0
        k[i + 1] += acc1
        i += 2
    if i < n:  # odd n: the last diagonal entry
        p = P[i, i] - pend_c * pend_k[i] * pend_k[i]
        P[i, i] = p
        k[i] += p * r[i]


@njit(**JIT)
def flush_pending(P, pend_k, scalars):
    """Apply the pending rank-1 update and mirror the upper triangle, leaving P complete and symmetric."""
    n = pend_k.size
    c = scalars[S_PEND_C]
    for i in range(n):
        for j in range(i, n):
            P[i, j] -= c * pend_k[i] * pend_k[j]
            P[j, i] = P[i, j]
    scalars[S_PEND_C] = 0.0


@njit(**JIT)
def tanh_into(x, out):
    """out = tanh(x), vectorised; within 5 ulp of libm's tanh.

    numba calls libm's scalar tanh (about 12 ns each here); this loop vectorises. It uses
    tanh(a) = E / (E + 2) with E = expm1(2a): expm1 of 2a / 64 by its Taylor series (18 terms reach
    double precision for arguments up to 0.6), then six doublings expm1(2u) = expm1(u) (expm1(u) + 2),
    which keep the relative accuracy. |x| >= 19 gives +-1 exactly, as in double precision.
    """
    for j in range(x.size):
        v = x[j]
        a = abs(v)
        a = 19.0 if a > 19.0 else a  # NaN passes through
        u = a * (2.0 / 64.0)
        p = 1.0 / 6402373705728000.0
        p = p * u + 1.0 / 355687428096000.0
        p = p * u + 1.0 / 20922789888000.0
        p = p * u + 1.0 / 1307674368000.0
        p = p * u + 1.0 / 87178291200.0
        p = p * u + 1.0 / 6227020800.0
        p = p * u + 1.0 / 479001600.0
        p = p * u + 1.0 / 39916800.0
        p = p * u + 1.0 / 3628800.0
        p = p * u + 1.0 / 362880.0
        p = p * u + 1.0 / 40320.0
        p = p * u + 1.0 / 5040.0
        p = p * u + 1.0 / 720.0
        p = p * u + 1.0 / 120.0
        p = p * u + 1.0 / 24.0
        p = p * u + 1.0 / 6.0
        p = p * u + 0.5
        p = p * u + 1.0
        e = p * u
        e = e * (e + 2.0)
        e = e * (e + 2.0)
        e = e * (e + 2.0)
        e = e * (e + 2.0)
        e = e * (e + 2.0)
        e = e * (e + 2.0)
        out[j] = math.copysign(e / (e + 2.0), v)


_arm_tip = njit(**JIT)(arm.tip_position)


@njit(**JIT)
def hand_position(effector, z, arm_lengths, out):
    """Map the output to the end effector: identity (Task 1) or the planar arm (``envs.arm``)."""
    if effector == EFFECTOR_IDENTITY:
        out[0] = z[0]
        out[1] = z[1]
    else:
        _arm_tip(z, arm_lengths, out)


@njit(**JIT)
def _frobenius(W):
    acc = 0.0
    for a in range(W.shape[0]):
        for b in range(W.shape[1]):
            acc += W[a, b] * W[a, b]
    return np.sqrt(acc)


@njit(**JIT)
def _phi(u, odd, gain, exponent):
    """Reward function: reinforce when the error fell (u < 0); with ``odd``, anti-reinforce when it rose."""
    if u <= 0.0:
        return gain * (-u) ** exponent
    if odd:
        return -gain * u ** exponent
    return 0.0


@njit(**JIT)
def adaptive_threshold(sc, e, s, n_period_steps, threshold, factor):
    """The transfer threshold at step s >= 1 of training, given the error e of this step.

    The error averaged over each period is read at the period's end. A period that does not beat the
    best earlier one means learning has stalled; only then does the gate open up to factor x that best.
    While the error still falls, the scripted threshold stands. The average is a plain one over the
    period: a running filter would remember the untrained error for several periods and hide a stall.
    """
    if s % n_period_steps == 0:
        mean = sc[S_ESUM] / n_period_steps
        sc[S_ESUM] = 0.0
        improved = mean < sc[S_EBEST]
        if improved:
            sc[S_EBEST] = mean
        sc[S_STALLED] = 0.0 if improved else 1.0
    sc[S_ESUM] += e
    if sc[S_STALLED] > 0.0:
        return max(threshold, factor * sc[S_EBEST])
    return threshold


@njit(**JIT)
def run_steps(s0, s1, p, J_data, J_indices, J_indptr, Q, targets, arm_lengths, costs, schedule,
              Q_state, state_signal, st, rec, rng_noise, rng_explore):
    """Advance the run from step ``s0`` to ``s1`` (0-based). Returns the step after the last one done.

    ``targets`` is (n_curves, n_period_steps, 2): curve 0 unless a switch_target manipulation is active.
    ``Q_state @ state_signal[phase]`` is the optional state input (spec 7.1); Q_state has 0 columns
    when it is off.

    Stops early, with ``scalars[S_DIVERGED]`` set to the step, when an output leaves the divergence bound.
    """
    x, r, Jr, fb = st.x, st.r, st.Jr, st.fb
    z, z_exp, z_mst, zbar, hand = st.z, st.z_exp, st.z_mst, st.zbar, st.hand
    W_exp, W_mst, P, k, pend_k, sc = st.W_exp, st.W_mst, st.P, st.k, st.pend_k, st.scalars
    n, n_out = x.size, z.size
    has_exp = p.rule != RULE_FORCE
    has_mst = p.rule != RULE_RMHL
    gate = sc[S_GATE]  # the gate of the latest RLS step, kept between chunks for the record
    for s in range(s0, s1):
        training = s < p.n_train_steps
        phase = s % p.n_period_steps

        # Manipulations active at this step.
        dopamine, exploration_gain, reward_bias = 1.0, 1.0, 0.0
        lesion, block, curve = False, False, 0
        for q in range(schedule.shape[0]):
            if schedule[q, 1] <= s < schedule[q, 2]:
                kind, value = int(schedule[q, 0]), schedule[q, 3]
                if kind == MANIP_DOPAMINE:
                    dopamine *= value
                elif kind == MANIP_EXPLORATION_GAIN:
                    exploration_gain *= value
                elif kind == MANIP_REWARD_BIAS:
                    reward_bias += value
                elif kind == MANIP_LESION:
                    lesion = True
                elif kind == MANIP_BLOCK_TRANSFER:
                    block = True
                elif kind == MANIP_SWITCH_TARGET:
                    curve = int(value)
        target = targets[curve]

        # 1. Reservoir: Euler step driven by the previous rates and feedback, then rates with noise.
        _spmv(J_data, J_indices, J_indptr, r, Jr)
        for j in range(n):
            drive = Jr[j]
            for o in range(n_out):
                drive += Q[j, o] * fb[o]
            for c in range(Q_state.shape[1]):
                drive += Q_state[j, c] * state_signal[phase, c]
            x[j] += p.dt_over_tau * (drive - x[j])
        tanh_into(x, r)
        if training and p.noise_amplitude > 0.0:
            lo, width = -p.noise_amplitude, 2.0 * p.noise_amplitude
            for j in range(n):
                r[j] += lo + width * rng_noise.random()

        # 2. Readouts. The exploratory pathway is absent in the test phase (SUPERTREX) or when lesioned.
        beta = sc[S_BETA]
        for o in range(n_out):
            zm = 0.0
            if has_mst:
                for j in range(n):
                    zm += W_mst[o, j] * r[j]
            ze = 0.0
            if has_exp:
                xi = 0.0
                if training:  # always drawn in training, so manipulated and control runs stay paired
                    xi = -beta + 2.0 * beta * rng_explore.random()
                if not lesion and (training or p.rule == RULE_RMHL):
                    for j in range(n):
                        ze += W_exp[o, j] * r[j]
                    ze += xi
            z_mst[o] = zm
            z_exp[o] = ze
            z[o] = zm + ze

        # 3. Output filter: SUPERTREX filters its exploratory output (also in the test, as scripted);
        #    RMHL filters its total output during training.
        a_z = p.output_filter
        for o in range(n_out):
            if s == 0:
                zbar[o] = z_exp[o]
            elif p.rule == RULE_SUPERTREX or training:
                zbar[o] = (1.0 - a_z) * zbar[o] + a_z * z_exp[o]

        # 4. Error: squared hand distance plus the movement cost.
        hand_position(p.effector, z, arm_lengths, hand)
        e = (hand[0] - target[phase, 0]) ** 2 + (hand[1] - target[phase, 1]) ** 2
        if costs.size:
            zb = st.zbar_total
            if p.cost_on_movement:  # a filter of the total output, every step: the cost of moving
                for o in range(n_out):
                    zb[o] = z[o] if s == 0 else (1.0 - a_z) * zb[o] + a_z * z[o]
            else:  # as scripted: the learning rule's own filter
                zb = zbar
            for o in range(costs.size):
                e += costs[o] * abs(z[o] - zb[o])

        if s == 0:
            sc[S_EBAR] = e
            sc[S_M] = e
            sc[S_ESUM] = 0.0
            sc[S_EBEST] = np.inf
            sc[S_STALLED] = 0.0
        else:
            sc[S_M] = (1.0 - p.distance_filter) * sc[S_M] + p.distance_filter * e
        rec.error[s] = e
        rec.distance[s] = np.sqrt(sc[S_M])

        # 5. Learning (training, from the second step on).
        if training and s > 0:
            ebar = (1.0 - p.error_filter) * sc[S_EBAR] + p.error_filter * e
            sc[S_EBAR] = ebar
            threshold = p.threshold
            if p.adaptive_threshold > 0.0:
                threshold = adaptive_threshold(sc, e, s, p.n_period_steps, threshold,
                                               p.adaptive_threshold)
            e_hat = e - ebar
            sc[S_BETA] = exploration_gain * p.psi_prefactor * (10.0 * ebar) ** p.psi_exponent

            if has_exp and not lesion:
                coef = dopamine * p.learning_rate * _phi(e_hat + reward_bias, p.phi_odd, p.phi_gain,
                                                         p.phi_exponent)
                if coef != 0.0:
                    for o in range(n_out):
                        c_o = coef * (z_exp[o] - zbar[o])
                        for j in range(n):
                            W_exp[o, j] += c_o * r[j]

            if has_mst and (s + 1) % p.rls_every == 0:
                if p.rule == RULE_FORCE:
                    gate = 1.0
                elif block:
                    gate = 0.0
                else:
                    gate = 0.5 - 0.5 * np.tanh(p.gate_steepness * (abs(ebar) - threshold))
                sc[S_GATE] = gate
                if gate > 0.0:  # a closed gate changes neither P nor W: skip the N x N work
                    _apply_pending_and_multiply(P, pend_k, sc[S_PEND_C], r, k)
                    rk = 0.0
                    for j in range(n):
                        rk += r[j] * k[j]
                    c = 1.0 / (1.0 + rk)
                    for o in range(n_out):
                        if p.rule == RULE_FORCE:
                            step = -c * (z[o] - target[phase, o])
                        elif p.supervisor_filtered:
                            step = p.kappa * gate * c * zbar[o]
                        else:
                            step = p.kappa * gate * c * z_exp[o]
                        for j in range(n):
                            W_mst[o, j] += step * k[j]
                        if p.transfer_moves:
                            for j in range(n):
                                W_exp[o, j] -= step * k[j]
                    for j in range(n):
                        pend_k[j] = k[j]
                    sc[S_PEND_C] = gate * c

        # 6. Feedback for the next step.
        lag_slot = s % p.replay_lag
        if training:
            for o in range(n_out):
                fb[o] = z[o]
                st.replay[lag_slot, o] = z[o]
        elif p.test_feedback == FEEDBACK_TARGET:
            for o in range(n_out):
                fb[o] = target[phase, o]
        elif p.test_feedback == FEEDBACK_REPLAY:
            for o in range(n_out):
                fb[o] = st.replay[lag_slot, o]
        else:
            for o in range(n_out):
                fb[o] = z[o]

        # 7. Downsampled traces.
        if s % p.record_every == 0:
            i = s // p.record_every
            for o in range(n_out):
                rec.z[i, o] = z[o]
                rec.z_exp[i, o] = z_exp[o]
            rec.hand[i, 0] = hand[0]
            rec.hand[i, 1] = hand[1]
            rec.norm_exp[i] = _frobenius(W_exp)
            rec.norm_mst[i] = _frobenius(W_mst)
            rec.gate[i] = gate

        # 8. Divergence: any output non-finite or beyond the bound ends the run.
        for o in range(n_out):
            if not abs(z[o]) <= p.divergence_bound:
                sc[S_DIVERGED] = s
                return s + 1
    return s1
