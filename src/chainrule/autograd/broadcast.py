"""Broadcasting and its adjoint, owned by the engine.

When ``a + b`` broadcasts a (3,) tensor against a (2, 3) one, each element of the small
tensor was used twice, so its gradient is the sum of the two. A backward rule may therefore
return a gradient in the broadcast shape: the engine calls :func:`sum_to` to bring it back to
the input's shape (one place, for every op). ``broadcast_to`` and ``sum_to`` are each
other's derivative.
"""
import functools

from .. import backend
from ..errors import ShapeError
from .function import Function


class SumTo(Function):
    """Sum over the axes that broadcasting added or stretched; derivative: broadcast back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return sum_to_array(x, self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.input_shape)


class BroadcastTo(Function):
    """A read-only view repeating the input along new or size-1 axes (no copy)."""

    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return backend.xp.broadcast_to(x, self.shape)

    def backward(self, gy):
        return gy          # in the broadcast shape: the engine sums it back (sum_to)


def sum_to_array(x, shape):
    """Sum array ``x`` down to ``shape``: the inverse of broadcasting ``shape`` up to x's."""
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    xp = backend.namespace_of(x)
    return xp.reshape(xp.sum(x, axis=axes, keepdims=True), shape)


@functools.lru_cache(maxsize=4096)
def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to, or ShapeError naming them (cached: training
    loops meet the same few pairs of shapes over and over)."""
    ndim = max(len(s) for s in shapes)
    result = []
    for axis in range(-ndim, 0):
        sizes = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(sizes) > 1:
            raise ShapeError("shapes " + ", ".join(str(tuple(s)) for s in shapes) +
                             " cannot be broadcast together (axis "
                             f"{axis} has sizes {sorted(sizes)})")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def can_sum_to(shape, target):
    """Whether a gradient of ``shape`` is a broadcast of ``target`` (so sum_to applies)."""
    if len(target) > len(shape):
        return False
    lead = len(shape) - len(target)
    return all(t == 1 or t == s for s, t in zip(shape[lead:], target))


def sum_to(x, shape):
    """Sum ``x`` over broadcast axes so that it has ``shape`` (the adjoint of broadcasting).

    >>> import chainrule
    >>> chainrule.sum_to(chainrule.ones(2, 3), (1, 3)).tolist()
    [[2.0, 2.0, 2.0]]
    """
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if not can_sum_to(x.shape, shape):
        raise ShapeError(f"sum_to: a tensor of shape {x.shape} is not a broadcast of {shape}")
    return SumTo(shape)(x)


def broadcast_to(x, *shape):
    """Repeat ``x`` along new or size-1 axes up to ``shape`` (a read-only view, no copy);
    its gradient is summed back.

    >>> import chainrule
    >>> chainrule.ones(3).broadcast_to(2, 3).shape
    (2, 3)
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    shape = tuple(int(n) for n in shape)
    if x.shape == shape:
        return x
    try:
        fits = len(shape) >= x.ndim and broadcast_shapes(x.shape, shape) == shape
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return BroadcastTo(shape)(x)
