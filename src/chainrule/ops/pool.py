"""Pooling on NCHW arrays: max and average pooling by stride tricks, adaptive average pooling
by two small averaging matrices (separable, so fully vectorised), nearest upsampling."""
import numpy

from .. import backend
from ..autograd.function import Function
from ..errors import ShapeError
from .conv import _pair
from .linalg import einsum



class PoolGeometry:
    __slots__ = ("kernel", "stride", "padding")

    def __init__(self, kernel, stride, padding):
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def out_hw(self, h, w):
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1

    def windows(self, x, fill):
        """(N, C, OH, OW, kh, kw) view of x padded with ``fill``."""
        xp = backend.xp
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
        n, c, h, w = x.shape
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        s = x.strides
        return xp.lib.stride_tricks.as_strided(
            x, shape=(n, c, oh, ow, kh, kw),
            strides=(s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]), writeable=False)

    def offsets(self, x, fill):
        """Yield (index, (i, j), the (N, C, OH, OW) values at kernel offset (i, j))."""
        xp = backend.xp
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        if ph or pw:
            x = xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
        oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
        for i in range(kh):
            for j in range(kw):
                yield i * kw + j, x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]

    def running_max(self, x):
        """The max of each window and the (first) kernel offset where it is, in one pass
        over the kernel offsets."""
        xp = backend.xp
        offsets = self.offsets(x, -numpy.inf)
        _, first = next(offsets)
        best = first.copy()
        kernel_size = self.kernel[0] * self.kernel[1]
        argmax = xp.zeros(best.shape, dtype=numpy.int8 if kernel_size < 128 else numpy.int32)
        for index, values in offsets:
            better = values > best
            xp.copyto(argmax, index, where=better)
            xp.maximum(best, values, out=best)
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


class MaxPool(Function):
    """The max of each window; the gradient goes to the (first) position of the max."""


    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x):
        best, argmax = self.geometry.running_max(x)
        self.save_for_backward(argmax)
        self.x_shape = x.shape
        return best

    def backward(self, gy):
        (argmax,) = self.saved_tensors
        return MaxPoolScatter(self.geometry, argmax._data, self.x_shape)(gy)


class MaxPoolScatter(Function):
    """gy sent back to each window's argmax (linear in gy); its adjoint gathers."""


    def __init__(self, geometry, argmax, x_shape):
        self.geometry, self.argmax, self.x_shape = geometry, argmax, x_shape

    def forward(self, gy):
        kw = self.geometry.kernel[1]
        pieces = []
        for index in range(self.geometry.kernel[0] * kw):
            hit = self.argmax == index
            if hit.any():
                pieces.append(((index // kw, index % kw), gy * hit))
        return self.geometry.scatter(pieces, self.x_shape, gy.dtype)

    def backward(self, ggx):
        return MaxPoolGather(self.geometry, self.argmax)(ggx)


class MaxPoolGather(Function):
    """Read x at each window's recorded argmax (the adjoint of MaxPoolScatter)."""


    def __init__(self, geometry, argmax):
        self.geometry, self.argmax = geometry, argmax

    def forward(self, x):
        self.x_shape = x.shape
        windows = self.geometry.windows(x, 0)
        n, c, oh, ow, kh, kw = windows.shape
        flat = windows.reshape(n, c, oh, ow, kh * kw)
        return backend.xp.take_along_axis(flat, self.argmax[..., None], -1)[..., 0]

    def backward(self, gy):
        return MaxPoolScatter(self.geometry, self.argmax, self.x_shape)(gy)


class AvgPool(Function):
    """The mean of each window (zero padding counted, as PyTorch's default)."""


    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x):
        self.x_shape = x.shape
        return self.geometry.windows(x, 0).mean(axis=(-2, -1))

    def backward(self, gy):
        return AvgPoolScatter(self.geometry, self.x_shape)(gy)


class AvgPoolScatter(Function):

    def __init__(self, geometry, x_shape):
        self.geometry, self.x_shape = geometry, x_shape

    def forward(self, gy):
        kh, kw = self.geometry.kernel
        share = gy / (kh * kw)
        pieces = [((i, j), share) for i in range(kh) for j in range(kw)]
        return self.geometry.scatter(pieces, self.x_shape, gy.dtype)

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
    return AvgPool(_geometry(x, kernel_size, stride, padding, "avg_pool2d"))(x)


def _averaging_matrix(size_in, size_out, dtype, like):
    """Row i averages the input range PyTorch's adaptive pooling gives output cell i."""
    matrix = numpy.zeros((size_out, size_in), dtype=dtype)
    for i in range(size_out):
        start = (i * size_in) // size_out
        end = -((-(i + 1) * size_in) // size_out)
        matrix[i, start:end] = 1.0 / (end - start)
    return like._make(backend.xp.asarray(matrix), None)


def adaptive_avg_pool2d(x, output_size):
    """Average pooling to a fixed output size: out = P_h @ x @ P_w^T with averaging rows."""
    if x.ndim != 4:
        raise ShapeError(f"adaptive_avg_pool2d: input must be (N, C, H, W), got {x.shape}")
    oh, ow = _pair(output_size, "output_size")
    ph = _averaging_matrix(x.shape[2], oh, x._data.dtype, x)
    pw = _averaging_matrix(x.shape[3], ow, x._data.dtype, x)
    return einsum("ih,nchw,jw->ncij", ph, x, pw)


def upsample_nearest(x, scale_factor):
    """Repeat each pixel scale_factor x scale_factor times (integer factors)."""
    sh, sw = _pair(scale_factor, "scale_factor")
    n, c, h, w = x.shape
    grown = x.reshape(n, c, h, 1, w, 1).broadcast_to((n, c, h, sh, w, sw))
    return grown.reshape(n, c, h * sh, w * sw)
