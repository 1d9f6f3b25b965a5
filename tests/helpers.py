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


def strided(t):
    """The same values in memory that is not contiguous: every other element of a wider
    array for 1-D inputs, a transposed (Fortran-order) layout plus a stride for more."""
    data = t.numpy()
    if data.ndim == 0:
        return t
    wide = np.zeros(data.shape[:-1] + (2 * data.shape[-1],), dtype=data.dtype)
    wide[..., ::2] = data
    view = wide[..., ::2]
    if view.ndim >= 2:
        view = np.asfortranarray(view)[..., :]          # transposed layout
        holder = np.zeros(view.shape[::-1] + (2,), dtype=data.dtype)[..., 0]
        holder[...] = view.T
        view = holder.T                                  # a transpose of a strided array
    assert not view.flags.c_contiguous or view.size <= 1
    out = chainrule.as_tensor(view).requires_grad_(t.requires_grad)   # tensor() would copy
    np.testing.assert_array_equal(out.numpy(), data)
    return out


def check(fn, *inputs, second=True):
    """gradcheck and (when the op has one) gradgradcheck must both pass, on contiguous inputs
    and on the same values laid out non-contiguously (transposed and strided)."""
    for layout in (inputs, tuple(strided(t) if isinstance(t, chainrule.Tensor) else t
                                 for t in inputs)):
        assert gradcheck(fn, layout)
        if second:
            assert gradgradcheck(fn, layout)
