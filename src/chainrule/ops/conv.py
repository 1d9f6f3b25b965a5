"""Convolution on NCHW arrays: im2col and one matrix product per group and chunk of images.

Arrays come in and go out as PyTorch has them (outputs contiguous (N, C, H, W)); inside, the
im2col matrix of a chunk of images is channel-major, (C/G * kh * kw, images * OH * width) per
group, so that one matrix product per group covers the whole chunk with long rows (a product
per image would be too narrow to run fast for small images). The products are turned back
into an NCHW array in one copy that also crops the padded-width rows and adds the bias.

The batch is taken a few images at a time, so that a chunk's im2col matrix (about
``CHUNK_BYTES``) stays in cache between being written and being multiplied: a whole batch's
matrix is many megabytes that would otherwise go out to memory and come back. A whole
batch's matrix of at most ``WHOLE_BYTES`` is one chunk all the same, and the forward pass
keeps it for the weight gradient: one long product runs faster than a few short ones, and
the weight gradient does not rebuild the matrix (LeNet's layers, 2.2 and 5.1 MiB: training
10-20% faster on a 2-core SkylakeX, inference up to 8%). A larger matrix (a ResNet's 10-20
MiB) is not kept: the weight gradient rebuilds each chunk's matrix, which costs less than
the memory traffic of keeping it. How a chunk's matrix is built:

* ``pointwise`` (1x1, no padding): one strided copy (none at all for a stride-1 input that is
  channel-major in memory already);
* ``flat`` (stride 1): each window row is a contiguous run of the flattened padded image,
  read at full padded width (the extra columns of each output row are cropped afterwards).
  When a group has few output channels (LeNet's first layer has 6), the product W @ cols
  would be too short for BLAS to run fast: one column then covers ``block`` output rows
  (:meth:`ConvGeometry.row_block`), reading the kh + block - 1 input rows they share, and
  the weight becomes ``block`` copies of itself shifted down a row each (zeros elsewhere).
  The product is ``block`` times taller on a matrix (kh + block - 1) / (kh * block) the
  size, and runs about twice as fast; the input gradient keeps the plain layout.
  A stride-1 convolution whose matrix is not kept (a ResNet's 16- and 32-channel 3x3
  layers in training, every layer under no_grad) skips the full matrix when a kernel row
  reads at least ``KERNEL_ROWS_MIN_COLUMNS`` input columns: a matrix of the kw column
  offsets only, over each padded image's whole grid, times the kernel rows stacked as one
  taller weight, each row's products then summed at its offset (a third of the copying for
  a 3x3 kernel: the forward of those layers ~35% faster alone, ~9% within a ResNet step);
* ``patches`` (stride = kernel, no padding, no dilation): one reshaping copy;
* ``phased`` (any other stride): the padded image is first split by phase (rows u * sh + a,
  columns v * sw + b for each a < sh, b < sw: one copy of the image), and a kernel offset
  then reads one phase at stride 1, so each of its window rows is again a contiguous run of
  the flattened phase, read at the phase's full width (the extra columns are cropped as on
  the flat path). col2im adds each offset's runs into the phases and writes them back
  once, instead of kh * kw strided additions (a ResNet's 16 -> 32 stride-2 layer, forward +
  backward, 9% faster; 3-4% for larger images);
* ``windows``: one strided copy of all kernel offsets, each window's values and nothing
  else (the exact form, see below).

Inf and nan: the flat and phased layouts' extra columns (and the zeros of a row block's
shifted weight) are products nobody reads, or are multiplied by zeros, which is exact only
while every value is finite (0 * inf is nan): an inf in x would turn weight-gradient
entries that PyTorch gives finite into nan. So the fast paths check, where it is cheap,
whether a non-finite value could have met those zeros, and redo only then the step on the
``windows`` path (:meth:`ConvGeometry.without_extra_columns`), whose matrix holds the
windows alone: a weight gradient that is not all finite (a sum of finite products is
exact, a product with inf or nan makes its sum inf or nan); an input gradient when the
weight holds inf or nan (by col2im on that path: the convolution of g that
``_as_convolution`` would take reads g's zero padding); row blocks when x does. The valid
outputs of the flat, phased and kernel-rows forms read only their own windows and need no
check.

Large arrays live in the reused memory of :mod:`chainrule.ops.workspace`, so a training step
does not map fresh pages for them every time.

Three bilinear ops close the family under differentiation, so double backward is exact:

* ``Conv(x, w[, b])``       y = conv2d(x, w) (+ b, added in place into the product)
* ``ConvInputGrad(g, w)``   the adjoint in x: conv_transpose2d(g, w)
* ``ConvWeightGrad(x, g)``  the adjoint in w

The derivative of each is written with the other two. When the backward pass is not
recorded and the input gradient is itself a convolution of g (stride 1, see
``_as_convolution``), ``Conv.backward`` computes both gradients from one im2col matrix of g
(``_both_gradients``) instead of building a second one of x for the weight gradient.
"""

from .. import backend, backend_helpers
from ..autograd import grad_mode
from ..autograd.function import Function
from ..errors import ArgumentError, DTypeError, ShapeError
from . import activation, workspace
from .shape import reshape

#: the im2col matrix of one chunk of images is about this size (it should stay in cache)
CHUNK_BYTES = 2 << 20

#: a whole batch's im2col matrix up to this size is one chunk (and kept for the weight gradient)
WHOLE_BYTES = 8 << 20

#: a group with fewer output channels than this gets row blocks on the flat path (0: never)
SHORT_PRODUCT = 16
BLOCK_ROWS = 24

#: a stride-1 convolution whose im2col matrix is not kept takes the kernel-rows form
#: (_convolve_by_kernel_rows) when a kernel row reads at least this many input columns
#: (C/G * kw): fewer make too short a product (a 3-channel stem is slower that way)
KERNEL_ROWS_MIN_COLUMNS = 16


class ConvGeometry:
    """stride, padding, dilation and groups of one 2-D convolution, plus the im2col maths."""

    __slots__ = ("stride", "padding", "dilation", "groups", "exact")

    def __init__(self, stride, padding, dilation, groups, exact=False):
        self.stride, self.padding = stride, padding      # padding: (top, bottom, left, right)
        self.dilation, self.groups = dilation, groups
        self.exact = exact          # no flat or phased path: no extra columns to read

    def without_extra_columns(self):
        """The same convolution on the ``windows`` path instead of the flat or phased one: its
        im2col matrix holds each window and nothing else (see the module docstring on inf
        and nan)."""
        return ConvGeometry(self.stride, self.padding, self.dilation, self.groups, exact=True)

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
        if self.stride == (1, 1) and not self.exact:
            return "flat"
        if self.stride == (kh, kw) and self.dilation == (1, 1) and not padded:
            return "patches"
        return "windows" if self.exact else "phased"

    def extra_columns(self, kh, kw):
        """Whether the im2col matrix has columns past each output row (flat, phased)."""
        return self.path(kh, kw) in ("flat", "phased")

    def phase_size(self, h, w):
        """(Hq, Wq): the size of one phase of the padded image (rows i, i + sh, ...)."""
        hp, wp = self.padded_size(h, w)
        return -(-hp // self.stride[0]), -(-wp // self.stride[1])

    def phase_taps(self, kh, kw, wq):
        """Per kernel offset (i, j): (its phase (a, b), where its run starts in the flattened
        phase): padded pixel (r * sh + i * dh, s * sw + j * dw) is pixel (r + i * dh // sh,
        s + j * dw // sw) of phase (i * dh % sh, j * dw % sw)."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        return [((i * dh % sh, j * dw % sw), i * dh // sh * wq + j * dw // sw)
                for i in range(kh) for j in range(kw)]

    def row_block(self, kh, kw, group_outputs, oh):
        """How many output rows one im2col column covers: 1, or on the flat path (dilation
        1 down, kernel at least 3 high, so that at most twice the arithmetic is done) for a
        group of fewer than SHORT_PRODUCT outputs, enough for a product about 24 rows tall."""
        if group_outputs >= SHORT_PRODUCT or kh < 3 or self.dilation[0] != 1 or \
                self.path(kh, kw) != "flat":
            return 1
        return max(1, min(8, -(-BLOCK_ROWS // group_outputs), oh))

    def width(self, w, kh, kw):
        """The width of one output row in a layout with extra columns: the padded width
        when ``flat``, a phase's width when ``phased`` (other layouts' rows are the output's:
        see _Layout)."""
        if self.path(kh, kw) == "flat":
            return self.padded_size(1, w)[1]
        return self.phase_size(1, w)[1]

    def padded_size(self, h, w):
        top, bottom, left, right = self.padding
        return h + top + bottom, w + left + right

    def chunks(self, n, column_bytes):
        """(first, end) image ranges whose im2col matrices are about CHUNK_BYTES each
        (``column_bytes``: one image's share), or the whole batch when its matrix is at most
        WHOLE_BYTES."""
        if _whole_batch_fits(n, column_bytes):
            return [(0, n)]
        count = -(-n // max(1, CHUNK_BYTES // max(1, column_bytes)))
        bounds = [n * i // count for i in range(count + 1)]        # chunks of equal size
        return list(zip(bounds[:-1], bounds[1:]))

    # ------------------------------------------------------------ im2col
    def fill_columns(self, images, cols, kh, kw, block=1):
        """Write the im2col matrix of ``images`` (C, m, H, W), any strides (a chunk of x seen
        channel-major), into ``cols`` (G, K, m * L); ``block``: output rows per column."""
        c, m, h, w = images.shape
        oh, ow = self.output_size(h, w, kh, kw)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        path = self.path(kh, kw)
        if path == "pointwise":
            backend_helpers.assign(_view(cols, (c, m, oh, ow)), images[:, :, ::sh, ::sw])
        elif path == "flat":
            hp, wp = self.padded_size(h, w)
            flat = self._flat_padded(images, kw, block)
            s_c, s_n, _ = backend_helpers.strides_of(flat)              # element strides
            if block == 1:
                taps = _strided(flat, (c, kh, kw, m, oh * wp), (s_c, dh * wp, dw, s_n, 1))
            else:                   # (dh is 1) the kh + block - 1 rows of each row block
                taps = _strided(flat, (c, kh + block - 1, kw, m, -(-oh // block), wp),
                                (s_c, wp, dw, s_n, block * wp, 1))
            backend_helpers.assign(_view(cols, taps.shape), taps)
        elif path == "phased":
            phases, (_, wq) = self._phases(images, kh, kw)
            run = oh * wq
            taps = _view(cols, (c, kh * kw, m, run))
            for tap, ((a, b), start) in enumerate(self.phase_taps(kh, kw, wq)):
                phase = _view(phases[:, :, a, b, ...], (c, m, -1))
                backend_helpers.assign(taps[:, tap, ...], phase[:, :, start:start + run])
        elif path == "patches":
            blocks = _view(images[:, :, :oh * kh, :ow * kw], (c, m, oh, kh, ow, kw))
            backend_helpers.assign(_view(cols, (c, kh, kw, m, oh, ow)),
                                   backend.xp.permute_dims(blocks, (0, 3, 5, 1, 2, 4)))
        else:
            padded = self._padded(images)
            s_c, s_n, s_h, s_w = backend_helpers.strides_of(padded)
            taps = _strided(padded, (c, kh, kw, m, oh, ow),
                            (s_c, dh * s_h, dw * s_w, s_n, sh * s_h, sw * s_w))
            backend_helpers.assign(_view(cols, taps.shape), taps)

    def _padded(self, images):
        """(C, m, H, W) -> zero-padded (C, m, Hp, Wp), in workspace memory."""
        if not any(self.padding):
            return images
        c, m, h, w = images.shape
        padded = workspace.empty((c, m) + self.padded_size(h, w), images.dtype)
        _fill_padded(padded, images, self.padding)
        return padded

    def _flat_padded(self, images, kw, block=1):
        """(C, m, H, W) -> (C, m, Hp * Wp + tail): each padded image flattened, with a tail of
        zeros so that the last window row's run (of the last row block) stays inside."""
        c, m, h, w = images.shape
        hp, wp = self.padded_size(h, w)
        tail = (block - 1) * wp + (kw - 1) * self.dilation[1]
        flat = workspace.empty((c, m, hp * wp + tail), images.dtype)
        flat[:, :, hp * wp:] = 0
        _fill_padded(_view(flat[:, :, :hp * wp], (c, m, hp, wp)), images, self.padding)
        return flat

    def _phase_ranges(self, h, w):
        """Per phase (a, b): ((u0, u1), (v0, v1)), its rows and columns that hold image
        pixels (the rest is padding), and the (row, column) slices of those pixels in the
        image, or None when the phase holds none."""
        (sh, sw), (top, _, left, _) = self.stride, self.padding
        hq, wq = self.phase_size(h, w)
        ranges = {}
        for a in range(sh):
            for b in range(sw):
                u0, v0 = -(-(top - a) // sh), -(-(left - b) // sw)
                u1, v1 = min(hq, -(-(h + top - a) // sh)), min(wq, -(-(w + left - b) // sw))
                pixels = None
                if u1 > u0 and v1 > v0:
                    r0, c0 = u0 * sh + a - top, v0 * sw + b - left
                    pixels = (slice(r0, r0 + (u1 - u0 - 1) * sh + 1, sh),
                              slice(c0, c0 + (v1 - v0 - 1) * sw + 1, sw))
                ranges[a, b] = (u0, max(u0, u1)), (v0, max(v0, v1)), pixels
        return ranges

    def _phases(self, images, kh, kw):
        """(C, m, H, W) -> (C, m, sh, sw, Hq + 1, Wq): the padded images split by phase
        (padded pixel (u * sh + a, v * sw + b) at [a, b, u, v]), a row of zeros after each
        phase so that the last run of a tap that starts a few columns in stays inside. Only
        the phases some kernel offset reads are written. Returns it and (Hq, Wq)."""
        c, m, h, w = images.shape
        hq, wq = self.phase_size(h, w)
        phases = workspace.empty((c, m) + self.stride + (hq + 1, wq), images.dtype)
        ranges = self._phase_ranges(h, w)
        for a, b in {phase for phase, _ in self.phase_taps(kh, kw, wq)}:
            (u0, u1), (v0, v1), pixels = ranges[a, b]
            target = phases[:, :, a, b, ...]
            target[:, :, :u0, :] = 0
            target[:, :, u1:, :] = 0
            target[:, :, u0:u1, :v0] = 0
            target[:, :, u0:u1, v1:] = 0
            if pixels is not None:
                backend_helpers.assign(target[:, :, u0:u1, v0:v1],
                                       images[:, :, pixels[0], pixels[1]])
        return phases, (hq, wq)

    def _from_phases(self, phases, images):
        """Write the image pixels of ``phases`` (C, m, sh, sw, Hq, Wq) back into ``images``
        (C, m, H, W): each pixel is in exactly one phase."""
        for (a, b), ((u0, u1), (v0, v1), pixels) in self._phase_ranges(*images.shape[2:]).items():
            if pixels is not None:
                backend_helpers.assign(images[:, :, pixels[0], pixels[1]],
                                       phases[:, :, a, b, u0:u1, v0:v1])

    # ------------------------------------------------------------ col2im
    def add_columns(self, cols, images, kh, kw, out_hw):
        """col2im: the adjoint of ``fill_columns``: write into ``images`` (C, m, H, W) the sum
        of the (G, K, m * L) columns over every window each pixel is in. ``out_hw``: the
        output size the columns are for (a transposed convolution's output padding makes the
        images larger than those windows cover)."""
        xp = backend.xp
        c, m, h, w = images.shape
        oh, ow = out_hw
        top, bottom, left, right = self.padding
        (sh, sw), (dh, dw) = self.stride, self.dilation
        path = self.path(kh, kw)
        if path == "pointwise":
            if (sh, sw) != (1, 1) or (oh, ow) != (h, w):
                images[...] = 0
            backend_helpers.assign(images[:, :, :oh * sh:sh, :ow * sw:sw],
                                   _view(cols, (c, m, oh, ow)))
        elif path == "flat":
            hp, wp = self.padded_size(h, w)
            run = oh * wp
            flat = workspace.zeros((c, m, hp * wp + (kw - 1) * dw), cols.dtype)
            blocks = _view(cols, (c, kh, kw, m, run))
            for i in range(kh):
                for j in range(kw):
                    start = i * dh * wp + j * dw
                    part = flat[:, :, start:start + run]
                    backend_helpers.into(part, xp.add, part, blocks[:, i, j, ...])
            padded = _view(flat[:, :, :hp * wp], (c, m, hp, wp))
            backend_helpers.assign(images, padded[:, :, top:top + h, left:left + w])
        elif path == "phased":
            hq, wq = self.phase_size(h, w)
            run = oh * wq
            phases = workspace.zeros((c, m) + self.stride + (hq * wq + wq,), cols.dtype)
            taps = _view(cols, (c, kh * kw, m, run))
            for tap, ((a, b), start) in enumerate(self.phase_taps(kh, kw, wq)):
                part = phases[:, :, a, b, start:start + run]
                backend_helpers.into(part, xp.add, part, taps[:, tap, ...])
            self._from_phases(_view(phases[..., :hq * wq], phases.shape[:4] + (hq, wq)), images)
        elif path == "patches":
            if (h, w) != (oh * kh, ow * kw):
                images[:, :, oh * kh:, :] = 0
                images[:, :, :, ow * kw:] = 0
            target = _view(images[:, :, :oh * kh, :ow * kw], (c, m, oh, kh, ow, kw))
            backend_helpers.assign(xp.permute_dims(target, (0, 3, 5, 1, 2, 4)),
                                   _view(cols, (c, kh, kw, m, oh, ow)))
        else:
            hp, wp = self.padded_size(h, w)
            padded = workspace.zeros((c, m, hp, wp), cols.dtype)
            blocks = _view(cols, (c, kh, kw, m, oh, ow))
            for i in range(kh):
                for j in range(kw):
                    part = padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                                  j * dw:j * dw + sw * (ow - 1) + 1:sw]
                    backend_helpers.into(part, xp.add, part, blocks[:, i, j, ...])
            backend_helpers.assign(images, padded[:, :, top:top + h, left:left + w])


# ---------------------------------------------------------------- array helpers

def _view(array, shape):
    """``array`` reshaped without copying (it must be possible: these are our own layouts,
    and a silent copy would lose the writes made through the view)."""
    return backend_helpers.view_as(array, shape)


def _strided(array, shape, strides):
    """A read-only view of ``array`` with the given shape and element strides: all kernel
    offsets of the im2col matrix at once (stride tricks, a backend helper)."""
    return backend_helpers.sliding_windows(array, shape, strides)


def _fill_padded(padded, source, padding):
    """Write ``source`` (C, N, H, W) into the middle of ``padded`` and zero the border only."""
    top, bottom, left, right = padding
    hp, wp = padded.shape[2:]
    if top:
        padded[:, :, :top, :] = 0
    if bottom:
        padded[:, :, hp - bottom:, :] = 0
    if left:
        padded[:, :, top:hp - bottom, :left] = 0
    if right:
        padded[:, :, top:hp - bottom, wp - right:] = 0
    backend_helpers.assign(padded[:, :, top:hp - bottom, left:wp - right], source)


def _grouped_weight(w, groups, block=1):
    """w as (G, O/G, K), or for row blocks (G, O/G * block, C/G * (kh + block - 1) * kw):
    row (o, b) is w[o] shifted down b rows, zeros elsewhere."""
    xp = backend.xp
    o, cg, kh, kw = w.shape
    if block == 1:
        return backend_helpers.reshaped(w, (groups, o // groups, -1))
    shifted = xp.zeros((groups, o // groups, block, cg, kh + block - 1, kw), dtype=w.dtype)
    per_group = xp.reshape(w, (groups, o // groups, cg, kh, kw))
    for b in range(block):
        shifted[:, :, b, :, b:b + kh, :] = per_group
    return xp.reshape(shifted, (groups, o // groups * block, -1))


class _Layout:
    """Sizes of one convolution's im2col products: K rows per group, L columns per image
    (``blocks`` rows of ``block`` output rows each, ``width`` columns)."""

    __slots__ = ("path", "kh", "kw", "oh", "ow", "width", "per_image", "rows", "block",
                 "blocks")

    def __init__(self, geometry, x_hw, w_shape, out_hw=None, blocked=True):
        o, cg, self.kh, self.kw = w_shape
        self.path = geometry.path(self.kh, self.kw)
        self.oh, self.ow = out_hw or geometry.output_size(x_hw[0], x_hw[1], self.kh, self.kw)
        # (an output cropped by a transposed convolution's output padding is narrower than
        # its windows: only the flat and phased layouts keep their full row width)
        self.width = geometry.width(x_hw[1], self.kh, self.kw) \
            if geometry.extra_columns(self.kh, self.kw) else self.ow
        self.block = geometry.row_block(self.kh, self.kw, o // geometry.groups, self.oh) \
            if blocked else 1
        self.blocks = -(-self.oh // self.block)
        self.per_image = self.blocks * self.width                    # L
        self.rows = geometry.groups * cg * (self.kh + self.block - 1) * self.kw   # G * K

    def direct(self, geometry):
        """A stride-1 1x1 convolution: the channel-major input is its own im2col matrix."""
        return self.path == "pointwise" and geometry.stride == (1, 1)


def _column_chunks(geometry, layout, n, dtype):
    """(first, end, cols) per chunk of images; cols (G, K, m * L) is one reused buffer."""
    chunks = geometry.chunks(n, _image_column_bytes(layout, dtype))
    widest = max(end - first for first, end in chunks)
    buffer = workspace.empty((layout.rows * widest * layout.per_image,), dtype)
    groups = geometry.groups
    for first, end in chunks:
        size = layout.rows * (end - first) * layout.per_image
        yield first, end, _view(buffer[:size], (groups, layout.rows // groups, -1))


def _channel_major(x):
    """(N, C, H, W) -> a (C, N, H, W) array: a view when x is channel-major already."""
    return backend_helpers.permuted(x, (1, 0, 2, 3))


def _convolve(geometry, x, w, keep_columns=False):
    """The products W @ im2col(x): (G, O/G, N * L) in workspace memory, the layout, and (if
    ``keep_columns`` and the whole batch was one chunk) the im2col matrix, else None."""
    xp = backend.xp
    n = x.shape[0]
    layout = _Layout(geometry, x.shape[2:], w.shape)
    if layout.block > 1 and not _all_finite(x):     # the shifted weights' zeros meet x
        layout, keep_columns = _Layout(geometry, x.shape[2:], w.shape, blocked=False), False
    dtype = xp.result_type(x, w)
    images = _channel_major(x)
    if _by_kernel_rows(layout, w.shape) and not (
            keep_columns and _whole_batch_fits(n, _image_column_bytes(layout, x.dtype))):
        return _convolve_by_kernel_rows(geometry, images, w, dtype, layout), layout, None
    weight = _grouped_weight(w, geometry.groups, layout.block)
    y = workspace.empty((geometry.groups, weight.shape[1], n * layout.per_image), dtype)
    if layout.direct(geometry) and backend_helpers.is_c_contiguous(images):
        return backend_helpers.into(y, xp.matmul, weight, _view(
            images, (geometry.groups, -1, n * layout.per_image))), layout, None
    for first, end, cols in _column_chunks(geometry, layout, n, x.dtype):
        geometry.fill_columns(images[:, first:end, ...], cols, layout.kh, layout.kw,
                              layout.block)
        span = slice(first * layout.per_image, end * layout.per_image)
        backend_helpers.into(y[:, :, span], xp.matmul, weight, cols)
    return y, layout, (cols if keep_columns and end - first == n else None)


def _whole_batch_fits(n, column_bytes):
    """Whether n images' im2col matrix (``column_bytes`` each) is at most WHOLE_BYTES: one
    chunk, which the forward pass keeps for the weight gradient."""
    return n * column_bytes <= WHOLE_BYTES


def _image_column_bytes(layout, dtype):
    """One image's share of the im2col matrix, in bytes."""
    return layout.rows * layout.per_image * backend.numpy_dtype(dtype).itemsize


def _by_kernel_rows(layout, w_shape):
    """Whether a convolution takes the kernel-rows form of the flat path (stride 1; see
    _convolve_by_kernel_rows): no row blocks, a kernel more than a row high, and enough
    input columns per kernel row (C/G * kw) for a product that runs well."""
    _, cg, kh, kw = w_shape
    return layout.path == "flat" and layout.block == 1 and kh > 1 and \
        cg * kw >= KERNEL_ROWS_MIN_COLUMNS


def _convolve_by_kernel_rows(geometry, images, w, dtype, layout):
    """The products W @ im2col(x) of a stride-1 convolution without the full im2col matrix:
    a matrix of the kw column offsets only (C/G * kw rows, a third of the full one for a
    3x3 kernel), taken over each padded image's whole (Hp, Wp) grid, multiplied once by the
    kh kernel rows of W stacked as kh * O/G rows; kernel row i's products, read i padded
    rows further on, are then summed. ``images``: x channel-major (C, N, H, W). Returns y
    (G, O/G, N * Hp * Wp) and sets ``layout`` to that many columns per image (the rows past
    the output's are cropped by _to_nchw). Values: the same sums in another order (float64
    to 1e-12 of the plain path)."""
    xp = backend.xp
    c, n, h, width = images.shape
    o, cg, kh, kw = w.shape
    groups, (dh, dw) = geometry.groups, geometry.dilation
    og = o // groups
    hp, wp = geometry.padded_size(h, width)
    per_image = hp * wp
    shift = dh * wp                                 # one kernel row further on
    reach = (kh - 1) * shift                        # how far the last kernel row reads on
    stacked = backend_helpers.contiguous_copy(xp.permute_dims(
        xp.reshape(w, (groups, og, cg, kh, kw)), (0, 3, 1, 2, 4)))
    stacked = xp.reshape(stacked, (groups, kh * og, cg * kw))       # row (i, o), column (c, j)
    y = workspace.empty((groups, og, n * per_image), dtype)
    item = backend.numpy_dtype(dtype).itemsize
    for first, end in geometry.chunks(n, c * kw * per_image * item):
        size = (end - first) * per_image
        flat = workspace.empty((c, size + reach + (kw - 1) * dw), images.dtype)
        flat[:, size:] = 0
        _fill_padded(_view(flat[:, :size], (c, end - first, hp, wp)), images[:, first:end],
                     geometry.padding)
        cols = workspace.empty((c, kw, size + reach), images.dtype)
        for j in range(kw):
            backend_helpers.assign(cols[:, j, :], flat[:, j * dw:j * dw + size + reach])
        products = workspace.empty((groups, kh * og, size + reach), dtype)
        backend_helpers.into(products, xp.matmul, stacked, _view(cols, (groups, cg * kw, -1)))
        rows = _view(products, (groups, kh, og, size + reach))
        total = y[:, :, first * per_image:end * per_image]     # (kh > 1: _by_kernel_rows)
        backend_helpers.into(total, xp.add, rows[:, 0, :, :size], rows[:, 1, :, shift:shift + size])
        for i in range(2, kh):
            backend_helpers.into(total, xp.add, total, rows[:, i, :, i * shift:i * shift + size])
    layout.blocks, layout.per_image = hp, per_image
    return y


def _to_nchw(y, layout, out_hw=None, bias=None):
    """The (G, O/G, N * L) products as a contiguous (N, O, OH, OW) array (cropped to
    ``out_hw``), with ``bias`` (O,) added first into the products' contiguous rows."""
    xp = backend.xp
    g, og, total = y.shape
    block = layout.block
    og //= block
    n = total // layout.per_image
    oh, ow = out_hw or (layout.oh, layout.ow)
    if bias is not None:
        rows = _view(y, (g * og, block * total))
        backend_helpers.into(rows, xp.add, rows, backend_helpers.reshaped(bias, (-1, 1)))
    out = workspace.empty((n, g * og, oh, ow), y.dtype)
    if block == 1:
        rows = _view(y, (g * og, n, layout.blocks, layout.width))[:, :, :oh, :ow]
        backend_helpers.assign(out, backend_helpers.permuted(rows, (1, 0, 2, 3)))
        return out
    # y[(o, b), (n, row block r, column)] is out[n, o, r * block + b, column]
    blocked = _view(y, (g * og, block, n, layout.blocks, layout.width))
    whole, rest = divmod(oh, block)
    if whole:
        backend_helpers.assign(_view(out[:, :, :whole * block, :], (n, g * og, whole, block, ow)),
                               backend_helpers.permuted(blocked[:, :, :, :whole, :ow],
                                                        (2, 0, 3, 1, 4)))
    if rest:
        backend_helpers.assign(out[:, :, whole * block:, :],
                               xp.permute_dims(blocked[:, :rest, :, whole, :ow], (2, 0, 1, 3)))
    return out


def _as_convolution(geometry, w, x_hw, out_hw):
    """A stride-1 transposed convolution is a convolution of g with the flipped, transposed
    kernel and the complementary padding: (geometry, weight) of that convolution, or None
    when it does not apply or would not be faster. It replaces col2im's kh * kw overlapping
    additions by one im2col copy, and wins when a group has no more outputs than inputs."""
    o, cg, kh, kw = w.shape
    groups = geometry.groups
    if geometry.stride != (1, 1) or geometry.path(kh, kw) != "flat" or o // groups > cg:
        return None
    (dh, dw), (top, _, left, _) = geometry.dilation, geometry.padding
    span_h, span_w = dh * (kh - 1), dw * (kw - 1)
    padding = (span_h - top, x_hw[0] + span_h - out_hw[0] - (span_h - top),
               span_w - left, x_hw[1] + span_w - out_hw[1] - (span_w - left))
    if min(padding) < 0:
        return None
    xp = backend.xp
    flipped = xp.reshape(w, (groups, o // groups, cg, kh, kw))[:, :, :, ::-1, ::-1]
    flipped = backend_helpers.contiguous_copy(xp.permute_dims(flipped, (0, 2, 1, 3, 4)))
    return (ConvGeometry((1, 1), padding, geometry.dilation, groups),
            xp.reshape(flipped, (groups * cg, o // groups, kh, kw)))


def _both_gradients(geometry, g, w, x):
    """(gx, gw) of a stride-1 convolution whose input gradient is a convolution of g (see
    _as_convolution), from one im2col of g: its columns hold g[o, q - offset(i, j)] for every
    input position q, which is what the weight gradient sums against x[c, q], so each chunk's
    matrix serves both products and x's im2col is not rebuilt. None when it does not apply
    (no such convolution, or row blocks in it)."""
    convolution = _as_convolution(geometry, w, x.shape[2:], g.shape[2:])
    if convolution is None or not _all_finite(w):   # inf * g's zero padding would be nan
        return None
    xp = backend.xp
    flipped_geometry, flipped = convolution
    n, groups = g.shape[0], geometry.groups
    layout = _Layout(flipped_geometry, g.shape[2:], flipped.shape)
    if layout.block != 1 or (layout.oh, layout.ow) != tuple(x.shape[2:]):
        return None
    weight = _grouped_weight(flipped, groups)                   # (G, C/G, O/G * kh * kw)
    images = _channel_major(g)
    y = workspace.empty((groups, weight.shape[1], n * layout.per_image), xp.result_type(g, w))
    x_rows = _product_rows(x, groups, layout)                   # (G, C/G, N * L)
    total = None
    for first, end, cols in _column_chunks(flipped_geometry, layout, n, g.dtype):
        flipped_geometry.fill_columns(images[:, first:end, ...], cols, layout.kh, layout.kw)
        span = slice(first * layout.per_image, end * layout.per_image)
        backend_helpers.into(y[:, :, span], xp.matmul, weight, cols)
        part = xp.matmul(cols, xp.permute_dims(x_rows[:, :, span], (0, 2, 1)))
        total = part if total is None else backend_helpers.into(total, xp.add, total, part)
    o, cg, kh, kw = w.shape
    # total[g, (o, kh-1-i, kw-1-j), c] is gw[o, c, i, j]
    parts = xp.reshape(total, (groups, o // groups, kh, kw, cg))[:, :, ::-1, ::-1, :]
    gw = xp.reshape(xp.permute_dims(parts, (0, 1, 4, 2, 3)), w.shape)
    if not _all_finite(gw):
        return _to_nchw(y, layout), _exact_weight_gradient(geometry, x, g, w.shape)
    return _to_nchw(y, layout), backend_helpers.contiguous_copy(gw)


def _input_gradient(geometry, rows, w, x_shape, out_hw):
    """im2col^T(W^T @ rows): the contiguous (N, C, H, W) input gradient of the products'
    gradient ``rows`` (G, O/G, N * L) of an (OH, OW) = ``out_hw`` output."""
    xp = backend.xp
    n, c, h, width = x_shape
    layout = _Layout(geometry, (h, width), w.shape, out_hw, blocked=False)
    weight_t = xp.permute_dims(_grouped_weight(w, geometry.groups), (0, 2, 1))  # (G, K, O/G)
    gx = workspace.empty(x_shape, rows.dtype)
    if layout.direct(geometry) and (layout.oh, layout.ow) == (h, width):
        products = xp.matmul(weight_t, rows)                                 # (G, C/G, N*H*W)
        backend_helpers.assign(gx, xp.permute_dims(_view(products, (c, n, h, width)), (1, 0, 2, 3)))
        return gx
    images = _channel_major(gx)
    for first, end, cols in _column_chunks(geometry, layout, n, rows.dtype):
        span = slice(first * layout.per_image, end * layout.per_image)
        backend_helpers.into(cols, xp.matmul, weight_t, rows[:, :, span])
        geometry.add_columns(cols, images[:, first:end, ...], layout.kh, layout.kw,
                             (layout.oh, layout.ow))
    return gx


def _weight_gradient(geometry, x, rows, w_shape, cols=None):
    """rows @ im2col(x)^T summed over the batch: the (O, C/G, kh, kw) weight gradient
    (``cols``: the whole batch's im2col matrix, if the forward pass kept it). Each product is
    taken as (cols @ rows^T)^T, which OpenBLAS runs markedly faster for these short-and-wide
    shapes."""
    xp = backend.xp
    n = x.shape[0]
    layout = _Layout(geometry, x.shape[2:], w_shape)
    images = _channel_major(x)
    if cols is None and layout.direct(geometry) and backend_helpers.is_c_contiguous(images):
        cols = _view(images, (geometry.groups, -1, n * layout.per_image))
    if cols is not None:
        return _unblocked(xp.matmul(cols, xp.permute_dims(rows, (0, 2, 1))), layout, w_shape)
    total = None
    for first, end, cols in _column_chunks(geometry, layout, n, x.dtype):
        geometry.fill_columns(images[:, first:end, ...], cols, layout.kh, layout.kw,
                              layout.block)
        span = slice(first * layout.per_image, end * layout.per_image)
        part = xp.matmul(cols, xp.permute_dims(rows[:, :, span], (0, 2, 1)))  # (G, K, O/G)
        total = part if total is None else backend_helpers.into(total, xp.add, total, part)
    return _unblocked(total, layout, w_shape)


def _unblocked(products, layout, w_shape):
    """The (G, K, O/G [* block]) weight-gradient products as the (O, C/G, kh, kw) gradient:
    with row blocks, the sum over b of the taps b .. b + kh - 1 of row (o, b)."""
    xp = backend.xp
    if layout.block == 1:
        return xp.reshape(xp.permute_dims(products, (0, 2, 1)), w_shape)
    o, cg, kh, kw = w_shape
    groups, block = products.shape[0], layout.block
    parts = xp.reshape(products, (groups, cg, kh + block - 1, kw, o // groups, block))
    total = parts[:, :, 0:kh, :, :, 0] + parts[:, :, 1:kh + 1, :, :, 1]
    for b in range(2, block):
        total += parts[:, :, b:b + kh, :, :, b]
    return xp.reshape(xp.permute_dims(total, (0, 4, 1, 2, 3)), w_shape)


def _all_finite(array):
    """Whether ``array`` holds no inf or nan: whether its sum is finite (a finite array whose
    sum overflows says no as well, which only sends the caller to its exact path)."""
    return bool(backend.xp.isfinite(backend_helpers.reduced("sum", array)))


def _exact_weight_gradient(geometry, x, g, w_shape):
    """The weight gradient from an im2col matrix of the windows alone, for an x or g with inf
    or nan (see the module docstring): on the flat or phased layout an inf in one met the
    zeros the other has in its extra columns, and 0 * inf is nan. x is cropped to what g's
    windows read (a g smaller than x's windows, after a transposed convolution's output
    padding, would otherwise be padded with zeros that meet x)."""
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    top, _, left, _ = geometry.padding
    kh, kw = w_shape[2:]
    h, w = x.shape[2:]
    reach_h = (g.shape[2] - 1) * sh + dh * (kh - 1) + 1 - top       # rows of x g's windows read
    reach_w = (g.shape[3] - 1) * sw + dw * (kw - 1) + 1 - left
    if reach_h >= 1 and reach_w >= 1:       # (the bottom and right padding: what is read)
        rows, columns = min(h, reach_h), min(w, reach_w)
        x = x[:, :, :rows, :columns]
        geometry = ConvGeometry(geometry.stride, (top, reach_h - rows, left, reach_w - columns),
                                geometry.dilation, geometry.groups)
    exact = geometry.without_extra_columns()
    rows = _product_rows(g, exact.groups, _Layout(exact, x.shape[2:], w_shape))
    return _weight_gradient(exact, x, rows, w_shape)


def _product_rows(g, groups, layout):
    """(N, O, OH, OW) -> (G, O/G, N * L), the layout of the im2col products for an output of
    (layout.oh, layout.width): g in the top-left corner, zeros elsewhere (the flat and phased
    layouts read full padded rows; an output cropped by a transposed convolution's output
    padding is smaller than its windows). Free when g is channel-major and of that size
    already. With row blocks: (G, O/G * block, N * L), row (o, b) holding output rows b,
    b + block, ...."""
    if layout.block > 1:
        return _blocked_rows(g, groups, layout)
    n, o, oh, ow = g.shape
    height, width = layout.oh, layout.width
    channels = _channel_major(g)
    if (height, width) == (oh, ow) and backend_helpers.is_c_contiguous(channels):
        rows = channels
    else:
        rows = workspace.empty((o, n, height, width), g.dtype)
        if width != ow:
            rows[..., ow:] = 0
        if height != oh:
            rows[:, :, oh:, :] = 0
        backend_helpers.assign(rows[:, :, :oh, :ow], channels)
    return _view(rows, (groups, o // groups, -1))


def _blocked_rows(g, groups, layout):
    """_product_rows for row blocks: g[n, o, r * block + b, column] at [(o, b), (n, r,
    column)], zeros past g's rows and columns."""
    xp = backend.xp
    n, o, oh, ow = g.shape
    block = layout.block
    rows = workspace.empty((o, block, n, layout.blocks, layout.width), g.dtype)
    if oh != layout.blocks * block:
        rows[...] = 0
    elif ow != layout.width:
        rows[..., ow:] = 0
    whole, rest = divmod(oh, block)
    if whole:
        whole_blocks = xp.reshape(g[:, :, :whole * block, :], (n, o, whole, block, ow))
        backend_helpers.assign(rows[:, :, :, :whole, :ow],
                               xp.permute_dims(whole_blocks, (1, 3, 0, 2, 4)))
    if rest:
        backend_helpers.assign(rows[:, :rest, :, whole, :ow],
                               xp.permute_dims(g[:, :, whole * block:, :], (1, 2, 0, 3)))
    return _view(rows, (groups, o // groups * block, -1))


# ---------------------------------------------------------------- the three ops

class Conv(Function):
    """y[n, o] = b[o] + sum over c, window of x * w (cross-correlation, as PyTorch's conv2d).
    ``out_hw`` keeps only the first rows and columns of the output (the adjoint of a
    transposed convolution whose output padding made its output larger than its windows)."""

    def __init__(self, geometry, out_hw=None):
        self.geometry, self.out_hw = geometry, out_hw

    def forward(self, x, w, b=None):
        need_x, need_w = self.needs_input_grad[:2]
        self.x_hw, self.w_shape = x.shape[2:], w.shape
        # a batch that is one chunk keeps its im2col matrix for the weight gradient
        y, layout, cols = _convolve(self.geometry, x, w, keep_columns=need_w)
        self.save_for_backward(x if need_w else None, w if need_x else None, cols)
        if self.out_hw == (layout.oh, layout.ow):
            self.out_hw = None
        return _to_nchw(y, layout, self.out_hw, b)

    def backward(self, gy):
        x, w, cols = self.saved_tensors
        return self._gradients(gy, x, w, cols)

    def _gradients(self, gy, x, w, cols):
        need = self.needs_input_grad
        geometry = self.geometry
        both = None
        if need[0] and need[1] and self.out_hw is None and not grad_mode.state.enabled:
            both = _both_gradients(geometry, gy._data, w._data, x._data)
        if both is not None:                # not recorded: the arrays are the gradients
            gx, gw = (gy._make(array, None) for array in both)
            if len(need) == 2:
                return gx, gw
            return gx, gw, (_bias_gradient(gy) if need[2] else None)
        rows = None                         # gy in the product layout, shared by both
        if need[1] and self.out_hw is None:
            layout = _Layout(geometry, self.x_hw, self.w_shape)
            rows = _product_rows(gy._data, geometry.groups, layout)
        shared = rows if rows is not None and layout.block == 1 else None
        gx = ConvInputGrad(geometry, self.x_hw, shared)(gy, w) if need[0] else None
        gw = None
        if need[1]:
            gw = ConvWeightGrad(geometry, self.w_shape, rows,
                                None if cols is None else cols._data)(x, gy)
        if len(need) == 2:
            return gx, gw
        return gx, gw, (_bias_gradient(gy) if need[2] else None)


def _bias_gradient(gy):
    """The bias's gradient, gy (N, O, H, W) summed per channel: on arrays (einsum's faster
    loop) unless the backward pass is recorded."""
    if grad_mode.state.enabled or not backend_helpers.is_c_contiguous(gy._data):
        return gy.sum(dim=(0, 2, 3))
    return gy._make(backend_helpers.channel_sums(backend_helpers.channel_rows(gy._data)), None)


class ConvReLU(activation.ReLUAfter, Conv):
    """Kept as a gate for speed: relu(conv2d(x, w) + b) in one node, for a convolution whose
    output only a ReLU reads (``nn.Sequential``'s Conv2d then ReLU); see ``ReLUAfter``."""


class ConvInputGrad(Function):
    """The adjoint of Conv in x (conv_transpose2d): spreads g back through each window."""

    def __init__(self, geometry, x_hw, rows=None):
        self.geometry, self.x_hw = geometry, tuple(x_hw)
        self.given_rows = rows              # g in the product layout, when the caller has it

    def forward(self, g, w):
        need_g, need_w = self.needs_input_grad
        self.save_for_backward(g if need_w else None, w if need_g else None)
        self.w_shape, self.g_hw = w.shape, g.shape[2:]
        groups = self.geometry.groups
        rows, self.given_rows = self.given_rows, None
        geometry = self.geometry
        if geometry.extra_columns(*w.shape[2:]) and not _all_finite(w):
            geometry, rows = geometry.without_extra_columns(), None     # (and no _as_convolution)
        convolution = _as_convolution(geometry, w, self.x_hw, g.shape[2:])
        if convolution is not None:
            y, layout, _ = _convolve(convolution[0], g, convolution[1])
            return _to_nchw(y, layout)
        if rows is None:
            rows = _product_rows(g, groups, _Layout(geometry, self.x_hw, w.shape,
                                                    g.shape[2:], blocked=False))
        x_shape = (g.shape[0], w.shape[1] * groups) + self.x_hw
        return _input_gradient(geometry, rows, w, x_shape, g.shape[2:])

    def backward(self, ggx):
        g, w = self.saved_tensors
        need_g, need_w = self.needs_input_grad
        gg = Conv(self.geometry, self.g_hw)(ggx, w) if need_g else None
        gw = ConvWeightGrad(self.geometry, self.w_shape)(ggx, g) if need_w else None
        return gg, gw


class ConvWeightGrad(Function):
    """The adjoint of Conv in w: correlates x with g, summed over the batch."""

    def __init__(self, geometry, w_shape, rows=None, cols=None):
        self.geometry, self.w_shape = geometry, tuple(w_shape)
        self.given_rows = rows              # g in the product layout, when the caller has it
        self.given_cols = cols              # x's im2col matrix, when the forward pass kept it

    def forward(self, x, g):
        need_x, need_g = self.needs_input_grad
        self.save_for_backward(x if need_g else None, g if need_x else None)
        self.x_hw = x.shape[2:]
        self.g_hw = g.shape[2:]
        rows, self.given_rows = self.given_rows, None
        if rows is None:
            rows = _product_rows(g, self.geometry.groups,
                                 _Layout(self.geometry, x.shape[2:], self.w_shape))
        cols, self.given_cols = self.given_cols, None
        gw = _weight_gradient(self.geometry, x, rows, self.w_shape, cols)
        if self.geometry.extra_columns(*self.w_shape[2:]) and not _all_finite(gw):
            return _exact_weight_gradient(self.geometry, x, g, self.w_shape)
        return gw

    def backward(self, ggw):
        x, g = self.saved_tensors
        need_x, need_g = self.needs_input_grad
        gx = ConvInputGrad(self.geometry, self.x_hw)(g, ggw) if need_x else None
        gg = Conv(self.geometry, self.g_hw)(x, ggw) if need_g else None
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
