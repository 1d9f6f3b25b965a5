"""backend_helpers.view_as: a reshape that never copies. The convolution writes its im2col
matrix and col2im sums through such views, so a silent copy would lose those writes: a layout
that needs a copy must raise instead."""
import numpy as np
import pytest

from chainrule import backend_helpers


@pytest.mark.parametrize("shape, new", [((6, 4), (24,)), ((2, 3, 4), (6, -1)), ((0, 5), (5, 0)),
                                        ((), (1, 1)), ((1, 8), (2, 2, 2))])
def test_view_as_shares_memory_and_sees_writes(shape, new):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    view = backend_helpers.view_as(x, new)
    assert view.shape == np.reshape(x, new).shape
    assert np.shares_memory(view, x) or x.size == 0
    view[...] = -1
    assert (x == -1).all()


@pytest.mark.parametrize("make", [lambda a: a.T, lambda a: a[:, :3], lambda a: a[::-1]])
def test_view_as_refuses_a_layout_that_needs_a_copy(make):
    x = make(np.arange(24.0).reshape(4, 6))
    with pytest.raises((ValueError, AttributeError)):
        backend_helpers.view_as(x, (-1,))


def test_view_as_strict_arrays():
    xp = pytest.importorskip("array_api_strict")
    x = xp.reshape(xp.arange(6.0), (2, 3))
    assert backend_helpers.view_as(x, (3, 2)).shape == (3, 2)
