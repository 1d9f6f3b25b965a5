"""Shape ops: values against NumPy, gradients by gradcheck."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
from chainrule.errors import ShapeError
from tests.helpers import check, make

SETTINGS = settings(max_examples=10, deadline=None)


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=3), seed=st.integers(0, 100))
def test_permute_reshape_flatten(shape, seed):
    x = make(shape, seed)
    axes = list(np.random.default_rng(seed).permutation(len(shape)))
    np.testing.assert_array_equal(x.permute(*axes).numpy(), x.numpy().transpose(axes))
    check(lambda t: t.permute(*axes).reshape(-1) * chainrule.arange(t.numel()).double(), x)
    check(lambda t: t.flatten() ** 2, x)


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=3), seed=st.integers(0, 100))
def test_broadcast_and_sum_to_are_adjoint(shape, seed):
    x = make(shape, seed)
    target = (2,) + tuple(shape)
    check(lambda t: t.broadcast_to(target) * make(target, seed + 1, requires_grad=False), x)
    check(lambda t: chainrule.sum_to(t, (1,) + tuple(shape[1:])) ** 2, x)


CASES = {
    "transpose": lambda t: t.transpose(0, 1),
    "T": lambda t: t.T,
    "swapaxes": lambda t: t.swapaxes(0, -1),
    "squeeze_unsqueeze": lambda t: t.unsqueeze(1).unsqueeze(-1).squeeze(1),
    "expand": lambda t: t.unsqueeze(0).expand(2, -1, -1),
    "cat": lambda t: chainrule.cat([t, t * 2, t[:1]], dim=0),
    "cat_axis1": lambda t: chainrule.cat([t, t ** 2], axis=1),
    "stack": lambda t: chainrule.stack([t, t * 3], dim=1),
    "split": lambda t: chainrule.split(t, [1, 2], dim=0)[1] * 2,
    "chunk": lambda t: t.chunk(2, dim=1)[0] ** 2,
    "pad": lambda t: chainrule.pad(t, ((1, 2), (0, 1)), value=3.0) ** 2,
    "flip": lambda t: t.flip(0) * chainrule.arange(4).double(),
    "tile": lambda t: t.tile(2, 3) ** 2,
    "repeat": lambda t: t.repeat(1, 2, 1) ** 2,
    "view": lambda t: t.view(2, 6) ** 2,
    "clone": lambda t: t.clone() ** 2,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_op_gradients(name):
    check(CASES[name], make((3, 4), 7))


def test_values_match_numpy():
    x = make((3, 4), 1, requires_grad=False)
    a = x.numpy()
    np.testing.assert_array_equal(chainrule.pad(x, ((1, 0), (2, 2))).numpy(), np.pad(a, ((1, 0), (2, 2))))
    np.testing.assert_array_equal(x.tile(2, 1).numpy(), np.tile(a, (2, 1)))
    np.testing.assert_array_equal(chainrule.stack([x, x], 2).numpy(), np.stack([a, a], 2))
    assert [p.shape for p in x.split(2, dim=1)] == [(3, 2), (3, 2)]
    assert [p.shape for p in x.chunk(3, dim=0)] == [(1, 4), (1, 4), (1, 4)]


def test_reshape_errors_name_the_shapes():
    with pytest.raises(ShapeError, match=r"\(3, 4\).*\(5, -1\)"):
        make((3, 4), 0).reshape(5, -1)
    with pytest.raises(ShapeError, match="concatenate"):
        chainrule.cat([make((2, 3), 0), make((3, 2), 0)], dim=0)
    with pytest.raises(ShapeError, match="broadcast_to"):
        make((2, 3), 0).broadcast_to((4, 3))


def test_cast_between_floats_is_differentiable_and_grad_keeps_input_dtype():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    (x.double() ** 2).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]
    assert not x.long().requires_grad
