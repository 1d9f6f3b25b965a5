"""The fused BatchNorm node against its composition (float64, to 1e-12) and PyTorch, in every
memory layout; gradcheck and gradgradcheck (the recorded backward)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule.nn import functional as F
from chainrule.ops.norm import BatchNorm
from tests.helpers import check, make

EXACT = dict(rtol=1e-12, atol=1e-12)


def composed_batch_norm(x, weight, bias, eps=1e-5):
    """Training-mode batch norm written with ordinary recorded ops (the reference)."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    mean = x.mean(dim=axes, keepdim=True)
    centered = x - mean
    out = centered * ((centered * centered).mean(dim=axes, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _layout(array, layout):
    if layout == "channel_major" and array.ndim >= 2:
        axes = (1, 0) + tuple(range(2, array.ndim))
        return np.ascontiguousarray(array.transpose(axes)).transpose(axes)
    if layout == "channels_last" and array.ndim == 4:
        return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(array)


@settings(max_examples=30, deadline=None)
@given(shape=st.sampled_from([(4, 3), (3, 2, 5), (2, 3, 4, 5), (5, 1, 2, 2), (1, 4, 3, 3)]),
       affine=st.sampled_from(["both", "weight", "bias", "none"]),
       layout=st.sampled_from(["c", "channel_major", "channels_last"]),
       seed=st.integers(0, 1000))
def test_fused_batch_norm_matches_its_composition(shape, affine, layout, seed):
    rng = np.random.default_rng(seed)
    x_data = rng.standard_normal(shape) * 3 + 2
    c = shape[1]
    weight = chainrule.tensor(rng.standard_normal(c), requires_grad=True) \
        if affine in ("both", "weight") else None
    bias = chainrule.tensor(rng.standard_normal(c), requires_grad=True) \
        if affine in ("both", "bias") else None
    r = rng.standard_normal(shape)
    results = []
    for fn in (lambda x: F.batch_norm(x, None, None, weight, bias, True),
               lambda x: composed_batch_norm(x, weight, bias)):
        for t in (weight, bias):
            if t is not None:
                t.grad = None
        x = chainrule.tensor(_layout(x_data, layout), requires_grad=True)
        y = fn(x)
        y.backward(chainrule.tensor(_layout(r, layout)))
        results.append([y.numpy(), x.grad.numpy()] +
                       [t.grad.numpy() for t in (weight, bias) if t is not None])
    for fused, reference in zip(*results):
        np.testing.assert_allclose(fused, reference, **EXACT)


def test_the_recorded_backward_equals_the_fused_one():
    x, w, b = make((3, 2, 4, 4), 0), make((2,), 1), make((2,), 2)
    gy = make((3, 2, 4, 4), 3, requires_grad=False)
    fused = chainrule.autograd.grad(F.batch_norm(x, None, None, w, b, True), (x, w, b), gy)
    recorded = chainrule.autograd.grad(F.batch_norm(x, None, None, w, b, True), (x, w, b), gy,
                                       create_graph=True)
    for a, b_ in zip(fused, recorded):
        np.testing.assert_allclose(a.numpy(), b_.numpy(), **EXACT)


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
def test_batch_norm_passes_gradcheck_and_gradgradcheck(affine):
    x = make((3, 2, 3, 2), 0)
    params = [make((2,), 1) if affine[0] else None, make((2,), 2) if affine[1] else None]
    given_params = [p for p in params if p is not None]

    def fn(x, *ps):
        ps = list(ps)
        w = ps.pop(0) if affine[0] else None
        b = ps.pop(0) if affine[1] else None
        return F.batch_norm(x, None, None, w, b, True)
    check(fn, x, *given_params)


def test_batch_norm_node_is_one_node_and_reports_the_batch_statistics():
    x = chainrule.randn(4, 3, 5, 5, requires_grad=True)
    y = F.batch_norm(x, None, None, training=True)
    assert isinstance(y.grad_fn, BatchNorm)
    node = BatchNorm(1e-5, False, False)
    node(x)
    data = x.numpy().astype(np.float64)
    np.testing.assert_allclose(node.batch_mean, data.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(node.batch_var, data.var(axis=(0, 2, 3)), rtol=1e-4)


@pytest.mark.torch
@pytest.mark.parametrize("layout", ["c", "channel_major"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_norm_layers_match_pytorch_in_training_and_eval(layout, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    ours = chainrule.nn.BatchNorm2d(3, momentum=0.3).to(dtype)
    theirs = torch.nn.BatchNorm2d(3, momentum=0.3).to(getattr(torch, dtype))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal(3)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(3)))
    ours.weight._data[...] = theirs.weight.detach().numpy()
    ours.bias._data[...] = theirs.bias.detach().numpy()
    for step in range(3):
        x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(dtype)
        xt = chainrule.tensor(_layout(x, layout), requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        y, ty = ours(xt), theirs(tx)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
        r = rng.standard_normal(x.shape).astype(dtype)
        y.backward(chainrule.tensor(r))
        ty.backward(torch.tensor(r))
        np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), **tol)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), **tol)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), **tol)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), **tol)
    ours.eval(), theirs.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    np.testing.assert_allclose(ours(chainrule.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), **tol)


@pytest.mark.torch
def test_momentum_none_is_a_cumulative_average_as_in_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = chainrule.nn.BatchNorm1d(2, momentum=None), torch.nn.BatchNorm1d(2, momentum=None)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.standard_normal((6, 2)).astype(np.float32)
        ours(chainrule.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5)


def test_training_batch_norm_needs_more_than_one_value_per_channel():
    with pytest.raises(chainrule.errors.ArgumentError, match="more than 1 value per channel"):
        F.batch_norm(chainrule.randn(1, 3), None, None, training=True)


@pytest.mark.parametrize("shape", [(32, 16, 32, 32), (3, 5, 7, 9), (0, 4, 3, 3), (2, 3, 5),
                                   (4, 6), (70, 2, 1000)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["c", "channel_major"])
def test_eval_batch_norm_on_arrays_is_the_recorded_formula_bit_for_bit(shape, dtype, layout):
    """Under no_grad the inference formula runs on arrays (scale_shift's per-channel passes):
    the same bits as the recorded x * scale + shift, and in both, gradients still flow."""
    rng = np.random.default_rng(3)
    channels = shape[1]
    layer = chainrule.nn.BatchNorm2d(channels) if len(shape) == 4 else \
        chainrule.nn.BatchNorm1d(channels)
    layer = layer.to(dtype)
    for tensor in (layer.running_mean, layer.weight, layer.bias):
        tensor._data[...] = rng.standard_normal(channels)
    layer.running_var._data[...] = rng.random(channels) + 0.5
    layer.eval()
    x = _layout(rng.standard_normal(shape).astype(dtype), layout)
    with chainrule.no_grad():
        fast = layer(chainrule.tensor(x))
    x_leaf = chainrule.tensor(x, requires_grad=True)
    with pytest.warns(UserWarning, match="eval mode"):
        recorded = layer(x_leaf)
    assert fast.dtype == recorded.dtype and fast.shape == recorded.shape
    assert np.array_equal(fast.numpy(), recorded.detach().numpy())
    if x.size:
        recorded.sum().backward()
        assert x_leaf.grad is not None and layer.weight.grad is not None


def test_scale_shift_keeps_promotion_and_fresh_output():
    """A float64 scale meeting a float32 input promotes as the recorded ops do, and the
    output is the caller's to change in place (not the input's memory)."""
    from chainrule.ops.norm import scale_shift
    x = chainrule.ones(2, 3, 200, 200)
    with chainrule.no_grad():
        y = scale_shift(x, chainrule.tensor([1.0, 2.0, 3.0], dtype=chainrule.float64),
                        chainrule.zeros(3, dtype=chainrule.float64))
        same = scale_shift(x, chainrule.tensor([1.0, 2.0, 3.0]), chainrule.zeros(3))
    assert y.dtype == chainrule.float64 and y[0, 2, 0, 0].item() == 3.0
    same.add_(1.0)
    assert x[0, 0, 0, 0].item() == 1.0 and same[0, 1, 0, 0].item() == 3.0
