"""Python numbers that do not fit an integer tensor's dtype, as PyTorch treats them: the
arithmetic operators wrap them around (``int8_tensor + 300`` adds 44), fill values, clamp
bounds, where values, integer exponents and alpha refuse them (PyTorch's RuntimeError is
chainrule's ArgumentError); beyond 64 bits they are refused everywhere. Also matmul's batch
dimensions and Linear on empty inputs (found by the error-catalogue fuzz)."""
import numpy as np
import pytest

import chainrule
from chainrule.errors import ArgumentError, ShapeError


def _cases(lib):
    t = lib.tensor([1, 44, -100], dtype=lib.int8 if lib is not chainrule else "int8")
    u = lib.tensor([1, 44, 200], dtype=lib.uint8 if lib is not chainrule else "uint8")
    mask = lib.tensor([True, False, False])
    return {
        "lt": lambda: t < 300, "eq": lambda: t == 300, "gt": lambda: t > -200,
        "add": lambda: t + 300, "radd": lambda: 300 + t, "sub": lambda: t - 300,
        "rsub": lambda: 300 - t, "mul": lambda: t * 300, "floordiv": lambda: t // 300,
        "truediv": lambda: t / 300, "remainder": lambda: t % 300, "and": lambda: t & 300,
        "rpow": lambda: 300 ** t, "shift": lambda: t << 300, "fmod": lambda: lib.fmod(t, 300),
        "iadd": lambda: t.clone().__iadd__(300), "uint8 - 300": lambda: u - 300,
        "uint8 * -1": lambda: u * -1, "uint8 < -1": lambda: u < -1,
        "int64 + 2**63": lambda: lib.ones(2, dtype=lib.int64) + 2**63,
        "clamp": lambda: lib.clamp(t, min=-300, max=300), "pow": lambda: lib.pow(t, 300),
        "where": lambda: lib.where(t > 0, t, 300), "fill_": lambda: t.clone().fill_(300),
        "setitem": lambda: t.clone().__setitem__(0, 300),
        "masked_fill": lambda: t.masked_fill(mask, 300),
        "index_fill": lambda: t.index_fill(0, lib.tensor([0]), 300),
        "full_like": lambda: lib.full_like(t, 300),
        "add alpha": lambda: lib.add(t, t, alpha=300),
        "sub alpha": lambda: lib.sub(t, t, alpha=300),
    }


def test_out_of_range_numbers_meet_integer_tensors_as_in_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _cases(chainrule), _cases(torch)
    for name, call in theirs.items():
        try:
            expected = call().numpy()
        except RuntimeError:                         # "cannot be converted ... overflow"
            with pytest.raises(ArgumentError, match="without overflow"):
                ours[name]()
            continue
        got = ours[name]().numpy()
        assert got.dtype == expected.dtype, name
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=name)


def test_numbers_beyond_64_bits_are_refused():
    with pytest.raises(ArgumentError, match="does not fit in 64 bits"):
        chainrule.ones(2, dtype="int8") + 2**70


def test_matmul_batch_dimensions_that_do_not_broadcast():
    with pytest.raises(ShapeError, match=r"batch dimensions \(4,\) and \(3,\)"):
        chainrule.ones(4, 3, 3) @ chainrule.ones(3, 3, 2)
    assert (chainrule.ones(4, 1, 2, 3) @ chainrule.ones(5, 3, 2)).shape == (4, 5, 2, 2)


@pytest.mark.parametrize("shape", [(0, 0, 3), (2, 0, 3), (0, 3)])
def test_linear_on_an_empty_input(shape):
    torch = pytest.importorskip("torch")
    layer = chainrule.nn.Linear(3, 2)
    x = chainrule.ones(*shape, requires_grad=True)
    y = layer(x)
    assert y.shape == tuple(torch.nn.Linear(3, 2)(torch.ones(*shape)).shape)
    y.sum().backward()
    assert x.grad.shape == shape and layer.weight.grad.abs().sum().item() == 0.0
