"""Convolution and pooling: gradcheck/gradgradcheck over random geometries, PyTorch parity."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn
from chainrule.nn import functional as F
from tests.helpers import check, make


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.sampled_from([0, 1, 2] + (["same"] if stride == 1 else [])))
    span = dilation * (k - 1) + 1
    h = draw(st.integers(max(span, 3), 6))
    w = draw(st.integers(max(span, 3), 7))
    return (draw(st.integers(1, 2)), c_in, h, w), (c_out, c_in // groups, k, k), stride, \
        padding, dilation, groups


@settings(max_examples=15, deadline=None)
@given(case=conv_cases(), seed=st.integers(0, 100))
def test_conv2d_gradcheck_and_gradgradcheck(case, seed):
    x_shape, w_shape, stride, padding, dilation, groups = case
    x, w, b = make(x_shape, seed), make(w_shape, seed + 1), make((w_shape[0],), seed + 2)
    check(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b)


def test_conv_transpose_and_conv1d_gradients():
    x, w = make((2, 4, 3, 3), 0), make((4, 3, 3, 3), 1)
    check(lambda x, w: F.conv_transpose2d(x, w, None, 2, 1, 1), x, w)
    # output padding beyond the stride (allowed as dilation is larger): the adjoint crops
    check(lambda x, w: F.conv_transpose2d(x, w, None, (1, 2), 1, (1, 1), 1, (2, 3)), x, w)
    x1, w1 = make((2, 2, 7), 2), make((3, 2, 3), 3)
    check(lambda x, w: F.conv1d(x, w, None, 2, 1), x1, w1)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, 3, 2, 1),
    lambda x: F.avg_pool2d(x, 3, 2, 1),
    lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
    lambda x: F.upsample_nearest(x, 2),
    lambda x: F.group_norm(x, 2),
    lambda x: F.batch_norm(x, None, None, None, None, True),
])
def test_pooling_and_norm_gradients(fn):
    x = make((2, 4, 5, 7), 4)
    x._data += np.arange(x._data.size).reshape(x.shape) * 1e-3     # no exact ties for max
    check(fn, x)


@pytest.mark.torch
def test_layers_match_pytorch_forward_and_backward():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 3))
    wt = rng.standard_normal((4, 3, 3, 3))
    cases = [
        (lambda m, f, x: f.conv2d(x, m.tensor(w), None, 2, 1, 2, 2)),
        (lambda m, f, x: f.conv2d(x, m.tensor(w), None, 1, "same", 1, 2)),
        (lambda m, f, x: f.conv_transpose2d(x, m.tensor(wt), None, 2, 1, 1)),
        (lambda m, f, x: f.max_pool2d(x, 3, 2, 1)),
        (lambda m, f, x: f.avg_pool2d(x, 2)),
        (lambda m, f, x: f.adaptive_avg_pool2d(x, (4, 3))),
        (lambda m, f, x: f.group_norm(x, 2)),
    ]
    for i, case in enumerate(cases):
        ours_x = chainrule.tensor(x, requires_grad=True)
        theirs_x = torch.tensor(x, requires_grad=True)
        ours, theirs = case(chainrule, F, ours_x), case(torch, tF, theirs_x)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=1e-10,
                                   err_msg=str(i))
        (ours ** 2).sum().backward()
        (theirs ** 2).sum().backward()
        np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), atol=1e-10,
                                   err_msg=str(i))


@pytest.mark.torch
def test_batchnorm2d_running_stats_match_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3, momentum=0.2), torch.nn.BatchNorm2d(3, momentum=0.2)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
        np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   atol=1e-5)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), atol=1e-5)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    with chainrule.no_grad():
        got = ours(x).numpy()
    np.testing.assert_allclose(got, theirs(torch.tensor(x)).detach().numpy(), atol=1e-5)


@pytest.mark.torch
def test_conv_state_dicts_move_to_pytorch():
    torch = pytest.importorskip("torch")
    ours = chainrule.models.LeNet5(1, 10, 28)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((3, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               atol=1e-5)


def test_layer_modules_and_errors():
    x = chainrule.randn(2, 3, 8, 8)
    assert nn.Conv2d(3, 6, 3, padding="same", groups=3)(x).shape == (2, 6, 8, 8)
    assert nn.ConvTranspose2d(3, 2, 2, stride=2)(x).shape == (2, 2, 16, 16)
    assert nn.Conv1d(3, 4, 3)(chainrule.randn(2, 3, 10)).shape == (2, 4, 8)
    assert nn.Dropout2d(0.5).eval()(x) is x
    with pytest.raises(chainrule.ShapeError, match="3 channels"):
        nn.Conv2d(4, 2, 3)(x)
    with pytest.raises(chainrule.ShapeError, match="too small"):
        nn.Conv2d(3, 2, 9)(x)
    with pytest.raises(chainrule.ArgumentError if hasattr(chainrule, "ArgumentError")
                       else ValueError, match="divisible"):
        nn.Conv2d(3, 4, 3, groups=2)
