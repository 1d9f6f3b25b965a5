"""Convolution options against PyTorch 2.13: F.conv1d/2d/3d and F.conv_transpose1d/2d/3d with
tuple arguments, groups, dilation, output_padding and unbatched input; the layers with
padding_mode, output_size, PyTorch's reprs, init and state_dicts; gradcheck."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn
from chainrule.errors import ArgumentError, ShapeError
from chainrule.nn import functional as F
from tests.helpers import check, make


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _compare(torch, ours_fn, theirs_fn, arrays, batched):
    """Values and every input gradient of ours_fn and theirs_fn on the same float64 arrays
    (the first one without its batch axis when not ``batched``)."""
    if not batched:
        arrays = [arrays[0][0]] + list(arrays[1:])
    ours_in = [chainrule.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = ours_fn(*ours_in), theirs_fn(*theirs_in)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-12)
    g = np.random.default_rng(9).standard_normal(theirs.shape)
    ours.backward(chainrule.tensor(g))
    theirs.backward(torch.tensor(g))
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-12)


def _cut(kwargs, n):
    return {k: (v[:n] if isinstance(v, tuple) else v) for k, v in kwargs.items()}


CONV = [dict(), dict(stride=2), dict(padding=(1, 0, 2)), dict(dilation=2, padding=2),
        dict(stride=(2, 1, 3), dilation=(1, 2, 1)), dict(groups=2), dict(padding="same"),
        dict(padding="same", dilation=(2, 1, 3)), dict(padding="valid", groups=2, stride=2)]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("kwargs", CONV, ids=str)
@pytest.mark.parametrize("spatial", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
def test_conv_matches_torch(torch, kwargs, spatial, batched):
    rng = np.random.default_rng(spatial)
    groups = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 4) + (7, 6, 8)[:spatial])
    w = rng.standard_normal((6, 4 // groups) + (3, 2, 3)[:spatial])
    b = rng.standard_normal(6)
    kwargs = _cut(kwargs, spatial)
    name = f"conv{spatial}d"
    _compare(torch, lambda *t: getattr(F, name)(*t, **kwargs),
             lambda *t: getattr(torch.nn.functional, name)(*t, **kwargs), [x, w, b], batched)


TRANSPOSED = [dict(), dict(stride=2), dict(padding=1), dict(stride=2, output_padding=1),
              dict(stride=(2, 3, 1), padding=(1, 0, 1), output_padding=(1, 2, 0)),
              dict(dilation=(2, 1, 3), output_padding=(1, 0, 2)), dict(groups=2),
              dict(groups=2, stride=2, padding=1, output_padding=1, dilation=2)]


@pytest.mark.parametrize("kwargs", TRANSPOSED, ids=str)
@pytest.mark.parametrize("spatial", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
def test_conv_transpose_matches_torch(torch, kwargs, spatial, batched):
    rng = np.random.default_rng(10 + spatial)
    groups = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 4) + (3, 4, 3)[:spatial])
    w = rng.standard_normal((4, 6 // groups) + (3, 2, 3)[:spatial])
    b = rng.standard_normal(6)
    kwargs = _cut(kwargs, spatial)
    name = f"conv_transpose{spatial}d"
    _compare(torch, lambda *t: getattr(F, name)(*t, **kwargs),
             lambda *t: getattr(torch.nn.functional, name)(*t, **kwargs), [x, w, b], batched)


LAYERS = [
    ("Conv1d", (4, 6, 3), dict(padding=1, padding_mode="reflect"), (2, 4, 9)),
    ("Conv1d", (4, 4, 2), dict(padding="same", padding_mode="circular", groups=2), (4, 7)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 2), padding_mode="replicate"),
     (2, 4, 7, 6)),
    ("Conv2d", (4, 6, 3), dict(padding="same", dilation=2, padding_mode="reflect",
                               bias=False), (4, 7, 6)),
    ("Conv2d", (4, 2, 3), dict(padding=1, padding_mode="circular", groups=2), (1, 4, 5, 5)),
    ("Conv3d", (2, 4, (2, 3, 3)), dict(padding=(1, 1, 0), padding_mode="replicate"),
     (2, 2, 4, 5, 5)),
    ("Conv3d", (2, 2, 3), dict(padding=1, padding_mode="circular", stride=2), (2, 4, 4, 5)),
    ("Conv3d", (4, 4, 3), dict(padding="same", groups=4), (1, 4, 3, 4, 5)),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, output_padding=1, groups=2), (2, 4, 5)),
    ("ConvTranspose2d", (4, 2, 3), dict(stride=2, padding=1, dilation=(1, 2)), (4, 3, 4)),
    ("ConvTranspose3d", (2, 4, (2, 3, 2)), dict(stride=(1, 2, 2), padding=(0, 1, 1)),
     (2, 2, 3, 3, 3)),
    ("ConvTranspose3d", (2, 2, 3), dict(bias=False, dilation=2), (2, 2, 3, 2)),
]


def _pair_of_layers(torch, name, args, kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs, dtype=chainrule.float64)
    ours.load_state_dict({k: chainrule.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS, ids=lambda v: str(v)[:40])
def test_layers_match_torch_with_copied_weights(torch, name, args, kwargs, shape):
    ours, theirs = _pair_of_layers(torch, name, args, kwargs)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    for attribute in ("kernel_size", "stride", "padding", "dilation", "output_padding",
                      "groups", "padding_mode", "_reversed_padding_repeated_twice"):
        assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
    x = np.random.default_rng(4).standard_normal(shape)
    ours_x, theirs_x = chainrule.tensor(x, requires_grad=True), torch.tensor(x,
                                                                             requires_grad=True)
    y, expected = ours(ours_x), theirs(theirs_x)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-12)
    g = np.random.default_rng(5).standard_normal(expected.shape)
    y.backward(chainrule.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-6,
                               atol=1e-12)
    for (key, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-12,
                                   err_msg=key)


@pytest.mark.parametrize("name,spatial", [("ConvTranspose1d", 1), ("ConvTranspose2d", 2),
                                          ("ConvTranspose3d", 3)])
def test_output_size_picks_the_output_padding(torch, name, spatial):
    ours, theirs = _pair_of_layers(torch, name, (2, 3, 3), dict(stride=3, padding=1))
    x = np.random.default_rng(0).standard_normal((1, 2) + (3,) * spatial)
    for extra in range(3):
        size = [7 + extra] * spatial
        for given in (size, [1, 3] + size):
            expected = theirs(torch.tensor(x), output_size=given).detach().numpy()
            np.testing.assert_allclose(ours(chainrule.tensor(x), output_size=given).numpy(),
                                       expected, rtol=1e-6, atol=1e-12)
    unbatched = ours(chainrule.tensor(x[0]), output_size=[8] * spatial)
    assert unbatched.shape == (3,) + (8,) * spatial
    with pytest.raises(ArgumentError, match="valid sizes range"):
        ours(chainrule.tensor(x), output_size=[10] * spatial)


def test_default_init_follows_torch_bounds():
    for layer, fan_in in [(nn.Conv3d(4, 8, 3, groups=2), 2 * 27),
                          (nn.ConvTranspose3d(4, 6, 2, groups=2), 3 * 8),
                          (nn.ConvTranspose1d(3, 5, 4), 5 * 4)]:
        bound = 1 / np.sqrt(fan_in)            # kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(fan_in))
        assert np.abs(layer.weight.numpy()).max() <= bound + 1e-7
        assert np.abs(layer.bias.numpy()).max() <= bound + 1e-7
        assert np.abs(layer.weight.numpy()).max() > bound / 2


def test_layer_and_functional_errors():
    with pytest.raises(ArgumentError, match="padding_mode must be one of"):
        nn.Conv2d(2, 2, 3, padding_mode="wrap")
    with pytest.raises(ArgumentError, match="only \"zeros\" padding mode"):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ArgumentError, match="strided"):
        nn.Conv3d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ArgumentError, match="invalid padding string"):
        nn.Conv1d(2, 2, 3, padding="full")
    with pytest.raises(ShapeError, match="expected 4D \\(unbatched\\) or 5D"):
        F.conv3d(chainrule.zeros(2, 3, 3), chainrule.zeros(1, 2, 1, 1, 1))
    with pytest.raises(ShapeError, match="channels"):
        F.conv3d(chainrule.zeros(1, 3, 3, 3, 3), chainrule.zeros(1, 2, 1, 1, 1))
    with pytest.raises(ShapeError, match="too small"):
        F.conv3d(chainrule.zeros(1, 2, 2, 3, 3), chainrule.zeros(1, 2, 3, 1, 1))
    with pytest.raises(ArgumentError, match="smaller than either stride or dilation"):
        F.conv_transpose3d(chainrule.zeros(1, 2, 2, 2, 2), chainrule.zeros(2, 1, 2, 2, 2),
                           stride=2, output_padding=2)
    with pytest.raises(ShapeError, match="too small"):
        F.conv_transpose1d(chainrule.zeros(1, 2, 2), chainrule.zeros(2, 1, 2), padding=3)


@st.composite
def conv3d_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    k = tuple(draw(st.integers(1, 2)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(3))
    size = tuple(d * (kk - 1) + 1 + draw(st.integers(0, 1)) for kk, d in zip(k, dilation))
    return groups, k, stride, dilation, padding, size


@settings(max_examples=6, deadline=None)
@given(case=conv3d_cases(), transposed=st.booleans(), seed=st.integers(0, 50))
def test_conv3d_and_transpose_gradcheck_and_gradgradcheck(case, transposed, seed):
    groups, k, stride, dilation, padding, size = case
    x = make((1, 2) + size, seed)
    w = make((2, 2 // groups) + k, seed + 1)
    if transposed:
        out_pad = tuple(min(s, d) - 1 for s, d in zip(stride, dilation))
        padding = tuple(min(p, kk - 1) for p, kk in zip(padding, k))
        check(lambda x, w: F.conv_transpose3d(x, w, None, stride, padding, out_pad, groups,
                                              dilation), x, w)
    else:
        check(lambda x, w: F.conv3d(x, w, None, stride, padding, dilation, groups), x, w)


def test_padding_mode_and_1d_gradients():
    x, w = make((1, 2, 5), 1), make((2, 1, 3), 2)
    layer = nn.Conv1d(2, 2, 3, padding=2, padding_mode="reflect", groups=2,
                      dtype=chainrule.float64)
    check(lambda x, w: F.conv1d(F.pad(x, layer._reversed_padding_repeated_twice, "reflect"),
                                w, None, 1, 0, 1, 2), x, w)
    check(lambda x, w: F.conv_transpose1d(x, w.reshape(2, 1, 3), None, 2, 1, 1), x, w)
