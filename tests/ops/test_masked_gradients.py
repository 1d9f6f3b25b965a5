"""Gradients that an op blocks are +0.0, as PyTorch's masked kernels give them: an infinite
upstream gradient must not become ``inf * 0 = nan`` and a negative one must not become -0.0
(maximum, minimum, clamp, and max()/min() without a dim, whose gradient PyTorch fills in at
the winners; the activations' own table is in tests/nn/test_layers_vocab.py)."""
import numpy as np
import pytest

import chainrule

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

X = np.resize([-3.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 3.0, 2.0, -2.0, np.nan], 44)
Y = np.resize([1.0, -1.0, 0.0, 2.0, -0.5, 3.0, 0.5, np.nan], 44)
GY = np.resize([np.inf, -np.inf, -2.0, -0.0, 3.0, 0.5], 44)

BINARY = {
    "maximum": (chainrule.maximum, torch.maximum),
    "minimum": (chainrule.minimum, torch.minimum),
    "maximum_broadcast": (lambda a, b: chainrule.maximum(a.reshape(4, 11), b.reshape(4, 11)[:1]),
                          lambda a, b: torch.maximum(a.reshape(4, 11), b.reshape(4, 11)[:1])),
    "clamp": (lambda a, b: a.clamp(-1.0, 1.0), lambda a, b: a.clamp(-1.0, 1.0)),
    "clamp_min": (lambda a, b: a.clamp(min=0.0), lambda a, b: a.clamp(min=0.0)),
    "clamp_max": (lambda a, b: a.clamp(max=0.5), lambda a, b: a.clamp(max=0.5)),
    # max()/min() without a dim: zeros filled in at the winners (ties share, a nan wins)
    "max_all_nan_wins": (lambda a, b: a.max(), lambda a, b: a.max()),
    "max_all_tie": (lambda a, b: a[:10].abs().max(), lambda a, b: a[:10].abs().max()),
    "min_all": (lambda a, b: b[:7].min(), lambda a, b: b[:7].min()),
}


def _gradients(function, library, dtype):
    x = library.tensor(X.astype(dtype), requires_grad=True)
    y = library.tensor(Y.astype(dtype), requires_grad=True)
    out = function(x, y)
    out.backward(library.tensor(np.resize(GY, tuple(out.shape)).astype(dtype)))
    return [None if t.grad is None else t.grad.numpy() for t in (x, y)]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_blocked_gradient_is_plus_zero_as_in_pytorch(name, dtype):
    ours, theirs = BINARY[name]
    for mine, expected in zip(_gradients(ours, chainrule, dtype),
                              _gradients(theirs, torch, dtype)):
        assert (mine is None) == (expected is None)
        if expected is not None:
            np.testing.assert_array_equal(mine, expected)
            np.testing.assert_array_equal(np.signbit(mine), np.signbit(expected))
