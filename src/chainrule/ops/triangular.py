"""Triangles and diagonals of matrices: tril, triu, diagonal, diag_embed, diag, trace.

``tril``/``triu`` keep one side of a diagonal and zero the rest, so the gradient is the same
mask applied to the upstream gradient. ``diagonal`` is a view (a strided walk along two
axes, writeable like PyTorch's); its gradient puts the upstream gradient back on the
diagonal of zeros — which is ``diag_embed``'s forward, so the two ops are each other's
backward and second derivatives come for free.
"""
from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentTypeError, DTypeError, ShapeError
from ._util import require_tensor, single_axis
from .shape import Clone


class Triangle(Function):
    """The lower (``upper=False``) or upper triangle of the last two axes, the rest zero."""

    def __init__(self, diagonal, upper):
        self.diagonal, self.upper = diagonal, upper

    def forward(self, x):
        keep = backend.xp.triu if self.upper else backend.xp.tril
        return keep(x, self.diagonal)

    def backward(self, gy):
        return Triangle(self.diagonal, self.upper)(gy)

    def to_onnx(self, builder, inputs, dynamic_batch):
        return builder.node("Trilu", [inputs[0], builder.ints(self.diagonal)],
                            upper=int(self.upper))


def _triangle(x, diagonal, upper, op):
    require_tensor(x, op)
    if x.ndim < 2:
        raise ShapeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                         f"{x.shape}")
    return Triangle(_int(diagonal, op, "diagonal"), upper)(x)


def _int(value, op, name):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return value.__index__()
        except (AttributeError, TypeError):
            raise ArgumentTypeError(f"{op}: {name} must be an int, got {type(value).__name__}") \
                from None
    return value


def tril(x, diagonal=0):
    """The lower triangle (on and below diagonal ``diagonal``) of the last two axes.

    >>> import chainrule
    >>> chainrule.tril(chainrule.ones(3, 3)).tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    return _triangle(x, diagonal, False, "tril")


def triu(x, diagonal=0):
    """The upper triangle (on and above diagonal ``diagonal``) of the last two axes.

    >>> import chainrule
    >>> chainrule.triu(chainrule.ones(2, 3), 1).tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    return _triangle(x, diagonal, True, "triu")


# ---------------------------------------------------------------- diagonals

def diagonal_view(array, offset, dim1, dim2):
    """The writeable strided view of ``array``'s diagonal ``offset`` over axes dim1, dim2;
    the other axes keep their order and the diagonal comes last (PyTorch's layout)."""
    start = [slice(None)] * array.ndim
    if offset >= 0:
        start[dim2] = slice(min(offset, array.shape[dim2]), None)
    else:
        start[dim1] = slice(min(-offset, array.shape[dim1]), None)
    corner = array[tuple(start)]
    length = max(min(corner.shape[dim1], corner.shape[dim2]), 0)
    others = [i for i in range(array.ndim) if i not in (dim1, dim2)]
    shape = tuple(corner.shape[i] for i in others) + (length,)
    strides = tuple(corner.strides[i] for i in others) + \
        (corner.strides[dim1] + corner.strides[dim2],)
    return backend.xp.lib.stride_tricks.as_strided(corner, shape, strides)


class Diagonal(Function):
    """A diagonal over two axes, as a view; backward writes the gradient back on the
    diagonal of zeros."""

    is_view = True

    def __init__(self, offset, dim1, dim2):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, x):
        self.input_shape = x.shape
        return diagonal_view(x, self.offset, self.dim1, self.dim2)

    def backward(self, gy):
        return EmbedDiagonal(self.input_shape, self.offset, self.dim1, self.dim2)(gy)


class EmbedDiagonal(Function):
    """Zeros of ``shape`` with ``x`` written on the diagonal (``offset``, dim1, dim2); the
    backward reads that diagonal back."""

    def __init__(self, shape, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = shape, offset, dim1, dim2

    def forward(self, x):
        out = backend.xp.zeros(self.shape, dtype=x.dtype)
        diagonal_view(out, self.offset, self.dim1, self.dim2)[...] = x
        return out

    def backward(self, gy):
        return Diagonal(self.offset, self.dim1, self.dim2)(gy)


def _two_dims(x, dim1, dim2, ndim, op):
    d1, d2 = single_axis(dim1, ndim, op), single_axis(dim2, ndim, op)
    if d1 == d2:
        raise ShapeError(f"{op}: diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal ``offset`` (above the main one if positive) of the 2-D slices over
    ``dim1`` and ``dim2``, as a view; that axis pair is removed and the diagonal appended.

    >>> import chainrule
    >>> m = chainrule.arange(9).reshape(3, 3)
    >>> m.diagonal().tolist(), m.diagonal(1).tolist(), m.diagonal(-1).tolist()
    ([0, 4, 8], [1, 5], [3, 7])
    """
    require_tensor(x, "diagonal")
    offset = _int(offset, "diagonal", "offset")
    if x.ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    d1, d2 = _two_dims(x, dim1, dim2, x.ndim, "diagonal")
    return Diagonal(offset, d1, d2)(x)


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """Matrices whose diagonal ``offset`` over output dims ``dim1``, ``dim2`` holds the last
    axis of ``x`` (zeros elsewhere); the inverse of ``diagonal``.

    >>> import chainrule
    >>> chainrule.diag_embed(chainrule.tensor([[1, 2], [3, 4]])).tolist()
    [[[1, 0], [0, 2]], [[3, 0], [0, 4]]]
    """
    require_tensor(x, "diag_embed")
    offset = _int(offset, "diag_embed", "offset")
    if x.ndim == 0:
        raise ShapeError("diag_embed: needs at least 1 dimension, got a 0-d tensor")
    ndim = x.ndim + 1
    d1, d2 = _two_dims(x, dim1, dim2, ndim, "diag_embed")
    side = x.shape[-1] + abs(offset)
    batch = list(x.shape[:-1])
    shape = []
    for i in range(ndim):
        shape.append(side if i in (d1, d2) else batch.pop(0))
    return EmbedDiagonal(tuple(shape), offset, d1, d2)(x)


def diag(x, diagonal=0):
    """A 1-D tensor -> the square matrix with it on diagonal ``diagonal``; a 2-D tensor -> a
    copy of that diagonal (use ``diagonal()`` for a view).

    >>> import chainrule
    >>> chainrule.diag(chainrule.tensor([1, 2])).tolist()
    [[1, 0], [0, 2]]
    >>> chainrule.diag(chainrule.tensor([[1, 2], [3, 4]]), 1).tolist()
    [2]
    """
    require_tensor(x, "diag")
    diagonal = _int(diagonal, "diag", "diagonal")
    if x.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.ndim == 2:
        return Clone()(Diagonal(diagonal, 0, 1)(x))
    raise ShapeError(f"diag: supports 1-D or 2-D tensors, got shape {x.shape}")


def diagflat(x, offset=0):
    """The flattened input on diagonal ``offset`` of a square matrix.

    >>> import chainrule
    >>> chainrule.diagflat(chainrule.tensor([[1, 2]])).tolist()
    [[1, 0], [0, 2]]
    """
    require_tensor(x, "diagflat")
    return diag_embed(x.reshape(-1), _int(offset, "diagflat", "offset"), 0, 1)


def trace(x):
    """The sum of the main diagonal of a matrix (integer matrices give int64, as PyTorch).

    >>> import chainrule
    >>> chainrule.trace(chainrule.arange(9).reshape(3, 3)).item()
    12
    """
    require_tensor(x, "trace")
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a matrix, but got a tensor of shape {x.shape}")
    if backend.kind(x._data.dtype) == "b":
        raise DTypeError("trace: not implemented for bool tensors (as in PyTorch)")
    return Diagonal(0, 0, 1)(x).sum()


__all__ = ["tril", "triu", "diagonal", "diag_embed", "diag", "diagflat", "trace"]
