"""DLPack and NumPy's array protocols: zero-copy exchange with PyTorch, NumPy and JAX, what
NumPy functions do to a tensor (held against torch 2.13), and from_numpy."""
import numpy as np
import pytest

import chainrule
from chainrule.errors import (ArgumentError, ArgumentTypeError, DLPackError, DTypeError,
                              GraphError, ReadOnlyError)

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
          "uint16", "uint32", "uint64", "bool"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def address(t):
    """Where a chainrule tensor's first element lives."""
    return t.numpy().__array_interface__["data"][0]


def values(dtype, shape=(2, 3)):
    return (np.arange(int(np.prod(shape))) % 2).astype(dtype).reshape(shape) \
        if dtype == "bool" else np.arange(int(np.prod(shape))).astype(dtype).reshape(shape)


# ------------------------------------------------------------------ PyTorch
@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_with_torch_shares_memory_and_keeps_dtype(torch, dtype):
    theirs = torch.from_numpy(values(dtype))
    ours = chainrule.from_dlpack(theirs)
    assert address(ours) == theirs.data_ptr()
    assert ours.dtype == np.dtype(dtype) and ours.shape == tuple(theirs.shape)
    back = torch.from_dlpack(ours)
    assert back.data_ptr() == theirs.data_ptr() and back.dtype == theirs.dtype
    assert torch.equal(back, theirs)


@pytest.mark.torch
@pytest.mark.parametrize("view", ["transpose", "step", "column", "expand"])
def test_non_contiguous_tensors_are_shared_with_their_strides(torch, view):
    make = {"transpose": lambda x: x.t(), "step": lambda x: x[:, ::2],
            "column": lambda x: x[:, 1], "expand": lambda x: x[:1].expand(3, 4)}[view]
    base = torch.arange(12.0).reshape(3, 4)
    theirs = make(base)
    ours = chainrule.from_dlpack(theirs)
    assert address(ours) == theirs.data_ptr()
    assert ours._data.strides == tuple(s * 4 for s in theirs.stride())
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # and the other way: a chainrule view goes to torch with the same strides
    ours_view = make(chainrule.arange(12.0).reshape(3, 4)) if view != "transpose" else \
        chainrule.arange(12.0).reshape(3, 4).T
    back = torch.from_dlpack(ours_view)
    assert back.data_ptr() == address(ours_view)
    assert tuple(s * 4 for s in back.stride()) == ours_view._data.strides
    np.testing.assert_array_equal(back.numpy(), ours_view.numpy())


@pytest.mark.torch
def test_zero_dimensional_tensors(torch):
    theirs = torch.tensor(2.5)
    ours = chainrule.from_dlpack(theirs)
    assert ours.shape == () and ours.item() == 2.5 and address(ours) == theirs.data_ptr()
    back = torch.from_dlpack(chainrule.tensor(3.5, dtype=chainrule.float64))
    assert back.shape == () and back.item() == 3.5 and back.dtype == torch.float64


@pytest.mark.torch
def test_an_in_place_change_is_seen_on_both_sides(torch):
    theirs = torch.zeros(3)
    ours = chainrule.from_dlpack(theirs)
    theirs.add_(1.0)
    assert ours.tolist() == [1.0, 1.0, 1.0]
    ours.mul_(3.0)
    assert theirs.tolist() == [3.0, 3.0, 3.0]
    exported = torch.from_dlpack(ours)
    exported[0] = -1.0
    assert ours[0].item() == -1.0


@pytest.mark.torch
def test_chainrule_version_counter_sees_changes_made_through_chainrule(torch):
    data = chainrule.from_dlpack(torch.ones(3))
    w = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * data).sum()                  # Mul saves data for w's gradient
    version = data._version
    data.add_(1.0)
    assert data._version == version + 1
    with pytest.raises(GraphError):
        loss.backward()


@pytest.mark.torch
def test_gradients_flow_through_an_imported_tensor(torch):
    start = np.array([[0.5, -1.0], [2.0, 0.25]])
    w = chainrule.from_dlpack(torch.from_numpy(start.copy())).requires_grad_()
    x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=chainrule.float64)
    (x @ w).tanh().sum().backward()
    theirs = torch.from_numpy(start.copy()).requires_grad_()
    (torch.from_numpy(x.numpy()) @ theirs).tanh().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)


@pytest.mark.torch
def test_a_tensor_that_requires_grad_is_refused_both_ways_as_torch_refuses(torch):
    with pytest.raises(BufferError, match="require"):
        torch.from_dlpack(torch.ones(2, requires_grad=True).__dlpack__())
    w = chainrule.ones(2, requires_grad=True)
    with pytest.raises(DLPackError, match="requires grad"):
        torch.from_dlpack(w)
    with pytest.raises(BufferError):                     # what consumers catch
        w.__dlpack__()
    detached = torch.from_dlpack(w.detach())
    assert detached.data_ptr() == address(w)
    with pytest.raises(DLPackError, match="require gradient"):
        chainrule.from_dlpack(torch.ones(2, requires_grad=True))


@pytest.mark.torch
def test_a_reversed_view_is_exported_as_a_copy(torch):
    # torch aborts the process on negative strides, so such a view goes out as a copy
    flipped = chainrule.arange(6.0).flip(0)
    assert flipped._data.strides[0] < 0
    assert torch.from_dlpack(flipped).tolist() == [5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    with pytest.raises(DLPackError, match="reversed"):
        flipped.__dlpack__(copy=False)


@pytest.mark.torch
def test_dlpack_device_and_protocol_arguments(torch):
    t = chainrule.ones(2)
    assert tuple(t.__dlpack_device__()) == tuple(torch.ones(2).__dlpack_device__()) == (1, 0)
    for options in ({}, {"stream": None}, {"stream": -1}, {"max_version": (1, 0)},
                    {"dl_device": (1, 0)}, {"copy": True}):
        assert torch.from_dlpack(_Producer(t, options)).tolist() == [1.0, 1.0]
    copied = torch.from_dlpack(t, copy=True)
    assert copied.data_ptr() != address(t)


class _Producer:
    """Calls the tensor's __dlpack__ with fixed arguments, whatever the consumer passes."""

    def __init__(self, tensor, options):
        self.tensor, self.options = tensor, options

    def __dlpack__(self, **ignored):
        return self.tensor.__dlpack__(**self.options)

    def __dlpack_device__(self):
        return self.tensor.__dlpack_device__()


@pytest.mark.torch
def test_a_legacy_capsule_and_bad_inputs(torch):
    capsule = torch.utils.dlpack.to_dlpack(torch.arange(3.0))
    assert chainrule.from_dlpack(capsule).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(DTypeError, match="bfloat16"):
        chainrule.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    with pytest.raises(DTypeError, match="complex64"):
        chainrule.from_dlpack(torch.ones(2, dtype=torch.complex64))
    with pytest.raises(ArgumentTypeError, match="list"):
        chainrule.from_dlpack([1.0, 2.0])
    with pytest.raises(ArgumentError, match="device"):
        chainrule.from_dlpack(torch.ones(2), device="cuda")


@pytest.mark.torch
def test_copy_true_gives_fresh_memory(torch):
    theirs = torch.ones(3)
    ours = chainrule.from_dlpack(theirs, copy=True)
    theirs.add_(1.0)
    assert ours.tolist() == [1.0, 1.0, 1.0] and address(ours) != theirs.data_ptr()


# ------------------------------------------------------------------ NumPy
def test_numpy_round_trip_shares_memory():
    array = np.arange(6.0).reshape(2, 3)[:, ::2]
    ours = chainrule.from_dlpack(array)
    assert np.shares_memory(ours.numpy(), array) and ours._data.strides == array.strides
    back = np.from_dlpack(ours)
    assert np.shares_memory(back, array)
    with pytest.raises(BufferError):
        np.from_dlpack(chainrule.ones(2, requires_grad=True))


def test_a_read_only_array_gives_a_tensor_that_refuses_in_place_changes():
    array = np.ones(3)
    array.flags.writeable = False
    t = chainrule.from_dlpack(array)
    assert np.shares_memory(t.numpy(), array)
    with pytest.raises(ReadOnlyError):
        t.add_(1.0)


def test_from_numpy_shares_memory_and_refuses_what_torch_refuses():
    array = np.zeros((2, 2), dtype=np.float64)
    t = chainrule.from_numpy(array)
    array[0, 0] = 4.0
    t[1, 1] = 5.0
    assert t.tolist() == [[4.0, 0.0], [0.0, 5.0]] and array[1, 1] == 5.0
    assert t.dtype == np.float64
    for dtype in DTYPES:
        assert chainrule.from_numpy(values(dtype)).dtype == np.dtype(dtype)
    assert chainrule.from_numpy(np.array(3.0)).shape == ()
    with pytest.raises(ArgumentTypeError, match="list"):
        chainrule.from_numpy([1.0, 2.0])
    with pytest.raises(ArgumentTypeError, match="float64"):
        chainrule.from_numpy(np.float64(1.0))             # a NumPy scalar, not an array
    with pytest.raises(ArgumentError, match="byte order"):
        chainrule.from_numpy(np.ones(2, dtype=">f4"))
    with pytest.raises(DTypeError, match="complex64"):
        chainrule.from_numpy(np.ones(2, dtype=np.complex64))
    with pytest.raises(DTypeError, match="object"):
        chainrule.from_numpy(np.array([1, "a"], dtype=object))


@pytest.mark.torch
def test_from_numpy_refusals_match_torch(torch):
    for bad in ([1.0], np.float64(1.0), np.ones(2, dtype=">f4"), np.ones(2, dtype=object)):
        with pytest.raises((TypeError, ValueError)):
            torch.from_numpy(bad)
        with pytest.raises((TypeError, ValueError)):
            chainrule.from_numpy(bad)


def test_from_numpy_takes_a_reversed_array_as_it_is():
    # torch refuses negative strides (its storage model); chainrule's flip makes them itself
    array = np.arange(4.0)[::-1]
    t = chainrule.from_numpy(array)
    assert np.shares_memory(t.numpy(), array) and t.tolist() == [3.0, 2.0, 1.0, 0.0]


# ------------------------------------------------------------------ NumPy's array protocols
def _compare(ours, theirs):
    """Same kind of result (tensor or ndarray), dtype and values as torch's."""
    import torch
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, chainrule.Tensor), type(ours)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    else:
        assert type(ours) is type(theirs)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


NUMPY_CALLS = {
    "np.exp(t)": lambda lib, t, a: np.exp(t),
    "np.add(a, t)": lambda lib, t, a: np.add(a, t),
    "t + a": lambda lib, t, a: t + a,
    "np.asarray(t)": lambda lib, t, a: np.asarray(t),
    "np.maximum(t, a)": lambda lib, t, a: np.maximum(t, a),
    "np.sqrt(int t)": lambda lib, t, a: np.sqrt(lib.tensor([1, 4])),
    "np.float64(2) * t": lambda lib, t, a: np.float64(2.0) * t,
    "np.matmul(a, t)": lambda lib, t, a: np.matmul(a, t),
    "np.exp(0-d t)": lambda lib, t, a: np.exp(t[0]),
    "np.add.reduce(t)": lambda lib, t, a: np.add.reduce(t),
    "np.where(t > 1, t, 0)": lambda lib, t, a: np.where(t > 1, t, 0),
    "np.stack([t, t])": lambda lib, t, a: np.stack([t, t]),
    "a == t": lambda lib, t, a: a == t,
}


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:__array_wrap__ must accept:DeprecationWarning")  # torch's
@pytest.mark.parametrize("call", list(NUMPY_CALLS))
def test_numpy_functions_on_a_tensor_do_what_they_do_on_a_torch_tensor(torch, call):
    a = np.array([1.0, 2.0, 3.0])
    fn = NUMPY_CALLS[call]
    _compare(fn(chainrule, chainrule.tensor([1.0, 2.0, 3.0]), a),
             fn(torch, torch.tensor([1.0, 2.0, 3.0]), a))


@pytest.mark.torch
def test_where_torch_raises_by_accident_chainrule_gives_the_tensor(torch):
    # torch's reflected operators return NotImplemented for arrays, so `array + tensor` is a
    # TypeError there; chainrule's give what `tensor + array` gives (docs/pytorch.md)
    a, t = np.array([1.0, 2.0, 3.0]), chainrule.tensor([1.0, 2.0, 3.0])
    for op in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x @ y,
               lambda x, y: x < y):
        with pytest.raises(TypeError):
            op(a, torch.tensor([1.0, 2.0, 3.0]))
        ours = op(a, t)
        assert isinstance(ours, chainrule.Tensor)
        np.testing.assert_array_equal(ours.numpy(), op(a, t.numpy()))


@pytest.mark.torch
def test_numpy_reductions_on_a_tensor_raise_as_in_torch(torch):
    for reduce in (np.sum, np.mean):
        with pytest.raises(TypeError):
            reduce(torch.ones(3))
        with pytest.raises(TypeError):
            reduce(chainrule.ones(3))


@pytest.mark.torch
def test_a_ufunc_on_a_tensor_that_requires_grad_is_refused(torch):
    with pytest.raises(RuntimeError):
        np.exp(torch.ones(2, requires_grad=True))
    w = chainrule.ones(2, requires_grad=True)
    with pytest.raises(GraphError, match="chainrule.exp"):
        np.exp(w)
    assert np.exp(w.detach()).tolist() == pytest.approx([np.e, np.e])
    with chainrule.no_grad():
        assert isinstance(np.exp(w), chainrule.Tensor)


def test_asarray_honours_numpy2_copy_argument():
    t = chainrule.tensor([1.0, 2.0])
    assert np.shares_memory(np.asarray(t), t.numpy())
    assert np.shares_memory(np.asarray(t, copy=False), t.numpy())
    assert not np.shares_memory(np.array(t, copy=True), t.numpy())
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, dtype=np.float64, copy=False)
    assert np.asarray(chainrule.ones(2, requires_grad=True)).tolist() == [1.0, 1.0]


def test_an_in_place_numpy_ufunc_writes_into_the_array():
    t = chainrule.tensor([1.0, 2.0])
    out = np.zeros(2, dtype=np.float32)
    assert np.exp(t, out=out) is out
    np.add(t.numpy(), 1.0, out=t.numpy())
    assert t.tolist() == [2.0, 3.0]


# ------------------------------------------------------------------ JAX
def test_round_trip_with_jax():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    theirs = jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3)
    ours = chainrule.from_dlpack(theirs)
    assert address(ours) == theirs.unsafe_buffer_pointer()
    assert ours.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(ReadOnlyError):                    # JAX arrays are immutable
        ours.add_(1.0)
    w = ours.clone().requires_grad_()
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), 2 * np.asarray(theirs))
    # XLA shares only 64-byte aligned memory (NumPy aligns to 16): JAX copies the rest
    out = chainrule.from_numpy(_aligned(4, 64)).reshape(2, 2)
    out.copy_(chainrule.arange(4.0).reshape(2, 2))
    back = jnp.from_dlpack(out)
    assert back.unsafe_buffer_pointer() == address(out)
    np.testing.assert_array_equal(np.asarray(back), out.numpy())
    unaligned = chainrule.from_numpy(_aligned(5, 64)[1:])
    assert np.asarray(jnp.from_dlpack(unaligned)).tolist() == [0.0] * 4
    scalar = chainrule.from_dlpack(jnp.float32(1.5))
    assert scalar.shape == () and scalar.item() == 1.5
    for dtype in ("float32", "int32", "int8", "uint8", "bool"):
        x = jnp.zeros(3, dtype=dtype)
        assert chainrule.from_dlpack(x).dtype == np.dtype(dtype)
        assert jnp.from_dlpack(chainrule.zeros(3, dtype=np.dtype(dtype))).dtype == dtype


def _aligned(n, alignment):
    """n float32 zeros whose first element sits on an ``alignment``-byte boundary."""
    raw = np.zeros(n + alignment // 4, dtype=np.float32)
    skip = (-raw.__array_interface__["data"][0] % alignment) // 4
    return raw[skip:skip + n]
