"""backend_helpers.per_channel and channel_sums: the blocked layout gives NumPy's broadcast
results bit for bit, for every (N, C, R) around the block's size (k images per row and a
remainder), in place or not, and falls back to the broadcast where it does not apply."""
import numpy as np
import pytest

from chainrule import backend_helpers

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")     # nan, inf on purpose
BLOCK = backend_helpers._ZERO_BLOCK
SHAPES = [(1, 3, 5), (2, 4, 1), (3, 1, 2 * BLOCK + 1), (32, 16, 1024), (7, 16, 1024),
          (5, 3, 7000), (33, 64, 64), (9, 6, 577), (64, 6, 576), (128, 256, 1)]
FUNCTIONS = [np.add, np.subtract, np.multiply, np.divide]


def _case(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal(shape).astype(dtype)
    values = rng.standard_normal(shape[1]).astype(dtype)
    rows.reshape(-1)[:4] = [np.nan, -0.0, np.inf, 0.0][:rows.size]
    values[0] = -0.0
    return rows, values


def _same_bits(ours, theirs):
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert np.ascontiguousarray(ours).tobytes() == np.ascontiguousarray(theirs).tobytes()


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_per_channel_is_the_broadcast_bit_for_bit(shape, dtype, function):
    rows, values = _case(shape, dtype)
    expected = function(rows, values.reshape(1, -1, 1))
    _same_bits(backend_helpers.per_channel(function, rows, values), expected)
    out = np.empty_like(rows)
    assert backend_helpers.per_channel(function, rows, values, out=out) is out
    _same_bits(out, expected)
    in_place = rows.copy()
    backend_helpers.per_channel(function, in_place, values, out=in_place)
    _same_bits(in_place, expected)


@pytest.mark.parametrize("layout", ["transposed", "strided_out", "float16", "int64",
                                    "mixed"])
def test_per_channel_falls_back_to_the_broadcast(layout):
    rows, values = _case((8, 4, 4096), np.float32)
    out = None
    if layout == "transposed":
        rows = np.ascontiguousarray(rows.transpose(2, 1, 0)).transpose(2, 1, 0)
    elif layout == "strided_out":
        out = np.empty((8, 4, 8192), np.float32)[:, :, ::2]
    elif layout == "float16":
        rows, values = rows.astype(np.float16), values.astype(np.float16)
    elif layout == "int64":
        rows, values = (rows * 10).astype(np.int64), (values * 10).astype(np.int64)
    else:
        values = values.astype(np.float64)          # promotes, as the broadcast does
    expected = np.multiply(rows, values.reshape(1, -1, 1))
    result = backend_helpers.per_channel(np.multiply, rows, values, out=out)
    if out is not None:
        assert result is out
        expected = expected.astype(out.dtype)
    _same_bits(result, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1), (0, 3, 4), (32, 16, 1024), (128, 256, 1)],
                         ids=str)
def test_channel_sums_match_float64_sums(shape, dtype):
    rows, _ = _case(shape, dtype, seed=1)
    rows = np.nan_to_num(rows, nan=1.0, posinf=2.0)
    sums = backend_helpers.channel_sums(rows)
    assert sums.dtype == dtype and sums.shape == (shape[1],)
    exact = rows.astype(np.float64).sum(axis=(0, 2))
    scale = np.abs(rows).astype(np.float64).sum(axis=(0, 2)) + 1
    assert np.all(np.abs(sums - exact) <= 4 * np.finfo(dtype).eps * np.sqrt(rows.size) * scale)


def test_channel_sums_of_an_empty_batch_are_zero():
    assert backend_helpers.channel_sums(np.zeros((0, 3, 4), np.float32)).tolist() == [0, 0, 0]


@pytest.mark.parametrize("shape", [(2, 2, 1 << 19), (256, 2, 1024), (1, 1, (1 << 16) + 1)],
                         ids=str)
def test_long_float32_channels_are_summed_as_accurately_as_pairwise_sums(shape):
    """Past _LONG_CHANNEL values a channel is summed per row and the rows in float64: about
    a few float32 roundings from the exact sum, where einsum's running sum drifts (6e-7
    relative at (2, 2, 2**19) values about 100)."""
    rows = (np.random.default_rng(4).standard_normal(shape) + 100).astype(np.float32)
    sums = backend_helpers.channel_sums(rows)
    exact = rows.astype(np.float64).sum(axis=(0, 2))
    assert sums.dtype == np.float32
    assert np.all(np.abs(sums / exact - 1) < 1e-7)
