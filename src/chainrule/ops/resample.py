"""Resampling: PyTorch's F.interpolate (nearest, nearest-exact, linear, bilinear, bicubic,
trilinear, area), F.grid_sample (bilinear, nearest; zeros, border, reflection) and
F.affine_grid.

Every interpolate mode is separable: along each spatial axis an output position reads a few
input positions with weights (ops.taps), computed exactly as PyTorch's CPU kernels do it —
the same source-index formulas, the float32 scale of the nearest modes, the copy when an
axis keeps its size, the clamped taps of bicubic, the adaptive-pooling bins of area. One
:class:`ResizeTaps` node per call (exported as ONNX Resize).

grid_sample is composed of differentiable ops: the sampling coordinates are an elementwise
function of the grid, the corner weights are differences of them, and the corner values are
a gather of the input (its gradient a scatter-add), so both input and grid get gradients.
"""
import math
import warnings

import numpy

from .. import backend
from ..errors import ArgumentError, ArgumentTypeError, ShapeError
from .indexing import GetItem
from .taps import AxisTaps, Taps

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_SPATIAL = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


# ---------------------------------------------------------------- one axis of interpolate

def _float32_scale(in_size, out_size, scale):
    """compute_scales_value<float>: 1 / scale_factor when one was given, else in / out."""
    if scale is not None and scale > 0:
        return numpy.float32(1.0 / scale)
    return numpy.float32(in_size) / numpy.float32(out_size)


def _linear_scale(in_size, out_size, align_corners, scale):
    """area_pixel_compute_scale (in the float64 of the computation)."""
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    if scale is not None and scale > 0:
        return 1.0 / scale
    return in_size / out_size


def _source(in_size, out_size, align_corners, scale, cubic):
    """area_pixel_compute_source_index for every output position (linear and cubic)."""
    ratio = _linear_scale(in_size, out_size, align_corners, scale)
    o = numpy.arange(out_size, dtype=numpy.float64)
    if align_corners:
        return ratio * o
    src = ratio * (o + 0.5) - 0.5
    return src if cubic else numpy.maximum(src, 0.0)


def _cubic_weights(t):
    a = -0.75

    def near(x):                       # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):                        # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return numpy.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def axis_taps(mode, axis, in_size, out_size, align_corners=False, scale=None, spatial=2):
    """The :class:`AxisTaps` of one axis, as PyTorch's kernel computes it (``spatial``: the
    number of spatial axes; only PyTorch's 2-D nearest kernel copies a kept size)."""
    o = numpy.arange(out_size)
    if mode == "nearest":
        if spatial != 2:
            index = numpy.floor(o.astype(numpy.float32) *
                                _float32_scale(in_size, out_size, scale)).astype(numpy.int64)
        elif out_size == in_size:
            index = o
        elif out_size == 2 * in_size:
            index = o >> 1
        else:
            s = _float32_scale(in_size, out_size, scale)
            index = numpy.floor(o.astype(numpy.float32) * s).astype(numpy.int64)
        return AxisTaps(axis, numpy.minimum(index, in_size - 1), None, in_size)
    if mode == "nearest-exact":
        s = _float32_scale(in_size, out_size, scale)
        position = ((o + 0.5) * numpy.float64(s)).astype(numpy.float32)     # floorf(double)
        index = numpy.floor(position).astype(numpy.int64)
        return AxisTaps(axis, numpy.minimum(index, in_size - 1), None, in_size)
    if mode == "area":
        start = (o * in_size) // out_size
        end = -((-(o + 1) * in_size) // out_size)
        width = end - start
        k = numpy.arange(int(width.max()))
        index = numpy.minimum(start[:, None] + k, end[:, None] - 1)
        weight = numpy.where(k < width[:, None], 1.0 / width[:, None], 0.0)
        return AxisTaps(axis, index, weight, in_size)
    if mode == "cubic":
        src = _source(in_size, out_size, align_corners, scale, cubic=True)
        first = numpy.minimum(numpy.floor(src.astype(numpy.float32)).astype(numpy.int64),
                              in_size - 1)
        t = numpy.clip(src - first, 0.0, 1.0)
        index = numpy.clip(first[:, None] - 1 + numpy.arange(4), 0, in_size - 1)
        return AxisTaps(axis, index, _cubic_weights(t), in_size)
    # linear: a kept size is a copy, whatever the scale
    if out_size == in_size:
        return AxisTaps(axis, o, None, in_size)
    src = _source(in_size, out_size, align_corners, scale, cubic=False)
    low = numpy.minimum(src.astype(numpy.int64), in_size - 1)
    high = low + (low < in_size - 1)
    upper = numpy.clip(src - low, 0.0, 1.0)
    return AxisTaps(axis, numpy.stack([low, high], axis=1),
                    numpy.stack([1.0 - upper, upper], axis=1), in_size)


class ResizeTaps(Taps):
    """F.interpolate as one node (ops.taps); exported as ONNX Resize (not ``area``)."""

    def __init__(self, plan, mode, align_corners, scales, sizes):
        super().__init__(plan)
        self.mode, self.align_corners = mode, align_corners
        self.scales, self.sizes = scales, sizes   # scales: PyTorch's (None: from sizes)

    def to_onnx(self, builder, inputs, dynamic_batch):
        if self.mode == "area":
            raise ArgumentError("ONNX export: interpolate(mode='area') has no ONNX Resize "
                                "equivalent (use adaptive_avg_pool)")
        attrs = {}
        if self.mode in ("nearest", "nearest-exact"):
            attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor")
            if self.mode == "nearest-exact":
                attrs.update(coordinate_transformation_mode="half_pixel",
                             nearest_mode="round_prefer_ceil")
        else:
            attrs = dict(mode="cubic" if self.mode == "bicubic" else "linear",
                         coordinate_transformation_mode="align_corners"
                         if self.align_corners else "half_pixel")
            if self.mode == "bicubic":
                attrs.update(cubic_coeff_a=-0.75, exclude_outside=0)
        x = inputs[0]
        if self.scales is not None:
            scales = builder.constant(numpy.asarray([1.0, 1.0] + list(self.scales),
                                                    dtype=numpy.float32))
            return builder.node("Resize", [x, "", scales], **attrs)
        head = builder.node("Slice", [builder.node("Shape", [x]), builder.ints([0]),
                                      builder.ints([2])])
        sizes = builder.node("Concat", [head, builder.ints(list(self.sizes))], axis=0)
        return builder.node("Resize", [x, "", "", sizes], **attrs)


def _is_int(v):
    return isinstance(v, (int, numpy.integer)) and not isinstance(v, bool)


def _output_sizes(input, size, scale_factor, mode, recompute_scale_factor):
    """(output sizes, PyTorch's per-axis scales or None), as F.interpolate decides them."""
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ArgumentError("interpolate: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ArgumentError("interpolate: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ArgumentError("interpolate: recompute_scale_factor is not meaningful with an "
                            "explicit size")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,) * dim
        if len(sizes) != dim:
            raise ShapeError(f"interpolate: input with spatial dimensions "
                             f"{list(input.shape[2:])} and output size {size} differ in "
                             "length (input must be (N, C, d1, ..., dK))")
        if not all(_is_int(s) for s in sizes):
            raise ArgumentTypeError(f"interpolate: size must be ints, got {size}")
        return tuple(int(s) for s in sizes), None
    factors = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else \
        (scale_factor,) * dim
    if len(factors) != dim:
        raise ShapeError(f"interpolate: input with spatial dimensions {list(input.shape[2:])} "
                         f"and scale_factor {scale_factor} differ in length")
    factors = tuple(float(f) for f in factors)
    sizes = tuple(int(math.floor(n * f)) for n, f in zip(input.shape[2:], factors))
    if mode == "area" or recompute_scale_factor:
        return sizes, None
    return sizes, factors


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial axes of (N, C, d1, ..., dK) input (PyTorch's F.interpolate).

    >>> import chainrule
    >>> x = chainrule.tensor([[[1.0, 2.0]]])
    >>> interpolate(x, scale_factor=2, mode="linear").tolist()
    [[[1.0, 1.25, 1.75, 2.0]]]
    >>> interpolate(x, size=3, mode="linear", align_corners=True).tolist()
    [[[1.0, 1.5, 2.0]]]
    """
    if mode not in MODES:
        raise ArgumentError(f"interpolate: unknown mode {mode!r}; modes are {MODES}")
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ArgumentError("interpolate: align_corners can only be set with the "
                                "interpolating modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise ArgumentError("interpolate: antialias=True is not supported by chainrule")
    if input.ndim not in (3, 4, 5) or _SPATIAL.get(mode, input.ndim - 2) != input.ndim - 2:
        need = f"{_SPATIAL[mode] + 2}D" if mode in _SPATIAL else "3D, 4D or 5D"
        raise ShapeError(f"interpolate: mode {mode!r} needs {need} input (N, C, ...), got "
                         f"shape {input.shape}")
    sizes, scales = _output_sizes(input, size, scale_factor, mode, recompute_scale_factor)
    if min(sizes) < 1 or min(input.shape[1:]) < 1:
        raise ShapeError(f"interpolate: input and output sizes should be greater than 0, "
                         f"got input {input.shape} and output size {sizes}")
    kind = {"linear": "linear", "bilinear": "linear", "trilinear": "linear",
            "bicubic": "cubic"}.get(mode, mode)
    plan = [axis_taps(kind, 2 + i, input.shape[2 + i], out, align_corners,
                      None if scales is None else scales[i], len(sizes))
            for i, out in enumerate(sizes)]
    return ResizeTaps(plan, mode, align_corners, scales, sizes)(input)


# ---------------------------------------------------------------- grid_sample, affine_grid

def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    """PyTorch's reflect_coordinates: mirror ``coord`` into [low, high] (halves given)."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    flips = numpy.floor(backend.to_numpy(distance._data) / span)
    extra = distance - coord._make(backend.xp.asarray(flips * span, dtype=coord._data.dtype),
                                   None)
    even = coord._make(backend.xp.asarray(numpy.mod(flips, 2) == 0, dtype=coord._data.dtype),
                       None)
    return (extra + low) * even + ((span - extra) + low) * (1 - even)


def _source_coordinates(coord, size, padding_mode, align_corners):
    """grid_sampler_compute_source_index: pixel coordinates after padding_mode."""
    coord = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        return coord.clamp(0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        return coord.clamp(0, size - 1)
    return coord


def _gather(input, corner):
    """input[n, :, i_d, ..., i_w] for integer corner arrays of shape (N, *out)."""
    n, c = input.shape[:2]
    xp = backend.xp
    out_ndim = corner[0].ndim - 1
    batch = xp.arange(n).reshape((n, 1) + (1,) * out_ndim)
    channel = xp.arange(c).reshape((1, c) + (1,) * out_ndim)
    index = (batch, channel) + tuple(xp.asarray(i)[:, None] for i in corner)
    return GetItem(index)(input)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` (N, C, H, W) or (N, C, D, H, W) at ``grid`` (N, H_out, W_out, 2) or
    (N, D_out, H_out, W_out, 3) of (x, y[, z]) in [-1, 1] (PyTorch's F.grid_sample).

    >>> import chainrule
    >>> x = chainrule.arange(4.0).reshape(1, 1, 2, 2)
    >>> grid = chainrule.tensor([[[[0.0, 0.0], [-1.0, -1.0]]]])
    >>> grid_sample(x, grid, align_corners=True).tolist()
    [[[[1.5, 0.0]]]]
    """
    if mode not in ("bilinear", "nearest"):
        raise ArgumentError(f"grid_sample: mode must be 'bilinear' or 'nearest' in chainrule "
                            f"(PyTorch also has 'bicubic'), got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError(f"grid_sample: padding_mode must be 'zeros', 'border' or "
                            f"'reflection', got {padding_mode!r}")
    spatial = input.ndim - 2
    if spatial not in (2, 3) or grid.ndim != input.ndim or grid.shape[-1] != spatial or \
            grid.shape[0] != input.shape[0]:
        raise ShapeError(f"grid_sample: expected input (N, C, H, W) with grid (N, H_out, "
                         f"W_out, 2), or 5-D input with grid (N, D, H, W, 3); got input "
                         f"{input.shape} and grid {grid.shape}")
    if input._data.dtype != grid._data.dtype:
        raise ArgumentTypeError(f"grid_sample: input ({input._data.dtype}) and grid "
                                f"({grid._data.dtype}) must have the same dtype")
    align_corners = bool(align_corners)
    sizes = input.shape[2:]                      # (D,) H, W; the grid lists x (W) first
    coords = [_source_coordinates(grid[..., spatial - 1 - axis], sizes[axis], padding_mode,
                                  align_corners) for axis in range(spatial)]
    values = [backend.to_numpy(c._data) for c in coords]
    if mode == "nearest":
        corner = [numpy.rint(v).astype(numpy.int64) for v in values]
        return _masked_corner(input, corner, sizes)
    low = [numpy.floor(v).astype(numpy.int64) for v in values]
    total = None
    for offsets in numpy.ndindex(*(2,) * spatial):
        corner = [lo + o for lo, o in zip(low, offsets)]
        weight = None
        for coord, lo, o in zip(coords, low, offsets):
            lower = coord._make(backend.xp.asarray(lo, dtype=coord._data.dtype), None)
            part = (coord - lower) if o else (lower + 1 - coord)
            weight = part if weight is None else weight * part
        term = _masked_corner(input, corner, sizes) * weight.unsqueeze(1)
        total = term if total is None else total + term
    return total


def _masked_corner(input, corner, sizes):
    """The input at one corner per output position, zero where the corner is outside."""
    inside = numpy.ones(corner[0].shape, dtype=bool)
    for index, size in zip(corner, sizes):
        inside &= (index >= 0) & (index < size)
    clipped = [numpy.clip(index, 0, size - 1) for index, size in zip(corner, sizes)]
    values = _gather(input, clipped)
    if inside.all():
        return values
    mask = backend.xp.asarray(inside[:, None], dtype=input._data.dtype)
    return values * input._make(mask, None)


def _base_axis(steps, align_corners):
    """linspace_from_neg_one: the normalised coordinates of ``steps`` pixels."""
    if steps <= 1:
        return numpy.zeros(max(steps, 1))
    values = numpy.linspace(-1.0, 1.0, steps)
    return values if align_corners else values * (steps - 1) / steps


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of a batch of affine maps (PyTorch's F.affine_grid): theta (N, 2, 3)
    for size (N, C, H, W), or (N, 3, 4) for (N, C, D, H, W).

    >>> import chainrule
    >>> theta = chainrule.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> affine_grid(theta, (1, 1, 1, 2), align_corners=True).tolist()
    [[[[-1.0, 0.0], [1.0, 0.0]]]]
    """
    size = tuple(int(s) for s in size)
    if not backend.is_floating(theta._data.dtype):
        raise ArgumentTypeError(f"affine_grid: expected theta to have a floating point type, "
                                f"got {theta._data.dtype}")
    if len(size) not in (4, 5):
        raise ShapeError(f"affine_grid: size must be 4-D (2-D transforms) or 5-D (3-D), got "
                         f"{size}")
    spatial = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (spatial, spatial + 1) or \
            theta.shape[0] != size[0]:
        raise ShapeError(f"affine_grid: expected a batch of {spatial}-D affine matrices of "
                         f"shape ({size[0]}, {spatial}, {spatial + 1}) for size {size}, got "
                         f"{theta.shape}")
    if min(size) <= 0:
        raise ShapeError(f"affine_grid: expected a positive output size, got {size}")
    align_corners = bool(align_corners)
    axes = [_base_axis(n, align_corners) for n in size[2:]]      # (D,) H, W
    mesh = numpy.meshgrid(*axes, indexing="ij")
    base = numpy.stack(list(mesh[::-1]) + [numpy.ones_like(mesh[0])], axis=-1)    # x, y[, z], 1
    base = theta._make(backend.xp.asarray(base.reshape(-1, spatial + 1),
                                          dtype=theta._data.dtype), None)
    grid = base @ theta.transpose(1, 2)                                   # (N, P, spatial)
    return grid.reshape((size[0],) + size[2:] + (spatial,))


def _deprecated(name):
    warnings.warn(f"nn.functional.{name} is deprecated. Use nn.functional.interpolate "
                  "instead.", UserWarning, stacklevel=3)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """PyTorch's deprecated F.upsample: :func:`interpolate` with a warning.

    >>> import chainrule, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     upsample(chainrule.ones(1, 1, 2), scale_factor=2).shape
    (1, 1, 4)
    """
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """PyTorch's deprecated F.upsample_nearest: nearest :func:`interpolate`, with a warning.

    >>> import chainrule, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     upsample_nearest(chainrule.ones(1, 1, 2, 2), scale_factor=2).shape
    (1, 1, 4, 4)
    """
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """PyTorch's deprecated F.upsample_bilinear: bilinear with align_corners=True.

    >>> import chainrule, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     upsample_bilinear(chainrule.ones(1, 1, 2, 2), size=3).shape
    (1, 1, 3, 3)
    """
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
