"""chainrule.backend_pool: copies and additions on OpenBLAS's threads give NumPy's values bit
for bit, over drawn shapes and layouts (slices with steps, transposes, reversed axes,
broadcast operands, in-place adds), and leave to NumPy what they cannot do (overlap, a
read-only target, small arrays, mixed or other dtypes). Convolutions give the same values
and gradients with the pool on and off."""
import shutil
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
import chainrule.nn.functional as F
from chainrule import backend_helpers, backend_pool

def test_the_pool_is_built_where_a_compiler_is():
    """setup.py builds chainrule._pool as an optional extension: a C error would only show as
    NumPy doing the passes. Where a C compiler is at hand (as in CI) the module is there."""
    if not sys.platform.startswith("linux") or not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler here: NumPy does the passes")
    import chainrule._pool    # noqa: F401  (fails when the build failed)


needs_pool = pytest.mark.skipif(not backend_pool.available(),
                                reason="chainrule._pool not built or no OpenBLAS thread server")


@st.composite
def layouts(draw, dtypes=(np.float32, np.float64)):
    """(a view of a larger array with a drawn layout, the view's shape): big enough to go to
    the pool, with steps, a permutation and reversed axes drawn."""
    ndim = draw(st.integers(1, 5))
    shape = [draw(st.integers(1, 9)) for _ in range(ndim - 1)]
    inner = -(-(backend_pool.MIN_BYTES // 4 + 1) // int(np.prod(shape)))       # (ceiling)
    shape.append(draw(st.integers(inner, inner + 40)))
    order = draw(st.permutations(range(ndim)))
    steps = [draw(st.sampled_from([1, 1, 2, -1])) for _ in range(ndim)]
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2 ** 16))
    return shape, order, steps, np.dtype(dtype), seed


def _view(shape, order, steps, dtype, seed):
    """An array of ``shape`` whose memory layout is permuted and stepped."""
    rng = np.random.default_rng(seed)
    stored = [shape[i] * abs(steps[i]) for i in order]
    base = rng.standard_normal(stored).astype(dtype)
    view = np.transpose(base, np.argsort(order))
    return view[tuple(slice(None, None, s) for s in steps)][tuple(slice(0, n) for n in shape)]


@needs_pool
@settings(max_examples=40, deadline=None)
@given(layouts(), layouts(), st.booleans())
def test_copy_is_numpy_copy(target_layout, source_layout, broadcast):
    shape, order, steps, dtype, seed = target_layout
    target = _view(shape, order, steps, dtype, seed)
    _, s_order, s_steps, _, s_seed = source_layout
    s_order = [o for o in s_order if o < len(shape)]
    s_order = (s_order + [i for i in range(len(shape)) if i not in s_order])[:len(shape)]
    source = _view(shape, s_order, (s_steps + [1] * 5)[:len(shape)], dtype, s_seed)
    if broadcast:                                   # a source of fewer dimensions
        source = source[(0,) * (len(shape) - 1)]
    expected = target.copy()
    expected[...] = source
    assert backend_pool.copy(target, source)
    assert np.array_equal(target, expected) and target.tobytes() == expected.tobytes()


@needs_pool
@settings(max_examples=40, deadline=None)
@given(layouts(), st.integers(0, 2 ** 16), st.sampled_from(["apart", "in place", "broadcast"]))
def test_add_is_numpy_add(layout, seed, how):
    shape, order, steps, dtype, view_seed = layout
    out = _view(shape, order, steps, dtype, view_seed)
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(shape[-1:] if how == "broadcast" else shape).astype(dtype)
    b[::7] = np.inf                                         # inf, nan and signed zeros too
    b[1::11] = np.nan
    b[2::13] = -0.0
    a = out if how == "in place" else rng.standard_normal(shape).astype(dtype)
    expected = np.add(a, b)
    assert backend_pool.binary(np.add, out, a, b)
    assert np.ascontiguousarray(out).tobytes() == expected.tobytes()    # nan, -0.0 as well


@needs_pool
@settings(max_examples=30, deadline=None)
@given(layouts(), st.integers(0, 2 ** 16), st.sampled_from(["subtract", "multiply"]),
       st.booleans())
def test_subtract_and_multiply_are_numpy_s(layout, seed, name, per_channel):
    shape, order, steps, dtype, view_seed = layout
    out = _view(shape, order, steps, dtype, view_seed)
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dtype)
    a[::5] = -np.inf
    b_shape = [1] * len(shape)
    b_shape[0] = shape[0]
    b = rng.standard_normal(b_shape if per_channel else shape).astype(dtype)  # (C, 1, ...)
    function = getattr(np, name)
    expected = function(a, b)
    assert backend_pool.binary(function, out, a, b)
    assert np.ascontiguousarray(out).tobytes() == expected.tobytes()


@needs_pool
@settings(max_examples=30, deadline=None)
@given(layouts(), st.integers(0, 2 ** 16), st.booleans())
def test_relu_and_keep_where_are_the_helpers_values(layout, seed, in_place):
    shape, order, steps, dtype, view_seed = layout
    x = _view(shape, order, steps, dtype, view_seed)
    flat = x.reshape(-1).copy()
    flat[::7], flat[1::9], flat[2::11] = np.nan, np.inf, -0.0
    x[...] = flat.reshape(x.shape)
    mask = np.random.default_rng(seed).random(shape) < 0.5
    with backend_pool.disabled():
        relu_expected = backend_helpers.relu_values(x.copy())
        kept_expected = backend_helpers.keep_where(x.copy(), mask)
    out = x if in_place else np.empty(shape, dtype)
    kept = np.empty(shape, dtype)
    assert backend_pool.keep_where(kept, x, mask)
    assert backend_pool.relu(out, x)
    assert np.ascontiguousarray(out).tobytes() == relu_expected.tobytes()
    assert kept.tobytes() == kept_expected.tobytes()


@needs_pool
def test_what_the_pool_leaves_to_numpy():
    big = np.arange(100_000, dtype=np.float64)
    assert not backend_pool.copy(big[1:], big[:-1])          # overlapping operands
    assert np.array_equal(big, np.arange(100_000.0))          # ... untouched
    assert not backend_pool.binary(np.add, big[1:], big[:-1], big[1:])
    frozen = np.zeros(100_000)
    frozen.flags.writeable = False
    assert not backend_pool.copy(frozen, big)                # a read-only target
    assert not backend_pool.copy(np.empty(10), np.ones(10))  # small
    assert not backend_pool.copy(np.empty(100_000), np.ones(100_000, np.float32))  # dtypes
    integers = np.ones(100_000, np.int64)
    assert not backend_pool.binary(np.add, np.empty_like(integers), integers, integers)  # NumPy's
    assert not backend_pool.binary(np.add, np.empty(100_000), np.ones(100_000), 1.0)  # a scalar
    assert not backend_pool.binary(np.maximum, np.empty(100_000), big, big)  # another ufunc
    assert not backend_pool.keep_where(np.empty(100_000), big, np.ones(100_000, np.int8))
    assert not backend_pool.relu(np.empty(100_000, np.float32), big)        # a cast
    with backend_pool.disabled():
        assert not backend_pool.copy(np.empty(100_000), np.ones(100_000))
    assert backend_pool.copy(np.empty(100_000), np.ones(100_000))


THREADED = """
import threading, numpy as np
from chainrule import backend_helpers
wrong = []
def work(seed):
    rng = np.random.default_rng(seed)
    for _ in range(150):
        a, b = rng.standard_normal((300, 300)), rng.standard_normal((300, 300))
        out = np.full_like(a, 7.0)
        backend_helpers.assign(out, a.T)
        wrong.append(not np.array_equal(out, a.T))
        backend_helpers.into(out, np.add, a, b)
        wrong.append(not np.array_equal(out, a + b))
        a @ b                                   # OpenBLAS's own products in between
threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sum(wrong), len(wrong))
"""


def test_passes_from_several_threads_at_once():
    """Four threads whose first passes start together (the pool is set up once) and then
    mix pooled passes with matrix products: every result right, whichever path ran."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", THREADED], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0", "1200"]


@needs_pool
def test_what_numpy_must_do_itself():
    """Object arrays (copying their pointers would skip the reference counts), an output
    whose elements share memory, unaligned items: declined, and NumPy's own pass runs."""
    objects = np.array([object() for _ in range(20_000)], dtype=object)
    out = np.empty_like(objects)
    assert not backend_pool.copy(out, objects)
    backend_helpers.assign(out, objects)
    assert all(a is b for a, b in zip(out[:5], objects[:5]))
    base = np.zeros(2_000_003, np.float32)
    overlapping = np.lib.stride_tricks.as_strided(base, (2_000_000, 4), (4, 4))
    assert not backend_pool.copy(overlapping, np.ones((2_000_000, 4), np.float32))
    raw = np.zeros(4 * 100_000 + 1, np.uint8)
    unaligned = raw[1:].view(np.float32)
    assert not unaligned.flags.aligned
    assert not backend_pool.copy(unaligned, np.ones(100_000, np.float32))
    assert not backend_pool.binary(np.add, unaligned, np.ones(100_000, np.float32),
                                   np.ones(100_000, np.float32))


@needs_pool
def test_floating_point_errors_meet_numpys_errstate():
    """Overflow in a pooled add warns, raises or stays silent as NumPy's add would."""
    a = np.full(100_000, 3e38, np.float32)
    out = np.empty_like(a)
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError, match="overflow encountered in add"):
            np.add(a, a, out=np.empty_like(a))
        with pytest.raises(FloatingPointError, match="overflow encountered in add"):
            backend_helpers.into(out, np.add, a, a)
    assert np.isposinf(out).all()                    # written first, as NumPy does
    with np.errstate(over="warn"), pytest.warns(RuntimeWarning, match="overflow encountered"):
        assert backend_pool.binary(np.add, out, a, a)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert backend_pool.binary(np.multiply, out, a, a)
            assert backend_pool.binary(np.subtract, out, np.zeros_like(a), a)   # no flags


@needs_pool
def test_a_flush_to_zero_caller_gets_numpys_pass():
    """torch.set_flush_denormal sets the caller's thread only: OpenBLAS's workers would
    keep subnormals, so arithmetic then stays on NumPy (copies are bits and still go)."""
    torch = pytest.importorskip("torch")
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU has no flush-to-zero mode")
    try:
        tiny = np.full(100_000, 1e-30, np.float32)
        out = np.empty_like(tiny)
        assert not backend_pool.binary(np.multiply, out, tiny, np.full_like(tiny, 1e-10))
        assert not backend_pool.relu(out, tiny)
        assert backend_pool.copy(out, tiny)
    finally:
        torch.set_flush_denormal(False)
    assert backend_pool.binary(np.multiply, out, tiny, np.full_like(tiny, 1e-10))


def test_a_failed_set_up_leaves_numpy_in_charge(monkeypatch):
    """Whatever fails while finding or probing OpenBLAS, the pool is just off."""
    import ctypes

    def refuse(*args, **kwargs):
        raise OSError("cannot open shared object file")
    monkeypatch.setattr(ctypes, "CDLL", refuse)
    assert backend_pool._load() is None


def test_helpers_fall_back_to_numpy_whatever_the_pool():
    """assign and into give NumPy's results when the pool declines (casts, small arrays)."""
    target = np.zeros((300, 300), np.float32)
    backend_helpers.assign(target, np.arange(300.0))         # float64 into float32: NumPy
    np.testing.assert_array_equal(target[7], np.arange(300, dtype=np.float32))
    out = np.empty(5)
    assert backend_helpers.into(out, np.add, np.ones(5), np.ones(5)).tolist() == [2.0] * 5


CONVOLUTIONS = [  # (input shape, conv2d arguments): LeNet's, ResNet's, strided, grouped, 1x1
    ((64, 1, 28, 28), dict(out_channels=6, kernel_size=5, padding=2)),
    ((64, 6, 14, 14), dict(out_channels=16, kernel_size=5)),
    ((16, 16, 32, 32), dict(out_channels=16, kernel_size=3, padding=1, bias=False)),
    ((16, 16, 32, 32), dict(out_channels=32, kernel_size=3, stride=2, padding=1)),
    ((8, 8, 24, 24), dict(out_channels=8, kernel_size=3, padding=2, dilation=2, groups=2)),
    ((16, 16, 32, 32), dict(out_channels=32, kernel_size=1, stride=2, bias=False)),
]


def _conv_run(x, weight, bias, kwargs, dtype):
    x = chainrule.tensor(x.astype(dtype), requires_grad=True)
    w = chainrule.tensor(weight.astype(dtype), requires_grad=True)
    b = None if bias is None else chainrule.tensor(bias.astype(dtype), requires_grad=True)
    y = F.conv2d(x, w, b, **kwargs)
    (y * y).sum().backward()
    return [y.numpy()] + [t.grad.numpy() for t in (x, w, b) if t is not None]


@needs_pool
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, arguments", CONVOLUTIONS)
def test_convolutions_are_the_same_with_and_without_the_pool(shape, arguments, dtype):
    arguments = dict(arguments)
    out, k = arguments.pop("out_channels"), arguments.pop("kernel_size")
    has_bias = arguments.pop("bias", True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    weight = rng.standard_normal((out, shape[1] // arguments.get("groups", 1), k, k))
    bias = rng.standard_normal(out) if has_bias else None
    pooled = _conv_run(x, weight, bias, arguments, dtype)
    with backend_pool.disabled():
        plain = _conv_run(x, weight, bias, arguments, dtype)
    for ours, numpy_only in zip(pooled, plain):
        assert ours.tobytes() == numpy_only.tobytes()
