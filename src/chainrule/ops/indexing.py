"""Indexing: ``t[...]`` with ints, slices, None, Ellipsis, integer arrays and boolean masks;
gather / take_along_axis, index_select, one_hot, and item assignment.

The backward of a read is a scatter-add into zeros, so an index that appears twice
receives both gradients.
"""
import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..errors import (ArgumentError, ArgumentTypeError, DTypeError, IndexOutOfRangeError,
                      ReadOnlyError, ShapeError)
from ..tensor_base import TensorBase
from ._util import check_fits, lift, require_tensor, single_axis


def _is_advanced(index):
    return any(hasattr(i, "shape") and not isinstance(i, (int, numpy.integer)) for i in index)


class GetItem(Function):
    """``x[index]``: a view for ints, slices, None and Ellipsis; a copy for integer arrays and
    masks. Backward scatters the gradient back into zeros of x's shape."""

    is_view = True

    def __init__(self, index):
        if isinstance(index, tuple) and not any(i is Ellipsis for i in index):
            index = index + (Ellipsis,)          # the standard wants every axis indexed
        self.index = index

    def forward(self, x):
        self.input_shape = x.shape
        if _is_advanced(self.index):
            return backend_helpers.getitem(x, self.index)
        return x[self.index]

    def backward(self, gy):
        return ScatterAdd(self.index, self.input_shape)(gy)


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``gy`` added at ``index`` (repeated indices accumulate)."""

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, gy):
        out = backend.xp.zeros(self.shape, dtype=gy.dtype)
        if _is_advanced(self.index):
            backend_helpers.scatter_add(out, self.index, gy)
        else:
            out[self.index] = gy
        return out

    def backward(self, ggx):
        return GetItem(self.index)(ggx)


class SetItem(Function):
    """``x[index] = value`` as a new tensor: x's gradient is zero where it was overwritten;
    value's gradient is what flows out of x[index]."""

    def __init__(self, index):
        self.index = index

    def forward(self, x, value):
        self.input_shape = x.shape
        out = backend_helpers.contiguous_copy(x)
        backend_helpers.setitem(out, self.index, value)
        return out

    def backward(self, gy):
        need_x, need_value = self.needs_input_grad
        gx = gv = None
        if need_x:
            keep = backend.xp.ones(self.input_shape, dtype=gy.dtype)
            backend_helpers.setitem(keep, self.index, 0)
            gx = gy * gy._make(keep, None)
        if need_value:
            gv = GetItem(self.index)(gy)
        return gx, gv


class WriteView(Function):
    """The base of a view after the view was changed in place (PyTorch's CopySlices):
    ``base`` with the region that ``view_fn`` selects replaced by ``value``."""

    def __init__(self, view_fn, make):
        self.view_fn, self.make = view_fn, make

    def forward(self, base, value):
        out = backend_helpers.contiguous_copy(base)
        with no_grad():
            self.view_fn(self.make(out, None))._data[...] = value
        self.value_shape = value.shape
        return out

    def backward(self, gy):
        need_base, need_value = self.needs_input_grad
        g_base = g_value = None
        if need_base:
            zeros = gy._make(backend.xp.zeros(self.value_shape, dtype=gy.dtype), None)
            g_base = WriteView(self.view_fn, self.make)(gy, zeros)
        if need_value:
            g_value = self.view_fn(gy)
        return g_base, g_value


def write_through_view(base, view_fn, value):
    """``base`` with the view ``view_fn(base)`` replaced by ``value`` (differentiable)."""
    return WriteView(view_fn, base._make)(base, value)


def _to_index(index):
    """Turn Tensors and lists inside an index into backend arrays; a basic index gets a
    trailing Ellipsis so that a full selection stays a 0-d view, not a NumPy scalar.
    A 0-d integer tensor is an int (PyTorch selects with it), a 0-d bool tensor a bool."""
    if not isinstance(index, tuple):
        index = (index,)
    converted = []
    for i in index:
        if isinstance(i, TensorBase):
            i = i._data
            if backend.kind(i.dtype) == "f":
                raise ArgumentTypeError(
                    f"tensors used as indices must be long, int or bool, got {i.dtype}")
            if i.ndim == 0:
                i = bool(i) if backend.kind(i.dtype) == "b" else int(i)
        elif isinstance(i, (list, numpy.ndarray)) or hasattr(i, "__array_namespace__"):
            i = backend.xp.asarray(i)
            if backend.kind(i.dtype) == "f" or (backend.kind(i.dtype) not in "iub" and i.size):
                raise ArgumentTypeError(f"an index array must hold integers or bools, got "
                                        f"{i.dtype}")
            if i.size == 0:
                i = i.astype(numpy.int64)
            if i.ndim == 0:
                i = bool(i) if backend.kind(i.dtype) == "b" else int(i)
        elif isinstance(i, float):
            raise ArgumentTypeError(f"a float ({i}) cannot index a tensor: use an int")
        elif not (i is None or i is Ellipsis or isinstance(i, (int, numpy.integer, slice))):
            raise ArgumentTypeError(f"a {type(i).__name__} cannot index a tensor")
        converted.append(i)
    if not any(i is Ellipsis for i in converted):
        converted.append(Ellipsis)
    return tuple(converted)


def _is_int(i):
    return isinstance(i, (int, numpy.integer)) and not isinstance(i, (bool, numpy.bool_))


def _is_array_like(i):
    """An index part NumPy treats as advanced: an array or a bool scalar."""
    kind = type(i)
    if kind is int or kind is slice or i is None or i is Ellipsis:
        return False
    return hasattr(i, "shape") and not isinstance(i, numpy.generic) or \
        isinstance(i, (bool, numpy.bool_))


def _torch_order(index, ndim):
    """PyTorch's reading of an index as one or two NumPy indices to apply in turn.

    PyTorch applies ints as basic indices (a select) before the tensor indices, and an
    Ellipsis that spans no dimension separates nothing; NumPy counts ints as advanced
    indices and any Ellipsis as a separator, which moves the advanced dimensions first in
    ``x[0, :, idx]`` or ``x[:, idx, ..., idx]`` (3-D). Returns ``[index]`` when one NumPy index
    says the same, else ``[basic, advanced]``: ``x[basic][advanced]`` is PyTorch's result."""
    if not any(_is_array_like(i) for i in index):
        return [index]                         # basic indexing: NumPy and PyTorch agree
    consumed = sum(1 for i in index if _is_int(i) or isinstance(i, slice)) + \
        sum(i.ndim if backend.kind(i.dtype) == "b" else 1
            for i in index if hasattr(i, "shape") and not isinstance(i, numpy.generic))
    if consumed == ndim and index[-1] is not Ellipsis:
        index = tuple(i for i in index if i is not Ellipsis) + (Ellipsis,)
    if not any(_is_int(i) for i in index):
        return [index]
    basic, placed, position = [], [], 0
    for i in index:
        if _is_int(i):
            basic.append(i)
        elif i is Ellipsis:
            basic.append(i)
            position += ndim - consumed
        elif isinstance(i, (bool, numpy.bool_)):
            basic.append(None)                 # a new axis, then [0] or [] along it
            placed.append((position, backend.xp.zeros(1 if i else 0, dtype=numpy.int64), 1))
            position += 1
        elif hasattr(i, "shape"):
            width = i.ndim if backend.kind(i.dtype) == "b" else 1
            basic.extend([slice(None)] * width)
            placed.append((position, i, width))
            position += width
        else:                                  # a slice or None
            basic.append(i)
            position += 1
    advanced, at = [], 0
    for start, array, width in placed:
        advanced.extend([slice(None)] * (start - at))
        advanced.append(array)
        at = start + width
    return [tuple(basic), tuple(advanced) + (Ellipsis,)]


def getitem(x, index):
    index = _to_index(index)
    try:
        out = x
        for step in _torch_order(index, x.ndim):
            out = GetItem(step)(out)
        return out
    except IndexError as error:
        raise IndexOutOfRangeError(f"index {_show(index)} does not fit a tensor of shape "
                                   f"{x.shape}: {error}") from None


def _show(index):
    parts = [("..." if i is Ellipsis else repr(i)) for i in index]
    if len(parts) > 1 and parts[-1] == "...":
        parts = parts[:-1]
    return "[" + ", ".join(parts) + "]"


def setitem(x, index, value):
    """``x`` with ``x[index] = value``, as a new tensor (recorded while grad is on)."""
    index = _to_index(index)
    check_fits(value, x._data.dtype, "setitem")
    value = lift(value, x, x._data.dtype)
    if value._data.dtype != x._data.dtype:
        value = value.to(x._data.dtype)
    _check_assignable(x, index, value)
    steps = _torch_order(index, x.ndim)
    if len(steps) == 1:
        return SetItem(steps[0])(x, value)
    basic, advanced = steps
    changed = SetItem(advanced)(GetItem(basic)(x), value)
    return write_through_view(x, lambda t: GetItem(basic)(t), changed)


def assign(x, index, value):
    """``x[index] = value`` written straight into x's memory (nothing to record)."""
    index = _to_index(index)
    check_fits(value, x._data.dtype, "setitem")
    array = value._data if isinstance(value, TensorBase) else backend.xp.asarray(value)
    if array.dtype != x._data.dtype and backend.kind(array.dtype) == "f" and backend.kind(x._data.dtype) in "iub":
        raise DTypeError(f"cannot assign {array.dtype} values into a {x.dtype} tensor; "
                         "convert them first")
    if not x._data.flags.writeable:
        raise ReadOnlyError(f"item assignment into a tensor of shape {x.shape} whose memory "
                            "is read-only (an expand()/broadcast_to() view or a read-only "
                            "array): clone() it first")
    try:
        steps = _torch_order(index, x.ndim)
        if len(steps) == 1:
            x._data[steps[0]] = array
        else:
            x._data[steps[0]][steps[1]] = array
    except IndexError as error:
        raise IndexOutOfRangeError(f"index {_show(index)} does not fit a tensor of shape "
                                   f"{x.shape}: {error}") from None
    except ValueError:
        raise ShapeError(f"cannot assign a value of shape {tuple(array.shape)} to "
                         f"x{_show(index)} of a tensor of shape {x.shape}") from None


def _check_assignable(x, index, value):
    try:
        target = x._data
        for step in _torch_order(index, x.ndim):
            target = target[step]
    except IndexError as error:
        raise IndexOutOfRangeError(f"index {_show(index)} does not fit a tensor of shape "
                                   f"{x.shape}: {error}") from None
    try:
        backend.xp.broadcast_to(value._data, numpy.shape(target))
    except ValueError:
        raise ShapeError(f"cannot assign a value of shape {value.shape} to x{_show(index)} "
                         f"of shape {numpy.shape(target)}") from None


def gather(x, dim, index):
    """PyTorch's gather: ``out[i][j] = x[i][index[i][j]]`` along ``dim``.

    >>> import chainrule
    >>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.gather(1, chainrule.tensor([[1], [0]])).tolist()
    [[2.0], [3.0]]
    """
    index = index._data if isinstance(index, TensorBase) else backend.xp.asarray(index)
    if backend.kind(index.dtype) not in "iu":
        raise ArgumentTypeError(f"gather: index must be an integer tensor, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ShapeError(f"gather: index has {index.ndim} dimensions but the input has "
                         f"{x.ndim} (shape {x.shape})")
    axis = single_axis(dim, x.ndim, "gather")
    _check_bounds(index, x.shape[axis], "gather", axis)
    for i, (n_index, n_x) in enumerate(zip(index.shape, x.shape)):
        if i != axis and n_index > n_x:
            raise ShapeError(f"gather: index shape {index.shape} is larger than the input's "
                             f"shape {x.shape} in dimension {i}")
    grids = backend_helpers.open_grid(index.shape, index)
    full = tuple(index if i == axis else grid for i, grid in enumerate(grids))
    return GetItem(full)(x)


def take_at(x, axis, index):
    """gather with a trusted index array (in range, of x's rank): the values at ``index``
    along ``axis``; the gradient is scattered back, repeated indices accumulating."""
    grids = backend_helpers.open_grid(index.shape, index)
    full = tuple(index if i == axis else grid for i, grid in enumerate(grids))
    return GetItem(full)(x)


def _check_bounds(index, size, op, axis):
    xp = backend.namespace_of(index)
    if index.size and (int(xp.min(index)) < 0 or int(xp.max(index)) >= size):
        raise IndexOutOfRangeError(f"{op}: index values must lie in [0, {size}) for dimension "
                                   f"{axis}, got range [{int(xp.min(index))}, "
                                   f"{int(xp.max(index))}]")


def take_along_axis(x, indices, axis):
    return gather(x, axis, indices)


def index_select(x, dim, index):
    """Pick whole slices along ``dim`` by index (repeats allowed).

    >>> import chainrule
    >>> chainrule.arange(6).reshape(3, 2).index_select(0, chainrule.tensor([2, 0])).tolist()
    [[4, 5], [0, 1]]
    """
    index = index._data if isinstance(index, TensorBase) else backend.xp.asarray(index)
    if index.ndim == 0:
        index = index.reshape(1)
    if index.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    axis = single_axis(dim, x.ndim, "index_select")
    if backend.kind(index.dtype) not in "iu":
        raise ArgumentTypeError(f"index_select: index must be an integer tensor, got "
                                f"{index.dtype}")
    _check_bounds(index, x.shape[axis], "index_select", axis)
    return GetItem((slice(None),) * axis + (index,))(x)


def one_hot(labels, num_classes=-1):
    """Integer labels -> int64 one-hot vectors (no gradient).

    >>> import chainrule
    >>> chainrule.one_hot(chainrule.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    data = require_tensor(labels, "one_hot", "labels")._data
    if backend.kind(data.dtype) not in "iu":
        raise ArgumentTypeError(f"one_hot: labels must be integers, got {data.dtype}")
    if num_classes < 0:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise ArgumentError(f"one_hot: labels must lie in [0, {num_classes}), got range "
                            f"[{int(data.min())}, {int(data.max())}]")
    eye = backend.xp.eye(num_classes, dtype=numpy.int64)
    return labels._make(eye[data], None)


__all__ = ["getitem", "setitem", "gather", "take_along_axis", "index_select", "one_hot"]
