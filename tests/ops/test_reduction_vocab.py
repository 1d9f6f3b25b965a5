"""Reductions of issue 19.5 (aminmax, nansum, nanmean, var_mean, std_mean, count_nonzero,
quantile, nanquantile, logsumexp over tuples, torch.norm and linalg.vector_norm / matrix_norm /
norm for every ord, amax/amin ties and empty dims, var/std correction >= N, empty reductions,
sum/mean dtype=): gradcheck and gradgradcheck over drawn shapes, and values and gradients
against PyTorch 2.13 on the same inputs, edge inputs included."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
from chainrule.errors import (ArgumentError, ArgumentTypeError, ChainruleError, DTypeError,
                              ShapeError)
from tests.helpers import check, make

SETTINGS = settings(max_examples=8, deadline=None)
NAN, INF = float("nan"), float("inf")
linalg = chainrule.linalg


@st.composite
def shape_and_dims(draw, min_dims=1):
    shape = draw(array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))
    kind = draw(st.sampled_from(["all", "one", "several"]))
    if kind == "all":
        dims = None
    elif kind == "one":
        dims = draw(st.integers(-len(shape), len(shape) - 1))
    else:
        dims = tuple(draw(st.sets(st.integers(0, len(shape) - 1), min_size=1)))
    return shape, dims, draw(st.booleans())


def away_from_kinks(x, seed):
    """Distinct values away from 0 (norms' kinks) and from each other (max/quantile ties)."""
    rng = np.random.default_rng(seed)
    ranks = rng.permutation(x._data.size).reshape(x.shape)
    x._data[...] = (ranks + rng.uniform(0.2, 0.8, x.shape)) * 0.37   # no ties in sums either
    x._data[...] *= np.where(rng.random(x.shape) < 0.5, -1, 1)
    return x


# name -> f(x, dims, keepdim); every one is differentiable at inputs away from kinks and ties
GRADIENT_CASES = {
    "amax": lambda x, d, k: x.amax(() if d is None else d, k),
    "amin": lambda x, d, k: chainrule.amin(x, () if d is None else d, k),
    "nansum": lambda x, d, k: chainrule.nansum(x, d, k),
    "nanmean": lambda x, d, k: chainrule.nanmean(x, d, k),
    "var_mean": lambda x, d, k: sum(chainrule.var_mean(x, d, keepdim=k, correction=0)),
    "std_mean": lambda x, d, k: sum(chainrule.std_mean(x, d, keepdim=k, correction=0)),
    "logsumexp": lambda x, d, k: x.logsumexp(d, k),
    "vector_norm_0.5": lambda x, d, k: linalg.vector_norm(x, 0.5, d, k),
    "vector_norm_1.5": lambda x, d, k: linalg.vector_norm(x, 1.5, d, k),
    "vector_norm_3": lambda x, d, k: linalg.vector_norm(x, 3, d, k),
    "vector_norm_-1": lambda x, d, k: linalg.vector_norm(x, -1, d, k),
    "vector_norm_inf": lambda x, d, k: linalg.vector_norm(x, INF, d, k),
    "vector_norm_-inf": lambda x, d, k: linalg.vector_norm(x, -INF, d, k),
    "norm_fro": lambda x, d, k: x.norm("fro", d if not isinstance(d, tuple) else d[:2], k),
    "quantile_linear": lambda x, d, k: x.quantile(0.3, d if not isinstance(d, tuple) else d[0],
                                                  k),
    "nanquantile_midpoint": lambda x, d, k: x.nanquantile(
        chainrule.tensor([0.1, 0.75], dtype="float64"),
        d if not isinstance(d, tuple) else d[0], k, interpolation="midpoint"),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
@SETTINGS
@given(case=shape_and_dims(), seed=st.integers(0, 1000))
def test_gradients_and_second_derivatives(name, case, seed):
    shape, dims, keep = case
    x = away_from_kinks(make(shape, seed), seed)
    check(lambda t: GRADIENT_CASES[name](t, dims, keep), x)


MATRIX_ORDS = ["fro", "nuc", 1, -1, 2, -2, INF, -INF]


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
@SETTINGS
@given(shape=array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3),
       seed=st.integers(0, 1000), keep=st.booleans())
def test_matrix_norm_gradients(ord, shape, seed, keep):
    x = away_from_kinks(make(shape, seed), seed)
    check(lambda t: linalg.matrix_norm(t, ord, (0, -1), keep), x)


# ---------------------------------------------------------------- against PyTorch

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def compare(ours, theirs, *arrays, rtol=1e-10, atol=1e-12, grad=True):
    """Values and gradients of ours(*chainrule tensors) and theirs(*torch tensors) on the same
    float64 arrays; nan must match nan, and a missing gradient counts as zeros."""
    import torch
    arrays = [np.asarray(a, dtype=np.float64) if not isinstance(a, np.ndarray) else a
              for a in arrays]
    floating = [a.dtype.kind == "f" and grad for a in arrays]
    xs = [chainrule.tensor(a, requires_grad=f) for a, f in zip(arrays, floating)]
    ts = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, floating)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_out, theirs_out = _outputs(ours(*xs)), _outputs(theirs(*ts))
        assert len(ours_out) == len(theirs_out)
        for o, t in zip(ours_out, theirs_out):
            assert tuple(o.shape) == tuple(t.shape)
            assert str(o.dtype) == str(t.dtype).replace("torch.", "")
            single = o.dtype == np.float32            # float32 sums differ in the last bit
            np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(),
                                       rtol=max(rtol, 1e-6) if single else rtol,
                                       atol=max(atol, 1e-6) if single else atol)
        if not any(floating):
            return
        rng = np.random.default_rng(7)
        pairs = [(o, t) for o, t in zip(ours_out, theirs_out) if t.requires_grad]
        weights = [rng.standard_normal(t.shape) for _, t in pairs]
        if not pairs:
            return
        sum((o * chainrule.tensor(w)).sum() for (o, _), w in zip(pairs, weights)).backward()
        sum((t * torch.tensor(w)).sum() for (_, t), w in zip(pairs, weights)).backward()
    for x, t in zip(xs, ts):
        if x.requires_grad:
            ours_grad = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
            theirs_grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            np.testing.assert_allclose(ours_grad, theirs_grad, rtol=rtol, atol=atol)


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# name -> (chainrule call, torch call); both take (x, dims, keepdim)
TORCH_CASES = {
    "amax": (lambda x, d, k: x.amax(() if d is None else d, k),
             lambda x, d, k: x.amax(() if d is None else d, k)),
    "amin": (lambda x, d, k: x.amin(() if d is None else d, k),
             lambda x, d, k: x.amin(() if d is None else d, k)),
    "aminmax": (lambda x, d, k: tuple(chainrule.aminmax(x, dim=_one(d), keepdim=k)),
                lambda x, d, k: tuple(__import__("torch").aminmax(x, dim=_one(d), keepdim=k))),
    "nansum": (lambda x, d, k: chainrule.nansum(x, d, k),
               lambda x, d, k: __import__("torch").nansum(x, d, k)),
    "nanmean": (lambda x, d, k: x.nanmean(d, k), lambda x, d, k: x.nanmean(d, k)),
    "var_mean": (lambda x, d, k: chainrule.var_mean(x, d, keepdim=k),
                 lambda x, d, k: __import__("torch").var_mean(x, d, keepdim=k)),
    "std_mean": (lambda x, d, k: chainrule.std_mean(x, d, keepdim=k, correction=0),
                 lambda x, d, k: __import__("torch").std_mean(x, d, keepdim=k, correction=0)),
    "var_corr2": (lambda x, d, k: x.var(d, keepdim=k, correction=2),
                  lambda x, d, k: x.var(d, keepdim=k, correction=2)),
    "std_unbiased": (lambda x, d, k: x.std(d, False, k), lambda x, d, k: x.std(d, False, k)),
    "count_nonzero": (lambda x, d, k: chainrule.count_nonzero(x, d),
                      lambda x, d, k: __import__("torch").count_nonzero(x, d)),
    "logsumexp": (lambda x, d, k: x.logsumexp(_all(x, d), k),
                  lambda x, d, k: x.logsumexp(_all(x, d), k)),
    "sum_dtype": (lambda x, d, k: x.sum(d, k, dtype=chainrule.float32),
                  lambda x, d, k: x.sum(d, k, dtype=__import__("torch").float32)),
    "mean_dtype": (lambda x, d, k: x.to("float32").mean(d, k, dtype=chainrule.float64),
                   lambda x, d, k: x.float().mean(d, k, dtype=__import__("torch").float64)),
    "norm_fro": (lambda x, d, k: x.norm(dim=_two(d), keepdim=k),
                 lambda x, d, k: x.norm(dim=_two(d), keepdim=k)),
    "norm_p3": (lambda x, d, k: x.norm(3, d, k), lambda x, d, k: x.norm(3, d, k)),
    "norm_p0": (lambda x, d, k: x.norm(0, d, k), lambda x, d, k: x.norm(0, d, k)),
    "norm_pinf": (lambda x, d, k: x.norm(INF, d, k), lambda x, d, k: x.norm(INF, d, k)),
}
for _ord in (0, 0.5, 1, 1.5, 2, 3, -0.5, -1, -2, INF, -INF):
    TORCH_CASES[f"vector_norm_{_ord}"] = (
        lambda x, d, k, o=_ord: linalg.vector_norm(x, o, d, k),
        lambda x, d, k, o=_ord: __import__("torch").linalg.vector_norm(x, o, d, k))
for _q in ("linear", "lower", "higher", "midpoint", "nearest"):
    for _fn in ("quantile", "nanquantile"):
        TORCH_CASES[f"{_fn}_{_q}"] = (
            lambda x, d, k, f=_fn, q=_q: getattr(chainrule, f)(
                x, chainrule.tensor([0.0, 0.3, 0.5, 1.0], dtype="float64"), _one(d), k,
                interpolation=q),
            lambda x, d, k, f=_fn, q=_q: getattr(__import__("torch"), f)(
                x, __import__("torch").tensor([0.0, 0.3, 0.5, 1.0], dtype=x.dtype), _one(d), k,
                interpolation=q))


def _one(d):
    return d[0] if isinstance(d, tuple) else d


def _two(d):
    return d[:2] if isinstance(d, tuple) else d


def _all(x, d):
    return tuple(range(x.ndim)) if d is None else d


def _edge(kind, shape, seed):
    """Inputs with ties, exact zeros, nan or inf at drawn positions."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(shape) * 2) / 2      # many ties and zeros
    if kind == "nan":
        x[rng.random(shape) < 0.25] = NAN
    elif kind == "inf":
        x[rng.random(shape) < 0.2] = INF * np.sign(rng.standard_normal())
    elif kind == "smooth":
        x = rng.standard_normal(shape)
    return x


SMOOTH_ONLY = {"var_mean", "std_mean", "var_corr2", "std_unbiased", "logsumexp"}
NAN_FREE = {"aminmax", "count_nonzero"} | SMOOTH_ONLY     # nan/inf rules checked elsewhere


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(TORCH_CASES))
@settings(max_examples=6, deadline=None)
@given(case=shape_and_dims(), seed=st.integers(0, 1000),
       kind=st.sampled_from(["smooth", "ties", "nan", "inf"]))
def test_values_and_gradients_match_pytorch(torch, name, case, seed, kind):
    shape, dims, keep = case
    if name in SMOOTH_ONLY and kind != "smooth" or name in NAN_FREE and kind in ("nan", "inf"):
        kind = "ties" if name not in SMOOTH_ONLY else "smooth"
    ours, theirs = TORCH_CASES[name]
    # PyTorch's sort is not stable: among tied values it may hand the gradient to another one
    # of them than chainrule's stable sort does (the values agree)
    grad = "quantile" not in name or kind == "smooth"
    compare(lambda x: ours(x, dims, keep), lambda x: theirs(x, dims, keep),
            _edge(kind, shape, seed), grad=grad)


@pytest.mark.torch
@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
@pytest.mark.parametrize("shape,dim", [((3, 3), (-2, -1)), ((2, 4, 3), (0, 2)),
                                       ((4, 2), (1, 0)), ((1, 3), (0, 1))])
@pytest.mark.parametrize("keep", [False, True])
def test_matrix_norms_match_pytorch(torch, ord, shape, dim, keep):
    compare(lambda a: linalg.matrix_norm(a, ord, dim, keep),
            lambda a: torch.linalg.matrix_norm(a, ord, dim, keep), _random(shape, 3))
    if len(shape) == 2:
        compare(lambda a: linalg.norm(a, ord), lambda a: torch.linalg.norm(a, ord),
                _random(shape, 4))


@pytest.mark.torch
@pytest.mark.parametrize("ours, theirs, x", [
    # torch.norm's dispatch: 'fro' over up to two dims, 'nuc', numbers over any dims
    (lambda x: x.norm(), lambda x: x.norm(), _random((2, 3, 4), 0)),
    (lambda x: x.norm("fro", (0, 2)), lambda x: x.norm("fro", (0, 2)), _random((2, 3, 4), 0)),
    (lambda x: x.norm(2, (0, 1, 2)), lambda x: x.norm(2, (0, 1, 2)), _random((2, 3, 4), 0)),
    (lambda x: x.norm("nuc"), lambda x: x.norm("nuc"), _random((3, 4), 0)),
    (lambda x: x.norm("nuc", (1, 2), True), lambda x: x.norm("nuc", (1, 2), True),
     _random((2, 3, 4), 1)),
    (lambda x: chainrule.norm(x, p=None), lambda x: __import__("torch").norm(x, p=None),
     _random((5,), 2)),
    (lambda x: x.norm(1, 1, dtype=chainrule.float64), lambda x: x.norm(
        1, 1, dtype=__import__("torch").float64), _random((2, 3), 3)),
    # linalg.norm: vector norm of everything, one dim, or a matrix norm
    (lambda x: linalg.norm(x), lambda x: __import__("torch").linalg.norm(x),
     _random((2, 3, 4), 4)),
    (lambda x: linalg.norm(x, 3, 1), lambda x: __import__("torch").linalg.norm(x, 3, 1),
     _random((2, 3, 4), 5)),
    (lambda x: linalg.norm(x, "nuc", (0, 2)), lambda x: __import__("torch").linalg.norm(
        x, "nuc", (0, 2)), _random((2, 3, 4), 6)),
    (lambda x: linalg.norm(x, INF), lambda x: __import__("torch").linalg.norm(x, INF),
     _random((4,), 7)),
    # zeros: PyTorch's finite gradients at 0 for every ord
    (lambda x: [linalg.vector_norm(x, o) for o in (0.5, 1, 2, 3, -1, INF, -INF)],
     lambda x: [__import__("torch").linalg.vector_norm(x, o) for o in
                (0.5, 1, 2, 3, -1, INF, -INF)], np.zeros(3)),
    (lambda x: [linalg.vector_norm(x, o) for o in (0.5, 1.5, 2, 3, -0.5, INF, -INF)],
     lambda x: [__import__("torch").linalg.vector_norm(x, o) for o in
                (0.5, 1.5, 2, 3, -0.5, INF, -INF)], np.array([0.0, 2.0, 0.0, -3.0])),
    (lambda x: [linalg.vector_norm(x, o, 1) for o in (2, 3, INF)],
     lambda x: [__import__("torch").linalg.vector_norm(x, o, 1) for o in (2, 3, INF)],
     np.array([[0.0, 0.0], [1.0, -1.0]])),
    (lambda x: [linalg.matrix_norm(x, o) for o in ("fro", 1, INF)],
     lambda x: [__import__("torch").linalg.matrix_norm(x, o) for o in ("fro", 1, INF)],
     np.zeros((2, 2))),
    # 0-d tensors and negative dims
    (lambda x: [linalg.vector_norm(x, 3, 0), x.amax(-1), x.logsumexp(0), x.quantile(0.5, 0)],
     lambda x: [__import__("torch").linalg.vector_norm(x, 3, 0), x.amax(-1), x.logsumexp(0),
                x.quantile(0.5, 0)], np.array(-1.5)),
    # amax ties split evenly, nan makes the whole slice's gradient nan; max() picks the nans
    (lambda x: [x.amax((0, 1)), x.amin(1)], lambda x: [x.amax((0, 1)), x.amin(1)],
     np.array([[2.0, 2.0], [1.0, 2.0]])),
    (lambda x: [x.amax(1), x.max()], lambda x: [x.amax(1), x.max()],
     np.array([[1.0, NAN, 3.0, NAN], [1.0, 2.0, 2.0, 0.0]])),
    # var/std with correction >= N: inf (or nan), and their gradients
    (lambda x: [x.var(correction=2), x.var(correction=3), x.std(correction=2)],
     lambda x: [x.var(correction=2), x.var(correction=3), x.std(correction=2)],
     np.array([1.0, 2.0])),
    (lambda x: [x.var(), x.std(), x.var(correction=0.5), x.std(0, True)],
     lambda x: [x.var(), x.std(), x.var(correction=0.5), x.std(0, True)], np.array([1.0])),
    (lambda x: [x.std(), x.var(unbiased=False)], lambda x: [x.std(), x.var(unbiased=False)],
     np.array([2.0, 2.0, 2.0])),
    # reductions over an empty axis: PyTorch's values (nan for mean/var/std) and gradients
    (lambda x: [x.mean(0), x.sum(0), x.prod(0), x.var(0), x.std(0), x.nansum(0),
                x.nanmean(0), linalg.vector_norm(x, 2, 0), x.logsumexp(0), x.amax(1)],
     lambda x: [x.mean(0), x.sum(0), x.prod(0), x.var(0), x.std(0), x.nansum(0),
                x.nanmean(0), __import__("torch").linalg.vector_norm(x, 2, 0),
                x.logsumexp(0), x.amax(1)], np.zeros((0, 3))),
    (lambda x: [x.mean(), x.sum(), x.var(), x.std(), linalg.vector_norm(x)],
     lambda x: [x.mean(), x.sum(), x.var(), x.std(), __import__("torch").linalg.vector_norm(x)],
     np.zeros((2, 0))),
    # nan handling of the nan-reductions
    (lambda x: [x.nansum(), x.nanmean(1), x.nanquantile(0.5, 1)],
     lambda x: [x.nansum(), x.nanmean(1), x.nanquantile(0.5, 1)],
     np.array([[NAN, NAN], [1.0, NAN]])),
    # logsumexp at inf / -inf
    (lambda x: [x.logsumexp(1)], lambda x: [x.logsumexp(1)],
     np.array([[INF, 1.0], [-INF, -INF], [-INF, 2.0]])),
    # quantile ties: the gradient goes where a stable sort puts it
    (lambda x: [x.quantile(0.5), x.quantile(0.4), x.quantile(
        chainrule.tensor([0.5, 1 / 6], dtype="float64"), interpolation="nearest")],
     lambda x: [x.quantile(0.5), x.quantile(0.4), x.quantile(
         __import__("torch").tensor([0.5, 1 / 6], dtype=x.dtype), interpolation="nearest")],
     np.array([2.0, 2.0, 2.0, 1.0])),
    (lambda x: x.quantile(chainrule.tensor([0.2, 0.9], dtype="float64"), keepdim=True),
     lambda x: x.quantile(__import__("torch").tensor([0.2, 0.9], dtype=x.dtype),
                          keepdim=True), _random((2, 3), 8)),
    (lambda x: x.nanquantile(0.25, 0, keepdim=True), lambda x: x.nanquantile(0.25, 0, True),
     _random((2, 3), 9)),
])
def test_edge_inputs_match_pytorch(torch, ours, theirs, x):
    def listed(fn):
        return lambda t: tuple(fn(t)) if isinstance(fn(t), list) else fn(t)
    compare(listed(ours), listed(theirs), x)


@pytest.mark.torch
def test_integer_and_bool_inputs_match_pytorch(torch):
    for ours, theirs in [
        (lambda c: c.nansum(), lambda t: t.nansum()),
        (lambda c: c.count_nonzero(0), lambda t: t.count_nonzero(0)),
        (lambda c: c.amax(1), lambda t: t.amax(1)),
        (lambda c: tuple(c.aminmax()), lambda t: tuple(t.aminmax())),
        (lambda c: c.logsumexp(1), lambda t: t.logsumexp(1)),
        (lambda c: c.sum(dtype=chainrule.float64), lambda t: t.sum(dtype=torch.float64)),
        (lambda c: c.mean(dtype=chainrule.float64), lambda t: t.mean(dtype=torch.float64)),
    ]:
        for data in ([[1, 0, 3], [2, 2, 0]], [[True, False, True], [False, False, True]]):
            compare(ours, theirs, np.array(data), grad=False, rtol=1e-6)


def test_float32_stays_float32():
    x = chainrule.tensor([[1.0, 2.0, 4.0]])
    assert x.quantile(0.3).dtype == np.float32 and x.nanmean().dtype == np.float32
    assert linalg.vector_norm(x, 3).dtype == np.float32
    assert linalg.vector_norm(x, 0, dtype=chainrule.float64).dtype == np.float64
    assert linalg.matrix_norm(x, "nuc").dtype == np.float32
    assert chainrule.count_nonzero(x).dtype == np.int64


def test_norm_of_order_zero_has_no_gradient_as_in_pytorch():
    x = chainrule.tensor([1.0, 0.0, -2.0], requires_grad=True)
    (linalg.vector_norm(x, 0) * 3).backward()
    assert x.grad is None or not x.grad.numpy().any()


def test_var_warns_as_pytorch_when_degrees_of_freedom_run_out():
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        assert chainrule.tensor([1.0, 2.0]).var(correction=2).item() == INF


def test_tuple_results_are_named_as_in_pytorch():
    result = chainrule.aminmax(chainrule.tensor([[1.0, 3.0], [0.0, 2.0]]), dim=0)
    assert result.min.tolist() == [0.0, 2.0] and result.max.tolist() == [1.0, 3.0]
    assert type(result).__name__ == "aminmax"
    var, mean = chainrule.var_mean(chainrule.tensor([1.0, 3.0]), 0, False)
    assert (var.item(), mean.item()) == (1.0, 2.0)


@pytest.mark.parametrize("call, error", [
    (lambda: chainrule.zeros(0, 3).amax(0), ShapeError),
    (lambda: chainrule.zeros(0, 3).amax(), ShapeError),
    (lambda: chainrule.aminmax(chainrule.zeros(0)), ShapeError),
    (lambda: chainrule.aminmax(chainrule.ones(2, 2), dim=(0, 1)), ArgumentTypeError),
    (lambda: chainrule.nanmean(chainrule.tensor([1, 2])), DTypeError),
    (lambda: chainrule.count_nonzero(chainrule.ones(2, 2), dim=(0, 0)), ShapeError),
    (lambda: chainrule.ones(2).var(unbiased=False, correction=1), ArgumentError),
    (lambda: chainrule.tensor([1, 2]).var(), DTypeError),
    (lambda: chainrule.ones(3).quantile(1.5), ArgumentError),
    (lambda: chainrule.ones(3).quantile(chainrule.tensor([1.5])), ArgumentError),
    (lambda: chainrule.ones(3).quantile(chainrule.tensor([0.5], dtype="float64")), DTypeError),
    (lambda: chainrule.tensor([1, 2]).quantile(0.5), DTypeError),
    (lambda: chainrule.ones(3).quantile(chainrule.zeros(1, 1)), ShapeError),
    (lambda: chainrule.ones(3).quantile(0.5, interpolation="foo"), ArgumentError),
    (lambda: chainrule.zeros(0, 3).quantile(0.5, 1), ShapeError),
    (lambda: chainrule.ones(3).quantile("a"), ArgumentTypeError),
    (lambda: linalg.vector_norm(chainrule.tensor([3, 4])), DTypeError),
    (lambda: linalg.vector_norm(chainrule.ones(2), "fro"), ArgumentTypeError),
    (lambda: linalg.vector_norm(chainrule.zeros(0), INF), ShapeError),
    (lambda: linalg.vector_norm(chainrule.zeros(0), -1), ShapeError),
    (lambda: linalg.vector_norm(chainrule.ones(2, dtype="float64"), dtype=chainrule.float32),
     DTypeError),
    (lambda: linalg.vector_norm(chainrule.ones(2), 2, 2), ShapeError),
    (lambda: linalg.matrix_norm(chainrule.ones(3)), ShapeError),
    (lambda: linalg.matrix_norm(chainrule.ones(3, 3), 3), ArgumentError),
    (lambda: linalg.matrix_norm(chainrule.ones(3, 3), "abc"), ArgumentError),
    (lambda: linalg.matrix_norm(chainrule.ones(3, 3), dim=(0, 0)), ShapeError),
    (lambda: linalg.matrix_norm(chainrule.ones(2, 3, 3), dim=(0, 1, 2)), ShapeError),
    (lambda: linalg.norm(chainrule.ones(3, 3, 3), 2), ShapeError),
    (lambda: linalg.norm(chainrule.ones(3, 3, 3), dim=(0, 1, 2)), ShapeError),
    (lambda: linalg.norm(chainrule.ones(3), "fro"), ArgumentError),
    (lambda: chainrule.ones(2, 3, 3).norm("nuc"), ShapeError),
    (lambda: chainrule.ones(3, 3).norm("abc"), ArgumentError),
])
def test_bad_arguments_raise_chainrule_errors(call, error):
    with pytest.raises(error):
        call()


@pytest.mark.torch
@pytest.mark.parametrize("ours, theirs", [
    (lambda c: c.zeros(0, 3).amax(0), lambda t: t.zeros(0, 3).amax(0)),
    (lambda c: c.ones(3).quantile(1.5), lambda t: t.ones(3).quantile(1.5)),
    (lambda c: c.linalg.vector_norm(c.zeros(0), -1), lambda t: t.linalg.vector_norm(
        t.zeros(0), -1)),
    (lambda c: c.linalg.matrix_norm(c.ones(3, 3), 3), lambda t: t.linalg.matrix_norm(
        t.ones(3, 3), 3)),
    (lambda c: c.nanmean(c.tensor([1, 2])), lambda t: t.nanmean(t.tensor([1, 2]))),
])
def test_pytorch_raises_too(torch, ours, theirs):
    """The errors above are PyTorch's errors (spot checks), raised as chainrule errors."""
    with pytest.raises(Exception):
        theirs(torch)
    with pytest.raises(ChainruleError):
        ours(chainrule)
