"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median, nanmedian, mode,
unique, unique_consecutive, searchsorted, bucketize.

Orders are stable and put NaN last (first when descending), as PyTorch's sort. An op that
selects values (sort, topk, kthvalue, median and mode with a dim) gathers them at the indices
it returns, so the gradient goes to exactly those elements (PyTorch's rule);
median/nanmedian without a dim split the gradient evenly among the elements equal to the
result, as PyTorch does. unique, searchsorted and bucketize return indices (no gradient).
"""
import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..tensor_base import TensorBase
from ._named import return_types
from ._util import _one_axis, require_tensor
from .indexing import take_at
from .shape import reshape, squeeze


def stable_order(data, axis, descending=False):
    """Indices that sort ``data`` along ``axis``: stable, NaN last (first when descending,
    ties still in their original order)."""
    xp = backend.xp
    if not descending:
        return backend_helpers.stable_argsort(data, axis)
    n = data.shape[axis]
    reversed_order = backend_helpers.stable_argsort(xp.flip(data, axis=axis), axis)
    return xp.flip(n - 1 - reversed_order, axis=axis)


def _axis(x, dim, op):
    require_tensor(x, op)
    if isinstance(dim, bool) or not isinstance(dim, (int, numpy.integer)):
        raise ArgumentTypeError(f"{op}(): dim must be an int, got {type(dim).__name__}")
    return _one_axis(dim, x.ndim)


def _picked(x, axis, index, keepdim, name):
    """``(values, indices)`` with values gathered at ``index`` (kept dims of size 1)."""
    if x.ndim == 0:
        return getattr(return_types, name)(x * 1, x._make(backend.xp.zeros((), numpy.int64),
                                                          None))
    values = take_at(x, axis, index)
    indices = x._make(backend.xp.astype(index, numpy.dtype(numpy.int64), copy=False), None)
    if not keepdim:
        values, indices = squeeze(values, axis), squeeze(indices, axis)
    return getattr(return_types, name)(values, indices)


def sort(input, dim=-1, descending=False, *, stable=False):
    """Sorted values along ``dim`` and the indices they came from: ``(values, indices)``.
    Always stable; NaN sorts last (first when ``descending``), as in PyTorch.

    >>> import chainrule
    >>> out = chainrule.tensor([3.0, 1.0, 2.0]).sort()
    >>> out.values.tolist(), out.indices.tolist()
    ([1.0, 2.0, 3.0], [1, 2, 0])
    """
    axis = _axis(input, dim, "sort")
    if input.ndim == 0:
        return _picked(input, 0, None, True, "sort")
    return _picked(input, axis, stable_order(input._data, axis, descending), True, "sort")


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (stable).

    >>> import chainrule
    >>> chainrule.tensor([3.0, 1.0, 2.0]).argsort(descending=True).tolist()
    [0, 2, 1]
    """
    return sort(input, dim, descending, stable=stable).indices


def msort(input):
    """Sorted along the first dimension: ``sort(input, dim=0).values``.

    >>> import chainrule
    >>> chainrule.tensor([[3.0, 1.0], [0.0, 5.0]]).msort().tolist()
    [[0.0, 1.0], [3.0, 5.0]]
    """
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices, in sorted order
    (also when ``sorted=False``). Among equal values the earlier index is taken first.

    >>> import chainrule
    >>> chainrule.tensor([1.0, 5.0, 3.0]).topk(2).indices.tolist()
    [1, 2]
    """
    axis = _axis(input, dim, "topk")
    size = input.shape[axis] if input.ndim else 1
    k = _count_arg(k, "topk", "k")
    if not 0 <= k <= size:
        raise ArgumentError(f"topk(): k ({k}) is out of range for dimension {axis} of size "
                            f"{size}")
    if input.ndim == 0:
        return _picked(input, 0, None, True, "topk")
    order = stable_order(input._data, axis, descending=largest)
    index = order[(slice(None),) * axis + (slice(0, k),)]
    return _picked(input, axis, index, True, "topk")


def _count_arg(k, op, name):
    if isinstance(k, TensorBase):
        k = k.item()
    if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)):
        raise ArgumentTypeError(f"{op}(): {name} must be an int, got {type(k).__name__}")
    return int(k)


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest value along ``dim`` (k counts from 1) and its index.

    >>> import chainrule
    >>> out = chainrule.tensor([3.0, 1.0, 2.0]).kthvalue(2)
    >>> out.values.item(), out.indices.item()
    (2.0, 2)
    """
    axis = _axis(input, dim, "kthvalue")
    size = input.shape[axis] if input.ndim else 1
    k = _count_arg(k, "kthvalue", "k")
    if not 1 <= k <= size:
        raise ArgumentError(f"kthvalue(): k ({k}) is out of range for dimension {axis} of "
                            f"size {size} (k counts from 1)")
    if input.ndim == 0:
        return _picked(input, 0, None, keepdim, "kthvalue")
    order = stable_order(input._data, axis)
    return _picked(input, axis, order[(slice(None),) * axis + (slice(k - 1, k),)], keepdim,
                   "kthvalue")


class EvenlySpread(Function):
    """A value chosen among the elements (median without a dim): its gradient is split
    evenly among every element equal to it (NaN counts as equal to NaN), PyTorch's
    evenly_distribute_backward."""

    def __init__(self, pick):
        self.pick = pick

    def forward(self, x):
        xp = backend.xp
        value = xp.asarray(self.pick(backend.xp.reshape(x, (-1,))), dtype=x.dtype)
        if self.needs_input_grad[0]:
            chosen = xp.isnan(x) if xp.isnan(value) else x == value
            self.save_for_backward(backend.xp.astype(chosen / max(int(backend.xp.sum(chosen)), 1), x.dtype))
        return value

    def backward(self, gy):
        (share,) = self.saved_tensors
        return gy * share


def _lower_median(flat):
    xp = backend.xp
    if flat.size == 0:
        return xp.nan
    if backend.kind(flat.dtype) == "f" and xp.isnan(flat).any():
        return xp.nan
    return xp.partition(flat, (flat.size - 1) // 2)[(flat.size - 1) // 2]


def _lower_nanmedian(flat):
    if backend.kind(flat.dtype) == "f":
        flat = flat[~backend.xp.isnan(flat)]
    return _lower_median(flat)


def median(input, dim=None, keepdim=False):
    """The lower median. Without ``dim`` a tensor (NaN if any element is NaN), whose
    gradient is split among the elements equal to it; with ``dim`` the named tuple
    ``(values, indices)``, the gradient going to that index (as PyTorch).

    >>> import chainrule
    >>> chainrule.tensor([4.0, 1.0, 3.0, 2.0]).median().item()
    2.0
    >>> chainrule.tensor([[4.0, 1.0, 3.0]]).median(dim=1).indices.tolist()
    [2]
    """
    return _median(input, dim, keepdim, "median")


def nanmedian(input, dim=None, keepdim=False):
    """:func:`median` ignoring NaN (NaN only where a whole line is NaN).

    >>> import chainrule
    >>> chainrule.tensor([float("nan"), 1.0, 3.0]).nanmedian().item()
    1.0
    """
    return _median(input, dim, keepdim, "nanmedian")


def _median(x, dim, keepdim, name):
    require_tensor(x, name)
    if dim is None:
        if backend.kind(x._data.dtype) != "f" and x._data.size == 0:
            raise ShapeError(f"{name}(): an empty {x.dtype} tensor has no median")
        return EvenlySpread(_lower_median if name == "median" else _lower_nanmedian)(x)
    axis = _axis(x, dim, name)
    if x.ndim == 0:
        return _picked(x, 0, None, keepdim, name)
    _check_nonempty_line(x, axis, name)
    xp = backend.xp
    data = x._data
    order = stable_order(data, axis)
    if backend.kind(data.dtype) == "f":
        nans = xp.sum(xp.astype(xp.isnan(data), numpy.dtype(numpy.int64)), axis=axis,
                      keepdims=True)
        if name == "median":               # a line with NaN: its first NaN (as PyTorch)
            n = data.shape[axis]
            position = xp.where(nans > 0, n - nans, (n - 1) // 2)
        else:                              # the lower median of the non-NaN values
            position = xp.maximum(data.shape[axis] - nans - 1, 0) // 2
    else:
        position = xp.full(data.shape[:axis] + (1,) + data.shape[axis + 1:],
                           (data.shape[axis] - 1) // 2)
    index = xp.take_along_axis(order, xp.astype(position, numpy.dtype(numpy.int64)), axis=axis)
    return _picked(x, axis, index, keepdim, name)


def _check_nonempty_line(x, axis, name):
    """Reducing a dimension of size 0 has no answer unless there are no lines at all."""
    lines = int(numpy.prod([n for i, n in enumerate(x.shape) if i != axis]))
    if x.shape[axis] == 0 and lines:
        raise ShapeError(f"{name}(): cannot reduce over dimension {axis} of size 0 "
                         f"(shape {x.shape})")


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the
    index of its last occurrence.

    >>> import chainrule
    >>> out = chainrule.tensor([1.0, 2.0, 2.0, 1.0, 3.0]).mode()
    >>> out.values.item(), out.indices.item()
    (1.0, 3)
    """
    axis = _axis(input, dim, "mode")
    if input.ndim == 0:
        return _picked(input, 0, None, keepdim, "mode")
    _check_nonempty_line(input, axis, "mode")
    xp = backend.xp
    data = xp.moveaxis(input._data, axis, -1)
    if data.size == 0:
        index = xp.zeros(data.shape[:-1] + (1,), dtype=numpy.int64)
    else:
        order = stable_order(data, -1)
        ordered = xp.take_along_axis(data, order, -1)
        same = ordered[..., 1:] == ordered[..., :-1]
        if backend.kind(data.dtype) == "f":
            same |= xp.isnan(ordered[..., 1:]) & xp.isnan(ordered[..., :-1])
        starts = xp.concatenate([xp.ones(same.shape[:-1] + (1,), bool), ~same], axis=-1)
        positions = xp.arange(data.shape[-1])
        run_start = xp.maximum.accumulate(xp.where(starts, positions, 0), axis=-1)
        run_length = positions - run_start + 1
        end = xp.argmax(run_length, axis=-1)[..., None]        # first longest run's end
        index = xp.take_along_axis(order, end, -1)
    return _picked(input, axis, xp.moveaxis(index, -1, axis), keepdim, "mode")


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted; NaNs stay distinct, as in PyTorch), or distinct slices
    along ``dim``; optionally the inverse indices and the counts. No gradient.

    >>> import chainrule
    >>> values, counts = chainrule.tensor([3, 1, 3, 2]).unique(return_counts=True)
    >>> values.tolist(), counts.tolist()
    ([1, 2, 3], [1, 1, 2])
    """
    require_tensor(input, "unique")
    data = input._data
    if dim is not None:
        axis = _one_axis(dim, data.ndim)
        if data.ndim == 0:
            data = data.reshape(1)
        values, inverse, counts = backend.xp.unique(data, return_inverse=True,
                                                    return_counts=True, axis=axis,
                                                    equal_nan=False)
        inverse = inverse.reshape(-1)
    else:
        values, inverse, counts = backend.xp.unique(data.reshape(-1), return_inverse=True,
                                                    return_counts=True, equal_nan=False)
        inverse = inverse.reshape(data.shape)
    return _unique_result(input, values, inverse, counts, return_inverse, return_counts)


def _unique_result(x, values, inverse, counts, return_inverse, return_counts):
    out = [x._make(values, None)]
    if return_inverse:
        out.append(x._make(inverse.astype(numpy.int64), None))
    if return_counts:
        out.append(x._make(counts.astype(numpy.int64), None))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``). No gradient.

    >>> import chainrule
    >>> chainrule.tensor([1, 1, 2, 2, 1]).unique_consecutive().tolist()
    [1, 2, 1]
    """
    require_tensor(input, "unique_consecutive")
    xp = backend.xp
    data = input._data
    if dim is None:
        data, axis = data.reshape(-1), 0
    else:
        axis = _one_axis(dim, data.ndim)
        data = data.reshape(1) if data.ndim == 0 else data
    moved = xp.moveaxis(data, axis, 0)
    moved = moved.reshape(moved.shape[0], int(numpy.prod(moved.shape[1:])))
    n = moved.shape[0]
    if n == 0:
        starts = xp.zeros(0, dtype=bool)
    else:
        change = (moved[1:] != moved[:-1]).any(axis=1) if moved.shape[1] else \
            xp.zeros(n - 1, dtype=bool)
        starts = xp.concatenate([xp.ones(1, dtype=bool), change])
    first = xp.flatnonzero(starts)
    values = xp.take(data, first, axis=axis)
    inverse = xp.cumsum(starts) - 1
    counts = xp.diff(xp.concatenate([first, [n]]))
    if dim is None:
        inverse = inverse.reshape(input._data.shape)
    return _unique_result(input, values, inverse, counts, return_inverse, return_counts)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where ``input``'s values would be inserted into ``sorted_sequence`` (along its last
    dimension) to keep it sorted: the first such place, or the last with ``right=True`` or
    ``side="right"``. No gradient.

    >>> import chainrule
    >>> seq = chainrule.tensor([1.0, 2.0, 2.0, 3.0])
    >>> chainrule.searchsorted(seq, chainrule.tensor([2.0, 0.0, 9.0])).tolist()
    [1, 0, 4]
    """
    seq = require_tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    side = _side(right, side)
    if seq.ndim == 0:
        raise ShapeError("searchsorted(): sorted_sequence must have at least one dimension, "
                         "got a 0-d tensor")
    values = input._data if isinstance(input, TensorBase) else backend.xp.asarray(input)
    if backend.kind(values.dtype) not in "biuf":
        raise ArgumentTypeError(f"searchsorted(): values must be numbers, got {values.dtype}")
    boundaries = seq._data
    if sorter is not None:
        order = sorter._data if isinstance(sorter, TensorBase) else backend.xp.asarray(sorter)
        if order.shape != boundaries.shape or backend.kind(order.dtype) not in "iu":
            raise ShapeError(f"searchsorted(): sorter must be an integer tensor of the "
                             f"sequence's shape {seq.shape}, got {order.dtype} of shape "
                             f"{order.shape}")
        if order.size and (order.min() < 0 or order.max() >= boundaries.shape[-1]):
            raise ArgumentError(f"searchsorted(): sorter values must lie in "
                                f"[0, {boundaries.shape[-1]})")
        boundaries = backend.xp.take_along_axis(boundaries, order, -1)
    if boundaries.ndim == 1:
        result = backend.xp.searchsorted(boundaries, values, side=side)
    else:
        if values.ndim != boundaries.ndim or values.shape[:-1] != boundaries.shape[:-1]:
            raise ShapeError(f"searchsorted(): a sorted_sequence of shape {seq.shape} needs "
                             f"values with the same leading dimensions, got shape "
                             f"{tuple(values.shape)}")
        result = _batched_searchsorted(boundaries, values, side)
    dtype = numpy.int32 if out_int32 else numpy.int64
    return seq._make(backend.xp.asarray(result, dtype=dtype), None)


def _side(right, side):
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise ArgumentError(f"searchsorted(): side must be 'left' or 'right', got {side!r}")
    if right and side == "left":
        raise ArgumentError("searchsorted(): side and right can't be set to opposites, got "
                            "side='left' with right=True")
    return side


def _batched_searchsorted(boundaries, values, side):
    """searchsorted row by row, in one stable merge of each row's boundaries and values."""
    xp = backend.xp
    m, k = boundaries.shape[-1], values.shape[-1]
    dtype = numpy.result_type(boundaries.dtype, values.dtype)
    keys = xp.concatenate([boundaries.astype(dtype), values.astype(dtype)], axis=-1)
    value_first = side == "left"                 # equal keys: values before or after
    tags = xp.concatenate([xp.full(boundaries.shape, value_first, dtype=numpy.int8),
                           xp.full(values.shape, not value_first, dtype=numpy.int8)], -1)
    order = xp.lexsort((tags, keys), axis=-1)
    is_boundary = order < m
    before = xp.cumsum(is_boundary, axis=-1)
    rows = values.shape[:-1]
    which = (order[~is_boundary] - m).reshape(rows + (k,))
    found = before[~is_boundary].reshape(rows + (k,))
    result = xp.empty(rows + (k,), dtype=numpy.int64)
    xp.put_along_axis(result, which, found, -1)
    return result


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value among sorted 1-D ``boundaries``:
    ``searchsorted(boundaries, input, right=right)``.

    >>> import chainrule
    >>> chainrule.bucketize(chainrule.tensor([0.5, 2.0]), chainrule.tensor([1.0, 2.0])).tolist()
    [0, 1]
    """
    boundaries = require_tensor(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise ShapeError(f"bucketize(): boundaries must be 1-D, got shape {boundaries.shape}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode",
           "unique", "unique_consecutive", "searchsorted", "bucketize"]
