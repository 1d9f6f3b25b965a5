"""Indexing: ``t[...]`` with ints, slices, None, Ellipsis, integer arrays and boolean masks;
gather / take_along_axis, index_select, one_hot, and item assignment.

The backward of a read is a scatter-add into zeros, so an index that appears twice
receives both gradients.
"""
import numpy

from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor
from ._util import lift, single_axis

_make = Tensor._make


def _is_advanced(index):
    return any(hasattr(i, "shape") and not isinstance(i, (int, numpy.integer)) for i in index)


class GetItem(Function):
    saved_inputs = ()

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        return ScatterAdd(self.index, self.inputs[0].shape)(gy)


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``gy`` added at ``index`` (repeated indices accumulate)."""

    saved_inputs = ()

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, gy):
        out = backend.xp.zeros(self.shape, dtype=gy.dtype)
        if _is_advanced(self.index):
            backend.xp.add.at(out, self.index, gy)
        else:
            out[self.index] = gy
        return out

    def backward(self, ggx):
        return GetItem(self.index)(ggx)


class SetItem(Function):
    """``x[index] = value`` as a new tensor: x's gradient is zero where it was overwritten."""

    saved_inputs = ()

    def __init__(self, index):
        self.index = index

    def forward(self, x, value):
        out = x.copy()
        out[self.index] = value
        return out

    def backward(self, gy):
        x, value = self.inputs
        gx = gv = None
        if x.requires_grad:
            keep = backend.xp.ones(x.shape, dtype=gy.data.dtype)
            keep[self.index] = 0
            gx = gy * _make(keep, None)
        if value.requires_grad:
            from .shape import sum_to
            gv = sum_to(GetItem(self.index)(gy), value.shape)
        return gx, gv


def _to_index(index):
    """Turn Tensors and lists inside an index into backend arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    converted = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.data
            if i.dtype.kind == "f":
                raise ArgumentTypeError(
                    f"tensors used as indices must be integer or bool, got {i.dtype}")
        elif isinstance(i, list):
            i = backend.xp.asarray(i)
        converted.append(i)
    return tuple(converted)


def getitem(x, index):
    index = _to_index(index)
    try:
        return GetItem(index)(x)
    except IndexError as error:
        raise IndexOutOfRangeError(f"index {index!r} does not fit a tensor of shape {x.shape}: "
                                   f"{error}") from None


def setitem(x, index, value):
    index = _to_index(index)
    value = lift(value, x)
    if value.data.dtype != x.data.dtype:
        value = value.to(x.data.dtype)
    return SetItem(index)(x, value)


def gather(x, dim, index):
    """PyTorch's gather: ``out[i][j] = x[i][index[i][j]]`` along ``dim``.

    >>> import chainrule
    >>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.gather(1, chainrule.tensor([[1], [0]])).tolist()
    [[2.0], [3.0]]
    """
    index = index.data if isinstance(index, Tensor) else backend.xp.asarray(index)
    if index.ndim != x.ndim:
        raise ShapeError(f"gather: index has {index.ndim} dimensions but the input has "
                         f"{x.ndim} (shape {x.shape})")
    axis = single_axis(dim, x.ndim, "gather")
    grids = backend.xp.ix_(*[backend.xp.arange(n) for n in index.shape])
    full = tuple(index if i == axis else grid for i, grid in enumerate(grids))
    return GetItem(full)(x)


def take_along_axis(x, indices, axis):
    return gather(x, axis, indices)


def index_select(x, dim, index):
    """Pick whole slices along ``dim`` by index (repeats allowed).

    >>> import chainrule
    >>> chainrule.arange(6).reshape(3, 2).index_select(0, chainrule.tensor([2, 0])).tolist()
    [[4, 5], [0, 1]]
    """
    index = index.data if isinstance(index, Tensor) else backend.xp.asarray(index)
    if index.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    axis = single_axis(dim, x.ndim, "index_select")
    return GetItem((slice(None),) * axis + (index,))(x)


def one_hot(labels, num_classes=-1):
    """Integer labels -> int64 one-hot vectors (no gradient).

    >>> import chainrule
    >>> chainrule.one_hot(chainrule.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    data = labels.data if isinstance(labels, Tensor) else backend.xp.asarray(labels)
    if data.dtype.kind not in "iu":
        raise ArgumentTypeError(f"one_hot: labels must be integers, got {data.dtype}")
    if num_classes < 0:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise ArgumentError(f"one_hot: labels must lie in [0, {num_classes}), got range "
                            f"[{int(data.min())}, {int(data.max())}]")
    eye = backend.xp.eye(num_classes, dtype=numpy.int64)
    return _make(eye[data], None)


__all__ = ["getitem", "setitem", "gather", "take_along_axis", "index_select", "one_hot"]
