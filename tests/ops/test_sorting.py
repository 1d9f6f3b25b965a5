"""Sorting and selection: sort, argsort, msort, topk, kthvalue, median, nanmedian, mode, unique,
unique_consecutive, searchsorted, bucketize — gradients, and values/indices against PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
from chainrule.errors import ArgumentError, ArgumentTypeError, ShapeError
from tests.helpers import check, make

SETTINGS = settings(max_examples=12, deadline=None)
NAN, INF = float("nan"), float("inf")


@st.composite
def shape_and_dim(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


SELECTIONS = {
    "sort": lambda t, d: t.sort(d).values,
    "sort_descending": lambda t, d: t.sort(d, descending=True).values,
    "topk": lambda t, d: t.topk(1, d).values,
    "topk_smallest": lambda t, d: t.topk(1, d, largest=False).values,
    "kthvalue": lambda t, d: t.kthvalue(1, d, keepdim=True).values,
    "median_dim": lambda t, d: t.median(d).values,
    "nanmedian_dim": lambda t, d: t.nanmedian(d, keepdim=True).values,
    "mode": lambda t, d: t.mode(d).values,
    "median": lambda t, d: t.median() * 3.0,
    "nanmedian": lambda t, d: t.nanmedian(),
    "msort": lambda t, d: t.msort(),
    "take_along_argsort": lambda t, d: t.take_along_dim(t.argsort(d), d),
}


@pytest.mark.parametrize("name", sorted(SELECTIONS))
@SETTINGS
@given(case=shape_and_dim(), seed=st.integers(0, 1000))
def test_gradients(name, case, seed):
    shape, dim = case
    check(lambda t: SELECTIONS[name](t, dim), make(shape, seed))


def test_gradient_goes_to_the_returned_index():
    x = chainrule.tensor([3.0, 1.0, 3.0, 2.0], requires_grad=True)
    out = x.sort(descending=True)
    (out.values * chainrule.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert out.indices.tolist() == [0, 2, 3, 1]
    assert x.grad.tolist() == [1.0, 4.0, 2.0, 3.0]


def test_median_without_dim_splits_the_gradient_among_ties():
    x = chainrule.tensor([2.0, 1.0, 2.0, 3.0], requires_grad=True)
    x.median().backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5, 0.0]


def test_zero_d_and_empty():
    x = chainrule.tensor(3.0)
    assert x.sort().indices.item() == 0 and x.topk(1).values.item() == 3.0
    assert x.kthvalue(1).values.item() == 3.0 and x.median(0).indices.item() == 0
    assert x.unique().tolist() == [3.0]
    assert chainrule.zeros(0, 2).sort(dim=0).values.shape == (0, 2)
    assert chainrule.zeros(0, 2).topk(0, dim=0).indices.shape == (0, 2)
    assert np.isnan(chainrule.zeros(0).median().item())
    assert chainrule.zeros(2, 0).mode(dim=0).values.shape == (0,)


@pytest.mark.parametrize("call, error", [
    (lambda: chainrule.ones(2).topk(3), ArgumentError),
    (lambda: chainrule.ones(2).kthvalue(0), ArgumentError),
    (lambda: chainrule.ones(2).kthvalue(1.5), ArgumentTypeError),
    (lambda: chainrule.ones(2).sort(1), ShapeError),
    (lambda: chainrule.zeros(0, 3).median(0), ShapeError),
    (lambda: chainrule.zeros(0, 3).mode(0), ShapeError),
    (lambda: chainrule.searchsorted(chainrule.ones(2), chainrule.ones(1), side="middle"),
     ArgumentError),
    (lambda: chainrule.searchsorted(chainrule.ones(2), chainrule.ones(1), side="left",
                                    right=True), ArgumentError),
    (lambda: chainrule.searchsorted(chainrule.ones(2, 2), chainrule.ones(1)), ShapeError),
    (lambda: chainrule.searchsorted(chainrule.tensor(1.0), chainrule.ones(1)), ShapeError),
    (lambda: chainrule.bucketize(chainrule.ones(1), chainrule.ones(2, 2)), ShapeError),
])
def test_bad_arguments(call, error):
    with pytest.raises(error):
        call()


# ---------------------------------------------------------------- against PyTorch

@pytest.fixture
def torch():
    return pytest.importorskip("torch")


ROWS = [[3.0, 1.0, 3.0, 2.0, 1.0, 3.0, NAN, 1.0], [0.0, -1.0, 5.0, 5.0, 2.0, -INF, INF, -3.0],
        [4.0, 4.0, 4.0, 4.0, 1.0, 1.0, 1.0, 1.0]]
DISTINCT = [[0.3, -1.2, 2.5, 0.0, 7.0], [1.0, 4.0, -2.0, 3.5, -0.5]]

# name -> call on (module, x); the results are compared value by value (values and indices)
EXACT = {
    "sort": lambda m, x: m.sort(x, dim=1, stable=True),
    "sort_descending": lambda m, x: m.sort(x, dim=-1, descending=True, stable=True),
    "sort_dim0": lambda m, x: m.sort(x, dim=0, stable=True),
    "argsort": lambda m, x: m.argsort(x, dim=1, stable=True),
    "msort": lambda m, x: m.msort(x),
    "median": lambda m, x: m.median(x),
    "median_dim": lambda m, x: m.median(x, 1),
    "median_dim0": lambda m, x: m.median(x, 0, keepdim=True),
    "nanmedian": lambda m, x: m.nanmedian(x),
    "nanmedian_dim": lambda m, x: m.nanmedian(x, 1),
    "unique": lambda m, x: m.unique(x, return_inverse=True, return_counts=True),
    "unique_consecutive": lambda m, x: m.unique_consecutive(x, return_inverse=True,
                                                            return_counts=True),
    "unique_dim": lambda m, x: m.unique(x[:, :2].round(), dim=0, return_inverse=True),
}

# ops whose index among tied values PyTorch leaves to its algorithm: compared on DISTINCT
DISTINCT_ONLY = {
    "topk": lambda m, x: m.topk(x, 3, 1),
    "topk_smallest": lambda m, x: m.topk(x, 2, 0, largest=False),
    "kthvalue": lambda m, x: m.kthvalue(x, 2, 1),
    "kthvalue_dim0": lambda m, x: m.kthvalue(x, 2, 0, keepdim=True),
    "mode": lambda m, x: m.mode(m.round(x), 1),
}


def _as_lists(result):
    items = result if isinstance(result, tuple) else (result,)
    return [np.asarray(t.tolist(), dtype=float) for t in items]


def _same(got, expected):
    for a, b in zip(_as_lists(got), _as_lists(expected)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_ties_nan_and_inf_match_pytorch(torch, name):
    _same(EXACT[name](chainrule, chainrule.tensor(ROWS)), EXACT[name](torch, torch.tensor(ROWS)))


@pytest.mark.parametrize("name", sorted(DISTINCT_ONLY))
def test_selection_matches_pytorch(torch, name):
    fn = DISTINCT_ONLY[name]
    _same(fn(chainrule, chainrule.tensor(DISTINCT)), fn(torch, torch.tensor(DISTINCT)))


def test_mode_of_small_rows_matches_pytorch(torch):
    rows = [[1.0, 2.0, 2.0, 1.0, 3.0], [5.0, 4.0, 4.0, 5.0, 9.0], [7.0, 7.0, 7.0, 7.0, 7.0]]
    _same(chainrule.mode(chainrule.tensor(rows)), torch.mode(torch.tensor(rows)))


@pytest.mark.parametrize("name", ["sort", "topk", "kthvalue", "median_dim", "median"])
def test_gradients_match_pytorch(torch, name):
    calls = {"sort": lambda m, x: m.sort(x, dim=1, descending=True)[0],
             "topk": lambda m, x: m.topk(x, 2, 1)[0],
             "kthvalue": lambda m, x: m.kthvalue(x, 3, 1)[0],
             "median_dim": lambda m, x: m.median(x, 0)[0],
             "median": lambda m, x: m.median(x) * 2.0}
    grads = []
    for m in (torch, chainrule):
        x = m.tensor(np.asarray(DISTINCT), requires_grad=True)
        y = calls[name](m, x)
        gy = np.arange(1.0, 1.0 + int(np.prod(tuple(y.shape)))).reshape(tuple(y.shape))
        y.backward(m.tensor(gy))
        grads.append(np.asarray(x.grad.tolist()))
    np.testing.assert_allclose(grads[1], grads[0])


SEQUENCES = [[1.0, 3.0, 3.0, 7.0], [2.0, 4.0, 4.0, 4.0]]
VALUES = [[3.0, 0.0, 8.0, 1.0, NAN], [4.0, 4.0, 5.0, 1.5, -INF]]


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_and_bucketize_match_pytorch(torch, side):
    right = side == "right"
    for seq, values in ((SEQUENCES, VALUES), (SEQUENCES[0], VALUES), (SEQUENCES[1], 4.0)):
        c_values = chainrule.tensor(values) if isinstance(values, list) else values
        t_values = torch.tensor(values) if isinstance(values, list) else values
        _same(chainrule.searchsorted(chainrule.tensor(seq), c_values, side=side),
              torch.searchsorted(torch.tensor(seq), t_values, side=side))
    _same(chainrule.bucketize(chainrule.tensor(VALUES), chainrule.tensor(SEQUENCES[0]),
                              right=right, out_int32=True),
          torch.bucketize(torch.tensor(VALUES), torch.tensor(SEQUENCES[0]), right=right,
                          out_int32=True))
    sorter = [2, 0, 1, 3]
    shuffled = [3.0, 1.0, 3.0, 7.0]
    _same(chainrule.searchsorted(chainrule.tensor(shuffled), chainrule.tensor([3.0]),
                                 right=right, sorter=chainrule.tensor(sorter)),
          torch.searchsorted(torch.tensor(shuffled), torch.tensor([3.0]), right=right,
                             sorter=torch.tensor(sorter)))
    assert chainrule.bucketize(chainrule.tensor([1.0]), chainrule.tensor([1.0]),
                               out_int32=True).dtype == np.int32
