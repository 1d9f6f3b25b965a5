"""Convolutional layers: Conv1d/2d/3d and ConvTranspose1d/2d/3d, with PyTorch's arguments,
attributes, initialisation and state_dict (``weight`` (O, C/groups, *kernel) or, transposed,
(C_in, C_out/groups, *kernel); ``bias`` (O,)), so weights move across; also Upsample,
UpsamplingNearest2d and UpsamplingBilinear2d.

``padding_mode`` other than "zeros" pads the input explicitly (F.pad) and convolves without
padding, as PyTorch does. Unbatched input (no batch axis) is accepted everywhere.
"""
import math

from ..creation import empty_like_shape
from ..errors import ArgumentError
from ..ops import conv_nd
from ..ops.activation import relu
from ..ops.padding import pad
from ..ops.resample import interpolate
from . import init
from .dropout import Dropout2d  # noqa: F401  (defined with the other dropouts)
from .linear import match_dtype
from .module import Module
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401  (moved)

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_device(device, layer):
    if device is not None and str(device) != "cpu":
        raise ArgumentError(f"{layer}: device={device!r} is not available here; chainrule "
                            "layers are made on the CPU (device=None or 'cpu'), then .to()")


class _ConvNd(Module):
    """What every convolution shares: arguments as PyTorch stores them, init, extra_repr."""

    spatial = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 output_padding, groups, bias, padding_mode, device, dtype):
        super().__init__()
        layer, n = type(self).__name__, self.spatial
        _check_device(device, layer)
        if not isinstance(groups, int) or groups <= 0:
            raise ArgumentError(f"{layer}: groups must be a positive integer, got {groups}")
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(f"{layer}: in_channels ({in_channels}) and out_channels "
                                f"({out_channels}) must be divisible by groups ({groups})")
        stride = conv_nd.ntuple(stride, n, "stride", layer)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ArgumentError(f"{layer}: invalid padding string {padding!r}, should be "
                                    "one of {'same', 'valid'}")
            if padding == "same" and any(s != 1 for s in stride):
                raise ArgumentError(f"{layer}: padding='same' is not supported for strided "
                                    "convolutions")
        else:
            padding = conv_nd.ntuple(padding, n, "padding", layer)
        if padding_mode not in PADDING_MODES:
            raise ArgumentError(f"{layer}: padding_mode must be one of {PADDING_MODES}, but "
                                f"got padding_mode={padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = conv_nd.ntuple(kernel_size, n, "kernel_size", layer)
        self.stride, self.padding = stride, padding
        self.dilation = conv_nd.ntuple(dilation, n, "dilation", layer)
        self.output_padding = conv_nd.ntuple(output_padding, n, "output_padding", layer)
        self.groups, self.padding_mode = groups, padding_mode
        self._reversed_padding_repeated_twice = self._reversed_padding()
        shape = (in_channels, out_channels // groups) if self.transposed else \
            (out_channels, in_channels // groups)
        self.weight = Parameter(empty_like_shape(shape + self.kernel_size, dtype))
        self.bias = Parameter(empty_like_shape((out_channels,), dtype)) if bias else None
        self.reset_parameters()

    def _reversed_padding(self):
        """F.pad's pads for padding_mode: (left, right) pairs from the last axis backwards (a
        list for string padding, a tuple otherwise, as PyTorch keeps them)."""
        if self.padding == "valid":
            return [0, 0] * self.spatial
        if self.padding == "same":
            pairs = conv_nd.same_padding(self.kernel_size, self.dilation)
            return [v for pair in reversed(pairs) for v in pair]
        return tuple(v for p in reversed(self.padding) for v in (p, p))

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        n = self.spatial
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    convolve = None            # conv_nd.conv1d / conv2d / conv3d

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        weight = self.weight            # read once: a parametrized weight is computed per read
        x = match_dtype(input, weight, type(self).__name__)
        if self.padding_mode != "zeros":
            x = pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return type(self).convolve(x, weight, self.bias, self.stride, 0, self.dilation,
                                       self.groups)
        return type(self).convolve(x, weight, self.bias, self.stride, self.padding,
                                   self.dilation, self.groups)

    def forward_relu(self, input):
        """``relu(self(input))``, as one node for 1-D and 2-D zero-padded convolutions
        (``conv_nd.conv_relu``): what nn.Sequential runs for this layer followed by a ReLU,
        when neither has forward hooks."""
        if self.padding_mode != "zeros":
            return relu(self.forward(input))
        weight = self.weight
        x = match_dtype(input, weight, type(self).__name__)
        return conv_nd.conv_relu(self.spatial, x, weight, self.bias, self.stride, self.padding,
                                 self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C, L) or (C, L) input.

    >>> import chainrule
    >>> Conv1d(2, 4, 3, padding_mode="circular", padding=1)(chainrule.zeros(1, 2, 10)).shape
    (1, 4, 10)
    """
    spatial = 1
    convolve = staticmethod(conv_nd.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C, H, W) or (C, H, W) input; padding may be an int, a pair,
    "same" or "valid"; groups=in_channels gives a depthwise convolution.

    >>> import chainrule
    >>> Conv2d(3, 8, 3, padding="same")(chainrule.zeros(2, 3, 16, 16)).shape
    (2, 8, 16, 16)
    """
    spatial = 2
    convolve = staticmethod(conv_nd.conv2d)


class Conv3d(_Conv):
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> Conv3d(1, 2, (1, 3, 3), padding=(0, 1, 1))(chainrule.zeros(1, 1, 4, 8, 8)).shape
    (1, 2, 4, 8, 8)
    """
    spatial = 3
    convolve = staticmethod(conv_nd.conv3d)


class _ConvTranspose(_ConvNd):
    transposed = True
    convolve = None            # conv_nd.conv_transpose1d / 2d / 3d

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ArgumentError(f'{type(self).__name__}: only "zeros" padding mode is '
                                f"supported, got {padding_mode!r}")
        if isinstance(padding, str):
            raise ArgumentError(f"{type(self).__name__}: padding must be an int or a tuple, "
                                f"got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def _output_padding(self, input, output_size):
        """output_padding, or the one that gives ``output_size`` (PyTorch's rule: between
        the smallest size and stride - 1 more)."""
        if output_size is None:
            return self.output_padding
        n = self.spatial
        output_size = tuple(int(v) for v in output_size)
        leading = 2 if input.ndim == n + 2 else 1
        if len(output_size) == leading + n:
            output_size = output_size[leading:]
        if len(output_size) != n:
            raise ArgumentError(f"{type(self).__name__}: for {input.ndim}D input, output_size "
                                f"must have {n} or {leading + n} elements (got "
                                f"{len(output_size)})")
        smallest = conv_nd.transposed_sizes(input.shape[leading:], self.kernel_size,
                                            self.stride, self.padding, (0,) * n, self.dilation)
        largest = tuple(size + s - 1 for size, s in zip(smallest, self.stride))
        if any(not low <= size <= high
               for size, low, high in zip(output_size, smallest, largest)):
            raise ArgumentError(f"{type(self).__name__}: requested an output size of "
                                f"{output_size}, but valid sizes range from {smallest} to "
                                f"{largest} (for an input of {input.shape[leading:]})")
        return tuple(size - low for size, low in zip(output_size, smallest))

    def forward(self, input, output_size=None):
        weight = self.weight
        x = match_dtype(input, weight, type(self).__name__)
        return type(self).convolve(x, weight, self.bias, self.stride, self.padding,
                                   self._output_padding(x, output_size), self.groups,
                                   self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution; weight (C_in, C_out/groups, k).

    >>> import chainrule
    >>> ConvTranspose1d(3, 2, 2, stride=2)(chainrule.zeros(1, 3, 4)).shape
    (1, 2, 8)
    """
    spatial = 1
    convolve = staticmethod(conv_nd.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """Transposed convolution ("deconvolution"); weight (C_in, C_out/groups, kH, kW).

    >>> import chainrule
    >>> ConvTranspose2d(3, 2, 3, stride=2, padding=1)(chainrule.zeros(1, 3, 4, 4),
    ...                                               output_size=(8, 8)).shape
    (1, 2, 8, 8)
    """
    spatial = 2
    convolve = staticmethod(conv_nd.conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    """Transposed 3-D convolution; weight (C_in, C_out/groups, kD, kH, kW).

    >>> import chainrule
    >>> ConvTranspose3d(2, 1, 2, stride=2)(chainrule.zeros(2, 3, 3, 3)).shape
    (1, 6, 6, 6)
    """
    spatial = 3
    convolve = staticmethod(conv_nd.conv_transpose3d)


class Upsample(Module):
    """Resize the spatial axes (F.interpolate): ``size`` or ``scale_factor``, ``mode`` one of
    nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area.

    >>> import chainrule
    >>> Upsample(scale_factor=2, mode="bilinear")(chainrule.zeros(1, 1, 3, 3)).shape
    (1, 1, 6, 6)
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) input.

    >>> import chainrule
    >>> UpsamplingNearest2d(scale_factor=2)(chainrule.zeros(1, 1, 2, 3)).shape
    (1, 1, 4, 6)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling with align_corners=True.

    >>> import chainrule
    >>> UpsamplingBilinear2d(size=(3, 5))(chainrule.zeros(1, 1, 2, 2)).shape
    (1, 1, 3, 5)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
