"""Dtype conversion: ``x.to(dtype)``, differentiable between floating dtypes."""
import numpy

from .. import backend
from ..autograd.function import Function


class Cast(Function):
    """A copy in another dtype; the gradient is cast back to the input's dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.input_dtype = x.dtype
        return backend.xp.astype(x, self.dtype)

    def backward(self, gy):
        return cast(gy, self.input_dtype)


def cast(x, dtype):
    """Convert to ``dtype``; differentiable between floating dtypes.

    >>> import chainrule
    >>> chainrule.cast(chainrule.tensor([1.7]), "int64").tolist()
    [1]
    """
    dtype = numpy.dtype(backend.numpy_dtype(dtype))
    if x.dtype == dtype:
        return x
    if not (backend.is_floating(dtype) and backend.is_floating(x._data.dtype)):
        return x._make(backend.xp.astype(x._data, dtype), None)
    return Cast(dtype)(x)
