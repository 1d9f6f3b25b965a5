"""F.interpolate (every mode), nn.Upsample and friends, F.grid_sample and F.affine_grid
against PyTorch 2.13 (values and gradients, float64), gradcheck, and ONNX Resize."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn
from chainrule.errors import ArgumentError, ShapeError
from chainrule.nn import functional as F
from tests.helpers import check, make

MODE_SHAPES = [("nearest", (2, 3, 5)), ("nearest", (1, 2, 5, 7)), ("nearest", (1, 1, 3, 4, 5)),
               ("nearest-exact", (2, 3, 5)), ("nearest-exact", (1, 2, 5, 7)),
               ("nearest-exact", (1, 1, 3, 4, 5)), ("linear", (2, 3, 5)),
               ("bilinear", (1, 2, 5, 7)), ("trilinear", (1, 1, 3, 4, 5)),
               ("bicubic", (1, 2, 5, 7)), ("area", (2, 3, 7)), ("area", (1, 2, 5, 7)),
               ("area", (1, 1, 3, 4, 5))]
SIZES = [1, 2, 3, 5, 8, 13]
FACTORS = [0.5, 0.3, 1.0, 1.1, 1.5, 2, 2.5, 1 / 3]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _torch_backward_is_wrong(mode, shape, sizes, scale_factor):
    """PyTorch's backward kernels copy (or halve the index) where the output keeps the
    input's size (or doubles it) even when a scale_factor made the forward pass do otherwise:
    1-D/3-D nearest and bicubic. Its gradient is then not its forward's derivative (torch's
    own gradcheck fails); ours is checked by gradcheck instead (docs/pytorch.md)."""
    if scale_factor is None:
        return False
    pairs = list(zip(shape[2:], sizes))
    if mode == "bicubic":
        return any(i == o for i, o in pairs)
    return mode == "nearest" and len(pairs) != 2 and any(o in (i, 2 * i) for i, o in pairs)


@pytest.mark.parametrize("mode,shape", MODE_SHAPES, ids=str)
def test_interpolate_matches_torch(torch, mode, shape):
    rng = np.random.default_rng(len(shape))
    corners = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
    calls = [dict(size=s) for s in SIZES] + [dict(scale_factor=f) for f in FACTORS] + \
        [dict(scale_factor=f, recompute_scale_factor=True) for f in FACTORS[:4]] + \
        [dict(size=tuple(rng.integers(1, 12, size=len(shape) - 2).tolist())),
         dict(scale_factor=tuple(rng.uniform(0.4, 3, size=len(shape) - 2).tolist()))]
    for align_corners in corners:
        for call in calls:
            factor = call.get("scale_factor")
            if factor is not None and min(int(n * f) for n, f in zip(
                    shape[2:], factor if isinstance(factor, tuple) else [factor] * 3)) < 1:
                continue                       # an empty output (see docs/pytorch.md)
            x = rng.standard_normal(shape)
            theirs_x = torch.tensor(x, requires_grad=True)
            theirs = torch.nn.functional.interpolate(theirs_x, mode=mode,
                                                     align_corners=align_corners, **call)
            ours_x = chainrule.tensor(x, requires_grad=True)
            ours = F.interpolate(ours_x, mode=mode, align_corners=align_corners, **call)
            assert ours.shape == tuple(theirs.shape), call
            np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6,
                                       atol=1e-12, err_msg=str(call))
            g = rng.standard_normal(theirs.shape)
            theirs.backward(torch.tensor(g))
            ours.backward(chainrule.tensor(g))
            factor = call.get("scale_factor") if not call.get("recompute_scale_factor") \
                else None
            if not _torch_backward_is_wrong(mode, shape, theirs.shape[2:], factor):
                np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(),
                                           rtol=1e-6, atol=1e-12, err_msg=str(call))


def test_where_torch_backward_is_wrong_ours_passes_gradcheck(torch):
    x = make((1, 1, 5, 4), 3)
    check(lambda t: F.interpolate(t, scale_factor=1.1, mode="bicubic"), x)
    check(lambda t: F.interpolate(t, scale_factor=1.1), make((1, 2, 5), 4))


@st.composite
def interpolate_cases(draw):
    mode, shape = draw(st.sampled_from(MODE_SHAPES))
    shape = shape[:2] + tuple(draw(st.integers(1, 4)) for _ in shape[2:])
    if draw(st.booleans()):
        call = dict(size=tuple(draw(st.integers(1, 5)) for _ in shape[2:]))
    else:
        call = dict(scale_factor=draw(st.sampled_from([0.6, 1.5, 2.0, 2.5])))
        if mode != "area" and min(int(s * call["scale_factor"]) for s in shape[2:]) < 1:
            call = dict(size=1)
    if mode == "area" and "scale_factor" in call:
        call = dict(size=2)
    align = None if mode in ("nearest", "nearest-exact", "area") else draw(st.booleans())
    return mode, shape, call, align


@settings(max_examples=12, deadline=None)
@given(case=interpolate_cases(), seed=st.integers(0, 50))
def test_interpolate_gradcheck_and_gradgradcheck(case, seed):
    mode, shape, call, align = case
    check(lambda t: F.interpolate(t, mode=mode, align_corners=align, **call), make(shape, seed))


def test_upsample_layers_match_torch(torch):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    for name, kwargs in [("Upsample", dict(scale_factor=2)),
                         ("Upsample", dict(size=(3, 7), mode="bilinear")),
                         ("Upsample", dict(scale_factor=(1.5, 2.5), mode="bicubic",
                                           align_corners=True)),
                         ("Upsample", dict(scale_factor=0.5, mode="area")),
                         ("UpsamplingNearest2d", dict(size=6)),
                         ("UpsamplingBilinear2d", dict(scale_factor=3))]:
        theirs, ours = getattr(torch.nn, name)(**kwargs), getattr(nn, name)(**kwargs)
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(chainrule.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("upsample_nearest", "upsample_bilinear"):
            np.testing.assert_allclose(
                getattr(F, name)(chainrule.tensor(x), scale_factor=2).numpy(),
                getattr(torch.nn.functional, name)(torch.tensor(x), scale_factor=2).numpy(),
                rtol=1e-6)


def test_interpolate_errors():
    x = chainrule.zeros(1, 1, 4, 4)
    cases = [(dict(), "either size or scale_factor"),
             (dict(size=2, scale_factor=2), "only one of"),
             (dict(size=2, mode="nearest", align_corners=True), "align_corners"),
             (dict(size=2, mode="linear"), "needs 3D"),
             (dict(size=2, mode="cubic"), "unknown mode"),
             (dict(size=(2, 2, 2)), "differ in length"),
             (dict(size=2, recompute_scale_factor=True), "not meaningful")]
    for kwargs, message in cases:
        with pytest.raises((ArgumentError, ShapeError), match=message):
            F.interpolate(x, **kwargs)


GRID_CASES = [((2, 3, 4, 5), (2, 3, 6, 2)), ((1, 2, 3, 4, 5), (1, 2, 3, 4, 3)),
              ((2, 1, 1, 5), (2, 2, 2, 2))]


@pytest.mark.parametrize("input_shape,grid_shape", GRID_CASES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(torch, input_shape, grid_shape, mode, padding_mode,
                                   align_corners):
    rng = np.random.default_rng(len(input_shape))
    x, grid = rng.standard_normal(input_shape), rng.uniform(-1.6, 1.6, grid_shape)
    ours_in = [chainrule.tensor(a, requires_grad=True) for a in (x, grid)]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in (x, grid)]
    options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ours = F.grid_sample(*ours_in, **options)
    theirs = torch.nn.functional.grid_sample(*theirs_in, **options)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-12)
    g = rng.standard_normal(theirs.shape)
    ours.backward(chainrule.tensor(g))
    theirs.backward(torch.tensor(g))
    for a, b in zip(ours_in, theirs_in):
        ours_grad = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        np.testing.assert_allclose(ours_grad, b.grad.numpy(), rtol=1e-6, atol=1e-12)


@settings(max_examples=4, deadline=None)
@given(padding_mode=st.sampled_from(["zeros", "border", "reflection"]),
       align_corners=st.booleans(), seed=st.integers(0, 50))
def test_grid_sample_gradcheck_and_gradgradcheck(padding_mode, align_corners, seed):
    x = make((1, 1, 3, 3), seed)
    # keep sample points off the pixel lattice, where the bilinear map has kinks
    grid = make((1, 1, 2, 2), seed + 1, low=-1.3, high=1.3)
    check(lambda x, g: F.grid_sample(x, g, padding_mode=padding_mode,
                                     align_corners=align_corners), x, grid)


@pytest.mark.filterwarnings("ignore:Since version 1.3.0")
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 3), (2, 1, 3, 4, 2)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_matches_torch(torch, size, align_corners):
    spatial = len(size) - 2
    theta = np.random.default_rng(0).standard_normal((size[0], spatial, spatial + 1))
    ours_theta = chainrule.tensor(theta, requires_grad=True)
    theirs_theta = torch.tensor(theta, requires_grad=True)
    ours = F.affine_grid(ours_theta, size, align_corners=align_corners)
    theirs = torch.nn.functional.affine_grid(theirs_theta, size, align_corners=align_corners)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(theirs.shape)
    ours.backward(chainrule.tensor(g))
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(ours_theta.grad.numpy(), theirs_theta.grad.numpy(), rtol=1e-6)
    check(lambda t: F.affine_grid(t, size, align_corners=align_corners), make(theta.shape))


def test_grid_errors():
    with pytest.raises(ArgumentError, match="mode"):
        F.grid_sample(chainrule.zeros(1, 1, 2, 2), chainrule.zeros(1, 1, 1, 2), mode="bicubic")
    with pytest.raises(ShapeError, match="grid"):
        F.grid_sample(chainrule.zeros(1, 1, 2, 2), chainrule.zeros(1, 1, 1, 3))
    with pytest.raises(ShapeError, match="affine matrices"):
        F.affine_grid(chainrule.zeros(1, 3, 4), (1, 1, 2, 2))


@pytest.mark.parametrize("call", [dict(scale_factor=2, mode="nearest"),
                                  dict(size=(5, 9), mode="nearest"),
                                  dict(scale_factor=1.5, mode="nearest-exact"),
                                  dict(scale_factor=2, mode="bilinear"),
                                  dict(size=(7, 3), mode="bilinear", align_corners=True),
                                  dict(scale_factor=2, mode="bicubic"),
                                  dict(size=(6, 8), mode="bicubic", align_corners=True)],
                         ids=str)
def test_interpolate_onnx_export_matches_onnxruntime(call, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
                          nn.Upsample(**call))
    path = chainrule.onnx.export(model, chainrule.randn(2, 2, 4, 5), str(tmp_path / "r.onnx"))
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 5)).astype(np.float32)
    session = ort.InferenceSession(path)
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(out, model(chainrule.tensor(x)).numpy(), rtol=1e-4, atol=1e-5)
