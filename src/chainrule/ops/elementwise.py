"""Elementwise ops beyond arithmetic.py, with PyTorch's dtype rules, edge values and gradients:

* rounding and integer division — floor, ceil, round, trunc, frac, floor_divide, remainder,
  fmod, div with a rounding mode (the rounding ones record a node whose derivative is 0, as
  PyTorch's do; floor_divide has none, as in PyTorch);
* trigonometric and hyperbolic — tan, asin, acos, atan, atan2, sinh, cosh, asinh, acosh,
  atanh, sinc;
* exponentials and logarithms — log2, log10, exp2, expm1, xlogy, logit;
* binary float ops — lerp, copysign, logaddexp, logaddexp2, hypot, float_power;
* nan_to_num.

``div(rounding_mode=)``, ``sign``, ``square`` and ``clamp``/``clamp_min``/``clamp_max`` with
tensor bounds live in arithmetic.py beside the ops they extend.

Integer and bool inputs of the transcendental ops become the default float (float32), as in
PyTorch; the rounding ops keep integers as they are. Each gradient is PyTorch's formula from
``derivatives.yaml``, including its value at the edges (``sinc'(0) = 0``, ``atan2`` at the
origin, ``logit`` outside ``[eps, 1 - eps]``).
"""
import math

import numpy

from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, DTypeError, GraphError
from ..tensor_base import TensorBase
from ._util import as_floating, broadcast_check, operands, require_tensor
from .arithmetic import (RoundingDivide, cos, division_operands, exp, pow, rsqrt, sin, where,
                         zeros_gradient)
from .cast import cast

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _quiet():
    """NumPy's warnings off: PyTorch returns nan/inf at the edges of a domain silently."""
    return numpy.errstate(all="ignore")


def _opmath(*arrays):
    """float16 arrays as float32, others as they are: PyTorch computes a half-precision op in
    float32 and rounds once, so a chain of steps must not round after each one."""
    return [a.astype(numpy.float32) if a.dtype == numpy.float16 else a for a in arrays]


def _float_tensor(x, op):
    return as_floating(require_tensor(x, op))


def _require_kind(t, kinds, op, what):
    if backend.kind(t._data.dtype) not in kinds:
        raise DTypeError(f"{op}: needs {what}, got a {t.dtype} tensor")


# ---------------------------------------------------------------- rounding (zero gradient)

class _Rounding(Function):
    """A step function: its derivative is 0 wherever it is defined, and PyTorch uses 0
    everywhere, so the node passes a zero gradient back."""

    def backward(self, gy):
        return zeros_gradient(gy)


class Floor(_Rounding):
    def forward(self, x):
        return backend.xp.floor(x)


class Ceil(_Rounding):
    def forward(self, x):
        return backend.xp.ceil(x)


class Trunc(_Rounding):
    def forward(self, x):
        return backend.xp.trunc(x)


class Round(_Rounding):
    """Half to even; with ``decimals`` PyTorch's rule: rint(x * 10^d) / 10^d for d >= 0,
    rint(x / 10^-d) * 10^-d for d < 0, computed in the input's precision (float32 for
    float16, as PyTorch's kernel)."""

    def __init__(self, decimals):
        self.decimals = decimals

    def forward(self, x):
        xp = backend.xp
        if self.decimals == 0:
            return xp.rint(x)
        (work,) = _opmath(x)
        scale = work.dtype.type(10.0 ** abs(self.decimals))
        with _quiet():
            if self.decimals > 0:
                return backend.xp.astype(xp.rint(work * scale) / scale, x.dtype, copy=False)
            return backend.xp.astype(xp.rint(work / scale) * scale, x.dtype, copy=False)


class FloorDivide(Function):
    """``a // b`` rounded toward minus infinity. PyTorch records it but has no derivative
    for it, so backward raises (``div(a, b, rounding_mode="floor")`` has a zero one)."""

    def forward(self, a, b):
        with _quiet():
            return backend.xp.floor_divide(a, b)

    def backward(self, gy):
        raise GraphError("floor_divide: the derivative is not implemented (as in PyTorch); "
                         "use div(a, b, rounding_mode='floor'), whose gradient is 0")


class Remainder(Function):
    """Python's ``%``: the result has the sign of the divisor. d/da = 1,
    d/db = -floor(a / b)."""

    def forward(self, a, b):
        if self.needs_input_grad[1]:
            self.save_for_backward(a, b)
        xp = backend.xp
        with _quiet():
            if backend.kind(a.dtype) != "f":
                return xp.remainder(a, b)
            mod = xp.fmod(a, b)        # PyTorch's rule, which keeps the sign of a zero result
            return xp.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        gb = None
        if need_b:
            a, b = self.saved_tensors
            gb = -gy * RoundingDivide("floor")(a, b)
        return (gy if need_a else None), gb


class Fmod(Function):
    """C's fmod: the result has the sign of the dividend. d/da = 1, d/db = -trunc(a / b)."""

    def forward(self, a, b):
        if self.needs_input_grad[1]:
            self.save_for_backward(a, b)
        with _quiet():
            return backend.xp.fmod(a, b)

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        gb = None
        if need_b:
            a, b = self.saved_tensors
            gb = -gy * RoundingDivide("trunc")(a, b)
        return (gy if need_a else None), gb


# ---------------------------------------------------------------- trigonometric, hyperbolic

class Tan(Function):
    def forward(self, x):
        y = backend.xp.tan(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * (y * y + 1)


class Asin(Function):
    def forward(self, x):
        self.save_for_backward(x)
        with _quiet():
            return backend.xp.arcsin(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * rsqrt(1 - x * x)


class Acos(Function):
    def forward(self, x):
        self.save_for_backward(x)
        with _quiet():
            return backend.xp.arccos(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * -rsqrt(1 - x * x)


class Atan(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.arctan(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (x * x + 1)


class Atan2(Function):
    """The angle of the point (b, a): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2),
    both 0 where a^2 + b^2 is 0 (the origin, as PyTorch gives)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return backend.xp.arctan2(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        squared = a * a + b * b
        inverse = where(squared._data == 0, 0.0, 1 / squared)
        return (gy * b * inverse if need_a else None), (gy * -a * inverse if need_b else None)


class Sinh(Function):
    def forward(self, x):
        self.save_for_backward(x)
        with _quiet():
            return backend.xp.sinh(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * cosh(x)


class Cosh(Function):
    def forward(self, x):
        self.save_for_backward(x)
        with _quiet():
            return backend.xp.cosh(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * sinh(x)


class Asinh(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.arcsinh(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * rsqrt(x * x + 1)


class Acosh(Function):
    def forward(self, x):
        self.save_for_backward(x)
        with _quiet():
            return backend.xp.arccosh(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * rsqrt(x * x - 1)


class Atanh(Function):
    def forward(self, x):
        self.save_for_backward(x)
        with _quiet():
            return backend.xp.arctanh(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (1 - x * x)


class Sinc(Function):
    """sin(pi x) / (pi x), 1 at 0; derivative (pi x cos(pi x) - sin(pi x)) / (pi x^2),
    set to 0 where pi x^2 is 0 (PyTorch's rule)."""

    def forward(self, x):
        self.save_for_backward(x)
        xp = backend.xp
        (work,) = _opmath(x)
        with _quiet():
            scaled = work * work.dtype.type(math.pi)
            y = xp.where(work == 0, work.dtype.type(1), xp.sin(scaled) / scaled)
        return backend.xp.astype(y, x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        scaled = x * math.pi
        denominator = x * x * math.pi
        slope = gy * ((scaled * cos(scaled) - sin(scaled)) / denominator)
        return where(denominator._data == 0, 0.0, slope)


# ---------------------------------------------------------------- exponentials, logarithms

class Log2(Function):
    def forward(self, x):
        self.save_for_backward(x)
        with _quiet():
            return backend.xp.log2(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (x * _LN2)


_WIDENED_FOR_LOG10 = frozenset(numpy.dtype(name) for name in ("float16", "float32"))


class Log10(Function):
    """log10 of float16/float32 is taken in float64 and rounded back: NumPy's AVX-512
    float32 log10 is an ulp off at exact powers of ten (log10(100) = 2.0000002; PyTorch 2.0)."""

    def forward(self, x):
        self.save_for_backward(x)
        xp = backend.xp
        with _quiet():
            if x.dtype in _WIDENED_FOR_LOG10:
                return xp.astype(xp.log10(xp.astype(x, numpy.dtype(numpy.float64))), x.dtype)
            return xp.log10(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (x * _LN10)


class Exp2(Function):
    def forward(self, x):
        with _quiet():
            y = backend.xp.exp2(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y * _LN2


class Expm1(Function):
    def forward(self, x):
        with _quiet():
            y = backend.xp.expm1(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * (y + 1)


class Xlogy(Function):
    """a * log(b), 0 where a = 0 (unless b is nan). d/da = log(b) (0 where a = 0 and
    b <= 0), d/db = a / b — PyTorch's formulas."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        xp = backend.xp
        work_a, work_b = _opmath(a, b)
        with _quiet():
            y = work_a * xp.log(work_b)
            y = xp.where((a == 0) & ~xp.isnan(b), xp.zeros((), dtype=y.dtype), y)
        return backend.xp.astype(y, a.dtype, copy=False)

    def backward(self, gy):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        if need_a:
            ga = where((a._data == 0) & (b._data <= 0), 0.0, Xlogy()(gy, b))
        if need_b:
            gb = gy * a / b
        return ga, gb


class Logit(Function):
    """log(p / (1 - p)); with ``eps`` p is first clamped to [eps, 1 - eps] and the gradient
    is 0 outside that range, without eps it is nan outside [0, 1] (PyTorch's rules, also
    for a negative eps: no clamping, and a zero gradient outside [eps, 1 - eps])."""

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x):
        self.save_for_backward(x)
        xp = backend.xp
        (work,) = _opmath(x)
        if self.eps is not None and self.eps >= 0:
            low = work.dtype.type(self.eps)
            high = work.dtype.type(1 - self.eps)
            work = xp.where(work < low, low, xp.where(work > high, high, work))
        with _quiet():
            return backend.xp.astype(xp.log(work / (1 - work)), x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        low, high, outside = (0.0, 1.0, math.nan) if self.eps is None else \
            (self.eps, 1 - self.eps, 0.0)
        inside = (x._data >= low) & (x._data <= high)
        return where(inside, gy / (x * (1 - x)), outside)


# ---------------------------------------------------------------- binary float ops

class Lerp(Function):
    """start + weight * (end - start), computed from the nearer end as PyTorch does (exact at
    weight 0 and 1). Gradients: 1 - weight, weight, end - start."""

    def forward(self, start, end, weight):
        need_start, need_end, need_weight = self.needs_input_grad
        self.save_for_backward(start if need_weight else None, end if need_weight else None,
                               weight if (need_start or need_end) else None)
        xp = backend.xp
        work_start, work_end, work_weight = _opmath(start, end, weight)
        difference = work_end - work_start
        with _quiet():
            y = xp.where(xp.abs(work_weight) < 0.5, work_start + work_weight * difference,
                         work_end - difference * (1 - work_weight))
        return backend.xp.astype(y, start.dtype, copy=False)

    def backward(self, gy):
        start, end, weight = self.saved_tensors
        need_start, need_end, need_weight = self.needs_input_grad
        return (gy * (1 - weight) if need_start else None,
                gy * weight if need_end else None,
                gy * (end - start) if need_weight else None)


class Copysign(Function):
    """|a| with the sign of b. d/da = copysign(a, b) / a (0 where a = 0), d/db = 0."""

    def forward(self, a, b):
        y = backend.xp.copysign(a, b)
        if self.needs_input_grad[0]:
            self.save_for_backward(a, y)
        return y

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        ga = None
        if need_a:
            a, y = self.saved_tensors
            ga = gy * where(a._data == 0, 0.0, y / a)
        return ga, (zeros_gradient(gy) if need_b else None)


class LogAddExp(Function):
    """log(e^a + e^b) without overflow. d/da = 1 / (1 + e^(b - a)), and symmetrically."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        with _quiet():
            return backend.xp.logaddexp(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return ((gy / (1 + exp(b - a)) if need_a else None),
                (gy / (1 + exp(a - b)) if need_b else None))


class LogAddExp2(Function):
    """log2(2^a + 2^b). d/da = 1 / (1 + 2^(b - a)), and symmetrically."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        with _quiet():
            return backend.xp.logaddexp2(a, b)

    def backward(self, gy):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return ((gy / (1 + exp2(b - a)) if need_a else None),
                (gy / (1 + exp2(a - b)) if need_b else None))


class Hypot(Function):
    """sqrt(a^2 + b^2) without overflow. d/da = a / hypot, d/db = b / hypot."""

    def forward(self, a, b):
        y = backend.xp.hypot(a, b)
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (gy * a / y if need_a else None), (gy * b / y if need_b else None)


class NanToNum(Function):
    """nan, +inf and -inf replaced by numbers; the gradient passes where x was finite."""

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        xp = backend.xp
        if self.needs_input_grad[0]:
            self.save_for_backward(xp.isfinite(x))
        return xp.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, gy):
        (finite,) = self.saved_tensors
        return where(finite._data, gy, 0.0)


# ---------------------------------------------------------------- functional API: rounding

def _rounding(cls, x, op, *args):
    require_tensor(x, op)
    kind = backend.kind(x._data.dtype)
    if kind == "b":
        raise DTypeError(f"{op}: not defined for bool tensors (as in PyTorch); convert with "
                         ".long() or .float() first")
    if kind != "f":
        return x._make(x._data.copy(), None)       # integers are already whole
    return cls(*args)(x)


def floor(input):
    """The largest integer <= x, elementwise (integers stay as they are); gradient 0.

    >>> import chainrule
    >>> chainrule.floor(chainrule.tensor([-1.5, 1.5])).tolist()
    [-2.0, 1.0]
    """
    return _rounding(Floor, input, "floor")


def ceil(input):
    """The smallest integer >= x, elementwise; gradient 0.

    >>> import chainrule
    >>> chainrule.ceil(chainrule.tensor([-1.5, 1.5])).tolist()
    [-1.0, 2.0]
    """
    return _rounding(Ceil, input, "ceil")


def trunc(input):
    """x rounded toward zero, elementwise; gradient 0. Also called ``fix``.

    >>> import chainrule
    >>> chainrule.trunc(chainrule.tensor([-1.5, 1.5])).tolist()
    [-1.0, 1.0]
    """
    return _rounding(Trunc, input, "trunc")


fix = trunc


def round(input, decimals=0):
    """Round half to even, to ``decimals`` decimal places (negative: tens, hundreds, ...);
    gradient 0. Integer tensors need ``decimals=0``, as in PyTorch.

    >>> import chainrule
    >>> chainrule.round(chainrule.tensor([0.5, 1.5, 2.5])).tolist()
    [0.0, 2.0, 2.0]
    >>> chainrule.round(chainrule.tensor([1234.5]), decimals=-2).tolist()
    [1200.0]
    """
    if isinstance(decimals, bool) or not isinstance(decimals, (int, numpy.integer)):
        raise ArgumentError(f"round: decimals must be an int, got {decimals!r}")
    require_tensor(input, "round")
    if decimals != 0 and backend.kind(input._data.dtype) != "f":
        raise DTypeError(f"round: decimals={decimals} needs a floating-point tensor, got "
                         f"{input.dtype} (as in PyTorch)")
    return _rounding(Round, input, "round", int(decimals))


def frac(input):
    """The fractional part x - trunc(x), with the sign of x; gradient 1 (PyTorch's).

    >>> import chainrule
    >>> chainrule.frac(chainrule.tensor([-1.25, 2.5])).tolist()
    [-0.25, 0.5]
    """
    require_tensor(input, "frac")
    _require_kind(input, "f", "frac", "a floating-point tensor (as in PyTorch)")
    return input - Trunc()(input)


# ---------------------------------------------------------------- functional API: division

def floor_divide(input, other):
    """Division rounded toward minus infinity (Python's ``//``); integers stay integers.
    Not differentiable, as in PyTorch: use ``div(a, b, rounding_mode="floor")``.

    >>> import chainrule
    >>> chainrule.floor_divide(chainrule.tensor([7, -7]), 2).tolist()
    [3, -4]
    """
    return FloorDivide()(*division_operands(input, other, "floor_divide"))


def remainder(input, other):
    """Python's modulus ``%``: the result has the sign of the divisor.
    d/dinput = 1, d/dother = -floor(input / other).

    >>> import chainrule
    >>> chainrule.remainder(chainrule.tensor([-3.0, 3.0]), 2).tolist()
    [1.0, 1.0]
    """
    return Remainder()(*division_operands(input, other, "remainder"))


def fmod(input, other):
    """C's fmod: the remainder with the sign of the dividend.
    d/dinput = 1, d/dother = -trunc(input / other).

    >>> import chainrule
    >>> chainrule.fmod(chainrule.tensor([-3.0, 3.0]), 2).tolist()
    [-1.0, 1.0]
    """
    require_tensor(input, "fmod")
    return Fmod()(*division_operands(input, other, "fmod"))


# ---------------------------------------------------------------- functional API: unary float

def _unary(cls, x, op):
    return cls()(_float_tensor(x, op))


def tan(input):
    """tan(x); derivative 1 + tan(x)^2.

    >>> import chainrule
    >>> chainrule.tan(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Tan, input, "tan")


def asin(input):
    """arcsin(x) (nan outside [-1, 1]); derivative 1 / sqrt(1 - x^2). Also ``arcsin``.

    >>> import chainrule
    >>> chainrule.asin(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Asin, input, "asin")


def acos(input):
    """arccos(x) (nan outside [-1, 1]); derivative -1 / sqrt(1 - x^2). Also ``arccos``.

    >>> import chainrule
    >>> chainrule.acos(chainrule.tensor([1.0])).tolist()
    [0.0]
    """
    return _unary(Acos, input, "acos")


def atan(input):
    """arctan(x); derivative 1 / (1 + x^2). Also ``arctan``.

    >>> import chainrule
    >>> chainrule.atan(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Atan, input, "atan")


def sinh(input):
    """sinh(x); derivative cosh(x).

    >>> import chainrule
    >>> chainrule.sinh(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Sinh, input, "sinh")


def cosh(input):
    """cosh(x); derivative sinh(x).

    >>> import chainrule
    >>> chainrule.cosh(chainrule.tensor([0.0])).tolist()
    [1.0]
    """
    return _unary(Cosh, input, "cosh")


def asinh(input):
    """arsinh(x); derivative 1 / sqrt(x^2 + 1). Also ``arcsinh``.

    >>> import chainrule
    >>> chainrule.asinh(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Asinh, input, "asinh")


def acosh(input):
    """arcosh(x) (nan below 1); derivative 1 / sqrt(x^2 - 1). Also ``arccosh``.

    >>> import chainrule
    >>> chainrule.acosh(chainrule.tensor([1.0])).tolist()
    [0.0]
    """
    return _unary(Acosh, input, "acosh")


def atanh(input):
    """artanh(x) (+-inf at +-1, nan outside); derivative 1 / (1 - x^2). Also ``arctanh``.

    >>> import chainrule
    >>> chainrule.atanh(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Atanh, input, "atanh")


def sinc(input):
    """The normalized sinc, sin(pi x) / (pi x), 1 at 0.

    >>> import chainrule
    >>> chainrule.sinc(chainrule.tensor([0.0, 1.0])).tolist()[0]
    1.0
    """
    return _unary(Sinc, input, "sinc")


def log2(input):
    """The base-2 logarithm; derivative 1 / (x ln 2).

    >>> import chainrule
    >>> chainrule.log2(chainrule.tensor([8.0])).tolist()
    [3.0]
    """
    return _unary(Log2, input, "log2")


def log10(input):
    """The base-10 logarithm; derivative 1 / (x ln 10).

    >>> import chainrule
    >>> chainrule.log10(chainrule.tensor([100.0])).tolist()
    [2.0]
    """
    return _unary(Log10, input, "log10")


def exp2(input):
    """2^x; derivative 2^x ln 2.

    >>> import chainrule
    >>> chainrule.exp2(chainrule.tensor([3.0])).tolist()
    [8.0]
    """
    return _unary(Exp2, input, "exp2")


def expm1(input):
    """e^x - 1, accurate near 0; derivative e^x.

    >>> import chainrule
    >>> chainrule.expm1(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Expm1, input, "expm1")


def logit(input, eps=None):
    """log(p / (1 - p)), the inverse of sigmoid. With ``eps``, p is clamped to
    [eps, 1 - eps] first (a negative eps clamps nothing, as in PyTorch).

    >>> import chainrule
    >>> chainrule.logit(chainrule.tensor([0.5])).tolist()
    [0.0]
    """
    x = _float_tensor(input, "logit")
    if eps is not None:
        if isinstance(eps, bool) or not isinstance(eps, (int, float, numpy.number)):
            raise ArgumentError(f"logit: eps must be a number or None, got {eps!r}")
        eps = float(eps)
    return Logit(eps)(x)


# ---------------------------------------------------------------- functional API: binary float

def _float_operands(a, b, op, tensors_only=False, integers="promote"):
    """Both operands in PyTorch's promoted dtype, made floating. ``tensors_only``: PyTorch
    accepts no Python number here; ``integers="refuse"``: PyTorch has no integer kernel."""
    if tensors_only:
        require_tensor(a, op)
        require_tensor(b, op, "other")
    a, b = operands(a, b, op)
    if backend.kind(a._data.dtype) != "f":
        if integers == "refuse":
            raise DTypeError(f"{op}: needs floating-point tensors, got {a.dtype} (as in "
                             "PyTorch); convert with .float()")
        a, b = as_floating(a), as_floating(b)
    return a, b


def atan2(input, other):
    """The angle of the point (other, input), in (-pi, pi]. Also ``arctan2``.

    >>> import chainrule
    >>> f"{chainrule.atan2(chainrule.tensor([1.0]), chainrule.tensor([0.0])).item():.4f}"
    '1.5708'
    """
    return Atan2()(*_float_operands(input, other, "atan2", tensors_only=True))


def xlogy(input, other):
    """input * log(other), 0 where input is 0 (unless other is nan); either may be a
    number.

    >>> import chainrule
    >>> chainrule.xlogy(chainrule.tensor([0.0, 2.0]), chainrule.tensor([0.0, 1.0])).tolist()
    [0.0, 0.0]
    """
    return Xlogy()(*_float_operands(input, other, "xlogy"))


def copysign(input, other):
    """|input| with the sign of other (-0.0 counts as negative); integers become float.

    >>> import chainrule
    >>> chainrule.copysign(chainrule.tensor([1.0, -2.0]), -1.0).tolist()
    [-1.0, -2.0]
    """
    require_tensor(input, "copysign")
    return Copysign()(*_float_operands(input, other, "copysign"))


def logaddexp(input, other):
    """log(e^input + e^other), without overflow.

    >>> import chainrule
    >>> f"{chainrule.logaddexp(chainrule.tensor([0.0]), chainrule.tensor([0.0])).item():.4f}"
    '0.6931'
    """
    return LogAddExp()(*_float_operands(input, other, "logaddexp", True, "refuse"))


def logaddexp2(input, other):
    """log2(2^input + 2^other), without overflow.

    >>> import chainrule
    >>> chainrule.logaddexp2(chainrule.tensor([1.0]), chainrule.tensor([1.0])).tolist()
    [2.0]
    """
    return LogAddExp2()(*_float_operands(input, other, "logaddexp2", True, "refuse"))


def hypot(input, other):
    """sqrt(input^2 + other^2), without overflow.

    >>> import chainrule
    >>> chainrule.hypot(chainrule.tensor([3.0]), chainrule.tensor([4.0])).tolist()
    [5.0]
    """
    return Hypot()(*_float_operands(input, other, "hypot", True, "refuse"))


def float_power(input, exponent):
    """input ** exponent computed in float64 (the result is always float64, as in PyTorch);
    the gradient comes back in each input's own dtype.

    >>> import chainrule
    >>> y = chainrule.float_power(chainrule.tensor([2.0]), 3)
    >>> y.dtype, y.tolist()
    (dtype('float64'), [8.0])
    """
    if not isinstance(input, TensorBase) and not isinstance(exponent, TensorBase):
        raise DTypeError("float_power: expected at least one tensor argument, got "
                         f"{type(input).__name__} and {type(exponent).__name__}")
    double = numpy.dtype(numpy.float64)
    if isinstance(input, TensorBase):
        input = cast(input, double)
    if isinstance(exponent, TensorBase):
        exponent = cast(exponent, double)
    elif isinstance(exponent, (int, numpy.integer)) and not isinstance(exponent, bool):
        exponent = float(exponent)
    return pow(input, exponent)


def lerp(input, end, weight):
    """input + weight * (end - input); ``weight`` a number or a tensor. The tensors must be
    floating and of one dtype (PyTorch does not promote here; a 0-d weight may differ).

    >>> import chainrule
    >>> chainrule.lerp(chainrule.tensor([0.0]), chainrule.tensor([10.0]), 0.25).tolist()
    [2.5]
    """
    require_tensor(input, "lerp")
    require_tensor(end, "lerp", "end")
    dtype = input._data.dtype
    _require_kind(input, "f", "lerp", "floating-point tensors")
    if end._data.dtype != dtype:
        raise DTypeError(f"lerp: expected dtype {dtype} for end but got {end.dtype}")
    if isinstance(weight, TensorBase):
        if weight._data.dtype != dtype:
            if weight._data.ndim or backend.kind(weight._data.dtype) != "f":   # a 0-d float one is a
                raise DTypeError(f"lerp: expected dtype {dtype} for weight but got "  # number
                                 f"{weight.dtype}")
            weight = cast(weight, dtype)
    elif isinstance(weight, bool) or not isinstance(weight, (int, float, numpy.number)):
        raise ArgumentError(f"lerp: weight must be a number or a tensor, got "
                            f"{type(weight).__name__}")
    else:
        weight = input._make(backend.xp.asarray(weight, dtype=dtype), None)
    broadcast_check(input, end, "lerp")
    broadcast_check(input, weight, "lerp")
    broadcast_check(end, weight, "lerp")
    return Lerp()(input, end, weight)


# ---------------------------------------------------------------- functional API: the rest

def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """nan -> ``nan``, +inf -> ``posinf`` and -inf -> ``neginf`` (by default the largest and
    smallest finite values of the dtype); integer and bool tensors are copied unchanged.

    >>> import chainrule
    >>> chainrule.nan_to_num(chainrule.tensor([float("nan"), 1.0]), nan=-1.0).tolist()
    [-1.0, 1.0]
    """
    require_tensor(input, "nan_to_num")
    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, (int, float, numpy.number))):
            raise ArgumentError(f"nan_to_num: {name} must be a number or None, got {value!r}")
    if backend.kind(input._data.dtype) != "f":
        return input._make(input._data.copy(), None)
    return NanToNum(0.0 if nan is None else nan, posinf, neginf)(input)


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh

__all__ = ["floor", "ceil", "trunc", "fix", "round", "frac", "floor_divide", "remainder",
           "fmod", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh",
           "atanh", "sinc", "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh",
           "arctanh", "log2", "log10", "exp2", "expm1", "logit", "xlogy", "copysign",
           "logaddexp", "logaddexp2", "hypot", "float_power", "lerp", "nan_to_num"]


# ================================================================ issue 19: vocabulary gaps
# addcmul, addcdiv, fmax, fmin, gcd, lcm, heaviside, deg2rad, rad2deg, frexp, ldexp,
# nextafter, isreal (i0 lives in special.py beside the other SciPy functions).
from .arithmetic import mul as _mul, div as _div  # noqa: E402
from .cast import cast as _cast  # noqa: E402
import collections  # noqa: E402

_FrexpResult = collections.namedtuple("frexp", ["mantissa", "exponent"])   # torch.return_types


def _three_operands(input, tensor1, tensor2, op):
    """The three tensors of addcmul/addcdiv in their common promoted dtype."""
    for name, t in (("input", input), ("tensor1", tensor1), ("tensor2", tensor2)):
        require_tensor(t, op, name)
    a, b = operands(tensor1, tensor2, op)
    x, a = operands(input, a, op)
    return x, _cast_like(a, x), _cast_like(b, x)


def _cast_like(t, like):
    return t if t._data.dtype == like._data.dtype else _cast(t, like._data.dtype)


def _scale(value, dtype, op):
    if isinstance(value, TensorBase):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, numpy.number)):
        raise ArgumentError(f"{op}: value must be a number, got {type(value).__name__}")
    return int(value) if backend.kind(dtype) in "iub" else value  # PyTorch truncates for ints


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2 (broadcast, PyTorch's type promotion).

    >>> import chainrule
    >>> t = chainrule.tensor([1.0, 2.0])
    >>> chainrule.addcmul(t, t, t, value=0.5).tolist()
    [1.5, 4.0]
    """
    x, a, b = _three_operands(input, tensor1, tensor2, "addcmul")
    broadcast_check(x, a, "addcmul")
    value = _scale(value, x._data.dtype, "addcmul")
    product = _mul(a, b)
    return x + (product if value == 1 else product * value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2; integer tensor1 and tensor2 are refused, as in
    PyTorch (it no longer divides integers here).

    >>> import chainrule
    >>> t = chainrule.tensor([1.0, 2.0])
    >>> chainrule.addcdiv(t, t, t, value=2).tolist()
    [3.0, 4.0]
    """
    for name, t in (("tensor1", tensor1), ("tensor2", tensor2)):
        require_tensor(t, "addcdiv", name)
        if backend.kind(t._data.dtype) in "iub":
            raise DTypeError("addcdiv: integer division with addcdiv is not supported (as in "
                             f"PyTorch); {name} is {t.dtype}: use input + value * tensor1 / "
                             "tensor2")
    x, a, b = _three_operands(input, tensor1, tensor2, "addcdiv")
    broadcast_check(x, a, "addcdiv")
    value = _scale(value, x._data.dtype, "addcdiv")
    quotient = _div(a, b)
    return x + (quotient if value == 1 else quotient * value)


class _NanIgnoringExtremum(Function):
    """fmax/fmin: the larger (smaller) value, the other one where one is nan. The gradient
    goes to input where input wins or ties, or other is nan (PyTorch's rule), else to other."""

    def __init__(self, larger):
        self.larger = larger

    def forward(self, a, b):
        xp = backend.xp
        y = (xp.fmax if self.larger else xp.fmin)(a, b)
        if any(self.needs_input_grad):
            wins = (a >= b) if self.larger else (a <= b)
            self.save_for_backward(wins | xp.isnan(b))
        return y

    def backward(self, gy):
        (to_input,) = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (where(to_input._data, gy, 0.0) if need_a else None,
                where(to_input._data, 0.0, gy) if need_b else None)


def fmax(input, other):
    """The elementwise maximum, ignoring nan (nan only where both are nan).

    >>> import chainrule
    >>> nan = float("nan")
    >>> chainrule.fmax(chainrule.tensor([1.0, nan]), chainrule.tensor([nan, 2.0])).tolist()
    [1.0, 2.0]
    """
    return _NanIgnoringExtremum(True)(*operands(require_tensor(input, "fmax"),
                                                require_tensor(other, "fmax", "other"), "fmax"))


def fmin(input, other):
    """The elementwise minimum, ignoring nan (nan only where both are nan).

    >>> import chainrule
    >>> nan = float("nan")
    >>> chainrule.fmin(chainrule.tensor([1.0, nan]), chainrule.tensor([nan, 2.0])).tolist()
    [1.0, 2.0]
    """
    return _NanIgnoringExtremum(False)(*operands(require_tensor(input, "fmin"),
                                                 require_tensor(other, "fmin", "other"), "fmin"))


def _integer_operands(input, other, op):
    a, b = operands(require_tensor(input, op), other, op)
    if backend.kind(a._data.dtype) not in "iu":
        raise DTypeError(f"{op}: needs integer tensors (as in PyTorch), got {a.dtype}")
    return a, b


def gcd(input, other):
    """The greatest common divisor, non-negative (gcd(0, 0) = 0); integer tensors only.

    >>> import chainrule
    >>> chainrule.gcd(chainrule.tensor([-4, 0, 6]), chainrule.tensor([6, 0, -9])).tolist()
    [2, 0, 3]
    """
    a, b = _integer_operands(input, other, "gcd")
    return a._make(backend.xp.gcd(a._data, b._data), None)


def lcm(input, other):
    """The least common multiple, non-negative (0 when either is 0); integer tensors only.

    >>> import chainrule
    >>> chainrule.lcm(chainrule.tensor([-4, 0, 6]), chainrule.tensor([6, 0, -9])).tolist()
    [12, 0, 18]
    """
    a, b = _integer_operands(input, other, "lcm")
    return a._make(backend.xp.lcm(a._data, b._data), None)


class Heaviside(Function):
    """The step function; PyTorch records it but has no derivative for it, so backward
    raises (as floor_divide's)."""

    def forward(self, x, values):
        xp = backend.xp
        return xp.asarray(xp.where(x == 0, values, (x > 0).astype(x.dtype)), dtype=x.dtype)

    def backward(self, gy):
        raise GraphError("heaviside: the derivative is not implemented (as in PyTorch)")


def heaviside(input, values):
    """0 where input < 0, ``values`` where input == 0, 1 where input > 0. Both tensors must
    have one dtype, as in PyTorch (which has no derivative for it: backward raises).

    >>> import chainrule
    >>> chainrule.heaviside(chainrule.tensor([-1.0, 0.0, 2.0]), chainrule.tensor(0.5)).tolist()
    [0.0, 0.5, 1.0]
    """
    require_tensor(input, "heaviside")
    require_tensor(values, "heaviside", "values")
    if input._data.dtype != values._data.dtype:
        raise DTypeError(f"heaviside: input ({input.dtype}) and values ({values.dtype}) must "
                         "have the same dtype (as in PyTorch)")
    broadcast_check(input, values, "heaviside")
    return Heaviside()(input, values)


def deg2rad(input):
    """Degrees to radians (integers become float32).

    >>> import chainrule
    >>> f"{chainrule.deg2rad(chainrule.tensor([180.0])).item():.5f}"
    '3.14159'
    """
    return _float_tensor(input, "deg2rad") * (math.pi / 180.0)


def rad2deg(input):
    """Radians to degrees (integers become float32).

    >>> import chainrule
    >>> chainrule.rad2deg(chainrule.tensor([math.pi])).tolist()
    [180.0]
    """
    return _float_tensor(input, "rad2deg") * (180.0 / math.pi)


class Frexp(Function):
    """The mantissa in [0.5, 1) and the int32 exponent with x = mantissa * 2^exponent;
    d mantissa / dx = 2^-exponent (the exponent has no gradient)."""

    def forward(self, x):
        mantissa, exponent = backend.xp.frexp(x)
        self.save_for_backward(backend.xp.astype(exponent, x.dtype, copy=False))
        return mantissa

    def backward(self, gy):
        (exponent,) = self.saved_tensors
        return gy * exp2(-exponent)


def frexp(input):
    """``(mantissa, exponent)`` with input = mantissa * 2**exponent; floating tensors only.

    >>> import chainrule
    >>> m, e = chainrule.frexp(chainrule.tensor([8.0, -3.0]))
    >>> m.tolist(), e.tolist()
    ([0.5, -0.75], [4, 2])
    """
    require_tensor(input, "frexp")
    if not backend.is_floating(input._data.dtype):
        raise DTypeError(f"frexp: only supports floating-point dtypes, got {input.dtype}")
    exponent = backend.xp.astype(backend.xp.frexp(input._data)[1], numpy.int32, copy=False)
    return _FrexpResult(Frexp()(input), input._make(exponent, None))


def ldexp(input, other):
    """input * 2**other, in floating point (integers become float32).

    >>> import chainrule
    >>> chainrule.ldexp(chainrule.tensor([1.0]), chainrule.tensor([3])).tolist()
    [8.0]
    """
    require_tensor(input, "ldexp")
    require_tensor(other, "ldexp", "other")
    return _mul(input, exp2(other))


class Nextafter(Function):
    """The next representable float after input toward other; PyTorch passes the gradient
    to input unchanged and gives other zero."""

    def forward(self, a, b):
        return backend.xp.nextafter(a, b)

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        return (gy if need_a else None), (zeros_gradient(gy) if need_b else None)


def nextafter(input, other):
    """The next floating-point value after input toward other.

    >>> import chainrule
    >>> x = chainrule.tensor([1.0], dtype=chainrule.float64)
    >>> (chainrule.nextafter(x, x + 1) - 1).item() == 2.0 ** -52
    True
    """
    a, b = operands(require_tensor(input, "nextafter"),
                    require_tensor(other, "nextafter", "other"), "nextafter")
    if not backend.is_floating(a._data.dtype):
        raise DTypeError(f"nextafter: needs floating-point tensors (as in PyTorch), got "
                         f"{a.dtype}")
    return Nextafter()(a, b)


def isreal(input):
    """True everywhere: chainrule's tensors hold no complex numbers.

    >>> import chainrule
    >>> chainrule.isreal(chainrule.tensor([1.0, 2.0])).tolist()
    [True, True]
    """
    require_tensor(input, "isreal")
    return input._make(backend.xp.ones(input._data.shape, dtype=bool), None)


__all__ += ["addcmul", "addcdiv", "fmax", "fmin", "gcd", "lcm", "heaviside", "deg2rad",
            "rad2deg", "frexp", "ldexp", "nextafter", "isreal"]
