"""Assertions and files shared by tests of several layers (fixtures are in ``conftest.py``)."""

from pathlib import Path

import numpy as np

from reservoir_motor import load_result

RTOL, ATOL = 1e-9, 1e-12  # the compiled loop against the numpy reference: the last bits of summation order


def assert_same(name, got, want, rtol=RTOL, every=1):
    """Arrays agree to rtol/ATOL; otherwise name the first step that differs and by how much."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != reference {want.shape}"
    bad = ~np.isclose(got, want, rtol=rtol, atol=ATOL)
    if bad.any():
        i = int(np.nonzero(bad.reshape(len(bad), -1).any(axis=1))[0][0]) if got.ndim else 0
        diff = np.abs(got - want).max()
        raise AssertionError(f"{name} differs first at step {i * every}: kernel {got[i]!r} vs reference "
                             f"{want[i]!r}; largest difference over the run {diff:.3g}")


def assert_same_run(a, b):
    """Every metric but the wall time, every trace, weight and recorded sample equal (==)."""
    def timeless(m):
        return {k: v for k, v in m.items() if k != "wall_s"}

    assert timeless(a.metrics) == timeless(b.metrics)
    for group in ("traces", "weights"):
        x, y = getattr(a, group), getattr(b, group)
        assert x.keys() == y.keys()
        for key in x:
            assert np.array_equal(x[key], y[key]), (group, key)
    assert (a.activity is None) == (b.activity is None)
    if a.activity is not None:
        assert np.array_equal(a.activity.time_ms, b.activity.time_ms)
        assert np.array_equal(np.asarray(a.activity.rates), np.asarray(b.activity.rates))
        assert np.array_equal(np.asarray(a.activity.states), np.asarray(b.activity.states))


def files(directory) -> dict:
    return {p.name: p for p in Path(directory).glob("*.h5")}


def assert_same_files(shared_dir, independent_dir):
    a, b = files(shared_dir), files(independent_dir)
    assert sorted(a) == sorted(b) and a
    for name in a:
        x, y = load_result(a[name]), load_result(b[name])
        assert_same_run(x, y)
        assert x.config == y.config and x.seed == y.seed


def lesion_file(directory, start=3):
    path = Path(directory) / f"lesion-at-{start}.toml"
    path.write_text(f'extends = "task1-supertrex"\n[[manipulations]]\nkind = "lesion_exploratory"\nstart = {start}\n')
    return str(path)
