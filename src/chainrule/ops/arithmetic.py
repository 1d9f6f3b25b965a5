"""Elementwise arithmetic: add, sub, mul, div, pow, exp, log, sqrt, abs, sin, cos, ...

Each op's gradient is summed back to its input's shape with ``sum_to``, so broadcasting
needs no special care anywhere else.
"""
import math

from .. import backend
from ..autograd.function import Function
from ._util import operands, require_float
from .shape import sum_to, broadcast_to
from ..errors import ArgumentError


class Add(Function):
    saved_inputs = ()

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy, a.shape) if a.requires_grad else None,
                sum_to(gy, b.shape) if b.requires_grad else None)


class Sub(Function):
    saved_inputs = ()

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy, a.shape) if a.requires_grad else None,
                sum_to(-gy, b.shape) if b.requires_grad else None)


class Mul(Function):
    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy * b, a.shape) if a.requires_grad else None
        gb = sum_to(gy * a, b.shape) if b.requires_grad else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy / b, a.shape) if a.requires_grad else None
        gb = sum_to(-gy * a / (b * b), b.shape) if b.requires_grad else None
        return ga, gb


class Neg(Function):
    saved_inputs = ()

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """a ** b with a tensor exponent: d/da = b a^(b-1), d/db = a^b log a."""

    uses_output = True

    def forward(self, a, b):
        return a ** b

    def backward(self, gy):
        a, b = self.inputs
        ga = gb = None
        if a.requires_grad:
            ga = sum_to(gy * b * a ** (b - 1), a.shape)
        if b.requires_grad:
            # 0 ** b has no log; PyTorch (and the limit for b > 0) gives gradient 0 there
            safe_log = where(a.data != 0, log(where(a.data != 0, a, 1.0)), 0.0)
            gb = sum_to(gy * self.output * safe_log, b.shape)
        return ga, gb


class PowScalar(Function):
    """x ** c for a constant c: d/dx = c x^(c-1)."""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, gy):
        (x,) = self.inputs
        c = self.exponent
        if c == 0:
            return gy * 0.0
        if c == 2:
            return gy * 2.0 * x
        return gy * c * x ** (c - 1)


class Exp(Function):
    uses_output = True
    saved_inputs = ()

    def forward(self, x):
        return backend.xp.exp(x)

    def backward(self, gy):
        return gy * self.output


class Log(Function):
    def forward(self, x):
        return backend.xp.log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Log1p(Function):
    def forward(self, x):
        return backend.xp.log1p(x)

    def backward(self, gy):
        return gy / (1 + self.inputs[0])


class Sqrt(Function):
    uses_output = True
    saved_inputs = ()

    def forward(self, x):
        return backend.xp.sqrt(x)

    def backward(self, gy):
        return gy / (2 * self.output)


class Rsqrt(Function):
    uses_output = True
    saved_inputs = ()

    def forward(self, x):
        return 1 / backend.xp.sqrt(x)

    def backward(self, gy):
        y = self.output
        return gy * -0.5 * y * y * y


class Abs(Function):
    def forward(self, x):
        return backend.xp.abs(x)

    def backward(self, gy):
        return gy * sign(self.inputs[0])


class Sin(Function):
    def forward(self, x):
        return backend.xp.sin(x)

    def backward(self, gy):
        return gy * cos(self.inputs[0])


class Cos(Function):
    def forward(self, x):
        return backend.xp.cos(x)

    def backward(self, gy):
        return -gy * sin(self.inputs[0])


class Maximum(Function):
    """Elementwise max; at ties each side gets half the gradient (as PyTorch)."""

    def forward(self, a, b):
        return backend.xp.maximum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        share_a = _tie_share(a.data > b.data, a.data == b.data, gy.data.dtype)
        return sum_to(gy * share_a, a.shape), sum_to(gy * (1 - share_a), b.shape)


class Minimum(Function):
    def forward(self, a, b):
        return backend.xp.minimum(a, b)

    def backward(self, gy):
        a, b = self.inputs
        share_a = _tie_share(a.data < b.data, a.data == b.data, gy.data.dtype)
        return sum_to(gy * share_a, a.shape), sum_to(gy * (1 - share_a), b.shape)


def _tie_share(wins, ties, dtype):
    from ..tensor import Tensor
    share = wins.astype(dtype) + 0.5 * ties.astype(dtype)
    return Tensor._make(share, None)


class Clamp(Function):
    """Clip to [low, high]; the gradient passes where low <= x <= high (as PyTorch)."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        return backend.xp.clip(x, self.low, self.high)

    def backward(self, gy):
        x = self.inputs[0].data
        inside = backend.xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * _const(inside.astype(gy.data.dtype))


class Where(Function):
    """``where(condition, a, b)``: condition is a constant mask, a and b get the gradient
    where they were chosen."""

    saved_inputs = ()

    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        return backend.xp.where(self.condition, a, b)

    def backward(self, gy):
        a, b = self.inputs
        zero = _const(backend.xp.zeros((), dtype=gy.data.dtype))
        ga = sum_to(where(self.condition, gy, zero), a.shape) if a.requires_grad else None
        gb = sum_to(where(self.condition, zero, gy), b.shape) if b.requires_grad else None
        return ga, gb


def _const(array):
    from ..tensor import Tensor
    return Tensor._make(array, None)


# ---------------------------------------------------------------- functional API

def add(a, b):
    """``a + b`` with broadcasting.

    >>> import chainrule
    >>> chainrule.add(chainrule.tensor([1.0, 2.0]), 1.0).tolist()
    [2.0, 3.0]
    """
    return Add()(*operands(a, b))


def sub(a, b):
    """``a - b`` with broadcasting.

    >>> import chainrule
    >>> (chainrule.tensor(3.0) - 1.0).item()
    2.0
    """
    return Sub()(*operands(a, b))


def mul(a, b):
    """``a * b`` with broadcasting; d/da = b, d/db = a.

    >>> import chainrule
    >>> chainrule.mul(chainrule.tensor([2.0]), 3.0).tolist()
    [6.0]
    """
    return Mul()(*operands(a, b))


def div(a, b):
    """``a / b`` (true division: integers give floats).

    >>> import chainrule
    >>> chainrule.div(chainrule.tensor([1, 2]), 2).tolist()
    [0.5, 1.0]
    """
    a, b = operands(a, b)
    if a.data.dtype.kind != "f" and b.data.dtype.kind != "f":   # true division of integers
        a, b = a.to(backend.default_float), b.to(backend.default_float)
    return Div()(a, b)


def neg(x):
    """``-x``.

    >>> import chainrule
    >>> chainrule.neg(chainrule.tensor([1.0])).tolist()
    [-1.0]
    """
    return Neg()(x)


def pow(x, exponent):
    """``x ** exponent``: a constant exponent or a tensor one (both differentiable).

    >>> import chainrule
    >>> chainrule.pow(chainrule.tensor([3.0]), 2).tolist()
    [9.0]
    """
    if isinstance(exponent, (int, float)):
        if isinstance(exponent, float) and x.data.dtype.kind != "f":
            x = x.to(backend.default_float)
        return PowScalar(exponent)(x)
    return Pow()(*operands(x, exponent))


def exp(x):
    """e^x; its derivative is itself.

    >>> import chainrule
    >>> chainrule.exp(chainrule.tensor([0.0])).tolist()
    [1.0]
    """
    require_float(x, "exp")
    return Exp()(x)


def log(x):
    """The natural logarithm; derivative 1/x.

    >>> import chainrule
    >>> chainrule.log(chainrule.tensor([1.0])).tolist()
    [0.0]
    """
    require_float(x, "log")
    return Log()(x)


def log1p(x):
    """log(1 + x), accurate near 0.

    >>> import chainrule
    >>> chainrule.log1p(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    require_float(x, "log1p")
    return Log1p()(x)


def sqrt(x):
    """The square root; derivative 1/(2 sqrt x).

    >>> import chainrule
    >>> chainrule.sqrt(chainrule.tensor([4.0])).tolist()
    [2.0]
    """
    require_float(x, "sqrt")
    return Sqrt()(x)


def rsqrt(x):
    """1 / sqrt(x).

    >>> import chainrule
    >>> chainrule.rsqrt(chainrule.tensor([4.0])).tolist()
    [0.5]
    """
    require_float(x, "rsqrt")
    return Rsqrt()(x)


def abs(x):
    """|x|; derivative sign(x).

    >>> import chainrule
    >>> chainrule.abs(chainrule.tensor([-2.0])).tolist()
    [2.0]
    """
    return Abs()(x)


def sign(x):
    """-1, 0 or 1 elementwise. Its derivative is 0 almost everywhere, so it records no graph.

    >>> import chainrule
    >>> chainrule.sign(chainrule.tensor([-2.0, 0.0])).tolist()
    [-1.0, 0.0]
    """
    return _const(backend.xp.sign(x.data))


def sin(x):
    """sin(x); derivative cos(x).

    >>> import chainrule
    >>> chainrule.sin(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    require_float(x, "sin")
    return Sin()(x)


def cos(x):
    """cos(x); derivative -sin(x).

    >>> import chainrule
    >>> chainrule.cos(chainrule.tensor([0.0])).tolist()
    [1.0]
    """
    require_float(x, "cos")
    return Cos()(x)


def maximum(a, b):
    """Elementwise larger of a and b (ties share the gradient).

    >>> import chainrule
    >>> chainrule.maximum(chainrule.tensor([1.0, 5.0]), 2.0).tolist()
    [2.0, 5.0]
    """
    return Maximum()(*operands(a, b))


def minimum(a, b):
    """Elementwise smaller of a and b (ties share the gradient).

    >>> import chainrule
    >>> chainrule.minimum(chainrule.tensor([1.0, 5.0]), 2.0).tolist()
    [1.0, 2.0]
    """
    return Minimum()(*operands(a, b))


def clamp(x, min=None, max=None):
    """Clip values to [min, max] (either may be None). Also called ``clip``.

    >>> import chainrule
    >>> chainrule.clamp(chainrule.tensor([-2.0, 0.5, 3.0]), 0.0, 1.0).tolist()
    [0.0, 0.5, 1.0]
    """
    if min is None and max is None:
        raise ArgumentError("clamp: give at least one of min and max")
    return Clamp(min, max)(x)


clip = clamp


def where(condition, a, b):
    """Elementwise choice: ``a`` where condition holds, else ``b`` (gradients follow).

    >>> import chainrule
    >>> x = chainrule.tensor([-1.0, 2.0])
    >>> chainrule.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0]
    """
    from ..tensor import Tensor
    condition = condition.data if isinstance(condition, Tensor) else backend.xp.asarray(condition)
    return Where(condition.astype(bool))(*operands(a, b))


def square(x):
    """x ** 2.

    >>> import chainrule
    >>> chainrule.square(chainrule.tensor([3.0])).tolist()
    [9.0]
    """
    return PowScalar(2)(x)


def reciprocal(x):
    """1 / x.

    >>> import chainrule
    >>> chainrule.reciprocal(chainrule.tensor([4.0])).tolist()
    [0.25]
    """
    return div(1.0, x)


def erf(x):
    """The error function, differentiable: d/dx erf(x) = 2/sqrt(pi) exp(-x^2).

    >>> import chainrule
    >>> chainrule.erf(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    require_float(x, "erf")
    return Erf()(x)


class Erf(Function):
    def forward(self, x):
        return erf_array(x)

    def backward(self, gy):
        x = self.inputs[0]
        return gy * (2.0 / math.sqrt(math.pi)) * exp(-(x * x))


def erf_array(x):
    """erf on an array: SciPy's when installed, else the standard library's, elementwise."""
    try:
        from scipy.special import erf as scipy_erf
        return scipy_erf(x).astype(x.dtype, copy=False)
    except ImportError:
        import numpy
        vectorized = numpy.frompyfunc(math.erf, 1, 1)
        return backend.xp.asarray(vectorized(backend.to_numpy(x)).astype(x.dtype))


__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "rsqrt",
           "abs", "sign", "sin", "cos", "maximum", "minimum", "clamp", "clip", "where", "square",
           "reciprocal", "erf", "broadcast_to"]
