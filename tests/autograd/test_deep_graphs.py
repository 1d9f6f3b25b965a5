"""Graphs of any depth: iterative ordering and backward, correct accumulation under reuse."""
import pytest

import chainrule


@pytest.mark.slow
def test_a_chain_of_one_million_ops_runs_backward():
    x = chainrule.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_reusing_a_node_many_times_gives_two_to_the_k():
    k = 40
    a = chainrule.tensor(1.0, dtype="float64", requires_grad=True)
    b = a
    for _ in range(k):
        b = b + b
    b.backward()
    assert a.grad.item() == 2.0 ** k


def test_diamond_graph_accumulates_every_path():
    x = chainrule.tensor(3.0, dtype="float64", requires_grad=True)
    a, b = x * 2, x * x
    (a * b + a + b).backward()          # d/dx (2x^3 + 2x + x^2) = 6x^2 + 2 + 2x
    assert x.grad.item() == 6 * 9 + 2 + 6
