"""Activations: gradients, second derivatives and stability at +-1000."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
import chainrule.ops.activation as A
from tests.helpers import check, make

SETTINGS = settings(max_examples=12, deadline=None)
shapes = array_shapes(min_dims=1, max_dims=3, max_side=4)

ACTIVATIONS = {
    "sigmoid": chainrule.sigmoid,
    "tanh": chainrule.tanh,
    "relu": chainrule.relu,
    "leaky_relu": lambda x: chainrule.leaky_relu(x, 0.1),
    "elu": chainrule.elu,
    "gelu": chainrule.gelu,
    "gelu_tanh": lambda x: chainrule.gelu(x, approximate="tanh"),
    "softplus": chainrule.softplus,
    "softplus_beta": lambda x: chainrule.softplus(x, beta=2.0, threshold=3.0),
    "silu": chainrule.silu,
    "softmax_last": chainrule.softmax,
    "softmax_first": lambda x: chainrule.softmax(x, dim=0),
    "log_softmax": chainrule.log_softmax,
    "log_softmax_first": lambda x: chainrule.log_softmax(x, dim=0),
}


def _away_from_kinks(x):
    x._data[np.abs(x._data) < 1e-2] += 0.05
    return x


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 1000))
def test_activation_gradients(name, shape, seed):
    x = _away_from_kinks(make(shape, seed))
    if name == "softplus_beta":   # stay away from the threshold kink at beta*x = 3
        x._data[np.abs(2 * x._data - 3.0) < 1e-2] += 0.05
    check(ACTIVATIONS[name], x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_stable_at_plus_minus_1000(name):
    for dtype in ("float32", "float64"):
        x = chainrule.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype, requires_grad=True)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = ACTIVATIONS[name](x)
        y.sum().backward()
        assert np.isfinite(y.numpy()).all(), name
        assert np.isfinite(x.grad.numpy()).all(), name


def test_sigmoid_local_gradient_is_f_times_one_minus_f():
    x = chainrule.tensor([0.3], dtype="float64", requires_grad=True)
    f = chainrule.sigmoid(x)
    f.backward()
    assert x.grad.item() == pytest.approx(f.item() * (1 - f.item()), rel=1e-14)


def test_softmax_rows_sum_to_one_and_log_softmax_matches():
    x = make((3, 5), 0, requires_grad=False)
    p = chainrule.softmax(x, dim=1)
    np.testing.assert_allclose(p.sum(dim=1).numpy(), np.ones(3))
    np.testing.assert_allclose(chainrule.log_softmax(x, dim=1).numpy(), np.log(p.numpy()),
                               rtol=1e-12)


def test_sigmoid_array_helper_is_exact_in_the_middle():
    assert A.sigmoid_array(np.array([0.0]))[0] == 0.5


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_backward_on_arrays_matches_its_recorded_formula(approximate):
    """GELU's backward reuses the Phi(x) (or tanh) kept by forward and works on arrays when
    nothing records it; under create_graph it is the formula in chainrule ops: the same
    gradient (float64, to 1e-12), including at 0, at +-inf-like inputs and for a broadcast
    upstream gradient."""
    values = np.array([[-1000.0, -6.0, -1.5, -1e-8, 0.0, 1e-8, 0.7, 3.0, 50.0]])
    upstream = np.array([[0.5, -2.0, 1.0, 3.0, -1.0, 0.25, 2.0, -0.5, 1.5]])
    fast = chainrule.tensor(values, requires_grad=True)
    chainrule.gelu(fast, approximate=approximate).backward(chainrule.tensor(upstream))
    recorded = chainrule.tensor(values, requires_grad=True)
    (grad,) = chainrule.autograd.grad(chainrule.gelu(recorded, approximate=approximate),
                                      recorded, chainrule.tensor(upstream), create_graph=True)
    assert grad.requires_grad
    np.testing.assert_allclose(fast.grad.numpy(), grad.detach().numpy(), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_gradient_passes_at_nan_and_stops_at_zero_as_pytorchs(dtype):
    torch = pytest.importorskip("torch")
    values = np.array([np.nan, 0.0, -0.0, 1.0, -1.0, np.inf, -np.inf], dtype=dtype)
    for create_graph in (False, True):
        x = chainrule.tensor(values, requires_grad=True)
        chainrule.relu(x).backward(chainrule.ones(7).to(x.dtype), create_graph=create_graph)
        tx = torch.tensor(values, requires_grad=True)
        torch.relu(tx).backward(torch.ones(7, dtype=tx.dtype))
        np.testing.assert_array_equal(x.grad.detach().numpy(), tx.grad.numpy())
