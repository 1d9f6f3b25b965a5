"""Indexing and gather: values like NumPy, scatter-add backward."""
import numpy as np
import pytest

import chainrule
from tests.helpers import check, make

INDEXES = {
    "int": lambda t: t[1],
    "negative": lambda t: t[-1, 2],
    "slice": lambda t: t[1:, ::2],
    "none_ellipsis": lambda t: t[None, ..., 1],
    "int_array_repeats": lambda t: t[np.array([0, 0, 2, 0])],
    "list_index": lambda t: t[[2, 1, 1]],
    "two_arrays": lambda t: t[np.array([0, 1, 1]), np.array([3, 0, 0])],
    "bool_mask": lambda t: t[t._data > 0],
    "tensor_index": lambda t: t[chainrule.tensor([1, 1, 0])],
    "mixed": lambda t: t[1:, np.array([0, 0, 3])],
}


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_indexing_matches_numpy_and_has_gradients(name):
    x = make((3, 4), 5)
    got = INDEXES[name](x)
    expected = INDEXES[name](x.numpy()) if name not in ("bool_mask", "tensor_index") else None
    if expected is not None:
        np.testing.assert_array_equal(got.numpy(), expected)
    check(INDEXES[name], x)


def test_repeated_indices_accumulate():
    x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 0, 2]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_gather_take_along_axis_index_select():
    x = make((3, 4), 2)
    index = chainrule.tensor([[0, 0], [3, 1], [2, 2]])
    np.testing.assert_array_equal(x.gather(1, index).numpy(),
                                  np.take_along_axis(x.numpy(), index.numpy(), 1))
    check(lambda t: t.gather(1, index) ** 2, x)
    check(lambda t: chainrule.take_along_axis(t, chainrule.tensor([[1, 2, 0, 0]]), 0), x)
    check(lambda t: t.index_select(1, chainrule.tensor([3, 3, 0])), x)


def test_one_hot():
    assert chainrule.one_hot(chainrule.tensor([1, 0]), 3).tolist() == [[0, 1, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        chainrule.one_hot(chainrule.tensor([5]), 3)
    with pytest.raises(TypeError, match="integers"):
        chainrule.one_hot(chainrule.tensor([1.0]), 3)


def test_setitem_records_gradient_for_non_leaf():
    x = make((3,), 1)
    v = make((), 2)
    y = x * 1.0
    y[1] = v * 2
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    assert v.grad.item() == 2.0
