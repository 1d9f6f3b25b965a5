"""Factories against PyTorch: dtype inference, integer arange/linspace/logspace, copies."""
import numpy as np
import pytest

import chainrule
from chainrule.errors import ArgumentError, ArgumentTypeError, DTypeError
from chainrule.tensor_base import to_array


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


DTYPES = ["int64", "int32", "int16", "uint8", "float32", "float64", "float16"]


def _torch_dtype(torch, name):
    return getattr(torch, name)


def _same(ours, theirs, exact=True):
    expected = theirs.numpy()
    assert ours.shape == tuple(expected.shape)
    assert ours.dtype == expected.dtype, (ours.dtype, expected.dtype)
    if exact or ours.dtype.kind in "iub":
        np.testing.assert_array_equal(ours.numpy(), expected)
    else:
        scale = max(1.0, float(np.abs(expected.astype(np.float64)).max(initial=0)))
        np.testing.assert_allclose(ours.numpy().astype(np.float64), expected,
                                   rtol=0, atol=scale * np.finfo(expected.dtype).eps * 2)


ARANGE_ARGS = [(5,), (0, 5), (1, 7, 2), (0.0, 5), (0, 5, 0.5), (0, 1, 0.1), (10, 0, -3),
               (0, 5, 1.5), (0.5, 5, 1.5), (0, 5.5, 1), (-3.7, 3, 1), (3, -3.5, -1.5),
               (0.9, 5.2, 1.9), (0, 0), (2, 2, 1), (-1, 1, 0.25), (-0.5, 3, 1)]


@pytest.mark.parametrize("args", ARANGE_ARGS)
def test_arange_matches_torch(torch, args):
    _same(chainrule.arange(*args), torch.arange(*args), exact=False)
    for name in DTYPES:
        try:
            expected = torch.arange(*args, dtype=_torch_dtype(torch, name))
        except (RuntimeError, ValueError):
            with pytest.raises(ArgumentError):
                chainrule.arange(*args, dtype=name)
            continue
        _same(chainrule.arange(*args, dtype=name), expected, exact=False)


def test_arange_random_ranges_match_torch(torch):
    rng = np.random.default_rng(0)
    for _ in range(300):
        start, end = rng.uniform(-50, 50, 2).round(int(rng.integers(0, 3)))
        step = round(float(rng.uniform(0.1, 4)), 1) * (1 if end >= start else -1)
        for dtype in (None, "int64", "int32", "float64"):
            kwargs = {} if dtype is None else {"dtype": dtype}
            tkw = {} if dtype is None else {"dtype": _torch_dtype(torch, dtype)}
            try:
                expected = torch.arange(float(start), float(end), step, **tkw)
            except (RuntimeError, ValueError):
                with pytest.raises(ArgumentError):
                    chainrule.arange(float(start), float(end), step, **kwargs)
                continue
            _same(chainrule.arange(float(start), float(end), step, **kwargs), expected,
                  exact=False)


def test_arange_dtype_inference_and_errors():
    assert chainrule.arange(3).dtype == np.int64
    assert chainrule.arange(np.int32(3)).dtype == np.int64
    assert chainrule.arange(chainrule.tensor(3)).dtype == np.int64
    assert chainrule.arange(chainrule.tensor(3.0)).dtype == np.float32
    assert chainrule.arange(np.float64(3)).dtype == np.float32
    assert chainrule.arange(0, 3, 1.0).dtype == np.float32
    with pytest.raises(ArgumentError, match="step must be nonzero"):
        chainrule.arange(0, 3, 0)
    with pytest.raises(ArgumentError, match="inconsistent with step sign"):
        chainrule.arange(0, 3, -1)
    with pytest.raises(ArgumentError, match="finite"):
        chainrule.arange(0, float("inf"))
    with pytest.raises(DTypeError):
        chainrule.arange(3, dtype=bool)
    assert chainrule.arange(0.0, 2, requires_grad=True).requires_grad


LINSPACE_ARGS = [(0, 10, 4), (-10, 10, 7), (-10.5, 10, 7), (0, 1, 5), (10, 0, 4), (0, 10, 1),
                 (0, 10, 0), (3, 10, 1), (0.3, 7.7, 10), (-1, 1, 2), (0, 200, 5), (-7, 7, 100),
                 (2.9, -2.9, 6)]


@pytest.mark.parametrize("args", LINSPACE_ARGS)
def test_linspace_matches_torch_including_integer_truncation(torch, args):
    _same(chainrule.linspace(*args), torch.linspace(*args), exact=False)
    for name in DTYPES:
        if name == "uint8" and min(args[:2]) < 0:
            continue                         # torch wraps negative values; not a rule to copy
        _same(chainrule.linspace(*args, dtype=name),
              torch.linspace(*args, dtype=_torch_dtype(torch, name)), exact=False)


def test_linspace_random_ranges_match_torch(torch):
    rng = np.random.default_rng(1)
    for _ in range(200):
        start, end = (float(v) for v in rng.uniform(-100, 100, 2))
        steps = int(rng.integers(0, 60))
        for dtype in ("float32", "float64", "int64", "int32"):
            _same(chainrule.linspace(start, end, steps, dtype=dtype),
                  torch.linspace(start, end, steps, dtype=_torch_dtype(torch, dtype)),
                  exact=False)


LOGSPACE_ARGS = [(0, 3, 4), (0, 2.5, 4), (-1, 2, 4), (1, 1, 1), (0, 3, 4, 2.5), (0, 3, 4, 2),
                 (-2, 2, 9), (0, 1, 0), (2.7, 0.3, 5, 3.0)]


@pytest.mark.parametrize("args", LOGSPACE_ARGS)
def test_logspace_matches_torch(torch, args):
    _same(chainrule.logspace(*args), torch.logspace(*args), exact=False)
    for name in ("int64", "int32", "float64", "float32"):
        _same(chainrule.logspace(*args, dtype=name),
              torch.logspace(*args, dtype=_torch_dtype(torch, name)), exact=False)


def test_linspace_errors():
    with pytest.raises(ArgumentError, match="non-negative"):
        chainrule.linspace(0, 1, -1)
    with pytest.raises(ArgumentTypeError, match="steps must be an int"):
        chainrule.linspace(0, 1, 2.5)


def test_tensor_copies_an_array_like_torch():
    array = np.arange(3.0)
    t = chainrule.tensor(array)
    array[0] = 9.0
    assert t.tolist() == [0.0, 1.0, 2.0]
    strided = np.arange(8.0)[::2]
    t = chainrule.tensor(strided)
    assert t.is_contiguous() and t.tolist() == [0.0, 2.0, 4.0, 6.0]
    read_only = np.arange(3.0)
    read_only.flags.writeable = False
    t = chainrule.tensor(read_only)
    t[0] = 5.0                                  # a copy is writeable
    assert read_only[0] == 0.0
    source = chainrule.ones(2)
    copy = chainrule.tensor(source)
    source.add_(1.0)
    assert copy.tolist() == [1.0, 1.0]


def test_from_numpy_and_as_tensor_share_memory():
    array = np.arange(3.0)
    shared, as_t = chainrule.from_numpy(array), chainrule.as_tensor(array)
    array[0] = 9.0
    assert shared.tolist()[0] == 9.0 and as_t.tolist()[0] == 9.0


def test_size_dtype_and_requires_grad_of_factories(torch):
    for name, ours, theirs in [
            ("zeros", chainrule.zeros(2, 3, dtype="int32"), torch.zeros(2, 3, dtype=torch.int32)),
            ("ones", chainrule.ones((2,), dtype="float64"), torch.ones((2,), dtype=torch.float64)),
            ("full_int", chainrule.full((2,), 7), torch.full((2,), 7)),
            ("full_bool", chainrule.full((2,), True), torch.full((2,), True)),
            ("full_float", chainrule.full((2,), 1.5), torch.full((2,), 1.5)),
            ("full_like", chainrule.full_like(chainrule.arange(3), 2.7),
             torch.full_like(torch.arange(3), 2.7)),
            ("full_like_dtype", chainrule.full_like(chainrule.arange(3), 2.5, dtype="float64"),
             torch.full_like(torch.arange(3), 2.5, dtype=torch.float64)),
            ("zeros_like", chainrule.zeros_like(chainrule.ones(2), dtype="int64"),
             torch.zeros_like(torch.ones(2), dtype=torch.int64)),
            ("tril_indices", chainrule.tril_indices(3, 4, -1), torch.tril_indices(3, 4, -1)),
            ("tril_indices_far", chainrule.tril_indices(3, 4, 10), torch.tril_indices(3, 4, 10)),
            ("triu_indices", chainrule.triu_indices(3, 4, 1), torch.triu_indices(3, 4, 1)),
            ("triu_indices_neg", chainrule.triu_indices(3, 3, -5), torch.triu_indices(3, 3, -5)),
            ("triu_indices_empty", chainrule.triu_indices(0, 0), torch.triu_indices(0, 0)),
            ("tril_indices_int32", chainrule.tril_indices(3, 3, dtype="int32"),
             torch.tril_indices(3, 3, dtype=torch.int32))]:
        _same(ours, theirs)
    assert chainrule.empty(2, 3).shape == (2, 3) and chainrule.empty(()).shape == ()
    assert chainrule.empty((2, 3), dtype="float64").dtype == np.float64
    assert chainrule.empty_like(chainrule.arange(3)).dtype == np.int64
    x = chainrule.zeros(2, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    assert chainrule.empty_like(x, requires_grad=True).requires_grad
    with pytest.raises(DTypeError):
        chainrule.zeros(2, dtype="int64", requires_grad=True)
    with pytest.raises(ArgumentError, match="negative"):
        chainrule.empty(2, -1)
    with pytest.raises(ArgumentTypeError, match="sequence of ints"):
        chainrule.ones(2.5)
    with pytest.raises(ArgumentError, match="non-negative"):
        chainrule.tril_indices(-1, 3)


FLOAT_VALUES = [0.0, -0.0, 1.5, -2.25, 1e-45, 3.4e38, 1e300, float("inf"), float("-inf"),
                float("nan")]
FLOAT_DTYPES = [None, "float32", "float64", "float16", "bfloat16", "int64", "int8", "uint8",
                "bool", np.float64, np.dtype("float32")]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_tensor_of_a_python_float_is_the_general_conversion(dtype, default):
    """tensor(1.5) has a fast path of its own: the same dtype, value and fresh memory as the
    general conversion (``to_array``), under either default dtype; where NumPy cannot
    convert (inf, nan, 1e300 to an integer), a clear error, as PyTorch raises one."""
    chainrule.set_default_dtype(getattr(chainrule, default))
    try:
        wanted = getattr(chainrule, dtype) if isinstance(dtype, str) else dtype
        for value in FLOAT_VALUES:
            with np.errstate(all="ignore"):
                try:
                    general = to_array(value, wanted)
                except (OverflowError, ValueError):
                    with pytest.raises(ArgumentError, match="cannot be converted to .* without "
                                       "overflow"):
                        chainrule.tensor(value, dtype=wanted)
                    continue
                fast = chainrule.tensor(value, dtype=wanted)
            assert fast.dtype == general.dtype and fast.shape == ()
            np.testing.assert_array_equal(fast.numpy(), general)
            assert fast._data.flags.owndata and fast._data.flags.writeable
            assert fast.grad_fn is None and not fast.requires_grad
    finally:
        chainrule.set_default_dtype(chainrule.float32)


def test_tensor_of_a_python_float_name_grad_and_errors(torch):
    w = chainrule.tensor(2.0, requires_grad=True, name="w")
    assert (w.name, w.requires_grad, w.is_leaf, w.dtype) == ("w", True, True, np.float32)
    assert torch.tensor(2.0, requires_grad=True).dtype == torch.float32
    with pytest.raises(DTypeError, match="only floating-point"):
        chainrule.tensor(2.0, dtype=chainrule.int64, requires_grad=True)
    with pytest.raises(DTypeError, match="unsupported dtype complex64"):
        chainrule.tensor(2.0, dtype="complex64")
    a, b = chainrule.tensor(1.0), chainrule.tensor(1.0)
    assert not np.shares_memory(a.numpy(), b.numpy())
