"""The pooling layers against PyTorch 2.13 over a grid of constructor arguments, batched and
unbatched, in float64: forward values, indices (exactly), input gradients, reprs and
attributes; ties and NaN windows route the gradient as PyTorch's; unpooling, fold/unfold and
pixel shuffle; PyTorch's errors for bad arguments. Gradchecks: tests/ops/test_pool_nd.py."""
import numpy as np
import pytest

import chainrule
import chainrule.nn as nn
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F
from chainrule.ops import pool, pool_nd

torch = pytest.importorskip("torch")
tF = torch.nn.functional
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-6, 1e-12
SHAPES = {1: [(2, 3, 9), (3, 10)], 2: [(2, 3, 7, 8), (3, 6, 9)],
          3: [(2, 2, 5, 6, 7), (2, 4, 5, 6)]}


def values(shape, kind, seed=0):
    """normal values, small integers (ties in most windows), or normal values with NaNs."""
    rng = np.random.default_rng(seed)
    if kind == "ties":
        return rng.integers(0, 3, size=shape).astype(np.float64)
    x = rng.standard_normal(shape)
    if kind == "nan":
        x.reshape(-1)[::5] = np.nan
        x[..., 1] = np.nan
    return x


def compare(ours, theirs, array, seed=1):
    """Same input: outputs (and indices) agree, then input gradients for one upstream."""
    x = chainrule.tensor(array, requires_grad=True)
    tx = torch.tensor(array, requires_grad=True)
    out, expected = ours(x), theirs(tx)
    if isinstance(expected, tuple):
        assert out[1].dtype == np.int64
        np.testing.assert_array_equal(out[1].numpy(), expected[1].numpy())
        out, expected = out[0], expected[0]
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), RTOL, ATOL)
    upstream = np.random.default_rng(seed).standard_normal(tuple(expected.shape))
    expected.backward(torch.tensor(upstream))
    out.backward(chainrule.tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), RTOL, ATOL)


def same_module(name, *args, **kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for attribute, value in vars(theirs).items():
        if not attribute.startswith("_") and attribute != "training":
            assert getattr(ours, attribute) == value, attribute
    return ours, theirs


MAX_CASES = [
    (1, dict(kernel_size=3)),
    (1, dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    (1, dict(kernel_size=(2,), stride=(1,), padding=(1,))),
    (2, dict(kernel_size=2)),
    (2, dict(kernel_size=3, stride=2, ceil_mode=True)),
    (2, dict(kernel_size=3, stride=1, padding=1)),
    (2, dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1),
             ceil_mode=True)),
    (3, dict(kernel_size=2)),
    (3, dict(kernel_size=(1, 2, 3), stride=(2, 1, 2), padding=(0, 1, 1), dilation=(1, 2, 1),
             ceil_mode=True)),
]


@pytest.mark.parametrize("kind", ["normal", "ties", "nan"])
@pytest.mark.parametrize("d, kwargs", MAX_CASES)
def test_max_pool_matches_pytorch(d, kwargs, kind):
    ours, theirs = same_module(f"MaxPool{d}d", **kwargs, return_indices=True)
    plain, torch_plain = same_module(f"MaxPool{d}d", **kwargs)
    for shape in SHAPES[d]:
        compare(ours, theirs, values(shape, kind))
        compare(plain, torch_plain, values(shape, kind, seed=2))
        compare(lambda x: getattr(F, f"max_pool{d}d_with_indices")(x, **kwargs),
                lambda x: getattr(tF, f"max_pool{d}d_with_indices")(x, **kwargs),
                values(shape, kind, seed=3))


def test_max_pool_edge_windows_match_pytorch():
    inf = np.inf
    # all -inf windows: the index is the window's first position inside the input
    compare(lambda x: F.max_pool1d(x, 2, 1, 1, return_indices=True),
            lambda x: tF.max_pool1d(x, 2, 1, 1, return_indices=True),
            np.array([[[-inf, -inf, 1.0, -inf]]]))
    # a window between dilated taps holds no input: -inf, PyTorch's index, no gradient
    compare(lambda x: F.max_pool2d(x, 2, 1, 1, 2, return_indices=True),
            lambda x: tF.max_pool2d(x, 2, 1, 1, 2, return_indices=True), np.ones((1, 1, 2, 1)))
    # integer input: the padding never wins (the running max starts at the lowest integer)
    x = -np.arange(1, 17).reshape(1, 1, 4, 4)
    ours = F.max_pool2d(chainrule.tensor(x), 2, 1, 1, return_indices=True)
    theirs = tF.max_pool2d(torch.tensor(x), 2, 1, 1, return_indices=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_default_options_take_the_fast_2d_path():
    x = chainrule.randn(2, 3, 9, 9, requires_grad=True)
    assert isinstance(F.max_pool2d(x, 2).grad_fn, pool.MaxPool)
    assert isinstance(F.max_pool2d(x, 3, 2, ceil_mode=True).grad_fn, pool.MaxPool)  # same size
    assert isinstance(F.max_pool2d(x, 3, 2, ceil_mode=False, dilation=2).grad_fn,
                      pool_nd.MaxPoolNd)
    assert isinstance(F.avg_pool2d(x, 3, 2, 1).grad_fn, pool.AvgPool)
    assert isinstance(F.avg_pool2d(x, 3, 2, 1, count_include_pad=False).grad_fn,
                      pool_nd.AvgPoolNd)
    assert isinstance(F.adaptive_avg_pool2d(x, 3).grad_fn, pool.AvgPool)


AVG_CASES = [
    (1, dict(kernel_size=3)),
    (1, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (1, dict(kernel_size=(2,), stride=(1,), padding=(1,), count_include_pad=False)),
    (2, dict(kernel_size=2)),
    (2, dict(kernel_size=3, stride=2, padding=1)),
    (2, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (2, dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True,
             count_include_pad=False)),
    (2, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=4)),
    (3, dict(kernel_size=2, ceil_mode=True)),
    (3, dict(kernel_size=(1, 2, 3), stride=(2, 1, 2), padding=(0, 1, 1),
             count_include_pad=False, ceil_mode=True)),
    (3, dict(kernel_size=3, stride=2, padding=1, divisor_override=5)),
]


@pytest.mark.parametrize("d, kwargs", AVG_CASES)
def test_avg_pool_matches_pytorch(d, kwargs):
    ours, theirs = same_module(f"AvgPool{d}d", **kwargs)
    for shape in SHAPES[d]:
        compare(ours, theirs, values(shape, "normal"))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_adaptive_pools_match_pytorch(d):
    sizes = [1, 3, 4, (2,) * d] + ([(None,) + (3,) * (d - 1)] if d > 1 else [])
    for output_size in sizes:
        for kind in ("normal", "ties", "nan"):
            for shape in SHAPES[d]:
                ours, theirs = same_module(f"AdaptiveMaxPool{d}d", output_size, True)
                compare(ours, theirs, values(shape, kind))
                ours, theirs = same_module(f"AdaptiveAvgPool{d}d", output_size)
                if kind != "nan":
                    compare(ours, theirs, values(shape, kind))


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("norm_type", [1, 2, 3.5, float("inf")])
def test_lp_pool_matches_pytorch(d, norm_type):
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=2, ceil_mode=True)):
        ours, theirs = same_module(f"LPPool{d}d", norm_type, **kwargs)
        for shape in SHAPES[d]:
            x = np.abs(values(shape, "normal"))
            x[..., :2] = 0.0                  # windows of zeros: gradient 0, as PyTorch
            compare(ours, theirs, x)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_max_unpool_matches_pytorch(d):
    for kernel, stride, padding in ((2, None, 0), (3, 3, 1), (2, 3, 1)):
        ours, theirs = same_module(f"MaxUnpool{d}d", kernel, stride, padding)
        for shape in SHAPES[d]:
            pooled, indices = getattr(tF, f"max_pool{d}d")(
                torch.tensor(values(shape, "normal")), kernel, stride, padding,
                return_indices=True)
            ours_indices = chainrule.tensor(indices.numpy())
            batched = len(shape) == d + 2            # a full size only for batched input
            for output_size in (shape[-d:],) + ((shape,) if batched else ()):
                compare(lambda v: ours(v, ours_indices, output_size=output_size),
                        lambda v: theirs(v, indices, output_size=output_size),
                        values(tuple(pooled.shape), "normal", seed=5))


def test_max_unpool_default_size_matches_pytorch():
    for d, shape in ((1, (2, 3, 8)), (2, (3, 8, 6)), (3, (2, 4, 6, 4))):
        pooled, indices = getattr(tF, f"max_pool{d}d")(torch.tensor(values(shape, "ties")), 2,
                                                       return_indices=True)
        ours_indices = chainrule.tensor(indices.numpy())
        compare(lambda v: getattr(F, f"max_unpool{d}d")(v, ours_indices, 2),
                lambda v: getattr(tF, f"max_unpool{d}d")(v, indices, 2),
                values(tuple(pooled.shape), "normal"))


UNFOLD_CASES = [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(2, 1), padding=(1, 2),
                                          stride=(2, 1)), dict(kernel_size=3, padding=4)]


@pytest.mark.parametrize("kwargs", UNFOLD_CASES)
def test_unfold_and_fold_match_pytorch(kwargs):
    for shape in ((2, 3, 6, 7), (3, 6, 7)):
        ours, theirs = same_module("Unfold", **kwargs)
        compare(ours, theirs, values(shape, "normal"))
        blocks = tF.unfold(torch.zeros(shape), **kwargs).shape
        ours, theirs = same_module("Fold", (6, 7), **kwargs)
        compare(ours, theirs, values(tuple(blocks), "normal"))


def test_pixel_shuffle_matches_pytorch():
    for shape, factor in (((2, 8, 3, 4), 2), ((9, 2, 3), 3), ((2, 3, 4, 1, 2), 2)):
        compare(same_module("PixelShuffle", factor)[0], torch.nn.PixelShuffle(factor),
                values(shape, "normal"))
        unshuffled = shape[:-3] + (shape[-3] // factor ** 2, shape[-2] * factor,
                                   shape[-1] * factor)
        compare(same_module("PixelUnshuffle", factor)[0], torch.nn.PixelUnshuffle(factor),
                values(unshuffled, "normal"))


BAD_CALLS = [
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 2, padding=2)),          # padding > k / 2
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 0)),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 2, stride=0)),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 2, dilation=0)),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, (2, 2, 2))),
    ("max_pool2d", lambda f, x: f.max_pool2d(x, 9)),                     # output too small
    ("max_pool1d", lambda f, x: f.max_pool1d(x, 2)),                     # 4-D input
    ("avg_pool2d", lambda f, x: f.avg_pool2d(x, 2, divisor_override=0)),
    ("adaptive_avg_pool2d", lambda f, x: f.adaptive_avg_pool2d(x, (2, 2, 2))),
    ("adaptive_max_pool2d", lambda f, x: f.adaptive_max_pool2d(x, -1)),
    ("unfold", lambda f, x: f.unfold(x, 9)),
    ("fold", lambda f, x: f.fold(x[0], (4, 4), 2)),                       # 3 * 5 blocks
    ("pixel_shuffle", lambda f, x: f.pixel_shuffle(x, 2)),               # 3 channels
    ("pixel_unshuffle", lambda f, x: f.pixel_unshuffle(x, 2)),           # 5 rows
]


@pytest.mark.parametrize("name, call", BAD_CALLS, ids=[n for n, _ in BAD_CALLS])
def test_bad_arguments_raise_as_pytorch_does(name, call):
    x = np.zeros((2, 3, 5, 6))
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        call(tF, torch.tensor(x))
    with pytest.raises(ChainruleError, match=name):
        call(F, chainrule.tensor(x))


def test_max_unpool_checks_indices_and_output_size_as_pytorch():
    v = chainrule.ones(1, 1, 2, 2)
    good = chainrule.tensor([[[[0, 1], [2, 3]]]])
    with pytest.raises(IndexError, match="invalid max index 99"):
        F.max_unpool2d(v, chainrule.tensor([[[[0, 1], [2, 99]]]]), 2)
    with pytest.raises(TypeError, match="int64"):
        F.max_unpool2d(v, good.int(), 2)
    with pytest.raises(ValueError, match="between 2 and 6"):
        F.max_unpool2d(v, good, 2, output_size=(6, 5))
    assert F.max_unpool2d(v, good, 2, output_size=(5, 5)).shape == (1, 1, 5, 5)


def test_returned_indices_are_not_the_saved_ones():
    x = chainrule.randn(1, 1, 4, 4, requires_grad=True)
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    expected = F.max_pool2d(x.detach(), 2, return_indices=True)[1].tolist()
    indices._data[...] = 0                                 # the user's copy
    out.sum().backward()
    assert F.max_pool2d(x.detach(), 2, return_indices=True)[1].tolist() == expected
    chosen = np.asarray(expected).reshape(-1)
    assert x.grad.sum().item() == 4.0 and (x.grad.numpy().reshape(-1)[chosen] == 1).all()
