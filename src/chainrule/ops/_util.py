"""Helpers shared by the ops: lifting Python numbers to tensors, axis normalisation."""
import numpy

from .. import backend
from ..errors import DTypeError
from ..tensor import Tensor, to_array

_make = Tensor._make


def lift(value, like):
    """``value`` as a Tensor that can meet ``like`` in a binary op (no copy for Tensors).

    Python numbers follow PyTorch's rules: a float meeting an integer tensor gives the
    default float dtype, otherwise the tensor's dtype is kept.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float)):
        dtype = like.data.dtype
        if isinstance(value, float) and dtype.kind != "f":
            dtype = backend.default_float
        elif dtype.kind == "b" and not isinstance(value, bool):
            dtype = numpy.dtype(numpy.int64) if isinstance(value, int) else dtype
        return _scalar(value, dtype)
    if isinstance(value, numpy.ndarray) and value.dtype.kind == "f" and like.data.dtype.kind == "f":
        return _make(backend.xp.asarray(value), None)
    return Tensor(value)


_SCALARS = {}


def _scalar(value, dtype):
    """A constant 0-d tensor, cached: training loops use the same few numbers (lr, 1, 2, 0.5)
    millions of times. The cache never hands these tensors to the user to modify."""
    key = (value, type(value), dtype, backend.name)
    t = _SCALARS.get(key)
    if t is None:
        if len(_SCALARS) > 4096:
            _SCALARS.clear()
        t = _SCALARS[key] = _make(backend.xp.asarray(value, dtype=dtype), None)
    return t


def operands(a, b):
    """Both operands of a binary op as Tensors (Python numbers take the other's dtype)."""
    if isinstance(a, Tensor):
        b = lift(b, a)
    elif isinstance(b, Tensor):
        a = lift(a, b)
    else:
        a = as_tensor(a)
        b = lift(b, a)
    kind_a, kind_b = a.data.dtype.kind, b.data.dtype.kind
    if kind_a != kind_b:
        # an integer meeting a float takes the float's dtype (NumPy would widen to float64)
        if kind_a == "f":
            b = _make(b.data.astype(a.data.dtype), None)
        elif kind_b == "f":
            a = _make(a.data.astype(b.data.dtype), None)
    return a, b


def as_tensor(value):
    return value if isinstance(value, Tensor) else _make(to_array(value), None)


def normalize_axis(axis, ndim):
    """None, an int or a sequence of ints -> None or a sorted tuple of non-negative ints."""
    if axis is None:
        return None
    if ndim == 0:      # a 0-d tensor has one "axis" (0 or -1): reducing over it means all
        for a in (axis if isinstance(axis, (list, tuple)) else (axis,)):
            _one_axis(a, 0)
        return None
    if isinstance(axis, (list, tuple)):
        if len(axis) == 0:
            return None
        return tuple(sorted(_one_axis(a, ndim) for a in axis))
    return (_one_axis(axis, ndim),)


def single_axis(axis, ndim, op):
    """One axis as a non-negative int; ``op`` needs a tensor with at least one dimension."""
    if ndim == 0:
        from ..errors import ShapeError
        raise ShapeError(f"{op}: needs a tensor with at least one dimension, got a 0-d tensor")
    return _one_axis(axis, ndim)


def _one_axis(a, ndim):
    a = int(a)
    if not -max(ndim, 1) <= a < max(ndim, 1):
        from ..errors import ShapeError
        raise ShapeError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
    return a % max(ndim, 1)


def pick_axis(dim, axis):
    """PyTorch says dim, NumPy says axis: accept either."""
    return axis if dim is None else dim


def pick_keepdims(keepdim, keepdims):
    return bool(keepdims if keepdim is None else keepdim)


def require_float(t, op):
    if t.data.dtype.kind != "f":
        raise DTypeError(f"{op}: needs a floating-point tensor, got {t.dtype}; "
                         "convert with .float()")


def sum_to_array(x, shape):
    """Sum ``x`` down to ``shape``: the inverse of broadcasting ``shape`` up to ``x.shape``."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    return x.sum(axis=axes, keepdims=True).reshape(shape)
