"""Convolutional layers: Conv2d, Conv1d, ConvTranspose2d, Dropout2d, Upsample.

Weights are named and shaped as PyTorch's (``weight`` (O, C/groups, kH, kW), ``bias`` (O,)),
with PyTorch's default initialisation, so state_dicts move across.
"""
import math

from ..creation import empty_like_shape
from ..ops.conv import _pair, conv1d, conv2d, conv_transpose2d
from ..ops.pool import upsample_nearest
from ..errors import ArgumentError
from . import functional as F
from . import init
from .dropout import Dropout2d  # noqa: F401  (defined with the other dropouts)
from .linear import match_dtype
from .module import Module
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401  (moved)


class _ConvNd(Module):
    def __init__(self, in_channels, out_channels, kernel_shape, weight_shape, stride, padding,
                 dilation, groups, bias, dtype):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(f"{type(self).__name__}: in_channels ({in_channels}) and "
                                f"out_channels ({out_channels}) must be divisible by groups "
                                f"({groups})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_shape, stride, padding
        self.dilation, self.groups = dilation, groups
        self.weight = Parameter(empty_like_shape(weight_shape, dtype))
        self.bias = Parameter(empty_like_shape((out_channels,), dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in (0, (0, 0)):
            text += f", padding={self.padding}"
        if self.dilation not in (1, (1, 1)):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) input; padding may be an int, a pair, "same" or
    "valid"; groups=in_channels gives a depthwise convolution.

    >>> import chainrule
    >>> Conv2d(3, 8, 3, padding="same")(chainrule.zeros(2, 3, 16, 16)).shape
    (2, 8, 16, 16)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=None):
        kernel = _pair(kernel_size, "kernel_size")
        super().__init__(in_channels, out_channels, kernel, (out_channels,
                                                             in_channels // groups) + kernel,
                         _pair(stride, "stride"),
                         padding if isinstance(padding, str) else _pair(padding, "padding"),
                         _pair(dilation, "dilation"), groups, bias, dtype)

    def forward(self, x):
        weight = self.weight            # read once: a parametrized weight is computed per read
        return conv2d(match_dtype(x, weight, "Conv2d"), weight, self.bias, self.stride,
                      self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) input.

    >>> import chainrule
    >>> Conv1d(2, 4, 3)(chainrule.zeros(1, 2, 10)).shape
    (1, 4, 8)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=None):
        super().__init__(in_channels, out_channels, int(kernel_size),
                         (out_channels, in_channels // groups, int(kernel_size)), int(stride),
                         padding, int(dilation), groups, bias, dtype)

    def forward(self, x):
        weight = self.weight
        return conv1d(match_dtype(x, weight, "Conv1d"), weight, self.bias, self.stride,
                      self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution ("deconvolution"); weight (C_in, C_out/groups, kH, kW).

    >>> import chainrule
    >>> ConvTranspose2d(3, 2, 2, stride=2)(chainrule.zeros(1, 3, 4, 4)).shape
    (1, 2, 8, 8)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, dtype=None):
        kernel = _pair(kernel_size, "kernel_size")
        super().__init__(in_channels, out_channels, kernel,
                         (in_channels, out_channels // groups) + kernel, _pair(stride, "stride"),
                         _pair(padding, "padding"), _pair(dilation, "dilation"), groups, bias,
                         dtype)
        self.output_padding = _pair(output_padding, "output_padding")

    def forward(self, x):
        weight = self.weight
        return conv_transpose2d(match_dtype(x, weight, "ConvTranspose2d"), weight,
                                self.bias, self.stride, self.padding, self.output_padding,
                                self.groups, self.dilation)


class Upsample(Module):
    """Nearest-neighbour upsampling by an integer scale factor.

    >>> import chainrule
    >>> Upsample(2)(chainrule.zeros(1, 1, 3, 3)).shape
    (1, 1, 6, 6)
    """

    def __init__(self, scale_factor=2, mode="nearest"):
        super().__init__()
        if mode != "nearest":
            raise ArgumentError(f"Upsample: only mode='nearest' is supported, got {mode!r}")
        self.scale_factor = scale_factor

    def forward(self, x):
        return upsample_nearest(x, self.scale_factor)
