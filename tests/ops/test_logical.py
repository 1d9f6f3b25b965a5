"""Tests, logical and bitwise ops (logical.py) against PyTorch: values and dtypes over every
pair of dtypes, edge values (nan, infinities, -0.0, shifts past the width), the operators
with their reflected and in-place forms, and the errors PyTorch raises."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule
from chainrule.errors import ArgumentError, ArgumentTypeError, DTypeError

INF, NAN = math.inf, math.nan
DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
FLOATS = np.array([0.0, -0.0, 1.5, -2.0, INF, -INF, NAN])


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _sample(dtype, seed=0, n=7):
    if dtype == "bool":
        return np.array([True, False, True, False, False, True, True][:n])
    if np.dtype(dtype).kind == "f":
        return FLOATS[:n].astype(dtype)
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    values = rng.integers(max(info.min, -100), min(info.max, 100), size=n)
    values[:2] = [0, min(info.max, 5)]
    return values.astype(dtype)


def _same_result(got, expected, what):
    if isinstance(expected, bool):
        assert got is expected, what
        return
    assert str(got.dtype) == str(expected.dtype).replace("torch.", ""), what
    np.testing.assert_array_equal(got.numpy(), expected.numpy(), err_msg=what)


def _compare(torch, ours, theirs, *arrays, what=""):
    try:
        expected = theirs(*[torch.from_numpy(np.asarray(a)) if isinstance(a, np.ndarray) else a
                            for a in arrays])
    except (RuntimeError, TypeError, NotImplementedError):
        with pytest.raises((DTypeError, ArgumentError, ArgumentTypeError)):
            ours(*[chainrule.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
        return
    got = ours(*[chainrule.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays])
    _same_result(got, expected, what)


UNARY = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "logical_not",
         "bitwise_not"]


@pytest.mark.torch
@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_tests_match_pytorch(torch, name, dtype):
    _compare(torch, getattr(chainrule, name), getattr(torch, name), _sample(dtype),
             what=f"{name} {dtype}")


BINARY = ["logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
          "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"]


@pytest.mark.torch
@pytest.mark.parametrize("name", BINARY)
@settings(max_examples=40, deadline=None)
@given(da=st.sampled_from(DTYPES), db=st.sampled_from(DTYPES + ["int", "bool_number"]),
       swap=st.booleans(), seed=st.integers(0, 100))
def test_binary_logical_and_bitwise_match_pytorch(name, da, db, swap, seed):
    torch = pytest.importorskip("torch")
    a = _sample(da, seed)
    b = {"int": 3, "bool_number": True}.get(db)
    b = _sample(db, seed + 1) if b is None else b
    if name.endswith("shift") and isinstance(b, np.ndarray) and b.dtype.kind in "iu":
        b = np.abs(b) % (8 * b.dtype.itemsize)        # shifts within the width here
    arrays = (b, a) if swap else (a, b)
    _compare(torch, getattr(chainrule, name), getattr(torch, name), *arrays,
             what=f"{name} {da} {db} swap={swap}")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
def test_shifts_past_the_width_and_negative_shifts_match_pytorch(torch, dtype):
    width = 8 * np.dtype(dtype).itemsize
    values = np.array([1, 5, -8, 8, 3, 2, -1][:7]).astype(dtype) if dtype != "uint8" else \
        np.array([1, 5, 255, 8, 3, 2, 128], dtype=dtype)
    shifts = np.array([0, 1, width - 1, width, width + 5, 3, 2]).astype(dtype)
    for name in ("bitwise_left_shift", "bitwise_right_shift"):
        _compare(torch, getattr(chainrule, name), getattr(torch, name), values, shifts,
                 what=f"{name} {dtype}")
    if dtype != "uint8":
        negative = np.array([-1, -2, -3, -70, -1, -5, -9]).astype(dtype)
        for name in ("bitwise_left_shift", "bitwise_right_shift"):
            _compare(torch, getattr(chainrule, name), getattr(torch, name), values, negative,
                     what=f"{name} {dtype} negative shifts")


@pytest.mark.torch
@settings(max_examples=30, deadline=None)
@given(pair=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 100), name=st.sampled_from(["logical_and", "bitwise_xor",
                                                       "isclose"]))
def test_binary_tests_broadcast_like_pytorch(pair, seed, name):
    torch = pytest.importorskip("torch")
    sa, sb = pair.input_shapes
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 3, size=sa), rng.integers(0, 3, size=sb)
    _compare(torch, getattr(chainrule, name), getattr(torch, name), np.asarray(a),
             np.asarray(b), what=name)


CLOSE = [
    (FLOATS, FLOATS[::-1].copy(), {}),
    (FLOATS, FLOATS, {"equal_nan": True}),
    (FLOATS, FLOATS + 1e-6, {}),
    (FLOATS, FLOATS + 1e-6, {"rtol": 0, "atol": 0}),
    (np.array([1.0, 2.0, 100.0]), np.array([1.001, 2.1, 101.0]), {"rtol": 0.01}),
    (np.array([1.0, 2.0]), np.array([1.05, 2.0]), {"rtol": 0, "atol": 0.1}),
    (np.array([100000000, 5]), np.array([100000001, 6]), {"rtol": 0.1}),
    (np.array([True, False]), np.array([True, True]), {}),
    (np.array([1.0, 1.001], dtype=np.float16), np.array([1.001, 1.0], dtype=np.float16), {}),
    (np.array([1.0, 1.0001], dtype=np.float32), np.array([1.0, 1.0], dtype=np.float32), {}),
]


@pytest.mark.torch
@pytest.mark.parametrize("case", range(len(CLOSE)))
def test_isclose_and_allclose_match_pytorch(torch, case):
    a, b, options = CLOSE[case]
    _compare(torch, lambda x, y: chainrule.isclose(x, y, **options),
             lambda x, y: torch.isclose(x, y, **options), a, b, what=f"isclose {case}")
    _compare(torch, lambda x, y: chainrule.allclose(x, y, **options),
             lambda x, y: torch.allclose(x, y, **options), a, b, what=f"allclose {case}")


@pytest.mark.torch
def test_isclose_refusals_match_pytorch(torch):
    f, i = np.array([1.0, 2.0]), np.array([1, 2])
    _compare(torch, chainrule.isclose, torch.isclose, f, i)
    _compare(torch, chainrule.isclose, torch.isclose, f, 2.0)
    with pytest.raises(ArgumentError, match="rtol must be greater than or equal to zero"):
        chainrule.isclose(chainrule.tensor(f), chainrule.tensor(f), rtol=-1)
    with pytest.raises(ArgumentError, match="atol must be greater than or equal to zero"):
        chainrule.allclose(chainrule.tensor(f), chainrule.tensor(f), atol=-1e-3)


EQUAL = [
    (np.array([1, 2]), np.array([1.0, 2.0])),
    (np.array([1.0, NAN]), np.array([1.0, NAN])),
    (np.ones(2), np.ones(1)),
    (np.ones((2, 2)), np.ones(2)),
    (np.array([True]), np.array([1])),
    (np.zeros((0, 3)), np.zeros((0, 3))),
    (np.array(3.0), np.array(3)),
    (np.array([0.0]), np.array([-0.0])),
]


@pytest.mark.torch
@pytest.mark.parametrize("case", range(len(EQUAL)))
def test_equal_matches_pytorch(torch, case):
    a, b = EQUAL[case]
    _compare(torch, chainrule.equal, torch.equal, a, b, what=f"equal {case}")


@pytest.mark.torch
def test_operators_reflected_and_inplace_forms_match_pytorch(torch):
    ints = np.array([12, -7, 0, 5])
    mask = np.array([True, False, True, False])
    cases = [
        lambda x, m: x & 10, lambda x, m: 10 & x, lambda x, m: x | 3, lambda x, m: 3 | x,
        lambda x, m: x ^ 6, lambda x, m: 6 ^ x, lambda x, m: ~x, lambda x, m: ~m,
        lambda x, m: m & True, lambda x, m: True ^ m, lambda x, m: m | ~m,
        lambda x, m: x << 2, lambda x, m: 2 << (x & 3), lambda x, m: x >> 1,
        lambda x, m: 100 >> (x & 3), lambda x, m: x & m, lambda x, m: m ^ x,
    ]
    for k, case in enumerate(cases):
        expected = case(torch.from_numpy(ints), torch.from_numpy(mask))
        got = case(chainrule.tensor(ints), chainrule.tensor(mask))
        _same_result(got, expected, f"operator case {k}")

    inplace = [
        ("__iand__", ints, 6), ("__ior__", ints, 6), ("__ixor__", ints, 6),
        ("__ilshift__", ints, 2), ("__irshift__", ints, 1), ("__iand__", mask, ~mask),
        ("__ior__", ints, mask), ("bitwise_and_", ints, 3), ("bitwise_not_", ints, None),
        ("logical_and_", np.array([1.0, 0.0, 2.0, 0.0]), np.array([1, 1, 0, 0])),
        ("logical_or_", ints, ints), ("logical_xor_", ints, mask), ("logical_not_", mask, None),
        ("bitwise_left_shift_", ints, 1), ("bitwise_right_shift_", ints, 1),
        ("bitwise_or_", mask, mask), ("bitwise_xor_", ints, 5),
    ]
    for name, target, other in inplace:
        def run(lib):
            t = (torch.from_numpy(target.copy()) if lib is torch else
                 chainrule.tensor(target.copy()))
            args = [] if other is None else [
                (torch.from_numpy(other) if lib is torch else chainrule.tensor(other))
                if isinstance(other, np.ndarray) else other]
            out = getattr(t, name)(*args)
            assert out is t, name
            return t
        _same_result(run(chainrule), run(torch), name)


def test_errors_name_the_op_and_the_dtype():
    f = chainrule.tensor([1.5])
    with pytest.raises(DTypeError, match="bitwise_and: needs integer or bool tensors, got "
                                         "float32"):
        f & f
    with pytest.raises(DTypeError, match=r"bitwise_not \(~\): only integer and bool"):
        ~f
    with pytest.raises(DTypeError, match="bitwise_left_shift: needs integer tensors, got "
                                         "bool"):
        chainrule.tensor([True]) << chainrule.tensor([True])
    with pytest.raises(ArgumentTypeError, match="logical_and\\(\\): argument 'other' must be "
                                                "a Tensor, not int"):
        chainrule.logical_and(f, 1)
    with pytest.raises(DTypeError, match="result cannot be stored in this bool tensor"):
        chainrule.tensor([True]).__iand__(chainrule.tensor([3]))


def test_value_tests_of_empty_and_zero_dimensional_tensors():
    empty = chainrule.zeros(0, 3)
    assert chainrule.isnan(empty).shape == (0, 3)
    assert chainrule.isclose(empty, empty).shape == (0, 3)
    assert chainrule.allclose(empty, empty) and chainrule.equal(empty, empty)
    scalar = chainrule.tensor(NAN)
    assert chainrule.isnan(scalar).shape == () and chainrule.isnan(scalar).item() is True
    assert (~chainrule.tensor(True)).item() is False
