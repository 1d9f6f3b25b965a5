"""backend_helpers.reduced: NumPy's sum/max/min without their Python wrapper gives what
numpy.sum/max/min give (values, dtype, shape), and hands other arrays to their namespace."""
import numpy as np
import pytest

from chainrule import backend_helpers

ARRAYS = {
    "float32 (128, 10)": np.random.default_rng(0).standard_normal((128, 10)).astype(np.float32),
    "float64 (3, 4, 5)": np.random.default_rng(1).standard_normal((3, 4, 5)),
    "int64 labels": np.random.default_rng(2).integers(-5, 10, 64),
    "int8": np.arange(-4, 8, dtype=np.int8).reshape(3, 4),
    "bool": np.array([[True, False, True], [True, True, False]]),
    "0-d": np.asarray(2.5, np.float32),
    "with nan": np.array([[1.0, np.nan], [np.inf, -0.0]]),
    "transposed": np.random.default_rng(3).standard_normal((6, 4)).T,
}


@pytest.mark.parametrize("name", ["sum", "max", "min"])
@pytest.mark.parametrize("key", list(ARRAYS))
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduced_equals_numpy(name, key, keepdims):
    x = ARRAYS[key]
    axes = [None] + list(range(x.ndim))
    for axis in axes:
        ours = backend_helpers.reduced(name, x, axis=axis, keepdims=keepdims)
        theirs = getattr(np, name)(x, axis=axis, keepdims=keepdims)
        assert np.asarray(ours).dtype == np.asarray(theirs).dtype
        assert np.shape(ours) == np.shape(theirs)
        np.testing.assert_array_equal(ours, theirs)
        assert np.asarray(ours).tobytes() == np.asarray(theirs).tobytes()


@pytest.mark.parametrize("name", ["max", "min"])
def test_reduced_of_nothing_raises_as_numpy(name):
    with pytest.raises(ValueError):
        backend_helpers.reduced(name, np.zeros((0, 3)), axis=0)
    assert backend_helpers.reduced("sum", np.zeros((0, 3)), axis=0).tolist() == [0, 0, 0]


def test_reduced_hands_a_strict_array_to_its_namespace():
    xp = pytest.importorskip("array_api_strict")
    x = xp.asarray([[1.0, 5.0], [3.0, 2.0]])
    result = backend_helpers.reduced("max", x, axis=1)
    assert type(result) is type(x)
    assert np.asarray(result).tolist() == [5.0, 3.0]
