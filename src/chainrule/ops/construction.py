"""Tensors built from other tensors: the stacks (hstack, vstack, dstack, column_stack),
atleast_1d/2d/3d, repeat_interleave, meshgrid, cartesian_prod and block_diag.

Each is a composition of exact shape ops (reshape, expand, cat, pad, index_select), so
their gradients — and second derivatives — are those ops' own.
"""
import numpy

from .. import backend
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..autograd.broadcast import broadcast_shapes as _broadcast_shapes
from ..tensor_base import TensorBase
from ._util import require_tensor, single_axis
from .shape import _tensor_list, broadcast_to, concatenate, pad, reshape, stack


def _tensors(tensors, op):
    """``f(a, b)`` and ``f([a, b])`` both mean the tensors a and b."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, TensorBase):
            raise ArgumentTypeError(f"{op}: expected tensors, but argument {i} is a "
                                    f"{type(t).__name__}")
    return tensors


def _at_least(tensors, ndim, op):
    single = len(tensors) == 1 and isinstance(tensors[0], TensorBase)
    out = tuple(_lift_ndim(t, ndim) for t in _tensors(tensors, op))
    return out[0] if single else out


def _lift_ndim(t, ndim):
    if t.ndim >= ndim:
        return t
    if ndim == 3 and t.ndim == 2:
        return reshape(t, t.shape + (1,))
    if ndim == 3 and t.ndim == 1:
        return reshape(t, (1,) + t.shape + (1,))
    return reshape(t, (1,) * (ndim - t.ndim) + t.shape)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (a 0-d tensor becomes shape (1,)).

    >>> import chainrule
    >>> chainrule.atleast_1d(chainrule.tensor(3)).shape
    (1,)
    """
    return _at_least(tensors, 1, "atleast_1d")


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions (1-D ``(n,)`` becomes ``(1, n)``).

    >>> import chainrule
    >>> chainrule.atleast_2d(chainrule.zeros(3)).shape
    (1, 3)
    """
    return _at_least(tensors, 2, "atleast_2d")


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` ->
    ``(m, n, 1)``).

    >>> import chainrule
    >>> chainrule.atleast_3d(chainrule.zeros(2, 3)).shape
    (2, 3, 1)
    """
    return _at_least(tensors, 3, "atleast_3d")


def _stack_list(tensors, op):
    if isinstance(tensors, TensorBase):
        raise ArgumentTypeError(f"{op}: expected a sequence of tensors, got one tensor")
    return _tensor_list(tensors, op)


def hstack(tensors):
    """Join along the columns: dim 1, or dim 0 for 1-D tensors (0-d ones count as 1-D).

    >>> import chainrule
    >>> chainrule.hstack([chainrule.tensor([1, 2]), chainrule.tensor([3])]).tolist()
    [1, 2, 3]
    """
    parts = [_lift_ndim(t, 1) for t in _stack_list(tensors, "hstack")]
    return concatenate(parts, dim=0 if parts[0].ndim == 1 else 1)


def vstack(tensors):
    """Join along dim 0 after making every tensor at least 2-D (rows). Also ``row_stack``.

    >>> import chainrule
    >>> chainrule.vstack([chainrule.tensor([1, 2]), chainrule.tensor([3, 4])]).tolist()
    [[1, 2], [3, 4]]
    """
    return concatenate([_lift_ndim(t, 2) for t in _stack_list(tensors, "vstack")], dim=0)


row_stack = vstack


def dstack(tensors):
    """Join along dim 2 (depth) after making every tensor at least 3-D.

    >>> import chainrule
    >>> chainrule.dstack([chainrule.zeros(3), chainrule.ones(3)]).shape
    (1, 3, 2)
    """
    return concatenate([_lift_ndim(t, 3) for t in _stack_list(tensors, "dstack")], dim=2)


def column_stack(tensors):
    """Join as columns: 0-d and 1-D tensors become columns ``(n, 1)``, then dim 1.

    >>> import chainrule
    >>> chainrule.column_stack([chainrule.tensor([1, 2]), chainrule.tensor([3, 4])]).tolist()
    [[1, 3], [2, 4]]
    """
    parts = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t
             for t in _stack_list(tensors, "column_stack")]
    return concatenate(parts, dim=1)


def broadcast_tensors(*tensors):
    """The tensors broadcast to their common shape (read-only views; gradients are summed
    back).

    >>> import chainrule
    >>> [t.shape for t in chainrule.broadcast_tensors(chainrule.zeros(2, 1), chainrule.zeros(3))]
    [(2, 3), (2, 3)]
    """
    tensors = _tensors(tensors, "broadcast_tensors")
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t if t.shape == shape else broadcast_to(t, shape) for t in tensors)


def broadcast_shapes(*shapes):
    """The shape that tensors of these shapes broadcast to (an int counts as a 1-D shape).

    >>> import chainrule
    >>> chainrule.broadcast_shapes((2, 1), (3,), 1)
    (2, 3)
    """
    as_tuples = []
    for shape in shapes:
        if isinstance(shape, (int, numpy.integer)) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, (tuple, list)) or not all(
                isinstance(n, (int, numpy.integer)) and not isinstance(n, bool) for n in shape):
            raise ArgumentTypeError(f"broadcast_shapes: expected ints or sequences of ints, "
                                    f"got {shape!r}")
        as_tuples.append(tuple(int(n) for n in shape))
    return _broadcast_shapes(*as_tuples) if as_tuples else ()


# ---------------------------------------------------------------- repeat_interleave

def repeat_interleave(x, repeats=None, dim=None, output_size=None):
    """Repeat each element (each slice along ``dim``) ``repeats`` times in place, where
    ``repeats`` is an int or one count per slice; without ``dim`` the tensor is flattened.
    ``repeat_interleave(counts)`` alone gives ``arange(len(counts))`` repeated by counts.

    >>> import chainrule
    >>> chainrule.tensor([1, 2]).repeat_interleave(2).tolist()
    [1, 1, 2, 2]
    >>> chainrule.tensor([[1, 2], [3, 4]]).repeat_interleave(chainrule.tensor([1, 2]), dim=0).tolist()
    [[1, 2], [3, 4], [3, 4]]
    """
    require_tensor(x, "repeat_interleave")
    if repeats is None:
        return _indices_from_counts(x, output_size)
    if dim is None:
        x, axis = reshape(x, -1), 0
    else:
        axis = single_axis(dim, max(x.ndim, 1), "repeat_interleave")
        if x.ndim == 0:
            x = reshape(x, 1)
    n = x.shape[axis]
    counts = _counts(repeats, n)
    if isinstance(counts, int):
        total = counts * n
    else:
        total = int(counts.sum())
    if output_size is not None and int(output_size) != total:
        raise ShapeError(f"repeat_interleave: output_size={output_size} does not match the "
                         f"{total} elements the repeats give")
    if isinstance(counts, int):
        # each slice seen `counts` times: a broadcast along a new axis, then merged
        wide = reshape(x, x.shape[:axis + 1] + (1,) + x.shape[axis + 1:])
        wide = broadcast_to(wide, x.shape[:axis + 1] + (counts,) + x.shape[axis + 1:])
        return reshape(wide, x.shape[:axis] + (total,) + x.shape[axis + 1:])
    index = backend.xp.repeat(backend.xp.arange(n), counts)
    return x[(slice(None),) * axis + (index,)]


def _counts(repeats, n):
    """The repeat counts as an int, or as an int64 array of one count per slice."""
    if isinstance(repeats, TensorBase):
        if backend.kind(repeats._data.dtype) not in "iu":
            raise DTypeError(f"repeat_interleave: repeats must be an integer tensor, got "
                             f"{repeats.dtype}")
        if repeats.ndim > 1:
            raise ShapeError(f"repeat_interleave: repeats must be a 0-dim or 1-dim tensor, "
                             f"got shape {repeats.shape}")
        counts = backend.xp.asarray(repeats._data, dtype=numpy.int64).reshape(-1)
        if counts.size and int(counts.min()) < 0:
            raise ArgumentError("repeat_interleave: repeats can not be negative")
        if counts.size == 1:
            return int(counts[0])
        if counts.size != n:
            raise ShapeError(f"repeat_interleave: repeats must have the same size as input "
                             f"along dim, but got {counts.size} repeats for size {n}")
        return counts
    if isinstance(repeats, bool) or not isinstance(repeats, (int, numpy.integer)):
        raise ArgumentTypeError(f"repeat_interleave: repeats must be an int or an integer "
                                f"tensor, got {type(repeats).__name__}")
    if repeats < 0:
        raise ArgumentError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
    return int(repeats)


def _indices_from_counts(counts, output_size):
    if backend.kind(counts._data.dtype) not in "iu" or counts.ndim > 1:
        raise ShapeError(f"repeat_interleave: repeats must be a 0-dim or 1-dim integer tensor, "
                         f"got a {counts.dtype} tensor of shape {counts.shape}")
    values = counts._data.reshape(-1)
    if values.size and int(values.min()) < 0:
        raise ArgumentError("repeat_interleave: repeats can not be negative")
    if output_size is not None and int(output_size) != int(values.sum()):
        raise ShapeError(f"repeat_interleave: output_size={output_size} does not match the "
                         f"{int(values.sum())} elements the repeats give")
    index = backend.xp.repeat(backend.xp.arange(values.size, dtype=numpy.int64), values)
    return counts._make(index, None)


# ---------------------------------------------------------------- grids

def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: output ``i`` varies along axis ``i`` ("ij", the
    default) or, with ``indexing="xy"``, the first two axes are swapped (Cartesian).
    The grids are broadcast views of the inputs.

    >>> import chainrule
    >>> x, y = chainrule.meshgrid(chainrule.tensor([1, 2]), chainrule.tensor([3, 4, 5]))
    >>> x.shape, x.tolist()[0], y.tolist()[0]
    ((2, 3), [1, 1, 1], [3, 4, 5])
    """
    tensors = _tensors(tensors, "meshgrid")
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f'meshgrid: indexing must be one of "xy" or "ij", got '
                            f'{indexing!r}')
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: expected 0-D or 1-D tensors, but tensor {i} has "
                             f"shape {t.shape}")
    if len({t.dtype for t in tensors}) > 1:
        raise DTypeError(f"meshgrid: expects all tensors to have the same dtype, got "
                         f"{[str(t.dtype) for t in tensors]}")
    sizes = [t.numel() for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for t, axis in zip(tensors, axes):
        shape = [1] * len(tensors)
        shape[axis] = t.numel()
        grids.append(broadcast_to(reshape(t, tuple(shape)), tuple(sizes)))
    return tuple(grids)


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, as rows (like
    ``itertools.product``); one tensor is returned as it is.

    >>> import chainrule
    >>> chainrule.cartesian_prod(chainrule.tensor([1, 2]), chainrule.tensor([3, 4])).tolist()
    [[1, 3], [1, 4], [2, 3], [2, 4]]
    """
    tensors = _tensors(tensors, "cartesian_prod")
    if not tensors:
        raise ArgumentError("cartesian_prod: needs at least one tensor")
    for i, t in enumerate(tensors):
        if t.ndim != 1:
            raise ShapeError(f"cartesian_prod: expects 1-D tensors, but tensor {i} has shape "
                             f"{t.shape}")
    if len(tensors) == 1:
        return tensors[0]
    return stack([reshape(g, -1) for g in meshgrid(*tensors, indexing="ij")], dim=1)


def block_diag(*tensors):
    """The matrices (0-d and 1-D tensors count as 1 x n) along the diagonal of a zero
    matrix, in PyTorch's promoted dtype.

    >>> import chainrule
    >>> chainrule.block_diag(chainrule.tensor([[1, 2]]), chainrule.tensor(3)).tolist()
    [[1, 2, 0], [0, 0, 3]]
    """
    tensors = _tensors(tensors, "block_diag")
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise ShapeError(f"block_diag: input tensors must have 2 or fewer dimensions, "
                             f"but tensor {i} has shape {t.shape}")
    if not tensors:
        raise ArgumentError("block_diag: needs at least one tensor (PyTorch returns an empty "
                            "1 x 0 tensor here; see docs/pytorch.md)")
    blocks = [reshape(t, (1, t.numel())) if t.ndim < 2 else t for t in tensors]
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        rows.append(pad(b, ((0, 0), (left, width - left - b.shape[1]))))
        left += b.shape[1]
    return concatenate(rows, dim=0)      # concatenate promotes the dtypes as PyTorch does


__all__ = ["atleast_1d", "atleast_2d", "atleast_3d", "broadcast_tensors", "broadcast_shapes",
           "hstack", "vstack", "row_stack",
           "dstack", "column_stack", "repeat_interleave", "meshgrid", "cartesian_prod",
           "block_diag"]


# ================================================================ issue 19: vocabulary gaps
import itertools  # noqa: E402

from .indexing import index_select as _index_select  # noqa: E402


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of a 1-D tensor's elements, as the rows of an
    ``(n_combinations, r)`` tensor in itertools' order (differentiable: a gather). ``r=0``
    gives an empty 1-D tensor, as in PyTorch.

    >>> import chainrule
    >>> chainrule.combinations(chainrule.tensor([1, 2, 3])).tolist()
    [[1, 2], [1, 3], [2, 3]]
    """
    require_tensor(input, "combinations")
    if input._data.ndim != 1:
        raise ShapeError(f"combinations: expect a 1D vector, but got shape {input.shape}")
    if isinstance(r, bool) or not isinstance(r, int) or r < 0:
        raise ArgumentError(f"combinations: expect a non-negative number, but got {r!r}")
    if r == 0:
        return input._make(backend.xp.zeros((0,), dtype=input._data.dtype), None)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = list(pick(range(input._data.shape[0]), r))
    index = input._make(backend.xp.asarray(rows, dtype=numpy.int64).reshape(-1), None)
    return reshape(_index_select(input, 0, index), (len(rows), r))
