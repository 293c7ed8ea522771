"""Golden values of small runs: they must not drift unless the model is changed on purpose.

Recorded from the compiled loop at the commit that introduced this file. If a change to the model is
intended, re-record them and say why in the commit message. The tolerance allows for the last bits of
summation order on another CPU, not for a change of behaviour.
"""

import pytest
from conftest import small

from reservoir_motor import simulate

GOLDEN = {  # rule: (deviation, sum of W_mastery, sum of W_exploratory) for seed 0
    "force": (0.6419198415108605, 0.12861513167582456, 0.0),
    "rmhl": (0.6886865029615643, 0.0, 0.0017506874945189886),
    "supertrex": (0.6886047353640136, 0.0042924051021303155, 0.0012302058797905506),
}


@pytest.mark.parametrize("rule", sorted(GOLDEN))
def test_golden_small_run_does_not_drift(rule):
    # recorded with Bernoulli connectivity, the default then
    res = simulate(small(f"task1-{rule}", "rule.transfer_threshold=0.3", "network.connectivity=bernoulli"), 0)
    deviation, w_mst, w_exp = GOLDEN[rule]
    assert res.metrics["deviation"] == pytest.approx(deviation, rel=1e-7)
    assert float(res.weights["w_mastery"].sum()) == pytest.approx(w_mst, rel=1e-6, abs=1e-12)
    assert float(res.weights["w_exploratory"].sum()) == pytest.approx(w_exp, rel=1e-6, abs=1e-12)
