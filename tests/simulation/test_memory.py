"""A run's memory is estimated before anything is allocated: the estimate covers what a real run allocates,
and a run that cannot fit is refused in one line naming its size and the memory available."""

import tracemalloc

import pytest

from reservoir_motor import ConfigError, load_experiment, simulate
from reservoir_motor.simulation.memory import available_bytes, memory_refusal, run_bytes, size_text


@pytest.mark.parametrize("name,extra", [
    ("task1-force", []),
    ("task1-supertrex", ["network.connectivity='bernoulli'", "recording.n_units=50", "recording.record_states=true",
                         "recording.checkpoints=[1, 2]"]),
    ("task2-rmhl", ["recording.record_every=1"]),
])
def test_memory_the_estimate_covers_the_peak_of_a_real_run(name, extra):
    """numpy's allocations are traced (tracemalloc): their peak over a whole run stays below the estimate."""
    config = load_experiment(name, ["network.n_neurons=1500", "task.duration_ms=100", "schedule.n_train_trials=3",
                                    "schedule.n_test_trials=1", "schedule.replay_lag_trials=1", *extra])
    simulate(config, 0)  # compiled (or loaded from the cache) before the memory is traced
    tracemalloc.start()
    try:
        simulate(config, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = sum(run_bytes(config).values())
    assert peak <= estimate, (size_text(peak), size_text(estimate))
    assert estimate < 4 * peak + 2**24  # an estimate, not a bound far above every run


def test_memory_p_and_j_grow_as_the_network_does():
    small, large = (run_bytes(load_experiment("task1-supertrex", [f"network.n_neurons={n}"])) for n in (1000, 2000))
    assert small["P"] == 8 * 1000 * 1000 and large["P"] == 4 * small["P"]
    assert 3.9 < large["J"] / small["J"] < 4.1
    assert run_bytes(load_experiment("task1-rmhl"))["P"] == 0  # RMHL has no RLS


def test_memory_refusal_names_the_size_and_the_memory_available():
    configs = [load_experiment("task1-supertrex", ["network.n_neurons=2000"])] * 3
    need = 3 * sum(run_bytes(configs[0]).values())
    assert memory_refusal(configs, available=need) is None
    why = memory_refusal(configs, available=need - 1)
    assert why.startswith("network.n_neurons = 2000: 3 runs would need about ")
    assert f"{size_text(need - 1)} are available" in why and "\n" not in why
    assert available_bytes() > 0


def test_memory_simulate_refuses_a_run_that_cannot_fit_before_allocating():
    config = load_experiment("task1-supertrex", ["network.n_neurons=1000000000"])
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="network.n_neurons = 1000000000: the run would need about .* of "
                                              "memory .* are available"):
            simulate(config, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # nothing of the run's size was allocated
