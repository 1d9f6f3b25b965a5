"""F.pad (constant, reflect, replicate, circular; negative pads crop) and the padding layers:
PyTorch parity of values, gradients, reprs and errors; gradcheck; ONNX export."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule.errors import ArgumentError, ArgumentTypeError, ShapeError
from chainrule import nn
from chainrule.nn import functional as F
from tests.helpers import check, make

MODES = ("constant", "reflect", "replicate", "circular")
# (input shape, number of padded dimensions): batched and unbatched, 1-D/2-D/3-D spatial
SHAPES = [((2, 3, 5), 1), ((3, 5), 1), ((2, 2, 4, 5), 2), ((2, 4, 5), 2),
          ((1, 2, 3, 4, 5), 3), ((2, 3, 4, 5), 3)]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _torch_pad(torch, x, pad, mode):
    """torch's answer, or None where it fails (its circular padding with a crop on one side
    and a pad on the other reads its own output while writing it: see docs/pytorch.md)."""
    try:
        return torch.nn.functional.pad(x, pad, mode=mode)
    except (RuntimeError, NotImplementedError):
        return None


def _circular_wraps_cropped(shape, pad):
    """A circular pad larger than what is left after cropping (torch reads stale memory)."""
    for i in range(len(pad) // 2):
        size, before, after = shape[-1 - i], pad[2 * i], pad[2 * i + 1]
        kept = size - max(-before, 0) - max(-after, 0)
        if max(before, 0) > kept or max(after, 0) > kept:
            return True
    return False


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,spatial", SHAPES)
def test_pad_matches_torch_values_and_gradients(torch, mode, shape, spatial):
    rng = np.random.default_rng(len(shape) * 7 + spatial)
    for _ in range(6):
        pad = tuple(int(v) for v in rng.integers(-3, 4, size=2 * spatial))
        if mode == "circular" and _circular_wraps_cropped(shape, pad):
            continue
        if mode == "reflect" and spatial == 3 and min(pad) < 0:
            continue          # torch's reflection_pad3d leaves memory unwritten when cropping
        x = rng.standard_normal(shape)
        theirs_x = torch.tensor(x, requires_grad=True)
        theirs = _torch_pad(torch, theirs_x, pad, mode)
        ours_x = chainrule.tensor(x, requires_grad=True)
        if theirs is None:
            with pytest.raises((ShapeError, ArgumentError)):
                F.pad(ours_x, pad, mode=mode)
            continue
        ours = F.pad(ours_x, pad, mode=mode)
        assert ours.shape == tuple(theirs.shape), (mode, shape, pad)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)
        g = rng.standard_normal(theirs.shape)
        theirs.backward(torch.tensor(g))
        ours.backward(chainrule.tensor(g))
        np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-6,
                                   atol=1e-12)


def test_constant_pad_value_and_any_rank(torch):
    x = np.arange(24.0).reshape(2, 3, 4)
    for pad, value in [((1, 2), 7.5), ((1, -1, 0, 2, -1, 1), -1.0), ((2, 2, 1, 1), 0.0)]:
        expected = torch.nn.functional.pad(torch.tensor(x), pad, value=value).numpy()
        np.testing.assert_array_equal(F.pad(chainrule.tensor(x), pad, value=value).numpy(),
                                      expected)
    one = np.arange(4.0)
    np.testing.assert_array_equal(F.pad(chainrule.tensor(one), (1, 1)).numpy(),
                                  torch.nn.functional.pad(torch.tensor(one), (1, 1)).numpy())


@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(MODES))
    spatial = draw(st.integers(1, 2))
    sizes = [draw(st.integers(2, 4)) for _ in range(spatial)]
    pad = []
    for size in reversed(sizes):
        low = -((size - 1) // 2)            # crops that leave at least one element
        high = size - 1 if mode == "reflect" else size // 2
        pad += [draw(st.integers(low, high)), draw(st.integers(low, high))]
    return mode, (2,) + tuple(sizes), tuple(pad)


@settings(max_examples=12, deadline=None)
@given(case=pad_cases(), seed=st.integers(0, 50))
def test_pad_gradcheck_and_gradgradcheck(case, seed):
    mode, shape, pad = case
    check(lambda t: F.pad(t, pad, mode=mode), make(shape, seed))


def test_pad_errors_name_the_problem():
    x = chainrule.zeros(1, 2, 5)
    cases = [
        (dict(pad=(1,)), ArgumentError, "divisible by 2"),
        (dict(pad=(1, 1) * 4), ArgumentError, "two times"),
        (dict(pad=(1, 1), mode="wrap"), ArgumentError, "unknown mode"),
        (dict(pad=(5, 0), mode="reflect"), ArgumentError, "less than the size"),
        (dict(pad=(6, 0), mode="circular"), ArgumentError, "more than once"),
        (dict(pad=(1, 1), mode="reflect", value=2.0), ArgumentError, "value"),
        (dict(pad=(1, 1, 1, 1, 1, 1), mode="replicate"), ShapeError, "4-D or 5-D"),
        (dict(pad=(-3, -3)), ShapeError, "leaves dimension"),
        (dict(pad=(1.5, 1)), ArgumentTypeError, "tuple of ints"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            F.pad(x, **kwargs)


LAYERS = [("ZeroPad1d", (2,), (2, 5)), ("ZeroPad2d", ((1, 0, 2, -1),), (1, 3, 4)),
          ("ZeroPad3d", (1,), (1, 2, 2, 3)), ("ConstantPad1d", ((1, 2), 3.5), (2, 3, 4)),
          ("ConstantPad2d", (1, -2.0), (1, 2, 3, 3)), ("ConstantPad3d", ((1, 0, 0, 1, 1, 0), 1.0),
                                                       (1, 1, 2, 2, 2)),
          ("ReflectionPad1d", ((2, 1),), (2, 4)), ("ReflectionPad2d", (1,), (1, 2, 3, 4)),
          ("ReflectionPad3d", ((1, 0, 1, 1, 0, 1),), (1, 1, 2, 3, 3)),
          ("ReplicationPad1d", (3,), (1, 2, 3)), ("ReplicationPad2d", ((0, 2, 1, 0),), (2, 3, 3)),
          ("ReplicationPad3d", (1,), (2, 2, 2, 2)), ("CircularPad1d", ((1, 2),), (2, 3, 4)),
          ("CircularPad2d", (1,), (2, 3, 3)), ("CircularPad3d", ((1, 1, 0, 1, 1, 0),),
                                               (1, 1, 2, 2, 3))]


@pytest.mark.parametrize("name,args,shape", LAYERS)
def test_padding_layers_match_torch(torch, name, args, shape):
    theirs, ours = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert tuple(ours.padding) == tuple(theirs.padding)
    x = np.random.default_rng(3).standard_normal(shape)
    np.testing.assert_allclose(ours(chainrule.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).numpy(), rtol=1e-6)


def test_circular_pad_layer_checks_the_rank():
    with pytest.raises(ShapeError, match="expected 2D or 3D input"):
        nn.CircularPad1d(1)(chainrule.zeros(1, 1, 1, 3))


@pytest.mark.parametrize("mode,pad,opset", [("constant", (1, 2, -1, 1), 17),
                                            ("reflect", (2, 1, 1, 0), 17),
                                            ("replicate", (1, 3, 2, 2), 17),
                                            ("circular", (1, 2, 0, 1), 17),
                                            ("reflect", (-1, 2, 1, -1), 17)])
def test_pad_onnx_export_matches_onnxruntime(mode, pad, opset, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    class Padded(nn.Module):
        def forward(self, x):
            return F.pad(x, pad, mode=mode) * 2.0

    path = chainrule.onnx.export(Padded(), chainrule.randn(2, 3, 4, 5), str(tmp_path / "p.onnx"),
                                 opset=opset)
    x = np.random.default_rng(0).standard_normal((3, 3, 4, 5)).astype(np.float32)
    session = ort.InferenceSession(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = Padded()(chainrule.tensor(x)).numpy()
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
