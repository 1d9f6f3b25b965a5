"""Elementwise arithmetic: add, sub, mul, div, pow, exp, log, sqrt, abs, sin, cos, ...

Each gate saves only what its derivative reads, and only for inputs that want a gradient
(``x * 2`` saves the 2, not x). A gradient may keep the broadcast shape: the engine sums it
back to the input's shape.

The commonest gates (mul, sub, neg, div, x ** 2) compute their gradients on the arrays when
the backward pass is not itself recorded (no create_graph): the same values as their
formula in chainrule ops, without the dispatch of an op per product (a third of a small
graph's backward).
"""
import math

import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..autograd.broadcast import broadcast_shapes
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor_base import TensorBase
from ._util import (as_floating, broadcast_check, check_fits, constant_array, operands,
                    require_tensor, result_dtype)
from .cast import cast


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """Kept as a gate for speed: a - b in one node instead of add(a, neg(b))."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        if not self.needs_input_grad[1]:
            return gy, None
        return gy, (-gy if state.enabled else gy._make(-gy._data, None))


class Mul(Function):
    def forward(self, a, b):
        # d/da reads b and d/db reads a: keep only what a wanted gradient needs
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)
        return a * b

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        if not state.enabled:               # not recorded: the same products, on arrays
            a, b = self.saved_arrays
            g = gy._data
            return (gy._make(g * b, None) if need_a else None,
                    gy._make(g * a, None) if need_b else None)
        a, b = self.saved_tensors
        return (gy * b if need_a else None), (gy * a if need_b else None)


class Div(Function):
    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b)
        return a / b

    def backward(self, gy):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        if not state.enabled:               # not recorded: the same values, on arrays
            g, bs = gy._data, b._data
            return (gy._make(g / bs, None) if need_a else None,
                    gy._make(-g * ((a._data / bs) / bs), None) if need_b else None)
        ga = gy / b if need_a else None
        gb = -gy * ((a / b) / b) if need_b else None      # PyTorch's form of -gy a / b^2
        return ga, gb


class RoundingDivide(Function):
    """``div(a, b, rounding_mode="trunc" | "floor")``: the gradient is 0 for both inputs
    (PyTorch's rule for a rounded quotient)."""

    def __init__(self, mode):
        self.mode = mode

    def forward(self, a, b):
        xp = backend.xp
        with numpy.errstate(all="ignore"):          # x / 0 is inf or nan, as in PyTorch
            if self.mode == "floor":
                return xp.floor_divide(a, b)
            if backend.kind(a.dtype) == "f":
                return xp.trunc(a / b)
            floor = xp.floor_divide(a, b)     # integers: floor, moved toward 0 where inexact
            inexact = (xp.remainder(a, b) != 0) & ((a < 0) != (b < 0))
            return floor + backend.xp.astype(inexact, floor.dtype)

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        return (zeros_gradient(gy) if need_a else None), (zeros_gradient(gy) if need_b else None)


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy if state.enabled else gy._make(-gy._data, None)


class Pow(Function):
    """a ** b with a tensor exponent: d/da = b a^(b-1) (0 where b = 0), d/db = a^b log a
    (0 where a = 0 and b >= 0) — PyTorch's conventions, finite at 0**b and a**0."""

    def forward(self, a, b):
        y = a ** b if backend.kind(a.dtype) not in "iu" else _integer_power(a, b)
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a, b, y if need_b else None)
        return y

    def backward(self, gy):
        a, b, y = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        if need_a:
            ga = where(b._data == 0, 0.0, gy * b * a ** (b - 1))
        if need_b:       # PyTorch's masked formula (its second derivative is nan at 0 too)
            zero_base = (a._data == 0) & (b._data >= 0)
            with numpy.errstate(divide="ignore", invalid="ignore"):
                gb = gy * where(zero_base, 0.0, y * log(a))
        return ga, gb


def _integer_power(a, b):
    """a ** b for integers with PyTorch's answer at negative exponents (NumPy refuses them):
    1 for a base of 1, +-1 for -1, else 0."""
    xp = backend.xp
    negative = b < 0
    if not negative.any():
        return a ** b
    y = a ** xp.where(negative, 0, b)
    odd = (b % 2) != 0
    small = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(y.dtype)
    return xp.where(negative, small, y)


class PowScalar(Function):
    """x ** c for a constant c: d/dx = c x^(c-1) (0 when c = 0, as PyTorch)."""

    __slots__ = ("exponent",)

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        self.save_for_backward(x)
        c = self.exponent
        if c in (3, -0.5, -2) and backend.kind(x.dtype) == "f":
            # PyTorch's special cases (x*x*x, rsqrt, 1/(x*x)): the same last bit, and the
            # same sign of infinity at -0.0
            with numpy.errstate(divide="ignore"):
                if c == 3:
                    return x * x * x
                return 1 / backend.xp.sqrt(x) if c == -0.5 else 1 / (x * x)
        return x ** c

    def backward(self, gy):
        (x,) = self.saved_tensors
        c = self.exponent
        if c == 0:
            return gy * 0.0 if state.enabled else gy._make(gy._data * 0.0, None)
        # PyTorch's pow_backward: grad * (c * x^(c-1)), rounded in that order ((grad * c) *
        # x^(c-1) differs in the last bit, and overflows where grad * c does)
        if c == 2 and not state.enabled:
            data = x._data
            return gy._make(gy._data * (data + data), None)     # 2 * x, exactly
        return gy * (c * x ** (c - 1))


class Exp(Function):
    def forward(self, x):
        y = backend.xp.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * y


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.log(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / x


class Log1p(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.log1p(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy / (x + 1)


class Sqrt(Function):
    def forward(self, x):
        y = backend.xp.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy / (y * 2)


class Abs(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.abs(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * sign(x)


class Sign(Function):
    """-1, 0 or 1 (0 for nan and -0.0, as PyTorch's (0 < x) - (x < 0)); its derivative is 0
    everywhere it is defined, and PyTorch gives 0 at 0 too."""

    def forward(self, x):
        return backend.xp.astype(x > 0, x.dtype) - backend.xp.astype(x < 0, x.dtype)

    def backward(self, gy):
        return zeros_gradient(gy)


class Sin(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.sin(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * cos(x)


class Cos(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.cos(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * -sin(x)


class Erf(Function):
    """The error function: d/dx erf(x) = 2/sqrt(pi) exp(-x^2)."""

    def forward(self, x):
        self.save_for_backward(x)
        return erf_array(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * (2.0 / math.sqrt(math.pi)) * exp(-(x * x))


class PassWhere(Function):
    """gy where a constant bool mask holds, else +0.0: the masked gradient of PyTorch's
    piecewise kernels (``cond ? grad : 0``), which an infinite or negative gy does not turn
    into nan or -0.0 as ``gy * mask`` would. Linear in gy: its backward is itself."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, gy):
        return backend_helpers.keep_where(gy, self.mask)

    def backward(self, g):
        return PassWhere(self.mask)(g)


class Maximum(Function):
    """Elementwise max; at ties each side gets half the gradient, and where either is NaN
    both get all of it (PyTorch's rule)."""

    def forward(self, a, b):
        if True in self.needs_input_grad:
            self.save_for_backward(*_shares(a, b, a < b, a > b, self.needs_input_grad))
        return backend.xp.maximum(a, b)

    def backward(self, gy):
        return _shared_gradients(gy, *self.saved_tensors)


class Minimum(Function):
    """Elementwise min; ties share the gradient as in :class:`Maximum`."""

    def forward(self, a, b):
        if True in self.needs_input_grad:
            self.save_for_backward(*_shares(a, b, a > b, a < b, self.needs_input_grad))
        return backend.xp.minimum(a, b)

    def backward(self, gy):
        return _shared_gradients(gy, *self.saved_tensors)


def _shared_gradients(gy, share_a, share_b):
    """gy times each side's share, +0.0 where the side lost (PyTorch masks it there: an
    infinite gy gives 0, not inf * 0 = nan); None for a side that wants no gradient."""
    return tuple(None if share is None else PassWhere(share._data != 0)(gy) * share
                 for share in (share_a, share_b))


def _shares(a, b, a_loses, b_loses, wanted):
    """The fraction of the gradient each side of a max/min gets: 1 if it was chosen (or
    nothing was, at NaN), 0 if the other was, 1/2 at a tie; None for a side not ``wanted``."""
    xp = backend.xp
    dtype = a.dtype if backend.kind(a.dtype) == "f" else backend.default_float
    tie = a == b
    return tuple(xp.where(tie, 0.5, xp.astype(~loses, dtype)) if want else None
                 for loses, want in zip((a_loses, b_loses), wanted))


class Clamp(Function):
    """Kept as a gate for PyTorch's boundary rule: minimum(maximum(x, low), high) would give
    half the gradient at x == low (a tie); clamp gives all of it.

    Clip to [low, high]; the gradient passes where low <= x <= high.
    """

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        if self.needs_input_grad[0]:
            low, high = self.low, self.high
            inside = (x >= low) if low is not None else None
            if high is not None:
                inside = (x <= high) if inside is None else inside & (x <= high)
            self.save_for_backward(inside)
        return backend.xp.clip(x, self.low, self.high)

    def backward(self, gy):
        (inside,) = self.saved_tensors
        return PassWhere(inside._data)(gy)


class ClampTensor(Function):
    """min(max(x, low), high) with tensor bounds and PyTorch's gradients: x gets it where
    low <= x <= high, low where x < low < high, high where x > high or high < low."""

    def forward(self, x, low, high):
        xp = backend.xp
        if True in self.needs_input_grad:
            self.save_for_backward(x, low, high)
        return xp.minimum(xp.maximum(x, low), high)

    def backward(self, gy):
        x, low, high = (t._data for t in self.saved_tensors)
        need_x, need_low, need_high = self.needs_input_grad
        gx = where((x >= low) & (x <= high), gy, 0.0) if need_x else None
        g_low = where((x < low) & (low < high), gy, 0.0) if need_low else None
        g_high = where((x > high) | (high < low), gy, 0.0) if need_high else None
        return gx, g_low, g_high


class ClampMinTensor(Function):
    """max(x, low) with a tensor bound: x gets the gradient where x >= low (ties included),
    low where x < low (PyTorch's rule; nan in either gives nan and no gradient)."""

    def forward(self, x, low):
        xp = backend.xp
        if True in self.needs_input_grad:
            self.save_for_backward(x, low)
        return xp.maximum(x, low)

    def backward(self, gy):
        x, low = (t._data for t in self.saved_tensors)
        need_x, need_low = self.needs_input_grad
        return ((where(x >= low, gy, 0.0) if need_x else None),
                (where(x < low, gy, 0.0) if need_low else None))


class ClampMaxTensor(Function):
    """min(x, high) with a tensor bound: x gets the gradient where x <= high, high where
    x > high (PyTorch's rule)."""

    def forward(self, x, high):
        xp = backend.xp
        if True in self.needs_input_grad:
            self.save_for_backward(x, high)
        return xp.minimum(x, high)

    def backward(self, gy):
        x, high = (t._data for t in self.saved_tensors)
        need_x, need_high = self.needs_input_grad
        return ((where(x <= high, gy, 0.0) if need_x else None),
                (where(x > high, gy, 0.0) if need_high else None))


class Where(Function):
    """``where(condition, a, b)``: condition is a constant mask; a and b get the gradient
    where they were chosen."""

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return backend.xp.where(self.condition, a, b)

    def backward(self, gy):
        need_a, need_b = self.needs_input_grad
        zero = gy._make(backend.xp.zeros((), dtype=gy.dtype), None)
        ga = Where(self.condition)(gy, zero) if need_a else None
        gb = Where(self.condition)(zero, gy) if need_b else None
        return ga, gb


def zeros_gradient(gy):
    """PyTorch's ``zeros_like(grad)`` for a step function: a zero gradient that stays 0 even
    where the upstream gradient is nan or inf."""
    return gy._make(backend.xp.zeros_like(gy._data), None)


def erf_array(x):
    """erf on an array: SciPy's when installed, else the standard library's, elementwise."""
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:
        vectorized = numpy.frompyfunc(math.erf, 1, 1)
        return backend.xp.asarray(vectorized(backend.to_numpy(x)).astype(x.dtype))
    return backend.xp.astype(backend_helpers.special("erf", x), x.dtype, copy=False)


# ---------------------------------------------------------------- functional API

def add(a, b, *, alpha=1):
    """``a + alpha * b`` with broadcasting.

    >>> import chainrule
    >>> chainrule.add(chainrule.tensor([1.0, 2.0]), 1.0).tolist()
    [2.0, 3.0]
    """
    if alpha != 1:
        check_fits(alpha, result_dtype(a, b), "add")
        b = mul(b, alpha)
    return Add()(*operands(a, b, "add"))


def sub(a, b, *, alpha=1):
    """``a - alpha * b`` with broadcasting.

    >>> import chainrule
    >>> (chainrule.tensor(3.0) - 1.0).item()
    2.0
    """
    if alpha != 1:
        check_fits(alpha, result_dtype(a, b), "sub")
        b = mul(b, alpha)
    return Sub()(*operands(a, b, "sub"))


def mul(a, b):
    """``a * b`` with broadcasting; d/da = b, d/db = a.

    >>> import chainrule
    >>> chainrule.mul(chainrule.tensor([2.0]), 3.0).tolist()
    [6.0]
    """
    return Mul()(*operands(a, b, "mul"))


def div(a, b, *, rounding_mode=None):
    """``a / b``: true division (integers give floats), or with ``rounding_mode="trunc"``
    (toward 0) or ``"floor"`` (toward minus infinity) the rounded quotient, integers kept
    and a zero gradient, as in PyTorch.

    >>> import chainrule
    >>> chainrule.div(chainrule.tensor([1, 2]), 2).tolist()
    [0.5, 1.0]
    >>> chainrule.div(chainrule.tensor([-7, 7]), 2, rounding_mode="trunc").tolist()
    [-3, 3]
    """
    if rounding_mode is not None:
        if rounding_mode not in ("trunc", "floor"):
            raise ArgumentError(f"div: rounding_mode must be one of None, 'trunc' or 'floor', "
                                f"got {rounding_mode!r}")
        return RoundingDivide(rounding_mode)(*division_operands(a, b, "div"))
    if type(b) is int and isinstance(a, TensorBase) and backend.kind(a._data.dtype) != "f":
        a = as_floating(a)                 # int8_tensor / 300 divides by 300, not by 44
    elif type(a) is int and isinstance(b, TensorBase) and backend.kind(b._data.dtype) != "f":
        b = as_floating(b)
    a, b = operands(a, b, "div")
    if backend.kind(a._data.dtype) != "f":                       # true division of integers
        a, b = as_floating(a), as_floating(b)
    return Div()(a, b)


true_divide = div


def division_operands(a, b, op):
    """Both operands of a rounding division (div with a mode, floor_divide, remainder, fmod)
    in PyTorch's promoted dtype: two bools are refused, and an integer division by zero
    raises (PyTorch raises ZeroDivisionError)."""
    a, b = operands(a, b, op)
    kind = backend.kind(a._data.dtype)
    if kind == "b":
        raise DTypeError(f"{op}: not defined for bool tensors (as in PyTorch); convert with "
                         ".long() first")
    if kind in "iu" and not backend.xp.all(b._data != 0):
        raise ArgumentError(f"{op}: integer division by zero (PyTorch raises "
                            "ZeroDivisionError); use floating-point tensors to get inf or nan")
    return a, b


def neg(x):
    """``-x``.

    >>> import chainrule
    >>> chainrule.neg(chainrule.tensor([1.0])).tolist()
    [-1.0]
    """
    if backend.kind(require_tensor(x, "neg")._data.dtype) == "b":
        raise DTypeError("neg: negation of a bool tensor is not supported (as in PyTorch); "
                         "to invert a mask use ~ or logical_not()")
    return Neg()(x)


def pow(x, exponent):
    """``x ** exponent``: a constant exponent or a tensor one (both differentiable).

    >>> import chainrule
    >>> chainrule.pow(chainrule.tensor([3.0]), 2).tolist()
    [9.0]
    """
    if isinstance(x, TensorBase) and isinstance(exponent, (int, float)) and \
            not isinstance(exponent, bool):
        kind = backend.kind(x._data.dtype)
        if kind != "f":
            if isinstance(exponent, float):
                x = as_floating(x)
            elif exponent < 0:
                raise ArgumentError(f"pow: integers to negative integer powers are not "
                                    f"allowed (a {x.dtype} tensor ** {exponent}, as in "
                                    "PyTorch); use a floating-point tensor")
            elif kind == "b":
                x = cast(x, numpy.int64)          # PyTorch: bool ** int is int64
            else:
                check_fits(exponent, x._data.dtype, "pow")
        return PowScalar(exponent)(x)
    x, exponent = operands(x, exponent, "pow")
    if backend.kind(x._data.dtype) == "b":
        raise DTypeError("pow: not defined for two bool operands (as in PyTorch); convert "
                         "with .long() first")
    return Pow()(x, exponent)


def _unary_float(cls, x, op):
    return cls()(as_floating(require_tensor(x, op)))


def exp(x):
    """e^x; its derivative is itself.

    >>> import chainrule
    >>> chainrule.exp(chainrule.tensor([0.0])).tolist()
    [1.0]
    """
    return _unary_float(Exp, x, "exp")


def log(x):
    """The natural logarithm; derivative 1/x.

    >>> import chainrule
    >>> chainrule.log(chainrule.tensor([1.0])).tolist()
    [0.0]
    """
    return _unary_float(Log, x, "log")


def log1p(x):
    """log(1 + x), accurate near 0.

    >>> import chainrule
    >>> chainrule.log1p(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary_float(Log1p, x, "log1p")


def sqrt(x):
    """The square root; derivative 1/(2 sqrt x).

    >>> import chainrule
    >>> chainrule.sqrt(chainrule.tensor([4.0])).tolist()
    [2.0]
    """
    return _unary_float(Sqrt, x, "sqrt")


def rsqrt(x):
    """1 / sqrt(x), as the composition x ** -0.5.

    >>> import chainrule
    >>> chainrule.rsqrt(chainrule.tensor([4.0])).tolist()
    [0.5]
    """
    return pow(as_floating(require_tensor(x, "rsqrt")), -0.5)


def abs(x):
    """|x|; derivative sign(x) (0 at 0, as PyTorch).

    >>> import chainrule
    >>> chainrule.abs(chainrule.tensor([-2.0])).tolist()
    [2.0]
    """
    if backend.kind(require_tensor(x, "abs")._data.dtype) == "b":
        raise DTypeError("abs: not defined for bool tensors (as in PyTorch)")
    return Abs()(x)


def sign(x):
    """-1, 0 or 1 elementwise (0 for nan; bool tensors stay as they are); gradient 0. Also
    called ``sgn`` (the same for real tensors).

    >>> import chainrule
    >>> chainrule.sign(chainrule.tensor([-2.0, 0.0])).tolist()
    [-1.0, 0.0]
    """
    if backend.kind(require_tensor(x, "sign")._data.dtype) == "b":
        return x._make(x._data.copy(), None)
    return Sign()(x)


def sin(x):
    """sin(x); derivative cos(x).

    >>> import chainrule
    >>> chainrule.sin(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary_float(Sin, x, "sin")


def cos(x):
    """cos(x); derivative -sin(x).

    >>> import chainrule
    >>> chainrule.cos(chainrule.tensor([0.0])).tolist()
    [1.0]
    """
    return _unary_float(Cos, x, "cos")


def erf(x):
    """The error function, differentiable: d/dx erf(x) = 2/sqrt(pi) exp(-x^2).

    >>> import chainrule
    >>> chainrule.erf(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary_float(Erf, x, "erf")


def maximum(a, b):
    """Elementwise larger of a and b (ties share the gradient).

    >>> import chainrule
    >>> chainrule.maximum(chainrule.tensor([1.0, 5.0]), chainrule.tensor(2.0)).tolist()
    [2.0, 5.0]
    """
    return Maximum()(*operands(a, b, "maximum"))


def minimum(a, b):
    """Elementwise smaller of a and b (ties share the gradient).

    >>> import chainrule
    >>> chainrule.minimum(chainrule.tensor([1.0, 5.0]), chainrule.tensor(2.0)).tolist()
    [1.0, 2.0]
    """
    return Minimum()(*operands(a, b, "minimum"))


def clamp(x, min=None, max=None):
    """Clip values to [min, max]; either bound may be None, a number or a tensor. The
    gradient is PyTorch's: x gets it where min <= x <= max (bounds included), a tensor bound
    where it was chosen. Also called ``clip``.

    >>> import chainrule
    >>> chainrule.clamp(chainrule.tensor([-2.0, 0.5, 3.0]), 0.0, 1.0).tolist()
    [0.0, 0.5, 1.0]
    >>> chainrule.clamp(chainrule.tensor([1.0, 5.0]), max=chainrule.tensor([2.0, 4.0])).tolist()
    [1.0, 4.0]
    """
    require_tensor(x, "clamp")
    if min is None and max is None:
        raise ArgumentError("clamp: at least one of min and max must not be None")
    if backend.kind(x._data.dtype) == "f" and type(min) in _FLOAT_BOUND and type(max) in _FLOAT_BOUND:
        return Clamp(min, max)(x)                  # the common case, without promotion
    x, low, high = _clamp_operands(x, min, max)
    if not isinstance(min, TensorBase) and not isinstance(max, TensorBase):
        return Clamp(None if low is None else low._data.item(),
                     None if high is None else high._data.item())(x)
    if high is None:
        return ClampMinTensor()(x, low)
    if low is None:
        return ClampMaxTensor()(x, high)
    broadcast_check(low, high, "clamp")
    return ClampTensor()(x, low, high)


_FLOAT_BOUND = (float, int, type(None))    # bounds that never change a float dtype


def _clamp_operands(x, low, high):
    """x and its bounds as tensors of PyTorch's promoted dtype (None stays None)."""
    for name, bound in (("min", low), ("max", high)):
        if bound is not None and not isinstance(bound, TensorBase) and (
                isinstance(bound, bool) or not isinstance(bound, (int, float, numpy.number))):
            raise ArgumentError(f"clamp: {name} must be a number, a tensor or None, got "
                                f"{type(bound).__name__}")
    dtype = result_dtype(x, *[b for b in (low, high) if b is not None])
    for bound in (low, high):
        check_fits(bound, dtype, "clamp")
    one_tensor_bound = (low is None) != (high is None) and isinstance(
        high if low is None else low, TensorBase)
    if backend.kind(dtype) == "b" and not one_tensor_bound:     # PyTorch has only that kernel
        raise DTypeError("clamp: bool tensors take a single tensor bound only (as in "
                         "PyTorch); convert with .long() first")
    x = cast(x, dtype)
    bounds = [None if b is None else cast(operands(x, b, "clamp")[1], dtype)
              for b in (low, high)]
    return x, bounds[0], bounds[1]


def clamp_min(x, min):
    """max(x, min) elementwise, ``min`` a number or a tensor (x gets the gradient at a tie,
    as in PyTorch).

    >>> import chainrule
    >>> chainrule.clamp_min(chainrule.tensor([-1.0, 2.0]), 0.0).tolist()
    [0.0, 2.0]
    """
    if min is None:
        raise ArgumentError("clamp_min: min must be a number or a tensor, not None")
    return clamp(x, min=min)


def clamp_max(x, max):
    """min(x, max) elementwise, ``max`` a number or a tensor (x gets the gradient at a tie,
    as in PyTorch).

    >>> import chainrule
    >>> chainrule.clamp_max(chainrule.tensor([-1.0, 2.0]), 0.0).tolist()
    [-1.0, 0.0]
    """
    if max is None:
        raise ArgumentError("clamp_max: max must be a number or a tensor, not None")
    return clamp(x, max=max)


clip = clamp


def where(condition, a, b):
    """Elementwise choice: ``a`` where condition holds, else ``b`` (gradients follow).

    >>> import chainrule
    >>> x = chainrule.tensor([-1.0, 2.0])
    >>> chainrule.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0]
    """
    mask = condition._data if isinstance(condition, TensorBase) else backend.xp.asarray(condition)
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        like = condition if isinstance(condition, TensorBase) else None
        if like is None:
            raise ArgumentError("where: give a tensor as condition or as one of the values")
        dtype = result_dtype(a, b)              # two Python numbers: PyTorch's default dtypes
        a = like._make(backend.xp.asarray(a, dtype=dtype), None)
        b = like._make(backend.xp.asarray(b, dtype=dtype), None)
    else:
        for value, other in ((a, b), (b, a)):
            if isinstance(other, TensorBase):
                check_fits(value, other._data.dtype, "where")
        a, b = operands(a, b, "where")
    shape = broadcast_check(a, b, "where")
    if mask.shape != shape:
        try:
            broadcast_shapes(mask.shape, shape)
        except ShapeError:
            raise ShapeError(f"where: a condition of shape {mask.shape} does not broadcast "
                             f"with values of shape {shape}") from None
    return Where(backend.xp.astype(mask, numpy.dtype(bool), copy=False))(a, b)


def square(x):
    """x ** 2 (bool tensors give int64, as in PyTorch).

    >>> import chainrule
    >>> chainrule.square(chainrule.tensor([3.0])).tolist()
    [9.0]
    """
    if backend.kind(require_tensor(x, "square")._data.dtype) == "b":
        x = cast(x, numpy.int64)
    return PowScalar(2)(x)


def reciprocal(x):
    """1 / x.

    >>> import chainrule
    >>> chainrule.reciprocal(chainrule.tensor([4.0])).tolist()
    [0.25]
    """
    return div(1.0, x)


# ---------------------------------------------------------------- comparisons (no gradient)

def _compare(ufunc_name, a, b):
    a, b = operands(a, b, ufunc_name)
    return a._make(getattr(backend.xp, ufunc_name)(a._data, b._data), None)


def eq(a, b):
    """``a == b`` elementwise, as a bool tensor.

    >>> import chainrule
    >>> chainrule.eq(chainrule.tensor([1, 2]), 2).tolist()
    [False, True]
    """
    return _compare("equal", a, b)


def ne(a, b):
    """``a != b`` elementwise."""
    return _compare("not_equal", a, b)


def lt(a, b):
    """``a < b`` elementwise."""
    return _compare("less", a, b)


def le(a, b):
    """``a <= b`` elementwise."""
    return _compare("less_equal", a, b)


def gt(a, b):
    """``a > b`` elementwise."""
    return _compare("greater", a, b)


def ge(a, b):
    """``a >= b`` elementwise."""
    return _compare("greater_equal", a, b)


__all__ = ["add", "sub", "mul", "div", "true_divide", "neg", "pow", "exp", "log", "log1p",
           "sqrt", "rsqrt", "abs", "sign", "sin", "cos", "maximum", "minimum", "clamp", "clip",
           "where", "square", "reciprocal", "erf", "eq", "ne", "lt", "le", "gt", "ge",
           "clamp_min", "clamp_max"]
