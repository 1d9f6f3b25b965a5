"""Convolution and pooling on NCHW arrays, vectorised with im2col (stride tricks) and one
matrix product per call — no Python loop over the batch or over output pixels (col2im and
pooling backward loop over kernel offsets only).

Three bilinear ops close the family under differentiation, so double backward is exact:

* ``Conv(x, w)``            y = conv2d(x, w)
* ``ConvInputGrad(g, w)``   the adjoint in x: conv_transpose2d(g, w)
* ``ConvWeightGrad(x, g)``  the adjoint in w

The derivative of each is written with the other two.
"""

from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, ShapeError
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

    def flat(self):
        """Stride 1: windows can be read as contiguous runs of the flattened padded image
        (each run one output row at full padded width, the extra columns cropped later)."""
        return self.stride == (1, 1)

    def width(self, w, kw):
        """The width of one output row in the im2col layout (padded width when ``flat``)."""
        top, bottom, left, right = self.padding
        return w + left + right if self.flat() else self.output_size(1, w, 1, kw)[1]

    def columns(self, x, kh, kw):
        """The im2col matrix of x as (G, C/G * kh * kw, N * OH * width): channel-major, so
        one matrix product per group covers the whole batch. Filled one kernel offset at a
        time (kh * kw slice copies; contiguous runs for stride 1), never looping over the
        batch or the pixels."""
        xp = backend.xp
        n, c, h, w = x.shape
        oh, ow = self.output_size(h, w, kh, kw)
        source = self._padded(x.transpose(1, 0, 2, 3))                 # (C, N, Hp, Wp)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        if self.flat():
            hp, wp = source.shape[2:]
            flat = xp.zeros((c, n, hp * wp + (kw - 1) * dw), dtype=x.dtype)
            flat[:, :, :hp * wp] = source.reshape(c, n, hp * wp)
            run = oh * wp
            cols = xp.empty((c, kh, kw, n, run), dtype=x.dtype)
            for i in range(kh):
                for j in range(kw):
                    start = i * dh * wp + j * dw
                    cols[:, i, j] = flat[:, :, start:start + run]
            width = wp
        else:
            cols = xp.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
            for i in range(kh):
                for j in range(kw):
                    cols[:, i, j] = source[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                           j * dw:j * dw + sw * (ow - 1) + 1:sw]
            width = ow
        g = self.groups
        return cols.reshape(g, (c // g) * kh * kw, n * oh * width), (oh, ow)

    def _padded(self, x):
        top, bottom, left, right = self.padding
        if not any(self.padding):
            return x
        return backend.xp.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))

    def scatter_columns(self, cols, x_shape, kh, kw, out_hw):
        """col2im: add (G, C/G * kh * kw, N * OH * width) columns back into an (N, C, H, W)
        array (the adjoint of ``columns``)."""
        xp = backend.xp
        n, c, h, w = x_shape
        top, bottom, left, right = self.padding
        oh, ow = out_hw
        (sh, sw), (dh, dw) = self.stride, self.dilation
        hp, wp = h + top + bottom, w + left + right
        if self.flat():
            run = oh * wp
            flat = xp.zeros((c, n, hp * wp + (kw - 1) * dw), dtype=cols.dtype)
            blocks = cols.reshape(c, kh, kw, n, run)
            for i in range(kh):
                for j in range(kw):
                    start = i * dh * wp + j * dw
                    flat[:, :, start:start + run] += blocks[:, i, j]
            padded = flat[:, :, :hp * wp].reshape(c, n, hp, wp)
        else:
            padded = xp.zeros((c, n, hp, wp), dtype=cols.dtype)
            blocks = cols.reshape(c, kh, kw, n, oh, ow)
            for i in range(kh):
                for j in range(kw):
                    rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                    columns = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                    padded[:, :, rows, columns] += blocks[:, i, j]
        return padded[:, :, top:top + h, left:left + w].transpose(1, 0, 2, 3)


def _grouped_weight(w, groups):
    o = w.shape[0]
    return w.reshape(groups, o // groups, -1)


def _grouped_batch(g, groups, width):
    """(N, O, OH, OW) -> (G, O/G, N * OH * width), the layout of the im2col products (rows
    widened with zeros to ``width`` where the flat stride-1 layout reads full padded rows)."""
    n, o, oh, ow = g.shape
    rows = g.transpose(1, 0, 2, 3)
    if width != ow:
        wide = backend.xp.zeros((o, n, oh, width), dtype=g.dtype)
        wide[..., :ow] = rows
        rows = wide
    return rows.reshape(groups, o // groups, n * oh * width)


class Conv(Function):
    """y[n, o] = sum over c, window of x * w (cross-correlation, as PyTorch's conv2d)."""

    def __init__(self, geometry):
        self.geometry = geometry

    def forward(self, x, w):
        cols, (oh, ow) = self.geometry.columns(x, w.shape[2], w.shape[3])
        need_x, need_w = self.needs_input_grad
        # the im2col matrix is reused by the weight gradient: one im2col per step, not two
        self.save_for_backward(x if need_w else None, w if need_x else None,
                               cols if need_w else None)
        self.x_hw, self.w_shape = x.shape[2:], w.shape
        y = _grouped_weight(w, self.geometry.groups) @ cols            # (G, O/G, N*L)
        width = self.geometry.width(x.shape[3], w.shape[3])
        y = y.reshape(w.shape[0], x.shape[0], oh, width)[..., :ow]
        return y.transpose(1, 0, 2, 3)

    def backward(self, gy):
        x, w, cols = self.saved_tensors
        need_x, need_w = self.needs_input_grad
        gx = ConvInputGrad(self.geometry, self.x_hw)(gy, w) if need_x else None
        gw = None
        if need_w:
            weight_grad = ConvWeightGrad(self.geometry, self.w_shape)
            weight_grad.cached_cols = cols._data
            gw = weight_grad(x, gy)
        return gx, gw


class ConvInputGrad(Function):
    """The adjoint of Conv in x (conv_transpose2d): spreads g back through each window."""

    def __init__(self, geometry, x_hw):
        self.geometry, self.x_hw = geometry, tuple(x_hw)

    def forward(self, g, w):
        need_g, need_w = self.needs_input_grad
        self.save_for_backward(g if need_w else None, w if need_g else None)
        self.w_shape = w.shape
        n, o, oh, ow = g.shape
        groups = self.geometry.groups
        c = w.shape[1] * groups
        wg = _grouped_weight(w, groups)                                 # (G, O/G, K)
        width = self.geometry.width(self.x_hw[1], w.shape[3])
        cols = wg.transpose(0, 2, 1) @ _grouped_batch(g, groups, width)  # (G, K, N*L)
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

    cached_cols = None

    def __init__(self, geometry, w_shape):
        self.geometry, self.w_shape = geometry, tuple(w_shape)

    def forward(self, x, g):
        need_x, need_g = self.needs_input_grad
        self.save_for_backward(x if need_g else None, g if need_x else None)
        self.x_hw = x.shape[2:]
        _, _, kh, kw = self.w_shape
        cols = self.cached_cols
        if cols is None:
            cols, _ = self.geometry.columns(x, kh, kw)                 # (G, K, N*L)
        self.cached_cols = None
        width = self.geometry.width(x.shape[3], kw)
        gw = _grouped_batch(g, self.geometry.groups, width) @ cols.swapaxes(1, 2)  # (G,O/G,K)
        return gw.reshape(self.w_shape)

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
    geometry = ConvGeometry(stride, _padding(padding, weight.shape[2:], dilation, stride),
                            dilation, groups)
    oh, ow = geometry.output_size(x.shape[2], x.shape[3], weight.shape[2], weight.shape[3])
    if oh < 1 or ow < 1:
        raise ShapeError(f"conv2d: input {x.shape} is too small for kernel {weight.shape[2:]} "
                         f"with padding {padding}, dilation {dilation}, stride {stride}")
    y = Conv(geometry)(x, weight)
    if bias is not None:
        y = y + reshape(bias, 1, -1, 1, 1)
    return y


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed convolution (PyTorch's F.conv_transpose2d); weight (C_in, C_out/g, kH, kW)."""
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    ph, pw = _pair(padding, "padding")
    oph, opw = _pair(output_padding, "output_padding")
    kh, kw = weight.shape[2:]
    h = (x.shape[2] - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + oph + 1
    w = (x.shape[3] - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + opw + 1
    if x.shape[1] != weight.shape[0]:
        raise ShapeError(f"conv_transpose2d: input has {x.shape[1]} channels but the weight "
                         f"{weight.shape} expects {weight.shape[0]}")
    geometry = ConvGeometry(stride, (ph, ph, pw, pw), dilation, groups)
    y = ConvInputGrad(geometry, (h, w))(x, weight)
    if bias is not None:
        y = y + reshape(bias, 1, -1, 1, 1)
    return y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) input, as a 2-D one of height 1."""
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: input must be (N, C, L) and weight (O, C/groups, k), got "
                         f"{x.shape} and {weight.shape}")
    pad = padding if isinstance(padding, str) else (0, int(padding))
    y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, int(stride)), pad,
               (1, int(dilation)), groups)
    return y.squeeze(2)
