"""Pooling layers, as PyTorch's: max, average, power-average and adaptive pooling over 1, 2
or 3 spatial axes, max unpooling, ``Fold``/``Unfold`` and ``PixelShuffle``/``PixelUnshuffle``.

They hold no parameters. Each keeps its constructor arguments under PyTorch's attribute names
(as given: ``MaxPool2d(2).stride == 2``; ``AvgPool1d`` and ``MaxUnpool*`` store tuples, as
PyTorch's do), prints PyTorch's ``extra_repr``, and calls its functional form.
"""
from ..ops import fold as _fold
from ..ops import pool_functional as _pool
from .module import Module


class _MaxPoolNd(Module):
    _function = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        return type(self)._function(input, self.kernel_size, self.stride, self.padding,
                                    self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                f", dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L) or (C, L) input.

    >>> import chainrule
    >>> MaxPool1d(3, stride=2, ceil_mode=True)(chainrule.zeros(1, 2, 8)).shape
    (1, 2, 4)
    """
    _function = staticmethod(_pool.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max over windows of (N, C, H, W) or (C, H, W) input (stride defaults to kernel_size);
    with ``return_indices=True`` it returns (output, indices) for ``MaxUnpool2d``.

    >>> import chainrule
    >>> MaxPool2d(2)(chainrule.zeros(1, 1, 4, 4)).shape
    (1, 1, 2, 2)
    """
    _function = staticmethod(_pool.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """Max over windows of (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> MaxPool3d(2, dilation=2)(chainrule.zeros(1, 1, 5, 5, 5)).shape
    (1, 1, 2, 2, 2)
    """
    _function = staticmethod(_pool.max_pool3d)


class AvgPool1d(Module):
    """Mean over windows of (N, C, L) or (C, L) input (zero padding counted unless
    ``count_include_pad=False``).

    >>> import chainrule
    >>> AvgPool1d(2)(chainrule.ones(1, 1, 4)).tolist()
    [[[1.0, 1.0]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _pool.ints(kernel_size, 1, "kernel_size", "AvgPool1d")
        self.stride = _pool.ints(stride if stride is not None else kernel_size, 1, "stride",
                                 "AvgPool1d")
        self.padding = _pool.ints(padding, 1, "padding", "AvgPool1d")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return _pool.avg_pool1d(input, self.kernel_size, self.stride, self.padding,
                                self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AvgPoolNd(Module):
    _function = None

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return type(self)._function(input, self.kernel_size, self.stride, self.padding,
                                    self.ceil_mode, self.count_include_pad,
                                    self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of (N, C, H, W) or (C, H, W) input; ``divisor_override`` divides
    each window's sum by that number instead.

    >>> import chainrule
    >>> AvgPool2d(2)(chainrule.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    _function = staticmethod(_pool.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """Mean over windows of (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> AvgPool3d(2, ceil_mode=True)(chainrule.ones(1, 1, 3, 3, 3)).shape
    (1, 1, 2, 2, 2)
    """
    _function = staticmethod(_pool.avg_pool3d)


class _LPPoolNd(Module):
    _function = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input):
        return type(self)._function(input, float(self.norm_type), self.kernel_size,
                                    self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """Power-average pooling: (sum of x ** p over each window) ** (1 / p).

    >>> import chainrule
    >>> LPPool1d(2, 2)(chainrule.tensor([[[3.0, 4.0]]])).tolist()
    [[[5.0]]]
    """
    _function = staticmethod(_pool.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """Power-average pooling over (N, C, H, W) or (C, H, W) input.

    >>> import chainrule
    >>> LPPool2d(1, 2)(chainrule.ones(1, 1, 4, 4)).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
    """
    _function = staticmethod(_pool.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """Power-average pooling over (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> LPPool3d(2, 2)(chainrule.ones(1, 1, 2, 2, 2)).shape
    (1, 1, 1, 1, 1)
    """
    _function = staticmethod(_pool.lp_pool3d)


class _AdaptiveMaxPoolNd(Module):
    _function = None

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input):
        return type(self)._function(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output length, whatever the input length.

    >>> import chainrule
    >>> AdaptiveMaxPool1d(3)(chainrule.zeros(2, 4, 10)).shape
    (2, 4, 3)
    """
    _function = staticmethod(_pool.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (H, W) output size; None keeps that axis's size.

    >>> import chainrule
    >>> AdaptiveMaxPool2d((None, 1))(chainrule.zeros(2, 3, 5, 7)).shape
    (2, 3, 5, 1)
    """
    _function = staticmethod(_pool.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed (D, H, W) output size.

    >>> import chainrule
    >>> AdaptiveMaxPool3d(1)(chainrule.zeros(1, 2, 3, 4, 5)).shape
    (1, 2, 1, 1, 1)
    """
    _function = staticmethod(_pool.adaptive_max_pool3d)


class _AdaptiveAvgPoolNd(Module):
    _function = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return type(self)._function(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output length.

    >>> import chainrule
    >>> AdaptiveAvgPool1d(1)(chainrule.ones(2, 3, 5)).shape
    (2, 3, 1)
    """
    _function = staticmethod(_pool.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output size, whatever the input size.

    >>> import chainrule
    >>> AdaptiveAvgPool2d(1)(chainrule.ones(2, 3, 5, 5)).shape
    (2, 3, 1, 1)
    """
    _function = staticmethod(_pool.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed (D, H, W) output size.

    >>> import chainrule
    >>> AdaptiveAvgPool3d((1, None, 2))(chainrule.ones(1, 2, 3, 4, 6)).shape
    (1, 2, 1, 4, 2)
    """
    _function = staticmethod(_pool.adaptive_avg_pool3d)


class _MaxUnpoolNd(Module):
    _function, _dims = None, 0

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name, d = type(self).__name__, self._dims
        self.kernel_size = _pool.ints(kernel_size, d, "kernel_size", name)
        self.stride = _pool.ints(stride if stride is not None else kernel_size, d, "stride",
                                 name)
        self.padding = _pool.ints(padding, d, "padding", name)

    def forward(self, input, indices, output_size=None):
        return type(self)._function(input, indices, self.kernel_size, self.stride,
                                    self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The inverse of ``MaxPool1d``: values put back at their indices, zeros elsewhere.

    >>> import chainrule
    >>> out, indices = MaxPool1d(2, return_indices=True)(chainrule.tensor([[[1.0, 3.0]]]))
    >>> MaxUnpool1d(2)(out, indices).tolist()
    [[[0.0, 3.0]]]
    """
    _function, _dims = staticmethod(_pool.max_unpool1d), 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The inverse of ``MaxPool2d``; ``output_size`` (in forward) picks among the input sizes
    that pool to the same size.

    >>> import chainrule
    >>> out, indices = MaxPool2d(2, return_indices=True)(chainrule.ones(1, 1, 5, 5))
    >>> MaxUnpool2d(2)(out, indices, output_size=(5, 5)).shape
    (1, 1, 5, 5)
    """
    _function, _dims = staticmethod(_pool.max_unpool2d), 2


class MaxUnpool3d(_MaxUnpoolNd):
    """The inverse of ``MaxPool3d``.

    >>> import chainrule
    >>> out, indices = MaxPool3d(2, return_indices=True)(chainrule.ones(1, 1, 2, 2, 2))
    >>> MaxUnpool3d(2)(out, indices).shape
    (1, 1, 2, 2, 2)
    """
    _function, _dims = staticmethod(_pool.max_unpool3d), 3


class Unfold(Module):
    """Sliding blocks of (N, C, H, W) or (C, H, W) input as columns (N, C * kh * kw, L).

    >>> import chainrule
    >>> Unfold(2, padding=1)(chainrule.zeros(1, 3, 4, 4)).shape
    (1, 12, 25)
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input):
        return _fold.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """Columns (N, C * kh * kw, L) summed back into an (N, C, *output_size) image.

    >>> import chainrule
    >>> Fold((4, 4), 2, stride=2)(chainrule.ones(1, 12, 4)).shape
    (1, 3, 4, 4)
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return _fold.fold(input, self.output_size, self.kernel_size, self.dilation,
                          self.padding, self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r).

    >>> import chainrule
    >>> PixelShuffle(3)(chainrule.zeros(1, 9, 4, 4)).shape
    (1, 1, 12, 12)
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return _fold.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of ``PixelShuffle``.

    >>> import chainrule
    >>> PixelUnshuffle(2)(chainrule.zeros(1, 1, 4, 4)).shape
    (1, 4, 2, 2)
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return _fold.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
