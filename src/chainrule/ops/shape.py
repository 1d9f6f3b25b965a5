"""Shape ops: reshape, permute, concatenate, stack, split, pad, flip, tile, cast, clone.

None of them changes a value, so each backward only moves the gradient back into the
input's shape (reshape back, permute back, slice out a piece). Reshape, permute, squeeze,
unsqueeze, expand and slicing are views: they share the input's memory and version counter.
"""
import numpy

from .. import backend
from ..autograd.broadcast import BroadcastTo, SumTo, broadcast_to, sum_to  # noqa: F401
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, ShapeError
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
        return x.reshape(self.shape)

    def backward(self, gy):
        return reshape(gy, self.input_shape)


class Permute(Function):
    is_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return permute(gy, *numpy.argsort(self.axes).tolist())


class Concatenate(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return backend.xp.concatenate(arrays, axis=self.axis)

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
        return backend.xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, gy):
        index = tuple(slice(before, gy.shape[i] - after)
                      for i, (before, after) in enumerate(self.pad_width))
        return gy[index]


class Flip(Function):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return backend.xp.flip(x, self.axes)

    def backward(self, gy):
        return flip(gy, self.axes)


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


class Clone(Function):
    def forward(self, x):
        return x.copy()

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
    known = int(numpy.prod([n for n in shape if n != -1]))
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
    size = int(numpy.prod(x.shape[start:end + 1]))
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


cat = concatenate


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
    """PyTorch's split: pieces of a given size, or of the sizes in a list.

    >>> import chainrule
    >>> [p.tolist() for p in chainrule.arange(5).split(2)]
    [[0, 1], [2, 3], [4]]
    """
    if x.ndim == 0:
        raise ShapeError("split: cannot split a 0-d tensor")
    if isinstance(split_size_or_sections, int) and split_size_or_sections < 1:
        raise ArgumentError(f"split: split_size must be positive, got {split_size_or_sections}")
    axis = single_axis(dim, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} do not add up to {n} (axis {axis} of "
                             f"shape {x.shape})")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` nearly equal pieces along ``dim``.

    >>> import chainrule
    >>> [p.shape for p in chainrule.zeros(6).chunk(3)]
    [(2,), (2,), (2,)]
    """
    n = x.shape[single_axis(dim, x.ndim, "chunk")]
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


def tile(x, *reps):
    """Repeat the whole tensor along each axis (NumPy's tile, PyTorch's ``Tensor.repeat``).

    >>> import chainrule
    >>> chainrule.arange(2).tile(2).tolist()
    [0, 1, 0, 1]
    """
    reps = _shape_arg(reps)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    return Tile(reps)(x)


repeat = tile


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
           "chunk", "pad", "flip", "tile", "repeat", "cast", "clone"]
