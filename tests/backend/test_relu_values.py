"""backend_helpers.relu_values: relu against a block of zeros gives, bit for bit, PyTorch's
relu (0 where x < 0, else x: -0.0 and nan kept) for every size around the block's, any
layout, in place or not; other dtypes and arrays keep NumPy's maximum(x, 0)."""
import numpy as np
import pytest

import chainrule
from chainrule import backend_helpers

BLOCK = backend_helpers._ZERO_BLOCK
EDGES = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 5e-324, -5e-324, -1.0, 2.5]
SIZES = [0, 1, 7, 8, 9, 33, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 5]


def _values(size, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(size).astype(dtype)
    edges = np.array(EDGES, dtype)
    x[rng.integers(0, max(size, 1), min(size, 64))] = np.resize(edges, min(size, 64))
    x[:min(size, len(edges))] = edges[:size]
    return x


def _pytorch_formula(x):
    """torch.relu's rule written out: x < 0 ? 0 : x (a nan and -0.0 are not < 0)."""
    return np.where(x < 0, np.zeros_like(x), x)


def _same_bits(ours, theirs):
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert ours.tobytes() == theirs.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
def test_relu_values_has_the_bits_of_pytorchs_relu(dtype, size):
    x = _values(size, dtype, seed=size)
    _same_bits(backend_helpers.relu_values(x), _pytorch_formula(x))
    in_place = x.copy()
    assert backend_helpers.relu_values(in_place, out=in_place) is in_place
    _same_bits(in_place, _pytorch_formula(x))
    elsewhere = np.full_like(x, 7.0)
    assert backend_helpers.relu_values(x, out=elsewhere) is elsewhere
    _same_bits(elsewhere, _pytorch_formula(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_values_of_any_layout_and_shape(dtype):
    x = _values(2 * BLOCK + 11, dtype).reshape(-1)
    cases = {"0-d": x[:1].reshape(()), "(4, 0)": np.zeros((4, 0), dtype),
             "n-d": x[:2 * BLOCK].reshape(4, 8, -1), "transposed": x[:600].reshape(20, 30).T,
             "strided": x[::3], "reversed": x[::-1], "fortran": np.asfortranarray(
                 x[:1200].reshape(30, 40))}
    for name, case in cases.items():
        ours = backend_helpers.relu_values(case)
        _same_bits(np.ascontiguousarray(ours), np.ascontiguousarray(_pytorch_formula(case)))
    target = np.empty((40, 30), dtype).T                 # a non-contiguous out=
    backend_helpers.relu_values(cases["fortran"], out=target)
    _same_bits(np.ascontiguousarray(target), np.ascontiguousarray(
        _pytorch_formula(cases["fortran"])))


@pytest.mark.parametrize("dtype", [np.float16, np.int8, np.int64, np.uint8])
def test_other_dtypes_keep_numpys_maximum(dtype):
    x = np.arange(-6, 7).astype(dtype) if np.dtype(dtype).kind != "u" else \
        np.arange(13).astype(dtype)
    ours = backend_helpers.relu_values(x)
    np.testing.assert_array_equal(ours, np.maximum(x, 0))
    assert ours.dtype == x.dtype


def test_float16_keeps_negative_zero_in_place_and_out_of_place():
    x = np.array([-1.0, -0.0, 0.0, 2.0, np.nan, -np.inf, np.inf], np.float16)
    expected = _pytorch_formula(x)
    _same_bits(backend_helpers.relu_values(x), expected)
    target = np.empty_like(x)
    assert backend_helpers.relu_values(x, out=target) is target
    _same_bits(target, expected)


def test_the_zero_block_cannot_be_written():
    backend_helpers.relu_values(np.ones(3, np.float32))
    with pytest.raises(ValueError):
        backend_helpers._zero_blocks[np.dtype(np.float32)][0] = 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_and_its_fused_gates_keep_negative_zero(dtype):
    x = _values(3 * BLOCK + 5, dtype)
    expected = _pytorch_formula(x)
    _same_bits(chainrule.relu(chainrule.tensor(x)).numpy(), expected)
    layer = chainrule.nn.Linear(1, 1).to(getattr(chainrule, dtype))
    fused = chainrule.nn.Sequential(layer, chainrule.nn.ReLU())      # one LinearReLU node
    column = chainrule.tensor(x[:100].reshape(-1, 1), requires_grad=True)
    out = fused(column)
    assert type(out.grad_fn).__name__ == "LinearReLU"
    _same_bits(out.detach().numpy(), _pytorch_formula(layer(column).detach().numpy()))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size", [9, BLOCK + 1, 2 * BLOCK + 3])
def test_relu_matches_pytorch_bit_for_bit(torch, dtype, size):
    x = _values(size, dtype, seed=3)
    ours = chainrule.relu(chainrule.tensor(x)).numpy()
    _same_bits(ours, torch.relu(torch.from_numpy(x)).numpy())
