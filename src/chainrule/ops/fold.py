"""Moving blocks of pixels between space and channels: ``unfold`` (im2col: every sliding
block as a column), its adjoint ``fold`` (col2im: columns summed back into an image), and
``pixel_shuffle`` / ``pixel_unshuffle`` (depth to space and back).

Each pair is two Function classes that are each other's derivative: unfold and fold are
linear maps and mutual adjoints, pixel shuffle and unshuffle are mutually inverse
permutations. The block geometry is :class:`chainrule.ops.pool_nd.Windows`, visited one
kernel offset at a time (one strided slice per offset).
"""
import math

from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, ShapeError
from ..tensor_base import TensorBase
from .pool_functional import ints
from .pool_nd import Windows


class Im2Col(Function):
    """(..., C, H, W) -> (..., C * kh * kw, L): each sliding block of each channel as a
    column, channel-major then row-major within the block (PyTorch's ``unfold`` layout)."""

    def __init__(self, windows):
        self.windows = windows

    def forward(self, x):
        xp = backend.xp
        windows = self.windows
        padded = windows.padded(x, 0)
        lead = x.shape[:-2]
        out = xp.empty(lead + windows.kernel + windows.out_size, dtype=x.dtype)
        for offset in windows.offsets():
            out[(Ellipsis,) + offset + (slice(None), slice(None))] = \
                padded[windows.slices(offset)]
        return out.reshape(lead[:-1] + (lead[-1] * math.prod(windows.kernel),
                                        math.prod(windows.out_size)))

    def backward(self, gy):
        return Col2Im(self.windows)(gy)


class Col2Im(Function):
    """(..., C * kh * kw, L) -> (..., C, H, W): every column added back where its block lies
    (PyTorch's ``fold``; overlapping blocks sum). The adjoint of :class:`Im2Col`."""

    def __init__(self, windows):
        self.windows = windows

    def forward(self, columns):
        xp = backend.xp
        windows = self.windows
        lead = columns.shape[:-2]
        channels = columns.shape[-2] // math.prod(windows.kernel)
        blocks = columns.reshape(lead + (channels,) + windows.kernel + windows.out_size)
        image = xp.zeros(blocks.shape[:-4] + windows.padded_size(), dtype=columns.dtype)
        for offset in windows.offsets():
            image[windows.slices(offset)] += blocks[(Ellipsis,) + offset +
                                                    (slice(None), slice(None))]
        return xp.ascontiguousarray(windows.crop(image))

    def backward(self, gy):
        return Im2Col(self.windows)(gy)


def _block_geometry(size, kernel_size, dilation, padding, stride, op):
    kernel = ints(kernel_size, 2, "kernel_size", op)
    dilation = ints(dilation, 2, "dilation", op)
    padding = ints(padding, 2, "padding", op)
    stride = ints(stride, 2, "stride", op)
    for name, values in (("kernel_size", kernel), ("dilation", dilation), ("stride", stride)):
        if min(values) < 1:
            raise ArgumentError(f"{op}: {name} must be greater than zero, got {values}")
    if min(padding) < 0:
        raise ArgumentError(f"{op}: padding must be non-negative, got {padding}")
    windows = Windows(size, kernel, stride, padding, dilation)
    if min(windows.out_size) < 1:
        raise ShapeError(f"{op}: spatial size {tuple(size)} with kernel_size={kernel}, "
                         f"dilation={dilation}, padding={padding} gives blocks "
                         f"{windows.out_size}; each must be at least one")
    return windows


def _check_tensor(x, ndims, op):
    if not isinstance(x, TensorBase):
        raise ArgumentError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in ndims:
        raise ShapeError(f"{op}: expected a {ndims[0]}-D (unbatched) or {ndims[1]}-D "
                         f"(batched) input, got shape {tuple(x.shape)}")


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding blocks of a (N, C, H, W) or (C, H, W) input as columns:
    (N, C * kh * kw, L) with L the number of blocks (im2col).

    >>> import chainrule
    >>> unfold(chainrule.arange(9).float().reshape(1, 1, 3, 3), 2)[0].tolist()
    [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    _check_tensor(input, (3, 4), "unfold")
    if 0 in input.shape[input.ndim - 3:]:
        raise ShapeError(f"unfold: input of shape {tuple(input.shape)} is empty in a "
                         "dimension other than the batch")
    windows = _block_geometry(input.shape[-2:], kernel_size, dilation, padding, stride,
                              "unfold")
    return Im2Col(windows)(input)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Columns (N, C * kh * kw, L) or (C * kh * kw, L) summed back into an
    (N, C, *output_size) image (col2im); ``fold(unfold(x))`` counts each pixel once per
    block that holds it.

    >>> import chainrule
    >>> fold(chainrule.ones(1, 4, 4), (3, 3), 2)[0, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    _check_tensor(input, (2, 3), "fold")
    size = ints(output_size, 2, "output_size", "fold")
    windows = _block_geometry(size, kernel_size, dilation, padding, stride, "fold")
    volume = math.prod(windows.kernel)
    rows, blocks = input.shape[-2:]
    if rows % volume:
        raise ShapeError(f"fold: size {rows} of the input's dimension -2 must be divisible "
                         f"by the product of kernel_size {windows.kernel}")
    if blocks != math.prod(windows.out_size):
        raise ShapeError(f"fold: output_size={size}, kernel_size={windows.kernel}, "
                         f"dilation={windows.dilation}, padding={windows.padding}, "
                         f"stride={windows.stride} give {' * '.join(map(str, windows.out_size))}"
                         f" sliding blocks, but the input's last dimension is {blocks}")
    return Col2Im(windows)(input)


# ---------------------------------------------------------------- pixel shuffle

class PixelShuffle(Function):
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel c r^2 + i r + j goes to pixel (i, j)
    of each r x r block (ONNX's DepthToSpace, mode CRD)."""

    def __init__(self, factor):
        self.factor = factor

    def forward(self, x):
        xp = backend.xp
        r = self.factor
        *lead, c, h, w = x.shape
        blocks = x.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
        k = len(lead)
        moved = xp.transpose(blocks, tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
        return moved.reshape(tuple(lead) + (c // (r * r), h * r, w * r))

    def backward(self, gy):
        return PixelUnshuffle(self.factor)(gy)


class PixelUnshuffle(Function):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of :class:`PixelShuffle`."""

    def __init__(self, factor):
        self.factor = factor

    def forward(self, x):
        xp = backend.xp
        r = self.factor
        *lead, c, h, w = x.shape
        blocks = x.reshape(tuple(lead) + (c, h // r, r, w // r, r))
        k = len(lead)
        moved = xp.transpose(blocks, tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
        return moved.reshape(tuple(lead) + (c * r * r, h // r, w // r))

    def backward(self, gy):
        return PixelShuffle(self.factor)(gy)


def _shuffle_factor(x, factor, name, op):
    if not isinstance(x, TensorBase):
        raise ArgumentError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim < 3:
        raise ShapeError(f"{op}: expects input with at least 3 dimensions, got shape "
                         f"{tuple(x.shape)}")
    factor = ints(factor, 1, name, op)[0]
    if factor < 1:
        raise ArgumentError(f"{op}: {name} must be positive, got {factor}")
    return factor


def pixel_shuffle(input, upscale_factor):
    """Rearrange (*, C r^2, H, W) into (*, C, H r, W r) (sub-pixel convolution's upsampling).

    >>> import chainrule
    >>> pixel_shuffle(chainrule.arange(4).float().reshape(4, 1, 1), 2).tolist()
    [[[0.0, 1.0], [2.0, 3.0]]]
    """
    r = _shuffle_factor(input, upscale_factor, "upscale_factor", "pixel_shuffle")
    if input.shape[-3] % (r * r):
        raise ShapeError(f"pixel_shuffle: the channel dimension (size {input.shape[-3]}) "
                         f"must be divisible by upscale_factor ** 2 = {r * r}")
    return PixelShuffle(r)(input)


def pixel_unshuffle(input, downscale_factor):
    """Rearrange (*, C, H r, W r) into (*, C r^2, H, W), the inverse of ``pixel_shuffle``.

    >>> import chainrule
    >>> pixel_unshuffle(chainrule.arange(4).float().reshape(1, 2, 2), 2).flatten().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    r = _shuffle_factor(input, downscale_factor, "downscale_factor", "pixel_unshuffle")
    for axis, name in ((-2, "height"), (-1, "width")):
        if input.shape[axis] % r:
            raise ShapeError(f"pixel_unshuffle: the {name} (size {input.shape[axis]}) must "
                             f"be divisible by downscale_factor {r}")
    return PixelUnshuffle(r)(input)
