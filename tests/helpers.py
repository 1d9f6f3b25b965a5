"""Shared test helpers: random float64 inputs and the gradient checks every op must pass."""
import numpy as np

import chainrule
from chainrule.autograd import gradcheck, gradgradcheck


def make(shape, seed=0, low=None, high=None, requires_grad=True):
    """A float64 tensor of ``shape`` with reproducible values (bounded if low/high given)."""
    rng = np.random.default_rng(seed)
    if low is None:
        data = rng.standard_normal(shape)
    else:
        data = rng.uniform(low, high, size=shape)
    return chainrule.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


def check(fn, *inputs, second=True):
    """gradcheck and (when the op has one) gradgradcheck must both pass."""
    assert gradcheck(fn, inputs)
    if second:
        assert gradgradcheck(fn, inputs)
