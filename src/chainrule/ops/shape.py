"""Shape ops: reshape, permute, concatenate, stack, split, pad, flip, tile, cast, clone.

None of them changes a value, so each backward only moves the gradient back into the
input's shape (reshape back, permute back, slice out a piece). Reshape, permute, squeeze,
unsqueeze, expand and slicing are views: they share the input's memory and version counter.
"""
import math

import numpy

from .. import backend, backend_helpers
from ..autograd.broadcast import BroadcastTo, SumTo, broadcast_to, sum_to  # noqa: F401
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, IndexOutOfRangeError, ShapeError
from ..tensor_base import TensorBase
from ._util import normalize_axis, pick_axis, result_dtype, single_axis
from .cast import Cast, cast  # noqa: F401


class Reshape(Function):
    """The same elements in a new shape: a view when the memory layout allows it."""

    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return backend_helpers.reshaped(x, self.shape)

    def backward(self, gy):
        return reshape(gy, self.input_shape)


class Permute(Function):
    is_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return backend_helpers.permuted(x, self.axes)

    def backward(self, gy):
        return permute(gy, *numpy.argsort(self.axes).tolist())


class Concatenate(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return backend.xp.concat(arrays, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for size, needed in zip(self.sizes, self.needs_input_grad):
            if needed:
                index = (slice(None),) * self.axis + (slice(start, start + size),)
                grads.append(gy[index])
            else:
                grads.append(None)
            start += size
        return tuple(grads)


class Pad(Function):
    """Constant padding, NumPy style: ``pad_width`` is one (before, after) pair per axis."""

    def __init__(self, pad_width, value):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        return backend_helpers.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        index = tuple(slice(before, gy.shape[i] - after)
                      for i, (before, after) in enumerate(self.pad_width))
        return gy[index]


class Flip(Function):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return backend.xp.flip(x, axis=self.axes)

    def backward(self, gy):
        return flip(gy, self.axes)

    def to_onnx(self, builder, inputs, dynamic_batch):
        n = len(self.axes)
        return builder.node("Slice", [inputs[0], builder.ints([-1] * n),
                                      builder.ints([-(2 ** 63)] * n), builder.ints(self.axes),
                                      builder.ints([-1] * n)])


class Tile(Function):
    def __init__(self, reps):
        self.reps = reps

    def forward(self, x):
        self.input_shape = x.shape
        return backend.xp.tile(x, self.reps)

    def backward(self, gy):
        in_shape = self.input_shape
        padded = (1,) * (len(self.reps) - len(in_shape)) + tuple(in_shape)
        interleaved = []
        for r, n in zip(self.reps, padded):
            interleaved += [r, n]
        summed = gy.reshape(interleaved).sum(dim=tuple(range(0, 2 * len(padded), 2)))
        return summed.reshape(in_shape)

    def to_onnx(self, builder, inputs, dynamic_batch):
        name = inputs[0]
        lead = len(self.reps) - len(self.input_shape)
        if lead:
            name = builder.node("Unsqueeze", [name, builder.ints(list(range(lead)))])
        return builder.node("Tile", [name, builder.ints(self.reps)])


class Roll(Function):
    """Shift elements cyclically along axes; the gradient is rolled back."""

    def __init__(self, shifts, axes):
        self.shifts, self.axes = shifts, axes

    def forward(self, x):
        self.input_shape = x.shape
        return backend.xp.roll(x, self.shifts, self.axes)

    def backward(self, gy):
        return Roll(tuple(-s for s in self.shifts), self.axes)(gy)

    def to_onnx(self, builder, inputs, dynamic_batch):
        name = inputs[0]
        for shift, axis in zip(self.shifts, self.axes):
            size = self.input_shape[axis]
            cut = (size - shift % size) % size if size else 0
            if cut == 0:
                continue
            axes = builder.ints([axis])
            tail = builder.node("Slice", [name, builder.ints([cut]), builder.ints([size]), axes])
            head = builder.node("Slice", [name, builder.ints([0]), builder.ints([cut]), axes])
            name = builder.node("Concat", [tail, head], axis=axis)
        return name


def _windows(array, axis, size, step):
    """The sliding windows of ``unfold`` as a strided view: ``axis`` counts the windows and
    a new last axis walks inside one. Overlapping windows are read-only (an in-place change
    through them would hit one element several times)."""
    count = (array.shape[axis] - size) // step + 1
    shape = array.shape[:axis] + (count,) + array.shape[axis + 1:] + (size,)
    strides = array.strides[:axis] + (array.strides[axis] * step,) + \
        array.strides[axis + 1:] + (array.strides[axis],)
    overlapping = step < size and count > 1
    return backend.xp.lib.stride_tricks.as_strided(array, shape, strides,
                                                   writeable=not overlapping)


class Unfold(Function):
    """``Tensor.unfold``: windows of ``size`` every ``step`` along ``axis``, as a view.
    Backward adds each window's gradient back where the window came from."""

    is_view = True

    def __init__(self, axis, size, step):
        self.axis, self.size, self.step = axis, size, step

    def forward(self, x):
        self.input_shape = x.shape
        return _windows(x, self.axis, self.size, self.step)

    def backward(self, gy):
        return FoldWindows(self.input_shape, self.axis, self.size, self.step)(gy)


class FoldWindows(Function):
    """The adjoint of :class:`Unfold`: zeros of the input's shape with every window added
    back at its place (elements in several windows receive each window's share)."""

    def __init__(self, shape, axis, size, step):
        self.shape, self.axis, self.size, self.step = shape, axis, size, step

    def forward(self, windows):
        out = backend.xp.zeros(self.shape, dtype=windows.dtype)
        count = windows.shape[self.axis]
        lead = (slice(None),) * self.axis
        if self.size <= count:                   # loop over the position inside a window
            for k in range(self.size):
                stop = k + self.step * (count - 1) + 1
                out[lead + (slice(k, stop, self.step),)] += windows[..., k]
        else:                                    # loop over the windows
            for j in range(count):
                start = j * self.step
                piece = backend.xp.moveaxis(windows[lead + (j,)], -1, self.axis)
                out[lead + (slice(start, start + self.size),)] += piece
        return out

    def backward(self, gy):
        return Unfold(self.axis, self.size, self.step)(gy)


class Clone(Function):
    def forward(self, x):
        return backend_helpers.contiguous_copy(x)

    def backward(self, gy):
        return gy


# ---------------------------------------------------------------- functional API

def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def expand(x, *sizes):
    """PyTorch's expand: -1 keeps a dimension's size.

    >>> import chainrule
    >>> chainrule.ones(1, 3).expand(2, -1).shape
    (2, 3)
    """
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


def reshape(x, *shape):
    """Same data, new shape (one entry may be -1): a view when the layout allows, else a copy.

    >>> import chainrule
    >>> chainrule.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    shape = _resolve_shape(x, _shape_arg(shape))
    return Reshape(shape)(x)


def view(x, *shape):
    """Same memory, new shape; like PyTorch, an error when the layout does not allow a view
    (a transposed tensor, say): use reshape() or contiguous() then.

    >>> import chainrule
    >>> chainrule.arange(6).view(3, 2).shape
    (3, 2)
    """
    if len(shape) == 1 and isinstance(shape[0], (numpy.dtype, str, type)):
        return _reinterpret(x, numpy.dtype(shape[0]))
    shape = _resolve_shape(x, _shape_arg(shape))
    try:
        backend.xp.reshape(x._data, shape, copy=False)
    except ValueError:
        raise ShapeError(f"view: a tensor of shape {x.shape} with strides "
                         f"{x._data.strides} cannot be viewed as {shape} without a copy; "
                         "use .reshape(...) or .contiguous().view(...)") from None
    return Reshape(shape)(x)


def _reinterpret(x, dtype):
    """PyTorch's ``view(dtype)``: the same bytes read as another dtype (no gradient)."""
    if dtype.itemsize != x._data.dtype.itemsize and x.ndim == 0:
        raise ShapeError(f"view: a 0-d {x.dtype} tensor cannot be viewed as {dtype}")
    t = x._make(x._data.view(dtype), None)
    t._version_counter = x._counter()
    return t


def ravel(x):
    """The elements as a 1-D tensor (a view when the layout allows).

    >>> import chainrule
    >>> chainrule.zeros(2, 3).ravel().shape
    (6,)
    """
    return reshape(x, -1)


def contiguous(x):
    """``x`` itself when its memory is C-contiguous, else a contiguous copy.

    >>> import chainrule
    >>> chainrule.ones(2, 3).T.contiguous().is_contiguous()
    True
    """
    return x if x._data.flags.c_contiguous else Clone()(x)


def _resolve_shape(x, shape):
    """Fill in a -1 entry and check that the element count fits."""
    size = x._data.size
    if -1 not in shape and (not shape or min(shape) >= 0) and math.prod(shape) == size:
        return shape                                   # the common case, answered at once
    known = math.prod([n for n in shape if n != -1])
    if shape.count(-1) > 1 or any(n < -1 for n in shape):
        raise ShapeError(f"reshape: invalid target shape {shape}")
    if -1 in shape:
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({size} elements) into {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    elif known != size:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({size} elements) into {shape}")
    return shape


def permute(x, *axes):
    """Reorder the axes; the gradient is permuted back.

    >>> import chainrule
    >>> chainrule.zeros(2, 3, 4).permute(2, 0, 1).shape
    (4, 2, 3)
    """
    axes = _shape_arg(axes)
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: {axes} is not a permutation of the {x.ndim} axes of "
                         f"shape {x.shape}")
    axes = tuple(a % x.ndim for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return Permute(axes)(x)


def transpose(x, dim0=None, dim1=None):
    """Swap two axes (PyTorch); with no axes given, reverse them all (NumPy).

    >>> import chainrule
    >>> chainrule.zeros(2, 3).transpose(0, 1).shape
    (3, 2)
    """
    if dim0 is None and dim1 is None:
        return permute(x, *reversed(range(x.ndim)))
    return swapaxes(x, dim0, dim1)


def swapaxes(x, axis0, axis1):
    """Exchange two axes.

    >>> import chainrule
    >>> chainrule.zeros(2, 3, 4).swapaxes(0, 2).shape
    (4, 3, 2)
    """
    if x.ndim == 0:
        normalize_axis((axis0, axis1), 0)   # validates: only 0 / -1
        return x
    axes = list(range(x.ndim))
    a, b = single_axis(axis0, x.ndim, "swapaxes"), single_axis(axis1, x.ndim, "swapaxes")
    axes[a], axes[b] = axes[b], axes[a]
    return permute(x, *axes)


swapdims = swapaxes


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim into one.

    >>> import chainrule
    >>> chainrule.zeros(2, 3, 4).flatten(1).shape
    (2, 12)
    """
    if x.ndim == 0:
        return reshape(x, 1)
    start = single_axis(start_dim, x.ndim, "flatten")
    end = single_axis(end_dim, x.ndim, "flatten")
    size = math.prod(x.shape[start:end + 1])
    return reshape(x, x.shape[:start] + (size,) + x.shape[end + 1:])


def squeeze(x, dim=None, axis=None):
    """Drop size-1 axes (all, or those in ``dim``).

    >>> import chainrule
    >>> chainrule.zeros(2, 1, 3).squeeze(1).shape
    (2, 3)
    """
    dim = pick_axis(dim, axis)
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    axes = normalize_axis(dim, x.ndim)
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


def unsqueeze(x, dim):
    """Insert a size-1 axis at ``dim``.

    >>> import chainrule
    >>> chainrule.zeros(2, 3).unsqueeze(0).shape
    (1, 2, 3)
    """
    dim = int(dim)
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise ShapeError(f"unsqueeze: dim {dim} out of range for shape {x.shape}")
    dim = dim % (x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def concatenate(tensors, axis=0, dim=None):
    """Join tensors along an existing axis. Also ``cat``.

    >>> import chainrule
    >>> chainrule.cat([chainrule.ones(2), chainrule.zeros(1)]).tolist()
    [1.0, 1.0, 0.0]
    """
    tensors = _tensor_list(tensors, "concatenate")
    axis = single_axis(pick_axis(dim, axis), tensors[0].ndim, "concatenate")
    first = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(first) or any(a != b for i, (a, b) in enumerate(zip(t.shape, first))
                                       if i != axis):
            shapes = ", ".join(str(u.shape) for u in tensors)
            raise ShapeError(f"concatenate: shapes {shapes} differ outside axis {axis}")
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = result_dtype(tensors[0]._make(backend.xp.empty(1, dtype), None), t) \
            if t.dtype != dtype else dtype
    return Concatenate(axis)(*[cast(t, dtype) for t in tensors])


def _tensor_list(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError(f"{op}: needs a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, TensorBase):
            raise ArgumentTypeError(f"{op}: expected a sequence of tensors, but element {i} "
                                    f"is a {type(t).__name__}")
    return tensors


cat = concat = concatenate


def stack(tensors, axis=0, dim=None):
    """Join tensors along a new axis.

    >>> import chainrule
    >>> chainrule.stack([chainrule.ones(2), chainrule.zeros(2)]).shape
    (2, 2)
    """
    tensors = _tensor_list(tensors, "stack")
    axis = pick_axis(dim, axis)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis % (tensors[0].ndim + 1))


def split(x, split_size_or_sections, dim=0):
    """PyTorch's split: pieces of a given size (the last may be shorter), or of the sizes in
    a list; the pieces are views.

    >>> import chainrule
    >>> [p.tolist() for p in chainrule.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    """
    if x.ndim == 0:
        raise ShapeError("split: cannot split a 0-d tensor")
    axis = single_axis(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, numpy.integer)) and \
            not isinstance(split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise ArgumentError(f"split: split_size must be positive (0 only for an empty "
                                f"dimension), got {size} for dimension size {n}")
        count = max(-(-n // size) if size else 1, 1)
        sizes = [size] * (count - 1) + [n - size * (count - 1)]
    else:
        sizes = list(_int_list(list(split_size_or_sections), "split", "split sizes"))
        if any(size < 0 for size in sizes) or sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} must be non-negative and add up to {n} "
                             f"(axis {axis} of shape {x.shape})")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces along ``dim`` (pieces of ceil(n / chunks);
    fewer pieces when they run out, as PyTorch).

    >>> import chainrule
    >>> [p.shape for p in chainrule.zeros(6).chunk(3)]
    [(2,), (2,), (2,)]
    """
    chunks = _int_list(chunks, "chunk", "chunks")[0]
    if chunks <= 0:
        raise ArgumentError(f"chunk: expects chunks to be greater than 0, got {chunks}")
    n = x.shape[single_axis(dim, x.ndim, "chunk")]
    if n == 0:
        return split(x, [0] * chunks, dim)
    return split(x, -(-n // chunks), dim)


def pad(x, pad_width, value=0.0):
    """Constant padding with NumPy's ``pad_width`` (an int, or a (before, after) per axis).

    >>> import chainrule
    >>> chainrule.pad(chainrule.ones(2), 1).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    if x.ndim == 0:
        raise ShapeError("pad: cannot pad a 0-d tensor")
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple((int(a), int(b)) for a, b in pad_width)
    if len(pad_width) != x.ndim:
        raise ShapeError(f"pad: {len(pad_width)} (before, after) pairs for {x.ndim} axes")
    if any(a < 0 or b < 0 for a, b in pad_width):
        raise ArgumentError(f"pad: widths must be >= 0, got {pad_width} (F.pad crops with "
                            "negative pads)")
    return Pad(pad_width, value)(x)


def flip(x, dims=None, axis=None):
    """Reverse the order of elements along ``dims`` (all axes by default).

    >>> import chainrule
    >>> chainrule.arange(3).flip().tolist()
    [2, 1, 0]
    """
    dims = pick_axis(dims, axis)
    if isinstance(dims, (tuple, list)) and len(dims) == 0:
        return Clone()(x)                    # PyTorch: flip over no dimension is a copy
    axes = normalize_axis(dims, x.ndim)
    return Flip(tuple(range(x.ndim)) if axes is None else axes)(x)


def fliplr(x):
    """Reverse the columns (dim 1) of a tensor with at least 2 dimensions.

    >>> import chainrule
    >>> chainrule.tensor([[1, 2, 3]]).fliplr().tolist()
    [[3, 2, 1]]
    """
    if x.ndim < 2:
        raise ShapeError(f"fliplr: input must have at least 2 dimensions, got shape {x.shape}")
    return Flip((1,))(x)


def flipud(x):
    """Reverse the rows (dim 0) of a tensor with at least 1 dimension.

    >>> import chainrule
    >>> chainrule.tensor([1, 2, 3]).flipud().tolist()
    [3, 2, 1]
    """
    if x.ndim < 1:
        raise ShapeError("flipud: input must have at least 1 dimension, got a 0-d tensor")
    return Flip((0,))(x)


def tile(x, *reps):
    """Repeat the whole tensor along each axis (``torch.tile``: fewer reps than dimensions
    are padded with 1s in front).

    >>> import chainrule
    >>> chainrule.arange(2).tile(2).tolist()
    [0, 1, 0, 1]
    """
    reps = _shape_arg(reps)
    if any(r < 0 for r in reps):
        raise ArgumentError(f"tile: repeats cannot be negative, got {reps}")
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    return Tile(reps)(x)


def repeat(x, *sizes):
    """PyTorch's ``Tensor.repeat``: tile with one count per dimension; more counts than
    dimensions add leading dimensions, fewer are an error (``tile`` pads them instead).

    >>> import chainrule
    >>> chainrule.tensor([1, 2]).repeat(2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: number of dimensions of repeat dims ({len(sizes)}) can not "
                         f"be smaller than number of dimensions of tensor ({x.ndim}, shape "
                         f"{x.shape}); use tile() to pad them with 1s")
    if any(r < 0 for r in sizes):
        raise ArgumentError(f"repeat: repeats cannot be negative, got {sizes}")
    return Tile(sizes)(x)


def _int_list(value, op, name):
    """An int or a sequence of ints as a tuple of ints."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, numpy.integer)):
            raise ArgumentTypeError(f"{op}: {name} must be ints, got {value!r}")
    return tuple(int(v) for v in values)


def roll(x, shifts, dims=None):
    """Shift elements cyclically: ``shifts`` places along each of ``dims`` (over the
    flattened tensor when ``dims`` is None).

    >>> import chainrule
    >>> chainrule.arange(5).roll(2).tolist()
    [3, 4, 0, 1, 2]
    """
    shifts = _int_list(shifts, "roll", "shifts")
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: shifts and dimensions must align: {len(shifts)} shifts "
                             "and no dims")
        if x.ndim == 1:
            return Roll(shifts, (0,))(x)
        return reshape(Roll(shifts, (0,))(reshape(x, -1)), x.shape)
    dims = _int_list(dims, "roll", "dims")
    if len(shifts) != len(dims) or not shifts:
        raise ShapeError(f"roll: shifts and dimensions must align: shifts {shifts}, dims "
                         f"{dims}")
    axes = tuple(single_axis(d, x.ndim, "roll") for d in dims)
    return Roll(shifts, axes)(x)


def rot90(x, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first axis
    towards the second), as ``torch.rot90``.

    >>> import chainrule
    >>> chainrule.tensor([[1, 2], [3, 4]]).rot90().tolist()
    [[2, 4], [1, 3]]
    """
    dims = _int_list(dims, "rot90", "dims")
    if len(dims) != 2:
        raise ShapeError(f"rot90: expected total rotation dims == 2, got {len(dims)}")
    if x.ndim < 2:
        raise ShapeError(f"rot90: expected total dims >= 2, got shape {x.shape}")
    d0, d1 = (single_axis(d, x.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise ShapeError(f"rot90: expected rotation dims to be different, got {dims}")
    k = int(k) % 4
    if k == 1:
        return swapaxes(Flip((d1,))(x), d0, d1)
    if k == 2:
        return Flip(tuple(sorted((d0, d1))))(x)
    if k == 3:
        return swapaxes(Flip((d0,))(x), d0, d1)
    return Clone()(x)


def movedim(x, source, destination):
    """Move the axes ``source`` to the positions ``destination`` (a view), keeping the other
    axes in order. Also ``moveaxis``.

    >>> import chainrule
    >>> chainrule.zeros(2, 3, 4).movedim(0, -1).shape
    (3, 4, 2)
    """
    source = _int_list(source, "movedim", "source")
    destination = _int_list(destination, "movedim", "destination")
    if len(source) != len(destination):
        raise ShapeError(f"movedim: source {source} and destination {destination} must name "
                         "the same number of dims")
    src = [_one_dim(d, x.ndim, "movedim") for d in source]
    dst = [_one_dim(d, x.ndim, "movedim") for d in destination]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise ShapeError(f"movedim: repeated dim in {name} {dims}")
    rest = iter([d for d in range(x.ndim) if d not in src])
    placed = dict(zip(dst, src))
    order = [placed[i] if i in placed else next(rest) for i in range(x.ndim)]
    return permute(x, *order)


moveaxis = movedim


def _one_dim(d, ndim, op):
    """One dim of a tensor that may be 0-d (then 0 and -1 are allowed)."""
    return 0 if ndim == 0 and d in (0, -1) else single_axis(d, ndim, op)


def unflatten(x, dim, sizes):
    """Split axis ``dim`` into several of ``sizes`` (one may be -1); a view.

    >>> import chainrule
    >>> chainrule.zeros(2, 12).unflatten(1, (3, -1)).shape
    (2, 3, 4)
    """
    sizes = _int_list(sizes, "unflatten", "sizes")
    if not sizes:
        raise ShapeError("unflatten: sizes must be non-empty")
    axis = single_axis(dim, x.ndim, "unflatten")
    n = x.shape[axis]
    known = int(numpy.prod([s for s in sizes if s != -1]))
    bad = sizes.count(-1) > 1 or any(s < -1 for s in sizes) or \
        (known != n if -1 not in sizes else (known == 0 or n % known))
    if bad:
        raise ShapeError(f"unflatten: provided sizes {list(sizes)} don't multiply up to the "
                         f"size of dim {dim} ({n}) of the input of shape {x.shape}")
    sizes = tuple(n // known if s == -1 else s for s in sizes)
    return reshape(x, x.shape[:axis] + sizes + x.shape[axis + 1:])


def narrow(x, dim, start, length):
    """The slice ``start:start+length`` along ``dim`` (``start`` may be negative or a 0-d
    tensor), as a view.

    >>> import chainrule
    >>> chainrule.arange(6).narrow(0, 1, 3).tolist()
    [1, 2, 3]
    """
    axis = single_axis(dim, x.ndim, "narrow")
    if isinstance(start, TensorBase):
        if start.ndim != 0 or backend.kind(start.dtype) not in "iu":
            raise ArgumentTypeError(f"narrow: start must be an int or a 0-d integer tensor, "
                                    f"got a {start.dtype} tensor of shape {start.shape}")
        start = start.item()
    start, length = _int_list(start, "narrow", "start")[0], \
        _int_list(length, "narrow", "length")[0]
    n = x.shape[axis]
    if not -n <= start <= n:
        raise IndexOutOfRangeError(f"narrow: start out of range (expected to be in range of "
                                   f"[{-n}, {n}], but got {start})")
    if length < 0:
        raise ArgumentError(f"narrow: length must be non-negative, got {length}")
    start = start % n if start < 0 else start
    if start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                         f"({n}) of dim {dim} of shape {x.shape}")
    return x[(slice(None),) * axis + (slice(start, start + length),)]


def select(x, dim, index):
    """The slice at ``index`` along ``dim``, which is removed (a view): ``x[:, index]`` for
    ``dim=1``.

    >>> import chainrule
    >>> chainrule.arange(6).reshape(2, 3).select(1, -1).tolist()
    [2, 5]
    """
    axis = single_axis(dim, x.ndim, "select")
    index = _int_list(index.__index__() if isinstance(index, TensorBase) else index,
                      "select", "index")[0]
    n = x.shape[axis]
    if not -n <= index < n:
        raise IndexOutOfRangeError(f"select: index {index} out of range for tensor of shape "
                                   f"{x.shape} at dimension {dim}")
    return x[(slice(None),) * axis + (index,)]


def unbind(x, dim=0):
    """The slices along ``dim``, as a tuple of views (``dim`` removed from each).

    >>> import chainrule
    >>> [t.tolist() for t in chainrule.tensor([[1, 2], [3, 4]]).unbind(1)]
    [[1, 3], [2, 4]]
    """
    axis = single_axis(dim, x.ndim, "unbind")
    lead = (slice(None),) * axis
    return tuple(x[lead + (i,)] for i in range(x.shape[axis]))


def tensor_split(x, indices_or_sections, dim=0):
    """Split into ``n`` nearly equal pieces (the first ``size % n`` one longer), or at the
    given indices (Python slice rules); the pieces are views.

    >>> import chainrule
    >>> [p.tolist() for p in chainrule.arange(7).tensor_split(3)]
    [[0, 1, 2], [3, 4], [5, 6]]
    >>> [p.tolist() for p in chainrule.arange(7).tensor_split([1, 5])]
    [[0], [1, 2, 3, 4], [5, 6]]
    """
    axis = single_axis(dim, x.ndim, "tensor_split")
    split = indices_or_sections
    if isinstance(split, TensorBase):
        if backend.kind(split.dtype) not in "iu" or split.ndim > 1:
            raise ArgumentTypeError(f"tensor_split: a tensor of indices or sections must be a "
                                    f"0-d or 1-d integer tensor, got a {split.dtype} tensor of "
                                    f"shape {split.shape}")
        split = split.item() if split.ndim == 0 else split.tolist()
    n = x.shape[axis]
    if isinstance(split, (tuple, list)):
        bounds = [0] + list(_int_list(list(split), "tensor_split", "indices")) + [None]
    else:
        sections = _int_list(split, "tensor_split", "sections")[0]
        if sections <= 0:
            raise ArgumentError(f"tensor_split: number of sections must be larger than 0, got "
                                f"{sections}")
        sizes = [n // sections + (1 if i < n % sections else 0) for i in range(sections)]
        bounds = [int(b) for b in numpy.cumsum([0] + sizes)]
    lead = (slice(None),) * axis
    return tuple(x[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


def _even_split(x, split, dim, op, min_ndim):
    if x.ndim < min_ndim:
        raise ShapeError(f"{op} requires a tensor with at least {min_ndim} dimension"
                         f"{'s' if min_ndim > 1 else ''}, but got shape {x.shape}")
    if not isinstance(split, (tuple, list, TensorBase)):
        sections = _int_list(split, op, "sections")[0]
        if sections <= 0 or x.shape[dim] % sections:
            raise ShapeError(f"{op} attempted to split along dimension {dim}, but the size of "
                             f"the dimension {x.shape[dim]} is not divisible by the split_size "
                             f"{sections}")
    return tensor_split(x, split, dim)


def hsplit(x, indices_or_sections):
    """Split along the columns: dim 1 (dim 0 for a 1-D tensor); an int must divide evenly.

    >>> import chainrule
    >>> [p.shape for p in chainrule.zeros(2, 4).hsplit(2)]
    [(2, 2), (2, 2)]
    """
    return _even_split(x, indices_or_sections, 1 if x.ndim > 1 else 0, "hsplit", 1)


def vsplit(x, indices_or_sections):
    """Split along dim 0 of a tensor with at least 2 dimensions.

    >>> import chainrule
    >>> [p.shape for p in chainrule.zeros(4, 2).vsplit([1])]
    [(1, 2), (3, 2)]
    """
    return _even_split(x, indices_or_sections, 0, "vsplit", 2)


def dsplit(x, indices_or_sections):
    """Split along dim 2 of a tensor with at least 3 dimensions.

    >>> import chainrule
    >>> [p.shape for p in chainrule.zeros(1, 2, 4).dsplit(2)]
    [(1, 2, 2), (1, 2, 2)]
    """
    return _even_split(x, indices_or_sections, 2, "dsplit", 3)


def unfold(x, dimension, size, step):
    """``Tensor.unfold``: every window of ``size`` elements, ``step`` apart, along
    ``dimension`` (which then counts the windows; a new last axis holds each window). A
    view; overlapping windows cannot be changed in place.

    >>> import chainrule
    >>> chainrule.arange(5).unfold(0, 2, 2).tolist()
    [[0, 1], [2, 3]]
    """
    size, step = _int_list(size, "unfold", "size")[0], _int_list(step, "unfold", "step")[0]
    if x.ndim == 0:
        return unfold(reshape(x, 1), 0, size, step).reshape(-1)
    axis = single_axis(dimension, x.ndim, "unfold")
    if size < 0 or size > x.shape[axis]:
        raise ShapeError(f"unfold: maximum size for tensor at dimension {axis} is "
                         f"{x.shape[axis]} but size is {size}")
    if step <= 0:
        raise ArgumentError(f"unfold: step is {step} but must be > 0")
    return Unfold(axis, size, step)(x)


def clone(x):
    """A copy with its own memory (differentiable).

    >>> import chainrule
    >>> chainrule.ones(2).clone().tolist()
    [1.0, 1.0]
    """
    return Clone()(x)


__all__ = ["sum_to", "broadcast_to", "expand", "reshape", "view", "contiguous", "permute",
           "transpose",
           "swapaxes", "flatten", "squeeze", "unsqueeze", "concatenate", "cat", "stack", "split",
           "chunk", "pad", "flip", "tile", "repeat", "cast", "clone",
           # issue 19.4
           "concat", "ravel", "fliplr", "flipud", "roll", "rot90", "movedim", "moveaxis", "swapdims", "unflatten", "narrow", "select",
           "unbind", "tensor_split", "hsplit", "vsplit", "dsplit"]
