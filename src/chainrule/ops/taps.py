"""Weighted taps along axes: the shared gate of non-constant padding and of resampling.

Along one axis, output position ``o`` reads a few input positions (its taps) and sums them
with weights: ``out[..., o, ...] = sum_t weight[o, t] * x[..., index[o, t], ...]``. Reflect,
replicate and circular padding are one unweighted tap per position; nearest, linear, cubic
and area interpolation are 1, 2, 4 and up to ``ceil(in / out) + 1`` weighted taps. A plan
holds one such map per axis and is applied axis after axis (all these maps are separable).

The map is linear, so its derivative is its adjoint (a scatter-add of the gradient back to
the positions it was read from), and the adjoint's derivative is the map again: two ops,
:class:`Taps` and :class:`TapsAdjoint`, close the family under differentiation.
"""
import numpy

from .. import backend
from ..autograd.function import Function


class AxisTaps:
    """The map along one axis: ``index`` (out, T) input positions, ``weight`` (out, T) or
    None (every tap weighs 1), from an axis of ``in_size`` positions."""

    __slots__ = ("axis", "index", "weight", "in_size", "_layers")

    def __init__(self, axis, index, weight, in_size):
        index = numpy.asarray(index, dtype=numpy.int64)
        index = index[:, None] if index.ndim == 1 else index
        self.axis, self.in_size = axis, int(in_size)
        self.weight = None if weight is None else \
            numpy.asarray(weight, dtype=numpy.float64).reshape(index.shape)
        self.index = index
        self._layers = None

    @property
    def out_size(self):
        return self.index.shape[0]

    def _weights(self, t, dtype, ndim):
        """Column ``t`` of the weights, shaped to broadcast along the axis of an ndim array."""
        column = backend.xp.asarray(self.weight[:, t], dtype=dtype)
        return column.reshape((-1,) + (1,) * (ndim - self.axis - 1))

    def gather(self, x):
        xp = backend.xp
        out = None
        for t in range(self.index.shape[1]):
            part = xp.take(x, xp.asarray(self.index[:, t]), axis=self.axis)
            if self.weight is not None:
                part *= self._weights(t, x.dtype, x.ndim)
            out = part if out is None else xp.add(out, part, out=out)
        return out

    def layers(self):
        """Per tap, (positions, targets) groups in which no target repeats, so that
        ``out[targets] += g[positions]`` adds every share (a fancy-indexed += would drop
        repeated targets; ufunc.at is several times slower)."""
        if self._layers is None:
            xp = backend.xp
            self._layers = []
            for t in range(self.index.shape[1]):
                column = self.index[:, t]
                order = numpy.argsort(column, kind="stable")
                ranked = column[order]
                starts = numpy.r_[0, numpy.flatnonzero(ranked[1:] != ranked[:-1]) + 1]
                rank = numpy.arange(len(ranked)) - numpy.repeat(
                    starts, numpy.diff(numpy.r_[starts, len(ranked)]))
                groups = []
                for r in range(int(rank.max()) + 1 if len(rank) else 0):
                    positions = order[rank == r]
                    groups.append((xp.asarray(positions), xp.asarray(column[positions])))
                self._layers.append(groups)
        return self._layers

    def scatter(self, g):
        xp = backend.xp
        moved = xp.moveaxis(g, self.axis, -1)
        out = xp.zeros(moved.shape[:-1] + (self.in_size,), dtype=g.dtype)
        for t, groups in enumerate(self.layers()):
            part = moved
            if self.weight is not None:
                part = moved * xp.asarray(self.weight[:, t], dtype=g.dtype)
            for positions, targets in groups:
                out[..., targets] += part[..., positions]
        return xp.ascontiguousarray(xp.moveaxis(out, -1, self.axis))


class Taps(Function):
    """Apply a plan (a list of :class:`AxisTaps`, one per axis) to x, axis after axis.
    Subclasses add only what ONNX export needs (see ops.padding, ops.resample)."""

    def __init__(self, plan):
        self.plan = plan

    def forward(self, x):
        for axis_map in self.plan:
            x = axis_map.gather(x)
        return x

    def backward(self, gy):
        return TapsAdjoint(self.plan)(gy)


class TapsAdjoint(Function):
    """The adjoint of :class:`Taps`: every output share added back where it was read."""

    def __init__(self, plan):
        self.plan = plan

    def forward(self, g):
        for axis_map in reversed(self.plan):
            g = axis_map.scatter(g)
        return g

    def backward(self, ggx):
        return Taps(self.plan)(ggx)
