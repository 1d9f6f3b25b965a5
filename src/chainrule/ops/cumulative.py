"""Cumulative ops along one dimension: cumsum, cumprod, cummax, cummin, logcumsumexp, diff.

Their gradients are scans too: cumsum's is the reversed cumsum of the upstream gradient;
cumprod's is exact even where the input holds zeros (no division by zero: the positions
before the first zero, the first zero itself and those after it each get their own formula,
as in PyTorch); cummax/cummin send the gradient to the element each running extreme came
from; logcumsumexp's is a weighted reverse scan computed in log space.
"""
import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..tensor_base import TensorBase
from ._util import _one_axis, require_tensor
from .arithmetic import where
from .indexing import take_at
from .shape import cast, concatenate, reshape
from ._named import return_types

#: Orders of derivative of cumprod that stay exact where a line holds several zeros (each
#: further zero in a line needs one more level of the recursion in ``_cumprod_grad``).
_EXACT_ORDERS = 3


def _flip(array, axis):
    return backend.xp.flip(array, axis=axis)


class CumSum(Function):
    """Running sum along ``axis`` (from the end when ``reverse``); its gradient is the
    running sum of the upstream gradient in the other direction."""

    def __init__(self, axis, reverse=False):
        self.axis, self.reverse = axis, reverse

    def forward(self, x):
        xp = backend.xp
        if self.reverse:
            return _flip(xp.cumulative_sum(_flip(x, self.axis), axis=self.axis), self.axis)
        return xp.cumulative_sum(x, axis=self.axis)

    def backward(self, gy):
        return CumSum(self.axis, not self.reverse)(gy)

    def to_onnx(self, builder, inputs, dynamic_batch):
        """ONNX CumSum (``reverse`` as its attribute)."""
        return builder.node("CumSum", [inputs[0], builder.ints(self.axis)],
                            reverse=int(self.reverse))


def _reverse_cumsum(t, axis):
    return CumSum(axis, reverse=True)(t)


class CumProd(Function):
    """Running product along ``axis``. Backward: ``reverse_cumsum(gy * y) / x`` without
    zeros; with zeros, ``_cumprod_grad`` (exact, and differentiable again)."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        y = backend.xp.cumulative_prod(x, axis=self.axis)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        return _cumprod_grad(x, y, gy, self.axis, _EXACT_ORDERS)


def _cumprod_grad(x, y, gy, axis, levels):
    """d/dx_k of sum_j gy_j y_j = sum_{j>=k} gy_j prod_{i<=j, i!=k} x_i, for y = cumprod(x).

    With z the first zero of a line: before z it is reverse_cumsum(gy * y)_k / x_k; at z it
    is reverse_cumsum(gy * cumprod(x with x_z = 1))_z; after z it is x_z times the same
    gradient taken at (x with x_z = 1), which recurses on the next zero. Every piece equals
    the true gradient on a neighbourhood of x, so its own derivatives are exact too.
    """
    xp = backend.xp
    zero = x._data == 0
    weighted = _reverse_cumsum(gy * y, axis)
    if not xp.any(zero):
        return weighted / x
    count = xp.cumulative_sum(xp.astype(zero, numpy.dtype(numpy.int64)), axis=axis)
    before, first = count == 0, zero & (count == 1)
    grad_before = weighted / where(before, x, 1.0)
    x_one = where(first, 1.0, x)
    y_one = CumProd(axis)(x_one)
    grad_first = _reverse_cumsum(gy * y_one, axis)
    if levels > 1:
        at_zero = take_at(x, axis, xp.expand_dims(xp.argmax(first, axis=axis), axis))
        grad_after = at_zero * _cumprod_grad(x_one, y_one, gy, axis, levels - 1)
    else:
        grad_after = 0.0
    return where(before, grad_before, where(first, grad_first, grad_after))


class LogCumSumExp(Function):
    """log(cumsum(exp(x))) without overflow (NumPy's logaddexp.accumulate). Gradient:
    gx_k = sum_{j>=k} gy_j exp(x_k - y_j), a :class:`WeightedScan`."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        with numpy.errstate(invalid="ignore"):          # inf - inf inside: nan, as PyTorch
            y = backend.xp.logaddexp.accumulate(x, axis=self.axis) if x.size else backend_helpers.contiguous_copy(x)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved_tensors
        return WeightedScan(self.axis, True)(x, y, gy)


class WeightedScan(Function):
    """Kept as a gate for stability and exact higher derivatives of logcumsumexp:
    ``reverse``: out_k = sum_{j>=k} w_j exp(a_k - b_j); forward: out_j = sum_{k<=j}
    w_k exp(a_k - b_j). Computed in log space, positive and negative weights apart (as
    PyTorch's logcumsumexp_backward). Each direction's derivative is the other direction, so
    the pair is differentiable to any order, with the right derivative at w = 0 too."""

    def __init__(self, axis, reverse):
        self.axis, self.reverse = axis, reverse

    def forward(self, a, b, w):
        xp = backend.xp
        lowest = xp.finfo(w.dtype).min
        with numpy.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_abs = xp.log(xp.abs(w))
            parts = []
            for chosen in (w > 0, w < 0):
                log_w = xp.where(chosen, log_abs, lowest)
                parts.append(self._scan(log_w, a, b))
        out = parts[0] - parts[1]
        self.save_for_backward(a, b, w, out)
        return out

    def _scan(self, log_w, a, b):
        xp, axis = backend.xp, self.axis
        if a.size == 0:
            return xp.zeros_like(a)
        if self.reverse:
            return xp.exp(_flip(xp.logaddexp.accumulate(_flip(log_w - b, axis), axis=axis),
                                axis) + a)
        return xp.exp(xp.logaddexp.accumulate(log_w + a, axis=axis) - b)

    def backward(self, g):
        a, b, w, out = self.saved_tensors
        other = WeightedScan(self.axis, not self.reverse)(a, b, g)
        if self.reverse:
            return g * out, -(w * other), other
        return w * other, -(g * out), other


# ---------------------------------------------------------------- functional API

def _line(x, dim, op):
    """The axis a scan runs along (a 0-d tensor is scanned as one element)."""
    require_tensor(x, op)
    if dim is None:
        raise ArgumentTypeError(f"{op}(): missing the required argument 'dim'")
    return _one_axis(dim, x.ndim)


def _scan(x, dim, op, make):
    """Apply a scan Function made by ``make(axis)``; 0-d tensors go through as shape (1,)."""
    axis = _line(x, dim, op)
    if x.ndim == 0:
        return reshape(make(0)(reshape(x, (1,))), ())
    return make(axis)(x)


def _accumulated_dtype(x, dtype, op):
    if dtype is not None:
        return cast(x, dtype)
    if backend.kind(x._data.dtype) in "biu":
        return cast(x, numpy.int64)              # PyTorch: integer and bool scans give int64
    return x


def cumsum(input, dim=None, *, dtype=None):
    """Running sum along ``dim``; integer and bool tensors sum in int64 (as PyTorch).

    >>> import chainrule
    >>> chainrule.tensor([1.0, 2.0, 3.0]).cumsum(0).tolist()
    [1.0, 3.0, 6.0]
    """
    require_tensor(input, "cumsum")
    return _scan(_accumulated_dtype(input, dtype, "cumsum"), dim, "cumsum", CumSum)


def cumprod(input, dim=None, *, dtype=None):
    """Running product along ``dim``, with exact gradients (and second derivatives) where the
    input holds zeros.

    >>> import chainrule
    >>> x = chainrule.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> x.cumprod(0).sum().backward()
    >>> x.grad.tolist()
    [1.0, 8.0, 0.0]
    """
    require_tensor(input, "cumprod")
    return _scan(_accumulated_dtype(input, dtype, "cumprod"), dim, "cumprod", CumProd)


def logcumsumexp(input, dim=None):
    """log(cumsum(exp(x))) along ``dim``, without overflow.

    >>> import chainrule
    >>> [round(v, 4) for v in chainrule.tensor([0.0, 0.0, 1000.0]).logcumsumexp(0).tolist()]
    [0.0, 0.6931, 1000.0]
    """
    require_tensor(input, "logcumsumexp")
    if backend.kind(input._data.dtype) != "f":
        raise DTypeError(f"logcumsumexp(): needs a floating-point tensor, got {input.dtype} "
                         "(as PyTorch); convert with .float()")
    return _scan(input, dim, "logcumsumexp", LogCumSumExp)


def cummax(input, dim=None):
    """Running maximum along ``dim``: the named tuple ``(values, indices)``. A tie moves the
    index to the later element and a NaN stays once met, as in PyTorch; the gradient goes to
    the element each value came from.

    >>> import chainrule
    >>> out = chainrule.tensor([1.0, 3.0, 2.0, 3.0]).cummax(0)
    >>> out.values.tolist(), out.indices.tolist()
    ([1.0, 3.0, 3.0, 3.0], [0, 1, 1, 3])
    """
    return _running_extreme(input, dim, "cummax", backend.xp.maximum)


def cummin(input, dim=None):
    """Running minimum along ``dim``: ``(values, indices)`` (see :func:`cummax`).

    >>> import chainrule
    >>> chainrule.tensor([3.0, 1.0, 2.0]).cummin(0).indices.tolist()
    [0, 1, 1]
    """
    return _running_extreme(input, dim, "cummin", backend.xp.minimum)


def _running_extreme(x, dim, op, ufunc):
    xp = backend.xp
    axis = _line(x, dim, op)
    data = x._data.reshape(1) if x.ndim == 0 else x._data
    if data.size == 0:
        index = xp.zeros(data.shape, dtype=numpy.int64)
    else:
        running = ufunc.accumulate(data, axis=axis)
        moved = data == running                  # this element became the running extreme
        if backend.kind(data.dtype) == "f":
            moved |= xp.isnan(data)
        positions = xp.arange(data.shape[axis]).reshape(
            [-1 if i == axis else 1 for i in range(data.ndim)])
        index = xp.maximum.accumulate(xp.where(moved, positions, 0), axis=axis)
    index = index.reshape(x.shape).astype(numpy.int64, copy=False)
    values = take_at(x, axis, index) if x.ndim else x * 1
    return getattr(return_types, op)(values, x._make(index, None))


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along ``dim``, after joining ``prepend`` and ``append``
    (tensors shaped like the input outside ``dim``). Bool tensors give ``x[1:] != x[:-1]``.

    >>> import chainrule
    >>> chainrule.tensor([1, 4, 9, 16]).diff().tolist()
    [3, 5, 7]
    """
    require_tensor(input, "diff")
    if input.ndim == 0:
        raise ShapeError("diff(): expects a tensor with at least one dimension, got a 0-d tensor")
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)):
        raise ArgumentTypeError(f"diff(): n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ArgumentError(f"diff(): order n must be non-negative, got {n}")
    axis = _one_axis(dim, input.ndim)
    pieces = [_edge(prepend, input, axis, "prepend"), input, _edge(append, input, axis,
                                                                     "append")]
    pieces = [p for p in pieces if p is not None]
    x = concatenate(pieces, axis) if len(pieces) > 1 else input
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        later = x[(slice(None),) * axis + (slice(1, None),)]
        earlier = x[(slice(None),) * axis + (slice(None, -1),)]
        if x._data.dtype == numpy.bool_:
            x = x._make(later._data != earlier._data, None)
        else:
            x = later - earlier
    return x


def _edge(extra, x, axis, name):
    if extra is None:
        return None
    if not isinstance(extra, TensorBase):
        raise ArgumentTypeError(f"diff(): argument '{name}' must be a Tensor, not "
                                f"{type(extra).__name__}")
    if extra.ndim != x.ndim:
        raise ShapeError(f"diff(): {name} must have as many dimensions as the input "
                         f"({x.ndim}), got shape {extra.shape}")
    for i, (a, b) in enumerate(zip(extra.shape, x.shape)):
        if i != axis and a != b:
            raise ShapeError(f"diff(): {name} of shape {extra.shape} must match the input's "
                             f"shape {x.shape} outside dimension {axis}")
    return extra


__all__ = ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin", "diff"]
