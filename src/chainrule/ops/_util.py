"""Helpers shared by the ops: PyTorch's dtype promotion, lifting Python numbers to tensors,
axis normalisation, up-front checks."""
import math

import numpy

from .. import backend
from ..autograd.broadcast import broadcast_shapes
from ..device import mixed_devices
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..tensor_base import TensorBase, to_array
from .cast import cast

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2}   # "V": bfloat16 (ml_dtypes)
_INT64 = numpy.dtype(numpy.int64)
_BOOL = numpy.dtype(bool)


def result_dtype(a, b, *more):
    """PyTorch's type promotion for two or more operands (tensors or Python numbers).

    Categories rank bool < integer < floating. Tensors with dimensions decide within their
    category; a 0-d tensor or a Python number only lifts the result to a higher category
    (a Python float turns an integer tensor into the default float dtype, float32), so
    ``float32_tensor * 2.5`` stays float32 and ``int_tensor + 1.5`` is float32.
    """
    dims, zero_dims, numbers = [], [], []
    for x in (a, b) + more:
        if isinstance(x, TensorBase):
            x = x._data
        elif isinstance(x, (list, tuple)):
            x = to_array(x)
        if hasattr(x, "dtype") and not isinstance(x, (numpy.generic,)):
            (dims if x.ndim else zero_dims).append(backend.numpy_dtype(x.dtype))
        else:
            numbers.append(x)
    dtype = _promote(dims) if dims else None
    if zero_dims:
        zero = _promote(zero_dims)
        if dtype is None or _CATEGORY[zero.kind] > _CATEGORY[backend.kind(dtype)]:
            dtype = zero
    for number in numbers:
        kind = _number_kind(number)
        if dtype is None or _CATEGORY[kind] > _CATEGORY[backend.kind(dtype)]:
            dtype = {"b": _BOOL, "i": _INT64, "f": backend.default_float}[kind]
    return dtype


def _promote(dtypes):
    result = dtypes[0]
    for d in dtypes[1:]:
        if d == result:
            continue
        ca, cb = _CATEGORY[backend.kind(result)], _CATEGORY[backend.kind(d)]
        if ca != cb:
            result = result if ca > cb else d
        else:
            result = numpy.promote_types(result, d)
    return result


def _number_kind(value):
    if isinstance(value, numpy.generic):
        value = value.item()
    if isinstance(value, (bool, numpy.bool_)):
        return "b"
    if isinstance(value, (int, numpy.integer)):
        return "i"
    if isinstance(value, (float, numpy.floating)):
        return "f"
    raise ArgumentTypeError(f"expected a tensor or a Python number, got {type(value).__name__}")


def lift(value, like, dtype=None):
    """``value`` as a Tensor that can meet ``like`` in a binary op (no copy for Tensors).

    Python numbers become cached 0-d constants of ``dtype`` (by default the dtype PyTorch's
    promotion gives them against ``like``); arrays and lists become constant tensors.
    """
    if isinstance(value, TensorBase):
        return value
    if isinstance(value, (int, float, bool, numpy.number, numpy.bool_)):
        if dtype is None:
            dtype = result_dtype(like, value)
        return _scalar(value, dtype, like)
    return like._make(to_array(value, dtype), None)


_SCALARS = {}
_NUMPY_FLOATS = frozenset(numpy.dtype(name) for name in ("float16", "float32", "float64"))
_PYTHON_NUMBERS = (int, float)      # not bool: True meeting a tensor follows other rules


def _scalar(value, dtype, like):
    """A constant 0-d tensor, cached: training loops use the same few numbers (lr, 1, 2, 0.5)
    millions of times. The cache never hands these tensors to the user to modify."""
    key = (value, type(value), dtype, backend.name)
    if not value and type(value) is float:      # 0.0 == -0.0 as keys: keep the sign apart
        key += (math.copysign(1.0, value),)
    t = _SCALARS.get(key)
    if t is None:
        if len(_SCALARS) > 4096:
            _SCALARS.clear()
        if type(value) is int and backend.kind(dtype) in "iu":
            value = wrapped_integer(value, dtype)
        t = _SCALARS[key] = like._make(backend.xp.asarray(value, dtype=dtype), None)
    return t


def constant_array(value, dtype):
    """A cached 0-d array holding the non-zero float ``value`` in ``dtype``, for formulas
    written on arrays: NumPy takes a 0-d array operand about three times faster than a
    Python number (which it must first convert).

    >>> constant_array(1.0, numpy.dtype("float32")).dtype
    dtype('float32')
    """
    key = (value, dtype, backend.name)
    array = _CONSTANTS.get(key)
    if array is None:
        if len(_CONSTANTS) > 256:
            _CONSTANTS.clear()
        array = _CONSTANTS[key] = backend.xp.asarray(value, dtype=dtype)
    return array


_CONSTANTS = {}


def wrapped_integer(value, dtype):
    """A Python int as an operand of an integer tensor of ``dtype`` in arithmetic: wrapped
    around as PyTorch does (``int8_tensor + 300`` adds 44); beyond 64 bits an ArgumentError.

    >>> wrapped_integer(300, numpy.dtype("int8")), wrapped_integer(-1, numpy.dtype("uint8"))
    (44, 255)
    """
    info = numpy.iinfo(dtype)
    if info.min <= value <= info.max:
        return value
    if not -2**63 <= value < 2**64:
        raise ArgumentError(f"the number {value} does not fit in 64 bits, so it cannot meet a "
                            f"{dtype} tensor")
    value %= 2**info.bits
    return value - 2**info.bits if value > info.max else value


def check_fits(value, dtype, op):
    """An ArgumentError unless the Python number ``value`` fits ``dtype`` (as PyTorch's fill
    values, clamp bounds and alpha must: no wrapping around there).

    >>> check_fits(300, numpy.dtype("int8"), "fill_")
    Traceback (most recent call last):
    ...
    chainrule.errors.ArgumentError: fill_: value 300 cannot be converted to type int8 without overflow
    """
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, (bool, numpy.bool_)) \
            and backend.kind(dtype) in "iu":
        info = numpy.iinfo(dtype)
        if not info.min <= value <= info.max:
            raise ArgumentError(f"{op}: value {value} cannot be converted to type {dtype} "
                                "without overflow")


def operands(a, b, op, broadcast=True):
    """Both operands of a binary op as Tensors of PyTorch's promoted dtype, after checking
    that their shapes broadcast (a ShapeError names ``op`` and both shapes) unless
    ``broadcast=False`` (matmul checks its own shapes).

    A differentiable cast is recorded for a tensor that must change dtype (float32 meeting
    float64), so its gradient comes back in its own dtype.
    """
    # the common cases first, answered without the full rules: a float tensor meeting a
    # Python number (either side), two tensors of one dtype on one device
    if isinstance(a, TensorBase):
        da = a._data
        if type(b) is float:
            if da.dtype in _NUMPY_FLOATS:
                return a, _scalar(b, da.dtype, a)
        elif isinstance(b, TensorBase):
            db = b._data
            if da.dtype is db.dtype and type(da) is type(db):
                if broadcast and da.shape != db.shape and da.shape and db.shape:
                    broadcast_check(a, b, op)
                return a, b
    elif type(a) in _PYTHON_NUMBERS and isinstance(b, TensorBase) and \
            b._data.dtype in _NUMPY_FLOATS:
        return _scalar(a, b._data.dtype, b), b
    a_is_tensor, b_is_tensor = isinstance(a, TensorBase), isinstance(b, TensorBase)
    if a_is_tensor and b_is_tensor:
        if type(a._data) is not type(b._data):         # NumPy meets CuPy: two devices?
            error = mixed_devices(op, a._data, b._data)
            if error is not None:
                raise error
        if a._data.dtype != b._data.dtype:
            dtype = result_dtype(a, b)
            a, b = _cast_to(a, dtype), _cast_to(b, dtype)
        if broadcast and a._data.shape != b._data.shape and a._data.ndim and b._data.ndim:
            broadcast_check(a, b, op)
        return a, b
    if a_is_tensor:
        dtype = result_dtype(a, b) if _needs_promotion(a, b) else a._data.dtype
        a, b = _cast_to(a, dtype), lift(b, a, dtype)
    elif b_is_tensor:
        dtype = result_dtype(a, b) if _needs_promotion(b, a) else b._data.dtype
        a, b = lift(a, b, dtype), _cast_to(b, dtype)
    else:
        raise ArgumentTypeError(f"{op}: expected at least one tensor argument, got "
                                f"{type(a).__name__} and {type(b).__name__}")
    if broadcast and a._data.shape != b._data.shape and a._data.ndim and b._data.ndim:
        broadcast_check(a, b, op)
    return a, b


def _needs_promotion(tensor, other):
    """Whether a non-tensor ``other`` can change ``tensor``'s dtype (the common case of a
    float tensor meeting a Python number is answered without the full rules)."""
    kind = backend.kind(tensor._data.dtype)
    if isinstance(other, float):
        return kind != "f"
    if isinstance(other, bool):
        return False
    if isinstance(other, int):
        return kind == "b"
    return True


def _cast_to(t, dtype):
    return t if t._data.dtype == dtype else cast(t, dtype)


def broadcast_check(a, b, op):
    """The broadcast shape of two tensors, or a ShapeError naming the op and both shapes."""
    shape_a, shape_b = a._data.shape, b._data.shape
    if shape_a == shape_b or not shape_b:
        return shape_a
    if not shape_a:
        return shape_b
    try:
        return broadcast_shapes(a._data.shape, b._data.shape)
    except ShapeError:
        raise ShapeError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together")\
            from None


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
        axes = tuple(sorted(_one_axis(a, ndim) for a in axis))
        if len(set(axes)) != len(axes):
            raise ShapeError(f"dim {tuple(axis)} names the same dimension twice")
        return axes
    return (_one_axis(axis, ndim),)


def single_axis(axis, ndim, op):
    """One axis as a non-negative int; ``op`` needs a tensor with at least one dimension."""
    if ndim == 0:
        raise ShapeError(f"{op}: needs a tensor with at least one dimension, got a 0-d tensor")
    return _one_axis(axis, ndim)


def _one_axis(a, ndim):
    if isinstance(a, TensorBase) or not isinstance(a, (int, numpy.integer)):
        raise ArgumentTypeError(f"a dimension must be an int, got {type(a).__name__}")
    a = int(a)
    if not -max(ndim, 1) <= a < max(ndim, 1):
        raise ShapeError(f"dimension {a} is out of range for a tensor with {ndim} dimensions "
                         f"(expected to be in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])")
    return a % max(ndim, 1)


def pick_axis(dim, axis):
    """PyTorch says dim, NumPy says axis: accept either."""
    return axis if dim is None else dim


def pick_keepdims(keepdim, keepdims):
    return bool(keepdims if keepdim is None else keepdim)


def require_float(t, op):
    if not backend.is_floating(t._data.dtype):
        raise DTypeError(f"{op}: needs a floating-point tensor, got {t.dtype}; "
                         "convert with .float()")


def as_floating(t):
    """Integer and bool tensors promote to the default float dtype (PyTorch's rule for exp,
    log, sin, mean, ...); floating tensors (bfloat16 too) are returned as they are."""
    if backend.is_floating(t._data.dtype):
        return t
    return t._make(t._data.astype(backend.default_float), None)


def require_tensor(value, op, argument="input"):
    if not isinstance(value, TensorBase):
        raise ArgumentTypeError(f"{op}(): argument '{argument}' must be a Tensor, not "
                                f"{type(value).__name__}")
    return value
