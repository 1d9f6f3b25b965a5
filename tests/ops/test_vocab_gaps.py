"""The remaining common PyTorch names of issue 19: addcmul/addcdiv, fmax/fmin, gcd/lcm,
heaviside, deg2rad/rad2deg, frexp, ldexp, nextafter, i0, isreal, dist, renorm, bincount,
histc, cov, corrcoef, combinations, select/slice/diagonal_scatter, pdist, gumbel_softmax, the
shape-changing in-place methods, fill_diagonal_, sum_to_size, split_with_sizes,
storage_offset, is_nonzero, the top-level in-place aliases, detach, the thread count, the
top-level dropouts, nn.ParameterList and nn.ParameterDict.

Each case is one lambda ``f(T, *tensors)`` run with ``T = chainrule`` and ``T = torch`` on
the same values (chainrule has PyTorch's names and signatures), then compared; the
differentiable ones also pass gradcheck and gradgradcheck in float64."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
import chainrule.nn as nn
from chainrule.errors import ChainruleError
from chainrule.ops.aliases import INPLACE_NAMES, METHOD_NAMES
from tests.helpers import check, make

NAN, INF = float("nan"), float("inf")
SETTINGS = settings(max_examples=6, deadline=None)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def rng_array(shape, seed, low=-2.0, high=2.0, dtype=np.float64):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def both(T, arrays):
    return [T.tensor(a.copy()) if isinstance(a, np.ndarray) else a for a in arrays]


def to_numpy(value):
    if isinstance(value, (tuple, list)):
        return [to_numpy(v) for v in value]
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy() if hasattr(value, "cpu") else value.numpy()
    return np.asarray(value)


def assert_same(ours, theirs, rtol=1e-6, atol=1e-7):
    ours, theirs = to_numpy(ours), to_numpy(theirs)
    if isinstance(ours, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, rtol, atol)
        return
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours.astype(np.float64), theirs.astype(np.float64), rtol=rtol,
                               atol=atol, equal_nan=True)


A = rng_array((3, 4), 0)
B = rng_array((3, 4), 1)
P = rng_array((3, 4), 2, 0.5, 2.0)
ROW = rng_array((4,), 3, 0.5, 2.0)
I1 = np.array([-4, 0, 6, 7, 12], dtype=np.int64)
I2 = np.array([6, 0, -9, 3, 18], dtype=np.int64)
WITH_NAN = np.array([1.0, NAN, -2.0, NAN, 0.0, 3.0])
OTHER_NAN = np.array([NAN, 2.0, -2.0, NAN, -0.0, 1.0])
F32 = A.astype(np.float32)

# name -> (f(T, *tensors), inputs): values (and dtypes) must equal PyTorch's
VALUE_CASES = {
    "addcmul": (lambda T, x, a, b: T.addcmul(x, a, b, value=0.5), [A, B, P]),
    "addcmul_broadcast": (lambda T, x, a, b: T.addcmul(x, a, b), [A, ROW, P[:1]]),
    "addcmul_int": (lambda T, x: T.addcmul(x, x, x, value=2), [I1]),
    "addcmul_promote": (lambda T, x, a: T.addcmul(x, a, a), [F32, I1[:4]]),
    "addcdiv": (lambda T, x, a, b: T.addcdiv(x, a, b, value=-1.5), [A, B, P]),
    "addcdiv_f32": (lambda T, x, a, b: T.addcdiv(x, a, b, value=2), [F32, F32, F32 + 3]),
    "method_addcmul": (lambda T, x, a, b: x.addcmul(a, b, value=3), [A, B, P]),
    "method_addcdiv": (lambda T, x, a, b: x.addcdiv(a, b), [A, B, P]),
    "fmax": (lambda T, a, b: T.fmax(a, b), [WITH_NAN, OTHER_NAN]),
    "fmin": (lambda T, a, b: T.fmin(a, b), [WITH_NAN, OTHER_NAN]),
    "fmax_promote": (lambda T, a, b: a.fmax(b), [I1[:4], F32[0]]),
    "gcd": (lambda T, a, b: T.gcd(a, b), [I1, I2]),
    "lcm": (lambda T, a, b: T.lcm(a, b), [I1, I2]),
    "method_gcd": (lambda T, a, b: a.gcd(b), [I1, I2]),
    "heaviside": (lambda T, x, v: T.heaviside(x, v), [np.array([-1.0, 0.0, 2.0, -0.0]),
                                                      np.array(0.5)]),
    "heaviside_int": (lambda T, x, v: x.heaviside(v), [np.array([-1, 0, 2]),
                                                       np.array([7, 8, 9])]),
    "deg2rad": (lambda T, x: T.deg2rad(x), [A * 90]),
    "deg2rad_int": (lambda T, x: x.deg2rad(), [I1]),
    "rad2deg": (lambda T, x: T.rad2deg(x), [F32]),
    "frexp": (lambda T, x: tuple(T.frexp(x)), [np.array([8.0, 0.0, -3.0, INF, 1e-310, NAN])]),
    "frexp_f32": (lambda T, x: tuple(x.frexp()), [F32]),
    "ldexp": (lambda T, x, e: T.ldexp(x, e), [A, np.array([1, -2, 3, 0])]),
    "ldexp_int": (lambda T, x, e: x.ldexp(e), [I1, I2 % 4]),
    "ldexp_f32": (lambda T, x, e: x.ldexp(e), [F32, np.array([1, -2, 3, 0])]),
    "nextafter": (lambda T, a, b: T.nextafter(a, b), [A, B]),
    "nextafter_f32": (lambda T, a, b: a.nextafter(b), [F32, F32 * 0]),
    "i0": (lambda T, x: T.i0(x), [A * 3]),
    "i0_int": (lambda T, x: x.i0(), [I1 % 5]),
    "isreal": (lambda T, x: T.isreal(x), [A]),
    "dist": (lambda T, a, b: T.dist(a, b), [A, B]),
    "dist_p": (lambda T, a, b: [T.dist(a, b, p) for p in (0, 1, 3, INF, -INF, 0.5)], [A, ROW]),
    "dist_same": (lambda T, a: a.dist(a), [A]),
    "renorm": (lambda T, x: T.renorm(x, 2, 0, 1.5), [A]),
    "renorm_dims": (lambda T, x: [x.renorm(p, d, 0.7) for p in (1, 3) for d in (0, 1, -1)],
                    [rng_array((2, 3, 2), 4)]),
    "bincount": (lambda T, x: T.bincount(x), [np.array([1, 1, 3, 0, 7])]),
    "bincount_empty": (lambda T, x: T.bincount(x, minlength=3), [np.zeros(0, np.int64)]),
    "bincount_weights": (lambda T, x, w: x.bincount(w, 9), [np.array([1, 1, 3]),
                                                            np.array([0.5, 1.0, 2.0])]),
    "bincount_weights_f32": (lambda T, x, w: T.bincount(x, weights=w),
                             [np.array([1, 1, 3]), np.array([0.5, 1.0, 2.0], np.float32)]),
    "histc": (lambda T, x: T.histc(x, bins=3, min=0, max=3),
              [np.array([0.0, 1, 2, 3, 3.5, -1, NAN], np.float32)]),
    "histc_auto": (lambda T, x: x.histc(), [A.astype(np.float32)]),
    "histc_one_value": (lambda T, x: x.histc(bins=4), [np.array([2.0, 2.0])]),
    "histc_empty": (lambda T, x: x.histc(bins=2), [np.zeros(0, np.float32)]),
    "cov": (lambda T, x: T.cov(x), [A]),
    "cov_1d": (lambda T, x: x.cov(), [ROW]),
    "cov_int": (lambda T, x: x.cov(), [I1]),
    "cov_correction": (lambda T, x: [T.cov(x, correction=c) for c in (0, 2, 4, 5)], [A]),
    "cov_weights": (lambda T, x, f, a: [T.cov(x, correction=c, fweights=f, aweights=a)
                                        for c in (0, 1, 2)],
                    [A, np.array([1, 2, 0, 3]), np.array([0.5, 1.0, 2.0, 0.25])]),
    "cov_fweights": (lambda T, x, f: T.cov(x, fweights=f), [A, np.array([1, 2, 1, 3])]),
    "cov_aweights": (lambda T, x, a: T.cov(x, aweights=a), [A, np.array([0.5, 1, 2, 0.25])]),
    "corrcoef": (lambda T, x: T.corrcoef(x), [A]),
    "corrcoef_1d": (lambda T, x: x.corrcoef(), [ROW]),
    "combinations": (lambda T, x: T.combinations(x), [np.array([1, 2, 3, 4])]),
    "combinations_r": (lambda T, x: [T.combinations(x, r, w) for r in (0, 1, 3, 5)
                                     for w in (False, True)], [ROW]),
    "select_scatter": (lambda T, x, s: [T.select_scatter(x, s, 1, i) for i in (0, -1)],
                       [A, A[:, 0] * 0 + 7]),
    "select_scatter_1d": (lambda T, x, s: T.select_scatter(x, s, 0, 2), [ROW, np.array(9.0)]),
    "select_scatter_cast": (lambda T, x, s: x.select_scatter(s, 0, 1), [F32, I1[:4]]),
    "slice_scatter": (lambda T, x, s: T.slice_scatter(x, s, 1, 0, None, 2), [A, B[:, :2]]),
    "slice_scatter_default": (lambda T, x, s: x.slice_scatter(s, start=1, end=2),
                              [A, B[:1]]),
    "slice_scatter_neg": (lambda T, x, s: T.slice_scatter(x, s, -1, -3, -1), [A, B[:, :2]]),
    "diagonal_scatter": (lambda T, x, s: [T.diagonal_scatter(x, s[:3 - abs(o)], o)
                                          for o in (0, -1, -2)], [A, ROW]),
    "diagonal_scatter_3d": (lambda T, x, s: x.diagonal_scatter(s, 1, 0, 2),
                            [rng_array((3, 2, 4), 5), rng_array((2, 3), 6)]),
    "pdist": (lambda T, x: [T.nn.functional.pdist(x, p) for p in (2, 1, 0, 3, INF, 0.5)],
              [A]),
    "sum_to_size": (lambda T, x: [x.sum_to_size(1, 4), x.sum_to_size((3, 1)),
                                  x.sum_to_size(4)], [A]),
    "split_with_sizes": (lambda T, x: list(x.split_with_sizes([1, 3], 1)) +
                         list(x.split_with_sizes([2, 0, 1])), [A]),
}


@pytest.mark.filterwarnings("ignore:cov")         # PyTorch warns when N - correction <= 0
@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_values_equal_pytorch(name, torch):
    fn, arrays = VALUE_CASES[name]
    ours = fn(chainrule, *both(chainrule, arrays))
    theirs = fn(torch, *both(torch, arrays))
    assert_same(ours, theirs)


# name -> (f(T, *tensors) giving one tensor, inputs): gradients must equal PyTorch's
GRADIENT_CASES = {
    "addcmul": (lambda T, x, a, b: T.addcmul(x, a, b, value=0.5), [A, ROW, P]),
    "addcdiv": (lambda T, x, a, b: T.addcdiv(x, a, b, value=2), [A, B, P]),
    "fmax": (lambda T, a, b: T.fmax(a, b), [np.array([1.0, NAN, 2.0, 3.0, NAN]),
                                            np.array([NAN, 2.0, 2.0, -1.0, NAN])]),
    "fmin": (lambda T, a, b: T.fmin(a, b), [np.array([1.0, NAN, 2.0, 3.0, NAN]),
                                            np.array([NAN, 2.0, 2.0, -1.0, NAN])]),
    "deg2rad": (lambda T, x: T.deg2rad(x), [A]),
    "rad2deg": (lambda T, x: T.rad2deg(x), [A]),
    "frexp": (lambda T, x: T.frexp(x)[0], [A * 10]),
    # (PyTorch's gradient is 0 for a negative integer exponent: 2**-2 in int64; see docs)
    "ldexp": (lambda T, x: T.ldexp(x, T.tensor([1, 2, 3, 0])), [A]),
    "ldexp_float_exponent": (lambda T, x, e: T.ldexp(x, e), [A, np.array([1.5, -2, 3, 0])]),
    "nextafter": (lambda T, a, b: T.nextafter(a, b), [A, B]),
    "i0": (lambda T, x: T.i0(x), [np.array([0.0, 1.0, -2.5, 4.0])]),
    "dist": (lambda T, a, b: T.dist(a, b, 3), [A, B]),
    "dist_zero": (lambda T, a, b: T.dist(a, b), [A, A]),
    "renorm": (lambda T, x: T.renorm(x, 2, 0, 1.5), [A]),
    "cov": (lambda T, x: T.cov(x), [A]),
    "cov_weights": (lambda T, x, a: T.cov(x, fweights=T.tensor([1, 2, 1, 3]), aweights=a),
                    [A, np.array([0.5, 1.0, 2.0, 0.25])]),
    "corrcoef": (lambda T, x: T.corrcoef(x), [A]),
    "combinations": (lambda T, x: T.combinations(x, 2, True), [ROW]),
    "select_scatter": (lambda T, x, s: T.select_scatter(x, s, 0, 1), [A, ROW]),
    "slice_scatter": (lambda T, x, s: T.slice_scatter(x, s, 1, 1, None, 2), [A, B[:, :2]]),
    "diagonal_scatter": (lambda T, x, s: T.diagonal_scatter(x, s, 1), [A, ROW[:3]]),
    "pdist": (lambda T, x: T.nn.functional.pdist(x), [np.concatenate([A, A[:1]])]),
    "pdist_1": (lambda T, x: T.nn.functional.pdist(x, 1), [A]),
    "sum_to_size": (lambda T, x: x.sum_to_size(1, 4), [A]),
    "fill_diagonal_": (lambda T, x: (x * 1).fill_diagonal_(2.0), [A]),
    "t_": (lambda T, x: (x * 1).t_() * T.arange(3.0), [A]),
    "unsqueeze_": (lambda T, x: (x * 1).unsqueeze_(1) * T.arange(4.0).reshape(4, 1), [A]),
    "squeeze_": (lambda T, x: (x * 1).squeeze_() * T.arange(4.0), [A[:1]]),
    "transpose_view": (lambda T, x: _transpose_view(x), [A]),
}


def _transpose_view(x):
    y = x * 1
    view = y[1:]
    view.transpose_(0, 1)
    view.mul_(3)
    return y


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradients_equal_pytorch(name, torch):
    fn, arrays = GRADIENT_CASES[name]
    results = []
    for T in (chainrule, torch):
        inputs = [T.tensor(a.copy(), requires_grad=True) for a in arrays]
        out = fn(T, *inputs)
        weights = T.tensor(np.random.default_rng(7).uniform(0.5, 1.5, tuple(out.shape)))
        (out * weights).sum().backward()
        results.append([out] + [t.grad if t.grad is not None else T.zeros_like(t)
                                for t in inputs])
    assert_same(results[0], results[1])


# name -> (f(*tensors), shapes -> inputs); every one passes gradcheck and gradgradcheck
def _positive(shape, seed):
    return make(shape, seed, 0.5, 2.0)


CHECK_CASES = {
    "addcmul": lambda s: (lambda x, a, b: chainrule.addcmul(x, a, b, value=0.5),
                          [make(s, 0), make(s[-1:], 1), make(s, 2)]),
    "addcdiv": lambda s: (lambda x, a, b: chainrule.addcdiv(x, a, b, value=-2),
                          [make(s, 0), make(s, 1), _positive(s, 2)]),
    "fmax": lambda s: (chainrule.fmax, [make(s, 0), make(s, 1)]),
    "fmin": lambda s: (chainrule.fmin, [make(s, 0), make(s, 1)]),
    "rad2deg": lambda s: (chainrule.rad2deg, [make(s, 0)]),
    "ldexp": lambda s: (lambda x: chainrule.ldexp(x, chainrule.tensor(2)), [make(s, 0)]),
    "i0": lambda s: (chainrule.i0, [make(s, 0)]),
    "special_i1": lambda s: (chainrule.special.i1, [make(s, 0)]),
    "dist": lambda s: (lambda a, b: chainrule.dist(a, b, 3), [make(s, 0), make(s, 1)]),
    "renorm": lambda s: (lambda x: chainrule.renorm(x.reshape(s[0], -1), 2, 0, 0.8),
                         [make(s, 0)]),
    "cov": lambda s: (lambda x: chainrule.cov(x.reshape(s[0], -1)), [make(s, 0)]),
    "corrcoef": lambda s: (lambda x: chainrule.corrcoef(x.reshape(s[0], -1)),
                           [make(s, 0)]),
    "select_scatter": lambda s: (lambda x, v: chainrule.select_scatter(x, v, 0, -1),
                                 [make(s, 0), make(s[1:], 1)]),
    "slice_scatter": lambda s: (lambda x, v: chainrule.slice_scatter(x, v, -1, 0, None, 2),
                                [make(s, 0), make(s[:-1] + ((s[-1] + 1) // 2,), 1)]),
    "diagonal_scatter": lambda s: (lambda x, v: chainrule.diagonal_scatter(x, v, 0, 0, -1),
                                   [make(s, 0), make(s[1:-1] + (min(s[0], s[-1]),), 1)]),
    "pdist": lambda s: (lambda x: nn.functional.pdist(x.reshape(s[0], -1), 1.5),
                        [make(s, 0)]),
    "combinations": lambda s: (lambda x: chainrule.combinations(x.reshape(-1), 2),
                               [make(s, 0)]),
}
SHAPES = st.tuples(st.integers(2, 4), st.integers(2, 3))


@pytest.mark.parametrize("name", sorted(CHECK_CASES))
@SETTINGS
@given(shape=SHAPES)
def test_gradcheck_and_gradgradcheck(name, shape):
    fn, inputs = CHECK_CASES[name](shape)
    check(fn, *inputs)


def test_frexp_gradcheck():
    x = make((3, 2), 0) * 5
    check(lambda t: chainrule.frexp(t).mantissa, x, second=False)   # second derivative 0


# in place: the method ``name_`` equals the function's result, written into self
INPLACE_METHOD_CASES = {
    "addcmul_": (lambda x, a, b: x.addcmul_(a, b, value=2), [A, B, P]),
    "addcdiv_": (lambda x, a, b: x.addcdiv_(a, b, value=0.5), [A, B, P]),
    "gcd_": (lambda x, o: x.gcd_(o), [I1, I2]),
    "lcm_": (lambda x, o: x.lcm_(o), [I1, I2]),
    "heaviside_": (lambda x, v: x.heaviside_(v), [A, np.array(0.5)]),
    "deg2rad_": (lambda x: x.deg2rad_(), [A]),
    "rad2deg_": (lambda x: x.rad2deg_(), [A]),
    "ldexp_": (lambda x, e: x.ldexp_(e), [A, np.array([1, -2, 3, 0])]),
    "nextafter_": (lambda x, o: x.nextafter_(o), [A, B]),
    "i0_": (lambda x: x.i0_(), [A]),
    "renorm_": (lambda x: x.renorm_(1, 1, 0.5), [A]),
    "fill_diagonal_": (lambda x: x.fill_diagonal_(-3.0), [A]),
    "fill_diagonal_wrap": (lambda x: x.fill_diagonal_(5, wrap=True), [rng_array((7, 2), 8)]),
    "fill_diagonal_wide": (lambda x: x.fill_diagonal_(5, wrap=True), [A]),
    "fill_diagonal_cube": (lambda x: x.fill_diagonal_(1), [rng_array((2, 2, 2), 9)]),
    "fill_diagonal_int": (lambda x: x.fill_diagonal_(9), [I1.reshape(1, 5)]),
    "multiply_": (lambda x, o: x.multiply_(o), [A, B]),
    "subtract_": (lambda x, o: x.subtract_(o, alpha=2), [A, B]),
    "squeeze_": (lambda x: x.squeeze_(), [A[:1]]),
    "squeeze_dim": (lambda x: x.squeeze_(0), [A[:1]]),
    "unsqueeze_": (lambda x: x.unsqueeze_(-1), [A]),
    "t_": (lambda x: x.t_(), [A]),
    "t_1d": (lambda x: x.t_(), [ROW]),
    "transpose_": (lambda x: x.transpose_(0, 1), [A]),
    "swapaxes_": (lambda x: x.swapaxes_(1, 0), [A]),
    "swapdims_": (lambda x: x.swapdims_(-1, 0), [A]),
}


@pytest.mark.parametrize("name", sorted(INPLACE_METHOD_CASES))
def test_inplace_methods_equal_pytorch(name, torch):
    fn, arrays = INPLACE_METHOD_CASES[name]
    results = []
    for T in (chainrule, torch):
        inputs = both(T, arrays)
        out = fn(*inputs)
        assert out is inputs[0]
        results.append(out)
    assert_same(results[0], results[1])


def test_shape_inplace_on_a_view_changes_the_view_only():
    base = chainrule.zeros(2, 3)
    view = base[0]
    view.unsqueeze_(0)
    assert view.shape == (1, 3) and view._base is base
    view.fill_(1.0)
    assert base.tolist() == [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]


def test_shape_inplace_on_a_leaf_that_requires_grad_is_refused():
    leaf = chainrule.ones(2, requires_grad=True)
    with pytest.raises(ChainruleError, match="leaf"):
        leaf.unsqueeze_(0)
    with chainrule.no_grad():
        leaf.unsqueeze_(0)
    assert leaf.shape == (1, 2)


def test_storage_offset_and_is_nonzero(torch):
    data = np.arange(24.0).reshape(4, 6)
    for T in (chainrule, torch):
        x = T.tensor(data)
        offsets = [x.storage_offset(), x[1:].storage_offset(), x[:, 2].storage_offset(),
                   x.t()[3].storage_offset(), x[2, 3:].storage_offset()]
        nonzero = [T.tensor([0.0]).is_nonzero(), T.tensor([[2]]).is_nonzero(),
                   T.tensor(True).is_nonzero()]
        if T is chainrule:
            ours = (offsets, nonzero)
        else:
            assert ours == (offsets, nonzero)
    for bad in (chainrule.tensor([1, 2]), chainrule.tensor([])):
        with pytest.raises(ChainruleError, match="ambiguous"):
            bad.is_nonzero()


# bad input: a chainrule error naming the op
ERROR_CASES = {
    "addcdiv_int": lambda: chainrule.addcdiv(chainrule.ones(2), chainrule.tensor([1, 2]),
                                             chainrule.tensor([1, 2])),
    "addcmul_shapes": lambda: chainrule.addcmul(chainrule.ones(2), chainrule.ones(3),
                                                chainrule.ones(3)),
    "gcd_float": lambda: chainrule.gcd(chainrule.ones(2), chainrule.ones(2)),
    "heaviside_dtypes": lambda: chainrule.heaviside(chainrule.ones(2), chainrule.tensor([1])),
    "heaviside_grad": lambda: chainrule.heaviside(chainrule.ones(2, requires_grad=True),
                                                  chainrule.tensor(0.5)).sum().backward(),
    "frexp_int": lambda: chainrule.frexp(chainrule.tensor([1])),
    "nextafter_int": lambda: chainrule.nextafter(chainrule.tensor([1]), chainrule.tensor([2])),
    "dist_int": lambda: chainrule.dist(chainrule.tensor([1]), chainrule.tensor([2])),
    "renorm_1d": lambda: chainrule.renorm(chainrule.ones(3), 2, 0, 1.0),
    "renorm_p": lambda: chainrule.renorm(chainrule.ones(2, 3), 0, 0, 1.0),
    "bincount_negative": lambda: chainrule.bincount(chainrule.tensor([-1, 2])),
    "bincount_2d": lambda: chainrule.bincount(chainrule.tensor([[1]])),
    "bincount_float": lambda: chainrule.bincount(chainrule.tensor([1.0])),
    "bincount_weights": lambda: chainrule.bincount(chainrule.tensor([1]), chainrule.ones(2)),
    "histc_int": lambda: chainrule.histc(chainrule.tensor([1, 2])),
    "histc_range": lambda: chainrule.histc(chainrule.ones(2), bins=2, min=3, max=1),
    "histc_bins": lambda: chainrule.histc(chainrule.ones(2), bins=0),
    "cov_3d": lambda: chainrule.cov(chainrule.ones(2, 2, 2)),
    "cov_fweights_float": lambda: chainrule.cov(chainrule.ones(2, 3), fweights=chainrule.ones(3)),
    "cov_aweights_size": lambda: chainrule.cov(chainrule.ones(2, 3), aweights=chainrule.ones(2)),
    "combinations_2d": lambda: chainrule.combinations(chainrule.ones(2, 2)),
    "combinations_r": lambda: chainrule.combinations(chainrule.ones(2), -1),
    "select_scatter_size": lambda: chainrule.select_scatter(chainrule.zeros(3, 4),
                                                            chainrule.ones(3), 0, 0),
    "select_scatter_index": lambda: chainrule.select_scatter(chainrule.zeros(3, 4),
                                                             chainrule.ones(4), 0, 3),
    "slice_scatter_step": lambda: chainrule.slice_scatter(chainrule.zeros(3), chainrule.ones(3),
                                                          0, None, None, 0),
    "diagonal_scatter_size": lambda: chainrule.diagonal_scatter(chainrule.zeros(3, 3),
                                                                chainrule.ones(2)),
    "pdist_3d": lambda: nn.functional.pdist(chainrule.ones(2, 2, 2)),
    "pdist_p": lambda: nn.functional.pdist(chainrule.ones(2, 2), -1),
    "gumbel_tau": lambda: nn.functional.gumbel_softmax(chainrule.ones(2), tau=0),
    "sum_to_size": lambda: chainrule.ones(2, 3).sum_to_size(3, 1),
    "split_with_sizes": lambda: chainrule.ones(2, 3).split_with_sizes([1, 1], 1),
    "split_with_sizes_dim": lambda: chainrule.ones(2, 3).split_with_sizes([1, 2], 2),
    "fill_diagonal_1d": lambda: chainrule.ones(3).fill_diagonal_(1),
    "fill_diagonal_unequal": lambda: chainrule.ones(2, 3, 4).fill_diagonal_(1),
    "set_num_threads": lambda: chainrule.set_num_threads(0),
    "dropout_p": lambda: chainrule.dropout(chainrule.ones(2), 1.5, True),
    "feature_dropout_1d": lambda: chainrule.feature_dropout(chainrule.ones(2), 0.5, True),
    "abs_not_tensor": lambda: chainrule.abs_(3.0),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_bad_input_raises_a_chainrule_error(name):
    with pytest.raises(ChainruleError):
        ERROR_CASES[name]()


# every generated top-level in-place alias: torch has it, and it equals PyTorch's
ALIAS_ARGUMENTS = {"addmv_": lambda T: (T.tensor(np.ones((3, 4))), T.tensor(np.ones(4))),
                   "clamp_": lambda T: (-0.5, 0.5), "clip_": lambda T: (-0.5, 0.5),
                   "clamp_min_": lambda T: (0.1,), "clamp_max_": lambda T: (0.1,),
                   "fill_": lambda T: (2.5,), "xlogy_": lambda T: (T.tensor(np.full(3, 2.0)),),
                   "gcd_": lambda T: (T.tensor(np.array([4, 6, 9])),),
                   "lcm_": lambda T: (T.tensor(np.array([4, 6, 9])),),
                   "ldexp_": lambda T: (T.tensor(np.array([1, 2, -1])),),
                   "index_put_": lambda T: ((T.tensor(np.array([0, 2])),),
                                            T.tensor(np.array([7.0, 8.0])))}
INTEGER_ALIASES = {"gcd_", "lcm_"}


@pytest.mark.parametrize("name", INPLACE_NAMES)
def test_top_level_inplace_aliases_equal_pytorch(name, torch):
    assert hasattr(torch, name), name
    assert getattr(chainrule, name).__name__ == name
    data = np.array([3, 4, 6]) if name in INTEGER_ALIASES else np.array([0.25, 0.5, 0.75])
    results = []
    for T in (chainrule, torch):
        x = T.tensor(data.copy())
        args = ALIAS_ARGUMENTS.get(name, lambda T: ())(T)
        out = getattr(T, name)(x, *args)
        results.append(x)
        assert out is x or name == "detach_"
    assert_same(results[0], results[1])


# the top-level spellings of methods: name -> arguments after input
METHOD_ALIAS_ARGUMENTS = {"t": (), "split_with_sizes": ([1, 2], 1), "subtract": (0.5,),
                          "multiply": (3.0,), "absolute": (), "negative": (), "positive": (),
                          "greater": (0.5,), "greater_equal": (0.5,), "less": (0.5,),
                          "less_equal": (0.5,), "not_equal": (0.5,)}


def test_top_level_method_spellings_equal_pytorch(torch):
    assert set(METHOD_ALIAS_ARGUMENTS) == set(METHOD_NAMES)
    for name, args in METHOD_ALIAS_ARGUMENTS.items():
        ours = getattr(chainrule, name)(chainrule.tensor(B[:2, :3]), *args)
        theirs = getattr(torch, name)(torch.tensor(B[:2, :3]), *args)
        assert_same(ours, theirs)
    assert_same(chainrule.pdist(chainrule.tensor(A)), torch.pdist(torch.tensor(A)))


def test_methods_and_functions_exist_where_pytorch_has_them(torch):
    functions = ["addcmul", "addcdiv", "fmax", "fmin", "gcd", "lcm", "heaviside", "deg2rad",
                 "rad2deg", "frexp", "ldexp", "nextafter", "i0", "isreal", "dist", "renorm",
                 "bincount", "histc", "cov", "corrcoef", "combinations", "select_scatter",
                 "slice_scatter", "diagonal_scatter", "detach", "get_num_threads",
                 "set_num_threads", "dropout", "alpha_dropout", "feature_dropout",
                 "feature_alpha_dropout", "dropout_", "alpha_dropout_", "feature_dropout_",
                 "feature_alpha_dropout_"]
    for name in functions:
        assert hasattr(torch, name) and hasattr(chainrule, name), name
    methods = [n for n in functions if hasattr(torch.Tensor, n)] + [
        "addcmul_", "addcdiv_", "gcd_", "lcm_", "heaviside_", "deg2rad_", "rad2deg_",
        "ldexp_", "nextafter_", "i0_", "renorm_", "squeeze_", "unsqueeze_", "t_",
        "transpose_", "swapaxes_", "swapdims_", "fill_diagonal_", "sum_to_size",
        "split_with_sizes", "storage_offset", "is_nonzero", "multiply_", "subtract_"]
    for name in methods:
        assert hasattr(torch.Tensor, name) and hasattr(chainrule.Tensor, name), name
    for name in ("pdist", "gumbel_softmax"):
        assert hasattr(torch.nn.functional, name) and hasattr(nn.functional, name), name


def test_num_threads_round_trip():
    before = chainrule.get_num_threads()
    chainrule.set_num_threads(1)
    assert chainrule.get_num_threads() == 1
    chainrule.set_num_threads(before)
    assert chainrule.get_num_threads() == before


def test_top_level_dropouts():
    x = chainrule.ones(4, 3, 5)
    for name in ("dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"):
        assert getattr(chainrule, name)(x, 0.5, False) is x
    chainrule.manual_seed(0)
    y = chainrule.dropout(x, 0.5, True)
    assert set(np.unique(y.numpy())) <= {0.0, 2.0}
    channels = chainrule.feature_dropout(x, 0.5, True).numpy()
    assert (channels == channels[:, :, :1]).all()           # whole channels kept or dropped
    z = chainrule.ones(6)
    assert chainrule.dropout_(z, 0.5, True) is z


def test_gumbel_softmax():
    chainrule.manual_seed(1)
    logits = make((4, 3), 0)
    soft = nn.functional.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(dim=-1).numpy(), 1.0)
    hard = nn.functional.gumbel_softmax(logits, hard=True, dim=0)
    assert sorted(np.unique(hard.detach().numpy())) == [0.0, 1.0]
    np.testing.assert_allclose(hard.sum(dim=0).detach().numpy(), 1.0)
    (hard * make((4, 3), 1, requires_grad=False)).sum().backward()
    assert logits.grad is not None and np.isfinite(logits.grad.numpy()).all()
    # the same draws from one seed
    chainrule.manual_seed(3)
    first = nn.functional.gumbel_softmax(logits.detach())
    chainrule.manual_seed(3)
    np.testing.assert_array_equal(first.numpy(), nn.functional.gumbel_softmax(
        logits.detach()).numpy())


def test_parameter_list_matches_pytorch(torch):
    built = []
    for T, N in ((chainrule, nn), (torch, torch.nn)):
        params = N.ParameterList([N.Parameter(T.ones(2, 3)), T.zeros(2), 3])
        params.append(T.ones(1, dtype=T.float64))
        params.extend([T.ones(4)])
        params += [T.zeros(1)]
        params[0] = T.ones(5)
        module = N.Module()
        module.params = params
        built.append((repr(params), list(module.state_dict()), len(params),
                      type(params[1]).__name__, params[2], type(params[1:3]).__name__,
                      [tuple(p.shape) for p in module.parameters()]))
        assert params[-1].requires_grad
    assert built[0] == built[1]
    assert repr(nn.ParameterList()) == repr(torch.nn.ParameterList())
    assert repr(nn.ParameterList([chainrule.ones(2)])) == \
        repr(torch.nn.ParameterList([torch.ones(2)]))
    with pytest.raises(ChainruleError):
        nn.ParameterList([chainrule.ones(1)])[3]


def test_parameter_dict_matches_pytorch(torch):
    from collections import OrderedDict
    built = []
    for T, N in ((chainrule, nn), (torch, torch.nn)):
        params = N.ParameterDict({"b": N.Parameter(T.ones(2)), "a": T.ones(3, dtype=T.float64)})
        params.update(OrderedDict([("z", T.zeros(1)), ("c", T.zeros(2, 2))]))
        params.update([("d", T.ones(1))])
        params["e"] = T.ones(3)
        popped = params.pop("d")
        module = N.Module()
        module.heads = params
        built.append((repr(params), list(module.state_dict()), list(params.keys()), len(params),
                      "c" in params, "d" in params, tuple(popped.shape),
                      type(params["a"]).__name__, list(iter(params))))
    assert built[0] == built[1]
    with pytest.raises(ChainruleError):
        nn.ParameterDict()[1] = chainrule.ones(1)
    with pytest.raises(KeyError):
        nn.ParameterDict()["missing"]
