"""PyTorch's functional convolutions in 1, 2 and 3 dimensions, built on the tuned 2-D path.

Every function takes PyTorch's arguments (ints or tuples; "same"/"valid" padding for the
forward convolutions) and unbatched input (no batch axis), and checks shapes up front.

* 1-D is the 2-D convolution of a height-1 image.
* 3-D folds the depth into the 2-D one: the input's depth windows are cut out (a strided
  view, ``Tensor.unfold``), laid beside the channels of a batch of N * D_out images, and
  one 2-D convolution with the weight's depth taps beside its channels does the rest. The
  matrix products are those of a 3-D im2col; the extra cost is one copy of the windows.
* The 3-D transposed convolution runs it backwards: one 2-D transposed convolution per
  input depth slice gives every depth tap's contribution, and the depth windows are added
  back where they overlap (``FoldWindows``, the adjoint of unfold).

All of it is composed of differentiable ops (conv.Conv and its adjoints, unfold, reshape,
permute, pad), so gradients and double backward come exactly from theirs.
"""
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor_base import TensorBase
from . import conv as conv2d_ops
from .activation import relu as relu_op
from .indexing import ScatterAdd
from .padding import ConstantPad
from .shape import FoldWindows, unfold

_NAMES = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def ntuple(value, n, name, op):
    """An int or an n-sequence of ints -> an n-tuple (PyTorch's _single/_pair/_triple)."""
    if isinstance(value, bool):
        raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {value!r}")
    if isinstance(value, int):
        return (value,) * n
    if type(value) is tuple and len(value) == n and all(type(v) is int for v in value):
        return value                        # (a layer's own stride and dilation)
    try:
        values = tuple(int(v) for v in value)
    except TypeError:
        raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {value!r}") from None
    if len(values) == 1 and n > 1:
        values = values * n
    if len(values) != n:
        raise ArgumentError(f"{op}: {name} must be an int or {n} ints, got {value!r}")
    return values


def same_padding(kernel, dilation):
    """(before, after) per spatial axis for padding="same": PyTorch puts the odd one after."""
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [(t // 2, t - t // 2) for t in totals]


def _batched(input, spatial, op):
    """(input with a batch axis, whether it had one)."""
    if input.ndim == spatial + 2:
        return input, True
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), False
    raise ShapeError(f"{op}: expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) "
                     f"input {_NAMES[spatial]}, got shape {input.shape}")


def _check_operands(op, x, weight, bias, spatial, in_channels, groups, transposed):
    if not isinstance(weight, TensorBase) or weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: weight must have {spatial + 2} dimensions, got "
                         f"{getattr(weight, 'shape', weight)}")
    if groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive integer, got {groups}")
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if in_channels != expected or (not transposed and weight.shape[0] % groups) or \
            (transposed and weight.shape[0] % groups):
        raise ShapeError(f"{op}: input of shape {x.shape} has {in_channels} channels but the "
                         f"weight {weight.shape} with groups={groups} expects {expected}")
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(f"{op}: bias must have shape ({out_channels},), got {bias.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._data.dtype != x._data.dtype:
            raise DTypeError(f"{op}: input is {x._data.dtype} but {name} is {t._data.dtype} "
                             "(as in PyTorch, they must match)")


def _padding(padding, spatial, kernel, stride, dilation, op):
    """(before, after) pairs per spatial axis."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * spatial
        if padding != "same":
            raise ArgumentError(f"{op}: padding must be 'same', 'valid', an int or a tuple, "
                                f"got {padding!r}")
        if any(s != 1 for s in stride):
            raise ArgumentError(f"{op}: padding='same' is not supported for strided "
                                f"convolutions (stride={stride})")
        return same_padding(kernel, dilation)
    return [(p, p) for p in ntuple(padding, spatial, "padding", op)]


def _check_output(op, x, kernel, pairs, stride, dilation):
    for axis, (size, k, (before, after), s, d) in enumerate(
            zip(x.shape[2:], kernel, pairs, stride, dilation)):
        if s < 1 or d < 1 or before < 0 or after < 0:
            raise ArgumentError(f"{op}: stride and dilation must be positive and padding "
                                f"non-negative, got stride={stride}, dilation={dilation}")
        if size + before + after < d * (k - 1) + 1:
            raise ShapeError(f"{op}: input {x.shape} is too small (padded size "
                             f"{size + before + after} in spatial dimension {axis}) for the "
                             f"kernel {tuple(kernel)} with dilation {dilation}")


def _unbatch(y, batched):
    return y if batched else y.squeeze(0)


# ---------------------------------------------------------------- convolutions

def _conv(op, spatial, input, weight, bias, stride, padding, dilation, groups, relu=False):
    x, batched = _batched(input, spatial, op)
    _check_operands(op, x, weight, bias, spatial, x.shape[1], groups, transposed=False)
    stride = ntuple(stride, spatial, "stride", op)
    dilation = ntuple(dilation, spatial, "dilation", op)
    kernel = weight.shape[2:]
    pairs = _padding(padding, spatial, kernel, stride, dilation, op)
    _check_output(op, x, kernel, pairs, stride, dilation)
    if spatial == 1:
        y = _conv2d_pairs(x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + stride,
                          [(0, 0)] + pairs, (1,) + dilation, groups, relu).squeeze(2)
    elif spatial == 2:
        y = _conv2d_pairs(x, weight, bias, stride, pairs, dilation, groups, relu)
    else:
        y = _conv3d(x, weight, bias, stride, pairs, dilation, groups)
        if relu:
            y = relu_op(y)
    return _unbatch(y, batched)


def _conv2d_pairs(x, weight, bias, stride, pairs, dilation, groups, relu=False):
    """ops.conv's 2-D convolution with (before, after) padding per axis (and the relu of
    it in the same node, ``relu``)."""
    (top, bottom), (left, right) = pairs
    geometry = conv2d_ops.ConvGeometry(tuple(stride), (top, bottom, left, right),
                                       tuple(dilation), groups)
    node = (conv2d_ops.ConvReLU if relu else conv2d_ops.Conv)(geometry)
    return node(x, weight) if bias is None else node(x, weight, bias)


def _conv3d(x, weight, bias, stride, pairs, dilation, groups):
    n, c = x.shape[:2]
    out_channels, group_channels, kd, kh, kw = weight.shape
    (sd, sh, sw), (dd, dh, dw) = stride, dilation
    if any(pairs[0]):
        x = ConstantPad(((0, 0), (0, 0), pairs[0], (0, 0), (0, 0)), 0)(x)
    span = dd * (kd - 1) + 1
    windows = unfold(x, 2, span, sd)                      # (N, C, OD, H, W, span)
    if dd > 1:
        windows = windows[..., ::dd]                      # (N, C, OD, H, W, KD)
    od, h, w = windows.shape[2:5]
    # channels of one group, then its depth taps: (N * OD, G * KD * C/G, H, W)
    columns = windows.reshape(n, groups, c // groups, od, h, w, kd) \
        .permute(0, 3, 1, 6, 2, 4, 5).reshape(n * od, groups * kd * (c // groups), h, w)
    flat_weight = weight.permute(0, 2, 1, 3, 4).reshape(out_channels, kd * group_channels,
                                                         kh, kw)
    y = _conv2d_pairs(columns, flat_weight, None, (sh, sw), pairs[1:], (dh, dw), groups)
    y = y.reshape(n, od, out_channels, y.shape[2], y.shape[3]).permute(0, 2, 1, 3, 4)
    if bias is not None:
        y = y + bias.reshape(1, out_channels, 1, 1, 1)
    return y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) or unbatched (C, L) input (PyTorch's F.conv1d).

    >>> import chainrule
    >>> conv1d(chainrule.ones(1, 1, 5), chainrule.ones(1, 1, 3)).tolist()
    [[[3.0, 3.0, 3.0]]]
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of (N, C, H, W) or unbatched (C, H, W) input (F.conv2d).

    >>> import chainrule
    >>> conv2d(chainrule.ones(1, 3, 3), chainrule.ones(2, 1, 2, 2), padding="same").shape
    (2, 3, 3)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv_relu(spatial, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """``relu(convNd(input, weight, bias, ...))``, for 1-D and 2-D as one node (what
    ``nn.Sequential`` runs for a Conv1d/Conv2d followed by a ReLU): the same values and
    gradients as the two ops.

    >>> import chainrule
    >>> conv_relu(2, chainrule.ones(1, 1, 3, 3), -chainrule.ones(1, 1, 2, 2)).tolist()
    [[[[0.0, 0.0], [0.0, 0.0]]]]
    """
    return _conv(f"conv{spatial}d", spatial, input, weight, bias, stride, padding, dilation,
                 groups, relu=True)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation of (N, C, D, H, W) or unbatched (C, D, H, W) input (F.conv3d).

    >>> import chainrule
    >>> conv3d(chainrule.ones(1, 1, 3, 3, 3), chainrule.ones(1, 1, 2, 2, 2)).shape
    (1, 1, 2, 2, 2)
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


# ---------------------------------------------------------------- transposed convolutions

def transposed_sizes(in_sizes, kernel, stride, padding, output_padding, dilation):
    """PyTorch's output sizes: (in - 1) * stride - 2 * padding + dilation * (k - 1) +
    output_padding + 1 per spatial axis."""
    return tuple((i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, k, s, p, op, d in
                 zip(in_sizes, kernel, stride, padding, output_padding, dilation))


def _conv_transpose(op, spatial, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    x, batched = _batched(input, spatial, op)
    _check_operands(op, x, weight, bias, spatial, x.shape[1], groups, transposed=True)
    stride = ntuple(stride, spatial, "stride", op)
    padding = ntuple(padding, spatial, "padding", op)
    output_padding = ntuple(output_padding, spatial, "output_padding", op)
    dilation = ntuple(dilation, spatial, "dilation", op)
    if any(v < 1 for v in stride + dilation) or any(v < 0 for v in padding + output_padding):
        raise ArgumentError(f"{op}: stride and dilation must be positive, padding and "
                            f"output_padding non-negative, got stride={stride}, "
                            f"dilation={dilation}, padding={padding}, "
                            f"output_padding={output_padding}")
    for op_pad, s, d in zip(output_padding, stride, dilation):
        if op_pad >= s and op_pad >= d:
            raise ArgumentError(f"{op}: output padding must be smaller than either stride or "
                                f"dilation, got output_padding={output_padding}, "
                                f"stride={stride}, dilation={dilation}")
    sizes = transposed_sizes(x.shape[2:], weight.shape[2:], stride, padding, output_padding,
                             dilation)
    if min(sizes) < 1:
        raise ShapeError(f"{op}: input of shape {x.shape} gives an output of size {sizes} "
                         f"(padding={padding}): output size is too small")
    if spatial == 1:
        y = _conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), (1,) + stride,
                              (0,) + padding, (0,) + output_padding, groups, (1,) + dilation)
        y = y.squeeze(2)
    elif spatial == 2:
        y = _conv_transpose2d(x, weight, stride, padding, output_padding, groups, dilation)
    else:
        y = _conv_transpose3d(x, weight, stride, padding, output_padding, groups, dilation)
    if bias is not None:
        y = y + bias.reshape((1, -1) + (1,) * spatial)
    return _unbatch(y, batched)


def _conv_transpose2d(x, weight, stride, padding, output_padding, groups, dilation):
    """ops.conv's transposed 2-D convolution (the adjoint in x of its Conv)."""
    sizes = transposed_sizes(x.shape[2:], weight.shape[2:], stride, padding, output_padding,
                             dilation)
    (ph, pw) = padding
    geometry = conv2d_ops.ConvGeometry(tuple(stride), (ph, ph, pw, pw), tuple(dilation), groups)
    return conv2d_ops.ConvInputGrad(geometry, sizes)(x, weight)


def _conv_transpose3d(x, weight, stride, padding, output_padding, groups, dilation):
    n, in_channels, depth, h, w = x.shape
    _, group_out, kd, kh, kw = weight.shape
    # every depth slice through a 2-D transposed convolution whose outputs are the depth
    # taps of each group's channels: (N * D, G * KD * C_out/G, OH, OW)
    slices = x.permute(0, 2, 1, 3, 4).reshape(n * depth, in_channels, h, w)
    flat_weight = weight.permute(0, 2, 1, 3, 4).reshape(in_channels, kd * group_out, kh, kw)
    z = _conv_transpose2d(slices, flat_weight, stride[1:], padding[1:], output_padding[1:],
                          groups, dilation[1:])
    oh, ow = z.shape[2:]
    windows = z.reshape(n, depth, groups, kd, group_out, oh, ow) \
        .permute(0, 2, 4, 1, 5, 6, 3).reshape(n, groups * group_out, depth, oh, ow, kd)
    sd, dd = stride[0], dilation[0]
    span = dd * (kd - 1) + 1
    if dd > 1:                                   # the taps sit dd apart inside a window
        windows = ScatterAdd((Ellipsis, slice(None, None, dd)),
                             windows.shape[:-1] + (span,))(windows)
    full = (depth - 1) * sd + span
    y = FoldWindows((n, groups * group_out, full, oh, ow), 2, span, sd)(windows)
    crop = (-padding[0], output_padding[0] - padding[0])
    return ConstantPad(((0, 0), (0, 0), crop, (0, 0), (0, 0)), 0)(y) if any(crop) else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 1-D convolution (F.conv_transpose1d); weight (C_in, C_out/groups, k).

    >>> import chainrule
    >>> conv_transpose1d(chainrule.ones(1, 1, 3), chainrule.ones(1, 1, 2), stride=2).tolist()
    [[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]]
    """
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 2-D convolution (F.conv_transpose2d); weight (C_in, C_out/groups, kH, kW).

    >>> import chainrule
    >>> conv_transpose2d(chainrule.ones(1, 2, 2), chainrule.ones(1, 1, 2, 2), stride=2).shape
    (1, 4, 4)
    """
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 3-D convolution (F.conv_transpose3d); weight (C_in, C_out/g, kD, kH, kW).

    >>> import chainrule
    >>> conv_transpose3d(chainrule.ones(1, 1, 2, 2, 2), chainrule.ones(1, 1, 2, 2, 2)).shape
    (1, 1, 3, 3, 3)
    """
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
