"""explain: the seeds' numbers exactly, f(1-f) at the sigmoid, and agreement with .grad."""
import numpy as np
import pytest

import chainrule
from chainrule import nn


def test_seed_example_forward_and_backward_per_gate():
    x, y = chainrule.tensor(1.0, name="x"), chainrule.tensor(2.0, name="y")
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    trace = chainrule.explain((w * x - y) ** 2)
    assert [r.op for r in trace.rows] == ["PowScalar(2)", "Sub", "Mul"]
    assert [float(r.forward) for r in trace.rows] == [1.0, -1.0, 1.0]
    assert [float(list(r.passed.values())[0]) for r in trace.rows] == [-2.0, -2.0, -2.0]
    assert float(trace.leaf_grads["w"]) == -2.0
    data = trace.to_dict()
    assert data["rows"][2]["passed_on"] == {"w": -2.0}
    assert trace.to_markdown().startswith("| step | gate |")


def test_sigmoid_gate_shows_f_times_one_minus_f():
    w = chainrule.tensor([2.0, -3.0, -3.0], dtype="float64", requires_grad=True, name="w")
    x = chainrule.tensor([-1.0, -2.0], dtype="float64", name="x")
    f = chainrule.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    row = chainrule.explain(f).rows[0]
    assert row.op == "Sigmoid"
    value = float(row.forward)
    assert float(list(row.local.values())[0]) == pytest.approx(value * (1 - value), rel=1e-12)


def test_three_layer_mlp_trace_gives_the_same_gradients_as_backward():
    chainrule.manual_seed(0)
    model = chainrule.models.MLP(5, (8, 8, 8), 3)
    x, y = chainrule.randn(4, 5), chainrule.tensor([0, 1, 2, 1])
    loss = nn.functional.cross_entropy(model(x), y)
    trace = chainrule.explain(loss, model)
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(trace.leaf_grads[name], p.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert "<shape (8, 5), mean" in trace.to_text()          # large tensors summarised


def test_explain_needs_a_graph():
    with pytest.raises(chainrule.GraphError, match="no graph"):
        chainrule.explain(chainrule.tensor(1.0))
