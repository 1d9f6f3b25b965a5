"""``cdist``: the p-norm distance between every row of one batch of points and every row of
another, with PyTorch's two ways of computing it and the gradients of each.

For p = 2 and more than 25 rows on either side (or ``compute_mode="use_mm_for_euclid_dist"``)
PyTorch uses ``sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))`` — one matrix product, fast, slightly less
accurate — and so does chainrule; otherwise it walks the pairs (here in row chunks, so the
pairwise differences never need more than a few MB at once). The gradients are PyTorch's:
zero where the distance is zero (and, for p < 1, where one coordinate difference is zero),
and for p = inf the coordinates that reach the maximum share the sign of their difference.
"""
import math

import numpy

from .. import backend
from ..autograd.broadcast import broadcast_shapes, broadcast_to
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ._util import require_tensor
from .arithmetic import abs as absolute, sign, where
from .linalg import matmul

_MODES = {"use_mm_for_euclid_dist_if_necessary": 0, "use_mm_for_euclid_dist": 1,
          "donot_use_mm_for_euclid_dist": 2}
_CHUNK_ELEMENTS = 1 << 20      # pairwise differences held at once in the direct path


def _reduce(differences, p):
    """The p-norm over the last axis of absolute coordinate differences."""
    xp = backend.xp
    if p == 0:
        return (differences != 0).sum(axis=-1).astype(differences.dtype)
    if p == 1:
        return differences.sum(axis=-1)
    if p == 2:
        return xp.sqrt((differences * differences).sum(axis=-1))
    if math.isinf(p):
        return differences.max(axis=-1)
    return (differences ** p).sum(axis=-1) ** (1.0 / p)


def _pairwise(x1, x2, p):
    """Distances of (..., P, M) and (..., R, M) arrays with equal batch shapes: (..., P, R)."""
    rows, others, width = x1.shape[-2], x2.shape[-2], x1.shape[-1]
    batch = x1.shape[:-2]
    out = backend.xp.zeros(batch + (rows, others), dtype=x1.dtype)
    if width == 0 or out.size == 0:
        return out
    per_row = max(1, others * width * int(numpy.prod(batch, dtype=numpy.int64)))
    step = max(1, _CHUNK_ELEMENTS // per_row)
    for start in range(0, rows, step):
        block = x1[..., start:start + step, None, :] - x2[..., None, :, :]
        out[..., start:start + step, :] = _reduce(backend.xp.abs(block), p)
    return out


class Cdist(Function):
    """Pairwise p-norm distances, pair by pair (``_cdist_forward`` in PyTorch)."""

    def __init__(self, p):
        self.p = p

    def forward(self, x1, x2):
        out = _pairwise(x1, x2, self.p)
        self.save_for_backward(x1, x2, out)
        return out

    def backward(self, gy):
        x1, x2, dist = self.saved_tensors
        need_x1, need_x2 = self.needs_input_grad
        if self.p == 0 or x1.shape[-1] == 0:
            zeros = backend.xp.zeros
            return (gy._make(zeros(x1.shape, dtype=gy.dtype), None) if need_x1 else None,
                    gy._make(zeros(x2.shape, dtype=gy.dtype), None) if need_x2 else None)
        local = _pair_gradient(x1, x2, dist, gy, self.p)       # (..., P, R, M)
        return (local.sum(dim=-2) if need_x1 else None,
                -local.sum(dim=-3) if need_x2 else None)


def _pair_gradient(x1, x2, dist, gy, p):
    """d dist[i, j] / d x1[i] times the upstream gradient, for every pair: PyTorch's
    ``_cdist_backward`` formulas, written with differentiable ops (denominators are made
    safe where the mask zeroes the result, so second derivatives stay finite)."""
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    g, d = gy.unsqueeze(-1), dist.unsqueeze(-1)
    if p == 1:
        return g * sign(diff)
    if math.isinf(p):
        reaches_max = absolute(diff)._data == d._data
        return where(reaches_max, g * sign(diff), 0.0)
    zero_distance = (d._data == 0)
    safe_d = where(zero_distance, 1.0, d)
    if p == 2:
        return where(zero_distance, 0.0, g * diff / safe_d)
    if p < 2:
        dead = zero_distance | ((diff._data == 0) & (p < 1))
        safe_abs = where(diff._data == 0, 1.0, absolute(diff))
        value = sign(diff) * safe_abs ** (p - 1) * g / safe_d ** (p - 1)
        return where(dead, 0.0, value)
    return where(zero_distance, 0.0, diff * absolute(diff) ** (p - 2) * g / safe_d ** (p - 1))


class EuclideanDist(Function):
    """Euclidean distances through one matrix product (PyTorch's ``_euclidean_dist``):
    ``sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))``, with PyTorch's backward (zero at zero)."""

    def forward(self, x1, x2):
        xp = backend.xp
        norm1 = backend.xp.sum(x1 * x1, axis=-1, keepdims=True)
        norm2 = backend.xp.sum(x2 * x2, axis=-1, keepdims=True)
        left = xp.concatenate([-2 * x1, norm1, xp.ones_like(norm1)], axis=-1)
        right = xp.concatenate([x2, xp.ones_like(norm2), norm2], axis=-1)
        squared = left @ xp.swapaxes(right, -1, -2)
        out = xp.sqrt(xp.maximum(squared, 0))
        self.save_for_backward(x1, x2, out)
        return out

    def backward(self, gy):
        x1, x2, dist = self.saved_tensors
        need_x1, need_x2 = self.needs_input_grad
        zero = dist._data == 0
        ratio = where(zero, 0.0, gy / where(zero, 1.0, dist))
        g1 = x1 * ratio.sum(dim=-1, keepdim=True) - matmul(ratio, x2) if need_x1 else None
        g2 = x2 * ratio.sum(dim=-2).unsqueeze(-1) - matmul(ratio.mT, x1) if need_x2 else None
        return g1, g2


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2``
    (..., R, M): a (..., P, R) tensor; batch dimensions broadcast.

    >>> import chainrule
    >>> a = chainrule.tensor([[0.0, 0.0], [1.0, 1.0]])
    >>> chainrule.cdist(a, chainrule.tensor([[3.0, 4.0]])).tolist()
    [[5.0], [3.605551242828369]]
    >>> chainrule.cdist(a, chainrule.tensor([[3.0, 4.0]]), p=1).tolist()
    [[7.0], [5.0]]
    """
    for name, t in (("x1", x1), ("x2", x2)):
        require_tensor(t, "cdist", name)
        if t.ndim < 2:
            raise ShapeError(f"cdist: only supports at least 2-D tensors, {name} has shape "
                             f"{t.shape}")
        if backend.kind(t._data.dtype) != "f":
            raise DTypeError(f"cdist: only supports floating-point dtypes, {name} is {t.dtype}")
    if x1.dtype != x2.dtype:
        raise DTypeError(f"cdist: x1 and x2 must have the same dtype, got {x1.dtype} and "
                         f"{x2.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: x1 and x2 must have the same number of columns, got shapes "
                         f"{x1.shape} and {x2.shape}")
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise ArgumentTypeError(f"cdist: p must be a number, got {type(p).__name__}")
    p = float(p)
    if not p >= 0:
        raise ArgumentError(f"cdist: only supports non-negative p values, got {p}")
    if compute_mode not in _MODES:
        raise ArgumentError(f"cdist: {compute_mode!r} is not a valid value for compute_mode "
                            f"(expected one of {', '.join(_MODES)})")
    try:
        batch = broadcast_shapes(x1.shape[:-2], x2.shape[:-2])
    except ShapeError:
        raise ShapeError(f"cdist: the batch dimensions of shapes {x1.shape} and {x2.shape} "
                         "cannot be broadcast together") from None
    rows, others = x1.shape[-2], x2.shape[-2]
    a = broadcast_to(x1, batch + x1.shape[-2:]) if x1.shape[:-2] != batch else x1
    b = broadcast_to(x2, batch + x2.shape[-2:]) if x2.shape[:-2] != batch else x2
    mode = _MODES[compute_mode]
    use_mm = p == 2 and (mode == 1 or (mode == 0 and (rows > 25 or others > 25)))
    if use_mm and a.numel() and b.numel() and x1.shape[-1]:
        return EuclideanDist()(a, b)
    return Cdist(p)(a, b)


__all__ = ["cdist"]


# ================================================================ issue 19: vocabulary gaps
from .indexing import index_select as _index_select  # noqa: E402
from .reduction import vector_norm as _vector_norm  # noqa: E402


def pdist(input, p=2):
    """The p-norm distances between all pairs of rows i < j of an (N, M) tensor, in the
    order of the upper triangle (N(N-1)/2 values; ``F.pdist``). Differentiable, with a zero
    gradient where two rows are equal (as PyTorch).

    >>> import chainrule
    >>> pdist(chainrule.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])).tolist()
    [5.0, 1.0, 4.242640495300293]
    """
    require_tensor(input, "pdist")
    if input._data.ndim != 2:
        raise ShapeError(f"pdist: only supports 2D tensors, got shape {input.shape}")
    if not backend.is_floating(input._data.dtype):
        raise DTypeError(f"pdist: only supports floating-point dtypes, got {input.dtype}")
    if isinstance(p, bool) or not isinstance(p, (int, float, numpy.number)) or p < 0:
        raise ArgumentError(f"pdist: only supports non-negative p values, got {p!r}")
    n = input._data.shape[0]
    rows, cols = numpy.triu_indices(n, 1)
    first = _index_select(input, 0, input._make(backend.xp.asarray(rows), None))
    second = _index_select(input, 0, input._make(backend.xp.asarray(cols), None))
    return _vector_norm(first - second, p, dim=1)
