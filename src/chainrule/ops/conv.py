"""Convolution on NCHW arrays: im2col and one matrix product per group for the whole batch.

Inside, arrays are channel-major, (C, N, H, W) in memory: the im2col matrix is then
(C/G * kh * kw, N * OH * width) per group, filled by kh * kw block copies that read and write
long contiguous runs, and a layer's output comes straight out of the matrix product with no
transposing copy (it is handed on as an (N, C, H, W) view; elementwise ops keep that layout,
so the next convolution reads it contiguously again). Four ways to build the matrix:

* ``pointwise`` (1x1, no padding): the input itself (stride 1) or one strided copy;
* ``flat`` (stride 1): each window row is a contiguous run of the flattened padded image,
  read at full padded width (the extra columns of each output row are cropped afterwards);
* ``patches`` (stride = kernel, no padding, no dilation): one reshaping copy;
* ``windows`` (anything else): one strided copy per kernel offset.

Large arrays live in the reused memory of :mod:`chainrule.ops.workspace`, so a training step
does not map fresh pages for them every time.

Three bilinear ops close the family under differentiation, so double backward is exact:

* ``Conv(x, w[, b])``       y = conv2d(x, w) (+ b, added in place into the product)
* ``ConvInputGrad(g, w)``   the adjoint in x: conv_transpose2d(g, w)
* ``ConvWeightGrad(x, g)``  the adjoint in w

The derivative of each is written with the other two.
"""

from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from . import workspace
from .shape import reshape


class ConvGeometry:
    """stride, padding, dilation and groups of one 2-D convolution, plus the im2col maths."""

    __slots__ = ("stride", "padding", "dilation", "groups")

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding = stride, padding      # padding: (top, bottom, left, right)
        self.dilation, self.groups = dilation, groups

    def output_size(self, h, w, kh, kw):
        (sh, sw), (dh, dw) = self.stride, self.dilation
        top, bottom, left, right = self.padding
        oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
        ow = (w + left + right - dw * (kw - 1) - 1) // sw + 1
        return oh, ow

    def path(self, kh, kw):
        """How the im2col matrix is built (see the module docstring)."""
        padded = any(self.padding)
        if kh == kw == 1 and not padded:
            return "pointwise"
        if self.stride == (1, 1):
            return "flat"
        if self.stride == (kh, kw) and self.dilation == (1, 1) and not padded:
            return "patches"
        return "windows"

    def width(self, w, kh, kw):
        """The width of one output row in the im2col layout (padded width when ``flat``)."""
        if self.path(kh, kw) == "flat":
            return self.padded_size(1, w)[1]
        return self.output_size(1, w, 1, kw)[1]

    def padded_size(self, h, w):
        top, bottom, left, right = self.padding
        return h + top + bottom, w + left + right

    # ------------------------------------------------------------ im2col
    def columns(self, x, kh, kw):
        """The im2col matrix of x as (G, C/G * kh * kw, N * OH * width), and (OH, OW)."""
        n, c, h, w = x.shape
        oh, ow = self.output_size(h, w, kh, kw)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        source = x.transpose(1, 0, 2, 3)                                # (C, N, H, W)
        path = self.path(kh, kw)
        if path == "pointwise":
            picked = source[:, :, ::sh, ::sw] if (sh, sw) != (1, 1) else source
            cols = picked if picked.flags.c_contiguous else _copy(picked)
        elif path == "flat":
            hp, wp = self.padded_size(h, w)
            flat = self._flat_padded(source, kw)
            run = oh * wp
            cols = workspace.empty((c, kh, kw, n, run), x.dtype)
            for i in range(kh):
                for j in range(kw):
                    start = i * dh * wp + j * dw
                    cols[:, i, j] = flat[:, :, start:start + run]
        elif path == "patches":
            blocks = _view(source[:, :, :oh * kh, :ow * kw], (c, n, oh, kh, ow, kw))
            cols = workspace.empty((c, kh, kw, n, oh, ow), x.dtype)
            cols[...] = blocks.transpose(0, 3, 5, 1, 2, 4)
        else:
            padded = self._padded(source)
            cols = workspace.empty((c, kh, kw, n, oh, ow), x.dtype)
            for i in range(kh):
                for j in range(kw):
                    cols[:, i, j] = padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                           j * dw:j * dw + sw * (ow - 1) + 1:sw]
        g = self.groups
        return _view(cols, (g, (c // g) * kh * kw, -1)), (oh, ow)

    def _padded(self, source):
        """(C, N, H, W) -> zero-padded (C, N, Hp, Wp), in workspace memory."""
        if not any(self.padding):
            return source
        c, n, h, w = source.shape
        padded = workspace.empty((c, n) + self.padded_size(h, w), source.dtype)
        _fill_padded(padded, source, self.padding)
        return padded

    def _flat_padded(self, source, kw):
        """(C, N, H, W) -> (C, N, Hp * Wp + tail): each padded image flattened, with a tail of
        zeros so that the last window row's run stays inside the array."""
        c, n, h, w = source.shape
        hp, wp = self.padded_size(h, w)
        tail = (kw - 1) * self.dilation[1]
        flat = workspace.empty((c, n, hp * wp + tail), source.dtype)
        flat[:, :, hp * wp:] = 0
        _fill_padded(_view(flat[:, :, :hp * wp], (c, n, hp, wp)), source, self.padding)
        return flat

    # ------------------------------------------------------------ col2im
    def scatter_columns(self, cols, x_shape, kh, kw, out_hw):
        """col2im: add (G, C/G * kh * kw, N * OH * width) columns back into an (N, C, H, W)
        array (the adjoint of ``columns``); returned as a view of channel-major memory."""
        xp = backend.xp
        n, c, h, w = x_shape
        top, bottom, left, right = self.padding
        oh, ow = out_hw
        (sh, sw), (dh, dw) = self.stride, self.dilation
        path = self.path(kh, kw)
        if path == "pointwise":
            blocks = _view(cols, (c, n, oh, ow))
            if (sh, sw) == (1, 1) and (oh, ow) == (h, w):
                image = blocks
            else:
                image = workspace.zeros((c, n, h, w), cols.dtype)
                image[:, :, :oh * sh:sh, :ow * sw:sw] = blocks
        elif path == "flat":
            hp, wp = self.padded_size(h, w)
            run = oh * wp
            flat = workspace.zeros((c, n, hp * wp + (kw - 1) * dw), cols.dtype)
            blocks = _view(cols, (c, kh, kw, n, run))
            for i in range(kh):
                for j in range(kw):
                    start = i * dh * wp + j * dw
                    part = flat[:, :, start:start + run]
                    xp.add(part, blocks[:, i, j], out=part)
            image = _view(flat[:, :, :hp * wp], (c, n, hp, wp))[:, :, top:top + h,
                                                                  left:left + w]
        elif path == "patches":
            image = workspace.empty((c, n, h, w), cols.dtype)
            if (h, w) != (oh * kh, ow * kw):
                image[:, :, oh * kh:] = 0
                image[:, :, :, ow * kw:] = 0
            target = _view(image[:, :, :oh * kh, :ow * kw], (c, n, oh, kh, ow, kw))
            target.transpose(0, 3, 5, 1, 2, 4)[...] = _view(cols, (c, kh, kw, n, oh, ow))
        else:
            hp, wp = self.padded_size(h, w)
            padded = workspace.zeros((c, n, hp, wp), cols.dtype)
            blocks = _view(cols, (c, kh, kw, n, oh, ow))
            for i in range(kh):
                for j in range(kw):
                    part = padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                  j * dw:j * dw + sw * (ow - 1) + 1:sw]
                    xp.add(part, blocks[:, i, j], out=part)
            image = padded[:, :, top:top + h, left:left + w]
        return image.transpose(1, 0, 2, 3)


# ---------------------------------------------------------------- array helpers

def _view(array, shape):
    """``array`` reshaped without copying (it must be possible: these are our own layouts,
    and a silent copy would lose the writes made through the view)."""
    return array.reshape(shape, copy=False) if backend.name == "numpy" else \
        array.reshape(shape)


def _copy(array):
    """A C-contiguous copy of ``array`` in workspace memory."""
    out = workspace.empty(array.shape, array.dtype)
    out[...] = array
    return out


def _fill_padded(padded, source, padding):
    """Write ``source`` (C, N, H, W) into the middle of ``padded`` and zero the border only."""
    top, bottom, left, right = padding
    hp, wp = padded.shape[2:]
    if top:
        padded[:, :, :top] = 0
    if bottom:
        padded[:, :, hp - bottom:] = 0
    if left:
        padded[:, :, top:hp - bottom, :left] = 0
    if right:
        padded[:, :, top:hp - bottom, wp - right:] = 0
    padded[:, :, top:hp - bottom, left:wp - right] = source


def _matmul(a, b):
    """a @ b (stacks of matrices) into workspace memory."""
    xp = backend.xp
    out = workspace.empty(a.shape[:-1] + b.shape[-1:], xp.result_type(a, b))
    return xp.matmul(a, b, out=out)


def _grouped_weight(w, groups):
    o = w.shape[0]
    return w.reshape(groups, o // groups, -1)


def _product_rows(g, groups, width):
    """(N, O, OH, OW) -> (G, O/G, N * OH * width), the layout of the im2col products (rows
    widened with zeros to ``width`` where the flat stride-1 layout reads full padded rows).
    Free when g is already channel-major and needs no widening."""
    n, o, oh, ow = g.shape
    channels = g.transpose(1, 0, 2, 3)
    if width == ow and channels.flags.c_contiguous:
        rows = channels
    else:
        rows = workspace.empty((o, n, oh, width), g.dtype)
        if width != ow:
            rows[..., ow:] = 0
        rows[..., :ow] = channels
    return _view(rows, (groups, o // groups, -1))


def _weight_gradient(rows, cols):
    """rows (G, O/G, L) @ cols (G, K, L)^T -> (G, O/G, K), with the long axis L summed: the
    product is taken as (cols @ rows^T)^T, which OpenBLAS runs markedly faster for the
    short-and-wide shapes of convolution weight gradients."""
    return backend.xp.matmul(cols, rows.swapaxes(1, 2)).swapaxes(1, 2)


# ---------------------------------------------------------------- the three ops

class Conv(Function):
    """y[n, o] = b[o] + sum over c, window of x * w (cross-correlation, as PyTorch's conv2d)."""

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x, w, b=None):
        geometry = self.geometry
        cols, (oh, ow) = geometry.columns(x, w.shape[2], w.shape[3])
        need_x, need_w = self.needs_input_grad[:2]
        # the im2col matrix is reused by the weight gradient: one im2col per step, not two
        self.save_for_backward(x if need_w else None, w if need_x else None,
                               cols if need_w else None)
        self.x_hw, self.w_shape = x.shape[2:], w.shape
        o, n = w.shape[0], x.shape[0]
        y = _matmul(_grouped_weight(w, geometry.groups), cols)        # (G, O/G, N * L)
        if b is not None:
            rows = _view(y, (o, -1))
            backend.xp.add(rows, b.reshape(o, 1), out=rows)
        width = cols.shape[2] // (n * oh)
        return _view(y, (o, n, oh, width))[..., :ow].transpose(1, 0, 2, 3)

    def backward(self, gy):
        x, w, cols = self.saved_tensors
        need = self.needs_input_grad
        geometry = self.geometry
        rows = None
        if need[0] or need[1]:
            width = geometry.width(self.x_hw[1], *self.w_shape[2:])
            rows = _product_rows(gy._data, geometry.groups, width)
        gx = ConvInputGrad(geometry, self.x_hw, rows)(gy, w) if need[0] else None
        gw = None
        if need[1]:
            gw = ConvWeightGrad(geometry, self.w_shape, cols._data, rows)(x, gy)
        if len(need) == 2:
            return gx, gw
        return gx, gw, (gy.sum(dim=(0, 2, 3)) if need[2] else None)


class ConvInputGrad(Function):
    """The adjoint of Conv in x (conv_transpose2d): spreads g back through each window."""

    def __init__(self, geometry, x_hw, rows=None):
        self.geometry, self.x_hw = geometry, tuple(x_hw)
        self.given_rows = rows              # g in the product layout, when the caller has it

    def forward(self, g, w):
        need_g, need_w = self.needs_input_grad
        self.save_for_backward(g if need_w else None, w if need_g else None)
        self.w_shape = w.shape
        n, o, oh, ow = g.shape
        groups = self.geometry.groups
        c = w.shape[1] * groups
        rows = self.given_rows
        self.given_rows = None
        if rows is None:
            rows = _product_rows(g, groups, self.geometry.width(self.x_hw[1], *w.shape[2:]))
        cols = _matmul(_grouped_weight(w, groups).transpose(0, 2, 1), rows)   # (G, K, N*L)
        return self.geometry.scatter_columns(cols, (n, c) + self.x_hw, w.shape[2], w.shape[3],
                                             (oh, ow))

    def backward(self, ggx):
        g, w = self.saved_tensors
        need_g, need_w = self.needs_input_grad
        gg = Conv(self.geometry)(ggx, w) if need_g else None
        gw = ConvWeightGrad(self.geometry, self.w_shape)(ggx, g) if need_w else None
        return gg, gw


class ConvWeightGrad(Function):
    """The adjoint of Conv in w: correlates x with g, summed over the batch."""

    def __init__(self, geometry, w_shape, cols=None, rows=None):
        self.geometry, self.w_shape = geometry, tuple(w_shape)
        self.given_cols, self.given_rows = cols, rows     # reused from the forward pass

    def forward(self, x, g):
        need_x, need_g = self.needs_input_grad
        self.save_for_backward(x if need_g else None, g if need_x else None)
        self.x_hw = x.shape[2:]
        _, _, kh, kw = self.w_shape
        cols, rows = self.given_cols, self.given_rows
        self.given_cols = self.given_rows = None
        if cols is None:
            cols, _ = self.geometry.columns(x, kh, kw)                 # (G, K, N*L)
        if rows is None:
            rows = _product_rows(g, self.geometry.groups, self.geometry.width(x.shape[3], kh, kw))
        return _weight_gradient(rows, cols).reshape(self.w_shape)

    def backward(self, ggw):
        x, g = self.saved_tensors
        need_x, need_g = self.needs_input_grad
        gx = ConvInputGrad(self.geometry, self.x_hw)(g, ggw) if need_x else None
        gg = Conv(self.geometry)(x, ggw) if need_g else None
        return gx, gg


# ---------------------------------------------------------------- functional API

def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ArgumentError(f"{name} must be an int or a pair, got {value}")
    return value


def _padding(padding, kernel, dilation, stride):
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        if stride != (1, 1):
            raise ArgumentError("padding='same' needs stride 1 (as in PyTorch)")
        total_h, total_w = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return (total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2)
    ph, pw = _pair(padding, "padding")
    return (ph, ph, pw, pw)


def _same_dtype(op, x, weight, bias):
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._data.dtype != x._data.dtype:
            raise DTypeError(f"{op}: input is {x._data.dtype} but {name} is {t._data.dtype} "
                             "(as in PyTorch, they must match)")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of NCHW ``x`` with OIHW ``weight`` (PyTorch's F.conv2d).

    >>> import chainrule
    >>> conv2d(chainrule.ones(1, 1, 4, 4), chainrule.ones(1, 1, 3, 3)).tolist()
    [[[[9.0, 9.0], [9.0, 9.0]]]]
    """
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(f"conv2d: input must be (N, C, H, W) and weight (O, C/groups, kH, kW), "
                         f"got {x.shape} and {weight.shape}")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ShapeError(f"conv2d: input has {x.shape[1]} channels but the weight "
                         f"{weight.shape} with groups={groups} expects {weight.shape[1] * groups}")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(f"conv2d: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    _same_dtype("conv2d", x, weight, bias)
    geometry = ConvGeometry(stride, _padding(padding, weight.shape[2:], dilation, stride),
                            dilation, groups)
    oh, ow = geometry.output_size(x.shape[2], x.shape[3], weight.shape[2], weight.shape[3])
    if oh < 1 or ow < 1:
        raise ShapeError(f"conv2d: input {x.shape} is too small for kernel {weight.shape[2:]} "
                         f"with padding {padding}, dilation {dilation}, stride {stride}")
    if bias is None:
        return Conv(geometry)(x, weight)
    return Conv(geometry)(x, weight, bias)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution (PyTorch's F.conv_transpose2d); weight (C_in, C_out/g, kH, kW).

    >>> import chainrule
    >>> conv_transpose2d(chainrule.ones(1, 1, 2, 2), chainrule.ones(1, 1, 2, 2), stride=2).shape
    (1, 1, 4, 4)
    """
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    ph, pw = _pair(padding, "padding")
    oph, opw = _pair(output_padding, "output_padding")
    kh, kw = weight.shape[2:]
    h = (x.shape[2] - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    w = (x.shape[3] - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if x.shape[1] != weight.shape[0]:
        raise ShapeError(f"conv_transpose2d: input has {x.shape[1]} channels but the weight "
                         f"{weight.shape} expects {weight.shape[0]}")
    _same_dtype("conv_transpose2d", x, weight, bias)
    geometry = ConvGeometry(stride, (ph, ph, pw, pw), dilation, groups)
    y = ConvInputGrad(geometry, (h, w))(x, weight)
    if bias is not None:
        y = y + reshape(bias, 1, -1, 1, 1)
    return y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) input, as a 2-D one of height 1.

    >>> import chainrule
    >>> conv1d(chainrule.ones(1, 1, 5), chainrule.ones(1, 1, 3)).tolist()
    [[[3.0, 3.0, 3.0]]]
    """
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: input must be (N, C, L) and weight (O, C/groups, k), got "
                         f"{x.shape} and {weight.shape}")
    pad = padding if isinstance(padding, str) else (0, int(padding))
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, int(stride)), pad,
               (1, int(dilation)), groups)
    return y.squeeze(2)
