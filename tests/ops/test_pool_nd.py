"""gradcheck and gradgradcheck (float64, contiguous and strided inputs) of every pooling,
unpooling, fold and pixel-shuffle op over hypothesis-drawn geometries: 1-3 spatial axes,
kernel, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override,
(un)batched input. The parity with PyTorch is in tests/nn/test_pooling_options.py."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
from chainrule.nn import functional as F
from chainrule.ops.pool_nd import Windows, pooled_length
from tests.helpers import check, make

EXAMPLES = dict(max_examples=6, deadline=None)


@st.composite
def geometries(draw, dilation=True, max_d=3):
    """(d, kernel, stride, padding, dilation, ceil_mode, input shape) of a valid pooling."""
    d = draw(st.integers(1, max_d))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(d))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(d))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dil = tuple(draw(st.integers(1, 2)) for _ in range(d)) if dilation else (1,) * d
    ceil_mode = draw(st.booleans())
    extra = 2 if d < 3 else 1
    size = tuple((k - 1) * di + 1 + draw(st.integers(0, extra)) for k, di in zip(kernel, dil))
    lead = (2,) if draw(st.booleans()) else (1, 2)           # unbatched or batched
    return d, kernel, stride, padding, dil, ceil_mode, lead + size


def _name(kind, d):
    return getattr(F, f"{kind}{d}d")


@settings(**EXAMPLES)
@given(geometries())
def test_max_pool_gradients(geometry):
    d, kernel, stride, padding, dilation, ceil_mode, shape = geometry
    pool = _name("max_pool", d)
    check(lambda x: pool(x, kernel, stride, padding, dilation, ceil_mode), make(shape))


@settings(**EXAMPLES)
@given(geometries(dilation=False), st.booleans(), st.sampled_from([None, 3]))
def test_avg_pool_gradients(geometry, count_include_pad, divisor_override):
    d, kernel, stride, padding, _, ceil_mode, shape = geometry
    pool = _name("avg_pool", d)
    extra = () if d == 1 else (divisor_override,)
    check(lambda x: pool(x, kernel, stride, padding, ceil_mode, count_include_pad, *extra),
          make(shape))


@settings(**EXAMPLES)
@given(geometries(dilation=False), st.sampled_from([1.0, 2.0, 3.5, float("inf")]))
def test_lp_pool_gradients(geometry, norm_type):
    d, kernel, stride, _, _, ceil_mode, shape = geometry
    pool = _name("lp_pool", d)
    x = make(shape, low=0.5, high=2.0)                      # positive: x ** 3.5 is real
    check(lambda x: pool(x, norm_type, kernel, stride, ceil_mode), x)


@settings(**EXAMPLES)
@given(st.integers(1, 3), st.data())
def test_adaptive_pool_gradients(d, data):
    size = tuple(data.draw(st.integers(1, 5)) for _ in range(d))
    out = tuple(data.draw(st.sampled_from([1, 2, 3, None])) for _ in range(d))
    x = make((1, 2) + size)
    check(lambda x: _name("adaptive_max_pool", d)(x, out), x)
    check(lambda x: _name("adaptive_avg_pool", d)(x, out), x)


@settings(**EXAMPLES)
@given(geometries(dilation=False))
def test_max_unpool_gradients(geometry):
    d, kernel, _, padding, _, _, shape = geometry
    stride = tuple(k + 1 for k in kernel)                     # windows apart: no repeats
    x = make(shape, requires_grad=False)
    pooled, indices = _name("max_pool", d)(x, kernel, stride, padding, return_indices=True)
    unpool = _name("max_unpool", d)
    check(lambda v: unpool(v, indices, kernel, stride, padding, shape[-d:]),
          make(tuple(pooled.shape), seed=3))


@settings(**EXAMPLES)
@given(geometries(max_d=2, dilation=True))
def test_unfold_and_fold_gradients(geometry):
    d, kernel, stride, padding, dilation, _, shape = geometry
    if d == 1:
        kernel, stride, padding, dilation = (kernel * 2, stride * 2, padding * 2,
                                             dilation * 2)
        shape = shape + (shape[-1],)
    check(lambda x: F.unfold(x, kernel, dilation, padding, stride), make(shape))
    blocks = F.unfold(chainrule.zeros(*shape, dtype="float64"), kernel, dilation, padding,
                      stride)
    check(lambda c: F.fold(c, shape[-2:], kernel, dilation, padding, stride),
          make(tuple(blocks.shape), seed=1))


@settings(**EXAMPLES)
@given(st.integers(1, 2), st.sampled_from([(2, 1, 1), (1, 2), (1,)]))
def test_pixel_shuffle_gradients(r, lead):
    check(lambda x: F.pixel_shuffle(x, r), make(lead[:-1] + (lead[-1] * r * r, 1, 2)))
    check(lambda x: F.pixel_unshuffle(x, r), make(lead + (r, 2 * r)))


def test_pooled_length_is_pytorchs_formula_with_the_ceil_mode_rule():
    # the last window of ceil mode must start inside the input or the left padding
    assert pooled_length(5, 2, 2, 0, 1, True) == 3
    assert pooled_length(4, 2, 2, 1, 1, True) == 3          # 4 without the rule
    assert pooled_length(4, 2, 2, 1, 1, False) == 3
    assert pooled_length(6, 3, 2, 1, 2, False) == 2
    windows = Windows((5, 6), (2, 3), (2, 2), (1, 1), (1, 2), ceil_mode=True)
    assert windows.out_size == (3, 3)
    assert math.prod(windows.kernel) == len(list(windows.offsets()))


def test_unpool_gradient_gathers_at_repeated_indices_as_pytorch():
    # indices repeat: the values last written win; each input still gets its gradient
    v = chainrule.tensor([[[1.0, 2.0, 3.0]]], dtype="float64", requires_grad=True)
    indices = chainrule.tensor([[[0, 0, 1]]])
    out = F.max_unpool1d(v, indices, 2, 1)
    assert out.tolist() == [[[2.0, 3.0, 0.0, 0.0]]]
    out.backward(chainrule.tensor([[[5.0, 7.0, 0.0, 0.0]]], dtype="float64"))
    np.testing.assert_array_equal(v.grad.numpy(), [[[5.0, 5.0, 7.0]]])


def test_remembered_window_checks_still_refuse_what_they_refused():
    """windows() remembers the checked geometry of plain int arguments; a float, a bool or a
    too-small input asked after the same ints must still be refused, and a remembered
    geometry must pool as a fresh one does."""
    x = chainrule.randn(1, 2, 6, 6)
    first = chainrule.nn.functional.max_pool2d(x, 2)
    again = chainrule.nn.functional.max_pool2d(x, 2)
    assert np.array_equal(first.numpy(), again.numpy())
    for bad in (2.0, (2.0, 2)):
        with pytest.raises(chainrule.errors.ChainruleError):
            chainrule.nn.functional.max_pool2d(x, bad)
    with pytest.raises(chainrule.errors.ChainruleError):
        chainrule.nn.functional.max_pool2d(x, 2, padding=-1)
    with pytest.raises(chainrule.errors.ChainruleError):
        chainrule.nn.functional.max_pool2d(chainrule.randn(1, 2, 1, 1), 2)
    small = chainrule.nn.functional.avg_pool2d(chainrule.randn(1, 1, 4, 4), 2)
    assert small.shape == (1, 1, 2, 2)
