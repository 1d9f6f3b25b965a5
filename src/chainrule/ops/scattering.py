"""Writing values into tensors: scatter, scatter_add, scatter_reduce, index_add, index_copy,
index_fill, index_put, masked_fill, masked_select, masked_scatter, put, take,
take_along_dim; and the index finders nonzero, argwhere and one-argument where.

Every op returns a new tensor (the in-place forms in Tensor go through ``Tensor._inplace``).
Gradients follow PyTorch's formulas, also with repeated indices: an overwritten element of
the input gets none; each source element gets the gradient of the place it was written to,
even if a later duplicate overwrote it (``grad.gather(dim, index)``); reductions split it as
PyTorch does (amax/amin evenly among the elements equal to the result).
"""
import numpy

from .. import backend, backend_helpers
from ..autograd.broadcast import broadcast_shapes, broadcast_to
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..errors import (ArgumentError, ArgumentTypeError, DTypeError, GraphError,
                      IndexOutOfRangeError, ShapeError)
from ..tensor_base import TensorBase
from ._util import _one_axis, check_fits, require_tensor
from . import arithmetic
from .cast import cast
from .indexing import GetItem, ScatterAdd, SetItem, _to_index
from .shape import reshape

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


# ---------------------------------------------------------------- helpers

def _index_array(index, op, name="index"):
    array = index._data if isinstance(index, TensorBase) else backend.xp.asarray(index)
    if backend.kind(array.dtype) not in "iu" and not (array.size == 0 and backend.kind(array.dtype) == "f"):
        raise ArgumentTypeError(f"{op}(): {name} must be an integer tensor (int64 or int32), "
                                f"got {array.dtype}")
    return backend.namespace_of(array).astype(array, numpy.dtype(numpy.int64), copy=False)


def _check_range(index, size, op, axis, wrap=False):
    """Indices must lie in [0, size) (or [-size, size) where negative ones count from the
    end, ``wrap``); returns them made non-negative."""
    if index.size:
        xp = backend.namespace_of(index)
        low, high = int(xp.min(index)), int(xp.max(index))
        if low < (-size if wrap else 0) or high >= size:
            allowed = f"[{-size}, {size})" if wrap else f"[0, {size})"
            raise IndexOutOfRangeError(f"{op}(): index values must lie in {allowed} for "
                                       f"dimension {axis} of size {size}, got range "
                                       f"[{low}, {high}]")
        if wrap and low < 0:
            index = index % size
    return index


def _zeros_where(mask, gy):
    """gy with zeros where ``mask`` is set (differentiable in gy)."""
    zero = gy._make(backend.xp.zeros((), dtype=gy.dtype), None)
    return arithmetic.Where(mask)(zero, gy)


def _fill_value(x, value, op):
    """A scalar or 0-d tensor as a 0-d tensor of x's dtype (a tensor keeps its gradient)."""
    if isinstance(value, TensorBase):
        if value.ndim != 0:
            raise ShapeError(f"{op}(): only supports a 0-dimensional value tensor, but got one "
                             f"of shape {value.shape}")
        return value if value._data.dtype == x._data.dtype else cast(value, x._data.dtype)
    if isinstance(value, (bool, int, float, numpy.number, numpy.bool_)):
        check_fits(value, x._data.dtype, op)
        return x._make(backend.xp.astype(backend.xp.asarray(value), x._data.dtype), None)
    raise ArgumentTypeError(f"{op}(): value must be a number or a 0-d tensor, got "
                            f"{type(value).__name__}")


def _same_dtype(x, other, op, name):
    if other._data.dtype != x._data.dtype:
        raise DTypeError(f"{op}(): self ({x.dtype}) and {name} ({other.dtype}) must have the "
                         f"same dtype")


def _pad_to(g, region, shape):
    """g (the gradient of ``source[region]``) placed in zeros of ``shape``."""
    if g.shape == tuple(shape):
        return g
    return ScatterAdd(region, tuple(shape))(g)


def _as_1d(*tensors):
    return [reshape(t, (1,)) if t.ndim == 0 else t for t in tensors]


# ---------------------------------------------------------------- scatter along a dim

class _AlongDim:
    """Where a scatter along ``axis`` writes: ``full`` indexes the output (index's values
    along the axis, the index's own position elsewhere); ``region`` is the part of the
    source that is read (index's shape)."""

    def __init__(self, index, axis):
        xp = backend.xp
        self.index, self.axis = index, axis
        grids = backend_helpers.open_grid(index.shape, index)
        self.full = tuple(index if i == axis else grid for i, grid in enumerate(grids))
        self.region = tuple(slice(0, n) for n in index.shape)

    def written(self, shape):
        mask = backend.xp.zeros(shape, dtype=bool)
        backend_helpers.setitem(mask, self.full, True)
        return mask

    def to_onnx(self, builder, inputs, src_shape, reduction):
        """ONNX ScatterElements writing the read part of the source (a Slice of it when the
        index is smaller than the source)."""
        src = inputs[1]
        if tuple(src_shape) != tuple(self.index.shape):
            src = builder.node("Slice", [src, builder.ints([0] * self.index.ndim),
                                         builder.ints(list(self.index.shape)),
                                         builder.ints(list(range(self.index.ndim)))])
        indices = builder.constant(backend.to_numpy(self.index).astype(numpy.int64))
        return builder.node("ScatterElements", [inputs[0], indices, src], axis=self.axis,
                            reduction=reduction)


class Scatter(Function):
    """``out = x``, then ``out[index[i]][j] = src[i][j]`` along the dim (a later duplicate
    wins). x's gradient is zero where written; src's is the gradient at its target."""

    def __init__(self, where):
        self.where = where

    def forward(self, x, src):
        out = backend_helpers.contiguous_copy(x)
        out[self.where.full] = src[self.where.region]
        self.src_shape = src.shape
        return out

    def backward(self, gy):
        need_x, need_src = self.needs_input_grad
        gx = _zeros_where(self.where.written(gy.shape), gy) if need_x else None
        gsrc = _pad_to(GetItem(self.where.full)(gy), self.where.region, self.src_shape) \
            if need_src else None
        return gx, gsrc

    def to_onnx(self, builder, inputs, dynamic_batch):
        return self.where.to_onnx(builder, inputs, self.src_shape, "none")


class ScatterReduce(Function):
    """``scatter_reduce``: each target combines x (with ``include_self``) and every source
    element sent to it, by sum, prod, mean, amax or amin (PyTorch's backward formulas)."""

    def __init__(self, where, reduce, include_self):
        self.where, self.reduce, self.include_self = where, reduce, include_self

    def forward(self, x, src):
        xp = backend.xp
        full, values = self.where.full, src[self.where.region]
        out = backend_helpers.contiguous_copy(x)
        self.src_shape = src.shape
        if self.reduce in ("sum", "mean"):
            if not self.include_self:
                backend_helpers.setitem(out, full, 0)
            backend_helpers.scatter_add(out, full, values)
            if self.reduce == "mean":
                count = self._count(x.shape)
                out = out // count if backend.kind(out.dtype) in "iub" else backend.xp.astype(out / count, out.dtype)
        else:
            name = {"prod": "multiply", "amax": "maximum", "amin": "minimum"}[self.reduce]
            if not self.include_self:
                backend_helpers.setitem(out, full, _identity(self.reduce, out.dtype))
            backend_helpers.scatter_reduce(out, full, values, name)
        self.save_for_backward(x, src, out)
        return out

    def to_onnx(self, builder, inputs, dynamic_batch):
        """ScatterElements with reduction add/mul (opset 16); ONNX has no mean, and max/min
        need opset 18, so those and ``include_self=False`` are not exported."""
        reduction = {"sum": "add", "prod": "mul"}.get(self.reduce)
        if reduction is None or not self.include_self:
            raise ArgumentError(f"ONNX export: scatter_reduce(reduce={self.reduce!r}, "
                                f"include_self={self.include_self}) is not supported (only "
                                "sum and prod with include_self=True)")
        return self.where.to_onnx(builder, inputs, self.src_shape, reduction)

    def _count(self, shape):
        """How many values met at each target (at least 1: an untouched target keeps x)."""
        count = backend.xp.full(shape, 1 if self.include_self else 0, dtype=numpy.int64)
        backend_helpers.scatter_add(count, self.where.full, 1)
        return backend.xp.maximum(count, 1)

    def backward(self, gy):
        x, src, out = self.saved_tensors
        gx, gsrc = getattr(self, "_grad_" + self.reduce)(gy, x, src, out)
        if not self.include_self and gx is not None:
            gx = _zeros_where(self.where.written(gy.shape), gx)
        if gsrc is not None:
            gsrc = _pad_to(gsrc, self.where.region, self.src_shape)
        return gx, gsrc

    def _gather(self, t):
        return GetItem(self.where.full)(t)

    def _grad_sum(self, gy, x, src, out):
        return gy, self._gather(gy)

    def _grad_mean(self, gy, x, src, out):
        scaled = gy / gy._make(backend.xp.astype(self._count(gy.shape), gy.dtype), None)
        return scaled, self._gather(scaled)

    def _grad_amax(self, gy, x, src, out):
        xp = backend.xp
        values = src._data[self.where.region]
        self_is_result = xp.astype(x._data == out._data, gy.dtype)
        chosen = backend_helpers.getitem(out._data, self.where.full)
        src_is_result = xp.astype(values == chosen, gy.dtype)
        shares = backend_helpers.contiguous_copy(self_is_result)
        backend_helpers.scatter_add(shares, self.where.full, src_is_result)
        spread = gy / gy._make(shares, None)
        return (spread * gy._make(self_is_result, None),
                self._gather(spread) * gy._make(src_is_result, None))

    _grad_amin = _grad_amax

    def _grad_prod(self, gy, x, src, out):
        xp = backend.xp
        one = 1.0
        x_zero = x._data == 0
        masked_x = arithmetic.Where(x_zero)(x._make(xp.ones((), x._data.dtype), None), x) \
            if xp.any(x_zero) else x
        product_of_src = ScatterReduce(self.where, "prod", self.include_self)(masked_x, src)
        gx = gy * product_of_src / masked_x
        values = src._data[self.where.region]
        src_zero = values == 0
        zeros_per_target = xp.zeros(x.shape, dtype=numpy.int64)
        backend_helpers.scatter_add(zeros_per_target, self.where.full, src_zero)
        zeros_met = backend_helpers.getitem(zeros_per_target, self.where.full)
        single_zero = _pad_mask(src_zero & (zeros_met == 1), src.shape)
        src_region = GetItem(self.where.region)(src)
        if xp.any(single_zero):
            masked_src = arithmetic.where(single_zero, one, src)
            without_zero = ScatterReduce(self.where, "prod", self.include_self)(x, masked_src)
            others = self._gather(gy * without_zero)
        else:
            others = None
        divided = self._gather(gy * out) / arithmetic.where(src_zero, one, src_region)
        region_single = single_zero[self.where.region]
        gsrc = divided if others is None else arithmetic.where(region_single, others, divided)
        if (zeros_met > 1).any() and state.enabled:
            gsrc = NoSecondDerivative(
                "scatter_reduce(reduce='prod') where one target meets several zeros")(gsrc)
        return gx, gsrc


def _pad_mask(mask, shape):
    full = backend.xp.zeros(shape, dtype=bool)
    full[tuple(slice(0, n) for n in mask.shape)] = mask
    return full


def _identity(reduce, dtype):
    if reduce == "prod":
        return 1
    kind_max = numpy.inf if backend.kind(dtype) == "f" else numpy.iinfo(dtype).max \
        if backend.kind(dtype) in "iu" else True
    kind_min = -numpy.inf if backend.kind(dtype) == "f" else numpy.iinfo(dtype).min \
        if backend.kind(dtype) in "iu" else False
    return kind_min if reduce == "amax" else kind_max


class NoSecondDerivative(Function):
    """Passes a gradient through; differentiating it again raises (as PyTorch's Error node)
    where the formula's own derivative would be wrong."""

    def __init__(self, what):
        self.what = what

    def forward(self, g):
        return g

    def backward(self, gy):
        raise GraphError(f"{self.what}: the second derivative is not implemented (as in "
                         "PyTorch)")


class ScatterAddAlong(Function):
    """``out = x``, then ``out[index[i]][j] += src[i][j]`` (duplicates accumulate)."""

    def __init__(self, where):
        self.where = where

    def forward(self, x, src):
        out = backend_helpers.contiguous_copy(x)
        backend_helpers.scatter_add(out, self.where.full, src[self.where.region])
        self.src_shape = src.shape
        return out

    def backward(self, gy):
        gsrc = _pad_to(GetItem(self.where.full)(gy), self.where.region, self.src_shape) \
            if self.needs_input_grad[1] else None
        return gy, gsrc

    def to_onnx(self, builder, inputs, dynamic_batch):
        return self.where.to_onnx(builder, inputs, self.src_shape, "add")


def _scatter_args(x, dim, index, src, op):
    """Check a scatter's arguments (PyTorch's rules) and say where it writes. A 0-d input
    is handled as shape (1,)."""
    require_tensor(x, op)
    axis = _one_axis(dim, x.ndim)
    index = _index_array(index, op)
    if index.ndim != x.ndim and index.size:
        raise ShapeError(f"{op}(): index has {index.ndim} dimensions but self has {x.ndim} "
                         f"(shape {x.shape}); they must have the same number")
    if src is not None and src.ndim != x.ndim and index.size:
        raise ShapeError(f"{op}(): src has {src.ndim} dimensions but self has {x.ndim}")
    if index.ndim == x.ndim:
        for d, n in enumerate(index.shape):
            too_big_src = src is not None and n > src.shape[d]
            if too_big_src or (d != axis and n > x.shape[d]):
                raise ShapeError(f"{op}(): expected index {tuple(index.shape)} to be no larger "
                                 f"than self {x.shape} apart from dimension {axis}"
                                 + (f" and no larger than src {src.shape}"
                                    if src is not None else ""))
    size = x.shape[axis] if x.ndim else 1
    index = _check_range(index, size, op, axis)
    if src is not None:
        _same_dtype(x, src, op, "src")
    return axis, index


def _scatter_call(x, axis, index, src, make):
    """``make(where)(x, src)`` for a scatter Function class; an empty index changes nothing,
    and a 0-d input works as shape (1,)."""
    if index.size == 0:
        return _copy(x)
    if x.ndim == 0:
        x1, src1 = _as_1d(x, src)
        return reshape(make(_AlongDim(index.reshape(1), 0))(x1, src1), ())
    return make(_AlongDim(index, axis))(x, src)


def _copy(x):
    return x * 1 if backend.kind(x._data.dtype) == "f" else x._make(x._data.copy(), None)


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """``input`` with ``src`` (a tensor) or ``value`` (a number) written at ``index`` along
    ``dim``: ``out[index[i][j]][j] = src[i][j]`` for dim 0. With repeated indices a later
    value wins; ``reduce="add"``/``"multiply"`` combines them instead.

    >>> import chainrule
    >>> x = chainrule.zeros(3)
    >>> x.scatter(0, chainrule.tensor([2, 0]), chainrule.tensor([5.0, 7.0])).tolist()
    [7.0, 0.0, 5.0]
    """
    if src is not None and not isinstance(src, TensorBase):
        src, value = None, src
    if src is None and value is None:
        raise ArgumentError("scatter(): give src (a tensor) or value (a number)")
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ArgumentError(f"scatter(): reduce must be 'add' or 'multiply', got "
                                f"{reduce!r}")
        if src is None:
            shape = _index_array(index, "scatter").shape
            fill = _fill_value(require_tensor(input, "scatter"), value, "scatter")
            src = input._make(backend.xp.full(shape, fill._data, dtype=input.dtype), None)
        return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
    if src is None:
        axis, index = _scatter_args(input, dim, index, None, "scatter")
        if index.size == 0:
            return _copy(input)
        fill = _fill_value(input, value, "scatter")
        where = _AlongDim(index.reshape((1,) if input.ndim == 0 else index.shape), axis)
        mask = where.written(input.shape if input.ndim else (1,)).reshape(input.shape)
        return arithmetic.where(mask, fill, input)
    axis, index = _scatter_args(input, dim, index, src, "scatter")
    return _scatter_call(input, axis, index, src, Scatter)


def scatter_add(input, dim, index, src):
    """``input`` with ``src`` added at ``index`` along ``dim`` (repeated indices add up).

    >>> import chainrule
    >>> chainrule.zeros(3).scatter_add(0, chainrule.tensor([1, 1]), chainrule.ones(2)).tolist()
    [0.0, 2.0, 0.0]
    """
    src = require_tensor(src, "scatter_add", "src")
    axis, index = _scatter_args(input, dim, index, src, "scatter_add")
    return _scatter_call(input, axis, index, src, ScatterAddAlong)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """Combine ``src`` into ``input`` at ``index`` along ``dim`` with ``reduce`` ("sum",
    "prod", "mean", "amax" or "amin"); ``include_self=False`` leaves input's own value out
    where something is scattered. Integer "mean" rounds down, as in PyTorch.

    >>> import chainrule
    >>> x = chainrule.tensor([1.0, 1.0])
    >>> x.scatter_reduce(0, chainrule.tensor([0, 0]), chainrule.tensor([3.0, 5.0]), "amax").tolist()
    [5.0, 1.0]
    """
    if reduce not in _REDUCTIONS:
        raise ArgumentError(f"scatter_reduce(): reduce must be one of {', '.join(_REDUCTIONS)}, "
                            f"got {reduce!r}")
    src = require_tensor(src, "scatter_reduce", "src")
    axis, index = _scatter_args(input, dim, index, src, "scatter_reduce")
    return _scatter_call(input, axis, index, src,
                         lambda where: ScatterReduce(where, reduce, bool(include_self)))


# ---------------------------------------------------------------- index_* along a dim

def _index_args(x, dim, index, op, wrap=False):
    require_tensor(x, op)
    axis = _one_axis(dim, x.ndim)
    index = _index_array(index, op)
    if index.ndim > 1:
        raise ShapeError(f"{op}(): index must be a vector (1-D or 0-d), got shape "
                         f"{tuple(index.shape)}")
    index = _check_range(backend.xp.reshape(index, (-1,)), x.shape[axis] if x.ndim else 1, op,
                         axis, wrap)
    return axis, index


def _source_args(x, axis, index, source, op):
    source = require_tensor(source, op, "source")
    _same_dtype(x, source, op, "source")
    expected = list(x.shape) or [1]
    expected[axis] = index.size
    if source.ndim == 0 and index.size == 1 and x.ndim <= 1:
        return reshape(source, (1,))
    if list(source.shape) != expected:
        raise ShapeError(f"{op}(): source of shape {source.shape} must have self's shape "
                         f"{x.shape} with dimension {axis} of size {index.size} (the number "
                         f"of indices)")
    return source


class IndexAdd(Function):
    """``out = x``; ``out[..., index[i], ...] += alpha * source[..., i, ...]``."""

    def __init__(self, axis, index, alpha):
        self.axis, self.index, self.alpha = axis, index, alpha

    def forward(self, x, source):
        out = backend_helpers.contiguous_copy(x)
        where = (slice(None),) * self.axis + (self.index,)
        backend_helpers.scatter_add(out, where, source * self.alpha if self.alpha != 1 else source)
        return out

    def backward(self, gy):
        gsource = None
        if self.needs_input_grad[1]:
            gsource = GetItem((slice(None),) * self.axis + (self.index,))(gy)
            gsource = gsource * self.alpha if self.alpha != 1 else gsource
        return gy, gsource


def index_add(input, dim, index, source, *, alpha=1):
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeats add up).

    >>> import chainrule
    >>> chainrule.zeros(3, 2).index_add(0, chainrule.tensor([0, 0]), chainrule.ones(2, 2)).tolist()
    [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]]
    """
    axis, index = _index_args(input, dim, index, "index_add")
    source = _source_args(input, axis, index, source, "index_add")
    if input.ndim == 0:
        return reshape(IndexAdd(0, index, alpha)(reshape(input, (1,)), source), ())
    return IndexAdd(axis, index, alpha)(input, source)


class IndexCopy(Function):
    """``out = x``; ``out[..., index[i], ...] = source[..., i, ...]``."""

    def __init__(self, axis, index):
        self.where = (slice(None),) * axis + (index,)

    def forward(self, x, source):
        out = backend_helpers.contiguous_copy(x)
        out[self.where] = source
        return out

    def backward(self, gy):
        need_x, need_source = self.needs_input_grad
        gx = gsource = None
        if need_x:
            mask = backend.xp.zeros(gy.shape, dtype=bool)
            mask[self.where] = True
            gx = _zeros_where(mask, gy)
        if need_source:
            gsource = GetItem(self.where)(gy)
        return gx, gsource


def index_copy(input, dim, index, source):
    """``input`` with the slices ``source[..., i, ...]`` copied to ``index[i]`` along ``dim``.

    >>> import chainrule
    >>> chainrule.zeros(3).index_copy(0, chainrule.tensor([2]), chainrule.tensor([5.0])).tolist()
    [0.0, 0.0, 5.0]
    """
    axis, index = _index_args(input, dim, index, "index_copy")
    source = _source_args(input, axis, index, source, "index_copy")
    if input.ndim == 0:
        return reshape(IndexCopy(0, index)(reshape(input, (1,)), source), ())
    return IndexCopy(axis, index)(input, source)


def index_fill(input, dim, index, value):
    """``input`` with ``value`` (a number or 0-d tensor) at ``index`` along ``dim``
    (negative indices count from the end).

    >>> import chainrule
    >>> chainrule.zeros(2, 2).index_fill(1, chainrule.tensor([-1]), 7.0).tolist()
    [[0.0, 7.0], [0.0, 7.0]]
    """
    axis, index = _index_args(input, dim, index, "index_fill", wrap=True)
    fill = _fill_value(input, value, "index_fill")
    mask = backend.xp.zeros(input.shape if input.ndim else (1,), dtype=bool)
    mask[(slice(None),) * axis + (index,)] = True
    return arithmetic.where(mask.reshape(input.shape), fill, input)


def index_put(input, indices, values, accumulate=False):
    """``input`` with ``input[indices] = values`` (``+=`` with ``accumulate=True``, repeated
    indices adding up); ``indices`` is a tuple of integer or bool tensors.

    >>> import chainrule
    >>> x = chainrule.zeros(3)
    >>> x.index_put((chainrule.tensor([0, 0]),), chainrule.tensor(1.0), accumulate=True).tolist()
    [2.0, 0.0, 0.0]
    """
    require_tensor(input, "index_put")
    if not isinstance(indices, (tuple, list)):
        raise ArgumentTypeError(f"index_put(): indices must be a tuple of tensors, got "
                                f"{type(indices).__name__}")
    for i in indices:
        if not isinstance(i, TensorBase):
            raise ArgumentTypeError(f"index_put(): indices must be tensors, got "
                                    f"{type(i).__name__}")
    values = require_tensor(values, "index_put", "values")
    _same_dtype(input, values, "index_put", "values")
    index = _to_index(tuple(indices))
    try:
        target = backend.xp.shape(input._data[index])
    except IndexError as error:
        raise IndexOutOfRangeError(f"index_put(): indices do not fit a tensor of shape "
                                   f"{input.shape}: {error}") from None
    try:
        if broadcast_shapes(values.shape, tuple(target)) != tuple(target):
            raise ShapeError("values would grow the indexed shape")
    except ShapeError:
        raise ShapeError(f"index_put(): values of shape {values.shape} do not broadcast to the "
                         f"indexed shape {tuple(target)}") from None
    if accumulate:
        return input + ScatterAdd(index, input.shape)(values)
    return SetItem(index)(input, values)


# ---------------------------------------------------------------- masks

def _mask_array(mask, op):
    array = mask._data if isinstance(mask, TensorBase) else backend.xp.asarray(mask)
    if backend.kind(array.dtype) != "b":
        raise DTypeError(f"{op}(): expects a bool mask, got {array.dtype}")
    return array


def _mask_shape(x, mask, op):
    try:
        return broadcast_shapes(x.shape, mask.shape)
    except ShapeError:
        raise ShapeError(f"{op}(): a mask of shape {tuple(mask.shape)} does not broadcast with "
                         f"the input's shape {x.shape}") from None


def masked_fill(input, mask, value):
    """``input`` with ``value`` (a number or 0-d tensor) where ``mask`` is True.

    >>> import chainrule
    >>> x = chainrule.tensor([1.0, 2.0, 3.0])
    >>> x.masked_fill(x > 1.5, 0.0).tolist()
    [1.0, 0.0, 0.0]
    """
    require_tensor(input, "masked_fill")
    mask = _mask_array(mask, "masked_fill")
    _mask_shape(input, mask, "masked_fill")
    return arithmetic.where(mask, _fill_value(input, value, "masked_fill"), input)


def masked_select(input, mask):
    """The elements where ``mask`` (broadcast with input) is True, as a 1-D tensor.

    >>> import chainrule
    >>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.masked_select(chainrule.tensor([True, False])).tolist()
    [1.0, 3.0]
    """
    require_tensor(input, "masked_select")
    mask = _mask_array(mask, "masked_select")
    shape = _mask_shape(input, mask, "masked_select")
    x = input if input.shape == shape else broadcast_to(input, shape)
    if not shape:                                   # 0-d: select from a one-element vector
        x, shape = reshape(x, (1,)), (1,)
    return GetItem((backend.xp.broadcast_to(mask, shape),))(x)


class MaskedScatter(Function):
    """``out = x``; the True places of the mask get source's first elements, in order."""

    def __init__(self, mask):
        self.mask, self.count = mask, int(mask.sum())

    def forward(self, x, source):
        out = backend_helpers.contiguous_copy(x)
        out[self.mask] = backend.xp.reshape(source, (-1,))[:self.count]
        self.source_shape = source.shape
        return out

    def backward(self, gy):
        need_x, need_source = self.needs_input_grad
        gx = _zeros_where(self.mask, gy) if need_x else None
        gsource = None
        if need_source:
            numel = int(numpy.prod(self.source_shape))
            picked = GetItem((self.mask,))(gy)
            gsource = reshape(_pad_to(picked, (slice(0, self.count),), (numel,)),
                              self.source_shape)
        return gx, gsource


def masked_scatter(input, mask, source):
    """``input`` with the True places of ``mask`` filled by ``source``'s elements in order.

    >>> import chainrule
    >>> x = chainrule.zeros(4)
    >>> x.masked_scatter(chainrule.tensor([True, False, True, False]),
    ...                  chainrule.tensor([5.0, 6.0, 7.0])).tolist()
    [5.0, 0.0, 6.0, 0.0]
    """
    require_tensor(input, "masked_scatter")
    source = require_tensor(source, "masked_scatter", "source")
    mask = _mask_array(mask, "masked_scatter")
    shape = _mask_shape(input, mask, "masked_scatter")
    _same_dtype(input, source, "masked_scatter", "source")
    mask = backend.xp.ascontiguousarray(backend.xp.broadcast_to(mask, shape))
    if int(mask.sum()) > source._data.size:
        raise ShapeError(f"masked_scatter(): the mask has {int(mask.sum())} True places but "
                         f"source has only {source._data.size} elements")
    x = input if input.shape == shape else broadcast_to(input, shape)
    if not shape:                                   # 0-d: write into a one-element vector
        return reshape(MaskedScatter(mask.reshape(1))(reshape(x, (1,)), source), ())
    return MaskedScatter(mask)(x, source)


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with
    ``as_tuple=True`` one 1-D tensor per dimension. No gradient.

    >>> import chainrule
    >>> chainrule.tensor([[0, 1], [2, 0]]).nonzero().tolist()
    [[0, 1], [1, 0]]
    """
    require_tensor(input, "nonzero")
    data = input._data
    if as_tuple:
        found = backend.xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
        return tuple(input._make(i.astype(numpy.int64), None) for i in found)
    if data.ndim == 0:                          # PyTorch: shape (1, 0) or (0, 0)
        return input._make(backend.xp.zeros((int(bool(data)), 0), dtype=numpy.int64), None)
    return input._make(backend.xp.argwhere(data).astype(numpy.int64), None)


def argwhere(input):
    """``nonzero(input)``: the (n, ndim) indices of the non-zero elements.

    >>> import chainrule
    >>> chainrule.argwhere(chainrule.tensor([0, 3, 4])).tolist()
    [[1], [2]]
    """
    return nonzero(input)


def where(condition, input=None, other=None):
    """``where(condition, input, other)``: input where condition holds, else other; with the
    condition alone, ``nonzero(condition, as_tuple=True)`` (as PyTorch).

    >>> import chainrule
    >>> [t.tolist() for t in chainrule.where(chainrule.tensor([0, 1, 1]))]
    [[1, 2]]
    """
    if input is None and other is None:
        return nonzero(require_tensor(condition, "where", "condition"), as_tuple=True)
    if input is None or other is None:
        raise ArgumentError("where(): give both input and other, or only the condition")
    return arithmetic.where(condition, input, other)


# ---------------------------------------------------------------- flat indices

def take(input, index):
    """The elements of the flattened input at ``index`` (negative values count from the end),
    in index's shape.

    >>> import chainrule
    >>> chainrule.tensor([[1.0, 2.0], [3.0, 4.0]]).take(chainrule.tensor([0, -1])).tolist()
    [1.0, 4.0]
    """
    require_tensor(input, "take")
    index = _check_range(_index_array(index, "take"), input._data.size, "take", 0, wrap=True)
    if index.size and input._data.size == 0:
        raise IndexOutOfRangeError("take(): cannot take from an empty tensor")
    return GetItem((index,))(reshape(input, (-1,)))


def take_along_dim(input, indices, dim=None):
    """Values at ``indices`` along ``dim`` (input and indices broadcast outside ``dim``), or
    at flat ``indices`` of the flattened input when ``dim`` is None.

    >>> import chainrule
    >>> x = chainrule.tensor([[10.0, 30.0, 20.0]])
    >>> x.take_along_dim(x.argsort(dim=1), dim=1).tolist()
    [[10.0, 20.0, 30.0]]
    """
    require_tensor(input, "take_along_dim")
    index = _index_array(indices, "take_along_dim", "indices")
    if dim is None:
        index = _check_range(index.reshape(-1), input._data.size, "take_along_dim", 0)
        return GetItem((index,))(reshape(input, (-1,)))
    axis = _one_axis(dim, input.ndim)
    if index.ndim != input.ndim:
        raise ShapeError(f"take_along_dim(): input and indices should have the same number of "
                         f"dimensions, got {input.ndim} and {index.ndim}")
    if input.ndim == 0:
        _check_range(index.reshape(1), 1, "take_along_dim", 0, wrap=True)
        return input * 1
    size = input.shape[axis]
    index = _check_range(index, size, "take_along_dim", axis, wrap=True)
    try:
        outer = broadcast_shapes(_without(input.shape, axis), _without(index.shape, axis))
    except ShapeError:
        raise ShapeError(f"take_along_dim(): input {input.shape} and indices "
                         f"{tuple(index.shape)} do not broadcast outside dimension "
                         f"{axis}") from None
    x_shape = outer[:axis] + (size,) + outer[axis:]
    i_shape = outer[:axis] + (index.shape[axis],) + outer[axis:]
    x = input if input.shape == x_shape else broadcast_to(input, x_shape)
    index = backend.xp.broadcast_to(index, i_shape)
    grids = backend_helpers.open_grid(i_shape, index)
    return GetItem(tuple(index if i == axis else g for i, g in enumerate(grids)))(x)


def _without(shape, axis):
    return tuple(n for i, n in enumerate(shape) if i != axis)


class Put(Function):
    """The flattened x with ``source`` written (or added, ``accumulate``) at ``index``."""

    def __init__(self, index, accumulate):
        self.index, self.accumulate = index, accumulate

    def forward(self, x, source):
        out = backend_helpers.contiguous_copy(x)
        flat = backend.xp.reshape(out, (-1,))
        if self.accumulate:
            backend_helpers.scatter_add(flat, self.index, backend.xp.reshape(source, (-1,)))
        else:
            backend_helpers.setitem(flat, self.index, backend.xp.reshape(source, (-1,)))
        self.source_shape = source.shape
        return out

    def backward(self, gy):
        need_x, need_source = self.needs_input_grad
        gx = gsource = None
        if need_x:
            if self.accumulate:
                gx = gy
            else:
                mask = backend.xp.zeros(gy.shape, dtype=bool)
                mask.reshape(-1)[self.index] = True
                gx = _zeros_where(mask, gy)
        if need_source:
            gsource = reshape(GetItem((self.index,))(reshape(gy, (-1,))), self.source_shape)
        return gx, gsource


def put(input, index, source, accumulate=False):
    """``input`` (as if flattened) with ``source`` written at ``index`` (added with
    ``accumulate=True``); negative indices count from the end.

    >>> import chainrule
    >>> chainrule.zeros(2, 2).put(chainrule.tensor([0, -1]), chainrule.tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    require_tensor(input, "put")
    source = require_tensor(source, "put", "source")
    _same_dtype(input, source, "put", "source")
    index = _index_array(index, "put")
    if index.size != source._data.size:
        raise ShapeError(f"put(): source and index must have the same number of elements, got "
                         f"{source._data.size} and {index.size}")
    index = _check_range(index.reshape(-1), input._data.size, "put", 0, wrap=True)
    if input._data.size == 0 and index.size:
        raise IndexOutOfRangeError("put(): cannot put into an empty tensor")
    return Put(index, bool(accumulate))(input, source)


__all__ = ["scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill",
           "index_put", "masked_fill", "masked_select", "masked_scatter", "nonzero",
           "argwhere", "where", "take", "take_along_dim", "put"]


# ================================================================ issue 19: vocabulary gaps
# select_scatter, slice_scatter, diagonal_scatter: a copy of input with one region replaced
from .indexing import getitem as _getitem  # noqa: E402
from .triangular import diagonal as _diagonal, diagonal_view as _diagonal_view  # noqa: E402


class RegionScatter(Function):
    """A copy of ``x`` whose region (``region(array)``: a writeable view) holds ``src``.
    The gradient of x is the incoming one with the region zeroed (this op again, with zeros);
    the gradient of src is the region of it (``view(gy)``, a differentiable view op)."""

    def __init__(self, region, view):
        self.region, self.view = region, view

    def forward(self, x, src):
        out = x.copy()
        self.region(out)[...] = src
        return out

    def backward(self, gy):
        need_x, need_src = self.needs_input_grad
        gx = gsrc = None
        region = self.view(gy)
        if need_x:
            zeros = gy._make(backend.xp.zeros(region._data.shape, dtype=gy._data.dtype), None)
            gx = RegionScatter(self.region, self.view)(gy, zeros)
        if need_src:
            gsrc = region
        return gx, gsrc


def _region_scatter(input, src, op, region, view):
    require_tensor(input, op)
    require_tensor(src, op, "src")
    expected = region(input._data).shape
    if tuple(src._data.shape) != tuple(expected):
        raise ShapeError(f"{op}: expected src to have a size equal to the slice of self. "
                         f"src size = {list(src._data.shape)}, slice size = {list(expected)}")
    if src._data.dtype != input._data.dtype:
        src = cast(src, input._data.dtype)
    return RegionScatter(region, view)(input, src)


def select_scatter(input, src, dim, index):
    """A copy of input with ``input.select(dim, index)`` replaced by src.

    >>> import chainrule
    >>> chainrule.select_scatter(chainrule.zeros(2, 2), chainrule.ones(2), 0, 0).tolist()
    [[1.0, 1.0], [0.0, 0.0]]
    """
    require_tensor(input, "select_scatter")
    axis = _one_axis(dim, input._data.ndim)
    if input._data.ndim == 0:
        raise IndexOutOfRangeError("select_scatter: cannot select from a 0-d tensor")
    n = input._data.shape[axis]
    if isinstance(index, bool) or not isinstance(index, (int, numpy.integer)) or \
            not -n <= index < n:
        raise IndexOutOfRangeError(f"select_scatter: index {index!r} out of range for "
                                   f"dimension {dim} of size {n}")
    key = (slice(None),) * axis + (int(index), Ellipsis)     # Ellipsis: a 0-d view, not a copy
    return _region_scatter(input, src, "select_scatter", lambda a: a[key],
                           lambda t: _getitem(t, key))


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of input with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by
    src.

    >>> import chainrule
    >>> chainrule.slice_scatter(chainrule.zeros(2, 4), chainrule.ones(2, 2), 1, 0, None, 2
    ...                         ).tolist()
    [[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]]
    """
    require_tensor(input, "slice_scatter")
    if input._data.ndim == 0:
        raise IndexOutOfRangeError("slice_scatter: cannot slice a 0-d tensor")
    axis = _one_axis(dim, input._data.ndim)
    for name, value in (("start", start), ("end", end)):
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, (int, numpy.integer))):
            raise ArgumentTypeError(f"slice_scatter: {name} must be an int or None, got "
                                    f"{value!r}")
    if isinstance(step, bool) or not isinstance(step, (int, numpy.integer)) or step <= 0:
        raise ArgumentError(f"slice_scatter: slice step must be positive, got {step!r}")
    key = (slice(None),) * axis + (slice(start, end, step),)
    return _region_scatter(input, src, "slice_scatter", lambda a: a[key],
                           lambda t: _getitem(t, key))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of input with ``input.diagonal(offset, dim1, dim2)`` replaced by src.

    >>> import chainrule
    >>> chainrule.diagonal_scatter(chainrule.zeros(2, 2), chainrule.ones(2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    require_tensor(input, "diagonal_scatter")
    _diagonal(input.detach() if input.requires_grad else input, offset, dim1, dim2)  # checks
    ndim = input._data.ndim
    axes = (_one_axis(dim1, ndim), _one_axis(dim2, ndim))
    return _region_scatter(input, src, "diagonal_scatter",
                           lambda a: _diagonal_view(a, offset, *axes),
                           lambda t: _diagonal(t, offset, dim1, dim2))


__all__ += ["select_scatter", "slice_scatter", "diagonal_scatter"]
