"""Reductions over one axis, several axes or all: sum, mean, max, min, prod, var, std,
logsumexp, norm; argmax/argmin (no gradient); the reductions of issue 19.5 (aminmax, nansum,
nanmean, var_mean, std_mean, count_nonzero, quantile, nanquantile, vector_norm, matrix_norm).

Backward spreads the upstream gradient back over the reduced axes: evenly for mean,
to the winners for max/min (ties share it), by the product of the others for prod.
"""
import builtins
import math
import warnings

import numpy

from .. import backend, backend_helpers
from ..autograd.broadcast import broadcast_to
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ._util import (as_floating, normalize_axis, pick_axis, pick_keepdims, require_float,
                    require_tensor, single_axis)
from .arithmetic import PassWhere, abs as _abs, exp, maximum, minimum, sign as _sign, where
from ._named import return_types
from .indexing import gather
from .cumulative import CumProd
from .decompositions import svdvals
from .shape import Flip, concatenate, permute, reshape, squeeze


def _expand_back(gy, in_shape, axes, keepdims):
    """Broadcast a reduced gradient back to the input's shape: the view made on the array
    when the backward pass is not recorded (two view gates cost ~20 us)."""
    if not state.enabled:
        g = gy._data if keepdims else backend_helpers.reshaped(gy._data,
                                                               _keep_shape(in_shape, axes))
        return gy._make(backend.xp.broadcast_to(g, in_shape), None)
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
        if backend.is_bfloat16(x.dtype):    # accumulate in float32, as PyTorch does
            return backend.xp.astype(backend.xp.sum(backend.xp.astype(x, numpy.float32), axis=self.axes, keepdims=self.keepdims), x.dtype)
        return backend.xp.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return _expand_back(gy, self.input_shape, self.axes, self.keepdims)


class _Extreme(Function):
    """amax/amin (and max/min without a dim): the gradient goes to the elements equal to the
    result, split evenly among ties (PyTorch's rule). Where the result is nan, max()/min()
    (``nan_wins``) give it to the nan elements; amax/amin, as in PyTorch, give nan. max()/min()
    leave +0.0 off the winners, as PyTorch's masked fill (amax's product gives inf * 0 = nan
    for an infinite gy there, as PyTorch's does)."""

    reduce = None

    def __init__(self, axes, keepdims, nan_wins=False):
        self.axes, self.keepdims, self.nan_wins = axes, keepdims, nan_wins

    def forward(self, x):
        y = getattr(backend.xp, self.reduce)(x, axis=self.axes, keepdims=True)
        if self.needs_input_grad[0]:
            winners = x == y
            if self.nan_wins:
                winners |= backend.xp.isnan(x) & backend.xp.isnan(y)
            winners = backend.xp.astype(winners, x.dtype)
            with numpy.errstate(invalid="ignore", divide="ignore"):
                share = winners / backend.xp.sum(winners, axis=self.axes, keepdims=True)
            self.save_for_backward(share)
        self.input_shape = x.shape
        return y if self.keepdims else backend.xp.reshape(y, _drop(x.shape, self.axes, x.ndim))

    def backward(self, gy):
        (share,) = self.saved_tensors
        spread = _expand_back(gy, self.input_shape, self.axes, self.keepdims)
        if self.nan_wins:   # PyTorch fills zeros at the winners: 0 elsewhere, even for inf
            spread = PassWhere(share._data != 0)(spread)
        return spread * share


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
        y = backend.xp.prod(x, axis=self.axes, keepdims=self.keepdims)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        if not backend.xp.any(x._data == 0):
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
        m = backend.xp.max(x, axis=self.axes, keepdims=True) if x.size else xp.zeros(
            _keep_shape(x.shape, self.axes), dtype=x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        y = xp.log(backend.xp.sum(xp.exp(x - m), axis=self.axes, keepdims=True)) + m
        y = y if self.keepdims else backend.xp.reshape(y, _drop(x.shape, self.axes, x.ndim))
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        gx = _expand_back(gy, x.shape, self.axes, self.keepdims)
        y = _expand_back(y, x.shape, self.axes, self.keepdims)
        return gx * exp(x - y)


class VectorNorm(Function):
    """Kept as a gate for PyTorch's gradients at zero: (sum |x|^p)^(1/p) composed of abs, pow
    and sum has gradient 0 * inf = nan where x = 0 or the norm is 0; PyTorch's rule (and this
    gate) gives 0 there. ord = inf / -inf is the largest / smallest |x| (ties share the
    gradient); ord = 0 counts the non-zero elements (no gradient). Backward is PyTorch's
    norm_backward, written with chainrule ops.
    """

    def __init__(self, ord, axes, keepdims):
        self.ord, self.axes, self.keepdims = ord, axes, keepdims

    def forward(self, x):
        xp, p, axes, keep = backend.xp, self.ord, self.axes, self.keepdims
        with numpy.errstate(divide="ignore", over="ignore", invalid="ignore"):
            if p == 0:
                y = backend.xp.astype(backend.xp.sum(x != 0, axis=axes, keepdims=keep), x.dtype)
            elif p == numpy.inf:
                y = backend.xp.max(xp.abs(x), axis=axes, keepdims=keep)
            elif p == -numpy.inf:
                y = backend.xp.min(xp.abs(x), axis=axes, keepdims=keep)
            elif p == 1:
                y = backend.xp.sum(xp.abs(x), axis=axes, keepdims=keep)
            elif p == 2:
                y = xp.sqrt(backend.xp.sum(x * x, axis=axes, keepdims=keep))
            else:
                y = backend.xp.sum(xp.abs(x) ** p, axis=axes, keepdims=keep) ** (1.0 / p)
        y = xp.asarray(y, dtype=x.dtype)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        p = self.ord
        if p == 0:
            return None
        g = _expand_back(gy, x.shape, self.axes, self.keepdims)
        if p == 1:
            return _sign(x) * g
        norm = _expand_back(y, x.shape, self.axes, self.keepdims)
        nonzero = norm._data != 0
        safe_norm = where(nonzero, norm, 1.0)
        if p == 2:
            return g * where(nonzero, x / safe_norm, 0.0)
        if numpy.isinf(p):
            size = _abs(x)._data
            mask = (size == norm._data) | backend.xp.isnan(size)
            count = mask.sum(axis=self.axes, keepdims=True)
            share = x._make(backend.xp.asarray(mask / count, dtype=x.dtype), None)
            return _sign(x) * g * share
        if p < 1:
            at_zero = x._data == 0
            scaled = _sign(x) * where(at_zero, 0.0, _abs(where(at_zero, 1.0, x)) ** (p - 1))
            return scaled * g * norm ** (1 - p)
        scaled = _sign(x) * _abs(x) ** (p - 1) if p < 2 else x * _abs(x) ** (p - 2)
        return scaled * where(nonzero, g / safe_norm ** (p - 1), 0.0)

    def to_onnx(self, builder, input_names, dynamic_batch):
        """ReduceL2 / ReduceL1, ReduceMax / ReduceMin of Abs for +-inf, else
        Pow(ReduceSum(Pow(Abs(x), p)), 1 / p) (opset 17: axes as attributes, ReduceSum's as
        an input)."""
        p, keep = self.ord, int(self.keepdims)
        axes = list(range(self.inputs[0].ndim)) if self.axes is None else list(self.axes)
        if p in (1, 2):
            return builder.node(f"ReduceL{int(p)}", input_names, axes=axes, keepdims=keep)
        size = builder.node("Abs", input_names)
        if numpy.isinf(p):
            return builder.node("ReduceMax" if p > 0 else "ReduceMin", [size], axes=axes,
                                keepdims=keep)
        if p == 0:
            nonzero = builder.node("Not", [builder.node("Equal", [size, builder.scalar(0.0)])])
            size = builder.node("Cast", [nonzero], to=builder.helper.np_dtype_to_tensor_dtype(
                numpy.dtype(builder.dtype)))
            return builder.node("ReduceSum", [size, builder.ints(axes)], keepdims=keep)
        total = builder.node("ReduceSum", [builder.node("Pow", [size, builder.scalar(p)]),
                                           builder.ints(axes)], keepdims=keep)
        return builder.node("Pow", [total, builder.scalar(1.0 / p)])


Norm2 = VectorNorm      # the former name of the gate (p = 2 only)


class Var(Function):
    """Kept as a gate for PyTorch's gradient where the degrees of freedom run out: the
    composition sum((x - mean)^2) / (n - c) gives inf - inf = nan there; PyTorch gives inf
    (nan where x equals the mean) over all elements, and 2 / (n - c) (x - mean) over dims.
    One node, and otherwise the same gradient: 2 / (n - c) (x - mean(x)).
    """

    def __init__(self, axes, keepdims, correction, whole):
        self.axes, self.keepdims, self.correction, self.whole = axes, keepdims, correction, whole

    def forward(self, x):
        n = _count_shape(x.shape, self.axes)
        with numpy.errstate(invalid="ignore", divide="ignore"):
            center = backend.xp.mean(x, axis=self.axes, keepdims=True) if n else backend.xp.zeros(
                _keep_shape(x.shape, self.axes), dtype=x.dtype)
            squares = backend.xp.sum((x - center) ** 2, axis=self.axes, keepdims=self.keepdims)
            y = backend.xp.asarray(squares / float(builtins.max(0, n - self.correction)),
                                   dtype=x.dtype)
        self.save_for_backward(x)
        return y

    def backward(self, gy):
        (x,) = self.saved_tensors
        g = _expand_back(gy, x.shape, self.axes, self.keepdims)
        dof = _count_shape(x.shape, self.axes) - self.correction
        if x._data.size == 0:
            return g
        if self.whole and dof <= 0:
            at_mean = x._data == x._data.mean()
            return g * x._make(backend.xp.where(at_mean, numpy.nan, numpy.inf).astype(x.dtype),
                               None)
        scale = 2.0 / dof if dof != 0 else float("inf")
        return g * scale * (x - mean(x, self.axes, True))


def _count_shape(shape, axes):
    return math.prod(shape) if axes is None else math.prod(shape[a] for a in axes)



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
    elif backend.kind(x._data.dtype) in "biu":
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
    index = x._make(backend.xp.astype(picked, numpy.dtype(numpy.int64)), None)
    values = gather(x, axis, index)
    if not keepdim:
        values, index = squeeze(values, axis), squeeze(index, axis)
    return getattr(return_types, name)(values, index)


def _nan_first(arg):
    """argmax/argmin that, like PyTorch, pick the first NaN when there is one."""
    def pick(array, axis):
        xp = backend.xp
        result = arg(array, axis=axis)
        if backend.kind(array.dtype) == "f":
            nan = xp.isnan(array)
            if xp.any(nan):
                result = xp.where(xp.any(nan, axis=axis), xp.argmax(nan, axis=axis), result)
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
        return cls(None, keep, nan_wins=True)(x)
    if isinstance(dim, (tuple, list)):
        _check_nonempty(x, name)
        return cls(normalize_axis(dim, x.ndim), keep, nan_wins=True)(x)
    return _values_and_indices(x, dim, keep, _nan_first(arg), name)


def amax(x, dim=(), keepdim=False):
    """The largest value over ``dim`` (an int or tuple; all by default), the gradient split
    evenly among ties (nan where the result is nan, as in PyTorch).

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 5.0], [7.0, 2.0]]).amax(dim=1).tolist()
    [5.0, 7.0]
    """
    require_tensor(x, "amax")
    axes = normalize_axis(dim, x.ndim)
    _check_reducible(x, axes, "amax")
    return Amax(axes, bool(keepdim))(x)


def amin(x, dim=(), keepdim=False):
    """The smallest value over ``dim`` (ties share the gradient).

    >>> import chainrule
    >>> chainrule.tensor([3.0, 1.0, 2.0]).amin().item()
    1.0
    """
    require_tensor(x, "amin")
    axes = normalize_axis(dim, x.ndim)
    _check_reducible(x, axes, "amin")
    return Amin(axes, bool(keepdim))(x)


def prod(x, dim=None, keepdim=None, *, axis=None, keepdims=False):
    """Product over ``dim``; exact gradients even where an element is 0.

    >>> import chainrule
    >>> chainrule.tensor([2.0, 3.0, 4.0]).prod().item()
    24.0
    """
    require_tensor(x, "prod")
    if backend.kind(x._data.dtype) in "biu":
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
    elif unbiased is not None:
        raise ArgumentError(f"var/std: give unbiased={unbiased} or correction={correction}, "
                            "not both")
    if _count(x, axes) - correction <= 0:
        warnings.warn("var(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=3)
    whole = pick_axis(dim, axis) is None or x.ndim == 0
    return Var(axes, keep, correction, whole)(x)


def std(x, dim=None, unbiased=None, keepdim=None, *, axis=None, keepdims=False,
        correction=None):
    """Standard deviation: the square root of :func:`var` (same arguments).

    >>> import chainrule
    >>> round(chainrule.tensor([2.0, 4.0]).std(unbiased=False).item(), 3)
    1.0
    """
    return StdSqrt()(var(x, dim, unbiased, keepdim, axis=axis, keepdims=keepdims,
                         correction=correction))


def norm(x, p="fro", dim=None, keepdim=None, dtype=None, *, axis=None, keepdims=False):
    """PyTorch's ``torch.norm``: p = ``'fro'`` (default) or a number is the vector p-norm over
    ``dim`` (all elements by default, any number of dims), see :func:`vector_norm`;
    ``'nuc'`` is the nuclear norm of the matrices in ``dim`` (two dims).

    >>> import chainrule
    >>> chainrule.tensor([3.0, 4.0]).norm().item()
    5.0
    >>> chainrule.tensor([[1.0, -2.0]]).norm(p=1, dim=1).tolist()
    [3.0]
    """
    require_tensor(x, "norm")
    dim = pick_axis(dim, axis)
    keep = pick_keepdims(keepdim, keepdims)
    if isinstance(p, str):
        if p == "fro" and (dim is None or not isinstance(dim, (tuple, list)) or len(dim) <= 2):
            return vector_norm(x, 2, dim, keep, dtype=dtype)
        dims = tuple(range(x.ndim)) if dim is None else dim
        return matrix_norm(x, p, dims, keep, dtype=dtype)
    return vector_norm(x, 2.0 if p is None else p, dim, keep, dtype=dtype)


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


def _check_reducible(x, axes, op):
    """PyTorch's rule for reductions without an identity (amax, aminmax, the inf norms): the
    reduced dimensions must not be empty (the others may be)."""
    if x._data.size == 0:
        if axes is None:
            raise ShapeError(f"{op}(): cannot reduce an empty tensor of shape {x.shape} "
                             "without a dim (the operation has no identity); give a dim")
        for a in axes:
            if x.shape[a] == 0:
                raise ShapeError(f"{op}(): Expected reduction dim {a} to have non-zero size "
                                 f"(shape {x.shape})")


# ---------------------------------------------------------------- reductions (issue 19.5)

def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (one int, or all), as the named tuple ``aminmax``; each
    gradient is amin's / amax's (ties share it).

    >>> import chainrule
    >>> chainrule.aminmax(chainrule.tensor([[3.0, 1.0], [2.0, 5.0]]), dim=1).max.tolist()
    [3.0, 5.0]
    """
    require_tensor(input, "aminmax")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, numpy.integer))):
        raise ArgumentTypeError(f"aminmax(): argument 'dim' must be int, not "
                                f"{type(dim).__name__}")
    axes = None if dim is None else normalize_axis(dim, input.ndim)
    _check_reducible(input, axes, "aminmax")
    keep = bool(keepdim)
    return return_types.aminmax(Amin(axes, keep)(input), Amax(axes, keep)(input))


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum over ``dim`` treating nan as zero (nan elements get no gradient); integer and
    bool tensors sum to int64.

    >>> import chainrule
    >>> chainrule.nansum(chainrule.tensor([1.0, float("nan"), 2.0])).item()
    3.0
    """
    require_tensor(input, "nansum")
    if dtype is not None:
        input = input.to(dtype)
    if backend.kind(input._data.dtype) != "f":
        return sum(input, dim, keepdim)
    return NanSum(normalize_axis(dim, input.ndim), bool(keepdim))(input)


class NanSum(Function):
    """The sum with nan read as 0; the gradient is g times the not-nan mask (PyTorch's
    rule: an inf or nan upstream gradient gives nan, not 0, at the nan elements)."""

    def __init__(self, axes, keepdims):
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        self.input_shape = x.shape
        kept = ~backend.xp.isnan(x)
        if self.needs_input_grad[0]:
            self.save_for_backward(backend.xp.astype(kept, x.dtype))
        return backend.xp.sum(backend.xp.where(kept, x, 0), axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        (kept,) = self.saved_tensors
        return _expand_back(gy, self.input_shape, self.axes, self.keepdims) * kept


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean over ``dim`` of the elements that are not nan (nan where all are).

    >>> import chainrule
    >>> chainrule.nanmean(chainrule.tensor([1.0, float("nan"), 2.0])).item()
    1.5
    """
    require_tensor(input, "nanmean")
    if backend.kind(input._data.dtype) != "f":
        raise DTypeError(f"nanmean(): expected input to have floating point dtype but got "
                         f"{input.dtype}")
    axes = normalize_axis(dim, input.ndim)
    count = (~backend.xp.isnan(input._data)).sum(axis=axes, keepdims=bool(keepdim))
    total = nansum(input, dim, keepdim, dtype=dtype)
    with numpy.errstate(invalid="ignore", divide="ignore"):
        return total / total._make(backend.xp.asarray(count, dtype=total._data.dtype), None)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` in one call (a plain tuple, as in PyTorch); the variance
    takes :func:`var`'s ``unbiased`` / ``correction``.

    >>> import chainrule
    >>> v, m = chainrule.var_mean(chainrule.tensor([1.0, 2.0, 3.0]))
    >>> v.item(), m.item()
    (1.0, 2.0)
    """
    if isinstance(dim, bool) and unbiased is None:          # var_mean(x, False)
        dim, unbiased = None, dim
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim`` in one call (a plain tuple, as in PyTorch).

    >>> import chainrule
    >>> s, m = chainrule.std_mean(chainrule.tensor([2.0, 4.0]), unbiased=False)
    >>> s.item(), m.item()
    (1.0, 3.0)
    """
    if isinstance(dim, bool) and unbiased is None:
        dim, unbiased = None, dim
    return (std(input, dim, unbiased, keepdim, correction=correction),
            mean(input, dim, keepdim))


def count_nonzero(input, dim=None):
    """The number of non-zero elements over ``dim`` (an int, a tuple, or all), as int64.

    >>> import chainrule
    >>> chainrule.count_nonzero(chainrule.tensor([[0.0, 1.0], [2.0, 0.0]]), dim=0).tolist()
    [1, 1]
    """
    require_tensor(input, "count_nonzero")
    axes = normalize_axis(dim, input.ndim)
    counted = (input._data != 0).sum(axis=axes)
    return input._make(backend.xp.asarray(counted, dtype=numpy.int64), None)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles over ``dim`` (all elements by default): the sorted values at rank
    q * (n - 1), interpolated by ``interpolation`` ('linear', 'lower', 'higher', 'midpoint',
    'nearest'). A slice holding nan gives nan. With a 1-D ``q`` the quantiles come first in
    the result. The gradient goes to the (one or two) sorted elements used, as in PyTorch.

    >>> import chainrule
    >>> x = chainrule.tensor([1.0, 2.0, 3.0, 4.0])
    >>> x.quantile(0.5).item(), x.quantile(0.5, interpolation="lower").item()
    (2.5, 2.0)
    """
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """:func:`quantile` ignoring nan: the rank counts only the values that are not nan (a
    slice of only nan gives nan).

    >>> import chainrule
    >>> chainrule.tensor([1.0, float("nan"), 3.0]).nanquantile(0.5).item()
    2.0
    """
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


def _quantile(x, q, dim, keepdim, interpolation, ignore_nan, op):
    xp = backend.xp
    require_tensor(x, op)
    dtype = x._data.dtype
    if dtype not in (numpy.float32, numpy.float64):
        raise DTypeError(f"{op}() input tensor must be either float or double dtype, got "
                         f"{x.dtype}")
    q_values, q_is_vector = _quantile_levels(q, dtype, op)
    if interpolation not in _INTERPOLATIONS:
        raise ArgumentError(f"{op}() interpolation must be one of linear, lower, higher, "
                            f"midpoint or nearest, but got {interpolation!r}")
    if x._data.size == 0:
        raise ShapeError(f"{op}() input tensor must be non-empty, got shape {x.shape}")
    if dim is None or x.ndim == 0:
        if dim is not None:
            normalize_axis(dim, 0)
        axis, values = None, reshape(x, -1)
    else:
        axis = single_axis(dim, x.ndim, op)
        values = permute(x, *[i for i in range(x.ndim) if i != axis], axis)
    order = xp.argsort(values._data, axis=-1, kind="stable")     # nan last, as in PyTorch
    ordered = gather(values, values.ndim - 1, order)
    last = ordered.shape[-1] - 1
    nan = xp.isnan(ordered._data)
    levels = q_values.reshape((1,) * (ordered.ndim - 1) + (-1,))
    if ignore_nan:
        ranks = levels * ((~nan).sum(axis=-1, keepdims=True) - 1).astype(dtype)
        ranks = xp.where(ranks < 0, 0, ranks).astype(dtype)
    else:
        ranks = xp.broadcast_to(levels * dtype.type(last),
                                ordered.shape[:-1] + levels.shape[-1:])
        ranks = xp.where(nan.any(axis=-1, keepdims=True), dtype.type(last), ranks)
    ranks = {"lower": xp.floor, "higher": xp.ceil, "nearest": xp.round}.get(
        interpolation, lambda r: r)(ranks)
    below = ranks.astype(numpy.int64)
    result = gather(ordered, ordered.ndim - 1, below)
    if interpolation in ("linear", "midpoint"):
        above = gather(ordered, ordered.ndim - 1, xp.ceil(ranks).astype(numpy.int64))
        weights = xp.full_like(ranks, 0.5) if interpolation == "midpoint" else \
            (ranks - below).astype(dtype)
        result = _lerp(result, above, weights)
    result = permute(result, result.ndim - 1, *range(result.ndim - 1))   # quantiles first
    if keepdim:
        kept = tuple(1 if axis is None or i == axis else n for i, n in enumerate(x.shape))
        result = reshape(result, result.shape[:1] + kept)
    return result if q_is_vector else squeeze(result, 0)


def _quantile_levels(q, dtype, op):
    """q as a 1-D array of the input's dtype, checked as PyTorch checks it."""
    if isinstance(q, (int, float, numpy.number)) and not isinstance(q, bool):
        if not 0 <= q <= 1:
            raise ArgumentError(f"{op}() q must be in the range [0, 1] but got {q}")
        return numpy.asarray([q], dtype=dtype), False
    if not hasattr(q, "_data"):
        raise ArgumentTypeError(f"{op}(): q must be a number or a tensor, got "
                                f"{type(q).__name__}")
    if q.ndim > 1:
        raise ShapeError(f"{op}() q must be a scalar or 1D tensor, got shape {q.shape}")
    if q._data.dtype != dtype:
        raise DTypeError(f"{op}() q tensor must be same dtype as the input tensor ({q.dtype} "
                         f"and {dtype})")
    levels = backend.xp.asarray(q._data).reshape(-1)
    if not ((levels >= 0) & (levels <= 1)).all():
        raise ArgumentError(f"{op}() q values must be in the range [0, 1]")
    return levels, q.ndim == 1


def _lerp(start, end, weights):
    """PyTorch's lerp with constant weights (two formulas, each exact at its end)."""
    w = start._make(weights, None)
    small = weights < 0.5
    return where(small, start + w * (end - start), end - (end - start) * (1 - w))


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm over ``dim`` (all elements by default; an int or a tuple):
    (sum |x|^ord)^(1/ord) for any real ord, the largest / smallest |x| for inf / -inf, the
    number of non-zeros for 0. Gradients are PyTorch's, finite at zero. ``dtype`` computes
    in a wider floating dtype.

    >>> import chainrule
    >>> x = chainrule.tensor([3.0, -4.0, 0.0])
    >>> [chainrule.linalg.vector_norm(x, o).item() for o in (2, 1, float("inf"), 0)]
    [5.0, 7.0, 4.0, 2.0]
    """
    require_tensor(x, "linalg.vector_norm")
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float, numpy.number)):
        raise ArgumentTypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                                f"{type(ord).__name__}")
    x = _norm_dtype(x, dtype, "linalg.vector_norm")
    axes = normalize_axis(dim, x.ndim)
    ord = float(ord)
    if ord < 0 or ord == numpy.inf:
        if x._data.size == 0 and axes is None or axes is not None and x._data.size == 0 and \
                any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty "
                             f"tensor because the operation does not have an identity (shape "
                             f"{x.shape}, dim {dim})")
    return VectorNorm(ord, axes, bool(keepdim))(x)


def _norm_dtype(x, dtype, op):
    if backend.kind(x._data.dtype) != "f":
        raise DTypeError(f"{op}: Expected a floating point tensor as input. Got {x.dtype}")
    if dtype is None:
        return x
    dtype = numpy.dtype(dtype)
    if backend.kind(dtype) != "f":
        raise DTypeError(f"{op}: dtype should be floating point. Got {dtype}")
    if numpy.promote_types(x._data.dtype, dtype) != dtype:
        raise DTypeError(f"{op}: the dtype of the input ({x.dtype}) should be convertible "
                         f"without narrowing to the specified dtype ({dtype})")
    return x.to(dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The matrix norm of the matrices in the two dims ``dim``: ``'fro'``, ``'nuc'`` (the sum
    of the singular values), 2 / -2 (the largest / smallest singular value), 1 / -1 (the
    largest / smallest column sum of |A|), inf / -inf (the same for rows).

    >>> import chainrule
    >>> A = chainrule.tensor([[1.0, -2.0], [3.0, 4.0]])
    >>> norm = chainrule.linalg.matrix_norm
    >>> norm(A, 1).item(), norm(A, float("inf")).item(), norm(A, -1).item()
    (6.0, 7.0, 4.0)
    """
    require_tensor(A, "linalg.matrix_norm")
    if A.ndim < 2:
        raise ShapeError(f"linalg.matrix_norm: The input tensor A must have at least 2 "
                         f"dimensions, got shape {A.shape}")
    dims = (dim,) if isinstance(dim, (int, numpy.integer)) else tuple(dim)
    if len(dims) != 2:
        raise ShapeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dims}")
    row, col = (single_axis(d, A.ndim, "linalg.matrix_norm") for d in dims)
    if row == col:
        raise ShapeError(f"linalg.matrix_norm: dims must be different. Got ({row}, {col})")
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise ArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")
    elif isinstance(ord, bool) or abs(ord) not in (1, 2, numpy.inf):
        raise ArgumentError(f"linalg.matrix_norm: Order {ord} not supported.")
    A = _norm_dtype(A, dtype, "linalg.matrix_norm")
    keep = bool(keepdim)
    if ord == "fro":
        return vector_norm(A, 2, (row, col), keep)
    if ord in ("nuc", 2, -2):
        rest = [i for i in range(A.ndim) if i not in (row, col)]
        values = svdvals(permute(A, *rest, row, col))
        if ord == "nuc":
            result = sum(values, -1)
        else:
            result = _extreme_or_zero(values, values.ndim - 1, ord > 0)
        if keep:
            result = reshape(result, tuple(1 if i in (row, col) else n
                                           for i, n in enumerate(A.shape)))
        return result
    summed, across = (row, col) if abs(ord) == 1 else (col, row)
    sums = vector_norm(A, 1, summed, keep)
    if not keep and summed < across:
        across -= 1
    return _extreme_or_zero(sums, across, ord > 0, keep)


def _extreme_or_zero(x, axis, largest, keepdim=False):
    """amax (largest) or amin over one axis; an empty axis gives 0 for amax, as PyTorch's
    matrix norms."""
    if x.shape[axis] == 0 and largest:
        shape = tuple(1 if i == axis else n for i, n in enumerate(x.shape)) if keepdim else \
            tuple(n for i, n in enumerate(x.shape) if i != axis)
        return x._make(backend.xp.zeros(shape, dtype=x._data.dtype), None)
    return (amax if largest else amin)(x, axis, keepdim)


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a matrix norm when ``dim`` has two dims (or A is 2-D and ``ord``
    is given), else a vector norm (of all elements when ``ord`` and ``dim`` are None).

    >>> import chainrule
    >>> A = chainrule.tensor([[3.0, 0.0], [0.0, 4.0]])
    >>> chainrule.linalg.norm(A).item(), chainrule.linalg.norm(A, 2).item()
    (5.0, 4.0)
    """
    require_tensor(A, "linalg.norm")
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, numpy.integer)) else tuple(dim)
        if len(dims) not in (1, 2):
            raise ShapeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                             f"Got {list(dims)}")
    elif ord is not None and A.ndim not in (1, 2):
        raise ShapeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                         f"1D or 2D. Got {A.ndim}D")
    if ord is not None and ((dim is not None and len(dims) == 2) or (dim is None and
                                                                      A.ndim == 2)):
        return matrix_norm(A, ord, (0, 1) if dim is None else dims, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise ArgumentError(f"linalg.norm: ord={ord!r} needs a matrix: give two dims or a 2-D "
                            "input")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


__all__ += ["aminmax", "nansum", "nanmean", "var_mean", "std_mean", "count_nonzero",
            "quantile", "nanquantile"]


# ================================================================ issue 19: vocabulary gaps
# dist, renorm, bincount, histc, cov, corrcoef
from .arithmetic import clamp as _clamp, sqrt as _sqrt  # noqa: E402
from .linalg import matmul as _matmul  # noqa: E402
from .triangular import diagonal as _diagonal  # noqa: E402
from ..tensor_base import TensorBase as _TensorBase  # noqa: E402


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast); floating tensors only, as in PyTorch.

    >>> import chainrule
    >>> chainrule.dist(chainrule.tensor([0.0, 0.0]), chainrule.tensor([3.0, 4.0])).item()
    5.0
    """
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, _TensorBase):
            raise ArgumentTypeError(f"dist(): argument '{name}' must be a Tensor, not "
                                    f"{type(t).__name__}")
        if not backend.is_floating(t._data.dtype):
            raise DTypeError(f"dist: input dtype should be floating point, got {t.dtype}")
    return vector_norm(input - other, p)


def renorm(input, p, dim, maxnorm):
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to norm
    ``maxnorm`` (PyTorch's factor maxnorm / (norm + 1e-7)); differentiable through the norm.

    >>> import chainrule
    >>> chainrule.renorm(chainrule.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.30000001192092896, 0.4000000059604645]]
    """
    if not isinstance(input, _TensorBase):
        raise ArgumentTypeError(f"renorm(): argument 'input' must be a Tensor, not "
                                f"{type(input).__name__}")
    require_float(input, "renorm")
    if isinstance(p, bool) or not isinstance(p, (int, float, numpy.number)) or p <= 0:
        raise ArgumentError(f"renorm: non-positive norm not supported, got p={p!r}")
    if isinstance(maxnorm, bool) or not isinstance(maxnorm, (int, float, numpy.number)) or \
            maxnorm < 0:
        raise ArgumentError(f"renorm: expected maxnorm to be >= 0, got {maxnorm!r}")
    ndim = input._data.ndim
    if ndim < 2:
        raise ShapeError(f"renorm: needs at least 2 dimensions, got input of shape "
                         f"{input.shape}")
    (axis,) = normalize_axis(dim, ndim)
    others = tuple(a for a in range(ndim) if a != axis)
    norms = vector_norm(input, p, dim=others, keepdim=True)
    factor = where((norms > maxnorm)._data, maxnorm / (norms + 1e-7), 1.0)
    return input * factor


def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in a 1-D non-negative integer tensor (summing
    ``weights`` instead of ones when given); at least ``minlength`` bins. No gradient.

    >>> import chainrule
    >>> chainrule.bincount(chainrule.tensor([1, 1, 3])).tolist()
    [0, 2, 0, 1]
    """
    if not isinstance(input, _TensorBase):
        raise ArgumentTypeError(f"bincount(): argument 'input' must be a Tensor, not "
                                f"{type(input).__name__}")
    xp = backend.xp
    x = input._data
    if backend.kind(x.dtype) not in "iub":
        raise DTypeError(f"bincount: only supports integral inputs, got {input.dtype}")
    if x.ndim != 1 or (x.size and int(xp.min(x)) < 0):
        raise ArgumentError(f"bincount: only supports 1-d non-negative integral inputs, got "
                            f"shape {input.shape}")
    if isinstance(minlength, bool) or not isinstance(minlength, (int, numpy.integer)) or \
            minlength < 0:
        raise ArgumentError(f"bincount: minlength should be >= 0, got {minlength!r}")
    length = builtins.max(int(minlength), int(xp.max(x)) + 1 if x.size else 0)
    if weights is None:
        counts = xp.zeros(length, dtype=numpy.int64)
        xp.add.at(counts, x, 1)
        return input._make(counts, None)
    if not isinstance(weights, _TensorBase) or weights._data.shape != x.shape:
        raise ShapeError(f"bincount: weights should be a tensor of the same shape as input "
                         f"{input.shape}, got {getattr(weights, 'shape', weights)!r}")
    dtype = numpy.float32 if weights._data.dtype == numpy.float32 else numpy.float64
    sums = xp.zeros(length, dtype=dtype)
    xp.add.at(sums, x, weights._data.astype(dtype))
    return input._make(sums, None)


def histc(input, bins=100, min=0, max=0):
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0;
    widened by 1 each side when that range is one value); values outside are ignored, max
    falls in the last bin. Floating tensors only; no gradient.

    >>> import chainrule
    >>> chainrule.histc(chainrule.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3).tolist()
    [0.0, 2.0, 1.0, 0.0]
    """
    if not isinstance(input, _TensorBase):
        raise ArgumentTypeError(f"histc(): argument 'input' must be a Tensor, not "
                                f"{type(input).__name__}")
    require_float(input, "histc")
    if isinstance(bins, bool) or not isinstance(bins, (int, numpy.integer)) or bins <= 0:
        raise ArgumentError(f"histc: bins must be > 0, got {bins!r}")
    xp = backend.xp
    x = input._data.reshape(-1).astype(numpy.float64)
    low, high = float(min), float(max)
    finite = x[~xp.isnan(x)]
    if low == high and finite.size:
        low, high = float(xp.min(finite)), float(xp.max(finite))
    if low == high:
        low, high = low - 1, high + 1
    if low > high or not (math.isfinite(low) and math.isfinite(high)):
        raise ArgumentError(f"histc: max must be larger than min and both finite, got "
                            f"min={min}, max={max}")
    inside = finite[(finite >= low) & (finite <= high)]
    index = ((inside - low) * bins / (high - low)).astype(numpy.int64)
    index = xp.minimum(index, bins - 1)
    counts = xp.zeros(bins, dtype=numpy.float64)
    xp.add.at(counts, index, 1)
    return input._make(counts.astype(input._data.dtype), None)


def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of ``input`` (a 1-D input is one
    variable), observations in the columns, with optional integer frequency weights and
    float observation weights; PyTorch's normalisation (N - correction, or its weighted
    form; inf/nan when that is <= 0). Differentiable.

    >>> import chainrule
    >>> chainrule.cov(chainrule.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    if not isinstance(input, _TensorBase):
        raise ArgumentTypeError(f"cov(): argument 'input' must be a Tensor, not "
                                f"{type(input).__name__}")
    if input._data.ndim > 2:
        raise ShapeError(f"cov: expected input to have two or fewer dimensions but got an "
                         f"input with {input._data.ndim} dimensions")
    x = as_floating(input)
    if x._data.ndim < 2:
        x = reshape(x, (1, -1))
    observations = x._data.shape[1]
    weights = None
    if fweights is not None:
        _check_cov_weights(fweights, observations, "fweights")
        if backend.kind(fweights._data.dtype) not in "iu":
            raise DTypeError(f"cov: expected fweights to have integral dtype, got "
                             f"{fweights.dtype}")
        if fweights._data.size and int(backend.xp.min(fweights._data)) < 0:
            raise ArgumentError("cov: fweights cannot be negative")
        weights = fweights
    if aweights is not None:
        _check_cov_weights(aweights, observations, "aweights")
        if not backend.is_floating(aweights._data.dtype):
            raise DTypeError(f"cov: expected aweights to have floating point dtype, got "
                             f"{aweights.dtype}")
        if aweights._data.size and float(backend.xp.min(aweights._data)) < 0:
            raise ArgumentError("cov: aweights cannot be negative")
        weights = aweights if weights is None else weights * aweights
    if weights is None:
        average = mean(x, dim=1, keepdim=True)
        norm_factor = observations - correction
        weighted = centred = x - average
    else:
        weights = weights.to(x.dtype) if weights.dtype != x.dtype else weights
        total = sum(weights)
        average = sum(x * weights, dim=1, keepdim=True) / total
        if correction == 0:
            norm_factor = total
        elif aweights is None:
            norm_factor = total - correction
        else:
            norm_factor = total - correction * sum(weights * aweights.to(x.dtype)) / total
        centred = x - average
        weighted = centred * weights
    if not isinstance(norm_factor, _TensorBase):
        norm_factor = builtins.max(norm_factor, 0)
    else:
        norm_factor = _clamp(norm_factor, min=0)
    with numpy.errstate(all="ignore"):
        product = _matmul(weighted, centred.mT)
        return squeeze(product / norm_factor)


def _check_cov_weights(weights, observations, name):
    if not isinstance(weights, _TensorBase) or weights._data.ndim > 1 or \
            weights._data.size != observations:
        raise ShapeError(f"cov: expected {name} to be a 1-D tensor with {observations} "
                         f"elements (the number of observations), got "
                         f"{getattr(weights, 'shape', weights)!r}")


def corrcoef(input):
    """Pearson's correlation coefficients of the rows of ``input`` (cov / (std_i std_j),
    clipped to [-1, 1] as PyTorch). Differentiable.

    >>> import chainrule
    >>> chainrule.corrcoef(chainrule.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    stddev = _sqrt(_diagonal(c))
    c = c / reshape(stddev, (-1, 1))
    c = c / reshape(stddev, (1, -1))
    return _clamp(c, -1, 1)
