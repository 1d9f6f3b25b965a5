"""Tests, logical and bitwise ops: isnan, isinf, isfinite, isposinf, isneginf, signbit,
isclose, allclose, equal; logical_and/or/xor/not; bitwise_and/or/xor/not and the shifts.

None of them has a gradient (their results are bool or integer), so each is a plain function
on the arrays, not a Function. Dtypes follow PyTorch: logical ops take any dtype and give
bool; bitwise ops take integer or bool tensors (``&``, ``|``, ``^``, ``~`` on bool tensors are
the logical ones) and refuse floats; shifts take integers only and give 0 (or -1 for a
negative number shifted right) once the shift reaches the width of the type.
"""
import numpy

from .. import backend
from ..errors import ArgumentError, DTypeError
from ._util import broadcast_check, operands, require_tensor


def _bool_result(x, array):
    return x._make(array, None)


# ---------------------------------------------------------------- tests of values

def _value_test(x, op, float_test, others):
    """``float_test`` on floating tensors; integer and bool tensors hold only finite
    numbers, so the answer there is the constant ``others``."""
    require_tensor(x, op)
    xp = backend.xp
    if backend.kind(x._data.dtype) == "f":
        return _bool_result(x, float_test(x._data))
    return _bool_result(x, xp.full(x._data.shape, others, dtype=bool))


def isnan(input):
    """Where the values are nan.

    >>> import chainrule
    >>> chainrule.isnan(chainrule.tensor([1.0, float("nan")])).tolist()
    [False, True]
    """
    return _value_test(input, "isnan", backend.xp.isnan, False)


def isinf(input):
    """Where the values are +inf or -inf.

    >>> import chainrule
    >>> chainrule.isinf(chainrule.tensor([1.0, float("-inf")])).tolist()
    [False, True]
    """
    return _value_test(input, "isinf", backend.xp.isinf, False)


def isfinite(input):
    """Where the values are neither nan nor infinite.

    >>> import chainrule
    >>> chainrule.isfinite(chainrule.tensor([1.0, float("inf")])).tolist()
    [True, False]
    """
    return _value_test(input, "isfinite", backend.xp.isfinite, True)


def isposinf(input):
    """Where the values are +inf.

    >>> import chainrule
    >>> chainrule.isposinf(chainrule.tensor([float("inf"), float("-inf")])).tolist()
    [True, False]
    """
    return _value_test(input, "isposinf", lambda a: a == numpy.inf, False)


def isneginf(input):
    """Where the values are -inf.

    >>> import chainrule
    >>> chainrule.isneginf(chainrule.tensor([float("inf"), float("-inf")])).tolist()
    [False, True]
    """
    return _value_test(input, "isneginf", lambda a: a == -numpy.inf, False)


def signbit(input):
    """Where the sign bit is set (negative numbers and -0.0).

    >>> import chainrule
    >>> chainrule.signbit(chainrule.tensor([-0.0, 0.0, -2.0])).tolist()
    [True, False, True]
    """
    require_tensor(input, "signbit")
    if backend.kind(input._data.dtype) == "b":
        return _bool_result(input, backend.xp.zeros(input._data.shape, dtype=bool))
    return _bool_result(input, backend.xp.signbit(input._data))


# ---------------------------------------------------------------- closeness and equality

def _check_tolerances(op, rtol, atol):
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float, numpy.number)):
            raise ArgumentError(f"{op}: {name} must be a number, got {value!r}")
        if value < 0:
            raise ArgumentError(f"{op}: {name} must be greater than or equal to zero, but "
                                f"got {value}")


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Where |input - other| <= atol + rtol * |other| (equal infinities are close; nan is
    close to nan only with ``equal_nan``). Both tensors must have the same dtype.

    >>> import chainrule
    >>> a = chainrule.tensor([1.0, 2.0])
    >>> chainrule.isclose(a, chainrule.tensor([1.0 + 1e-7, 2.1])).tolist()
    [True, False]
    """
    require_tensor(input, "isclose")
    require_tensor(other, "isclose", "other")
    if input._data.dtype != other._data.dtype:
        raise DTypeError(f"isclose: the tensors must have the same dtype (as in PyTorch), "
                         f"got {input.dtype} and {other.dtype}")
    _check_tolerances("isclose", rtol, atol)
    broadcast_check(input, other, "isclose")
    xp = backend.xp
    a, b = input._data, other._data
    close = a == b
    if equal_nan and backend.kind(a.dtype) == "f":
        close = close | (xp.isnan(a) & xp.isnan(b))
    if rtol == 0 and atol == 0:
        return _bool_result(input, close)
    if backend.kind(a.dtype) != "f":
        a, b = a.astype(backend.default_float), b.astype(backend.default_float)
    with numpy.errstate(all="ignore"):
        allowed = atol + xp.abs(rtol * b)
        actual = xp.abs(a - b)
        close = close | (xp.isfinite(actual) & (actual <= allowed))
    return _bool_result(input, close)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every element is close (see :func:`isclose`); a Python bool.

    >>> import chainrule
    >>> chainrule.allclose(chainrule.tensor([1.0]), chainrule.tensor([1.0 + 1e-7]))
    True
    """
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input, other):
    """Whether both tensors have the same shape and the same values (no broadcasting; nan is
    never equal); a Python bool.

    >>> import chainrule
    >>> chainrule.equal(chainrule.tensor([1, 2]), chainrule.tensor([1.0, 2.0]))
    True
    """
    require_tensor(input, "equal")
    require_tensor(other, "equal", "other")
    if input._data.shape != other._data.shape:
        return False
    return bool(backend.xp.all(input._data == other._data))


# ---------------------------------------------------------------- logical

def _logical_operands(a, b, op):
    require_tensor(a, op)
    require_tensor(b, op, "other")
    broadcast_check(a, b, op)
    return a._data, b._data


def logical_and(input, other):
    """Elementwise ``and`` of the truth values (nonzero is True); a bool tensor.

    >>> import chainrule
    >>> chainrule.logical_and(chainrule.tensor([1, 0]), chainrule.tensor([2.0, 3.0])).tolist()
    [True, False]
    """
    return _bool_result(input, backend.xp.logical_and(*_logical_operands(input, other,
                                                                         "logical_and")))


def logical_or(input, other):
    """Elementwise ``or`` of the truth values; a bool tensor.

    >>> import chainrule
    >>> chainrule.logical_or(chainrule.tensor([1, 0]), chainrule.tensor([0, 0])).tolist()
    [True, False]
    """
    return _bool_result(input, backend.xp.logical_or(*_logical_operands(input, other,
                                                                        "logical_or")))


def logical_xor(input, other):
    """Elementwise exclusive ``or`` of the truth values; a bool tensor.

    >>> import chainrule
    >>> chainrule.logical_xor(chainrule.tensor([1, 0]), chainrule.tensor([1, 1])).tolist()
    [False, True]
    """
    return _bool_result(input, backend.xp.logical_xor(*_logical_operands(input, other,
                                                                         "logical_xor")))


def logical_not(input):
    """Elementwise ``not`` of the truth values; a bool tensor.

    >>> import chainrule
    >>> chainrule.logical_not(chainrule.tensor([0.0, 2.0])).tolist()
    [True, False]
    """
    require_tensor(input, "logical_not")
    return _bool_result(input, backend.xp.logical_not(input._data))


# ---------------------------------------------------------------- bitwise

def _bitwise_operands(a, b, op, bool_ok=True):
    """Both operands in PyTorch's promoted dtype, which must be an integer (or bool)."""
    a, b = operands(a, b, op)
    kind = backend.kind(a._data.dtype)
    if kind == "f" or (kind == "b" and not bool_ok):
        what = "integer or bool" if bool_ok else "integer"
        raise DTypeError(f"{op}: needs {what} tensors, got {a.dtype} (as in PyTorch)")
    return a, b


def bitwise_and(input, other):
    """Bitwise ``&`` of integers (logical ``and`` for bool tensors); ``a & b``.

    >>> import chainrule
    >>> chainrule.bitwise_and(chainrule.tensor([12]), 10).tolist()
    [8]
    """
    a, b = _bitwise_operands(input, other, "bitwise_and")
    return a._make(backend.xp.bitwise_and(a._data, b._data), None)


def bitwise_or(input, other):
    """Bitwise ``|`` of integers (logical ``or`` for bool tensors); ``a | b``.

    >>> import chainrule
    >>> chainrule.bitwise_or(chainrule.tensor([12]), 10).tolist()
    [14]
    """
    a, b = _bitwise_operands(input, other, "bitwise_or")
    return a._make(backend.xp.bitwise_or(a._data, b._data), None)


def bitwise_xor(input, other):
    """Bitwise ``^`` of integers (logical ``xor`` for bool tensors); ``a ^ b``.

    >>> import chainrule
    >>> chainrule.bitwise_xor(chainrule.tensor([12]), 10).tolist()
    [6]
    """
    a, b = _bitwise_operands(input, other, "bitwise_xor")
    return a._make(backend.xp.bitwise_xor(a._data, b._data), None)


def bitwise_not(input):
    """Bitwise ``~`` of integers (logical ``not`` for bool tensors); floats are refused.

    >>> import chainrule
    >>> chainrule.bitwise_not(chainrule.tensor([0, 5])).tolist()
    [-1, -6]
    """
    require_tensor(input, "bitwise_not")
    if backend.kind(input._data.dtype) == "f":
        raise DTypeError(f"bitwise_not (~): only integer and bool tensors, got {input.dtype} "
                         "(as in PyTorch); for a mask use logical_not()")
    return input._make(backend.xp.invert(input._data), None)


def _shift(a, b, op, left):
    a, b = _bitwise_operands(a, b, op, bool_ok=False)
    xp = backend.xp
    x, s = a._data, b._data
    width = x.dtype.itemsize * 8
    in_range = (s >= 0) & (s < width)
    safe = xp.where(in_range, s, 0).astype(x.dtype)
    with numpy.errstate(all="ignore"):
        if left:
            shifted = xp.left_shift(x, safe)
            out = xp.where(in_range, shifted, x.dtype.type(0))
        else:
            shifted = xp.right_shift(x, safe)
            beyond = xp.where(x < 0, -1, 0).astype(x.dtype) if backend.kind(x.dtype) == "i" else \
                xp.zeros_like(x)
            out = xp.where(in_range, shifted, beyond)
    return a._make(xp.asarray(out, dtype=x.dtype), None)


def bitwise_left_shift(input, other):
    """input << other for integers: 0 once the shift reaches the type's width or is
    negative (PyTorch's rule); ``a << b``.

    >>> import chainrule
    >>> chainrule.bitwise_left_shift(chainrule.tensor([1, 3]), 2).tolist()
    [4, 12]
    """
    return _shift(input, other, "bitwise_left_shift", left=True)


def bitwise_right_shift(input, other):
    """input >> other for integers, arithmetic (the sign is kept): 0 or -1 once the shift
    reaches the type's width or is negative (PyTorch's rule); ``a >> b``.

    >>> import chainrule
    >>> chainrule.bitwise_right_shift(chainrule.tensor([16, -16]), 2).tolist()
    [4, -4]
    """
    return _shift(input, other, "bitwise_right_shift", left=False)


__all__ = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "isclose",
           "allclose", "equal", "logical_and", "logical_or", "logical_xor", "logical_not",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
           "bitwise_right_shift"]
