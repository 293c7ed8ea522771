"""The GPU engine (``kernel.device``, ``simulation.on_device``) against the CPU loop, on tiny runs.

In the default test run the kernel runs in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set in conftest):
every thread a Python thread, the same kernel source. The device draws the CPU's random numbers (PCG64 streams
jumped per thread, ``kernel.streams``), so a run agrees with the CPU's to rounding: its sums run in another order.
"""

import sys

import numpy as np
import pytest

from reservoir_motor import load_experiment, simulate
from reservoir_motor.errors import ConfigError
from reservoir_motor.kernel import streams

pytest.importorskip("numba.cuda")
from reservoir_motor.simulation.on_device import device_provenance, unsupported  # noqa: E402
from reservoir_motor.simulation.simulate import simulate_group  # noqa: E402

TINY = ["network.n_neurons=20", "task.duration_ms=6", "schedule.n_train_trials=2", "schedule.n_test_trials=1",
        "schedule.replay_lag_trials=1", "recording.record_every=1"]
DEVICE = device_provenance()["device"]  # "numba CUDA simulator" in the default test run
THREADS = 4  # more units than threads: every thread takes several, and the tree has two levels
TRACES = ("z", "z_exploratory", "hand", "error", "distance", "norm_mastery", "norm_exploratory", "gate",
          "plant_state")


def assert_agrees(cpu, gpu, keys):
    """Every trace of ``keys`` equal in shape and within 1e-9 relative (1e-12 of its largest value absolute)."""
    for key in keys:
        a, b = cpu.traces[key], gpu.traces[key]
        scale = max(1.0, float(np.abs(a).max())) if a.size else 1.0
        assert a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12 * scale), key


@pytest.fixture(autouse=True, scope="module")
def quick_thread_switches():
    """The simulator's threads meet at every barrier; Python's default 5 ms switch interval makes each meeting
    slow. A shorter one changes no number."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def test_device_streams_draw_numpys_numbers_from_any_offset():
    rng = np.random.Generator(np.random.PCG64(2026))
    state, inc = streams.state_of(rng)
    want = rng.random(200)
    table = streams.jump_table([1, 7, 200], inc)
    hi, lo = streams.split(state)
    got = []
    for _ in range(200):
        hi, lo = streams.affine(hi, lo, *table[0])
        got.append(streams.to_unit(streams.output(hi, lo)))
    assert got == list(want)
    assert streams.to_unit(streams.output(*streams.affine(*streams.split(state), *table[1]))) == want[6]
    assert streams.affine(*streams.split(state), *table[2]) == (hi, lo)  # 200 draws on, in one jump
    with pytest.raises(ValueError, match="only goes forward"):
        streams.jump(-1, inc)


OPEN = "rule.transfer_threshold=5"  # SUPERTREX's gate opens at this size


DYNAMICAL = ("task.effector='arm_dynamics'", "task.arm_lengths=[]", "task.target_scale=144.734",
             "task.plant={k1=0.5, k2=0.3}")  # with a joint stiffness


USER = ["task.effector='plant_cases:POINT_MASS'", "schedule.test_feedback='autonomous'"]  # tests/plant_cases.py
TRIALS = ("rule.phase_baseline=0.5", "rule.trial_ms=0.6")  # 3-step trials: 10 a period
EVERYTHING = (OPEN, "network.state_input=true", "network.state_signal='harmonics'", "rule.exploration_filter=0.2",
              "rule.adaptive_threshold=2.0", "rule.eligibility_filter=0.1", "rule.phase_baseline=0.5",
              "rule.hebbian_term='perturbation'", "recording.n_units=3",
              "recording.units_every=3", "recording.record_states=true")


@pytest.mark.parametrize("name, extra", [("task1-force", ()), ("task1-rmhl", ()), ("task1-supertrex", (OPEN,)),
                                         ("task1-supertrex", (OPEN, "schedule.test_feedback='replay'")),
                                         ("task2-supertrex", (OPEN,)),  # the kinematic arm
                                         ("task3-rmhl", ("task.cost_signal='movement'", "task.effort_cost=0.01")),
                                         ("task2-supertrex", (OPEN,) + DYNAMICAL),
                                         ("task1-rmhl", TRIALS),  # the trial-based form
                                         ("task1-supertrex", EVERYTHING),  # state input, correlated, trace, ...
                                         ("task2-rmhl", ("network.state_input=true", "network.state_signal='hand'")),
                                         ("task1-force", ("network.state_input=true",
                                                          "network.state_signal='target'")),
                                         ("task1-supertrex", (OPEN, *USER))])  # a user's plant, with a state
def test_device_run_agrees_with_the_cpu(name, extra):
    config = load_experiment(name, TINY + list(extra))
    cpu = simulate(config, 5)
    gpu = simulate_group([dict(config=config, seed=5)], device="cuda", threads=THREADS)[0]
    assert_agrees(cpu, gpu, TRACES)
    if cpu.activity is not None:  # the recorded units
        assert np.allclose(cpu.activity.rates, gpu.activity.rates, rtol=1e-6, atol=1e-7)
        assert cpu.activity.rates.shape == gpu.activity.rates.shape and cpu.activity.rates.size
        assert np.allclose(cpu.activity.states, gpu.activity.states, rtol=1e-6, atol=1e-7)
    for key in ("w_mastery", "w_exploratory"):
        assert np.allclose(cpu.weights[key], gpu.weights[key], rtol=1e-9, atol=1e-15), key
    assert gpu.deviation == pytest.approx(cpu.deviation, rel=1e-9)
    assert gpu.provenance["device"] == DEVICE
    moved = "norm_exploratory" if "rmhl" in name else "norm_mastery"
    assert cpu.traces[moved].max() > 0  # it learned: the comparison is not of zeros
    if OPEN in extra:
        assert cpu.traces["gate"].max() > 0.5


MANIPULATED = [[{"kind": "lesion_exploratory", "start": 2}], [{"kind": "dopamine", "value": 0.3}],
               [{"kind": "block_transfer", "start": 1}, {"kind": "reward_bias", "value": 0.01},
                {"kind": "exploration_gain", "value": 2.0}],
               [{"kind": "switch_target", "start": 2, "target": "circle"}]]


def test_device_manipulated_runs_agree_with_the_cpu():
    """Every kind of manipulation (``kinds.MANIPULATIONS``), one batch, each run against the CPU's."""
    from reservoir_motor import ExperimentConfig, kinds

    assert {m["kind"] for ms in MANIPULATED for m in ms} == set(kinds.MANIPULATIONS)
    control = load_experiment("task1-supertrex", TINY + [OPEN]).to_dict()
    configs = [ExperimentConfig.from_dict({**control, "manipulations": ms}) for ms in MANIPULATED]
    gpu = simulate_group([dict(config=c, seed=2) for c in configs], device="cuda", threads=THREADS)
    for config, result in zip(configs, gpu, strict=True):
        cpu = simulate(config, 2)
        assert_agrees(cpu, result, TRACES + ("target",))
    assert len({round(r.deviation, 12) for r in gpu}) == len(gpu)  # the manipulations changed the runs


def test_device_batch_of_seeds_and_rules_is_each_runs_own():
    """Runs of one batch (two networks, three rules, two plants with 2 and 3 outputs) each give what they give alone
    on the CPU."""
    runs = [(load_experiment("task1-force", TINY), 5), (load_experiment("task1-rmhl", TINY), 5),
            (load_experiment("task1-force", TINY), 6), (load_experiment("task3-supertrex", TINY), 5)]
    gpu = simulate_group([dict(config=c, seed=s) for c, s in runs], device="cuda", threads=THREADS)
    for (config, seed), result in zip(runs, gpu, strict=True):
        assert result.deviation == pytest.approx(simulate(config, seed).deviation, rel=1e-9)
    assert gpu[0].deviation != gpu[2].deviation


def test_device_refuses_what_it_does_not_cover_in_one_line():
    from reservoir_motor.simulation.on_device import device_memory_refusal

    config = load_experiment("task1-force", TINY)
    assert unsupported(config) is None
    with pytest.raises(ConfigError, match=r"^runs\[1\]: task.effector = 'plant_cases:POINT_MASS' is not allowed "
                                          r"in a batch with 'arm' on the device: a user's plant is compiled"):
        simulate_group([dict(config=load_experiment("task2-rmhl", TINY), seed=0),
                        dict(config=load_experiment("task1-rmhl", TINY + USER), seed=0)], device="cuda",
                       threads=THREADS)
    why = device_memory_refusal([config] * 3, free=1000)
    assert why.startswith("3 runs need about ") and why.endswith("sweep --device cuda makes batches that fit)")
    assert device_memory_refusal([config] * 3, free=10**9) is None
    with pytest.raises(ValueError, match="threads = 6 is not allowed: must be a power of two"):
        simulate_group([dict(config=config, seed=0)], device="cuda", threads=6)
    with pytest.raises(ValueError, match="device = 'gpu' is not allowed: must be 'cpu' or 'cuda'"):
        simulate(config, 0, device="gpu")


def test_device_checkpoints_are_captured_and_continued_as_on_the_cpu():
    """A run that keeps a checkpoint hands it over as the CPU's; the device continues a checkpoint (its own or the
    CPU's) to the uninterrupted run's numbers; runs of unequal lengths share a batch."""
    from reservoir_motor import ExperimentConfig

    config = load_experiment("task1-supertrex", TINY + [OPEN, "recording.checkpoints=[2]"])
    cpu = simulate(config, 3)
    gpu, longer = simulate_group([dict(config=config, seed=3),
                                  dict(config=load_experiment("task1-force", TINY + ["schedule.n_train_trials=4"]),
                                       seed=3)], device="cuda", threads=THREADS)
    assert longer.metrics["n_steps"] > gpu.metrics["n_steps"]
    assert longer.deviation == pytest.approx(simulate(longer.config, 3).deviation, rel=1e-9)
    a, b = cpu.checkpoints[2], gpu.checkpoints[2]
    upper = np.triu(a.state["P"])  # all the CPU keeps of P; the device keeps it whole, symmetric
    assert a.step == b.step and np.allclose(upper, np.triu(b.state["P"]), rtol=1e-9, atol=1e-15)
    assert np.array_equal(b.state["P"], b.state["P"].T)
    assert a.streams == b.streams  # the random streams stand where the CPU's do
    # continued under a config whose test differs from step 2 on: the device from either checkpoint
    test = ExperimentConfig.from_dict({**config.to_dict(), "schedule": {**config.to_dict()["schedule"],
                                                                       "test_feedback": "target"}})
    cpu_on = simulate(test, 3, start=a)
    for start in (a, b):
        gpu_on = simulate_group([dict(config=test, seed=3, start=start)], device="cuda", threads=THREADS)[0]
        assert_agrees(cpu_on, gpu_on, TRACES)
        assert int(gpu_on.provenance["continued_from_period"]) == 2


def test_device_without_a_gpu_is_refused_in_one_line(tmp_path):
    """Outside the simulator, on a machine without a CUDA GPU (CI, this project's machines), --device cuda stops with
    one line and status 2 before anything runs."""
    import os
    import shutil
    import subprocess

    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has a GPU")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    proc = subprocess.run([sys.executable, "-m", "reservoir_motor.cli", "run", "task1-force", "--device", "cuda",
                           "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == ["reservoir-motor: error: device='cuda' is not allowed here: numba "
                                                "finds no CUDA GPU and driver (NUMBA_ENABLE_CUDASIM=1 runs numba's "
                                                "CUDA simulator instead: slow, for tests)"]
    assert not list(tmp_path.iterdir())


def test_device_result_file_reads_like_any_other(tmp_path):
    from reservoir_motor import load_result

    config = load_experiment("task1-force", TINY)
    result = simulate_group([dict(config=config, seed=1)], device="cuda", threads=THREADS)[0]
    back = load_result(result.save(tmp_path))
    assert back.provenance["device"] == DEVICE and back.provenance["numba_cuda_version"]
    assert np.array_equal(back.traces["z"], result.traces["z"]) and back.deviation == result.deviation
