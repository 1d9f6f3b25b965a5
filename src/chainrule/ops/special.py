"""Special functions: erfc, erfinv, lgamma, digamma and polygamma, with PyTorch's gradients.

NumPy has none of them, so the values come from SciPy (``scipy.special``, a core dependency of
chainrule; ``cupyx.scipy.special`` on the CuPy backend), cast back to the input's dtype and
patched where PyTorch defines an edge differently (lgamma(-inf) = inf, erfinv(-0.0) = -0.0).
Each derivative is the next function of the family — lgamma' = digamma, digamma' =
polygamma(1, .), polygamma(n, .)' = polygamma(n + 1, .) — so every order is differentiable.
"""
import math

import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..errors import ArgumentError
from . import elementwise as _elementwise
from ._util import as_floating, require_tensor
from .activation import sigmoid as _sigmoid
from .arithmetic import erf as _erf, exp, log1p as _log1p


def _same_dtype(y, x):
    return backend.namespace_of(y).astype(y, x.dtype, copy=False)


class Erfc(Function):
    """1 - erf(x), accurate where erf(x) is near 1; derivative -2/sqrt(pi) exp(-x^2)."""

    def forward(self, x):
        self.save_for_backward(x)
        return _same_dtype(backend_helpers.special_module("erfc").erfc(x), x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * (-2.0 / math.sqrt(math.pi)) * exp(-(x * x))


class Erfinv(Function):
    """The inverse of erf on (-1, 1) (+-inf at +-1, nan outside); derivative
    sqrt(pi)/2 exp(erfinv(x)^2)."""

    def forward(self, x):
        with numpy.errstate(all="ignore"):
            y = _same_dtype(backend_helpers.special_module("erfinv").erfinv(x), x)
        y = backend.xp.where(x == 0, x, y)                # keeps -0.0, as PyTorch
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy * (0.5 * math.sqrt(math.pi)) * exp(y * y)


class Lgamma(Function):
    """log|Gamma(x)| (inf at 0, the negative integers and both infinities); derivative
    digamma(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        with numpy.errstate(all="ignore"):
            y = _same_dtype(backend_helpers.special_module("lgamma").gammaln(x), x)
        return backend.xp.where(x == -numpy.inf, y.dtype.type(numpy.inf), y)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * Digamma()(x)


class Polygamma(Function):
    """The n-th derivative of digamma (n = 0 is digamma itself, -inf at 0 and nan at the
    negative integers); derivative polygamma(n + 1, x)."""

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        self.save_for_backward(x)
        special = backend_helpers.special_module("digamma" if self.n == 0 else "polygamma")
        with numpy.errstate(all="ignore"):
            if self.n == 0:
                y = special.digamma(x)
            else:
                y = special.polygamma(self.n, x)
                y = backend.xp.where(x == -numpy.inf, numpy.nan, y)    # PyTorch's nan
        return _same_dtype(y, x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * Polygamma(self.n + 1)(x)


class Digamma(Polygamma):
    """polygamma(0, x), under its own name (lgamma's derivative)."""

    def __init__(self):
        self.n = 0


# ---------------------------------------------------------------- functional API

def _unary(cls, x, op, *args):
    return cls(*args)(as_floating(require_tensor(x, op)))


def erfc(input):
    """The complementary error function 1 - erf(x).

    >>> import chainrule
    >>> chainrule.erfc(chainrule.tensor([0.0])).tolist()
    [1.0]
    """
    return _unary(Erfc, input, "erfc")


def erfinv(input):
    """The inverse error function on (-1, 1).

    >>> import chainrule
    >>> chainrule.erfinv(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return _unary(Erfinv, input, "erfinv")


def lgamma(input):
    """log|Gamma(x)|.

    >>> import chainrule
    >>> chainrule.lgamma(chainrule.tensor([1.0, 2.0])).tolist()
    [0.0, 0.0]
    """
    return _unary(Lgamma, input, "lgamma")


def digamma(input):
    """The logarithmic derivative of Gamma, d/dx lgamma(x) (-inf at 0, as PyTorch).

    >>> import chainrule
    >>> f"{chainrule.digamma(chainrule.tensor([1.0])).item():.4f}"   # -Euler's gamma
    '-0.5772'
    """
    return _unary(Digamma, input, "digamma")


def polygamma(n, input):
    """The n-th derivative of digamma (``n >= 0``; polygamma(0, x) is digamma).

    >>> import chainrule
    >>> f"{chainrule.polygamma(1, chainrule.tensor([1.0])).item():.4f}"   # pi^2 / 6
    '1.6449'
    """
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)):
        raise ArgumentError(f"polygamma: n must be an int, got {n!r}")
    if n < 0:
        raise ArgumentError(f"polygamma(n, x) does not support negative n, got {n}")
    if n == 0:
        return digamma(input)
    return _unary(Polygamma, input, "polygamma", int(n))


def polygamma_of(input, n):
    """``polygamma(n, input)`` with the tensor first (``Tensor.polygamma_(n)`` needs it)."""
    return polygamma(n, input)


# torch.special's names for the same functions (chainrule.special is this module)
psi = digamma
gammaln = lgamma
erf = _erf
expit = _sigmoid
exp2, expm1, log1p, logit, round, sinc, xlogy = (_elementwise.exp2, _elementwise.expm1,
                                                 _log1p, _elementwise.logit,
                                                 _elementwise.round, _elementwise.sinc,
                                                 _elementwise.xlogy)

__all__ = ["erfc", "erfinv", "lgamma", "digamma", "polygamma"]


# ================================================================ issue 19: vocabulary gaps
class I0(Function):
    """The modified Bessel function of the first kind, order 0; derivative i1(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return _same_dtype(backend_helpers.special_module("i0").i0(x), x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        return gy * I1()(x)


class I1(Function):
    """Order 1 (i0's derivative); derivative i0(x) - i1(x) / x, 1/2 at x = 0."""

    def forward(self, x):
        self.save_for_backward(x)
        return _same_dtype(backend_helpers.special_module("i1").i1(x), x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        at_zero = x._data == 0
        safe_x = _elementwise.where(at_zero, 1.0, x)
        return gy * _elementwise.where(at_zero, 0.5, I0()(x) - I1()(x) / safe_x)


def i0(input):
    """The modified Bessel function of the first kind of order 0 (integers become float32).

    >>> import chainrule
    >>> f"{chainrule.i0(chainrule.tensor([1.0])).item():.4f}"
    '1.2661'
    """
    return I0()(as_floating(require_tensor(input, "i0")))


def i1(input):
    """The modified Bessel function of the first kind of order 1 (``torch.special.i1``).

    >>> import chainrule
    >>> f"{chainrule.special.i1(chainrule.tensor([1.0])).item():.4f}"
    '0.5652'
    """
    return I1()(as_floating(require_tensor(input, "i1")))


__all__ += ["i0", "i1"]
