"""Nodes keep their inputs' shapes only when some input with an edge differs from the
output's shape (a broadcast, a reduction): the engine then sums gradients back to them."""
import numpy as np

import chainrule


def test_same_shaped_inputs_keep_no_shapes_and_broadcast_ones_do():
    x = chainrule.randn(3, 4, requires_grad=True)
    b = chainrule.randn(4, requires_grad=True)
    assert (x * 2.0).grad_fn.input_shapes is None          # the scalar has no edge
    assert chainrule.tanh(x).grad_fn.input_shapes is None
    assert (x + x).grad_fn.input_shapes is None
    assert (x + b).grad_fn.input_shapes == ((3, 4), (4,))
    assert x.sum().grad_fn.input_shapes == ((3, 4),)


def test_gradients_are_summed_back_either_way():
    x = chainrule.randn(3, 4, requires_grad=True)
    b = chainrule.randn(4, requires_grad=True)
    s = chainrule.tensor(2.0, requires_grad=True)
    (chainrule.tanh(x * s + b) * x).sum().backward()
    t = np.tanh(x.numpy() * 2.0 + b.numpy())
    local = (1 - t * t) * x.numpy()
    np.testing.assert_allclose(b.grad.numpy(), local.sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(s.grad.numpy(), (local * x.numpy()).sum(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), local * 2.0 + t, rtol=1e-5, atol=1e-6)
