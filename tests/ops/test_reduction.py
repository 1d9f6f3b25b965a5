"""Reductions over one axis, several axes or all, with keepdims."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
from tests.helpers import check, make

SETTINGS = settings(max_examples=10, deadline=None)


@st.composite
def shape_and_axes(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
    choice = draw(st.sampled_from(["none", "one", "several"]))
    if choice == "none":
        axes = None
    elif choice == "one":
        axes = draw(st.integers(-len(shape), len(shape) - 1))
    else:
        axes = tuple(draw(st.sets(st.integers(0, len(shape) - 1), min_size=1)))
    return shape, axes, draw(st.booleans())


REDUCTIONS = {
    "sum": lambda x, a, k: x.sum(dim=a, keepdim=k),
    "mean": lambda x, a, k: x.mean(dim=a, keepdim=k),
    "max": lambda x, a, k: x.amax(dim=a, keepdim=k),
    "min": lambda x, a, k: x.amin(dim=a, keepdim=k),
    "max_dim": lambda x, a, k: x.max(dim=a, keepdim=k)[0] if isinstance(a, int) else x.amax(),
    "prod": lambda x, a, k: x.prod(dim=a, keepdim=k),
    "var": lambda x, a, k: x.var(dim=a, keepdim=k),
    "var_biased": lambda x, a, k: x.var(dim=a, unbiased=False, keepdim=k),
    "std": lambda x, a, k: x.std(dim=a, keepdim=k),
    "logsumexp": lambda x, a, k: x.logsumexp(dim=a, keepdim=k),
    "norm": lambda x, a, k: x.norm(2, dim=a, keepdim=k),    # p="fro" takes at most 2 dims
    "norm1": lambda x, a, k: x.norm(p=1, dim=a, keepdim=k),
    "norm3": lambda x, a, k: x.norm(p=3, dim=a, keepdim=k),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(case=shape_and_axes(), seed=st.integers(0, 1000))
def test_reduction_gradients(name, case, seed):
    shape, axes, keep = case
    x = make(shape, seed)
    if name in ("norm1", "norm3"):
        x._data[np.abs(x._data) < 1e-2] += 0.05
    fn = REDUCTIONS[name]
    expected = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min,
                "prod": np.prod}.get(name)
    if expected is not None:
        np.testing.assert_allclose(fn(x, axes, keep).numpy(),
                                   expected(x.numpy(), axis=axes, keepdims=keep), rtol=1e-12)
    check(lambda t: fn(t, axes, keep), x)


def test_max_splits_gradient_evenly_among_ties():
    x = chainrule.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5, 0.0]


def test_prod_gradient_with_zeros_is_product_of_others():
    x = chainrule.tensor([2.0, 0.0, 3.0], dtype="float64", requires_grad=True)
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0]
    y = chainrule.tensor([[0.0, 0.0, 3.0], [1.0, 2.0, 3.0]], dtype="float64",
                         requires_grad=True)
    y.prod(dim=1).sum().backward()
    assert y.grad.tolist() == [[0.0, 0.0, 0.0], [6.0, 3.0, 2.0]]


def test_norm_gradient_at_zero_is_zero():
    x = chainrule.zeros(3, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_var_matches_numpy_with_and_without_bias():
    x = make((4, 5), 3, requires_grad=False)
    np.testing.assert_allclose(x.var(dim=1).numpy(), np.var(x.numpy(), axis=1, ddof=1))
    np.testing.assert_allclose(x.var(dim=1, unbiased=False).numpy(), np.var(x.numpy(), axis=1))
    np.testing.assert_allclose(x.std().numpy(), np.std(x.numpy(), ddof=1))


def test_argmax_argmin_are_integer_and_have_no_grad():
    x = chainrule.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    assert x.argmax().item() == 3
    assert x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmin(dim=0, keepdim=True).tolist() == [[0, 1, 0]]
    assert x.argmax(dim=1).dtype == np.int64 and not x.argmax().requires_grad


def test_logsumexp_is_stable():
    x = chainrule.tensor([1000.0, 1000.0], requires_grad=True)
    y = x.logsumexp()
    y.backward()
    assert y.item() == pytest.approx(1000 + np.log(2))
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5], rtol=1e-4)  # float32 at 1000


def test_keepdim_and_numpy_spelling_agree():
    x = make((2, 3), 1, requires_grad=False)
    assert x.sum(dim=1, keepdim=True).shape == x.sum(axis=1, keepdims=True).shape == (2, 1)
