"""The seeds' worked examples, asserted exactly."""
import math

import numpy as np
import pytest

import chainrule
from chainrule.autograd import numerical_grad


def test_linear_model_gradient_is_minus_two_at_every_gate():
    # y_hat = w * x, s = y_hat - y, loss = s^2 at x=1, y=2, w=1
    x, y = chainrule.tensor(1.0), chainrule.tensor(2.0)
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    y_hat = (w * x).retain_grad()
    s = (y_hat - y).retain_grad()
    loss = s ** 2
    assert (y_hat.item(), s.item(), loss.item()) == (1.0, -1.0, 1.0)
    loss.backward()
    assert s.grad.item() == -2.0          # at the square gate: 2s
    assert y_hat.grad.item() == -2.0      # at the minus gate: 1 * upstream
    assert w.grad.item() == -2.0          # at the multiply gate: x * upstream


def test_linear_model_spreadsheet_gradient_matches_backprop():
    w = chainrule.tensor(1.0, dtype="float64")
    forward = numerical_grad(lambda w: (w * 1.0 - 2.0) ** 2, w, eps=1e-4)
    central = numerical_grad(lambda w: (w * 1.0 - 2.0) ** 2, w, eps=1e-4, scheme="central")
    assert forward == pytest.approx(-2.0, abs=1e-3)   # (L(w+eps) - L(w)) / eps = -2 + eps
    assert central == pytest.approx(-2.0, abs=1e-10)


def test_sigmoid_neuron_gradients():
    w = chainrule.tensor([2.0, -3.0, -3.0], dtype="float64", requires_grad=True)
    x = chainrule.tensor([-1.0, -2.0], dtype="float64", requires_grad=True)
    f = chainrule.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
    f.backward()
    fv = 1 / (1 + math.exp(-1.0))
    local = fv * (1 - fv)
    np.testing.assert_allclose(w.grad.numpy(), [-1 * local, -2 * local, local], rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), [-0.19661, -0.39322, 0.19661], atol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), [0.39322, -0.58984], atol=1e-5)


def test_newton_method_in_one_dimension_with_two_grad_calls():
    # minimise f(x) = x^4 - 3x^2 + x from x=2: x <- x - f'(x) / f''(x)
    x = chainrule.tensor(2.0, dtype="float64", requires_grad=True)
    for _ in range(20):
        y = x ** 4 - 3 * x ** 2 + x
        (dy,) = chainrule.autograd.grad(y, x, create_graph=True)
        (d2y,) = chainrule.autograd.grad(dy, x)
        with chainrule.no_grad():
            x -= dy / d2y
    assert 4 * x.item() ** 3 - 6 * x.item() + 1 == pytest.approx(0.0, abs=1e-10)
    assert x.item() == pytest.approx(1.1309, abs=1e-4)
