"""gpt_train's cross-check: both libraries agree from the same weights, and a disagreement
is caught (the benchmark's --quick form then fails)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "benchmarks"))
import gpt_train  # noqa: E402


@pytest.mark.torch
def test_the_cross_check_passes_on_the_same_weights_and_fails_on_others():
    pytest.importorskip("torch")
    assert gpt_train.disagreements(gpt_train.cross_check()) == []
    caught = set(gpt_train.disagreements(gpt_train.cross_check(perturb=1e-3)))
    assert {"loss_float64", "grad_float64"} <= caught
