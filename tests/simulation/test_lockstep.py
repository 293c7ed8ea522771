"""Runs that share a network advance in lockstep: J r in fixed point equals its numpy twin exactly,
every column of the block product equals the single product, and a run's numbers do not depend on what it
was grouped with, in ``simulate_group`` and in a sweep (local and on Dask), compared with ==."""

import numpy as np
import pytest
from conftest import SMALL, small
from helpers import assert_same_files, assert_same_run, lesion_file
from numba import njit
from reference import fixed_point_product

from reservoir_motor import load_experiment, simulate
from reservoir_motor.kernel import loop as K
from reservoir_motor.paper.reproduce import TABLE1
from reservoir_motor.simulation.network import fixed_point_exponent, make_network, make_streams
from reservoir_motor.simulation.simulate import simulate_group
from reservoir_motor.studies.sweep import run_sweep

spmv = njit(**K.JIT)(K._spmv.py_func)  # compiled alone with the loop's flags


@pytest.fixture(scope="module")
def network():
    return make_network(load_experiment("task1-supertrex"), make_streams(4))  # full size: N = 1000


def test_fixed_point_exponent_keeps_every_row_sum_below_2_to_the_63(network):
    e = fixed_point_exponent(network.J)
    row_l1 = abs(network.J).sum(axis=1).max()
    assert row_l1 * 4.0 * 2.0 ** e < 2.0 ** 62 <= row_l1 * 4.0 * 2.0 ** (e + 1)
    data, _, _, unscale = network.csr_arrays()
    assert unscale == 2.0 ** -e and np.array_equal(data.astype(np.float64) * unscale, network.J.data)  # exact


def test_the_fixed_point_product_equals_its_numpy_twin_and_the_float_product_to_rounding(network):
    data, indices, indptr, unscale = network.csr_arrays()
    rng = np.random.default_rng(0)
    for r in (np.tanh(rng.standard_normal(1000)), rng.uniform(-4.0, 4.0, 1000)):  # up to the rates' bound
        out = np.empty(1000)
        spmv(data, indices, indptr, r, out, unscale)
        assert np.array_equal(out, fixed_point_product(network.J, r))
        assert np.abs(out - network.J @ r).max() < 1e-14


@pytest.mark.parametrize("n_blocks", [1, 2])
def test_every_column_of_the_block_product_equals_the_single_product(network, n_blocks):
    data, indices, indptr, unscale = network.csr_arrays()
    width = K.LANES * n_blocks
    R = np.random.default_rng(n_blocks).uniform(-1.05, 1.05, (1000, width + K.LANES))  # a block beyond: untouched
    acc = np.full((1000, width + K.LANES), 7, dtype=np.int64)
    K._spmm(data, indices, indptr, R, acc, n_blocks, np.ones(1, np.uint64))
    out = np.empty(1000)
    for c in range(width):
        spmv(data, indices, indptr, np.ascontiguousarray(R[:, c]), out, unscale)
        assert np.array_equal(acc[:, c] * unscale, out), c
        assert np.array_equal(acc[:, c] * unscale, fixed_point_product(network.J, R[:, c]))
    assert (acc[:, width:] == 7).all()


def test_the_block_product_is_compiled_once_for_the_loop_s_types():
    if K.config.DISABLE_JIT:
        pytest.skip("nothing is compiled")
    assert len(K._spmm.signatures) == 1  # with the SLP vectoriser; any other call fails instead of compiling


def group_configs():
    """Rules, tasks, lengths and a divergence: seven runs of seed 2 on one network, more than ``BLOCK_MIN``."""
    shorter = ("schedule.n_train_trials=2",)
    return [small("task1-supertrex"), small("task1-rmhl"), small("task1-force", *shorter), small("task2-supertrex"),
            small("task3-rmhl"), small("task1-supertrex", "recording.divergence_bound=0.03"),
            small("task1-supertrex", 'manipulations=[{kind = "lesion_exploratory", start = 2}]')]


def test_a_group_gives_each_run_the_numbers_it_has_alone():
    configs = group_configs()
    assert len(configs) > K.BLOCK_MIN
    alone = [simulate(c, 2) for c in configs]
    assert alone[5].diverged and not alone[0].diverged  # one run leaves the group early
    grouped = simulate_group([dict(config=c, seed=2) for c in configs])
    for a, b in zip(alone, grouped, strict=True):
        assert_same_run(a, b)
    # below BLOCK_MIN (each run's own product) and in another order and company
    for a, b in zip(alone[2:0:-1], simulate_group([dict(config=c, seed=2) for c in configs[2:0:-1]]), strict=True):
        assert_same_run(a, b)


def test_a_group_continues_checkpoints_and_reports_progress_per_run():
    control, lesion = small("task1-supertrex"), small("task1-supertrex", 'manipulations=[{kind = "lesion_exploratory",'
                                                                       ' start = 3}]')
    taken = {}
    simulate(control, 1, on_checkpoint=lambda c: taken.__setitem__(c.period, c), capture_at=[3])
    ck = taken[3]
    seen = {0: [], 1: []}
    runs = [dict(config=lesion, seed=1, start=ck, progress=lambda d, n: seen[0].append(d)),
            dict(config=control, seed=1, progress=lambda d, n: seen[1].append(d))]
    grouped = simulate_group(runs)
    assert_same_run(grouped[0], simulate(lesion, 1, start=ck))
    assert_same_run(grouped[1], simulate(control, 1))
    assert seen[0][0] == ck.step and seen[1][0] == 0
    assert seen[0][-1] == seen[1][-1] == control.n_steps and seen[1] == sorted(seen[1])


def test_runs_with_another_network_cannot_join_a_group():
    with pytest.raises(ValueError, match=r"runs\[1\] \(task1-supertrex, seed 3\) does not share the network"):
        simulate_group([dict(config=small(), seed=2), dict(config=small(), seed=3)])
    with pytest.raises(ValueError, match=r"runs\[1\]"):
        other_gain = small("task1-supertrex", "network.gain=1.2")
        simulate_group([dict(config=small(), seed=2), dict(config=other_gain, seed=2)])


def test_a_lockstep_sweep_of_a_reduced_table_1_writes_the_files_of_one_run_at_a_time(tmp_path):
    experiments = [*TABLE1, lesion_file(tmp_path, start=2)]
    grouped = run_sweep(experiments, [0, 1], tmp_path / "lockstep", overrides=SMALL, workers=2, progress=False,
                        lockstep=True)
    run_sweep(experiments, [0, 1], tmp_path / "alone", overrides=SMALL, workers=2, progress=False, share=False)
    assert_same_files(tmp_path / "lockstep", tmp_path / "alone")
    # per seed the nine Table 1 runs start together (tasks 1-3: one network, built-in plants); the lesion
    # continues from its control's checkpoint afterwards
    assert sorted(s["group_size"] for s in grouped) == [1, 1] + [len(TABLE1)] * 2 * len(TABLE1)


def test_a_lockstep_sweep_on_dask_writes_the_same_files(tmp_path, dask_cluster):  # noqa: F811
    address, _ = dask_cluster
    experiments = ["task1-supertrex", "task1-rmhl", "task2-supertrex", lesion_file(tmp_path)]
    statuses = run_sweep(experiments, [0, 1], tmp_path / "dask", overrides=SMALL, scheduler=address, progress=False,
                         lockstep=True)
    assert max(s["group_size"] for s in statuses) == 3
    run_sweep(experiments, [0, 1], tmp_path / "alone", overrides=SMALL, workers=2, progress=False, share=False)
    assert_same_files(tmp_path / "dask", tmp_path / "alone")


def test_the_cli_sweep_and_outcomes_take_lockstep(tmp_path):
    from reservoir_motor.cli import main

    sets = [arg for key in SMALL for arg in ("--set", key)]
    args = ["task1-supertrex", "task1-rmhl", "task1-force", "task2-supertrex", "task2-rmhl", "task3-rmhl"]
    assert main(["sweep", *args, "--seeds", "0", "--out", str(tmp_path / "cli"), "--workers", "1", "--quiet",
                 "--lockstep", *sets]) == 0
    run_sweep(args, [0], tmp_path / "alone", overrides=SMALL, workers=1, progress=False, share=False)
    assert_same_files(tmp_path / "cli", tmp_path / "alone")
    assert main(["outcomes", str(tmp_path / "outcomes"), "--run", "--only", "L3", "--seeds", "0:2", "--workers", "1",
                 "--lockstep", *sets]) == 0
