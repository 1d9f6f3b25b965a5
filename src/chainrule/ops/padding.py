"""PyTorch's F.pad: constant, reflect, replicate and circular padding; negative pads crop.

``pad`` lists (before, after) pairs from the LAST dimension backwards, as in PyTorch.
Constant padding is :class:`ConstantPad` (any number of dimensions). The other
modes read, for every output position, one input position along each padded axis, computed
as PyTorch's kernels do in "virtual" coordinates ``u = j - before``:

* reflect:   ``u`` mirrored at both ends without repeating the edge (needs pads < size);
* replicate: ``u`` clamped to the edge;
* circular:  negative pads crop first, then ``u`` wraps around the cropped axis (pads at
  most its size: a value may not wrap around more than once).

They are one :class:`PadTaps` node (ops.taps: gather forward, scatter-add backward).
"""
import numpy

from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, ShapeError
from .taps import AxisTaps, Taps

MODES = ("constant", "reflect", "replicate", "circular")
_ONNX_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class ConstantPad(Function):
    """Constant padding with one (before, after) pair per axis; a negative width crops that
    many elements instead. The adjoint is the same op with every width negated and zeros
    for the fill."""

    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def forward(self, x):
        crop = tuple(slice(max(-before, 0), size - max(-after, 0))
                     for size, (before, after) in zip(x.shape, self.widths))
        grow = tuple((max(before, 0), max(after, 0)) for before, after in self.widths)
        x = x[crop]
        if not any(before or after for before, after in grow):
            return x.copy()
        return backend.xp.pad(x, grow, mode="constant", constant_values=self.value)

    def backward(self, gy):
        return ConstantPad(tuple((-before, -after) for before, after in self.widths), 0)(gy)

    def to_onnx(self, builder, inputs, dynamic_batch):
        pads = [before for before, _ in self.widths] + [after for _, after in self.widths]
        fill = builder.scalar(self.value)
        return builder.node("Pad", [inputs[0], builder.ints(pads), fill], mode="constant")


def _source_positions(mode, size, before, after):
    """The input position each output position of one axis reads."""
    if mode == "circular":
        low, high = max(-before, 0), size - max(-after, 0)
        kept = high - low
        if kept == 0:
            return numpy.zeros(0, dtype=numpy.int64)
        j = numpy.arange(-max(before, 0), kept + max(after, 0))
        return low + numpy.mod(j, kept)
    u = numpy.arange(-before, size + after)
    if mode == "replicate":
        return numpy.clip(u, 0, size - 1)
    u = numpy.abs(u)                                            # reflect
    return numpy.where(u > size - 1, 2 * (size - 1) - u, u)


class PadTaps(Taps):
    """Reflect, replicate or circular padding of the last ``len(pairs)`` axes (ops.taps);
    exported as one ONNX Pad (``reflect``, ``edge``; ``wrap`` from opset 19) when no pad is
    negative, else as a Gather per axis."""

    def __init__(self, plan, mode, pairs):
        super().__init__(plan)
        self.mode, self.pairs = mode, pairs            # pairs: (axis, before, after)

    def to_onnx(self, builder, inputs, dynamic_batch):
        ndim = self.inputs[0].ndim
        opset = getattr(builder, "opset", 17)
        negative = any(before < 0 or after < 0 for _, before, after in self.pairs)
        if not negative and (self.mode != "circular" or opset >= 19):
            starts, ends = [0] * ndim, [0] * ndim
            for axis, before, after in self.pairs:
                starts[axis], ends[axis] = before, after
            return builder.node("Pad", [inputs[0], builder.ints(starts + ends)],
                                mode=_ONNX_MODES[self.mode])
        name = inputs[0]
        for axis_map in self.plan:
            name = builder.node("Gather", [name, builder.ints(axis_map.index[:, 0])],
                                axis=axis_map.axis)
        return name


def _check_pad(x, pad, mode, value):
    if mode not in MODES:
        raise ArgumentError(f"pad: unknown mode {mode!r}; PyTorch's modes are {MODES}")
    if not all(isinstance(p, (int, numpy.integer)) and not isinstance(p, bool) for p in pad):
        raise ArgumentTypeError(f"pad: pad must be a tuple of ints, got {pad}")
    if len(pad) % 2:
        raise ArgumentError(f"pad: padding length must be divisible by 2, got {len(pad)} "
                            f"values {pad}")
    if len(pad) // 2 > x.ndim:
        raise ArgumentError(f"pad: padding length {len(pad)} is more than two times the "
                            f"input's {x.ndim} dimensions (shape {x.shape})")
    if mode == "constant":
        return
    if value not in (None, 0, 0.0):
        raise ArgumentError(f"pad: mode {mode!r} does not take a value (got {value})")
    spatial = len(pad) // 2
    if spatial not in (1, 2, 3) or x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"pad: mode {mode!r} with {len(pad)} pad values needs a "
                         f"{spatial + 1}-D or {spatial + 2}-D input, got shape {x.shape} "
                         "(as in PyTorch: 2 values for 2-D/3-D, 4 for 3-D/4-D, 6 for 4-D/5-D)")
    first = 1 if x.ndim == spatial + 2 else 0            # a batch of 0 samples is allowed
    if any(size == 0 for size in x.shape[first:]):
        raise ShapeError(f"pad: mode {mode!r} needs non-empty channel and padded "
                         f"dimensions, got shape {x.shape}")


def _check_sizes(x, mode, pairs):
    # PyTorch lets every mode crop an axis to nothing, except 1-D reflect and replicate
    least = 1 if mode in ("reflect", "replicate") and len(pairs) == 1 else 0
    for axis, before, after in pairs:
        size = x.shape[axis]
        if mode == "reflect" and (before >= size or after >= size):
            raise ArgumentError(f"pad: reflect padding ({before}, {after}) must be less than "
                                f"the size {size} of dimension {axis} (input {x.shape})")
        if mode == "circular":
            kept = size - max(-before, 0) - max(-after, 0)
            if max(before, 0) > kept or max(after, 0) > kept:
                raise ArgumentError(f"pad: circular padding ({before}, {after}) of dimension "
                                    f"{axis} (size {size}, {kept} after cropping) would wrap "
                                    "around more than once")
        cropped = size - max(-before, 0) - max(-after, 0)
        if size + before + after < least or (mode == "constant" and cropped < 0):
            raise ShapeError(f"pad: padding ({before}, {after}) leaves dimension {axis} of "
                             f"input {x.shape} with {size + before + after} elements")


def pad(input, pad, mode="constant", value=None):
    """PyTorch's F.pad: (before, after) pairs from the last dimension backwards; negative
    values crop.

    >>> import chainrule
    >>> pad(chainrule.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect").tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    >>> pad(chainrule.tensor([[1.0, 2.0, 3.0]]), (1, -1), value=9.0).tolist()
    [[9.0, 1.0, 2.0]]
    """
    pad = tuple(pad)
    _check_pad(input, pad, mode, value)
    pairs = [(input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    _check_sizes(input, mode, pairs)
    if mode == "constant":
        widths = [(0, 0)] * input.ndim
        for axis, before, after in pairs:
            widths[axis] = (before, after)
        return ConstantPad(tuple(widths), 0.0 if value is None else value)(input)
    plan = [AxisTaps(axis, _source_positions(mode, input.shape[axis], before, after), None,
                     input.shape[axis])
            for axis, before, after in sorted(pairs)]
    return PadTaps(plan, mode, tuple(sorted(pairs)))(input)
