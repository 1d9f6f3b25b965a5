"""Tensor basics: factories, dtypes, attributes, operators, conversion, repr."""
import numpy as np
import pytest

import chainrule


def test_default_dtypes_follow_pytorch():
    assert chainrule.tensor(1.0).dtype == np.float32
    assert chainrule.tensor([1, 2]).dtype == np.int64
    assert chainrule.tensor([True]).dtype == np.bool_
    assert chainrule.tensor(np.zeros(2)).dtype == np.float64        # arrays keep their dtype
    assert chainrule.tensor([1.0], dtype="float64").dtype == np.float64
    assert chainrule.zeros(2).dtype == chainrule.float32


def test_factories():
    assert chainrule.zeros(2, 3).shape == (2, 3)
    assert chainrule.ones((4,)).tolist() == [1.0] * 4
    assert chainrule.full((2,), 7).tolist() == [7, 7]
    assert chainrule.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert chainrule.linspace(0, 1, 3).tolist() == [0.0, 0.5, 1.0]
    assert chainrule.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    x = chainrule.randn(3, 2)
    assert chainrule.zeros_like(x).shape == (3, 2)
    assert chainrule.ones_like(x).dtype == np.float32
    assert chainrule.full_like(x, 2.0).tolist()[0] == [2.0, 2.0]
    r = chainrule.randint(0, 5, (100,))
    assert r.dtype == np.int64 and 0 <= r.numpy().min() and r.numpy().max() < 5
    u = chainrule.rand(1000)
    assert 0 <= u.numpy().min() and u.numpy().max() < 1


def test_manual_seed_reproduces_random_tensors():
    chainrule.manual_seed(123)
    a = chainrule.randn(5).numpy()
    chainrule.manual_seed(123)
    assert np.array_equal(a, chainrule.randn(5).numpy())
    g = chainrule.Generator(7)
    assert np.array_equal(chainrule.rand(3, generator=g).numpy(),
                          chainrule.rand(3, generator=chainrule.Generator(7)).numpy())


def test_attributes():
    x = chainrule.ones(2, 3, requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size() == (2, 3) and x.size(1) == 3
    assert x.T.shape == (3, 2) and x.numel() == 6 and len(x) == 2
    assert x.is_leaf and not (x * 2).is_leaf
    assert x.grad is None


def test_operators_and_reflected_operators():
    x = chainrule.tensor([1.0, 2.0])
    assert (x + 1).tolist() == [2.0, 3.0]
    assert (1 + x).tolist() == [2.0, 3.0]
    assert (3 - x).tolist() == [2.0, 1.0]
    assert (2 * x).tolist() == [2.0, 4.0]
    assert (2 / x).tolist() == [2.0, 1.0]
    assert (2 ** x).tolist() == [2.0, 4.0]
    assert (-x).tolist() == [-1.0, -2.0]
    assert abs(-x).tolist() == [1.0, 2.0]
    assert (np.array([1.0, 1.0], dtype=np.float32) + x).tolist() == [2.0, 3.0]
    assert (x @ x).item() == 5.0


def test_comparisons_give_bool_tensors():
    x = chainrule.tensor([1.0, 2.0, 3.0])
    assert (x > 1.5).tolist() == [False, True, True]
    assert (x == chainrule.tensor([1.0, 0.0, 3.0])).tolist() == [True, False, True]
    assert (x <= 2).dtype == np.bool_
    assert len({x, x}) == 1       # still hashable by identity


def test_conversion():
    x = chainrule.tensor([[1.5, 2.5]])
    assert isinstance(x.numpy(), np.ndarray)
    assert x.tolist() == [[1.5, 2.5]]
    assert chainrule.tensor(3.0).item() == 3.0
    assert float(chainrule.tensor(2.0)) == 2.0
    assert x.to(chainrule.float64).dtype == np.float64
    assert x.long().tolist() == [[1, 2]]
    assert np.asarray(x).shape == (1, 2)
    with pytest.raises(ValueError, match="one-element"):
        x.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)


def test_repr_looks_like_pytorch():
    assert repr(chainrule.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    assert repr(w) == "tensor(1., requires_grad=True, name='w')"
    assert "grad_fn=<MulBackward>" in repr(w * 2)


def test_in_place_ops_and_setitem_under_no_grad():
    x = chainrule.zeros(3)
    x += 1
    x *= 2
    x[0] = 5.0
    assert x.tolist() == [5.0, 2.0, 2.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0, 0.0]
    x.copy_(chainrule.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_iteration_and_indexing_with_tensor_scalars():
    x = chainrule.arange(6).reshape(2, 3)
    rows = [r.tolist() for r in x]
    assert rows == [[0, 1, 2], [3, 4, 5]]
    assert x[chainrule.tensor(1), 2].item() == 5
