"""Reductions over one axis, several axes or all: sum, mean, max, min, prod, var, std,
logsumexp, norm; argmax/argmin (no gradient).

Backward spreads the upstream gradient back over the reduced axes: evenly for mean,
to the winners for max/min (ties share it), by the product of the others for prod.
"""
import numpy

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import normalize_axis, pick_axis, pick_keepdims, require_float, single_axis
from .arithmetic import abs as _abs, exp, where
from .shape import broadcast_to, reshape

_make = Tensor._make


def _expand_back(gy, in_shape, axes, keepdims):
    """Broadcast a reduced gradient back to the input's shape."""
    if not keepdims:
        kept = tuple(1 if (axes is None or i in axes) else n for i, n in enumerate(in_shape))
        gy = reshape(gy, kept)
    return broadcast_to(gy, in_shape)


def _keep_shape(in_shape, axes):
    return tuple(1 if (axes is None or i in axes) else n for i, n in enumerate(in_shape))


class Sum(Function):
    saved_inputs = ()

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return _expand_back(gy, self.inputs[0].shape, self.axes, self.keepdims)


class Mean(Function):
    saved_inputs = ()

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        in_shape = self.inputs[0].shape
        count = self.inputs[0].data.size // gy.data.size if gy.data.size else 1
        return _expand_back(gy, in_shape, self.axes, self.keepdims) * (1.0 / count)


class _Extreme(Function):
    """Shared by Max and Min: the gradient goes to the elements equal to the result,
    split evenly among ties."""

    saved_inputs = ()
    reduce = None

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        y = getattr(x, self.reduce)(axis=self.axes, keepdims=True)
        winners = (x == y)
        self.share = winners / winners.sum(axis=self.axes, keepdims=True)
        return y if self.keepdims else y.reshape(
            tuple(n for i, n in enumerate(x.shape) if i not in (self.axes or range(x.ndim))))

    def backward(self, gy):
        gx = _expand_back(gy, self.inputs[0].shape, self.axes, self.keepdims)
        return gx * _make(self.share.astype(gy.data.dtype), None)


class Max(_Extreme):
    reduce = "max"


class Min(_Extreme):
    reduce = "min"


class Prod(Function):
    """Product; d/dx_i = product of the others (computed without dividing where x_i = 0)."""

    uses_output = True

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return x.prod(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        y = _expand_back(self.output, x.shape, self.axes, self.keepdims)
        if not (x.data == 0).any():
            return gx * y / x
        # some zeros: use the exact product of the others (a constant, so second
        # derivatives are exact only away from zeros)
        return gx * _make(self._product_of_others(x.data), None)

    def _product_of_others(self, x):
        xp = backend.xp
        axes = tuple(range(x.ndim)) if self.axes is None else self.axes
        rest = [i for i in range(x.ndim) if i not in axes]
        moved = x.transpose(rest + list(axes))
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.flip(
            xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = (left * right).reshape(moved.shape)
        return others.transpose(numpy.argsort(rest + list(axes)))


class LogSumExp(Function):
    """log(sum(e^x)), shifted by the max so it never overflows; gradient softmax(x)."""

    uses_output = True

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = backend.xp
        m = x.max(axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        return y if self.keepdims else y.reshape(_drop(x.shape, self.axes))

    def backward(self, gy):
        x = self.inputs[0]
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        y = _expand_back(self.output, x.shape, self.axes, self.keepdims)
        return gx * exp(x - y)


class Norm2(Function):
    """Euclidean norm; gradient x / ||x|| (0 at the origin, as PyTorch)."""

    uses_output = True

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        return backend.xp.sqrt((x * x).sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, gy):
        x = self.inputs[0]
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        y = _expand_back(self.output, x.shape, self.axes, self.keepdims)
        nonzero = y.data != 0
        return gx * where(nonzero, x / where(nonzero, y, 1.0), 0.0)


class StdSqrt(Function):
    """The square root that turns a variance into std: its gradient is 0 where the variance
    is 0 (all values equal), as in PyTorch, instead of 0 * inf = NaN."""

    uses_output = True
    saved_inputs = ()

    def forward(self, v):
        return backend.xp.sqrt(v)

    def backward(self, gy):
        y = self.output
        nonzero = y.data != 0
        return where(nonzero, gy / (2 * where(nonzero, y, 1.0)), 0.0)


def _drop(shape, axes):
    return tuple(n for i, n in enumerate(shape) if axes is not None and i not in axes)


# ---------------------------------------------------------------- functional API

def _reduce(cls, x, dim, axis, keepdim, keepdims):
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    return cls(axes, pick_keepdims(keepdim, keepdims))(x)


def sum(x, dim=None, keepdim=None, *, axis=None, keepdims=False, dtype=None):
    """Sum over ``dim`` (an int, a tuple, or None for all); ``keepdim`` keeps reduced axes.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0).tolist()
    [4.0, 6.0]
    """
    if dtype is not None:
        x = x.to(dtype)
    elif x.data.dtype.kind == "b":
        x = x.to(numpy.int64)
    return _reduce(Sum, x, dim, axis, keepdim, keepdims)


def mean(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """The average over ``dim`` (all elements by default).

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(dim=1).tolist()
    [1.5, 3.5]
    """
    require_float(x, "mean")
    return _reduce(Mean, x, dim, axis, keepdim, keepdims)


def max(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """Largest value over ``dim``; the gradient is split evenly among ties.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1).tolist()
    [5.0, 7.0]
    """
    _check_nonempty(x, "max")
    return _reduce(Max, x, dim, axis, keepdim, keepdims)


def min(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """Smallest value over ``dim``; the gradient is split evenly among ties.

    >>> import chainrule
    >>> chainrule.tensor([3.0, 1.0, 2.0]).min().item()
    1.0
    """
    _check_nonempty(x, "min")
    return _reduce(Min, x, dim, axis, keepdim, keepdims)


def prod(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """Product over ``dim``; exact gradients even where an element is 0.

    >>> import chainrule
    >>> chainrule.tensor([2.0, 3.0, 4.0]).prod().item()
    24.0
    """
    return _reduce(Prod, x, dim, axis, keepdim, keepdims)


def logsumexp(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``dim``, without overflow.

    >>> import chainrule
    >>> round(chainrule.tensor([1000.0, 1000.0]).logsumexp().item(), 3)
    1000.693
    """
    require_float(x, "logsumexp")
    return _reduce(LogSumExp, x, dim, axis, keepdim, keepdims)


def var(x, dim=None, unbiased=True, keepdim=None, *, axis=None, keepdims=False,
        correction=None):
    """Variance; ``unbiased=True`` divides by n - 1 (``correction`` overrides it).

    >>> import chainrule
    >>> round(chainrule.tensor([1.0, 2.0, 3.0, 4.0]).var().item(), 4)
    1.6667
    """
    require_float(x, "var")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    keep = pick_keepdims(keepdim, keepdims)
    n = x.data.size if axes is None else int(numpy.prod([x.shape[a] for a in axes]))  # noqa
    ddof = (1 if unbiased else 0) if correction is None else correction
    centered = x - Mean(axes, True)(x)
    scale = 1.0 / (n - ddof) if n - ddof > 0 else float("nan")  # as PyTorch: nan, not an error
    return Sum(axes, keep)(centered * centered) * scale


def std(x, dim=None, unbiased=True, keepdim=None, *, axis=None, keepdims=False,
        correction=None):
    """Standard deviation (``unbiased=True`` divides by n - 1).

    >>> import chainrule
    >>> round(chainrule.tensor([2.0, 4.0]).std(unbiased=False).item(), 3)
    1.0
    """
    return StdSqrt()(var(x, dim, unbiased, keepdim, axis=axis, keepdims=keepdims,
                         correction=correction))


def norm(x, p=2, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """The p-norm (p = 1, 2, inf, or any positive number) over ``dim`` or all elements.

    >>> import chainrule
    >>> chainrule.tensor([3.0, 4.0]).norm().item()
    5.0
    """
    require_float(x, "norm")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    keep = pick_keepdims(keepdim, keepdims)
    if p == 2:
        return Norm2(axes, keep)(x)
    if p == 1:
        return Sum(axes, keep)(_abs(x))
    if p == float("inf"):
        return Max(axes, keep)(_abs(x))
    return Sum(axes, keep)(_abs(x) ** p) ** (1.0 / p)


def argmax(x, dim=None, keepdim=False, *, axis=None):
    """Index of the largest value (flattened, or along ``dim``); no gradient.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 9.0], [8.0, 2.0]]).argmax(dim=1).tolist()
    [1, 0]
    """
    return _arg(backend.xp.argmax, x, pick_axis(dim, axis), keepdim)


def argmin(x, dim=None, keepdim=False, *, axis=None):
    """Index of the smallest value (flattened, or along ``dim``); no gradient.

    >>> import chainrule
    >>> chainrule.tensor([4.0, 1.0, 3.0]).argmin().item()
    1
    """
    return _arg(backend.xp.argmin, x, pick_axis(dim, axis), keepdim)


def _arg(fn, x, axis, keepdim):
    _check_nonempty(x, fn.__name__)
    if axis is None:
        result = fn(x.data)
        if keepdim:
            result = result.reshape((1,) * x.ndim)
    else:
        result = fn(x.data, axis=single_axis(axis, x.ndim, fn.__name__), keepdims=keepdim)
    return _make(backend.xp.asarray(result, dtype=numpy.int64), None)


def all(x, dim=None, keepdim=False, *, axis=None):
    """True where every element (over ``dim``) is non-zero.

    >>> import chainrule
    >>> chainrule.tensor([True, False]).all().item()
    False
    """
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    return _make(backend.xp.asarray(x.data.astype(bool).all(axis=axes, keepdims=keepdim)), None)


def any(x, dim=None, keepdim=False, *, axis=None):
    """True where some element (over ``dim``) is non-zero.

    >>> import chainrule
    >>> chainrule.tensor([True, False]).any().item()
    True
    """
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    return _make(backend.xp.asarray(x.data.astype(bool).any(axis=axes, keepdims=keepdim)), None)


def _check_nonempty(x, op):
    if x.data.size == 0:
        from ..errors import ShapeError
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")


__all__ = ["sum", "mean", "max", "min", "prod", "logsumexp", "var", "std", "norm", "argmax",
           "argmin", "all", "any"]
