"""Reductions over one axis, several axes or all: sum, mean, max, min, prod, var, std,
logsumexp, norm; argmax/argmin (no gradient).

Backward spreads the upstream gradient back over the reduced axes: evenly for mean,
to the winners for max/min (ties share it), by the product of the others for prod.
"""
import numpy

from .. import backend
from ..autograd.broadcast import broadcast_to
from ..autograd.function import Function
from ..errors import ShapeError
from ._util import (as_floating, normalize_axis, pick_axis, pick_keepdims, require_float,
                    require_tensor, single_axis)
from .arithmetic import abs as _abs, exp, maximum, minimum, where
from ._named import return_types
from .indexing import gather
from .cumulative import CumProd
from .shape import Flip, concatenate, permute, reshape, squeeze


def _expand_back(gy, in_shape, axes, keepdims):
    """Broadcast a reduced gradient back to the input's shape."""
    if not keepdims:
        gy = reshape(gy, _keep_shape(in_shape, axes))
    return broadcast_to(gy, in_shape)


def _keep_shape(in_shape, axes):
    return tuple(1 if (axes is None or i in axes) else n for i, n in enumerate(in_shape))


class Sum(Function):
    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return _expand_back(gy, self.input_shape, self.axes, self.keepdims)


class _Extreme(Function):
    """amax/amin (and max/min without a dim): the gradient goes to the elements equal to the
    result, split evenly among ties (PyTorch's rule)."""

    reduce = None

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        y = getattr(x, self.reduce)(axis=self.axes, keepdims=True)
        if self.needs_input_grad[0]:
            winners = (x == y) | (backend.xp.isnan(x) & backend.xp.isnan(y))
            share = winners / winners.sum(axis=self.axes, keepdims=True)
            self.save_for_backward(share.astype(x.dtype))
        self.input_shape = x.shape
        return y if self.keepdims else y.reshape(_drop(x.shape, self.axes, x.ndim))

    def backward(self, gy):
        (share,) = self.saved_tensors
        return _expand_back(gy, self.input_shape, self.axes, self.keepdims) * share


class Amax(_Extreme):
    reduce = "max"


class Amin(_Extreme):
    reduce = "min"


class Prod(Function):
    """Product; d/dx_i = product of the others. Without zeros that is y / x_i; with zeros it
    is the product of exclusive running products from both ends (PyTorch's
    prod_safe_zeros_backward), written with cumprod so that it is differentiable again."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        y = x.prod(axis=self.axes, keepdims=self.keepdims)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        if not (x._data == 0).any():
            return gx * _expand_back(y, x.shape, self.axes, self.keepdims) / x
        return gx * _product_of_others(x, self.axes)


def _product_of_others(x, axes):
    """For each element, the product of the other elements over ``axes`` (no division)."""
    axes = tuple(range(x.ndim)) if axes is None else axes
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = permute(x, *(rest + list(axes)))
    flat = reshape(moved, moved.shape[:len(rest)] + (-1,))
    last = flat.ndim - 1
    ones = flat._make(backend.xp.ones(flat.shape[:-1] + (1,), dtype=flat.dtype), None)
    before = CumProd(last)(concatenate([ones, flat[..., :-1]], last))
    after = Flip((last,))(CumProd(last)(concatenate([ones, Flip((last,))(flat[..., 1:])], last)))
    others = reshape(before * after, moved.shape)
    return permute(others, *numpy.argsort(rest + list(axes)).tolist())


class LogSumExp(Function):
    """Kept as a gate for stability: log(sum(exp(x))) overflows at x = 1000; shifted by the
    max, this never does, in one node. Gradient softmax(x).
    """

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = backend.xp
        m = x.max(axis=self.axes, keepdims=True) if x.size else xp.zeros(
            _keep_shape(x.shape, self.axes), dtype=x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(xp.exp(x - m).sum(axis=self.axes, keepdims=True)) + m
        y = y if self.keepdims else y.reshape(_drop(x.shape, self.axes, x.ndim))
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        y = _expand_back(y, x.shape, self.axes, self.keepdims)
        return gx * exp(x - y)


class Norm2(Function):
    """Kept as a gate for PyTorch's value at the origin: sqrt(sum(x * x)) has gradient
    0 * inf = NaN at x = 0; this one gives 0. Elsewhere the gradient is x / ||x||.
    """

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        y = backend.xp.sqrt((x * x).sum(axis=self.axes, keepdims=self.keepdims))
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        y = _expand_back(y, x.shape, self.axes, self.keepdims)
        nonzero = y._data != 0
        return gx * where(nonzero, x / where(nonzero, y, 1.0), 0.0)


class StdSqrt(Function):
    """Kept as a gate for PyTorch's std rule: the square root that turns a variance into std
    has gradient 0 where the variance is 0 (all values equal), not 0 * inf = NaN."""

    def forward(self, v):
        y = backend.xp.sqrt(v)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        nonzero = y._data != 0
        return where(nonzero, gy / (where(nonzero, y, 1.0) * 2), 0.0)


def _drop(shape, axes, ndim):
    return tuple(n for i, n in enumerate(shape) if axes is not None and i not in axes)


# ---------------------------------------------------------------- functional API

def _reduce(cls, x, dim, axis, keepdim, keepdims):
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    return cls(axes, pick_keepdims(keepdim, keepdims))(x)


def sum(x, dim=None, keepdim=None, *, axis=None, keepdims=False, dtype=None):
    """Sum over ``dim`` (an int, a tuple, or None for all); ``keepdim`` keeps reduced axes.
    Integer and bool tensors sum to int64, as in PyTorch.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(dim=0).tolist()
    [4.0, 6.0]
    """
    require_tensor(x, "sum")
    if dtype is not None:
        x = x.to(dtype)
    elif x._data.dtype.kind in "biu":
        x = x.to(numpy.int64)
    return _reduce(Sum, x, dim, axis, keepdim, keepdims)


def mean(x, dim=None, keepdim=None, *, axis=None, keepdims=False, dtype=None):
    """The average over ``dim`` (all elements by default): the composition sum(x) / n. Over no
    elements it is nan, as in PyTorch.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(dim=1).tolist()
    [1.5, 3.5]
    """
    require_tensor(x, "mean")
    if dtype is not None:
        x = x.to(dtype)
    require_float(x, "mean")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    total = Sum(axes, pick_keepdims(keepdim, keepdims))(x)
    count = _count(x, axes)
    return total * (1.0 / count) if count else total * float("nan")


def _count(x, axes):
    return x._data.size if axes is None else int(numpy.prod([x.shape[a] for a in axes]))


def _values_and_indices(x, dim, keepdim, pick, name):
    """The value and index of ``pick`` (argmax/argmin...) along ``dim``: the value is gathered
    at the index, so the gradient goes to that one element (PyTorch's rule with a dim)."""
    axis = single_axis(dim, x.ndim, name) if x.ndim else None
    if axis is None:                          # a 0-d tensor: itself, at index 0
        return getattr(return_types, name)(x * 1, x._make(backend.xp.zeros((), numpy.int64),
                                                          None))
    if x.shape[axis] == 0:
        raise ShapeError(f"{name}(): cannot reduce over dimension {axis} of size 0 "
                         f"(shape {x.shape})")
    picked = backend.xp.expand_dims(pick(x._data, axis), axis)
    index = x._make(picked.astype(numpy.int64), None)
    values = gather(x, axis, index)
    if not keepdim:
        values, index = squeeze(values, axis), squeeze(index, axis)
    return getattr(return_types, name)(values, index)


def _nan_first(arg):
    """argmax/argmin that, like PyTorch, pick the first NaN when there is one."""
    def pick(array, axis):
        xp = backend.xp
        result = arg(array, axis=axis)
        if array.dtype.kind == "f":
            nan = xp.isnan(array)
            if nan.any():
                result = xp.where(nan.any(axis=axis), xp.argmax(nan, axis=axis), result)
        return result
    return pick


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest value. Without ``dim`` a tensor (the gradient split evenly among ties);
    with ``dim`` the named tuple ``(values, indices)``, as in PyTorch (``_, pred = out.max(1)``).
    ``max(a, b)`` with a tensor ``b`` is ``maximum``.

    >>> import chainrule
    >>> values, indices = chainrule.tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    >>> values.tolist(), indices.tolist()
    ([5.0, 7.0], [1, 0])
    """
    return _extreme(x, dim, keepdim, axis, keepdims, Amax, backend.xp.argmax, "max")


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest value: a tensor without ``dim``, ``(values, indices)`` with it.

    >>> import chainrule
    >>> chainrule.tensor([3.0, 1.0, 2.0]).min().item()
    1.0
    """
    return _extreme(x, dim, keepdim, axis, keepdims, Amin, backend.xp.argmin, "min")


def _extreme(x, dim, keepdim, axis, keepdims, cls, arg, name):
    require_tensor(x, name)
    if hasattr(dim, "_data"):                 # max(a, b): the elementwise form
        return (maximum if name == "max" else minimum)(x, dim)
    dim = pick_axis(dim, axis)
    keep = pick_keepdims(keepdims, keepdim)
    if dim is None:
        _check_nonempty(x, name)
        return cls(None, keep)(x)
    if isinstance(dim, (tuple, list)):
        _check_nonempty(x, name)
        return cls(normalize_axis(dim, x.ndim), keep)(x)
    return _values_and_indices(x, dim, keep, _nan_first(arg), name)


def amax(x, dim=(), keepdim=False):
    """The largest value over ``dim`` (an int or tuple; all by default), the gradient split
    evenly among ties.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 5.0], [7.0, 2.0]]).amax(dim=1).tolist()
    [5.0, 7.0]
    """
    require_tensor(x, "amax")
    _check_nonempty(x, "amax")
    return Amax(normalize_axis(dim, x.ndim), bool(keepdim))(x)


def amin(x, dim=(), keepdim=False):
    """The smallest value over ``dim`` (ties share the gradient).

    >>> import chainrule
    >>> chainrule.tensor([3.0, 1.0, 2.0]).amin().item()
    1.0
    """
    require_tensor(x, "amin")
    _check_nonempty(x, "amin")
    return Amin(normalize_axis(dim, x.ndim), bool(keepdim))(x)


def prod(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """Product over ``dim``; exact gradients even where an element is 0.

    >>> import chainrule
    >>> chainrule.tensor([2.0, 3.0, 4.0]).prod().item()
    24.0
    """
    require_tensor(x, "prod")
    if x._data.dtype.kind in "biu":
        x = x.to(numpy.int64)
    return _reduce(Prod, x, dim, axis, keepdim, keepdims)


def logsumexp(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``dim``, without overflow.

    >>> import chainrule
    >>> round(chainrule.tensor([1000.0, 1000.0]).logsumexp().item(), 3)
    1000.693
    """
    x = as_floating(require_tensor(x, "logsumexp"))
    return _reduce(LogSumExp, x, dim, axis, keepdim, keepdims)


def var(x, dim=None, unbiased=None, keepdim=None, *, axis=None, keepdims=False,
        correction=None):
    """Variance; divides by n - correction (correction 1 by default, 0 with
    ``unbiased=False``). With n - correction <= 0 it is inf (or nan), as in PyTorch.

    >>> import chainrule
    >>> round(chainrule.tensor([1.0, 2.0, 3.0, 4.0]).var().item(), 4)
    1.6667
    """
    require_float(require_tensor(x, "var"), "var")
    if isinstance(dim, bool) and unbiased is None:          # var(x, False): PyTorch's old form
        dim, unbiased = None, dim
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    keep = pick_keepdims(keepdim, keepdims)
    if correction is None:
        correction = 0 if unbiased is False else 1
    n = _count(x, axes)
    centered = x - mean(x, axes, True) if n else x
    divisor = n - correction
    scale = 1.0 / divisor if divisor > 0 else float("inf")
    return Sum(axes, keep)(centered * centered) * scale


def std(x, dim=None, unbiased=None, keepdim=None, *, axis=None, keepdims=False,
        correction=None):
    """Standard deviation: the square root of :func:`var` (same arguments).

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
    require_float(require_tensor(x, "norm"), "norm")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    keep = pick_keepdims(keepdim, keepdims)
    if p in (2, "fro"):
        return Norm2(axes, keep)(x)
    if p == 1:
        return Sum(axes, keep)(_abs(x))
    if p == float("inf"):
        return Amax(axes, keep)(_abs(x))
    return Sum(axes, keep)(_abs(x) ** p) ** (1.0 / p)


def argmax(x, dim=None, keepdim=False, *, axis=None):
    """Index of the largest value (flattened, or along ``dim``); no gradient.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 9.0], [8.0, 2.0]]).argmax(dim=1).tolist()
    [1, 0]
    """
    return _arg(backend.xp.argmax, x, pick_axis(dim, axis), keepdim, "argmax")


def argmin(x, dim=None, keepdim=False, *, axis=None):
    """Index of the smallest value (flattened, or along ``dim``); no gradient.

    >>> import chainrule
    >>> chainrule.tensor([4.0, 1.0, 3.0]).argmin().item()
    1
    """
    return _arg(backend.xp.argmin, x, pick_axis(dim, axis), keepdim, "argmin")


def _arg(fn, x, axis, keepdim, name):
    require_tensor(x, name)
    _check_nonempty(x, name)
    pick = _nan_first(fn)
    if axis is None:
        result = pick(x._data.reshape(-1), 0)
        if keepdim:
            result = backend.xp.asarray(result).reshape((1,) * x.ndim)
    else:
        result = pick(x._data, single_axis(axis, x.ndim, name)) if x.ndim else \
            backend.xp.zeros((), numpy.int64)
        if keepdim and x.ndim:
            result = backend.xp.expand_dims(result, single_axis(axis, x.ndim, name))
    return x._make(backend.xp.asarray(result, dtype=numpy.int64), None)


def all(x, dim=None, keepdim=False, *, axis=None):
    """True where every element (over ``dim``) is non-zero.

    >>> import chainrule
    >>> chainrule.tensor([True, False]).all().item()
    False
    """
    require_tensor(x, "all")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    return x._make(backend.xp.asarray(x._data.astype(bool).all(axis=axes, keepdims=keepdim)),
                   None)


def any(x, dim=None, keepdim=False, *, axis=None):
    """True where some element (over ``dim``) is non-zero.

    >>> import chainrule
    >>> chainrule.tensor([True, False]).any().item()
    True
    """
    require_tensor(x, "any")
    axes = normalize_axis(pick_axis(dim, axis), x.ndim)
    return x._make(backend.xp.asarray(x._data.astype(bool).any(axis=axes, keepdims=keepdim)),
                   None)


def _check_nonempty(x, op):
    if x._data.size == 0:
        raise ShapeError(f"{op}(): cannot reduce an empty tensor of shape {x.shape} without "
                         "a dim (there is no identity)")


__all__ = ["sum", "mean", "max", "min", "amax", "amin", "prod", "logsumexp", "var", "std",
           "norm", "argmax", "argmin", "all", "any", "return_types"]
