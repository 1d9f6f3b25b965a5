"""Padding layers: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in
1-D, 2-D and 3-D, PyTorch's classes over :func:`chainrule.nn.functional.pad`.

``padding`` is an int (the same on every side) or a tuple (left, right[, top, bottom[,
front, back]]), stored as the full tuple, as in PyTorch.
"""
from ..errors import ArgumentError, ShapeError
from ..ops.padding import pad
from .module import Module


def _sides(padding, count, layer):
    if isinstance(padding, int):
        return (padding,) * count
    padding = tuple(padding)
    if len(padding) != count or not all(isinstance(p, int) for p in padding):
        raise ArgumentError(f"{layer}: padding must be an int or {count} ints, got {padding}")
    return padding


class _PadNd(Module):
    mode = "constant"
    sides = 2

    def __init__(self, padding):
        super().__init__()
        self.padding = _sides(padding, self.sides, type(self).__name__)

    def forward(self, input):
        return pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dimension with ``value``.

    >>> import chainrule
    >>> ConstantPad1d((1, 2), 3.5)(chainrule.zeros(1, 2)).tolist()
    [[3.5, 0.0, 0.0, 3.5, 3.5]]
    """


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dimensions with ``value`` (left, right, top, bottom).

    >>> import chainrule
    >>> ConstantPad2d(1, 2.0)(chainrule.zeros(1, 1, 2, 2)).shape
    (1, 1, 4, 4)
    """
    sides = 4


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dimensions with ``value``.

    >>> import chainrule
    >>> ConstantPad3d((1, 0, 0, 0, 0, 1), 1.0)(chainrule.zeros(1, 1, 1, 1, 1)).shape
    (1, 1, 2, 1, 2)
    """
    sides = 6


class ZeroPad1d(ConstantPad1d):
    """Pad the last dimension with zeros.

    >>> import chainrule
    >>> ZeroPad1d((1, 0))(chainrule.ones(1, 2)).tolist()
    [[0.0, 1.0, 1.0]]
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dimensions with zeros.

    >>> import chainrule
    >>> ZeroPad2d((1, 1, 0, 2))(chainrule.ones(1, 1, 2, 2)).shape
    (1, 1, 4, 4)
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dimensions with zeros.

    >>> import chainrule
    >>> ZeroPad3d(1)(chainrule.ones(1, 1, 1, 1, 1)).shape
    (1, 1, 3, 3, 3)
    """

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class _ReflectionPadNd(_PadNd):
    mode = "reflect"


class _ReplicationPadNd(_PadNd):
    mode = "replicate"


class ReflectionPad1d(_ReflectionPadNd):
    """Mirror the last dimension at its ends, without repeating the edge value.

    >>> import chainrule
    >>> ReflectionPad1d(2)(chainrule.tensor([[1.0, 2.0, 3.0]])).tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]]
    """


class ReflectionPad2d(_ReflectionPadNd):
    """Mirror the last two dimensions (left, right, top, bottom).

    >>> import chainrule
    >>> ReflectionPad2d(1)(chainrule.zeros(1, 3, 3)).shape
    (1, 5, 5)
    """
    sides = 4


class ReflectionPad3d(_ReflectionPadNd):
    """Mirror the last three dimensions.

    >>> import chainrule
    >>> ReflectionPad3d(1)(chainrule.zeros(1, 1, 2, 2, 2)).shape
    (1, 1, 4, 4, 4)
    """
    sides = 6


class ReplicationPad1d(_ReplicationPadNd):
    """Repeat the edge values of the last dimension.

    >>> import chainrule
    >>> ReplicationPad1d((2, 1))(chainrule.tensor([[1.0, 2.0]])).tolist()
    [[1.0, 1.0, 1.0, 2.0, 2.0]]
    """


class ReplicationPad2d(_ReplicationPadNd):
    """Repeat the edge values of the last two dimensions.

    >>> import chainrule
    >>> ReplicationPad2d(1)(chainrule.zeros(1, 2, 2)).shape
    (1, 4, 4)
    """
    sides = 4


class ReplicationPad3d(_ReplicationPadNd):
    """Repeat the edge values of the last three dimensions.

    >>> import chainrule
    >>> ReplicationPad3d(1)(chainrule.zeros(1, 1, 1, 1, 1)).shape
    (1, 1, 3, 3, 3)
    """
    sides = 6


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input):
        spatial = self.sides // 2
        if input.ndim not in (spatial + 1, spatial + 2):
            raise ShapeError(f"{type(self).__name__}: expected {spatial + 1}D or "
                             f"{spatial + 2}D input (got {input.ndim}D input, shape "
                             f"{input.shape})")
        return pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    """Wrap the last dimension around (periodic boundary).

    >>> import chainrule
    >>> CircularPad1d((1, 2))(chainrule.tensor([[1.0, 2.0, 3.0]])).tolist()
    [[3.0, 1.0, 2.0, 3.0, 1.0, 2.0]]
    """


class CircularPad2d(_CircularPadNd):
    """Wrap the last two dimensions around.

    >>> import chainrule
    >>> CircularPad2d(1)(chainrule.zeros(1, 2, 2)).shape
    (1, 4, 4)
    """
    sides = 4


class CircularPad3d(_CircularPadNd):
    """Wrap the last three dimensions around.

    >>> import chainrule
    >>> CircularPad3d(1)(chainrule.zeros(1, 1, 1, 1, 1)).shape
    (1, 1, 3, 3, 3)
    """
    sides = 6
