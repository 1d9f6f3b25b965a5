"""matmul (1-D, 2-D, batched with broadcasting), dot, outer, einsum."""
import numpy as np
import pytest

import chainrule
from chainrule.errors import ShapeError
from tests.helpers import check, make

MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)),
                 ((2, 1, 2, 3), (3, 3, 2))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_values_and_gradients(sa, sb):
    a, b = make(sa, 1), make(sb, 2)
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy(), rtol=1e-12)
    check(lambda a, b: a @ b, a, b)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(2, 4\)"):
        make((2, 3), 0) @ make((2, 4), 0)


def test_dot_and_outer():
    a, b = make((3,), 1), make((4,), 2)
    np.testing.assert_allclose(chainrule.outer(a, b).numpy(), np.outer(a.numpy(), b.numpy()))
    check(chainrule.outer, a, b)
    check(chainrule.dot, a, make((3,), 3))


@pytest.mark.parametrize("spec,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("ij,k->ik", [(2, 3), (4,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ijk->ki", [(2, 3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ij,jk", [(2, 3), (3, 2)]),
])
def test_einsum_values_and_gradients(spec, shapes):
    ops = [make(s, i) for i, s in enumerate(shapes)]
    np.testing.assert_allclose(chainrule.einsum(spec, *ops).numpy(),
                               np.einsum(spec, *[o.numpy() for o in ops]), rtol=1e-12)
    check(lambda *t: chainrule.einsum(spec, *t), *ops)


def test_einsum_rejects_mismatched_sizes():
    with pytest.raises(ShapeError, match="index 'j'"):
        chainrule.einsum("ij,jk->ik", make((2, 3), 0), make((4, 2), 0))
