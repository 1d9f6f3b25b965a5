"""Elementwise ops of issue 19.1 (elementwise.py, special.py and the arithmetic changes):
gradcheck + gradgradcheck over hypothesis-drawn shapes and broadcasting, and values, first
and second derivatives compared with PyTorch on the same inputs, edge values included."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import chainrule
from chainrule.errors import ArgumentError, ArgumentTypeError, DTypeError, GraphError
from tests.helpers import check

SETTINGS = settings(max_examples=6, deadline=None)
shapes = array_shapes(min_dims=0, max_dims=3, max_side=3)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)
triples = mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=2, max_side=3)
INF, NAN = math.inf, math.nan


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def data(shape, seed, low=None, high=None):
    rng = np.random.default_rng(seed)
    if low is None:
        return rng.standard_normal(shape)
    return rng.uniform(low, high, size=shape)


def away_from_integers(shape, seed, low, high):
    """Values whose fractional part stays in [0.15, 0.85]: rounding ops are smooth there."""
    rng = np.random.default_rng(seed)
    return rng.integers(low, high, size=shape) + rng.uniform(0.15, 0.85, size=shape)


def signed(shape, seed, low, high):
    """|value| in [low, high] with a random sign."""
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def leaf(array):
    return chainrule.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


# name: (chainrule op, torch op name or callable, sampler of gradcheck inputs, edge values)
UNARY = {
    "floor": (chainrule.floor, "floor", lambda s, k: away_from_integers(s, k, -3, 3),
              [-1.5, -0.5, -0.0, 0.0, 0.5, 2.0, INF, -INF, NAN]),
    "ceil": (chainrule.ceil, "ceil", lambda s, k: away_from_integers(s, k, -3, 3),
             [-1.5, -0.5, -0.0, 0.5, 2.0, INF, NAN]),
    "trunc": (chainrule.trunc, "trunc", lambda s, k: away_from_integers(s, k, -3, 3),
              [-1.5, -0.5, -0.0, 0.5, 2.0, INF, NAN]),
    "fix": (chainrule.fix, "fix", lambda s, k: away_from_integers(s, k, -3, 3), [-1.5, 2.5]),
    "round": (chainrule.round, "round", lambda s, k: away_from_integers(s, k, -3, 3),
              [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999999999999994, INF, NAN]),
    "round_decimals": (lambda x: chainrule.round(x, decimals=2),
                       lambda t, x: t.round(x, decimals=2),
                       lambda s, k: away_from_integers(s, k, -3, 3) / 100,
                       [1.005, 2.675, 0.125, -0.125, 1234.5678, INF, NAN]),
    "round_negative_decimals": (lambda x: chainrule.round(x, decimals=-1),
                                lambda t, x: t.round(x, decimals=-1),
                                lambda s, k: away_from_integers(s, k, -3, 3) * 10,
                                [15.0, 25.0, -35.0, 1234.5678, 4.9]),
    "frac": (chainrule.frac, "frac", lambda s, k: away_from_integers(s, k, -3, 3),
             [-1.5, -0.0, 0.0, 2.25, INF, NAN]),
    "sign": (chainrule.sign, "sign", lambda s, k: signed(s, k, 0.2, 2), [-2.0, -0.0, 0.0, 3.0,
                                                                        INF, NAN]),
    "sgn": (chainrule.sgn, "sgn", lambda s, k: signed(s, k, 0.2, 2), [-2.0, 0.0, NAN]),
    "tan": (chainrule.tan, "tan", lambda s, k: data(s, k, -1.2, 1.2), [0.0, 1.5, -1.5, INF]),
    "asin": (chainrule.asin, "asin", lambda s, k: data(s, k, -0.9, 0.9),
             [-1.0, 0.0, 0.5, 1.0, 2.0, NAN]),
    "acos": (chainrule.acos, "acos", lambda s, k: data(s, k, -0.9, 0.9),
             [-1.0, 0.0, 0.5, 1.0, 2.0, NAN]),
    "atan": (chainrule.atan, "atan", lambda s, k: data(s, k), [0.0, 1.0, INF, -INF, NAN]),
    "sinh": (chainrule.sinh, "sinh", lambda s, k: data(s, k), [0.0, 1.0, 800.0, -INF]),
    "cosh": (chainrule.cosh, "cosh", lambda s, k: data(s, k), [0.0, 1.0, 800.0, -INF]),
    "asinh": (chainrule.asinh, "asinh", lambda s, k: data(s, k), [0.0, 1.0, INF, -INF]),
    "acosh": (chainrule.acosh, "acosh", lambda s, k: data(s, k, 1.1, 3.0),
              [0.5, 1.0, 2.0, INF]),
    "atanh": (chainrule.atanh, "atanh", lambda s, k: data(s, k, -0.9, 0.9),
              [-1.0, 0.0, 0.5, 1.0, 2.0]),
    "sinc": (chainrule.sinc, "sinc", lambda s, k: signed(s, k, 0.1, 2.0),
             [0.0, -0.0, 1e-20, 0.5, 1.0, -2.0, INF, NAN]),
    "log2": (chainrule.log2, "log2", lambda s, k: data(s, k, 0.2, 3.0),
             [0.0, 1.0, 8.0, -1.0, INF]),
    "log10": (chainrule.log10, "log10", lambda s, k: data(s, k, 0.2, 3.0),
              [0.0, 1.0, 100.0, -1.0, INF]),
    "exp2": (chainrule.exp2, "exp2", lambda s, k: data(s, k), [0.0, 3.0, -INF, INF, 2000.0]),
    "expm1": (chainrule.expm1, "expm1", lambda s, k: data(s, k), [0.0, 1e-10, -INF, 800.0]),
    "log1p": (chainrule.log1p, "log1p", lambda s, k: data(s, k, -0.5, 3.0),
              [-1.0, 0.0, 1e-10, -2.0]),
    "logit": (chainrule.logit, "logit", lambda s, k: data(s, k, 0.05, 0.95),
              [-1.0, 0.0, 0.25, 0.5, 1.0, 2.0, NAN]),
    "logit_eps": (lambda x: chainrule.logit(x, eps=0.1), lambda t, x: t.logit(x, eps=0.1),
                  lambda s, k: data(s, k, 0.15, 0.85), [-1.0, 0.0, 0.1, 0.5, 0.9, 1.0, 2.0]),
    "logit_negative_eps": (lambda x: chainrule.logit(x, eps=-0.5),
                           lambda t, x: t.logit(x, eps=-0.5),
                           lambda s, k: data(s, k, 0.05, 0.95), [-1.0, 0.0, 0.5, 1.0]),
    "erfc": (chainrule.erfc, "erfc", lambda s, k: data(s, k), [0.0, 3.0, -INF, INF, NAN]),
    "erfinv": (chainrule.erfinv, "erfinv", lambda s, k: data(s, k, -0.9, 0.9),
               [-1.0, -0.0, 0.0, 0.5, 1.0, 2.0, NAN]),
    "lgamma": (chainrule.lgamma, "lgamma", lambda s, k: data(s, k, 0.3, 4.0),
               [0.0, -1.0, -0.5, 0.5, 1.0, INF, -INF, NAN]),
    "digamma": (chainrule.digamma, "digamma", lambda s, k: data(s, k, 0.3, 4.0),
                [0.0, -0.5, 0.5, 1.0, 200.0, INF, NAN]),
    "polygamma1": (lambda x: chainrule.polygamma(1, x), lambda t, x: t.polygamma(1, x),
                   lambda s, k: data(s, k, 0.3, 4.0), [0.0, -0.5, 0.5, 1.0, 200.0, INF]),
    "polygamma2": (lambda x: chainrule.polygamma(2, x), lambda t, x: t.polygamma(2, x),
                   lambda s, k: data(s, k, 0.3, 4.0), [-0.5, 0.5, 1.0, 200.0]),
    "square": (chainrule.square, "square", lambda s, k: data(s, k), [0.0, -2.0, INF]),
    "reciprocal": (chainrule.reciprocal, "reciprocal", lambda s, k: signed(s, k, 0.5, 2.0),
                   [0.0, -0.0, 2.0, INF]),
    "nan_to_num": (chainrule.nan_to_num, "nan_to_num", lambda s, k: data(s, k),
                   [NAN, INF, -INF, 1.0, -0.0]),
    "nan_to_num_values": (lambda x: chainrule.nan_to_num(x, nan=1.5, posinf=2.0, neginf=-3.0),
                          lambda t, x: t.nan_to_num(x, nan=1.5, posinf=2.0, neginf=-3.0),
                          lambda s, k: data(s, k), [NAN, INF, -INF, 1.0]),
    "clamp_min_scalar": (lambda x: chainrule.clamp_min(x, 0.25),
                         lambda t, x: t.clamp_min(x, 0.25),
                         lambda s, k: signed(s, k, 0.3, 2.0), [0.0, 0.25, 1.0, NAN]),
    "clamp_max_scalar": (lambda x: chainrule.clamp_max(x, 0.25),
                         lambda t, x: t.clamp_max(x, 0.25),
                         lambda s, k: signed(s, k, 0.3, 2.0), [0.0, 0.25, 1.0, NAN]),
    "clamp_nan_bound": (lambda x: chainrule.clamp(x, min=NAN), lambda t, x: t.clamp(x, min=NAN),
                        lambda s, k: data(s, k), [0.0, 1.0]),
    "clamp_crossed": (lambda x: chainrule.clamp(x, 1.0, 0.0), lambda t, x: t.clamp(x, 1.0, 0.0),
                      lambda s, k: data(s, k), [-1.0, 0.0, 0.5, 1.0, 2.0]),
}
NO_GRADCHECK = {"clamp_nan_bound"}      # nan everywhere: compared with PyTorch only


def _torch_fn(torch, spec):
    return getattr(torch, spec) if isinstance(spec, str) else (lambda x: spec(torch, x))


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=shapes, seed=st.integers(0, 1000))
def test_unary_gradients(name, shape, seed):
    if name in NO_GRADCHECK:
        return
    fn, _, sample, _ = UNARY[name]
    check(fn, leaf(sample(shape, seed)))


def _first_and_second(fn, x, lib):
    """y, dy/dx and d(sum dy/dx)/dx for chainrule or torch (None where not defined)."""
    if lib is chainrule:
        y = fn(x)
        (g,) = chainrule.autograd.grad(y, [x], chainrule.ones_like(y), create_graph=True)
        second = None
        if g.requires_grad:
            (second,) = chainrule.autograd.grad(g.sum(), [x], allow_unused=True)
        return y.detach().numpy(), g.detach().numpy(), None if second is None else \
            second.numpy()
    y = fn(x)
    (g,) = lib.autograd.grad(y, [x], lib.ones_like(y), create_graph=True)
    second = None
    if g.requires_grad:
        (second,) = lib.autograd.grad(g.sum(), [x], allow_unused=True)
    return y.detach().numpy(), g.detach().numpy(force=True), None if second is None else \
        second.detach().numpy()


def _same(ours, theirs, what, exact_zeros=False):
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12, err_msg=what)
    if exact_zeros:       # signed zeros too
        zero = np.asarray(theirs) == 0
        np.testing.assert_array_equal(np.signbit(ours)[zero], np.signbit(theirs)[zero],
                                      err_msg=what + " (sign of zero)")


# derivatives at poles and infinities where chainrule gives the limit (SciPy's value) and
# PyTorch's series a large finite number or nan (docs/pytorch.md)
KNOWN_DIFFERENT = {"lgamma": {-1.0}, "polygamma1": {INF}, "digamma": {INF}}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_pytorch_at_edges_and_random_points(torch, name):
    fn, spec, sample, edges = UNARY[name]
    values = np.concatenate([np.asarray(edges, dtype=np.float64), sample((6,), 3).ravel()])
    with np.errstate(all="ignore"):          # inf and nan are the point here
        ours = _first_and_second(fn, leaf(values), chainrule)
    theirs = _first_and_second(_torch_fn(torch, spec),
                               torch.tensor(values, requires_grad=True), torch)
    _same(ours[0], theirs[0], f"{name} values", exact_zeros=True)
    keep = ~np.isin(values, list(KNOWN_DIFFERENT.get(name, ())))
    _same(ours[1][keep], theirs[1][keep], f"{name} first derivative")
    if theirs[2] is not None and ours[2] is not None:
        if name == "sinc":      # at 1e-20 both cancel to rounding noise, in different orders
            keep &= values != 1e-20
        _same(ours[2][keep], theirs[2][keep], f"{name} second derivative")


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float16", "float32"])
def test_unary_dtypes_follow_pytorch(torch, name, dtype):
    """Integer and bool inputs promote (or are refused) exactly where PyTorch does."""
    fn, spec, _, _ = UNARY[name]
    values = np.array([0, 1, 2], dtype=dtype) if dtype != "bool" else np.array([True, False])
    try:
        expected = _torch_fn(torch, spec)(torch.from_numpy(values))
    except (RuntimeError, TypeError, NotImplementedError):
        with pytest.raises((DTypeError, ArgumentError)):
            fn(chainrule.tensor(values))
        return
    with np.errstate(all="ignore"):
        got = fn(chainrule.tensor(values))
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64), rtol=2e-3)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_on_empty_and_zero_dimensional_tensors_like_pytorch(torch, name):
    fn, spec, sample, _ = UNARY[name]
    for shape in ((0,), (2, 0, 3), ()):
        values = sample(shape, 5)
        ours = leaf(values)
        theirs = torch.tensor(values, requires_grad=True)
        y, expected = fn(ours), _torch_fn(torch, spec)(theirs)
        assert y.shape == tuple(expected.shape)
        y.sum().backward()
        assert ours.grad.shape == shape


@pytest.mark.torch
@pytest.mark.parametrize("name", ["remainder", "fmod", "atan2", "xlogy", "copysign",
                                  "logaddexp", "hypot", "float_power", "clamp_min_tensor"])
def test_binary_on_empty_tensors_broadcasts_like_pytorch(torch, name):
    fn, spec, _, _ = BINARY[name]
    torch_fn = getattr(torch, spec)
    for sa, sb in (((0, 3), (3,)), ((0,), ()), ((2, 0), (2, 1))):
        a, b = leaf(np.ones(sa)), leaf(np.full(sb, 2.0))
        y = fn(a, b)
        assert y.shape == tuple(torch_fn(torch.ones(sa, dtype=torch.float64),
                                         torch.full(sb, 2.0, dtype=torch.float64)).shape)
        y.sum().backward()
        assert a.grad.shape == sa and b.grad.shape == sb


# issue 19 point 7: integer inputs of the older ops promote, keep or refuse as in PyTorch
PROMOTED_ELSEWHERE = ["exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
                      "erf", "reciprocal", "abs", "neg", "relu", "sum", "prod", "mean",
                      "amax", "amin", "logsumexp", "softmax", "log_softmax"]


@pytest.mark.torch
@pytest.mark.parametrize("name", PROMOTED_ELSEWHERE)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_inputs_of_other_ops_follow_pytorch(torch, name, dtype):
    values = np.array([[1, 2], [0, 3]]).astype(dtype)
    options = {"dim": 1} if name in ("logsumexp", "softmax", "log_softmax") else {}
    try:
        expected = getattr(torch, name)(torch.from_numpy(values), **options)
    except (RuntimeError, TypeError, NotImplementedError):
        with pytest.raises((DTypeError, ArgumentError)):
            getattr(chainrule, name)(chainrule.tensor(values), **options)
        return
    with np.errstate(all="ignore"):
        got = getattr(chainrule, name)(chainrule.tensor(values), **options)
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64), rtol=1e-6)


# name: (chainrule op, torch name or callable, sampler of (a, b), edge values)
BINARY = {
    "remainder": (chainrule.remainder, "remainder",
                  lambda sa, sb, k: (signed(sa, k, 1.3, 1.9), data(sb, k + 1, 1.0, 1.2)),
                  [-3.0, -0.0, 0.0, 2.0, 7.5, INF, -INF, NAN]),
    "fmod": (chainrule.fmod, "fmod",
             lambda sa, sb, k: (signed(sa, k, 1.3, 1.9), data(sb, k + 1, 1.0, 1.2)),
             [-3.0, -0.0, 0.0, 2.0, 7.5, INF, NAN]),
    "div_trunc": (lambda a, b: chainrule.div(a, b, rounding_mode="trunc"),
                  lambda t, a, b: t.div(a, b, rounding_mode="trunc"),
                  lambda sa, sb, k: (signed(sa, k, 1.3, 1.9), data(sb, k + 1, 1.0, 1.2)),
                  [-3.0, -0.0, 0.0, 2.0, 7.5, INF, NAN]),
    "div_floor": (lambda a, b: chainrule.div(a, b, rounding_mode="floor"),
                  lambda t, a, b: t.div(a, b, rounding_mode="floor"),
                  lambda sa, sb, k: (signed(sa, k, 1.3, 1.9), data(sb, k + 1, 1.0, 1.2)),
                  [-3.0, -0.0, 0.0, 0.5, 2.0, 7.5, INF, NAN]),
    "atan2": (chainrule.atan2, "atan2", lambda sa, sb, k: (data(sa, k), signed(sb, k + 1, .3, 2)),
              [0.0, -0.0, 1.0, -1.0, 1e-200, INF, -INF, NAN]),
    "xlogy": (chainrule.xlogy, "xlogy",
              lambda sa, sb, k: (data(sa, k), data(sb, k + 1, 0.5, 2.0)),
              [0.0, -1.0, 1.0, 2.0, INF, NAN]),
    "copysign": (chainrule.copysign, "copysign",
                 lambda sa, sb, k: (signed(sa, k, 0.2, 2), signed(sb, k + 1, 0.2, 2)),
                 [0.0, -0.0, 1.0, -2.0, INF, NAN]),
    "logaddexp": (chainrule.logaddexp, "logaddexp", lambda sa, sb, k: (data(sa, k), data(sb, k)),
                  [0.0, 1.0, -1.0, 800.0, INF, -INF, NAN]),
    "logaddexp2": (chainrule.logaddexp2, "logaddexp2",
                   lambda sa, sb, k: (data(sa, k), data(sb, k + 1)),
                   [0.0, 1.0, -1.0, 800.0, INF, -INF]),
    "hypot": (chainrule.hypot, "hypot",
              lambda sa, sb, k: (signed(sa, k, 0.2, 2), signed(sb, k + 1, 0.2, 2)),
              [0.0, 3.0, -4.0, INF, NAN]),
    "float_power": (chainrule.float_power, "float_power",
                    lambda sa, sb, k: (data(sa, k, 0.5, 2.0), data(sb, k + 1)),
                    [0.0, 2.0, -2.0, 0.5, -1.0]),
    "pow": (chainrule.pow, "pow", lambda sa, sb, k: (data(sa, k, 0.5, 2.0), data(sb, k + 1)),
            [0.0, -0.0, 2.0, -2.0, 0.5, -1.0, 3.0, INF]),
    "clamp_min_tensor": (chainrule.clamp_min, "clamp_min",
                         lambda sa, sb, k: _untied(data(sa, k), data(sb, k + 1)),
                         [0.0, 1.0, -1.0, INF, NAN]),
    "clamp_max_tensor": (chainrule.clamp_max, "clamp_max",
                         lambda sa, sb, k: _untied(data(sa, k), data(sb, k + 1)),
                         [0.0, 1.0, -1.0, INF, NAN]),
    "maximum": (chainrule.maximum, "maximum",
                lambda sa, sb, k: _untied(data(sa, k), data(sb, k + 1)), [0.0, 1.0, NAN]),
}


def _untied(a, b):
    """Keep the elements of a and b 1e-2 apart: max/clamp are not differentiable at ties."""
    close = np.abs(a - b) < 1e-2
    return np.where(close, a + 0.05, a), b


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(pair=pairs, seed=st.integers(0, 1000))
def test_binary_gradients_under_broadcasting(name, pair, seed):
    fn, _, sample, _ = BINARY[name]
    sa, sb = pair.input_shapes
    a, b = sample(sa, sb, seed)
    check(fn, leaf(a), leaf(b))


def _binary_grads(fn, a, b, lib):
    y = fn(a, b)
    if lib is chainrule:
        ga, gb = chainrule.autograd.grad(y, [a, b], chainrule.ones_like(y), allow_unused=True)
        return [None if g is None else g.numpy() for g in (y.detach(), ga, gb)]
    ga, gb = lib.autograd.grad(y, [a, b], lib.ones_like(y), allow_unused=True)
    return [None if g is None else g.detach().numpy() for g in (y, ga, gb)]


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_pytorch_on_a_grid_of_edge_values(torch, name):
    """Every pair of edge values (zeros of both signs, infinities, nan, negatives)."""
    fn, spec, sample, edges = BINARY[name]
    grid_a, grid_b = np.meshgrid(edges, edges, indexing="ij")
    ra, rb = sample((5,), (5,), 7)
    a = np.concatenate([grid_a.ravel(), ra])
    b = np.concatenate([grid_b.ravel(), rb])
    if name == "maximum":            # ties share the gradient: tested in test_arithmetic.py
        b = b + 0.5
    torch_fn = getattr(torch, spec) if isinstance(spec, str) else \
        (lambda x, y: spec(torch, x, y))
    with np.errstate(all="ignore"):
        ours = _binary_grads(fn, leaf(a), leaf(b), chainrule)
    theirs = _binary_grads(torch_fn, torch.tensor(a, requires_grad=True),
                           torch.tensor(b, requires_grad=True), torch)
    _same(ours[0], theirs[0], f"{name} values", exact_zeros=True)
    for i, which in ((1, "input"), (2, "other")):
        if theirs[i] is None:
            assert ours[i] is None or not np.any(ours[i]), f"{name}: {which} gradient"
        else:
            _same(ours[i], theirs[i], f"{name} gradient of {which}")


@pytest.mark.torch
@pytest.mark.parametrize("name", ["remainder", "fmod", "div_trunc", "div_floor", "atan2",
                                  "xlogy", "copysign", "logaddexp", "hypot", "float_power"])
def test_binary_second_derivatives_match_pytorch(torch, name):
    fn, spec, sample, _ = BINARY[name]
    a, b = sample((6,), (6,), 11)
    torch_fn = getattr(torch, spec) if isinstance(spec, str) else \
        (lambda x, y: spec(torch, x, y))

    def second(f, x, y, lib):
        out = f(x, y)
        ga, gb = lib.autograd.grad(out.sum(), [x, y], create_graph=True)
        if not (ga.requires_grad or gb.requires_grad):
            return None
        total = (ga * ga).sum() + (gb * gb * 0.5).sum()
        return [g.detach().numpy() if hasattr(g, "detach") else g.numpy()
                for g in lib.autograd.grad(total, [x, y], allow_unused=True) if g is not None]

    ours = second(fn, leaf(a), leaf(b), chainrule)
    theirs = second(torch_fn, torch.tensor(a, requires_grad=True),
                    torch.tensor(b, requires_grad=True), torch)
    if theirs is None:
        return
    for o, t in zip(ours, theirs):
        _same(o, t, f"{name} second derivative")


# dtype rules of the binary ops: bool < integers < floats, Python numbers, refusals
DTYPES = ["bool", "int32", "int64", "float16", "float32", "float64"]
PROMOTING = {
    "remainder": (chainrule.remainder, "remainder"), "fmod": (chainrule.fmod, "fmod"),
    "floor_divide": (chainrule.floor_divide, "floor_divide"),
    "div_trunc": (BINARY["div_trunc"][0], BINARY["div_trunc"][1]),
    "div_floor": (BINARY["div_floor"][0], BINARY["div_floor"][1]),
    "true_divide": (chainrule.true_divide, "true_divide"), "atan2": (chainrule.atan2, "atan2"),
    "xlogy": (chainrule.xlogy, "xlogy"), "copysign": (chainrule.copysign, "copysign"),
    "logaddexp": (chainrule.logaddexp, "logaddexp"), "hypot": (chainrule.hypot, "hypot"),
    "logaddexp2": (chainrule.logaddexp2, "logaddexp2"),
    "float_power": (chainrule.float_power, "float_power"), "pow": (chainrule.pow, "pow"),
    "clamp_min": (chainrule.clamp_min, "clamp_min"), "clamp_max": (chainrule.clamp_max,
                                                                  "clamp_max"),
    "lerp_half": (lambda a, b: chainrule.lerp(a, b, 0.5), lambda t, a, b: t.lerp(a, b, 0.5)),
}


def _values(dtype, zero_free, dims):
    values = np.array([3, 1, 2]) if dims else np.array(2)
    if dtype == "bool":
        values = values > 0 if zero_free else values > 1
    return np.asarray(values).astype(dtype)


@pytest.mark.torch
@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(PROMOTING)), da=st.sampled_from(DTYPES),
       db=st.sampled_from(DTYPES + ["number_int", "number_float"]), dims_a=st.booleans(),
       dims_b=st.booleans(), swap=st.booleans())
def test_binary_dtype_promotion_matches_pytorch(name, da, db, dims_a, dims_b, swap):
    torch = pytest.importorskip("torch")
    fn, spec = PROMOTING[name]
    torch_fn = getattr(torch, spec) if isinstance(spec, str) else \
        (lambda x, y: spec(torch, x, y))
    a = _values(da, False, dims_a)
    b = {"number_int": 2, "number_float": 1.5}.get(db)
    b = _values(db, True, dims_b) if b is None else b
    ours_a = chainrule.tensor(a)
    ours_b = chainrule.tensor(b) if isinstance(b, np.ndarray) else b
    theirs_a = torch.from_numpy(a)
    theirs_b = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
    if swap:
        ours_a, ours_b, theirs_a, theirs_b = ours_b, ours_a, theirs_b, theirs_a
    try:
        expected = torch_fn(theirs_a, theirs_b)
    except (RuntimeError, TypeError, NotImplementedError):
        with pytest.raises((DTypeError, ArgumentError, ArgumentTypeError)):
            fn(ours_a, ours_b)
        return
    with np.errstate(all="ignore"):
        got = fn(ours_a, ours_b)
    assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), (name, da, db)
    np.testing.assert_allclose(got.numpy().astype(np.float64),
                               expected.numpy().astype(np.float64), rtol=2e-3)


# ---------------------------------------------------------------- integer division

@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
@pytest.mark.parametrize("op", ["floor_divide", "remainder", "fmod", "div_trunc", "div_floor"])
def test_integer_division_matches_pytorch(torch, dtype, op):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype)
    a = rng.integers(max(info.min, -100), min(info.max, 100), size=40).astype(dtype)
    b = rng.integers(max(info.min, -9), 10, size=40).astype(dtype)
    b[b == 0] = 3
    ours_fn = PROMOTING[op][0]
    theirs_fn = PROMOTING[op][1]
    theirs_fn = getattr(torch, theirs_fn) if isinstance(theirs_fn, str) else \
        (lambda x, y, f=theirs_fn: f(torch, x, y))
    expected = theirs_fn(torch.from_numpy(a), torch.from_numpy(b))
    got = ours_fn(chainrule.tensor(a), chainrule.tensor(b))
    assert str(got.dtype) == dtype
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_integer_division_by_zero_raises_like_pytorch():
    for fn in (chainrule.floor_divide, chainrule.remainder, chainrule.fmod,
               lambda a, b: chainrule.div(a, b, rounding_mode="floor")):
        with pytest.raises(ArgumentError, match="integer division by zero"):
            fn(chainrule.tensor([5, 6]), chainrule.tensor([1, 0]))
    x = chainrule.tensor([5.0, -5.0, 0.0])
    with np.errstate(all="ignore"):
        assert chainrule.floor_divide(x, 0.0).tolist()[:2] == [INF, -INF]


def test_div_rejects_an_unknown_rounding_mode():
    with pytest.raises(ArgumentError, match="rounding_mode must be one of None, 'trunc' or "
                                            "'floor', got 'round'"):
        chainrule.div(chainrule.tensor([1.0]), 2, rounding_mode="round")


def test_floor_divide_records_a_node_without_a_derivative_like_pytorch():
    x = chainrule.tensor([7.0, -7.0], requires_grad=True)
    y = x // 2
    assert y.requires_grad and y.tolist() == [3.0, -4.0]
    with pytest.raises(GraphError, match="floor_divide: the derivative is not implemented"):
        y.sum().backward()
    z = chainrule.div(x, 2, rounding_mode="floor")
    z.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


@pytest.mark.torch
def test_reflected_and_python_operators_match_pytorch(torch):
    a = np.array([7.0, -7.5, 3.0])
    ia = np.array([7, -7, 3])
    cases = [
        lambda t, x, i: x // 2, lambda t, x, i: 7 // x, lambda t, x, i: x % 2.5,
        lambda t, x, i: 7 % x, lambda t, x, i: i // 2, lambda t, x, i: 7 // i,
        lambda t, x, i: i % -2, lambda t, x, i: -7 % i, lambda t, x, i: 2.5 // i,
        lambda t, x, i: i & 6, lambda t, x, i: 6 | i, lambda t, x, i: i ^ 5,
        lambda t, x, i: 5 ^ i, lambda t, x, i: ~i, lambda t, x, i: i << 2,
        lambda t, x, i: 1 << (i & 7), lambda t, x, i: i >> 1, lambda t, x, i: 256 >> (i & 7),
        lambda t, x, i: (i > 0) & (i < 5), lambda t, x, i: (i > 0) | True,
        lambda t, x, i: ~(i > 0), lambda t, x, i: (i > 0) ^ (i < 5),
    ]
    for k, case in enumerate(cases):
        expected = case(torch, torch.tensor(a), torch.tensor(ia))
        got = case(chainrule, chainrule.tensor(a, dtype="float64"), chainrule.tensor(ia))
        assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), k
        np.testing.assert_array_equal(got.numpy(), expected.numpy(), err_msg=str(k))


# ---------------------------------------------------------------- clamp with tensor bounds

@SETTINGS
@given(shapes3=triples, seed=st.integers(0, 1000))
def test_clamp_with_tensor_bounds_gradients(shapes3, seed):
    sx, sl, sh = shapes3.input_shapes
    x, low = _untied(data(sx, seed), data(sl, seed + 1) - 0.7)
    x, high = _untied(x, data(sh, seed + 2) + 0.7)
    if np.any(np.abs(np.subtract.outer(low.ravel(), high.ravel())) < 1e-2):
        return                                    # crossed bounds meeting: a kink
    check(lambda x, lo, hi: chainrule.clamp(x, lo, hi), leaf(x), leaf(low), leaf(high))


@pytest.mark.torch
def test_clamp_gradients_at_ties_crossings_and_nan_match_pytorch(torch):
    x = np.array([1.0, 2.0, 3.0, 5.0, 0.0, NAN, 1.0, 2.0, -1.0])
    low = np.array([2.0, 2.0, 2.0, 4.0, 3.0, 0.0, NAN, 3.0, -1.0])
    high = np.array([3.0, 3.0, 3.0, 3.0, 1.0, 2.0, 2.0, 3.0, -1.0])
    for kwargs in ({"min": True, "max": True}, {"min": True}, {"max": True}):
        def run(lib, make):
            xs = [make(v) for v in (x, low, high)]
            y = lib.clamp(xs[0], min=xs[1] if "min" in kwargs else None,
                          max=xs[2] if "max" in kwargs else None)
            used = [xs[0]] + [xs[i] for i, k in ((1, "min"), (2, "max")) if k in kwargs]
            grads = lib.autograd.grad(y.sum(), used)
            return [y.detach().numpy()] + [g.detach().numpy() if lib is torch else g.numpy()
                                           for g in grads]
        ours = run(chainrule, leaf)
        theirs = run(torch, lambda v: torch.tensor(v, requires_grad=True))
        for o, t in zip(ours, theirs):
            _same(o, t, f"clamp {kwargs}")


@pytest.mark.torch
def test_clamp_dtypes_follow_pytorch(torch):
    i = np.array([15, -27])
    f = np.array([1.5, -2.5], dtype=np.float32)
    cases = [
        lambda t, i, f: t.clamp(i, min=0.5), lambda t, i, f: t.clamp(i, min=0),
        lambda t, i, f: t.clamp(i, min=t.tensor(0.5)), lambda t, i, f: t.clamp(f, min=i),
        lambda t, i, f: t.clamp(f, min=t.tensor(0.0), max=1.0),
        lambda t, i, f: t.clamp_min(i > 0, 0), lambda t, i, f: t.clamp(f.double(), max=f),
        lambda t, i, f: t.clamp(t.zeros(2, 1), min=t.zeros(3)),
    ]
    for k, case in enumerate(cases):
        expected = case(torch, torch.from_numpy(i), torch.from_numpy(f))
        got = case(chainrule, chainrule.tensor(i), chainrule.tensor(f))
        assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), k
        np.testing.assert_array_equal(got.numpy(), expected.numpy(), err_msg=str(k))
    with pytest.raises(ArgumentError, match="at least one of min and max"):
        chainrule.clamp(chainrule.tensor(f))
    with pytest.raises(ArgumentError, match="clamp: min must be a number, a tensor or None"):
        chainrule.clamp(chainrule.tensor(f), min="0")


# ---------------------------------------------------------------- lerp

@SETTINGS
@given(shapes3=triples, seed=st.integers(0, 1000))
def test_lerp_gradients_under_broadcasting(shapes3, seed):
    sa, sb, sw = shapes3.input_shapes
    check(chainrule.lerp, leaf(data(sa, seed)), leaf(data(sb, seed + 1)),
          leaf(data(sw, seed + 2, -0.5, 1.5)))


@pytest.mark.torch
def test_lerp_matches_pytorch(torch):
    start = np.array([0.0, 1.0, -2.0, 1e8, INF, 3.0])
    end = np.array([10.0, 1.0, 5.0, 1.0, 1.0, NAN])
    for weight in (0.0, 0.25, 0.5, 1.0, 1.7, np.array([0.0, 0.49, 0.5, 0.51, 1.0, 2.0])):
        def run(lib, make):
            xs = [make(start), make(end)]
            w = make(weight) if isinstance(weight, np.ndarray) else weight
            y = lib.lerp(xs[0], xs[1], w)
            used = xs + ([w] if isinstance(weight, np.ndarray) else [])
            grads = lib.autograd.grad(y.sum(), used)
            return [y.detach().numpy()] + [g.detach().numpy() if lib is torch else g.numpy()
                                           for g in grads]
        with np.errstate(all="ignore"):
            ours = run(chainrule, leaf)
        theirs = run(torch, lambda v: torch.tensor(v, requires_grad=True))
        for o, t in zip(ours, theirs):      # PyTorch's kernel uses a fused multiply-add
            np.testing.assert_allclose(o, t, rtol=1e-15, atol=0)


def test_lerp_refuses_mixed_dtypes_like_pytorch():
    a = chainrule.tensor([1.0, 2.0])
    with pytest.raises(DTypeError, match="expected dtype float32 for end but got float64"):
        chainrule.lerp(a, a.double(), 0.5)
    with pytest.raises(DTypeError, match="for weight"):
        chainrule.lerp(a, a, chainrule.tensor([0.5, 0.5], dtype="float64"))
    assert chainrule.lerp(a, a, chainrule.tensor(0.5, dtype="float64")).dtype == np.float32


# ---------------------------------------------------------------- pow at 0 (issue 19 point 8)

@pytest.mark.torch
def test_pow_gradients_at_zero_base_and_zero_exponent_match_pytorch(torch):
    """PyTorch's finite values at 0 ** x and x ** 0, for a tensor exponent, a scalar exponent
    and a scalar base, first and second derivatives."""
    base = np.array([0.0, 0.0, 0.0, 0.0, 2.0, -2.0, 0.0, 3.0, -0.0])
    exponent = np.array([0.0, 2.0, -1.0, 0.5, 0.0, 0.0, 1.0, 2.0, 3.0])

    def tensor_tensor(lib, make):
        a, b = make(base), make(exponent)
        ga, gb = lib.autograd.grad((a ** b).sum(), [a, b], create_graph=True)
        out = [ga, gb]
        if ga.requires_grad:
            out += list(lib.autograd.grad((ga + gb).sum(), [a, b]))
        return [g.detach().numpy() for g in out]

    with np.errstate(all="ignore"):
        ours = tensor_tensor(chainrule, leaf)
    theirs = tensor_tensor(torch, lambda v: torch.tensor(v, requires_grad=True))
    for o, t in zip(ours, theirs):
        _same(o, t, "pow(tensor, tensor) derivatives")

    x = np.array([0.0, -0.0, 1.0, -1.0, 3.0])
    for c in (0, 0.0, 1, 2, 3, 0.5, -1, -2.5):
        def scalar_exponent(lib, make):
            t = make(x)
            (g,) = lib.autograd.grad((t ** c).sum(), [t], create_graph=True)
            out = [g]
            if g.requires_grad:
                out += list(lib.autograd.grad(g.sum(), [t]))
            return [v.detach().numpy() for v in out]
        with np.errstate(all="ignore"):
            ours = scalar_exponent(chainrule, leaf)
        theirs = scalar_exponent(torch, lambda v: torch.tensor(v, requires_grad=True))
        for o, t in zip(ours, theirs):
            _same(o, t, f"x ** {c}")
    for c in (0.0, 2.0, 0.5):
        def scalar_base(lib, make):
            t = make(np.array([0.0, 1.0, -1.0, 2.0]))
            (g,) = lib.autograd.grad((c ** t).sum(), [t])
            return g.detach().numpy()
        with np.errstate(all="ignore"):
            _same(scalar_base(chainrule, leaf),
                  scalar_base(torch, lambda v: torch.tensor(v, requires_grad=True)), f"{c} ** x")


@pytest.mark.torch
def test_integer_powers_match_pytorch(torch):
    base = np.array([2, -2, 1, -1, 0, 3])
    exponent = np.array([-1, -1, -3, -3, 2, 3])
    expected = torch.from_numpy(base) ** torch.from_numpy(exponent)
    got = chainrule.tensor(base) ** chainrule.tensor(exponent)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    with pytest.raises(ArgumentError, match="negative integer powers are not allowed"):
        chainrule.tensor(base) ** -1
    assert (chainrule.tensor([True]) ** 2).dtype == np.int64


# ---------------------------------------------------------------- special-function checks

def test_polygamma_refuses_a_negative_order():
    with pytest.raises(ArgumentError, match="does not support negative n"):
        chainrule.polygamma(-1, chainrule.tensor([1.0]))


def test_float_power_is_float64_with_gradients_in_the_input_dtype():
    x = chainrule.tensor([2.0, 3.0], requires_grad=True)
    y = chainrule.float_power(x, 2)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [4.0, 6.0]
    with pytest.raises(DTypeError, match="float_power_: the base has dtype float32"):
        chainrule.tensor([2.0]).float_power_(2)


def test_rounding_ops_keep_integers_and_refuse_bool_like_pytorch():
    i = chainrule.tensor([3, -4])
    for fn in (chainrule.floor, chainrule.ceil, chainrule.round, chainrule.trunc):
        y = fn(i)
        assert y.dtype == np.int64 and y.tolist() == [3, -4]
        with pytest.raises(DTypeError, match="bool"):
            fn(chainrule.tensor([True]))
    with pytest.raises(DTypeError, match="decimals=1 needs a floating-point tensor"):
        chainrule.round(i, decimals=1)
    with pytest.raises(DTypeError, match="frac: needs a floating-point tensor"):
        chainrule.frac(i)


def test_sign_and_step_functions_pass_a_zero_gradient_even_for_nan_upstream():
    x = chainrule.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    for fn in (chainrule.sign, chainrule.floor, chainrule.round, chainrule.trunc):
        x.grad = None
        fn(x).backward(chainrule.tensor([NAN, INF, 1.0]))
        assert x.grad.tolist() == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------- in-place variants

def full(value):
    """An in-place op's tensor argument: four copies of ``value``, requiring grad."""
    return ("full", value)


INPLACE = [
    ("floor_", ()), ("ceil_", ()), ("round_", ()), ("trunc_", ()), ("fix_", ()), ("frac_", ()),
    ("sign_", ()), ("sgn_", ()), ("tan_", ()), ("asin_", ()), ("arcsin_", ()), ("acos_", ()),
    ("atan_", ()), ("sinh_", ()), ("cosh_", ()), ("asinh_", ()), ("atanh_", ()),
    ("sinc_", ()), ("log2_", ()), ("log10_", ()), ("exp2_", ()), ("expm1_", ()),
    ("logit_", ()), ("erfc_", ()), ("erfinv_", ()), ("lgamma_", ()), ("digamma_", ()),
    ("polygamma_", (1,)), ("sin_", ()), ("cos_", ()), ("log_", ()), ("sqrt_", ()),
    ("rsqrt_", ()), ("abs_", ()), ("erf_", ()), ("log1p_", ()), ("square_", ()),
    ("reciprocal_", ()), ("nan_to_num_", ()), ("clamp_min_", (0.4,)), ("clamp_max_", (0.4,)),
    ("clamp_min_", (full(0.4),)), ("remainder_", (0.3,)), ("fmod_", (0.3,)),
    ("atan2_", (full(0.5),)), ("xlogy_", (full(2.0),)), ("copysign_", (full(-1.0),)),
    ("hypot_", (full(0.5),)), ("lerp_", (full(0.0), 0.25)), ("true_divide_", (2.0,)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}{i}" for i, (n, _) in
                                                    enumerate(INPLACE)])
def test_inplace_variants_match_pytorch_values_and_gradients(torch, name, args):
    values = np.array([0.2, 0.35, 0.6, 0.8])

    def run(lib, make, inplace=True):
        w = make(values)
        x = w * 1.0                                     # not a leaf: may change in place
        extra = [make(np.full(4, a[1])) if isinstance(a, tuple) else a for a in args]
        if inplace:
            out = getattr(x, name)(*extra)
            assert out is x
        else:
            x = getattr(x, name[:-1])(*extra)
        (g,) = lib.autograd.grad(x.sum(), [w])
        return x.detach().numpy(), g.detach().numpy(force=True) if lib is torch else g.numpy()

    try:
        theirs = run(torch, lambda v: torch.tensor(v, requires_grad=True))
    except (RuntimeError, NotImplementedError):  # asinh_/atanh_: "inplace ... not implemented"
        theirs = run(torch, lambda v: torch.tensor(v, requires_grad=True), inplace=False)
    ours = run(chainrule, leaf)
    for o, t in zip(ours, theirs):
        _same(o, t, name)


def test_inplace_refuses_a_float_result_in_an_integer_tensor():
    with pytest.raises(DTypeError, match="cannot be stored in this int64 tensor"):
        chainrule.tensor([1, 2]).tan_()


def test_inplace_keyword_options_and_div_rounding_mode():
    x = chainrule.tensor([1.234, -5.678])
    x.round_(decimals=1)
    np.testing.assert_allclose(x.numpy(), [1.2, -5.7], rtol=1e-6)
    y = chainrule.tensor([7, -7])
    y.div_(2, rounding_mode="floor")
    assert y.tolist() == [3, -4]
    z = chainrule.tensor([7, -7])
    z //= 2
    z %= 3
    assert z.tolist() == [0, 2]


# ---------------------------------------------------------------- errors named up front

def test_ops_that_pytorch_limits_to_tensors_refuse_numbers():
    for fn in (chainrule.atan2, chainrule.hypot, chainrule.logaddexp, chainrule.logaddexp2):
        with pytest.raises(ArgumentTypeError, match="must be a Tensor, not int"):
            fn(chainrule.tensor([1.0]), 2)
    with pytest.raises(DTypeError, match="hypot: needs floating-point tensors, got int64"):
        chainrule.hypot(chainrule.tensor([1]), chainrule.tensor([2]))
    with pytest.raises(DTypeError, match="neg: negation of a bool tensor"):
        -chainrule.tensor([True])
    with pytest.raises(DTypeError, match="abs: not defined for bool"):
        abs(chainrule.tensor([True]))


# ---------------------------------------------------------------- ONNX export

def test_onnx_export_of_elementwise_ops_matches_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from chainrule import nn

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 6)

        def forward(self, x):
            h = chainrule.tan(chainrule.atan(self.linear(x)))
            h = chainrule.asinh(h) + chainrule.sinh(h * 0.1) + chainrule.cosh(h * 0.1)
            h = h + chainrule.asin(chainrule.clamp(h * 0.1, -0.9, 0.9))
            h = h + chainrule.acos(chainrule.clamp(h * 0.1, -0.9, 0.9))
            h = h + chainrule.atanh(chainrule.clamp(h * 0.1, -0.9, 0.9))
            h = h + chainrule.acosh(h * h + 1.5)
            h = h + chainrule.log2(h * h + 1) + chainrule.log10(h * h + 1)
            h = h + chainrule.exp2(h * 0.1) + chainrule.expm1(h * 0.1)
            h = h + chainrule.floor(h) * 0 + chainrule.ceil(h) * 0 + chainrule.round(h) * 0
            h = h + chainrule.trunc(h) * 0 + chainrule.frac(h) + chainrule.sign(h) * 0
            h = h + chainrule.remainder(h, 1.5) + chainrule.fmod(h, 1.5)
            h = h + chainrule.div(h, 1.5, rounding_mode="floor") * 0
            h = h + chainrule.div(h, 1.5, rounding_mode="trunc") * 0
            h = h + chainrule.hypot(h, h * 0.5) + chainrule.logaddexp(h, h * 0.5)
            h = h + chainrule.logaddexp2(h, -h) + chainrule.sinc(h)
            h = h + chainrule.lerp(h, h * 2, 0.3) + chainrule.erfc(h * 0.1)
            h = h + chainrule.logit(chainrule.sigmoid(h), eps=0.01)
            h = h + chainrule.xlogy(h, h * h + 1)
            h = h + chainrule.clamp(h, min=h * 0.5, max=h * 0.5 + 1)
            h = chainrule.nan_to_num(h) + chainrule.clamp_min(h, h * 0.3)
            return chainrule.clamp_max(h, h * 0.2) + chainrule.reciprocal(h * h + 1)

    chainrule.manual_seed(0)
    model = Model()
    x = chainrule.randn(3, 4)
    path = chainrule.onnx.export(model, x, str(tmp_path / "elementwise.onnx"))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    with chainrule.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
