"""Named runs that together take every branch of the compiled loop.

Shared by ``kernel/test_reference.py`` (compiled loop against the numpy reference, ``REFERENCE_SIZE``) and
``kernel/test_nojit.py`` (the loop interpreted, under coverage, against the compiled loop, ``INTERPRETED_SIZE``).
A case is an experiment name and ``SECTION.KEY=VALUE`` overrides applied after the size, so a case may
change the size too. Only public config keys are used: the cases outlive any restructuring of the loop.

The matrix crosses the two presets, every manipulation kind (with start and stop inside the run) and
every rule on Task 1 and on the three-joint arm with costs; the feature cases add what the matrix does
not reach: other targets, several segments, the state input, the moving transfer, a stalled adaptive
threshold, the test feedback modes, divergence, an odd N, downsampled records.
"""

from __future__ import annotations

# 100 neurons, a 100-step period, 3 training and 2 test periods (the replay wraps around once).
REFERENCE_SIZE = ("network.n_neurons=100", "task.duration_ms=20", "schedule.n_train_trials=3",
                  "schedule.n_test_trials=2", "schedule.replay_lag_trials=1", "recording.record_every=1")
# 24 neurons and a 20-step period (2 RLS steps a period): the interpreted loop is ~1000x slower.
INTERPRETED_SIZE = ("network.n_neurons=24", "task.duration_ms=4", "schedule.n_train_trials=3",
                    "schedule.n_test_trials=2", "schedule.replay_lag_trials=1", "recording.record_every=1")

GATE_OPEN = ("rule.transfer_threshold=10.0",)  # ebar stays below 10: every RLS step transfers
ARM3_COSTS = ("task.effector='arm'", "task.arm_lengths=[1.8,1.2,0.6]", "task.costs=[0.1,0.05,0.0]",
              "rule.phi='odd'", "rule.supervisor='filtered'", "schedule.test_feedback='replay'")
ARM2 = ("task.effector='arm'", "task.arm_lengths=[1.8,1.8]", "rule.phi='odd'", "rule.supervisor='filtered'",
        "rule.output_filter=0.1", "rule.psi_prefactor=0.01", "rule.psi_exponent=0.2")
ARM5 = ("task.effector='arm'", "task.arm_lengths=[1.0,0.8,0.8,0.6,0.4]", "rule.phi='odd'",
        "rule.supervisor='filtered'", "task.costs=[0.1,0.05,0.02,0.0,0.0]")

ARM_DYNAMICS = ("task.effector='arm_dynamics'", "task.target_scale=144.734", "rule.phi='odd'",
                "rule.supervisor='filtered'")


def manipulations(*entries: str) -> str:
    """The override of the manipulation schedule, from TOML inline-table bodies."""
    return "manipulations=[" + ", ".join("{" + e + "}" for e in entries) + "]"


# Every kind switches on and (but switch_target) off inside the training phase of both sizes.
MANIPULATIONS = {
    "none": (),
    "dopamine": (manipulations('kind="dopamine", start=1, stop=2, value=0.3'),),
    "exploration_gain": (manipulations('kind="exploration_gain", start=0.5, stop=2, value=2.5'),),
    "reward_bias": (manipulations('kind="reward_bias", start=1, stop=3, value=0.02'),),
    "lesion_exploratory": (manipulations('kind="lesion_exploratory", start=1, stop=2.5'),),
    "block_transfer": (manipulations('kind="block_transfer", start=2, stop=14, unit="ms"'),),
    "switch_target": (manipulations('kind="switch_target", start=2, target="circle"'),),
}
# On Task 1 robust runs the stall check (inert under the open gate) and nothing else; the arm shows its
# other changes: joint normalisation, the moving transfer and the movement cost.
PRESETS = ("faithful", "robust")
RULE_TASKS = {  # FORCE needs the target output, so it has no arm task
    "force-task1": ("task1-force", ()),
    "rmhl-task1": ("task1-rmhl", ()),
    "supertrex-task1": ("task1-supertrex", GATE_OPEN),
    "rmhl-arm3": ("task1-rmhl", ARM3_COSTS),
    "supertrex-arm3": ("task1-supertrex", ARM3_COSTS + GATE_OPEN),
}


def matrix_cases() -> dict[str, tuple[str, tuple[str, ...]]]:
    """preset x manipulation x rule-and-task, keyed 'preset-manipulation-rule-task'."""
    return {f"{preset}-{manip}-{rule_task}": (name, (f"preset='{preset}'",) + extra + MANIPULATIONS[manip])
            for preset in PRESETS for manip in MANIPULATIONS for rule_task, (name, extra) in RULE_TASKS.items()}


# exploration_gain 10 in periods 0 and 2 makes them clearly worse: period 1 is the best, period 2 stalls,
# and in period 3 the threshold relaxes from 0.01 to 2 x period 1's mean error, which opens the gate.
STALL = ("preset='robust'", "schedule.n_train_trials=4", "schedule.n_test_trials=1", "rule.transfer_threshold=0.01",
         manipulations('kind="exploration_gain", start=0, stop=1, value=10.0',
                       'kind="exploration_gain", start=2, stop=3, value=10.0'))

FEATURE_CASES = {
    "lemniscate": ("task1-supertrex", GATE_OPEN + ("task.target='lemniscate'",)),
    "lissajous-force": ("task1-force", ("task.target='lissajous'",)),
    "arm2-soft-gate-autonomous": ("task1-supertrex", ARM2 + ("schedule.test_feedback='autonomous'",
                                                             "rule.transfer_threshold=3.0", "rule.gate_steepness=2.0")),
    "arm2-robust-copies": ("task1-supertrex", ARM2 + GATE_OPEN + ("preset='robust'",
                                                                  "schedule.test_feedback='replay'")),
    "arm5-robust-autonomous": ("task1-supertrex", ARM5 + GATE_OPEN + ("preset='robust'",
                                                                      "schedule.test_feedback='autonomous'")),
    "arm5-rmhl-lissajous": ("task1-rmhl", ARM5 + ("task.target='lissajous'", "schedule.test_feedback='replay'")),
    "state-input-task1": ("task1-supertrex", GATE_OPEN + ("network.state_input=true",
                                                          "schedule.test_feedback='autonomous'")),
    "state-input-arm2-rmhl": ("task1-rmhl", ARM2 + ("network.state_input=true", "schedule.test_feedback='autonomous'")),
    "move-task1": ("task1-supertrex", GATE_OPEN + ("rule.transfer='move'", "rule.supervisor='filtered'")),
    "move-arm2": ("task1-supertrex", ARM2 + GATE_OPEN + ("rule.transfer='move'", "schedule.test_feedback='replay'")),
    "joints-scripts-cost-autonomous": ("task1-supertrex", ARM3_COSTS + GATE_OPEN + (
        "rule.exploratory_normalisation='joints'", "schedule.test_feedback='autonomous'")),
    "movement-cost-rmhl-autonomous": ("task1-rmhl", ARM3_COSTS + ("task.cost_signal='movement'",
                                                                  "schedule.test_feedback='autonomous'")),
    "adaptive-threshold-stall": ("task1-supertrex", STALL),
    "adaptive-threshold-stall-soft-gate": ("task1-supertrex", STALL + ("rule.gate_steepness=20.0",)),
    "lesion-at-test-rmhl": ("task1-rmhl", (manipulations('kind="lesion_exploratory", start=3'),)),
    "lesion-at-test-supertrex": ("task1-supertrex", GATE_OPEN + (manipulations('kind="lesion_exploratory", start=3'),)),
    "switch-target-in-test-force": ("task1-force", (manipulations('kind="switch_target", start=3.5, stop=4.5, '
                                                                  'target="lemniscate"'),)),
    "replay-lag-clamped": ("task1-rmhl", ("schedule.test_feedback='replay'", "schedule.replay_lag_trials=5",
                                          "schedule.n_test_trials=4")),
    "odd-n-no-noise-rls-every-3": ("task1-supertrex", GATE_OPEN + (
        "network.n_neurons=25", "network.noise_amplitude=0.0", "rule.rls_every=3")),
    "record-every-7": ("task1-supertrex", GATE_OPEN + ("recording.record_every=7",)),
    # Bounds the output crosses at both sizes: FORCE's after its first RLS step, SUPERTREX's on its exploration.
    "diverges-force": ("task1-force", ("recording.divergence_bound=0.05",)),
    "diverges-supertrex": ("task1-supertrex", GATE_OPEN + ("recording.divergence_bound=0.03",)),
}

# Where the compiled loop disagrees with the specification: each case shows it at a definite step.
# Fixed, and kept as feature cases (below): 'force-move' (the moving transfer ran in FORCE's RLS step and
# reported a non-zero exploratory readout for FORCE) and 'adaptive-threshold-first-period' (the first
# period's average left out step 0's error but divided by the whole period).
FEATURE_CASES.update({
    # the state signals: a function of the phase, the hand of the previous step, the target point
    **{f"state-{kind}": ("task1-supertrex", GATE_OPEN + ("network.state_input=true", f"network.state_signal='{kind}'",
                                                         "network.state_amplitude=0.7", "network.state_harmonics=2",
                                                         "schedule.test_feedback='autonomous'"))
       for kind in ("phase", "biased-phase", "harmonics", "ramp", "hand", "target")},
    "state-hand-arm": ("task1-rmhl", ARM2 + ("network.state_input=true", "network.state_signal='hand'",
                                            "schedule.test_feedback='autonomous'")),
    "state-target-switch": ("task1-supertrex", GATE_OPEN + (
        "network.state_input=true", "network.state_signal='target'",
        "manipulations=[{kind='switch_target', start=2, target='circle'}]")),
    # recorded units with their states: the recording stage runs, and changes nothing the reference sees
    "recording": ("task1-supertrex", ("recording.n_units=5", "recording.units_every=2", "recording.record_states=true",
                                      "recording.units_window=[0, 2]")),
    "force-move": ("task1-force", ("rule.transfer='move'",)),
    # a user's plant with a state (tests/plant_cases.py): its own loop, its state recorded
    "user-plant": ("task1-supertrex", GATE_OPEN + ("task.effector='plant_cases:POINT_MASS'", "task.plant.mass=0.02",
                                                   "schedule.test_feedback='autonomous'")),
    # the dynamical arm (plants.arm_dynamics): its state recorded; strong torques, no viscosity and limits just
    # outside the butterfly's postures drive it into its joint limits (at REFERENCE_SIZE)
    "arm-dynamics-rmhl": ("task1-rmhl", ARM_DYNAMICS + ("schedule.test_feedback='autonomous'",)),
    # with a joint stiffness (task.plant.k1, k2) toward the resting posture and, at the elbow, another angle
    "arm-dynamics-stiffness-rmhl": ("task1-rmhl", ARM_DYNAMICS + ("task.plant={k1=0.5, k2=0.3, rest2=-1.5}",
                                                                  "schedule.test_feedback='autonomous'")),
    "arm-dynamics-supertrex-limits": ("task1-supertrex", ARM_DYNAMICS + GATE_OPEN + (
        "task.plant={torque_scale=20000.0, b11=0.0, b12=0.0, b21=0.0, b22=0.0, lo1=0.55, hi1=1.3, lo2=-2.1, "
        "hi2=-1.45}", "schedule.test_feedback='replay'")),
    # the effort cost on the command, with and without movement costs
    "effort-cost-arm-dynamics-rmhl": ("task1-rmhl", ARM_DYNAMICS + ("task.effort_cost=0.002",
                                                                    "schedule.test_feedback='autonomous'")),
    "effort-cost-arm3-supertrex": ("task1-supertrex", ARM3_COSTS + GATE_OPEN + ("task.effort_cost=0.05",)),
    # correlated exploration, on the dynamical arm and with a lesion that keeps drawing it
    "exploration-filter-arm-dynamics-supertrex": ("task1-supertrex", ARM_DYNAMICS + GATE_OPEN + (
        "rule.exploration_filter=0.05", "schedule.test_feedback='autonomous'")),
    "exploration-filter-lesion-rmhl": ("task1-rmhl", ("rule.exploration_filter=0.3",
                                                      manipulations('kind="lesion_exploratory", start=1, stop=2'))),
    # the eligibility trace in place of the step's Hebbian term, with a slower reward baseline; and under a lesion
    # that keeps the trace running
    "eligibility-arm-dynamics-rmhl": ("task1-rmhl", ARM_DYNAMICS + (
        "rule.eligibility_filter=0.05", "rule.error_filter=0.02", "schedule.test_feedback='autonomous'")),
    "eligibility-correlated-supertrex": ("task1-supertrex", GATE_OPEN + (
        "rule.eligibility_filter=0.1", "rule.exploration_filter=0.3",
        manipulations('kind="lesion_exploratory", start=1, stop=2'))),
    # the reward against a baseline per step of the period; with the exploration itself as the Hebbian term,
    # traced and correlated on the dynamical arm, and plain under SUPERTREX's open gate
    "phase-baseline-arm-dynamics-rmhl": ("task1-rmhl", ARM_DYNAMICS + (
        "rule.phase_baseline=0.5", "rule.hebbian_term='perturbation'", "rule.eligibility_filter=0.05",
        "rule.exploration_filter=0.1", "schedule.test_feedback='autonomous'")),
    "phase-baseline-supertrex": ("task1-supertrex", GATE_OPEN + ("rule.phase_baseline=1.0",
                                                                 "rule.hebbian_term='perturbation'")),
    # the trial-based form: 5-step trials (20 a 100-step period), on the dynamical arm with correlated exploration,
    # and under a lesion that keeps summing
    "trial-arm-dynamics-rmhl": ("task1-rmhl", ARM_DYNAMICS + (
        "rule.trial_ms=1.0", "rule.phase_baseline=0.5", "rule.hebbian_term='perturbation'",
        "rule.exploration_filter=0.1", "schedule.test_feedback='autonomous'")),
    "trial-lesion-supertrex": ("task1-supertrex", GATE_OPEN + (
        "rule.trial_ms=2.0", "rule.phase_baseline=1.0", manipulations('kind="lesion_exploratory", start=1, stop=2'))),
    "adaptive-threshold-first-period": (
        "task1-supertrex", ("rule.transfer_threshold=0.01", "rule.adaptive_threshold=2.0", "rule.gate_steepness=20.0")),
})
