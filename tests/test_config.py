import dataclasses
import re

import pytest

from reservoir_motor import ConfigError, ExperimentConfig, experiment_names, load_experiment
from reservoir_motor.config import SECTIONS, apply_overrides
from reservoir_motor.tomlio import dumps_toml, loads_toml

# One invalid value per field: (key, value, words the message must contain).
INVALID = [
    ("network.n_neurons", -5, "integer >= 1"),
    ("network.n_neurons", 2.5, "integer"),
    ("network.n_neurons", "abc", "integer"),
    ("network.connection_prob", 0.0, "> 0"),
    ("network.connection_prob", 1.5, "<= 1"),
    ("network.connectivity", "dense", "'sprandn', 'bernoulli'"),
    ("network.gain", -1.0, ">= 0"),
    ("network.tau_ms", 0.0, "> 0"),
    ("network.dt_ms", 20.0, "tau_ms"),
    ("network.dt_ms", -0.1, "> 0"),
    ("network.noise_amplitude", -0.1, ">= 0"),
    ("network.feedback_amplitude", "big", "number"),
    ("network.init_state_amplitude", -1.0, ">= 0"),
    ("network.rls_regularisation", 0.0, "> 0"),
    ("network.state_input", "yes", "true or false"),
    ("task.effector", "leg", "'identity', 'arm'"),
    ("task.target", "heart", "butterfly, circle, lemniscate, lissajous"),
    ("task.duration_ms", 0.0, "> 0"),
    ("task.duration_ms", 10.1, "whole number"),
    ("task.target_scale", 0.0, "> 0"),
    ("task.arm_lengths", [1.0, 1.0], "arm effector"),
    ("task.costs", [0.1, 0.1, 0.1], "one cost per output"),
    ("task.costs", [-1.0, 0.0], ">= 0"),
    ("task.cost_signal", "velocity", "'scripts', 'movement'"),
    ("rule.name", "backprop", "'force', 'rmhl', 'supertrex'"),
    ("rule.learning_rate", -1.0, ">= 0"),
    ("rule.phi", "even", "'rewarded', 'odd'"),
    ("rule.phi_gain", -5.0, ">= 0"),
    ("rule.phi_exponent", 0.0, "> 0"),
    ("rule.psi_prefactor", -0.1, ">= 0"),
    ("rule.psi_exponent", 0.0, "> 0"),
    ("rule.initial_exploration", -0.01, ">= 0"),
    ("rule.exploration_filter", 0.0, "> 0"),
    ("rule.exploration_filter", 1.5, "<= 1"),
    ("rule.eligibility_filter", 0.0, "> 0"),
    ("rule.eligibility_filter", 1.5, "<= 1"),
    ("rule.hebbian_term", "reward", "'deviation', 'perturbation'"),
    ("rule.phase_baseline", 1.5, "<= 1"),
    ("rule.trial_ms", -1.0, ">= 0"),
    ("rule.error_filter", 0.0, "> 0"),
    ("rule.error_filter", 1.5, "<= 1"),
    ("rule.output_filter", 2.0, "<= 1"),
    ("rule.supervisor", "teacher", "'raw', 'filtered'"),
    ("rule.kappa", 1.5, "<= 1"),
    ("rule.transfer_threshold", -1.0, ">= 0"),
    ("rule.gate_steepness", 0.0, "> 0"),
    ("rule.rls_every", 0, ">= 1"),
    ("schedule.n_train_trials", 0, ">= 1"),
    ("schedule.n_test_trials", -1, ">= 0"),
    ("schedule.test_feedback", "teacher", "'target', 'replay', 'autonomous'"),
    ("schedule.replay_lag_trials", 0, ">= 1"),
    ("recording.record_every", 0, ">= 1"),
    ("recording.distance_filter", 0.0, "> 0"),
    ("recording.satisfactory_below", 0.0, "> 0"),
    ("recording.divergence_bound", -1.0, "> 0"),
    ("recording.n_units", -1, "an integer >= 0 or a list of distinct unit indices"),
    ("recording.n_units", [1, 1], "a list of distinct unit indices"),
    ("recording.units_every", 0, ">= 1"),
    ("recording.units_window", "late", "'all', 'train', 'test' or a list of distinct period indices"),
    ("recording.record_states", 1, "true or false"),
    ("network.state_signal", "smell", "'phase', 'biased-phase', 'harmonics', 'ramp', 'hand', 'target'"),
    ("network.state_amplitude", -1.0, ">= 0"),
    ("network.state_harmonics", 0, ">= 1"),
    ("task.effort_cost", -0.1, ">= 0"),
    ("recording.checkpoints", [0, 2], "a list of distinct period numbers >= 1"),
    ("recording.checkpoints", [2, 2], "a list of distinct period numbers >= 1"),
    ("recording.checkpoints", 3, "a list of distinct period numbers >= 1"),
    ("rule.exploratory_normalisation", "sqrt", "'none', 'joints'"),
    ("rule.transfer", "swap", "'copy', 'move', 'move_if_redundant'"),
    ("rule.adaptive_threshold", -2.0, ">= 0"),
    ("task.plant", "heavy", "a table of parameter names and numbers"),
    ("task.plant", {"mass": "heavy"}, "a table of parameter names and numbers"),
]


def _all_keys():
    return {f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)}


def test_config_invalid_table_covers_every_field():
    assert {key for key, _, _ in INVALID} == _all_keys()


@pytest.mark.parametrize("key,value,allowed", INVALID)
def test_config_invalid_value_names_key_value_and_range(key, value, allowed):
    data = apply_overrides(load_experiment("task1-supertrex").to_dict(), [])
    section, name = key.split(".")
    data[section][name] = value
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict(data)
    message = str(info.value)
    assert key in message and allowed in message
    if not isinstance(value, list):
        assert repr(value) in message or repr(float(value)) in message


def test_config_unknown_key_and_section_are_errors():
    with pytest.raises(ConfigError, match="unknown key network.n_neuron"):
        load_experiment("task1-force", ["network.n_neuron=10"])
    with pytest.raises(ConfigError, match="unknown section"):
        ExperimentConfig.from_dict({"netwrk": {}})
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_experiment("task1-force", ["network.n_neurons"])


def test_config_force_on_arm_is_refused_with_reason():
    with pytest.raises(ConfigError, match="scalar reward"):
        load_experiment("task1-force", ["task.effector='arm'", "task.arm_lengths=[1.8, 1.8]",
                                        "schedule.test_feedback='replay'"])


def test_config_overrides_parse_toml_values():
    cfg = load_experiment("task1-rmhl", ["network.n_neurons=300", "schedule.n_train_trials=4",
                                         "task.duration_ms=1000", "rule.phi=odd"])
    assert cfg.network.n_neurons == 300 and cfg.schedule.n_train_trials == 4
    assert cfg.task.duration_ms == 1000.0 and cfg.rule.phi == "odd"
    assert cfg.n_period_steps == 5000 and cfg.n_steps == 9 * 5000


def test_config_toml_round_trip_is_identity():
    for name in experiment_names():
        cfg = load_experiment(name)
        assert ExperimentConfig.from_dict(loads_toml(dumps_toml(cfg.to_dict()))) == cfg


def test_config_bundled_experiments_match_the_scripts():
    st, rm, fo = (load_experiment(f"task1-{r}") for r in ("supertrex", "rmhl", "force"))
    for cfg in (st, rm, fo):
        assert cfg.network.n_neurons == 1000 and cfg.network.dt_ms == 0.2 and cfg.network.tau_ms == 10
        assert cfg.n_steps == 750_000 and cfg.n_train_steps == 500_000
        assert cfg.schedule.test_feedback == "target"
    assert st.rule.supervisor == "raw" and st.rule.kappa == 0.5 and st.rule.transfer_threshold == 1.5e-3
    assert st.rule.phi == rm.rule.phi == "rewarded" and st.rule.psi_prefactor == 0.025


def test_config_unknown_experiment_lists_the_known_ones():
    with pytest.raises(ConfigError, match="task1-supertrex"):
        load_experiment("task9")


def test_config_robust_preset_sets_its_rule_keys_and_refuses_conflicts():
    cfg = load_experiment("task3-supertrex", ["preset=robust"])
    assert cfg.preset == "robust" and cfg.rule.transfer == "move_if_redundant"
    assert cfg.rule.exploratory_normalisation == "joints" and cfg.rule.adaptive_threshold == 2.0
    assert cfg.task.cost_signal == "movement"
    assert load_experiment("task3-supertrex").rule.transfer == "copy"
    # the resolved config of a robust run loads back unchanged
    assert ExperimentConfig.from_dict(loads_toml(dumps_toml(cfg.to_dict()))) == cfg
    with pytest.raises(ConfigError, match="rule.transfer = 'copy' is not allowed with preset = 'robust'"):
        load_experiment("task3-supertrex", ["preset=robust", "rule.transfer=copy"])
    with pytest.raises(ConfigError, match="preset = 'fast'"):
        load_experiment("task3-supertrex", ["preset=fast"])


@pytest.mark.parametrize("kwargs,words", [
    ({"kind": "serotonin"}, "manipulation.kind = 'serotonin' is not allowed: must be one of 'dopamine'"),
    ({"kind": "dopamine", "value": -0.5}, "manipulation.value = -0.5 is not allowed: a gain must be >= 0"),
    ({"kind": "exploration_gain", "value": -1}, "manipulation.value = -1 is not allowed"),
    ({"kind": "dopamine", "unit": "s"}, "manipulation.unit = 's' is not allowed: must be one of 'periods', 'ms'"),
    ({"kind": "dopamine", "start": -1}, "manipulation.start = -1 is not allowed: must be a number >= 0"),
    ({"kind": "dopamine", "value": float("nan")}, "manipulation.value = nan is not allowed"),
    ({"kind": "switch_target"}, "switch_target needs target curve"),
    ({"kind": "lesion_exploratory", "target": "circle"}, "lesion_exploratory takes no target curve"),
])
def test_manipulation_built_in_python_is_validated(kwargs, words):
    from reservoir_motor.config import Manipulation

    with pytest.raises(ConfigError) as info:
        Manipulation(**kwargs)
    assert words in str(info.value)


def test_manipulation_built_in_python_equals_the_one_read_from_a_file():
    from reservoir_motor.config import Manipulation

    built = Manipulation(kind="dopamine", start=5, value=0.1)
    read = load_experiment("task1-supertrex", ['manipulations=[{kind="dopamine", start=5, value=0.1}]']).manipulations
    assert read == (built,)


def test_every_registered_kind_is_an_allowed_config_value_and_documented():
    from reservoir_motor import kinds
    from reservoir_motor.configref import config_reference_markdown

    text = config_reference_markdown()
    for name, kind in kinds.RULES.items():
        assert ExperimentConfig.from_dict({"rule": {"name": name}}).rule.name == name
        assert kind.doc in text
    for name, kind in kinds.MANIPULATIONS.items():
        assert f"| `{name}` | {kind.effect}" in text.replace("\\|", "|")
    for kind in kinds.EFFECTORS.values():
        assert kind.doc in text


@pytest.mark.parametrize("key,value", [("state_signal", "'hand'"), ("state_amplitude", "2.0"),
                                       ("state_harmonics", "5")])
def test_a_state_signal_setting_without_the_state_input_is_refused(key, value):
    with pytest.raises(ConfigError, match=f"network.{key} = .* has no effect without network.state_input = true"):
        load_experiment("task1-supertrex", [f"network.{key}={value}"])
    assert load_experiment("task1-supertrex", [f"network.{key}={value}", "network.state_input=true"])


@pytest.mark.parametrize("sets, why", [
    (["rule.trial_ms=0.3", "rule.phase_baseline=0.5"], "whole number of network.dt_ms = 0.2 steps"),
    (["rule.trial_ms=3.0", "rule.phase_baseline=0.5"], "divides the period of 50000 steps"),
    (["rule.trial_ms=1.0"], "needs rule.phase_baseline > 0"),
    (["rule.trial_ms=1.0", "rule.phase_baseline=0.5", "rule.eligibility_filter=0.1"], "eligibility_filter = 1"),
])
def test_a_trial_that_cannot_be_run_is_refused_in_one_line(sets, why):
    with pytest.raises(ConfigError, match=r"^rule\.trial_ms = .* is not allowed: .*" + re.escape(why)) as info:
        load_experiment("task2-rmhl", sets)
    assert "\n" not in str(info.value)
