"""Pooling on NCHW arrays: max and average pooling, adaptive average pooling, nearest upsampling.

When the windows tile the image (kernel = stride, no padding: the usual 2x2 pooling), a
window's values are kh * kw strided views of the input, one per kernel offset: the max (or
the sum) is a few elementwise passes over output-sized arrays, and the gradient is written
straight into the same views of the input's gradient (no scatter-add, no overlap). Max
pooling then keeps no argmax: backward finds the winning offset from the saved input and
output. Other windows (overlapping, padded) take one strided pass per kernel offset.

The gradient of max pooling goes to one position per window, chosen as PyTorch chooses it:
the first maximum in row-major order, or the last NaN when the window holds a NaN.

Outputs are contiguous NCHW arrays, as PyTorch's; large arrays come from the reused memory of
:mod:`chainrule.ops.workspace`.
"""
import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..errors import ShapeError
from . import workspace
from .conv import _pair
from .linalg import einsum

# tiling windows with more offsets than this are reduced with a reshape instead of one pass
# per offset (global pooling: one window of H * W values)
_MAX_TILE_OFFSETS = 16


class PoolGeometry:
    __slots__ = ("kernel", "stride", "padding")

    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def out_hw(self, h, w):
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1

    @property
    def tiles(self):
        """The windows tile the image (kernel = stride, no padding)."""
        return self.kernel == self.stride and self.padding == (0, 0)

    @property
    def kernel_size(self):
        return self.kernel[0] * self.kernel[1]

    # ------------------------------------------------------------ tiling windows
    def tile_views(self, x):
        """The kh * kw strided (N, C, OH, OW) views of x, one per kernel offset (row-major)."""
        kh, kw = self.kernel
        oh, ow = self.out_hw(*x.shape[2:])
        return [x[:, :, i:i + kh * (oh - 1) + 1:kh, j:j + kw * (ow - 1) + 1:kw]
                for i in range(kh) for j in range(kw)]

    def tile_blocks(self, x):
        """x cropped to whole windows as (N, C, OH, kh, OW, kw) (a view)."""
        (kh, kw) = self.kernel
        n, c = x.shape[:2]
        oh, ow = self.out_hw(*x.shape[2:])
        cropped = x[:, :, :oh * kh, :ow * kw]
        if backend.name == "cupy":
            return cropped.reshape(n, c, oh, kh, ow, kw)
        return backend.xp.reshape(cropped, (n, c, oh, kh, ow, kw), copy=False)

    def gradient_image(self, like, x_shape, zero_all):
        """An (N, C, H, W) array in ``like``'s layout, all zeros (``zero_all``) or zeros only
        in the rows and columns past the last whole window (they get no gradient)."""
        image = _empty_output(x_shape, like)
        kh, kw = self.kernel
        oh, ow = self.out_hw(*x_shape[2:])
        if zero_all:
            image[...] = 0
        else:
            image[:, :, oh * kh:, :] = 0
            image[:, :, :, ow * kw:] = 0
        return image

    def winners(self, x, y):
        """For each kernel offset, a bool mask of the windows whose gradient goes there: the
        first position equal to the max (row-major), or the last NaN (PyTorch's choice).
        Exactly one mask is True per window."""
        xp = backend.xp
        views = self.tile_views(x)
        masks = [views[0] == y]
        taken = backend_helpers.contiguous_copy(masks[0])
        for values in views[1:-1]:
            hit = values == y
            hit &= ~taken
            taken |= hit
            masks.append(hit)
        if len(views) > 1:
            masks.append(~taken)            # every window without NaN has a max somewhere
        nan = xp.isnan(y)
        if xp.any(nan):
            left = backend_helpers.contiguous_copy(nan)
            for mask, values in zip(reversed(masks), reversed(views)):
                chosen = left & xp.isnan(values)
                mask &= ~nan
                mask |= chosen
                left &= ~chosen
        return masks

    # ------------------------------------------------------------ any windows
    def offsets(self, x, fill):
        """Yield (index, the (N, C, OH, OW) values at that kernel offset) (row-major)."""
        xp = backend.xp
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = backend_helpers.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)),
                                    constant_values=fill)
        oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
        for i in range(kh):
            for j in range(kw):
                yield i * kw + j, x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]

    def windows(self, x, fill):
        """(N, C, OH, OW, kh, kw) view of x padded with ``fill``."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = backend_helpers.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)),
                                    constant_values=fill)
        n, c, h, w = x.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        s = backend_helpers.strides_of(x)
        return backend_helpers.sliding_windows(
            x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))

    def running_max(self, x, with_argmax=True):
        """The max of each window and (if asked) the offset PyTorch's gradient goes to, in
        one pass over the kernel offsets."""
        xp = backend.xp
        offsets = self.offsets(x, -numpy.inf)
        _, first = next(offsets)
        best = _empty_output(first.shape, x)
        best[...] = first
        argmax = None
        if with_argmax:
            argmax = xp.zeros(best.shape, dtype=numpy.int8 if self.kernel_size < 128
                              else numpy.int32)
        for index, values in offsets:
            if with_argmax:
                better = values > best
                better |= xp.isnan(values)
                argmax[better] = index
            backend_helpers.into(best, xp.maximum, best, values)
        return best, argmax

    def scatter(self, values_per_offset, x_shape, dtype):
        """Add, for each kernel offset (i, j), an (N, C, OH, OW) array back into x's shape."""
        xp = backend.xp
        (sh, sw), (ph, pw) = self.stride, self.padding
        n, c, h, w = x_shape
        padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dtype)
        for (i, j), values in values_per_offset:
            oh, ow = values.shape[2:]
            padded[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += values
        return padded[:, :, ph:ph + h, pw:pw + w]


def _empty_output(shape, like, dtype=None):
    """A contiguous array of ``shape`` (``like``'s dtype unless given), in workspace memory:
    outputs are laid out as PyTorch's, whatever the input's strides."""
    return workspace.empty(shape, like.dtype if dtype is None else dtype)


def _small_tiles(geometry):
    return geometry.tiles and geometry.kernel_size <= _MAX_TILE_OFFSETS


class MaxPool(Function):
    """The max of each window; the gradient goes to one position per window (PyTorch's)."""

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x):
        geometry = self.geometry
        self.x_shape = x.shape
        need = self.needs_input_grad[0]
        if _small_tiles(geometry):
            views = geometry.tile_views(x)
            y = _empty_output(views[0].shape, x)
            if len(views) > 1:
                backend_helpers.into(y, backend.xp.maximum, views[0], views[1])
            else:
                y[...] = views[0]
            for values in views[2:]:
                backend_helpers.into(y, backend.xp.maximum, y, values)
            self.save_for_backward(x if need else None, y if need else None)
            return y
        y, argmax = geometry.running_max(x, with_argmax=need)
        self.save_for_backward(argmax)
        return y

    def backward(self, gy):
        saved = self.saved_tensors
        if len(saved) == 2:
            x, y = saved
            chosen = self.geometry.winners(x._data, y._data)
        else:
            chosen = saved[0]._data
        return MaxPoolScatter(self.geometry, chosen, self.x_shape)(gy)


class MaxPoolScatter(Function):
    """gy sent back to each window's chosen position (linear in gy); its adjoint gathers.
    ``chosen``: per kernel offset a mask (tiling windows) or each window's offset (int)."""

    def __init__(self, geometry, chosen, x_shape):
        self.geometry, self.chosen, self.x_shape = geometry, chosen, x_shape

    def forward(self, gy):
        xp = backend.xp
        geometry = self.geometry
        if _small_tiles(geometry):
            gx = geometry.gradient_image(gy, self.x_shape, zero_all=False)
            for part, mask in zip(geometry.tile_views(gx), self.chosen):
                backend_helpers.keep_where(gy, mask, out=part)
            return gx
        kw = geometry.kernel[1]
        pieces = []
        for index in range(geometry.kernel_size):
            hit = self.chosen == index
            if xp.any(hit):
                pieces.append(((index // kw, index % kw), backend_helpers.keep_where(gy, hit)))
        return geometry.scatter(pieces, self.x_shape, gy.dtype)

    def backward(self, ggx):
        return MaxPoolGather(self.geometry, self.chosen)(ggx)


class MaxPoolGather(Function):
    """Read x at each window's chosen position (the adjoint of MaxPoolScatter)."""

    def __init__(self, geometry, chosen):
        self.geometry, self.chosen = geometry, chosen

    def forward(self, x):
        xp = backend.xp
        self.x_shape = x.shape
        if _small_tiles(self.geometry):
            views = self.geometry.tile_views(x)
            out = _empty_output(views[0].shape, x)
            backend_helpers.keep_where(views[0], self.chosen[0], out=out)
            for values, mask in zip(views[1:], self.chosen[1:]):
                out += backend_helpers.keep_where(values, mask)
            return out
        windows = self.geometry.windows(x, 0)
        n, c, oh, ow, kh, kw = windows.shape
        flat = xp.reshape(windows, (n, c, oh, ow, kh * kw))
        index = xp.astype(self.chosen[..., None], numpy.dtype(numpy.intp))
        return xp.take_along_axis(flat, index, axis=-1)[..., 0]

    def backward(self, gy):
        return MaxPoolScatter(self.geometry, self.chosen, self.x_shape)(gy)


class AvgPool(Function):
    """The mean of each window (zero padding counted, as PyTorch's default)."""

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x):
        xp = backend.xp
        geometry = self.geometry
        self.x_shape = x.shape
        if _small_tiles(geometry):
            views = geometry.tile_views(x)
            total = _empty_output(views[0].shape, x)
            total[...] = views[0]
            for values in views[1:]:
                backend_helpers.into(total, xp.add, total, values)
            return backend_helpers.into(total, xp.divide, total, geometry.kernel_size)
        if geometry.tiles:
            return xp.sum(geometry.tile_blocks(x), axis=(3, 5)) / geometry.kernel_size
        return xp.mean(geometry.windows(x, 0), axis=(-2, -1))

    def backward(self, gy):
        return AvgPoolScatter(self.geometry, self.x_shape)(gy)


class AvgPoolScatter(Function):
    """Each window's share of gy, spread evenly over the window (the adjoint of AvgPool)."""

    def __init__(self, geometry, x_shape):
        self.geometry, self.x_shape = geometry, x_shape

    def forward(self, gy):
        xp = backend.xp
        geometry = self.geometry
        share = gy / geometry.kernel_size
        if geometry.tiles:
            gx = geometry.gradient_image(gy, self.x_shape, zero_all=False)
            if _small_tiles(geometry):
                for part in geometry.tile_views(gx):
                    part[...] = share
            else:
                geometry.tile_blocks(gx)[...] = share[:, :, :, None, :, None]
            return gx
        kh, kw = geometry.kernel
        pieces = [((i, j), share) for i in range(kh) for j in range(kw)]
        return geometry.scatter(pieces, self.x_shape, gy.dtype)

    def backward(self, ggx):
        return AvgPool(self.geometry)(ggx)


# ---------------------------------------------------------------- functional API

def _geometry(x, kernel_size, stride, padding, op):
    if x.ndim != 4:
        raise ShapeError(f"{op}: input must be (N, C, H, W), got {x.shape}")
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    geometry = PoolGeometry(kernel, stride, _pair(padding, "padding"))
    oh, ow = geometry.out_hw(*x.shape[2:])
    if oh < 1 or ow < 1:
        raise ShapeError(f"{op}: input {x.shape} is smaller than the kernel {kernel}")
    return geometry


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over each kernel_size window (stride defaults to kernel_size).

    >>> import chainrule
    >>> max_pool2d(chainrule.arange(16).float().reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return MaxPool(_geometry(x, kernel_size, stride, padding, "max_pool2d"))(x)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each kernel_size window, zero padding counted (stride defaults to kernel_size).

    >>> import chainrule
    >>> avg_pool2d(chainrule.arange(16).float().reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return AvgPool(_geometry(x, kernel_size, stride, padding, "avg_pool2d"))(x)


def _averaging_matrix(size_in, size_out, dtype, like):
    """Row i averages the input range PyTorch's adaptive pooling gives output cell i."""
    matrix = numpy.zeros((size_out, size_in), dtype=backend.numpy_dtype(dtype))
    for i in range(size_out):
        start = (i * size_in) // size_out
        end = -((-(i + 1) * size_in) // size_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return like._make(backend.xp.asarray(matrix), None)


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed output size. When the output size divides the input's, it
    is plain average pooling over tiling windows; otherwise out = P_h @ x @ P_w^T with
    averaging rows (PyTorch's overlapping bins).

    >>> import chainrule
    >>> adaptive_avg_pool2d(chainrule.ones(2, 3, 5, 5), 1).shape
    (2, 3, 1, 1)
    """
    if x.ndim != 4:
        raise ShapeError(f"adaptive_avg_pool2d: input must be (N, C, H, W), got {x.shape}")
    oh, ow = _pair(output_size, "output_size")
    h, w = x.shape[2:]
    if oh >= 1 and ow >= 1 and h % oh == 0 and w % ow == 0:
        kernel = (h // oh, w // ow)
        return AvgPool(PoolGeometry(kernel, kernel, (0, 0)))(x)
    ph = _averaging_matrix(h, oh, x._data.dtype, x)
    pw = _averaging_matrix(w, ow, x._data.dtype, x)
    return einsum("ih,nchw,jw->ncij", ph, x, pw)


def upsample_nearest(x, scale_factor):
    """Repeat each pixel scale_factor x scale_factor times (integer factors).

    >>> import chainrule
    >>> upsample_nearest(chainrule.ones(1, 1, 2, 2), 2).shape
    (1, 1, 4, 4)
    """
    sh, sw = _pair(scale_factor, "scale_factor")
    n, c, h, w = x.shape
    grown = x.reshape(n, c, h, 1, w, 1).broadcast_to((n, c, h, sh, w, sw))
    return grown.reshape(n, c, h * sh, w * sw)
