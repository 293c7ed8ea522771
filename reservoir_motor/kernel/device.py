"""The time loop on a GPU (numba-cuda): one thread block per run, every run of a batch in one launch.

A block of ``threads`` threads runs one run from its first step to its last (or its divergence) inside the
kernel; each run has its own network (a batch is any mix of seeds, rules and conditions): the runs' J are laid
end to end, each run's rows pointing into them, so that runs that share a network share its entries. The
N-wide stages are split over the block's threads (thread t takes units t, t + threads, ...): J r in fixed point
(integer sums, the CPU's numbers exactly), the Euler step and the rates,
the readouts and the norms (a sum per thread, then a tree over the block in shared memory, which numba's CUDA
simulator can run: it has no warp shuffles), the exploratory update, and RLS's one pass over P, which applies the
previous step's pending rank-1 update while it sums k = P r (``kernel.loop``'s scheme, by columns here). The
scalar stages (the error, its filters, the reward, the gate, the feedback) run on thread 0 between barriers.

The rates' noise and the exploration are the CPU's draws: each run's two PCG64 streams (``kernel.streams``)
jump to the draws a thread needs, so a run here draws exactly the numbers it draws on the CPU. ``tanh`` is the
loop's own source (``kernel.loop.tanh``) compiled for the device with the device's fused multiply-add; Phi and
Psi use ``reservoir_motor.elementary``. The sums of the readouts and of k are in another order than the CPU's
eight lanes, so a run agrees with the CPU's to rounding, carried on by the chaotic reservoir (tested to 1e-9
relative on tiny runs in the simulator, ``tests/kernel/test_device.py``).

Each block runs its run from ``s_now[b]`` to ``s_end[b]`` (a continued checkpoint starts later; runs differ in
length), so the host can stop a batch at a run's checkpoint and go on. What it covers: FORCE, RMHL and SUPERTREX
(every teacher, gate, threshold and transfer), correlated exploration, the eligibility trace, either Hebbian term,
the reward's baseline per phase, state input, recorded units, on the built-in plants (identity, kinematic arm,
dynamical arm) and a user's plant (a kernel of its own, ``make_kernel(threads, plant_step)``) with their movement
and effort costs, any test feedback, ``rls_every``, recording interval and manipulation; the plants, the task
error, the manipulations and the adaptive threshold are the CPU loop's sources. ``simulation.on_device`` refuses
in one line a user's plant numba-cuda cannot compile.
"""

from __future__ import annotations

import math
import types as pytypes
from fractions import Fraction

import numpy as np

if not hasattr(np, "row_stack"):  # numba 0.68.0 refers to it; numpy 2.5 removed it
    np.row_stack = np.vstack

from numba import cuda, float64  # noqa: E402 - after the alias above
from numba.cuda import config as cuda_config  # noqa: E402

from .. import elementary  # noqa: E402
from ..plants import arm, arm_dynamics  # noqa: E402
from . import loop as K  # noqa: E402
from . import streams  # noqa: E402
from .codes import (  # noqa: E402
    FEEDBACK_REPLAY,
    FEEDBACK_TARGET,
    S_BETA,
    S_DIVERGED,
    S_EBAR,
    S_EBEST,
    S_ESUM,
    S_GATE,
    S_M,
    S_PEND_C,
    S_STALLED,
    S_TRIAL_ERR,
    SLOT_BLOCK_TRANSFER,
    SLOT_CURVE,
    SLOT_DOPAMINE,
    SLOT_EXPLORATION_GAIN,
    SLOT_LESION,
    SLOT_REWARD_BIAS,
    STATE_HAND,
    STATE_TARGET,
    TEACHER_FILTERED,
    TEACHER_TARGET,
)

SIMULATED = bool(cuda_config.ENABLE_CUDASIM)  # numba's CUDA simulator runs the kernels as Python

if SIMULATED:
    def _fma(a, b, c):
        """a * b + c rounded once (the simulator runs Python: exact rational arithmetic, then one rounding)."""
        return float(Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c)))
else:  # pragma: no cover - a GPU: the device's fused multiply-add, rounded once (IEEE)
    @cuda.jit(device=True)
    def _fma(a, b, c):
        return cuda.fma(a, b, c)


def _for_device(func, **names):
    """``func``'s source (a loop stage) compiled for the device, with ``fma`` and ``names`` bound for it."""
    func = getattr(func, "py_func", func)
    namespace = dict(func.__globals__, fma=_fma, **names)
    return cuda.jit(device=True)(pytypes.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__,
                                                      func.__closure__))


# ``elementary`` on the device: its sources, with the device's exact primitives
_primitives = dict(floor=cuda.jit(device=True)(lambda x: float(math.floor(x))),
                   ldexp=cuda.jit(device=True)(lambda y, k: math.ldexp(y, int(k))),
                   frexp=cuda.jit(device=True)(lambda x: math.frexp(x)),
                   sqrt=cuda.jit(device=True)(lambda x: math.sqrt(x)))
_exp = _for_device(elementary.exp, **_primitives)
_quadrant_sin = _for_device(elementary._quadrant_sin, **_primitives)
# a module, so that the plants' ``elementary.sin(...)`` finds the device's
_elementary = pytypes.ModuleType("reservoir_motor.elementary (device)")
_elementary.sin = _for_device(elementary.sin, _quadrant_sin=_quadrant_sin)
_elementary.cos = _for_device(elementary.cos, _quadrant_sin=_quadrant_sin)
_log = _for_device(elementary.log, **_primitives)
_pow = _for_device(elementary.pow, exp=_exp, log=_log)

# the streams' uint64 arithmetic (``kernel.streams``) on the device
_affine = _for_device(streams.affine, mul_hi=_for_device(streams.mul_hi))
_output = _for_device(streams.output)
_to_unit = _for_device(streams.to_unit)

tanh = _for_device(K.tanh)
_power = _for_device(K._power, _elementary_pow=_pow)
phi = _for_device(K._phi, _power=_power)
active_manipulations = _for_device(K.active_manipulations)
adaptive_threshold = _for_device(K.adaptive_threshold)
# the plants and the task error: the CPU loop's sources, with the device's functions bound in
_plant_step = _for_device(K.plant_step,
                          _arm_dynamics_step=_for_device(arm_dynamics.step, elementary=_elementary),
                          hand_position=_for_device(K.hand_position,
                                                    _arm_tip=_for_device(arm.tip_position, elementary=_elementary)))
task_error = _for_device(K.task_error, plant_step=_plant_step)
filter_into = _for_device(K.filter_into)

# Params, packed as float64 in this order (``pack_params``)
PARAMS = ("has_exploratory", "has_mastery", "exploratory_in_test", "filters_in_test", "gated_transfer", "teacher",
          "test_feedback", "n_train_steps", "n_period_steps", "replay_lag", "rls_every", "record_every",
          "dt_over_tau", "noise_amplitude", "learning_rate", "phi_odd", "phi_gain", "phi_exponent", "psi_prefactor",
          "psi_exponent", "error_filter", "output_filter", "kappa", "threshold", "gate_steepness", "transfer_moves",
          "distance_filter", "divergence_bound", "effector", "dt_s", "effort_cost", "cost_on_movement",
          "state_source", "state_amplitude", "exploration_filter", "exploration_scale", "adaptive_threshold",
          "units_every", "eligibility_filter", "hebbian_perturbation", "phase_baseline",
          "trial_steps")
(HAS_EXP, HAS_MST, EXP_IN_TEST, FILTERS_IN_TEST, GATED, TEACHER, TEST_FEEDBACK, N_TRAIN, N_PERIOD, REPLAY_LAG,
 RLS_EVERY, RECORD_EVERY, DT_TAU, NOISE, ETA, PHI_ODD, PHI_GAIN, PHI_EXP, PSI_PRE, PSI_EXP, ERROR_FILTER,
 OUTPUT_FILTER, KAPPA, THRESHOLD, STEEPNESS, MOVES, DISTANCE_FILTER, BOUND, EFFECTOR, DT_S, EFFORT_COST,
 COST_ON_MOVEMENT, STATE_SOURCE, STATE_AMP, EXPLORATION_FILTER, EXPLORATION_SCALE, ADAPTIVE,
 UNITS_EVERY, ELIGIBILITY, HEBB_XI, PHASE_BASELINE, TRIAL) = range(len(PARAMS))
# a run's sizes, after its params (``pack_params``): the batch's arrays are padded to the largest
SIZES = ("n_out", "n_state", "n_plant_params", "n_costs", "n_signal", "n_units", "records_states")
N_OUT, N_STATE, N_PLANT_PARAMS, N_COSTS, N_SIGNAL, N_UNITS, RECORDS_STATES = range(len(PARAMS),
                                                                                    len(PARAMS) + len(SIZES))

# the rows of a run's jump table (``jump_rows``): thread t's first noise draw, then the stride and the step
STRIDE_ROW, STEP_ROW = 0, 1


def pack_params(p: K.Params, **sizes) -> np.ndarray:
    """A run's params and its sizes (``SIZES``, by name) as one float64 row."""
    return np.array([float(getattr(p, name)) for name in PARAMS] + [float(sizes[name]) for name in SIZES])


def jump_rows(increment: int, threads: int, n: int) -> np.ndarray:
    """A noise stream's jumps: thread t's first draw of a step (t + 1 draws on), then ``threads`` and ``n``
    draws on (the stride and a whole step), as rows (A_hi, A_lo, B_hi, B_lo); row t + 2 is thread t's."""
    return streams.jump_table([threads, n] + [t + 1 for t in range(threads)], increment)


def user_task_error(step):
    """``task_error`` with a user's plant ``step`` (its plain Python, ``plants.user``) compiled for the device in
    place of the built-in plants, as the CPU compiles a loop of its own for it (``kernel.loop.loop_for``)."""
    user = cuda.jit(device=True)(getattr(step, "py_func", step))
    return _for_device(K.task_error, plant_step=_for_device(K._user_plant_step, _user_plant=user))


_PLANT_ERRORS = {}


def plant_compile_error(step) -> str:
    """Why numba-cuda cannot compile a user's plant ``step`` for the device (the loop's argument types), or ''."""
    step = getattr(step, "py_func", step)
    if step not in _PLANT_ERRORS:
        try:
            cuda.jit(K.PLANT_SIGNATURE, device=True)(step)
            _PLANT_ERRORS[step] = ""
        except K.NumbaError as exc:
            _PLANT_ERRORS[step] = K.numba_message(exc)
    return _PLANT_ERRORS[step]


def make_kernel(threads: int, plant_step=None):
    """The kernel for blocks of ``threads`` threads (a power of two); with ``plant_step``, for runs of that user's
    plant (every run of a launch then has it)."""
    if threads < 1 or threads & (threads - 1):
        raise ValueError(f"threads = {threads} is not allowed: must be a power of two")
    error_of = task_error if plant_step is None else user_task_error(plant_step)

    @cuda.jit(device=True)
    def hebbian(p, xis, ze, zbar, o):
        """The Hebbian output factor (``kernel.loop.hebbian``): xi, or z_exp - zbar."""
        return xis[o] if p[HEBB_XI] > 0.0 else ze[o] - zbar[o]

    @cuda.jit(device=True)
    def block_sum(buf, t, value):
        """The sum of every thread's ``value``: a tree over the block, the same order on every launch."""
        cuda.syncthreads()
        buf[t] = value
        cuda.syncthreads()
        half = threads // 2
        while half > 0:
            if t < half:
                buf[t] += buf[t + half]
            cuda.syncthreads()
            half //= 2
        total = buf[0]
        cuda.syncthreads()
        return total

    @cuda.jit
    def run_batch(s_now, s_end, prm, J_data, J_indices, J_indptr, J_unscale, QS, TARGETS, SCHEDULE, MODS, COSTS,
                  PLANT_PARAMS, Q_STATE, STATE_SIGNAL, UNITS, UNIT_OFFSETS, PLANT_STATE, ZBAR_TOTAL,
                  X, R, JR, FB, Z, ZE, ZM, ZBAR, HAND, XI, W_exp, W_mst, ELIG, BASELINE, P, KV, PEND, SC,
                  REPLAY, noise_state, noise_jumps, explore_state, explore_jump,
                  rec_error, rec_distance, rec_z, rec_zexp, rec_hand, rec_nexp, rec_nmst, rec_gate, rec_plant,
                  rec_rates, rec_states):
        b = cuda.blockIdx.x
        t = cuda.threadIdx.x
        # dynamic shared memory (sized at launch): numba's simulator hands every thread the same buffer, where
        # its static shared arrays are made by the first thread to ask and may be made twice
        buf = cuda.shared.array(0, float64)
        p = prm[b]
        indptr, unscale, Q = J_indptr[b], J_unscale[b], QS[b]  # this run's network: rows into the shared arrays
        targets, schedule, mods = TARGETS[b], SCHEDULE[b], MODS[b]
        x, r, jr, fb, k = X[b], R[b], JR[b], FB[b], KV[b]
        z, ze, zm, zbar, hand, xis, sc = Z[b], ZE[b], ZM[b], ZBAR[b], HAND[b], XI[b], SC[b]
        wexp, wmst, elig, pm, pend, replay = W_exp[b], W_mst[b], ELIG[b], P[b], PEND[b], REPLAY[b]
        n, n_out = x.size, int(p[N_OUT])
        costs, plant_params = COSTS[b, :int(p[N_COSTS])], PLANT_PARAMS[b, :int(p[N_PLANT_PARAMS])]
        plant_state, zbar_total = PLANT_STATE[b, :int(p[N_STATE])], ZBAR_TOTAL[b, :n_out]
        q_state, state_signal, n_signal = Q_STATE[b], STATE_SIGNAL[b], int(p[N_SIGNAL])
        units, unit_offsets, n_units = UNITS[b], UNIT_OFFSETS[b], int(p[N_UNITS])
        n_train, n_period = int(p[N_TRAIN]), int(p[N_PERIOD])
        for s in range(s_now[b], s_end[b]):
            training = s < n_train
            phase = s % n_period
            if t == 0:
                active_manipulations(schedule, s, mods)
            # J r of the previous step's rates, exact (integer sums); every thread then reads the old rates
            for i in range(t, n, threads):
                acc = 0
                for q in range(indptr[i], indptr[i + 1]):
                    acc += int(J_data[q] * r[J_indices[q]])
                jr[i] = acc * unscale
            cuda.syncthreads()
            target_point = targets[int(mods[SLOT_CURVE]), phase]
            lesion = mods[SLOT_LESION] > 0.0
            # the Euler step, the rates and their noise: unit j takes draw j of the step
            nh, nl = noise_state[b, 0], noise_state[b, 1]
            jt = noise_jumps[b, 2 + t]
            dh, dl = _affine(nh, nl, jt[0], jt[1], jt[2], jt[3])
            js = noise_jumps[b, STRIDE_ROW]
            for j in range(t, n, threads):
                drive = jr[j]
                for o in range(n_out):
                    drive = _fma(Q[j, o], fb[o], drive)
                for c in range(n_signal):  # the state input: the phase's row, the previous hand or the target
                    if p[STATE_SOURCE] == STATE_HAND:
                        v = hand[c]
                    elif p[STATE_SOURCE] == STATE_TARGET:
                        v = target_point[c]
                    else:
                        v = state_signal[phase, c]
                    drive = _fma(q_state[j, c], p[STATE_AMP] * v, drive)
                x[j] = _fma(p[DT_TAU], drive - x[j], x[j])
                r[j] = tanh(x[j])
                if training and p[NOISE] > 0.0:
                    r[j] += -p[NOISE] + 2.0 * p[NOISE] * _to_unit(_output(dh, dl))
                    dh, dl = _affine(dh, dl, js[0], js[1], js[2], js[3])
            cuda.syncthreads()
            if t == 0 and training and p[NOISE] > 0.0:
                jn = noise_jumps[b, STEP_ROW]
                noise_state[b, 0], noise_state[b, 1] = _affine(nh, nl, jn[0], jn[1], jn[2], jn[3])
            # readouts
            for o in range(n_out):
                part_m = 0.0
                part_e = 0.0
                for j in range(t, n, threads):
                    part_m = _fma(wmst[o, j], r[j], part_m)
                    part_e = _fma(wexp[o, j], r[j], part_e)
                dot_m = block_sum(buf, t, part_m)
                dot_e = block_sum(buf, t, part_e)
                if t == 0:
                    zm_o = dot_m if p[HAS_MST] > 0.0 else 0.0
                    ze_o = 0.0
                    if p[HAS_EXP] > 0.0:
                        xi = 0.0
                        if training:
                            eh, el = _affine(explore_state[b, 0], explore_state[b, 1], explore_jump[b, 0],
                                             explore_jump[b, 1], explore_jump[b, 2], explore_jump[b, 3])
                            explore_state[b, 0], explore_state[b, 1] = eh, el
                            beta = sc[S_BETA]
                            xi = -beta + 2.0 * beta * _to_unit(_output(eh, el))
                            if p[EXPLORATION_FILTER] != 1.0:  # correlated exploration (``kernel.loop.readouts``)
                                a = p[EXPLORATION_FILTER]
                                xi = (1.0 - a) * xis[o] + a * p[EXPLORATION_SCALE] * xi
                            xis[o] = xi
                        if not lesion and (training or p[EXP_IN_TEST] > 0.0):
                            ze_o = dot_e + xi
                    zm[o] = zm_o
                    ze[o] = ze_o
                    z[o] = zm_o + ze_o
            if t == 0:
                # the output filters, the plant and the error (``kernel.loop.step_error``), the reward
                if s == 0 or p[FILTERS_IN_TEST] > 0.0 or training:
                    filter_into(zbar[:n_out], ze[:n_out], p[OUTPUT_FILTER], s == 0)
                zb = zbar[:n_out]
                if costs.size and p[COST_ON_MOVEMENT] > 0.0:
                    filter_into(zbar_total, z[:n_out], p[OUTPUT_FILTER], s == 0)
                    zb = zbar_total
                e = error_of(int(p[EFFECTOR]), z[:n_out], zb, target_point, plant_state, plant_params, p[DT_S],
                             costs, p[EFFORT_COST], hand)
                if s == 0:  # ``kernel.loop.track_distance``
                    sc[S_EBAR] = e
                    sc[S_M] = e
                    sc[S_ESUM] = e
                    sc[S_EBEST] = math.inf
                    sc[S_STALLED] = 0.0
                else:
                    sc[S_M] = (1.0 - p[DISTANCE_FILTER]) * sc[S_M] + p[DISTANCE_FILTER] * e
                rec_error[b, s] = e
                rec_distance[b, s] = math.sqrt(sc[S_M])
                buf[0] = 0.0  # the exploratory coefficient, read by every thread below
                buf[2] = 0.0  # 1 at a trial's end (``kernel.loop.trial_update``)
                if training and s > 0:
                    ebar = (1.0 - p[ERROR_FILTER]) * sc[S_EBAR] + p[ERROR_FILTER] * e
                    sc[S_EBAR] = ebar
                    threshold = p[THRESHOLD]
                    if p[ADAPTIVE] > 0.0:
                        threshold = adaptive_threshold(sc, e, s, n_period, threshold, p[ADAPTIVE])
                    sc[S_BETA] = mods[SLOT_EXPLORATION_GAIN] * p[PSI_PRE] * _power(10.0 * ebar, p[PSI_EXP])
                    trial = int(p[TRIAL])
                    rewarded = trial == 0
                    e_now = e  # the step's error, or at a trial's end the trial's mean
                    if trial > 0 and p[HAS_EXP] > 0.0:
                        sc[S_TRIAL_ERR] += e
                        if (s + 1) % trial == 0:
                            rewarded = True
                            buf[2] = 1.0
                            e_now = sc[S_TRIAL_ERR] / trial
                            sc[S_TRIAL_ERR] = 0.0
                    e_hat = e_now - ebar  # what Phi rewards (``kernel.loop.reward_input``)
                    if p[PHASE_BASELINE] > 0.0 and rewarded:
                        bl = BASELINE[b]
                        if math.isnan(bl[phase]):
                            bl[phase] = e_now
                            e_hat = 0.0
                        else:
                            e_hat = e_now - bl[phase]
                            bl[phase] = (1.0 - p[PHASE_BASELINE]) * bl[phase] + p[PHASE_BASELINE] * e_now
                    if p[HAS_EXP] > 0.0 and not lesion and rewarded:
                        reward = phi(e_hat + mods[SLOT_REWARD_BIAS], p[PHI_ODD] > 0.0, p[PHI_GAIN], p[PHI_EXP])
                        buf[0] = mods[SLOT_DOPAMINE] * p[ETA] * reward
                    gate = 0.0
                    if p[HAS_MST] > 0.0 and (s + 1) % int(p[RLS_EVERY]) == 0:
                        gate = 1.0
                        if p[GATED] > 0.0 and mods[SLOT_BLOCK_TRANSFER] > 0.0:
                            gate = 0.0
                        elif p[GATED] > 0.0:
                            gate = 0.5 - 0.5 * tanh(p[STEEPNESS] * (abs(ebar) - threshold))
                        sc[S_GATE] = gate
                    buf[1] = gate
                else:
                    buf[1] = 0.0
            cuda.syncthreads()
            coef, gate, trial_end = buf[0], buf[1], buf[2] > 0.0
            cuda.syncthreads()
            traced = p[ELIGIBILITY] != 1.0
            if p[TRIAL] > 0.0 and training and s > 0 and p[HAS_EXP] > 0.0:  # the trial's sum E (``trial_update``)
                for o in range(n_out):
                    c_o = hebbian(p, xis, ze, zbar, o)
                    for j in range(t, n, threads):
                        e_oj = _fma(c_o, r[j], elig[o, j])
                        if trial_end:
                            wexp[o, j] = _fma(coef, e_oj, wexp[o, j])
                            e_oj = 0.0
                        elig[o, j] = e_oj
                coef = 0.0
            if traced and training and s > 0 and p[HAS_EXP] > 0.0:  # the eligibility trace E (``eligibility_update``)
                a = p[ELIGIBILITY]
                for o in range(n_out):
                    c_o = a * hebbian(p, xis, ze, zbar, o)
                    for j in range(t, n, threads):
                        elig[o, j] = _fma(c_o, r[j], (1.0 - a) * elig[o, j])
            if coef != 0.0 and traced:  # RMHL with the trace: W_exp += eta Phi E
                for o in range(n_out):
                    for j in range(t, n, threads):
                        wexp[o, j] = _fma(coef, elig[o, j], wexp[o, j])
            elif coef != 0.0:  # RMHL: W_exp += eta Phi h r^T
                for o in range(n_out):
                    c_o = coef * hebbian(p, xis, ze, zbar, o)
                    for j in range(t, n, threads):
                        wexp[o, j] = _fma(c_o, r[j], wexp[o, j])
            if gate > 0.0:  # RLS: k = P r, c = 1 / (1 + r.k), W += step k, P -= gate c k k^T
                # One pass over P applies the previous RLS step's pending update and sums k = P r, as on the CPU.
                # P is symmetric: thread i takes column i, so that at each j the threads touch adjacent entries.
                # Entry (i, j) and (j, i) are updated alike, as the CPU updates its upper triangle (the smaller
                # index's c), so P stays exactly symmetric and equal to the CPU's triangle.
                pend_c = sc[S_PEND_C]
                part = 0.0
                for i in range(t, n, threads):
                    ci = pend_c * pend[i]
                    ki = 0.0
                    for j in range(n):
                        if j < i:
                            pji = _fma(-(pend_c * pend[j]), pend[i], pm[j, i])
                        else:
                            pji = _fma(-ci, pend[j], pm[j, i])
                        pm[j, i] = pji
                        ki = _fma(pji, r[j], ki)
                    k[i] = ki
                    part = _fma(r[i], ki, part)
                c = 1.0 / (1.0 + block_sum(buf, t, part))
                for o in range(n_out):
                    if p[TEACHER] == TEACHER_TARGET:
                        step = -c * (z[o] - target_point[o])
                    elif p[TEACHER] == TEACHER_FILTERED:
                        step = p[KAPPA] * gate * c * zbar[o]
                    else:
                        step = p[KAPPA] * gate * c * ze[o]
                    for j in range(t, n, threads):
                        wmst[o, j] = _fma(step, k[j], wmst[o, j])
                        if p[MOVES] > 0.0:
                            wexp[o, j] = _fma(-step, k[j], wexp[o, j])
                for i in range(t, n, threads):  # P -= gate c k k^T waits for the next pass
                    pend[i] = k[i]
                if t == 0:
                    sc[S_PEND_C] = gate * c
            cuda.syncthreads()
            if t == 0:  # the feedback of the next step
                lag = s % int(p[REPLAY_LAG])
                for o in range(n_out):
                    if training:
                        fb[o] = z[o]
                        replay[lag, o] = z[o]
                    elif p[TEST_FEEDBACK] == FEEDBACK_TARGET:
                        fb[o] = target_point[o]
                    elif p[TEST_FEEDBACK] == FEEDBACK_REPLAY:
                        fb[o] = replay[lag, o]
                    else:
                        fb[o] = z[o]
            record_now = s % int(p[RECORD_EVERY]) == 0
            if record_now:
                part_e = 0.0
                part_m = 0.0
                for o in range(n_out):
                    for j in range(t, n, threads):
                        part_e = _fma(wexp[o, j], wexp[o, j], part_e)
                        part_m = _fma(wmst[o, j], wmst[o, j], part_m)
                norm_e = math.sqrt(block_sum(buf, t, part_e))
                norm_m = math.sqrt(block_sum(buf, t, part_m))
                if t == 0:
                    i = s // int(p[RECORD_EVERY])
                    for o in range(n_out):
                        rec_z[b, i, o] = z[o]
                        rec_zexp[b, i, o] = ze[o]
                    rec_hand[b, i, 0] = hand[0]
                    rec_hand[b, i, 1] = hand[1]
                    rec_nexp[b, i] = norm_e
                    rec_nmst[b, i] = norm_m
                    rec_gate[b, i] = sc[S_GATE]
                    for q in range(plant_state.size):
                        rec_plant[b, i, q] = plant_state[q]
            first = unit_offsets[s // n_period]  # the recorded units (``kernel.loop.record_units``)
            if n_units > 0 and first >= 0 and phase % int(p[UNITS_EVERY]) == 0:
                i = first + phase // int(p[UNITS_EVERY])
                for u in range(t, n_units, threads):
                    rec_rates[b, i, u] = r[units[u]]
                    if p[RECORDS_STATES] > 0.0:
                        rec_states[b, i, u] = x[units[u]]
            if t == 0:
                for o in range(n_out):
                    if not abs(z[o]) <= p[BOUND]:
                        sc[S_DIVERGED] = s
            cuda.syncthreads()
            if sc[S_DIVERGED] >= 0.0:
                return

    return run_batch


_KERNELS = {}


def kernel(threads: int, plant_step=None):
    """The kernel for blocks of ``threads`` threads (and a user's ``plant_step``), compiled once per process."""
    key = (threads, getattr(plant_step, "py_func", plant_step))
    if key not in _KERNELS:
        _KERNELS[key] = make_kernel(threads, plant_step)
    return _KERNELS[key]


__all__ = ["kernel", "pack_params", "jump_rows", "elementary"]
