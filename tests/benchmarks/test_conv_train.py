"""conv_train's cross-check: both libraries agree from the same weights, and a disagreement
is caught (the benchmark's --quick form then fails, and with it tests/benchmarks/test_smoke)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "benchmarks"))
import conv_train  # noqa: E402


@pytest.mark.torch
def test_the_cross_check_passes_on_the_same_weights_and_fails_on_others():
    pytest.importorskip("torch")
    assert conv_train.disagreements(conv_train.cross_check("lenet")) == []
    assert set(conv_train.disagreements(conv_train.cross_check("lenet", perturb=1e-3))) == {
        "loss_float32", "loss_float64", "grad_float64"}
