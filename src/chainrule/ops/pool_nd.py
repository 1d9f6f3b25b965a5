"""Pooling over 1, 2 or 3 spatial axes with every PyTorch option: max pooling (dilation,
ceil_mode, indices), average pooling (ceil_mode, count_include_pad, divisor_override),
adaptive max pooling, and the index scatter and gather that max pooling's gradient and max
unpooling share.

Arrays are ``(..., *spatial)``: any leading axes (batch and channels, or channels alone for
unbatched input), then D spatial axes. A window is visited one kernel offset at a time: the
values every window holds at one offset are one strided slice of the padded input, so memory
stays at the output's size whatever the kernel.

Max pooling follows PyTorch's CPU loop: each window's running maximum starts at -inf (the
lowest integer for integer input) at the window's first position inside the input, and moves
to a later position whose value is greater, or NaN. So the gradient goes to the first maximum
in row-major order, or to the last NaN of a window that holds one. Indices are flat positions
within each input plane (int64), as PyTorch's.

The fast 2-D paths for the default options (tiling windows, no padding) are in
:mod:`chainrule.ops.pool`; :mod:`chainrule.ops.pool_functional` chooses between the two.
"""
import itertools
import math

import numpy

from .. import backend
from ..autograd.function import Function

_INDEX = numpy.int64


def pooled_length(length, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's output length of a pooling along one axis (``pooling_output_shape``): with
    ceil_mode a last, partial window is kept only if it starts inside the input or the left
    padding."""
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= length + padding:
        out -= 1
    return out


class Windows:
    """Where the windows of a pooling lie along each spatial axis of its input.

    >>> Windows((5,), (2,), (2,), (0,), (1,), ceil_mode=True).out_size
    (3,)
    """

    def __init__(self, in_size, kernel, stride, padding, dilation, ceil_mode=False):
        self.in_size, self.kernel, self.stride = tuple(in_size), kernel, stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode
        self.out_size = tuple(pooled_length(*axis, ceil_mode) for axis in
                              zip(in_size, kernel, stride, padding, dilation))
        # the size without ceil_mode (the same but where ceil_mode adds a partial window)
        self.floor_size = self.out_size if not ceil_mode else tuple(
            pooled_length(*axis, False) for axis in zip(in_size, kernel, stride, padding,
                                                         dilation))

    @property
    def ndim(self):
        return len(self.kernel)

    @property
    def plane_size(self):
        return math.prod(self.in_size)

    def offsets(self):
        """Every kernel offset, row-major (the order PyTorch visits a window in)."""
        return itertools.product(*[range(k) for k in self.kernel])

    def starts(self, axis):
        """Where each window begins along ``axis`` (negative inside the left padding)."""
        return numpy.arange(self.out_size[axis], dtype=_INDEX) * self.stride[axis] - \
            self.padding[axis]

    def right_padding(self):
        """How far past the input the last window reaches on each axis (0 if it does not)."""
        return tuple(max(0, (o - 1) * s + (k - 1) * d + 1 - p - n) for o, s, k, d, p, n in
                     zip(self.out_size, self.stride, self.kernel, self.dilation, self.padding,
                         self.in_size))

    def padded_size(self):
        return tuple(n + p + r for n, p, r in zip(self.in_size, self.padding,
                                                 self.right_padding()))

    def padded(self, x, fill):
        """x with ``fill`` around it, so that every window lies inside (x itself if it does)."""
        right = self.right_padding()
        if not any(self.padding) and not any(right):
            return x
        widths = [(0, 0)] * (x.ndim - self.ndim) + list(zip(self.padding, right))
        return backend.xp.pad(x, widths, constant_values=fill)

    def crop(self, padded):
        """The input's part of an array of the padded size (the inverse of ``padded``)."""
        return padded[(Ellipsis,) + tuple(slice(p, p + n) for p, n in
                                          zip(self.padding, self.in_size))]

    def slices(self, offset):
        """Index of the padded input that gives every window's value at a kernel offset."""
        return (Ellipsis,) + tuple(slice(k * d, k * d + (o - 1) * s + 1, s) for k, d, o, s in
                                   zip(offset, self.dilation, self.out_size, self.stride))

    def flat_index(self, positions_per_axis):
        """Flat plane positions (row-major) from per-axis position arrays, broadcast to the
        output's spatial shape."""
        flat = numpy.zeros(self.out_size, dtype=_INDEX)
        step = 1
        for axis in reversed(range(self.ndim)):
            shape = [1] * self.ndim
            shape[axis] = -1
            flat = flat + positions_per_axis[axis].reshape(shape) * step
            step *= self.in_size[axis]
        return backend.xp.asarray(flat)

    def flat_positions(self, offset):
        """Each window's flat input position at a kernel offset."""
        return self.flat_index([self.starts(axis) + k * self.dilation[axis]
                                for axis, k in enumerate(offset)])

    def first_inside(self):
        """Per axis, each window's first position at or after 0 (PyTorch's ``while (ih0 < 0)
        ih0 += dilation``); past the input when a window holds no input at all."""
        firsts = []
        for axis in range(self.ndim):
            start, d = self.starts(axis), self.dilation[axis]
            firsts.append(numpy.where(start < 0, start + (-start + d - 1) // d * d, start))
        return firsts

    def has_empty_windows(self):
        """Some window lies wholly in the padding, between dilated taps (PyTorch then gives
        -inf and an index past the plane)."""
        return any(bool((first >= n).any()) for first, n in zip(self.first_inside(),
                                                                self.in_size))

    def divisor(self, count_include_pad, divisor_override, dtype):
        """What average pooling divides each window's sum by: PyTorch's ``pool_size`` (the
        window clipped to the padded input), the count of input values, or the override.
        A number when it is the same for every window, else an array of the output's shape."""
        if divisor_override is not None:
            return divisor_override
        counts = numpy.ones(self.out_size, dtype=_INDEX)
        for axis in range(self.ndim):
            start, k, n = self.starts(axis), self.kernel[axis], self.in_size[axis]
            if count_include_pad:
                count = numpy.minimum(start + k, n + self.padding[axis]) - start
            else:
                count = numpy.minimum(start + k, n) - numpy.maximum(start, 0)
            shape = [1] * self.ndim
            shape[axis] = -1
            counts = counts * count.reshape(shape)
        if counts.size and (counts == counts.flat[0]).all():
            return int(counts.flat[0])
        return backend.xp.asarray(counts.astype(dtype))


def _lowest(dtype):
    return -numpy.inf if backend.is_floating(dtype) else numpy.iinfo(dtype).min


def _may_hold_nan(x):
    return backend.is_floating(x.dtype) and bool(backend.xp.isnan(x).any())


class MaxPoolNd(Function):
    """The max of each window; each window's flat input index is kept (int64, PyTorch's
    choice of position) when a gradient or the indices are wanted."""

    def __init__(self, windows, keep_indices=False):
        self.windows, self.keep_indices = windows, keep_indices
        self.indices = None

    def forward(self, x):
        xp = backend.xp
        windows = self.windows
        lowest = _lowest(x.dtype)
        padded = windows.padded(x, lowest)
        shape = x.shape[:x.ndim - windows.ndim] + windows.out_size
        best = xp.full(shape, lowest, dtype=x.dtype)
        track = self.keep_indices or self.needs_input_grad[0]
        index = nan = None
        if track:
            index = xp.empty(shape, dtype=_INDEX)
            index[...] = windows.flat_index(windows.first_inside())
            nan = _may_hold_nan(x)
        for offset in windows.offsets():
            values = padded[windows.slices(offset)]
            if track:
                better = values > best
                if nan:
                    better |= xp.isnan(values)
                xp.copyto(index, windows.flat_positions(offset), where=better)
            xp.maximum(best, values, out=best)
        self.indices = index
        self.save_for_backward(index if self.needs_input_grad[0] else None)
        return best

    def backward(self, gy):
        (index,) = self.saved_tensors
        windows = self.windows
        return ScatterToIndices(index._data, windows.in_size, windows.has_empty_windows())(gy)


class AdaptiveMaxPoolNd(Function):
    """The max of each of PyTorch's adaptive bins (bin i of n along an axis of length L covers
    [floor(i L / n), ceil((i + 1) L / n))), with the flat input index of the chosen value.

    The bins are gathered into a (..., *out, K) array — short bins padded with a repeat of
    their last position, which changes neither the max nor the chosen index — and reduced
    along K: argmax gives the first maximum; a bin holding NaN takes its last NaN."""

    def __init__(self, in_size, out_size, keep_indices=False):
        self.in_size, self.out_size, self.keep_indices = tuple(in_size), out_size, keep_indices
        self.indices = None

    def _bins(self, axis):
        n, m = self.in_size[axis], self.out_size[axis]
        i = numpy.arange(m, dtype=_INDEX)
        start, end = (i * n) // m, -((-(i + 1) * n) // m)
        width = int((end - start).max()) if m else 1
        return numpy.minimum(start[:, None] + numpy.arange(width), end[:, None] - 1)

    def forward(self, x):
        xp = backend.xp
        d = len(self.in_size)
        bins = [self._bins(axis) for axis in range(d)]
        # axis a's bins as an index of shape (1, .., O_a, K_a, .., 1): the gather gives
        # (..., O_1, K_1, ..., O_d, K_d), then the K axes move last
        index_arrays, flat = [], numpy.zeros((1,) * (2 * d), dtype=_INDEX)
        step = self.plane_step()
        for axis, table in enumerate(bins):
            shape = [1] * (2 * d)
            shape[2 * axis], shape[2 * axis + 1] = table.shape
            index_arrays.append(xp.asarray(table.reshape(shape)))
            flat = flat + table.reshape(shape) * step[axis]
        gathered = x[(Ellipsis,) + tuple(index_arrays)]
        lead = x.ndim - d
        order = list(range(lead)) + [lead + 2 * a for a in range(d)] + \
            [lead + 2 * a + 1 for a in range(d)]
        width = math.prod(table.shape[1] for table in bins)
        windows = xp.transpose(gathered, order)
        windows = windows.reshape(windows.shape[:lead + d] + (width,))
        best = windows.max(axis=-1)
        if self.keep_indices or self.needs_input_grad[0]:
            choice = windows.argmax(axis=-1)
            if _may_hold_nan(x):
                nan = xp.isnan(windows)
                last_nan = nan.shape[-1] - 1 - nan[..., ::-1].argmax(axis=-1)
                choice = xp.where(nan.any(axis=-1), last_nan, choice)
            flat = numpy.transpose(flat, [2 * a for a in range(d)] + [2 * a + 1
                                                                      for a in range(d)])
            flat = xp.asarray(flat.reshape(tuple(self.out_size) + (width,)))
            self.indices = xp.take_along_axis(xp.broadcast_to(flat, windows.shape),
                                              choice[..., None], axis=-1)[..., 0]
        self.save_for_backward(self.indices if self.needs_input_grad[0] else None)
        return best

    def plane_step(self):
        """How far one step along each spatial axis moves in a flat plane."""
        return [math.prod(self.in_size[axis + 1:]) for axis in range(len(self.in_size))]

    def backward(self, gy):
        (index,) = self.saved_tensors
        return ScatterToIndices(index._data, self.in_size)(gy)


def _planes(index, plane_ndim):
    """index as (planes, positions per plane), and the row offsets of each plane."""
    lead = index.shape[:index.ndim - plane_ndim]
    planes = math.prod(lead)
    return index.reshape(planes, -1), lead, planes


class ScatterToIndices(Function):
    """Values added into zero planes of ``plane_shape`` at flat ``index`` (the gradient of max
    pooling: each window's gradient goes to its chosen position). Linear; its derivative
    gathers (:class:`GatherAtIndices`)."""

    def __init__(self, index, plane_shape, may_overflow=False):
        self.index, self.plane_shape, self.may_overflow = index, tuple(plane_shape), may_overflow

    def forward(self, values):
        xp = backend.xp
        index, lead, planes = _planes(self.index, len(self.plane_shape))
        plane = math.prod(self.plane_shape)
        weights = values.reshape(planes, -1).astype(numpy.float64)
        if self.may_overflow:                 # PyTorch drops an index past the plane
            weights = xp.where(index < plane, weights, 0.0)
            index = xp.minimum(index, plane - 1)
        targets = index + xp.arange(planes, dtype=_INDEX)[:, None] * plane
        total = xp.bincount(targets.reshape(-1), weights=weights.reshape(-1),
                            minlength=planes * plane)
        return total.astype(values.dtype).reshape(lead + self.plane_shape)

    def backward(self, gy):
        return GatherAtIndices(self.index, len(self.plane_shape), self.may_overflow)(gy)


class GatherAtIndices(Function):
    """Each plane of x read at flat ``index`` (the adjoint of :class:`ScatterToIndices`; the
    gradient of max unpooling, as PyTorch defines it)."""

    def __init__(self, index, plane_ndim, may_overflow=False):
        self.index, self.plane_ndim, self.may_overflow = index, plane_ndim, may_overflow

    def forward(self, x):
        xp = backend.xp
        self.plane_shape = x.shape[x.ndim - self.plane_ndim:]
        index, _, planes = _planes(self.index, self.plane_ndim)
        plane = math.prod(self.plane_shape)
        rows = x.reshape(planes, plane)
        if self.may_overflow:
            picked = xp.take_along_axis(rows, xp.minimum(index, plane - 1), axis=1)
            picked = xp.where(index < plane, picked, x.dtype.type(0))
        else:
            picked = xp.take_along_axis(rows, index, axis=1)
        return picked.reshape(self.index.shape)

    def backward(self, gy):
        return ScatterToIndices(self.index, self.plane_shape, self.may_overflow)(gy)


class MaxUnpoolNd(Function):
    """Each value written into a zero plane of ``plane_shape`` at its flat index (PyTorch's
    max_unpool: where indices repeat, the last write wins). Its gradient gathers, as
    PyTorch's does."""

    def __init__(self, index, plane_shape):
        self.index, self.plane_shape = index, tuple(plane_shape)

    def forward(self, x):
        xp = backend.xp
        index, lead, planes = _planes(self.index, len(self.plane_shape))
        out = xp.zeros((planes, math.prod(self.plane_shape)), dtype=x.dtype)
        out[xp.arange(planes)[:, None], index] = x.reshape(planes, -1)
        return out.reshape(lead + self.plane_shape)

    def backward(self, gy):
        return GatherAtIndices(self.index, len(self.plane_shape))(gy)


class AvgPoolNd(Function):
    """Each window's sum divided by ``divisor`` (a number or one per window: see
    :meth:`Windows.divisor`); zero padding."""

    def __init__(self, windows, divisor):
        self.windows, self.divisor = windows, divisor

    def forward(self, x):
        xp = backend.xp
        windows = self.windows
        padded = windows.padded(x, 0)
        total = None
        for offset in windows.offsets():
            values = padded[windows.slices(offset)]
            if total is None:
                total = xp.array(values, copy=True)
            else:
                xp.add(total, values, out=total)
        return xp.divide(total, self.divisor, out=total)

    def backward(self, gy):
        return SpreadOverWindows(self.windows, self.divisor)(gy)


class SpreadOverWindows(Function):
    """Each window's value divided by ``divisor`` and added to every position of the window
    (the adjoint of :class:`AvgPoolNd`, which is its derivative)."""

    def __init__(self, windows, divisor):
        self.windows, self.divisor = windows, divisor

    def forward(self, gy):
        xp = backend.xp
        windows = self.windows
        share = gy / self.divisor
        lead = gy.shape[:gy.ndim - windows.ndim]
        padded = xp.zeros(lead + windows.padded_size(), dtype=gy.dtype)
        for offset in windows.offsets():
            padded[windows.slices(offset)] += share
        return xp.ascontiguousarray(windows.crop(padded))

    def backward(self, ggx):
        return AvgPoolNd(self.windows, self.divisor)(ggx)
