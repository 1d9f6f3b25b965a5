"""Scatter, gather-like reads and masks: scatter, scatter_add, scatter_reduce, index_add,
index_copy, index_fill, index_put, masked_fill, masked_select, masked_scatter, nonzero,
argwhere, where(cond), take, take_along_dim, put — gradients (also with repeated indices),
in-place forms, errors, and values and gradients against PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule.errors import (ArgumentError, ArgumentTypeError, DTypeError, GraphError,
                              IndexOutOfRangeError, ShapeError)
from tests.helpers import check, make

SETTINGS = settings(max_examples=8, deadline=None)


def _index(rng, shape, size, unique_along=None):
    """Random indices in [0, size); with ``unique_along`` no index repeats along that dim
    (where a later write overwrites an earlier one, PyTorch's gradient rule is not the
    derivative, so gradcheck needs distinct targets)."""
    if unique_along is None:
        return chainrule.tensor(rng.integers(0, size, size=shape))
    moved = list(shape)
    n = moved.pop(unique_along)
    order = np.argsort(rng.random(tuple(moved) + (size,)), axis=-1)[..., :n]
    return chainrule.tensor(np.moveaxis(order, -1, unique_along))


@st.composite
def scatter_case(draw):
    """x of 1-3 dims, a dim, and an index (with repeats) no larger than x outside dim."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dim = draw(st.integers(-ndim, ndim - 1))
    index_shape = tuple(draw(st.integers(1, n)) for n in shape)
    return shape, dim, index_shape, draw(st.integers(0, 1000))


SCATTERS = {
    "scatter": lambda x, d, i, s: x.scatter(d, i, s),
    "scatter_value": lambda x, d, i, s: x.scatter(d, i, 1.5) * s.sum(),
    "scatter_add": lambda x, d, i, s: x.scatter_add(d, i, s),
    "scatter_reduce_sum": lambda x, d, i, s: x.scatter_reduce(d, i, s, "sum",
                                                              include_self=False),
    "scatter_reduce_mean": lambda x, d, i, s: x.scatter_reduce(d, i, s, "mean"),
    "scatter_reduce_amax": lambda x, d, i, s: x.scatter_reduce(d, i, s, "amax"),
    "scatter_reduce_amin": lambda x, d, i, s: x.scatter_reduce(d, i, s, "amin",
                                                               include_self=False),
    "scatter_reduce_prod": lambda x, d, i, s: x.scatter_reduce(d, i, s, "prod"),
    "gather_after_scatter": lambda x, d, i, s: x.scatter_add(d, i, s).gather(d, i),
}


@pytest.mark.parametrize("name", sorted(SCATTERS))
@SETTINGS
@given(case=scatter_case())
def test_scatter_gradients(name, case):
    shape, dim, index_shape, seed = case
    rng = np.random.default_rng(seed)
    x, src = make(shape, seed), make(index_shape, seed + 1)
    if name != "scatter":                    # reductions take repeated indices as they are
        index_shape = index_shape[:dim % len(shape)] + (4,) + index_shape[dim % len(shape) + 1:]
        src = make(index_shape, seed + 1)
    index = _index(rng, index_shape, shape[dim], dim % len(shape) if name == "scatter" else None)
    check(lambda a, b: SCATTERS[name](a, dim, index, b), x, src)


INDEXED = {
    "index_add": lambda x, s, i: x.index_add(0, i, s, alpha=2.0),
    "index_copy": lambda x, s, i: x.index_copy(0, i.unique(), s[:i.unique().shape[0]]),
    "index_fill": lambda x, s, i: x.index_fill(0, i, s[0, 0]),
    "index_put": lambda x, s, i: x.index_put((i,), s[:i.shape[0]]),
    "index_put_accumulate": lambda x, s, i: x.index_put((i,), s, accumulate=True),
    "masked_fill": lambda x, s, i: x.masked_fill(x._data > 0, s[0, 0]),
    "masked_select": lambda x, s, i: x.masked_select(x._data[:1] > 0),
    "masked_scatter": lambda x, s, i: x.masked_scatter(x._data > 0, s),
    "take": lambda x, s, i: x.take(i - 1),
    "take_along_dim": lambda x, s, i: x.take_along_dim(i[:, None], dim=0),
    "take_along_dim_flat": lambda x, s, i: x.take_along_dim(i),
    "put": lambda x, s, i: x.put(i, s[:i.shape[0], 0]),
    "put_accumulate": lambda x, s, i: x.put(i, s[:, 0], accumulate=True),
}


@pytest.mark.parametrize("name", sorted(INDEXED))
@SETTINGS
@given(rows=st.integers(2, 4), cols=st.integers(1, 3), seed=st.integers(0, 1000))
def test_indexed_write_gradients(name, rows, cols, seed):
    rng = np.random.default_rng(seed)
    x, source = make((rows, cols), seed), make((rows + 2, cols), seed + 1)
    overwrites = name in ("index_put", "put")
    length = rows if overwrites or "index_" not in name and "put" not in name else rows + 2
    index = _index(rng, (length,), rows, 0 if overwrites else None)
    check(lambda a, b: INDEXED[name](a, b, index), x, source)


def test_duplicates_follow_pytorch_rules():
    x = chainrule.zeros(3, requires_grad=True)
    src = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x.scatter(0, chainrule.tensor([1, 1, 1]), src)
    assert out.tolist() == [0.0, 3.0, 0.0]                 # the last write wins
    out.backward(chainrule.tensor([5.0, 6.0, 7.0]))
    assert src.grad.tolist() == [6.0, 6.0, 6.0]            # grad.gather(dim, index)
    assert x.grad.tolist() == [5.0, 0.0, 7.0]


def test_scatter_reduce_prod_with_several_zeros_has_no_second_derivative():
    x = chainrule.tensor([3.0, 1.0], dtype=chainrule.float64, requires_grad=True)
    src = chainrule.tensor([0.0, 0.0, 2.0], dtype=chainrule.float64, requires_grad=True)
    out = x.scatter_reduce(0, chainrule.tensor([0, 0, 1]), src, "prod")
    gx, gsrc = chainrule.autograd.grad(out.sum(), [x, src], create_graph=True)
    assert gsrc.tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(GraphError, match="several zeros"):
        gsrc.sum().backward()


def test_nonzero_argwhere_and_where_with_one_argument():
    x = chainrule.tensor([[0, 1], [2, 0]])
    assert x.nonzero().tolist() == [[0, 1], [1, 0]] and chainrule.argwhere(x).shape == (2, 2)
    rows, cols = chainrule.where(x)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert [t.tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    assert chainrule.tensor(5.0).nonzero().shape == (1, 0)
    assert chainrule.tensor(0.0).nonzero().shape == (0, 0)
    assert [t.tolist() for t in chainrule.where(chainrule.tensor(5.0))] == [[0]]
    assert chainrule.tensor([1.0, 2.0]).where(chainrule.tensor([True, False]),
                                              0.0).tolist() == [1.0, 0.0]


def test_inplace_forms_write_into_self_and_record():
    x = chainrule.zeros(2, 3)
    assert x.scatter_(1, chainrule.tensor([[2], [0]]), 7.0) is x
    x.index_fill_(0, chainrule.tensor([1]), -1.0)
    x.masked_fill_(x > 5, 1.0)
    x.put_(chainrule.tensor([1]), chainrule.tensor([4.0]))
    x.index_add_(1, chainrule.tensor([0]), chainrule.ones(2, 1), alpha=2.0)
    x.index_put_((chainrule.tensor([0]), chainrule.tensor([2])), chainrule.tensor(3.0),
                 accumulate=True)
    assert x.tolist() == [[2.0, 4.0, 4.0], [1.0, -1.0, -1.0]]
    leaf = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = leaf * 1.0
    y.scatter_add_(0, chainrule.tensor([0, 0]), leaf[:2] * 10.0)
    y.masked_scatter_(chainrule.tensor([False, True, False]), leaf[2:] * 1.0)
    y.sum().backward()
    assert leaf.grad.tolist() == [11.0, 10.0, 2.0]


@pytest.mark.parametrize("call, error", [
    (lambda: chainrule.zeros(3).scatter(0, chainrule.tensor([3]), 1.0), IndexOutOfRangeError),
    (lambda: chainrule.zeros(3).scatter(0, chainrule.tensor([-1]), 1.0), IndexOutOfRangeError),
    (lambda: chainrule.zeros(3).scatter(0, chainrule.tensor([0.0]), 1.0), ArgumentTypeError),
    (lambda: chainrule.zeros(3, 4).scatter(0, chainrule.zeros(4, 4).long(), chainrule.zeros(3, 4)),
     ShapeError),
    (lambda: chainrule.zeros(3, 4).scatter(0, chainrule.tensor([0]), chainrule.zeros(1)),
     ShapeError),
    (lambda: chainrule.zeros(3).scatter(0, chainrule.tensor([0]),
                                        chainrule.zeros(1, dtype=chainrule.float64)), DTypeError),
    (lambda: chainrule.zeros(3).scatter(0, chainrule.tensor([0])), ArgumentError),
    (lambda: chainrule.zeros(3).scatter_reduce(0, chainrule.tensor([0]), chainrule.ones(1),
                                               "max"), ArgumentError),
    (lambda: chainrule.zeros(3, 2).index_add(0, chainrule.tensor([0]), chainrule.ones(2)),
     ShapeError),
    (lambda: chainrule.zeros(3, 2).index_add(0, chainrule.tensor([[0]]), chainrule.ones(1, 2)),
     ShapeError),
    (lambda: chainrule.zeros(3, 2).index_add(0, chainrule.tensor([3]), chainrule.ones(1, 2)),
     IndexOutOfRangeError),
    (lambda: chainrule.zeros(3, 2).index_fill(1, chainrule.tensor([1]), chainrule.ones(1)),
     ShapeError),
    (lambda: chainrule.zeros(3).index_put((chainrule.tensor([5]),), chainrule.ones(1)),
     IndexOutOfRangeError),
    (lambda: chainrule.zeros(3).index_put((chainrule.tensor([0]),), chainrule.ones(2)),
     ShapeError),
    (lambda: chainrule.zeros(3).index_put([None], chainrule.ones(1)), ArgumentTypeError),
    (lambda: chainrule.zeros(3).masked_fill(chainrule.tensor([1, 0, 1]), 1.0), DTypeError),
    (lambda: chainrule.zeros(3).masked_fill(chainrule.ones(2).bool(), 1.0), ShapeError),
    (lambda: chainrule.zeros(3).masked_scatter(chainrule.ones(3).bool(), chainrule.ones(2)),
     ShapeError),
    (lambda: chainrule.zeros(3).take(chainrule.tensor([3])), IndexOutOfRangeError),
    (lambda: chainrule.zeros(3).take_along_dim(chainrule.tensor([-1])), IndexOutOfRangeError),
    (lambda: chainrule.zeros(2, 3).take_along_dim(chainrule.tensor([0]), dim=1), ShapeError),
    (lambda: chainrule.zeros(3).put(chainrule.tensor([0, 1]), chainrule.ones(1)), ShapeError),
    (lambda: chainrule.where(chainrule.ones(3).bool(), chainrule.zeros(3)), ArgumentError),
])
def test_bad_arguments(call, error):
    with pytest.raises(error):
        call()


# ---------------------------------------------------------------- against PyTorch

@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _t(module, array):
    return module.tensor(np.asarray(array))


X = np.random.default_rng(1).standard_normal((3, 4))
SRC = np.random.default_rng(2).standard_normal((2, 4))
REPEATS = np.array([[0, 1, 0, 0], [0, 2, 1, 0]])
FLAT = np.array([3.0, 1.0, 5.0, 0.0])
TIES = np.array([3.0, 3.0, 2.0, 7.0, 0.0, 0.0])
TARGETS = np.array([0, 0, 1, 1, 3, 2])
MASK = np.array([True, False, True, False])

PARITY = {
    "scatter": (lambda m, x, s: m.scatter(x, 0, _t(m, REPEATS), s), X, SRC),
    "scatter_value": (lambda m, x: m.scatter(x, 1, _t(m, REPEATS), -2.5), X),
    "scatter_add": (lambda m, x, s: m.scatter_add(x, 0, _t(m, REPEATS), s), X, SRC),
    "index_add": (lambda m, x, s: m.index_add(x, 0, _t(m, [0, 0]), s, alpha=3), X, SRC),
    "index_copy": (lambda m, x, s: m.index_copy(x, 0, _t(m, [2, 0]), s), X, SRC),
    "index_fill": (lambda m, x, v: m.index_fill(x, 1, _t(m, [1, 1, 3]), v), X, np.array(2.0)),
    "index_put": (lambda m, x, v: m.index_put(x, (_t(m, [0, 2, 0]), _t(m, [1, 1, 1])), v),
                  X, np.array([1.0, 2.0, 3.0])),
    "index_put_accumulate": (lambda m, x, v: m.index_put(x, (_t(m, [0, 2, 0]),), v, True),
                             X, SRC[0]),
    "index_put_bool": (lambda m, x, v: m.index_put(x, (_t(m, [True, False, True]),), v),
                       X, np.array(4.0)),
    "masked_fill": (lambda m, x, v: m.masked_fill(x, _t(m, MASK), v), X, np.array(1.5)),
    "masked_fill_broadcast": (lambda m, x: m.masked_fill(x, _t(m, np.ones((2, 4), bool)),
                                                         0.5), X[0]),
    "masked_select": (lambda m, x: m.masked_select(x, _t(m, MASK)), X),
    "masked_select_broadcast": (lambda m, x: m.masked_select(x, _t(m, np.eye(4, dtype=bool))),
                                X[0]),
    "masked_scatter": (lambda m, x, s: m.masked_scatter(x, _t(m, MASK), s), X, SRC),
    "take": (lambda m, x: m.take(x, _t(m, [[0, -1], [5, 5]])), X),
    "take_along_dim": (lambda m, x: m.take_along_dim(x, _t(m, [[0, -1, 1]]), dim=1), X),
    "take_along_dim_broadcast": (lambda m, x: m.take_along_dim(x, _t(m, [[0], [3], [3]]), 1),
                                 X),
    "take_along_dim_flat": (lambda m, x: m.take_along_dim(x, _t(m, [[0, 11, 11]])), X),
    "put": (lambda m, x, s: m.put(x, _t(m, [0, 0, -1]), s), X, SRC[0, :3]),
    "put_accumulate": (lambda m, x, s: m.put(x, _t(m, [0, 0, -1]), s, accumulate=True),
                       X, SRC[0, :3]),
}
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _include in (True, False):
        PARITY[f"scatter_reduce_{_reduce}_{_include}"] = (
            lambda m, x, s, r=_reduce, i=_include: m.scatter_reduce(x, 0, _t(m, TARGETS), s, r,
                                                                    include_self=i),
            FLAT, TIES)


@pytest.mark.parametrize("name", sorted(PARITY))
def test_values_and_gradients_match_pytorch(torch, name):
    fn, *arrays = PARITY[name]
    results = []
    for m in (torch, chainrule):
        inputs = [m.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
        out = fn(m, *inputs)
        gy = np.random.default_rng(3).standard_normal(tuple(out.shape))
        out.backward(m.tensor(gy))
        results.append([np.asarray(out.tolist())] + [
            np.asarray(t.grad.tolist()) if t.grad is not None else np.zeros(t.shape)
            for t in inputs])
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_integer_and_dtype_rules_match_pytorch(torch):
    index = [0, 1, 0, 1, 2]
    for include in (True, False):
        expected = torch.scatter_reduce(torch.tensor([10, 20, 30, 40]), 0, torch.tensor(index),
                                        torch.tensor([1, 2, 3, 4, 0]), "mean",
                                        include_self=include)
        got = chainrule.scatter_reduce(chainrule.tensor([10, 20, 30, 40]), 0,
                                       chainrule.tensor(index), chainrule.tensor([1, 2, 3, 4, 0]),
                                       "mean", include_self=include)
        assert got.tolist() == expected.tolist()
    assert chainrule.zeros(3).long().scatter(0, chainrule.tensor([1]), 2.7).tolist() == \
        torch.zeros(3).long().scatter(0, torch.tensor([1]), 2.7).tolist()
    assert chainrule.zeros(2).long().masked_fill(chainrule.tensor([True, False]), 2.7).tolist() \
        == torch.zeros(2).long().masked_fill(torch.tensor([True, False]), 2.7).tolist()
    nan = float("nan")
    assert np.isnan(chainrule.scatter_reduce(chainrule.tensor([1.0, 2.0]), 0,
                                             chainrule.tensor([0, 0]),
                                             chainrule.tensor([nan, 5.0]), "amax")[0].item())
    assert chainrule.scatter(chainrule.tensor(1.0), 0, chainrule.tensor(0),
                             chainrule.tensor(5.0)).item() == 5.0
    assert chainrule.zeros(3, 2).scatter(0, chainrule.zeros(0).long(), 1.0).tolist() == \
        torch.zeros(3, 2).scatter(0, torch.zeros(0).long(), 1.0).tolist()


def test_onnx_export_matches_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from chainrule import nn

    index = chainrule.tensor([[3, 0, 0, 1], [2, 2, 1, 0]])
    mask = chainrule.tensor([[True, False, False, True], [False, True, False, False]])

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 4)

        def forward(self, x):
            h = self.linear(x).cumsum(1) + x.cumsum(0)
            h = h.scatter_add(1, index, x * 2.0)
            h = h.scatter(1, index[:, :2], h * 0.5)
            h = h.scatter_reduce(1, index, x + 3.0, "prod")
            return h.masked_fill(mask, -1.0).index_fill(1, chainrule.tensor([2]), 4.0)

    chainrule.manual_seed(0)
    model = Model()
    x = chainrule.randn(2, 4)
    path = chainrule.onnx.export(model, x, str(tmp_path / "scatter.onnx"))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    with chainrule.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
