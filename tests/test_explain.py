"""explain: the seeds' numbers exactly, f(1-f) at the sigmoid, shared values, broadcasts,
inf/nan warnings, and agreement with .grad."""
import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.autograd import grad_mode
from chainrule.explain import HEADER, backward_flows, summarize
from chainrule.expression import parse_expression


def _seed_trace():
    program = parse_expression("y_hat = w*x; s = y_hat - y; loss = s^2",
                               {"w": 1, "x": 1, "y": 2}, wrt=["w"])
    return chainrule.explain(program.output, program.names)


def test_seed_example_forward_and_backward_per_gate():
    x, y = chainrule.tensor(1.0, name="x"), chainrule.tensor(2.0, name="y")
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    trace = chainrule.explain((w * x - y) ** 2)
    assert [r.op for r in trace.rows] == ["PowScalar(2)", "Sub", "Mul"]
    assert [r.symbol for r in trace.rows] == ["x²", "−", "×"]
    assert [float(r.forward) for r in trace.rows] == [1.0, -1.0, 1.0]
    assert [float(r.upstream) for r in trace.rows] == [1.0, -2.0, -2.0]
    assert [float(list(r.passed.values())[0]) for r in trace.rows] == [-2.0, -2.0, -2.0]
    assert float(trace.leaf_grads["w"]) == -2.0
    # unnamed intermediates are named after the gate that made them, numbered in backprop order
    assert trace.rows[0].inputs == ["Sub#2"] and trace.rows[1].inputs == ["Mul#3", "y"]
    data = trace.to_dict()
    assert data["rows"][2]["passed_on"] == {"w": -2.0}
    assert trace.to_markdown().splitlines()[2].startswith("| step | gate | op |")


def test_seed_names_and_only_w_asks_for_a_gradient():
    trace = _seed_trace()
    assert [(r.step, r.symbol, r.output, r.inputs) for r in trace.rows] == [
        (1, "x²", "loss", ["s"]), (2, "−", "s", ["ŷ", "y"]), (3, "×", "ŷ", ["w", "x"])]
    assert [list(r.local) for r in trace.rows] == [["s"], ["ŷ"], ["w"]]   # x, y: data
    assert list(trace.leaf_grads) == ["w"]
    lines = trace.to_text().splitlines()
    assert lines[0] == HEADER and "upstream" in HEADER and "× local" in HEADER
    assert lines[2].split() == ["1", "x²", "PowScalar(2)", "loss", "s", "1", "1", "s:", "-2",
                                "s:", "-2"]
    assert lines[-1] == "leaf gradients: w = -2"


def test_trace_is_recorded_by_the_engine_tracer_and_restored():
    seen = []

    class Spy:
        def on_node(self, fn, upstream, passed):
            seen.append(fn.op_name())

        def on_leaf(self, leaf, g):
            pass
    grad_mode.state.tracer = Spy()
    try:
        trace = _seed_trace()            # explain swaps in its recorder, then puts Spy back
        assert grad_mode.state.tracer.__class__ is Spy
    finally:
        grad_mode.state.tracer = None
    assert seen == [] and len(trace.rows) == 3


def test_a_value_used_twice_shows_both_contributions():
    program = parse_expression("s = w - y; loss = s*s", {"w": 1, "y": 2}, wrt=["w"])
    trace = chainrule.explain(program.output, program.names)
    first, second = trace.rows
    assert first.inputs == ["s (input 1)", "s (input 2)"]
    assert [float(v) for v in first.passed.values()] == [-1.0, -1.0]
    assert [float(c) for c in second.contributions] == [-1.0, -1.0]
    assert float(second.upstream) == -2.0
    assert "-2 = -1 + -1" in trace.to_text()
    cube = parse_expression("w*w*w", {"w": 2})
    assert "w = 12 (= 4 + 4 + 4)" in chainrule.explain(cube.output, cube.names).to_text()


def test_a_broadcast_scalar_shows_its_per_element_local_derivative_and_the_sum():
    w = chainrule.tensor(1.0, dtype="float64", requires_grad=True, name="w")
    x = chainrule.tensor([1.0, 2.0, 3.0], dtype="float64", name="x")
    trace = chainrule.explain((w * x).sum())
    mul = trace.rows[1]
    np.testing.assert_array_equal(mul.local["w"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mul.per_element["w"], [1.0, 2.0, 3.0])
    assert float(mul.passed["w"]) == 6.0
    assert "w: sum of [1, 2, 3] = 6" in trace.to_text()


def test_no_negative_zeros():
    w = chainrule.tensor(0.0, dtype="float64", requires_grad=True, name="w")
    text = chainrule.explain(-(w * 3.0) * 0.0 + w).to_text()
    assert "-0" not in text.replace("-0.", "")
    assert summarize(-0.0) == "0" and summarize(np.array([-0.0, 1.0])) == "[0, 1]"


def test_inf_and_nan_are_shown_with_a_warning():
    program = parse_expression("log(w - 1)", {"w": 1})
    trace = chainrule.explain(program.output, program.names)
    assert float(trace.rows[0].forward) == -np.inf
    assert trace.warnings[0] == "gate 1 (log Log) computes -inf in the forward pass"
    assert "warning: gate 1 (log Log) computes -inf" in trace.to_text()
    assert trace.to_dict()["warnings"] == trace.warnings


def test_sigmoid_gate_shows_f_times_one_minus_f():
    w = chainrule.tensor([2.0, -3.0, -3.0], dtype="float64", requires_grad=True, name="w")
    x = chainrule.tensor([-1.0, -2.0], dtype="float64", name="x")
    f = chainrule.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    row = chainrule.explain(f).rows[0]
    assert row.op == "Sigmoid" and row.symbol == "σ"
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


def test_backward_flows_gives_every_edge_its_gradient():
    w = chainrule.tensor(1.0, requires_grad=True)
    rows, edges, leaves = backward_flows((w * 1.0 - 2.0) ** 2)
    assert sorted(float(g) for g in edges.values()) == [-2.0, -2.0, -2.0]
    assert [float(g) for g in leaves.values()] == [-2.0] and w.grad is None


def test_explain_needs_a_graph():
    with pytest.raises(chainrule.GraphError, match="no graph"):
        chainrule.explain(chainrule.tensor(1.0))
