"""ONNX exporters of the pooling ops with PyTorch's options (merged into ``onnx.EXPORTERS``).

* Max pooling: ``MaxPool`` with dilations. ceil_mode is written as explicit end pads (the
  exact extent PyTorch's last window reaches, ceil_mode=0), so the output size cannot depend
  on how a runtime reads ceil_mode; ONNX pads max pooling with -inf, as PyTorch.
* Average pooling: ``AveragePool`` over the same explicit pads with count_include_pad=0
  (each window's mean over its input values), times a constant per window (input count /
  PyTorch's divisor) when PyTorch divides otherwise (count_include_pad, ceil_mode,
  divisor_override).
* Adaptive max pooling whose bins all have one size: ``MaxPool`` (``GlobalMaxPool`` for one
  bin). Other bins have no ONNX operator.
* lp_pool's root: ``Mul`` and ``Pow`` (the pooling before it exports as average pooling).
* ``pixel_shuffle`` of 4-D input: ``DepthToSpace`` (mode CRD); other ranks and
  ``pixel_unshuffle``: Reshape, Transpose, Reshape.

Unbatched input (C, *spatial) is wrapped in Unsqueeze / Squeeze of axis 0.
"""
import numpy

from ..errors import ArgumentError
from ..ops import fold, pool_functional, pool_nd


def _batched(emit):
    """Run ``emit`` on a batch of one when the op's input has no batch axis."""
    def wrapped(b, fn, x, batch):
        if fn.inputs[0].ndim == _spatial_ndim(fn) + 2:
            return emit(b, fn, x[0])
        axis = b.ints([0])
        return b.node("Squeeze", [emit(b, fn, b.node("Unsqueeze", [x[0], axis])), axis])
    return wrapped


def _spatial_ndim(fn):
    windows = getattr(fn, "windows", None)
    return windows.ndim if windows is not None else len(fn.in_size)


def _pads(windows):
    return list(windows.padding) + list(windows.right_padding())


@_batched
def _max_pool(b, fn, x):
    windows = fn.windows
    return b.node("MaxPool", [x], kernel_shape=list(windows.kernel),
                  strides=list(windows.stride), dilations=list(windows.dilation),
                  pads=_pads(windows))


@_batched
def _avg_pool(b, fn, x):
    windows = fn.windows
    mean = b.node("AveragePool", [x], kernel_shape=list(windows.kernel),
                  strides=list(windows.stride), pads=_pads(windows), count_include_pad=0)
    inside = windows.divisor(False, None, numpy.float64)
    factor = numpy.asarray(inside, dtype=numpy.float64) / numpy.asarray(fn.divisor,
                                                                        dtype=numpy.float64)
    if numpy.all(factor == 1):
        return mean
    return b.node("Mul", [mean, b.constant(numpy.asarray(factor, dtype=b.dtype))])


@_batched
def _adaptive_max_pool(b, fn, x):
    if all(size == 1 for size in fn.out_size):
        return b.node("GlobalMaxPool", [x])
    if any(size == 0 or n % size for n, size in zip(fn.in_size, fn.out_size)):
        raise ArgumentError(f"ONNX export: adaptive max pooling from {fn.in_size} to "
                            f"{fn.out_size} has bins of unequal size, which no ONNX "
                            "operator computes")
    kernel = [n // size for n, size in zip(fn.in_size, fn.out_size)]
    return b.node("MaxPool", [x], kernel_shape=kernel, strides=kernel)


def _lp_root(b, fn, x, batch):
    scaled = b.node("Mul", [x[0], b.scalar(fn.volume)])
    return b.node("Pow", [scaled, b.scalar(1.0 / fn.norm_type)])


def _rearrange(b, x, first_shape, perm, out_shape):
    """Reshape, Transpose, Reshape; a leading 0 in a shape copies the (dynamic) batch size."""
    moved = b.node("Transpose", [b.node("Reshape", [x, b.ints(first_shape)])], perm=perm)
    return b.node("Reshape", [moved, b.ints(out_shape)])


def _pixel_shuffle(b, fn, x, batch):
    r = fn.factor
    *lead, c, h, w = fn.inputs[0].shape
    if len(lead) == 1:
        return b.node("DepthToSpace", x, blocksize=r, mode="CRD")
    k = len(lead)
    lead = [0] + list(lead[1:]) if lead else []
    perm = list(range(k)) + [k, k + 3, k + 1, k + 4, k + 2]
    return _rearrange(b, x[0], lead + [c // (r * r), r, r, h, w], perm,
                      lead + [c // (r * r), h * r, w * r])


def _pixel_unshuffle(b, fn, x, batch):
    r = fn.factor
    *lead, c, h, w = fn.inputs[0].shape
    k = len(lead)
    lead = [0] + list(lead[1:]) if lead else []
    perm = list(range(k)) + [k, k + 2, k + 4, k + 1, k + 3]
    return _rearrange(b, x[0], lead + [c, h // r, r, w // r, r], perm,
                      lead + [c * r * r, h // r, w // r])


EXPORTERS = {
    pool_nd.MaxPoolNd: _max_pool, pool_nd.AvgPoolNd: _avg_pool,
    pool_nd.AdaptiveMaxPoolNd: _adaptive_max_pool, pool_functional.LpRoot: _lp_root,
    fold.PixelShuffle: _pixel_shuffle, fold.PixelUnshuffle: _pixel_unshuffle,
}
