"""RMSNorm and F.rms_norm against PyTorch in float64 (values, input and weight gradients,
eps=None's dtype rule), gradient checks of the functional form, repr and errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import errors, nn
from chainrule.nn import functional as F
from tests.helpers import check, make


@pytest.mark.torch
@pytest.mark.parametrize("shape, normalized, eps, affine", [
    ((3, 5), 5, None, True), ((2, 3, 4), (3, 4), 1e-3, True), ((4,), 4, None, False),
    ((2, 3, 4), [4], 0.5, False)])
def test_rms_norm_matches_pytorch(shape, normalized, eps, affine):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    theirs = torch.nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine).double()
    ours = nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine, dtype="float64")
    assert repr(ours) == repr(theirs)
    if affine:
        w = rng.standard_normal(theirs.weight.shape)
        theirs.weight.data = torch.tensor(w)
        ours.load_state_dict({"weight": chainrule.tensor(w)})
    cx, tx = chainrule.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, t_out = ours(cx), theirs(tx)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-6, atol=1e-12)
    g = rng.standard_normal(shape)
    out.backward(chainrule.tensor(g))
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-12)
    if affine:
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   rtol=1e-6, atol=1e-12)


@pytest.mark.torch
def test_rms_norm_default_eps_follows_the_dtype_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.full((1, 3), 1e-4)
    for dtype, t_dtype in (("float32", torch.float32), ("float64", torch.float64)):
        ours = F.rms_norm(chainrule.tensor(x, dtype=dtype), (3,)).numpy()
        theirs = torch.nn.functional.rms_norm(torch.tensor(x, dtype=t_dtype), (3,)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


@settings(max_examples=10, deadline=None)
@given(rows=st.integers(1, 3), width=st.integers(1, 4), seed=st.integers(0, 1000))
def test_rms_norm_gradients_first_and_second_order(rows, width, seed):
    x, w = make((rows, width), seed), make((width,), seed + 1)
    check(lambda x, w: F.rms_norm(x, width, w, eps=1e-3), x, w)


def test_rms_norm_errors_name_the_shapes():
    with pytest.raises(errors.ShapeError, match=r"does not end with normalized_shape \(4,\)"):
        F.rms_norm(chainrule.ones(2, 3), 4)
    with pytest.raises(errors.ShapeError, match="weight of shape"):
        F.rms_norm(chainrule.ones(2, 3), 3, chainrule.ones(2))
    with pytest.raises(errors.DTypeError):
        F.rms_norm(chainrule.ones(2, 3, dtype="int64"), 3)
