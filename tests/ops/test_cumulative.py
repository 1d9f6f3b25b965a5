"""Cumulative ops (cumsum, cumprod, cummax, cummin, logcumsumexp, diff) and prod's gradient at
zeros: gradcheck/gradgradcheck over drawn shapes, and values and gradients against PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
from chainrule.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from tests.helpers import check, make

SETTINGS = settings(max_examples=12, deadline=None)
NAN, INF = float("nan"), float("inf")


@st.composite
def shape_and_dim(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


def with_zeros(x, seed):
    """Some elements set to exactly 0 (cumprod and prod's hard case)."""
    rng = np.random.default_rng(seed)
    x._data[rng.random(x.shape) < 0.3] = 0.0
    return x


SCANS = {
    "cumsum": lambda t, d: t.cumsum(d),
    "cumprod": lambda t, d: t.cumprod(d),
    "cumprod_zeros": lambda t, d: t.cumprod(d),
    "logcumsumexp": lambda t, d: t.logcumsumexp(d),
    "cummax": lambda t, d: t.cummax(d).values,
    "cummin": lambda t, d: t.cummin(d).values,
    "diff": lambda t, d: t.diff(dim=d),
    "diff2_prepend": lambda t, d: chainrule.diff(t, 2, d, prepend=t * 2.0),
    "prod_zeros": lambda t, d: t.prod(d),
    "prod_all_zeros": lambda t, d: t.prod(),
}


@pytest.mark.parametrize("name", sorted(SCANS))
@SETTINGS
@given(case=shape_and_dim(), seed=st.integers(0, 1000))
def test_gradients_and_second_derivatives(name, case, seed):
    shape, dim = case
    x = make(shape, seed)
    if "zeros" in name:
        x = with_zeros(x, seed)
    check(lambda t: SCANS[name](t, dim), x)


def test_zero_d_and_empty_inputs():
    x = chainrule.tensor(2.0, requires_grad=True)
    assert x.cumsum(0).shape == () and x.cumprod(-1).item() == 2.0
    assert x.cummax(0).indices.item() == 0 and x.logcumsumexp(0).item() == 2.0
    empty = chainrule.zeros(0, 3)
    assert empty.cumsum(0).shape == (0, 3) and empty.cummax(1).indices.shape == (0, 3)
    assert empty.logcumsumexp(0).shape == (0, 3)


def test_dtypes_follow_pytorch():
    assert chainrule.tensor([1, 2], dtype="int32").cumsum(0).dtype == np.int64
    assert chainrule.tensor([True, True]).cumsum(0).tolist() == [1, 2]
    assert chainrule.tensor([1, 2]).cumsum(0, dtype=chainrule.float64).dtype == np.float64
    assert chainrule.tensor([True, False, False, True]).diff().tolist() == [True, False, True]
    assert chainrule.tensor([1, 2]).diff(prepend=chainrule.tensor([0.5])).dtype == np.float32


@pytest.mark.parametrize("call, error", [
    (lambda: chainrule.tensor([1, 2]).logcumsumexp(0), DTypeError),
    (lambda: chainrule.ones(2).cumsum(2), ShapeError),
    (lambda: chainrule.ones(2).cumsum(), ArgumentTypeError),
    (lambda: chainrule.tensor(1.0).diff(), ShapeError),
    (lambda: chainrule.ones(3).diff(n=-1), ArgumentError),
    (lambda: chainrule.ones(2, 3).diff(prepend=chainrule.zeros(3, 1)), ShapeError),
    (lambda: chainrule.ones(2, 3).diff(prepend=chainrule.zeros(1)), ShapeError),
    (lambda: chainrule.ones(2, 3).diff(prepend=1.0), ArgumentTypeError),
])
def test_bad_arguments(call, error):
    with pytest.raises(error):
        call()


# ---------------------------------------------------------------- against PyTorch

@pytest.fixture
def torch():
    return pytest.importorskip("torch")


PARITY = [
    # (name, chainrule call, torch call, input)
    ("cumsum", lambda m, x: m.cumsum(x, 1), [[1.0, -2.0, 3.0], [0.5, 0.0, INF]]),
    ("cumsum_negative_dim", lambda m, x: m.cumsum(x, -2), [[1.0, -2.0], [3.0, 4.0]]),
    ("cumprod_zeros", lambda m, x: m.cumprod(x, 0), [2.0, 0.0, 3.0, 0.0, 5.0]),
    ("cumprod_leading_zero", lambda m, x: m.cumprod(x, 0), [0.0, 2.0, 3.0]),
    ("cumprod_2d", lambda m, x: m.cumprod(x, 1), [[0.0, 2.0, 0.0], [1.5, -1.0, 2.0]]),
    ("cummax_ties_nan", lambda m, x: m.cummax(x, 0)[0], [1.0, 3.0, 3.0, 2.0, NAN, 5.0]),
    ("cummin_ties", lambda m, x: m.cummin(x, 0)[0], [3.0, 1.0, 1.0, 2.0]),
    ("logcumsumexp", lambda m, x: m.logcumsumexp(x, 0), [-INF, 0.0, 1000.0, 1.0]),
    ("logcumsumexp_2d", lambda m, x: m.logcumsumexp(x, 1), [[0.3, -1.0, 2.0], [5.0, 5.0, -3.]]),
    ("diff_prepend_append", lambda m, x: m.diff(x, 2, 0, x[:1] * 3, x[-2:]), [1., 4., 9., 7.]),
    ("diff_dim0", lambda m, x: m.diff(x, dim=0), [[1.0, 2.0], [4.0, 8.0]]),
    ("diff_n_too_big", lambda m, x: m.diff(x, n=5), [1.0, 2.0]),
    ("prod_zero", lambda m, x: m.prod(x), [2.0, 0.0, 3.0]),
    ("prod_two_zeros_dim", lambda m, x: m.prod(x, 1), [[0.0, 2.0, 0.0], [0.0, 1.0, 3.0]]),
]


def _run(module, fn, data, gy=None):
    if module.__name__ == "torch":
        x = module.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)
    else:
        x = chainrule.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)
    y = fn(module, x)
    if gy is None:
        gy = np.random.default_rng(0).standard_normal(tuple(y.shape))
    y.backward(module.tensor(gy))
    grad = x.grad.numpy() if x.grad is not None else np.zeros(np.shape(data))
    return y.detach().numpy(), grad, gy


@pytest.mark.parametrize("name, fn, data", PARITY, ids=[p[0] for p in PARITY])
def test_values_and_gradients_match_pytorch(torch, name, fn, data):
    ty, tg, gy = _run(torch, fn, data)
    cy, cg, _ = _run(chainrule, fn, data, gy)
    np.testing.assert_allclose(cy, ty, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cg, tg, rtol=1e-10, atol=1e-12)


def test_running_extreme_indices_match_pytorch(torch):
    for data in ([1.0, 3.0, 3.0, 2.0, NAN, 5.0, 1.0], [NAN, 1.0, NAN, 2.0], [3.0, 1.0, 1.0]):
        for name in ("cummax", "cummin"):
            expected = getattr(torch, name)(torch.tensor(data), 0).indices.tolist()
            assert getattr(chainrule, name)(chainrule.tensor(data), 0).indices.tolist() == \
                expected, (name, data)


def _third_derivative(module, grad, fn, data, vectors):
    x = module.tensor(np.asarray(data), requires_grad=True)
    g, v, w = (module.tensor(a) for a in vectors)
    (gx,) = grad((fn(x) * g).sum(), [x], create_graph=True)
    (hv,) = grad((gx * v).sum(), [x], create_graph=True)
    if not hv.requires_grad:
        return np.zeros(np.shape(data))
    (t,) = grad((hv * w).sum(), [x], allow_unused=True)
    return np.zeros(np.shape(data)) if t is None else t.detach().numpy()


@pytest.mark.parametrize("data", [[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 0.0, 1.5],
                                  [1.5, 2.0, -1.0, 0.5]])
def test_cumprod_third_derivatives_at_zeros_match_pytorch(torch, data):
    vectors = np.random.default_rng(1).standard_normal((3, len(data)))
    expected = _third_derivative(torch, torch.autograd.grad, lambda x: torch.cumprod(x, 0),
                                 data, vectors)
    got = _third_derivative(chainrule, chainrule.autograd.grad,
                            lambda x: chainrule.cumprod(x, 0), data, vectors)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_logcumsumexp_jvp_is_exact_where_the_upstream_gradient_is_zero():
    """jvp uses the double-vjp trick with a zero upstream gradient: the weighted-scan gate's
    derivative in the weights must be right there (a log|g| formula would give 0 or NaN)."""
    x = make((4,), 3)
    v = make((4,), 4, requires_grad=False)
    _, tangent = chainrule.autograd.functional.jvp(lambda t: t.logcumsumexp(0), x, v)
    y = np.logaddexp.accumulate(x.numpy())
    jacobian = np.tril(np.exp(x.numpy()[None, :] - y[:, None]))
    np.testing.assert_allclose(tangent.numpy(), jacobian @ v.numpy(), rtol=1e-12)


def test_inplace_cumsum():
    x = chainrule.tensor([1.0, 2.0, 3.0])
    x.cumsum_(0)
    assert x.tolist() == [1.0, 3.0, 6.0]
    y = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1.0
    y.cumprod_(0)
    y.sum().backward()
