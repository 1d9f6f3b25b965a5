"""gradcheck / gradgradcheck for every arithmetic op, over random and broadcast shapes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import chainrule
from tests.helpers import check, make

SETTINGS = settings(max_examples=12, deadline=None)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
shapes = array_shapes(min_dims=0, max_dims=3, max_side=4)

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
    "maximum": chainrule.maximum,
    "minimum": chainrule.minimum,
    "pow_tensor": lambda a, b: (a * a + 0.5) ** b,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(pair=pairs, seed=st.integers(0, 1000))
def test_binary_ops_under_broadcasting(name, pair, seed):
    sa, sb = pair.input_shapes
    check(BINARY[name], make(sa, seed), make(sb, seed + 1))


UNARY = {
    "neg": (lambda x: -x, None),
    "exp": (chainrule.exp, None),
    "log": (chainrule.log, (0.5, 3.0)),
    "log1p": (chainrule.log1p, (0.1, 3.0)),
    "sqrt": (chainrule.sqrt, (0.5, 3.0)),
    "rsqrt": (chainrule.rsqrt, (0.5, 3.0)),
    "abs": (chainrule.abs, (0.2, 2.0)),
    "sin": (chainrule.sin, None),
    "cos": (chainrule.cos, None),
    "pow_scalar": (lambda x: x ** 3, None),
    "pow_fraction": (lambda x: x ** 1.5, (0.5, 2.0)),
    "square": (chainrule.square, None),
    "reciprocal": (chainrule.reciprocal, (0.5, 2.0)),
    "clamp": (lambda x: chainrule.clamp(x, -0.5, 0.5), None),
    "erf": (chainrule.erf, None),
    "rsub_scalar": (lambda x: 2.0 - x, None),
    "rdiv_scalar": (lambda x: 2.0 / x, (0.5, 2.0)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 1000))
def test_unary_ops(name, shape, seed):
    fn, bounds = UNARY[name]
    low, high = bounds if bounds else (None, None)
    x = make(shape, seed, low, high)
    if name == "clamp":  # keep away from the kinks at +-0.5
        x._data[np.abs(np.abs(x._data) - 0.5) < 1e-3] += 0.01
    check(fn, x)


@SETTINGS
@given(pair=pairs, seed=st.integers(0, 1000))
def test_where_routes_gradients(pair, seed):
    sa, sb = pair.input_shapes
    a, b = make(sa, seed), make(sb, seed + 1)
    cond = np.random.default_rng(seed).random(np.broadcast_shapes(sa, sb)) > 0.5
    check(lambda a, b: chainrule.where(cond, a, b), a, b)


def test_sign_values_and_zero_gradient_like_pytorch():
    x = chainrule.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = chainrule.sign(x)
    assert y.tolist() == [-1.0, 0.0, 1.0]
    assert y.requires_grad          # PyTorch records sign too, with a zero derivative
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_maximum_splits_gradient_at_ties_like_pytorch():
    a = chainrule.tensor([1.0, 2.0], requires_grad=True)
    b = chainrule.tensor([1.0, 1.0], requires_grad=True)
    chainrule.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0]
    assert b.grad.tolist() == [0.5, 0.0]


def test_pow_gradient_at_zero_base_is_zero_for_exponent():
    a = chainrule.tensor([0.0, 2.0], dtype="float64", requires_grad=True)
    b = chainrule.tensor([2.0, 3.0], dtype="float64", requires_grad=True)
    (a ** b).sum().backward()
    assert b.grad.tolist()[0] == 0.0
    assert b.grad.tolist()[1] == pytest.approx(8 * np.log(2))


def test_python_scalars_keep_the_tensor_dtype():
    x = chainrule.tensor([1.0, 2.0])
    assert (x * 2.5).dtype == np.float32
    assert (2 + x).dtype == np.float32
    assert (chainrule.arange(3) * 2).dtype == np.int64
    assert (chainrule.arange(3) * 0.5).dtype == np.float32
    assert (chainrule.arange(3) / 2).dtype == np.float32


def test_a_cached_zero_keeps_its_sign():
    # Python numbers become cached 0-d tensors; 0.0 == -0.0 as dict keys, so the cache must
    # keep them apart: x * -0.0 after x * 0.0 is still -0.0 (as in PyTorch)
    x = chainrule.tensor([1.0, -2.0])
    assert np.signbit((x * 0.0).numpy()).tolist() == [False, True]
    assert np.signbit((x * -0.0).numpy()).tolist() == [True, False]
    assert np.signbit((chainrule.tensor([-0.0]) + -0.0).numpy()).tolist() == [True]


@pytest.mark.torch
@pytest.mark.parametrize("exponent", [2, 3, 4, -1, 0.5, 1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pow_scalar_gradient_is_rounded_as_pytorch_rounds_it(exponent, dtype):
    """PyTorch's pow_backward is grad * (c * x^(c-1)): the same bits (where both compute
    x^(c-1) alike: powers with a special case, and NumPy's), recorded or not; at the
    overflow edge grad * c would overflow where PyTorch's order does not."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = np.abs(rng.standard_normal(4000)).astype(dtype) * 3 + 0.1
    x[:2] = 0.1
    g = rng.standard_normal(4000).astype(dtype) * 3
    g[:2] = np.finfo(dtype).max * 0.9               # grad * c overflows, c * x does not
    theirs = torch.tensor(x, requires_grad=True)
    (theirs ** exponent).backward(torch.tensor(g))
    for create_graph in (False, True):
        ours = chainrule.tensor(x, requires_grad=True)
        with np.errstate(over="ignore"):
            (ours ** exponent).backward(chainrule.tensor(g), create_graph=create_graph)
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
