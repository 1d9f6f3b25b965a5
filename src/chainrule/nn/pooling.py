"""Pooling layers: max, average, adaptive, power-average pooling and max unpooling.

They hold no parameters; each forwards to its functional form in :mod:`chainrule.ops.pool`.
"""
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .module import Module


class MaxPool2d(Module):
    """Max over each kernel_size window (stride defaults to kernel_size).

    >>> import chainrule
    >>> MaxPool2d(2)(chainrule.zeros(1, 1, 4, 4)).shape
    (1, 1, 2, 2)
    """
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}"


class AvgPool2d(MaxPool2d):
    """Mean over each kernel_size window (zero padding counted, as PyTorch).

    >>> import chainrule
    >>> AvgPool2d(2)(chainrule.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    def forward(self, x):
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input size.

    >>> import chainrule
    >>> AdaptiveAvgPool2d(1)(chainrule.ones(2, 3, 5, 5)).shape
    (2, 3, 1, 1)
    """
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
