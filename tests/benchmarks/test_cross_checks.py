"""Every benchmark's cross-check: both libraries (and the NumPy bounds) agree from the same
weights, and a disagreement is caught — the benchmark's --quick form then fails, and with it
tests/benchmarks/test_smoke.py. (conv_train and gpt_train have their own test files; the
distributed benchmark's check runs inside its MPI processes, in the smoke test.)"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "benchmarks"))

# benchmark -> the checks a perturbed PyTorch side must fail
CASES = {
    "op_overhead": {"grad_float32", "grad_float64"},
    "seed_example": {"loss_float32", "grad_float32", "loss_float64", "grad_float64"},
    "mlp_train": {"loss_float32", "grad_float64"},
    "mlp_infer": {"output_float32", "output_float64"},
    "linreg_gd": {"loss_float64", "grad_float64"},
    "memory": {"mlp_train_loss_float32", "lenet_train_loss_float32"},
    "data_loading": {"images"},
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_cross_check_passes_on_the_same_weights_and_fails_on_others(name):
    pytest.importorskip("torch")
    module = __import__(name)
    assert module.disagreements(module.cross_check()) == []
    assert set(module.disagreements(module.cross_check(1e-3))) == CASES[name]


def test_a_disagreement_fails_the_quick_run(monkeypatch, capsys):
    pytest.importorskip("torch")
    import _common
    import seed_example
    monkeypatch.setattr(_common, "IN_PROCESS", True)
    monkeypatch.setattr(seed_example, "TOLERANCE", dict.fromkeys(seed_example.TOLERANCE, -1.0))
    assert seed_example.main(quick=True) == 1
    assert "DISAGREE" in capsys.readouterr().out


def test_a_nan_is_a_disagreement():
    import _common
    assert _common.disagreements({"loss_float32": float("nan"), "grad_x": 0.0},
                                 {"loss_float32": 1e-5, "grad_": 1e-9}) == ["loss_float32"]
