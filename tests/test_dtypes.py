"""Dtypes by PyTorch's names, against torch 2.13: every dtype name chainrule supports,
bfloat16 (ml_dtypes) precision, finfo/iinfo, the default dtype, promotion tables, the legacy
tensor types, memory formats and the Module casts."""
import numpy
import pytest

import chainrule
from chainrule import nn
from chainrule.errors import ArgumentError, DTypeError, ShapeError


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def default_dtype():
    """Whatever a test sets as the default dtype is put back."""
    yield
    chainrule.set_default_dtype(chainrule.float32)


#: every torch dtype name chainrule has (aliases included); complex and float8 are not held
NAMES = ["float16", "half", "bfloat16", "float32", "float", "float64", "double", "uint8",
         "uint16", "uint32", "uint64", "int8", "int16", "short", "int32", "int", "int64",
         "long", "bool"]
FLOATING = ["float16", "bfloat16", "float32", "float64"]
INTEGER = ["uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64"]
LIMITED = {"uint16", "uint32", "uint64"}        # torch promotes these with floats, themselves


def _torch_name(dtype):
    return str(dtype).removeprefix("torch.")


@pytest.mark.parametrize("name", NAMES)
def test_every_dtype_name(torch, name):
    mine, theirs = getattr(chainrule, name), getattr(torch, name)
    x, t = chainrule.zeros(2, dtype=mine), torch.zeros(2, dtype=theirs)
    assert chainrule.dtypes._name(x.dtype) == _torch_name(t.dtype)
    assert (x.element_size(), x.is_floating_point(), x.is_signed(), x.is_complex()) == \
        (t.element_size(), t.is_floating_point(), t.is_signed(), t.is_complex())
    assert x.type() == t.type()
    assert chainrule.dtypes.as_dtype(name) == mine          # names work as dtype=


def test_torch_dtype_names_chainrule_leaves_out(torch):
    """Complex, float8 and quantized dtypes are not held (docs/pytorch.md)."""
    for name in ("complex64", "float8_e4m3fn", "qint8"):
        assert hasattr(torch, name) and not hasattr(chainrule, name)


# ---------------------------------------------------------------- bfloat16

def _pair(torch, shape, seed):
    values = numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)
    return chainrule.tensor(values).bfloat16(), torch.tensor(values).bfloat16()


def _same(mine, theirs):
    assert chainrule.dtypes._name(mine.dtype) == _torch_name(theirs.dtype)
    numpy.testing.assert_array_equal(mine.float().numpy(), theirs.float().numpy())


#: bfloat16 ops whose result equals PyTorch's bit for bit: elementwise ops round once from
#: float32; sum and matmul accumulate in float32 and round at the end, as PyTorch does
EXACT = {
    "add": lambda a, b, m: a + b,
    "sub": lambda a, b, m: a - b,
    "mul": lambda a, b, m: a * b,
    "div": lambda a, b, m: a / (b.abs() + 1),
    "mul by 2.5": lambda a, b, m: a * 2.5,
    "exp": lambda a, b, m: a.exp(),
    "sqrt": lambda a, b, m: a.abs().sqrt(),
    "tanh": lambda a, b, m: a.tanh(),
    "relu": lambda a, b, m: m.nn.functional.relu(a),
    "sum": lambda a, b, m: a.sum(),
    "sum(dim)": lambda a, b, m: a.sum(1),
    "matmul": lambda a, b, m: a @ b.T,
    "linear": lambda a, b, m: m.nn.functional.linear(a, b),
    "max": lambda a, b, m: a.amax(1),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_bfloat16_matches_torch_exactly(torch, name):
    (a, ta), (b, tb) = _pair(torch, (16, 300), 0), _pair(torch, (8, 300), 1)
    if name in ("add", "sub", "mul", "div"):
        b, tb = _pair(torch, (16, 300), 1)
    _same(EXACT[name](a, b, chainrule), EXACT[name](ta, tb, torch))


def test_bfloat16_is_stored_as_bfloat16_and_promotes_as_torch(torch):
    a, ta = _pair(torch, (4,), 0)
    assert a._data.dtype.itemsize == 2 and a.dtype == chainrule.bfloat16
    for other in ("float16", "float32", "float64", "int64", "bool"):
        mine = a + chainrule.ones(4, dtype=getattr(chainrule, other))
        theirs = ta + torch.ones(4, dtype=getattr(torch, other))
        assert chainrule.dtypes._name(mine.dtype) == _torch_name(theirs.dtype), other


def test_bfloat16_gradients_match_torch(torch):
    a, ta = _pair(torch, (32, 20), 2)
    a.requires_grad_(), ta.requires_grad_()
    (a.exp() * a).sum().backward()
    (ta.exp() * ta).sum().backward()
    _same(a.grad, ta.grad)


def test_bfloat16_sum_accumulates_in_float32():
    """4096 ones: a bfloat16 running sum would stop at 256 (its step there is 2)."""
    assert chainrule.ones(4096, dtype=chainrule.bfloat16).sum().item() == 4096.0


def test_bfloat16_repr_and_rounding():
    x = chainrule.tensor([1.0, 1.00390625, 3.14159], dtype=chainrule.bfloat16)
    assert x.tolist() == [1.0, 1.0, 3.140625]       # round to nearest even, 8 bits
    assert repr(chainrule.ones(2, dtype=chainrule.bfloat16)) == \
        "tensor([1., 1.], dtype=bfloat16)"


# ---------------------------------------------------------------- finfo, iinfo

@pytest.mark.parametrize("name", FLOATING)
def test_finfo_matches_torch(torch, name):
    mine, theirs = chainrule.finfo(getattr(chainrule, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "dtype"):
        assert getattr(mine, field) == getattr(theirs, field), field
    assert mine.resolution == pytest.approx(theirs.resolution, rel=0.01)


def test_finfo_default_is_the_default_dtype(torch, default_dtype):
    assert chainrule.finfo().eps == torch.finfo().eps
    chainrule.set_default_dtype(chainrule.float64)
    assert chainrule.finfo().bits == 64


@pytest.mark.parametrize("name", INTEGER)
def test_iinfo_matches_torch(torch, name):
    mine, theirs = chainrule.iinfo(getattr(chainrule, name)), torch.iinfo(getattr(torch, name))
    assert (mine.bits, mine.min, mine.max, mine.dtype) == \
        (theirs.bits, theirs.min, theirs.max, theirs.dtype)


def test_info_errors():
    with pytest.raises(DTypeError, match="iinfo"):
        chainrule.finfo(chainrule.int32)
    with pytest.raises(DTypeError, match="finfo"):
        chainrule.iinfo(chainrule.float32)
    with pytest.raises(DTypeError, match="bool"):
        chainrule.iinfo(chainrule.bool)


# ---------------------------------------------------------------- the default dtype

@pytest.mark.parametrize("name", FLOATING)
def test_set_default_dtype(torch, default_dtype, name):
    chainrule.set_default_dtype(getattr(chainrule, name))
    torch.set_default_dtype(getattr(torch, name))
    try:
        made = {
            "get": lambda m: m.get_default_dtype(),
            "zeros": lambda m: m.zeros(1).dtype,
            "rand": lambda m: m.rand(1).dtype,
            "tensor": lambda m: m.tensor(1.5).dtype,
            "full": lambda m: m.full((1,), 1.5).dtype,
            "arange float": lambda m: m.arange(0, 1, 0.5).dtype,
            "arange int": lambda m: m.arange(3).dtype,
            "int / 2": lambda m: (m.arange(3) / 2).dtype,
            "int * 1.5": lambda m: (m.arange(3) * 1.5).dtype,
            "Tensor(2)": lambda m: m.Tensor(2).dtype,
            "FloatTensor": lambda m: m.FloatTensor(2).dtype,
            "Linear": lambda m: m.nn.Linear(1, 1).weight.dtype,
        }
        for what, make in made.items():
            assert chainrule.dtypes._name(make(chainrule)) == _torch_name(make(torch)), what
    finally:
        torch.set_default_dtype(torch.float32)


def test_set_default_dtype_refuses_integers(default_dtype):
    for dtype in (chainrule.int64, chainrule.bool):
        with pytest.raises(DTypeError, match="floating"):
            chainrule.set_default_dtype(dtype)
    chainrule.set_default_tensor_type("torch.DoubleTensor")
    assert chainrule.get_default_dtype() == chainrule.float64
    chainrule.set_default_tensor_type(chainrule.FloatTensor)
    assert chainrule.get_default_dtype() == chainrule.float32
    with pytest.raises(DTypeError):
        chainrule.set_default_tensor_type("torch.LongTensor")
    with pytest.raises(ArgumentError, match="CUDA"):
        chainrule.set_default_tensor_type("torch.cuda.FloatTensor")


# ---------------------------------------------------------------- promotion

def test_promote_types_table_matches_torch(torch):
    for a in FLOATING + INTEGER + ["bool"]:
        for b in FLOATING + INTEGER + ["bool"]:
            try:
                expected = _torch_name(torch.promote_types(getattr(torch, a), getattr(torch, b)))
            except RuntimeError:
                assert a != b and (a in LIMITED or b in LIMITED)
                with pytest.raises(DTypeError, match="uint16, uint32, uint64"):
                    chainrule.promote_types(getattr(chainrule, a), getattr(chainrule, b))
                continue
            got = chainrule.promote_types(getattr(chainrule, a), getattr(chainrule, b))
            assert chainrule.dtypes._name(got) == expected, (a, b)


def test_can_cast_table_matches_torch(torch):
    for a in FLOATING + INTEGER + ["bool"]:
        for b in FLOATING + INTEGER + ["bool"]:
            assert chainrule.can_cast(getattr(chainrule, a), getattr(chainrule, b)) == \
                torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


def test_result_type_matches_torch(torch):
    cases = [("ones int32", 2.5), ("0-d float64", "ones float16"), (2, 2.5), (2, 3),
             (True, "ones bool"), ("ones uint8", -1), ("ones int8", "0-d int64"),
             ("ones bfloat16", "0-d float64"), ("0-d int32", 1.5)]

    def operand(m, spec):
        if not isinstance(spec, str):
            return spec
        kind, name = spec.split()
        dtype = getattr(m, name)
        return m.ones(3, dtype=dtype) if kind == "ones" else m.tensor(1, dtype=dtype)
    for a, b in cases:
        mine = chainrule.result_type(operand(chainrule, a), operand(chainrule, b))
        theirs = torch.result_type(operand(torch, a), operand(torch, b))
        assert chainrule.dtypes._name(mine) == _torch_name(theirs), (a, b)


# ---------------------------------------------------------------- legacy tensor types

LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
          "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_types_match_torch(torch, name):
    mine, theirs = getattr(chainrule, name), getattr(torch, name)
    for args in ([[1, 0, 1]], [2, 3], [], [(2, 3)], [0]):
        x, t = mine(*args), theirs(*args)
        assert x.shape == tuple(t.shape) and x.type() == t.type() == f"torch.{name}", args
        assert chainrule.dtypes._name(x.dtype) == _torch_name(t.dtype)
    assert isinstance(x, mine) and isinstance(x, chainrule.Tensor)
    other = "LongTensor" if name != "LongTensor" else "FloatTensor"
    assert not isinstance(x, getattr(chainrule, other))
    with pytest.raises(ArgumentError, match="negative"):
        mine(2, -1)
    with pytest.raises(TypeError):
        mine(2.5)


def test_legacy_tensor_constructor(torch):
    assert chainrule.Tensor(2, 3).shape == (2, 3) and chainrule.Tensor().shape == (0,)
    for data in ([1, 2], (1, 2), [[1.5]]):
        assert chainrule.dtypes._name(chainrule.Tensor(data).dtype) == \
            _torch_name(torch.Tensor(data).dtype)
    with pytest.raises(ArgumentError, match="negative"):
        chainrule.Tensor(2, -3)


def test_type_casts(torch):
    x, t = chainrule.tensor([1.7, -2.2]), torch.tensor([1.7, -2.2])
    for target in ("torch.DoubleTensor", "torch.LongTensor", "torch.IntTensor"):
        mine, theirs = x.type(target), t.type(target)
        assert mine.type() == theirs.type() and mine.tolist() == pytest.approx(theirs.tolist())
    assert x.type(chainrule.LongTensor).tolist() == t.type(torch.LongTensor).tolist()
    assert x.type(chainrule.float64).dtype == chainrule.float64
    assert x.type(chainrule.FloatTensor) is x            # nothing to do: self, as torch
    assert t.type(torch.FloatTensor) is t


# ---------------------------------------------------------------- memory formats

def test_channels_last_strides_match_torch(torch):
    shape = (2, 3, 4, 5)
    x, t = chainrule.ones(*shape), torch.ones(*shape)
    fmt, tfmt = chainrule.channels_last, torch.channels_last
    forms = [
        lambda y, f, cf: y.contiguous(memory_format=f),
        lambda y, f, cf: y.clone(memory_format=f),
        lambda y, f, cf: y.to(memory_format=f),
        lambda y, f, cf: y.contiguous(memory_format=f).clone(),      # preserve_format
        lambda y, f, cf: y.contiguous(memory_format=f) * 2,
        lambda y, f, cf: y.contiguous(memory_format=f).contiguous(),
        lambda y, f, cf: y.contiguous(memory_format=f).clone(memory_format=cf),
    ]
    for index, form in enumerate(forms):
        mine, theirs = form(x, fmt, chainrule.contiguous_format), \
            form(t, tfmt, torch.contiguous_format)
        assert mine.stride() == theirs.stride(), index
        for f, tf in ((fmt, tfmt), (chainrule.contiguous_format, torch.contiguous_format)):
            assert mine.is_contiguous(memory_format=f) == theirs.is_contiguous(memory_format=tf)
    five = chainrule.ones(2, 3, 4, 5, 6).contiguous(memory_format=chainrule.channels_last_3d)
    assert five.stride() == torch.ones(2, 3, 4, 5, 6).contiguous(
        memory_format=torch.channels_last_3d).stride()


def test_memory_format_errors(torch):
    x = chainrule.ones(2, 3, 4)
    assert x.is_contiguous(memory_format=chainrule.channels_last) is False is \
        torch.ones(2, 3, 4).is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ShapeError, match="rank 4"):
        x.contiguous(memory_format=chainrule.channels_last)


def test_channels_last_keeps_values_and_gradients():
    x = chainrule.arange(24.0).reshape(1, 2, 3, 4).requires_grad_()
    y = x.contiguous(memory_format=chainrule.channels_last)
    assert y.tolist() == x.tolist()
    (y * y).sum().backward()
    assert x.grad.tolist() == (2 * x).tolist()


# ---------------------------------------------------------------- Module casts

def _model(m):
    model = m.nn.Sequential(m.nn.Conv2d(2, 3, 3), m.nn.BatchNorm2d(3))
    return model


@pytest.mark.parametrize("cast", ["half", "bfloat16", "double", "float"])
def test_module_casts_match_torch(torch, cast):
    mine, theirs = getattr(_model(chainrule), cast)(), getattr(_model(torch), cast)()
    for (name, p), (_, tp) in zip(mine.state_dict().items(), theirs.state_dict().items()):
        assert chainrule.dtypes._name(p.dtype) == _torch_name(tp.dtype), name
    # num_batches_tracked stays int64: integer buffers are not cast by float casts
    assert mine[1].num_batches_tracked.dtype == chainrule.int64


def test_module_type_casts_integer_buffers_too(torch):
    mine = _model(chainrule).type(chainrule.DoubleTensor)
    theirs = _model(torch).type(torch.DoubleTensor)
    assert mine[1].num_batches_tracked.dtype == chainrule.float64 == \
        getattr(numpy, _torch_name(theirs[1].num_batches_tracked.dtype))
    assert _model(chainrule).type("torch.HalfTensor")[0].weight.dtype == chainrule.float16


def test_module_to_dtype_keeps_parameters_and_refuses_integers():
    model = nn.Linear(3, 2)
    weight = model.weight
    assert model.to(chainrule.bfloat16) is model and model.weight is weight
    assert weight.dtype == chainrule.bfloat16 and weight.requires_grad
    out = model(chainrule.ones(4, 3, dtype=chainrule.bfloat16))
    assert out.dtype == chainrule.bfloat16
    out.sum().backward()
    assert weight.grad.dtype == chainrule.bfloat16
    with pytest.raises(DTypeError, match="floating point"):
        model.to(chainrule.int64)
    conv = nn.Conv2d(2, 4, 3).to(memory_format=chainrule.channels_last)
    assert conv.weight.is_contiguous(memory_format=chainrule.channels_last)
