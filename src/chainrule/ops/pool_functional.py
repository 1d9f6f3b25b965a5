"""PyTorch's pooling functions: ``max_pool1d/2d/3d`` (and ``*_with_indices``),
``avg_pool1d/2d/3d``, ``adaptive_max_pool1d/2d/3d``, ``adaptive_avg_pool1d/2d/3d``,
``lp_pool1d/2d/3d`` and ``max_unpool1d/2d/3d``, with PyTorch's arguments, checks and
output sizes; unbatched input where PyTorch takes it.

Each checks its arguments once, then runs one node of :mod:`chainrule.ops.pool_nd`, or of
:mod:`chainrule.ops.pool` (the fast 2-D paths) when the options are the defaults there.
"""
import math
import operator

import numpy

from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, IndexOutOfRangeError, \
    ShapeError
from ..tensor_base import TensorBase
from . import pool
from .arithmetic import abs as _abs, where
from .linalg import einsum
from .pool_nd import AdaptiveMaxPoolNd, AvgPoolNd, MaxPoolNd, MaxUnpoolNd, Windows

_COUNT = {1: "an int or a tuple of one int", 2: "an int or a tuple of two ints",
          3: "an int or a tuple of three ints"}


def ints(value, n, name, op):
    """An int, or a sequence of 1 or n ints, as an n-tuple (PyTorch's ``_pair``, ``_triple``
    and its C++ checks)."""
    if isinstance(value, (list, tuple)):
        values = tuple(value)
    else:
        values = (value,)
    try:
        values = tuple(operator.index(v) for v in values)
    except TypeError:
        raise ArgumentTypeError(f"{op}: {name} must be {_COUNT[n]}, got {value!r}") from None
    if len(values) == 1:
        values = values * n
    if len(values) != n:
        raise ArgumentError(f"{op}: {name} must be {_COUNT[n]}, got {value!r}")
    return values


def check_input(x, d, op, what="input"):
    """x must be a (C, *spatial) or (N, C, *spatial) tensor, empty only along N."""
    if not isinstance(x, TensorBase):
        raise ArgumentTypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (d + 1, d + 2):
        raise ShapeError(f"{op}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) "
                         f"{what}, got shape {tuple(x.shape)}")
    if 0 in (x.shape[1:] if x.ndim == d + 2 else x.shape):
        raise ShapeError(f"{op}: {what} of shape {tuple(x.shape)} is empty in a dimension "
                         "other than the batch")


def _check_floating(x, op):
    if not backend.is_floating(x.dtype):
        raise DTypeError(f"{op}: needs a floating-point input, got {x.dtype}")


_CHECKED = {}       # windows()'s int arguments -> their checked Windows (a model asks a few)


def windows(x, d, kernel_size, stride, padding, dilation, ceil_mode, op):
    """The checked window geometry of a pooling of x's last d axes; for plain int arguments
    (``MaxPool2d(2)``'s) remembered by arguments, as a model asks the same few every step
    and the checks cost more than a small pooling (not for tuples: (2.0, 2) == (2, 2))."""
    if not (type(kernel_size) is int and type(padding) is int and type(dilation) is int
            and (stride is None or type(stride) is int)):
        return _checked_windows(x, d, kernel_size, stride, padding, dilation, ceil_mode, op)
    key = (x.shape[x.ndim - d:], d, kernel_size, stride, padding, dilation, bool(ceil_mode), op)
    geometry = _CHECKED.get(key)
    if geometry is None:
        geometry = _checked_windows(x, d, kernel_size, stride, padding, dilation, ceil_mode, op)
        if len(_CHECKED) >= 256:
            _CHECKED.clear()
        _CHECKED[key] = geometry
    return geometry


def _checked_windows(x, d, kernel_size, stride, padding, dilation, ceil_mode, op):
    kernel = ints(kernel_size, d, "kernel_size", op)
    empty = stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
    stride = kernel if empty else ints(stride, d, "stride", op)
    padding = ints(padding, d, "padding", op)
    dilation = ints(dilation, d, "dilation", op)
    for name, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if min(values) < 1:
            raise ArgumentError(f"{op}: {name} must be greater than zero, got {values}")
    if min(padding) < 0:
        raise ArgumentError(f"{op}: padding must be non-negative, got {padding}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ArgumentError(f"{op}: padding {padding} must be at most half of kernel_size "
                            f"{kernel}")
    geometry = Windows(x.shape[x.ndim - d:], kernel, stride, padding, dilation,
                       bool(ceil_mode))
    if min(geometry.out_size) < 1:
        raise ShapeError(f"{op}: input of spatial size {geometry.in_size} gives output size "
                         f"{geometry.out_size} (kernel_size={kernel}, stride={stride}, "
                         f"padding={padding}, dilation={dilation}), which is too small")
    return geometry


def _on_batch(x, d, fn):
    """fn on x as a 4-D batch (a batch of one for unbatched input)."""
    if x.ndim == d + 2:
        return fn(x)
    out = fn(x.reshape((1,) + tuple(x.shape)))
    return out.reshape(tuple(out.shape[1:]))


# ---------------------------------------------------------------- max pooling

def _max_pool(x, d, kernel_size, stride, padding, dilation, ceil_mode, return_indices, op):
    check_input(x, d, op)
    if x.dtype == numpy.bool_ or not (backend.is_floating(x.dtype) or x.dtype.kind in "iu"):
        raise DTypeError(f"{op}: needs a floating-point or integer input, got {x.dtype}")
    geometry = windows(x, d, kernel_size, stride, padding, dilation, ceil_mode, op)
    if (not return_indices and d == 2 and geometry.dilation == (1, 1)
            and geometry.padding == (0, 0) and geometry.out_size == geometry.floor_size):
        fast = pool.PoolGeometry(geometry.kernel, geometry.stride, (0, 0))
        return _on_batch(x, d, pool.MaxPool(fast))
    node = MaxPoolNd(geometry, keep_indices=return_indices)
    out = node(x)
    if not return_indices:
        return out
    indices = node.indices.copy() if node.needs_input_grad[0] else node.indices
    return out, x._make(indices, None)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of a (N, C, L) or (C, L) input; ``return_indices`` also gives each
    maximum's position (int64) for ``max_unpool1d``.

    >>> import chainrule
    >>> max_pool1d(chainrule.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2, ceil_mode=True).tolist()
    [[[3.0, 5.0, 4.0]]]
    """
    return _max_pool(input, 1, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of a (N, C, H, W) or (C, H, W) input (stride defaults to
    kernel_size); indices are flat positions within each H x W plane.

    >>> import chainrule
    >>> x = chainrule.arange(16).float().reshape(1, 1, 4, 4)
    >>> out, indices = max_pool2d(x, 2, return_indices=True)
    >>> out.tolist(), indices.tolist()
    ([[[[5.0, 7.0], [13.0, 15.0]]]], [[[[5, 7], [13, 15]]]])
    """
    return _max_pool(input, 2, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool2d")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of a (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> max_pool3d(chainrule.ones(1, 1, 4, 4, 4), 2).shape
    (1, 1, 2, 2, 2)
    """
    return _max_pool(input, 3, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, "max_pool3d")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``max_pool1d`` returning (output, indices) whatever ``return_indices`` says.

    >>> import chainrule
    >>> max_pool1d_with_indices(chainrule.tensor([[1.0, 3.0]]), 2)[1].tolist()
    [[1]]
    """
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``max_pool2d`` returning (output, indices) whatever ``return_indices`` says.

    >>> import chainrule
    >>> max_pool2d_with_indices(chainrule.ones(1, 2, 2), 2)[1].tolist()
    [[[0]]]
    """
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``max_pool3d`` returning (output, indices) whatever ``return_indices`` says.

    >>> import chainrule
    >>> max_pool3d_with_indices(chainrule.ones(1, 2, 2, 2), 2)[1].tolist()
    [[[[0]]]]
    """
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---------------------------------------------------------------- average pooling

def _avg_pool(x, d, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, op):
    check_input(x, d, op)
    _check_floating(x, op)
    geometry = windows(x, d, kernel_size, stride, padding, 1, ceil_mode, op)
    if divisor_override is not None:
        divisor_override = operator.index(divisor_override)
        if divisor_override == 0:
            raise ArgumentError(f"{op}: divisor_override must not be zero")
    if (d == 2 and divisor_override is None and geometry.out_size == geometry.floor_size
            and (count_include_pad or geometry.padding == (0, 0))):
        fast = pool.PoolGeometry(geometry.kernel, geometry.stride, geometry.padding)
        return _on_batch(x, d, pool.AvgPool(fast))
    divisor = geometry.divisor(bool(count_include_pad), divisor_override, x.dtype)
    return AvgPoolNd(geometry, divisor)(x)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over windows of a (N, C, L) or (C, L) input; zero padding counted unless
    ``count_include_pad=False``.

    >>> import chainrule
    >>> x = chainrule.tensor([[[1.0, 2.0, 3.0]]])
    >>> avg_pool1d(x, 2, padding=1, count_include_pad=False).tolist()
    [[[1.0, 2.5]]]
    """
    return _avg_pool(input, 1, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     None, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over windows of a (N, C, H, W) or (C, H, W) input; ``divisor_override`` divides
    every window's sum by that number instead.

    >>> import chainrule
    >>> avg_pool2d(chainrule.arange(16).float().reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(input, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool2d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over windows of a (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> avg_pool3d(chainrule.ones(1, 1, 3, 3, 3), 2, ceil_mode=True).shape
    (1, 1, 2, 2, 2)
    """
    return _avg_pool(input, 3, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool3d")


# ---------------------------------------------------------------- power-average pooling

class LpRoot(Function):
    """(k s) ** (1 / p) for the window means s of x ** p (k: the kernel's volume). A class
    rather than PyTorch's ``(sign(s) * relu(abs(s))).mul(k).pow(1 / p)`` written out: its
    value is the same, and it keeps that formula's gradient, 0 where s is 0 (relu's gate),
    where the plain product of the local derivatives would give 0 * inf = nan."""

    def __init__(self, norm_type, volume):
        self.norm_type, self.volume = norm_type, volume

    def forward(self, means):
        self.save_for_backward(means)
        with numpy.errstate(invalid="ignore", divide="ignore"):
            return (means * self.volume) ** (1.0 / self.norm_type)

    def backward(self, gy):
        (means,) = self.saved_tensors
        k, p = self.volume, self.norm_type
        with numpy.errstate(invalid="ignore", divide="ignore", over="ignore"):
            slope = (means * k) ** (1.0 / p - 1) * (k / p)
            passing = backend.xp.abs(means._data) > 0
            return where(passing, gy * slope, 0.0)


def _lp_pool(x, d, norm_type, kernel_size, stride, ceil_mode, op):
    check_input(x, d, op)
    _check_floating(x, op)
    kernel = ints(kernel_size, d, "kernel_size", op)
    if norm_type == math.inf:
        return _max_pool(_abs(x), d, kernel, stride, 0, 1, ceil_mode, False, op)
    if norm_type == -math.inf:
        return -_max_pool(-_abs(x), d, kernel, stride, 0, 1, ceil_mode, False, op)
    means = _avg_pool(x ** norm_type, d, kernel, stride, 0, ceil_mode, True, None, op)
    return LpRoot(norm_type, math.prod(kernel))(means)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: (sum of x ** p over each window) ** (1 / p); p = inf is max
    pooling of abs(x).

    >>> import chainrule
    >>> lp_pool1d(chainrule.tensor([[[3.0, 4.0]]]), 2, 2).tolist()
    [[[5.0]]]
    """
    return _lp_pool(input, 1, norm_type, kernel_size, stride, ceil_mode, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, H, W) or (C, H, W) input.

    >>> import chainrule
    >>> lp_pool2d(chainrule.ones(1, 1, 2, 2), 2, 2).tolist()
    [[[[2.0]]]]
    """
    return _lp_pool(input, 2, norm_type, kernel_size, stride, ceil_mode, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling over (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> lp_pool3d(chainrule.ones(1, 2, 2, 2), 1, 2).tolist()
    [[[[8.0]]]]
    """
    return _lp_pool(input, 3, norm_type, kernel_size, stride, ceil_mode, "lp_pool3d")


# ---------------------------------------------------------------- adaptive pooling

def adaptive_size(x, d, output_size, op):
    """The output size (None: the input's size along that axis), checked."""
    sizes = tuple(output_size) if isinstance(output_size, (list, tuple)) else (output_size,)
    if len(sizes) == 1:
        sizes = sizes * d
    if len(sizes) != d:
        raise ArgumentError(f"{op}: output_size must be an int, None or a tuple of {d}, got "
                            f"{output_size!r}")
    in_size = x.shape[x.ndim - d:]
    sizes = tuple(n if s is None else operator.index(s) for s, n in zip(sizes, in_size))
    if min(sizes) < 0:
        raise ArgumentError(f"{op}: output_size must be >= 0, got {sizes}")
    return sizes


def _adaptive_max_pool(x, d, output_size, return_indices, op):
    check_input(x, d, op)
    _check_floating(x, op)
    sizes = adaptive_size(x, d, output_size, op)
    node = AdaptiveMaxPoolNd(x.shape[x.ndim - d:], sizes, keep_indices=return_indices)
    out = node(x)
    if not return_indices:
        return out
    indices = node.indices.copy() if node.needs_input_grad[0] else node.indices
    return out, x._make(indices, None)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed output length (PyTorch's overlapping bins).

    >>> import chainrule
    >>> adaptive_max_pool1d(chainrule.tensor([[1.0, 5.0, 2.0, 3.0, 4.0]]), 2).tolist()
    [[5.0, 4.0]]
    """
    return _adaptive_max_pool(input, 1, output_size, return_indices, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed (H, W) output size; None keeps that axis's size.

    >>> import chainrule
    >>> adaptive_max_pool2d(chainrule.ones(2, 3, 5, 7), (None, 2)).shape
    (2, 3, 5, 2)
    """
    return _adaptive_max_pool(input, 2, output_size, return_indices, "adaptive_max_pool2d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed (D, H, W) output size.

    >>> import chainrule
    >>> adaptive_max_pool3d(chainrule.ones(1, 4, 4, 4), 1).shape
    (1, 1, 1, 1)
    """
    return _adaptive_max_pool(input, 3, output_size, return_indices, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool1d`` returning (output, indices).

    >>> import chainrule
    >>> adaptive_max_pool1d_with_indices(chainrule.tensor([[1.0, 5.0]]), 1)[1].tolist()
    [[1]]
    """
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool2d`` returning (output, indices).

    >>> import chainrule
    >>> adaptive_max_pool2d_with_indices(chainrule.ones(1, 2, 2), 1)[1].tolist()
    [[[0]]]
    """
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool3d`` returning (output, indices).

    >>> import chainrule
    >>> adaptive_max_pool3d_with_indices(chainrule.ones(1, 1, 2, 2), 1)[1].tolist()
    [[[[0]]]]
    """
    return adaptive_max_pool3d(input, output_size, True)


def _adaptive_avg_pool(x, d, output_size, op):
    check_input(x, d, op)
    _check_floating(x, op)
    sizes = adaptive_size(x, d, output_size, op)
    in_size = tuple(x.shape[x.ndim - d:])
    if min(sizes) >= 1 and all(n % s == 0 for n, s in zip(in_size, sizes)):
        kernel = tuple(n // s for n, s in zip(in_size, sizes))
        if d == 2:
            return _on_batch(x, d, pool.AvgPool(pool.PoolGeometry(kernel, kernel, (0, 0))))
        geometry = Windows(in_size, kernel, kernel, (0,) * d, (1,) * d)
        return AvgPoolNd(geometry, math.prod(kernel))(x)
    # out = x contracted with one averaging matrix per axis (rows: PyTorch's bins)
    lead = "abcde"[:x.ndim - d]
    spatial_in, spatial_out = "pqr"[:d], "uvw"[:d]
    matrices = [pool._averaging_matrix(n, s, x._data.dtype, x) for n, s in zip(in_size, sizes)]
    spec = ",".join([lead + spatial_in] + [o + i for o, i in zip(spatial_out, spatial_in)])
    return einsum(spec + "->" + lead + spatial_out, x, *matrices)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length (PyTorch's overlapping bins).

    >>> import chainrule
    >>> adaptive_avg_pool1d(chainrule.tensor([[1.0, 2.0, 3.0]]), 2).tolist()
    [[1.5, 2.5]]
    """
    return _adaptive_avg_pool(input, 1, output_size, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed (H, W) output size; None keeps that axis's size. When the
    output size divides the input's it is average pooling over tiling windows; otherwise
    out = P_h @ x @ P_w^T with averaging rows.

    >>> import chainrule
    >>> adaptive_avg_pool2d(chainrule.ones(2, 3, 5, 5), 1).shape
    (2, 3, 1, 1)
    """
    return _adaptive_avg_pool(input, 2, output_size, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a fixed (D, H, W) output size.

    >>> import chainrule
    >>> adaptive_avg_pool3d(chainrule.ones(1, 1, 4, 5, 6), (2, None, 3)).shape
    (1, 1, 2, 5, 3)
    """
    return _adaptive_avg_pool(input, 3, output_size, "adaptive_avg_pool3d")


# ---------------------------------------------------------------- max unpooling

def unpool_size(x, kernel, stride, padding, output_size, op):
    """PyTorch's ``_unpool_output_size``: (in - 1) * stride - 2 * padding + kernel, or the
    given size (its last len(kernel) entries) if it lies strictly within one stride of it."""
    d = len(kernel)
    default = tuple((n - 1) * s + k - 2 * p for n, s, k, p in
                    zip(x.shape[x.ndim - d:], stride, kernel, padding))
    if output_size is None:
        sizes = default
    else:
        sizes = tuple(operator.index(s) for s in output_size)
        if len(sizes) == d + 2:
            sizes = sizes[2:]
        if len(sizes) != d:
            raise ArgumentError(f"{op}: output_size should have {d} or {d + 2} elements, got "
                                f"{tuple(output_size)}")
        for axis, (size, base, s) in enumerate(zip(sizes, default, stride)):
            if not base - s < size < base + s:
                raise ArgumentError(f"{op}: invalid output_size {sizes} (dim {axis} must be "
                                    f"between {base - s} and {base + s}, exclusive)")
    if min(sizes) < 0:
        raise ArgumentError(f"{op}: output_size must be non-negative, got {sizes}")
    return sizes


def _max_unpool(x, indices, d, kernel_size, stride, padding, output_size, op):
    check_input(x, d, op)
    if not isinstance(indices, TensorBase) or indices.dtype != numpy.int64:
        raise DTypeError(f"{op}: indices must be an int64 tensor, got "
                         f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if tuple(indices.shape) != tuple(x.shape):
        raise ShapeError(f"{op}: indices of shape {tuple(indices.shape)} must have the "
                         f"input's shape {tuple(x.shape)}")
    kernel = ints(kernel_size, d, "kernel_size", op)
    stride = kernel if stride is None else ints(stride, d, "stride", op)
    padding = ints(padding, d, "padding", op)
    sizes = unpool_size(x, kernel, stride, padding, output_size, op)
    index = indices._data
    plane = math.prod(sizes)
    if index.size and (int(index.min()) < 0 or int(index.max()) >= plane):
        bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
        raise IndexOutOfRangeError(f"{op}: found an invalid max index {bad} (output planes "
                                   f"are of size {'x'.join(map(str, sizes))})")
    return MaxUnpoolNd(index, sizes)(x)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of ``max_pool1d``: each value put back at its index, zeros elsewhere.

    >>> import chainrule
    >>> out, indices = max_pool1d(chainrule.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2,
    ...                           return_indices=True)
    >>> max_unpool1d(out, indices, 2).tolist()
    [[[0.0, 3.0, 2.0, 0.0]]]
    """
    return _max_unpool(input, indices, 1, kernel_size, stride, padding, output_size,
                       "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of ``max_pool2d``; ``output_size`` picks among the input sizes that pool
    to this size.

    >>> import chainrule
    >>> out, indices = max_pool2d(chainrule.ones(1, 1, 5, 5), 2, return_indices=True)
    >>> max_unpool2d(out, indices, 2, output_size=(5, 5)).shape
    (1, 1, 5, 5)
    """
    return _max_unpool(input, indices, 2, kernel_size, stride, padding, output_size,
                       "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of ``max_pool3d``.

    >>> import chainrule
    >>> out, indices = max_pool3d(chainrule.ones(1, 2, 2, 2), 2, return_indices=True)
    >>> max_unpool3d(out, indices, 2).shape
    (1, 2, 2, 2)
    """
    return _max_unpool(input, indices, 3, kernel_size, stride, padding, output_size,
                       "max_unpool3d")
