"""PyTorch's indexing rule (issue 19.8): an int is a basic index (a select) applied before the
tensor indices, so ``x[0, :, idx]`` keeps the sliced dimension first where NumPy moves the
advanced one first. Many index combinations are compared with torch: reads, writes and
gradients of both."""
import numpy as np
import pytest

import chainrule

SHAPE = (3, 4, 5)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _random_index(rng, ndim):
    """A random index mixing ints, slices, None, Ellipsis, int arrays, masks and bools."""
    parts, used, has_ellipsis = [], 0, False
    for _ in range(int(rng.integers(1, ndim + 2))):
        kind = rng.choice(["int", "slice", "none", "ellipsis", "array", "array2d", "mask",
                           "bool", "tensor0d"], p=[.2, .2, .08, .07, .2, .07, .06, .05, .07])
        if kind in ("int", "slice", "array", "array2d", "mask", "tensor0d") and used >= ndim:
            continue
        if kind == "ellipsis":
            if has_ellipsis:
                continue
            has_ellipsis = True
        parts.append(kind)
        used += kind in ("int", "slice", "array", "array2d", "mask", "tensor0d")
    return parts


def _build(parts, shape, rng, unique=False):
    """The index as (for chainrule, for torch), with the sizes its parts meet."""
    explicit = sum(p in ("int", "slice", "array", "array2d", "mask", "tensor0d") for p in parts)
    dim, ours, theirs = 0, [], []
    import torch
    for p in parts:
        if p == "ellipsis":
            dim += len(shape) - explicit
            ours.append(Ellipsis)
            theirs.append(Ellipsis)
            continue
        if p in ("none", "bool"):
            value = None if p == "none" else bool(rng.integers(0, 2))
            ours.append(value)
            theirs.append(value)
            continue
        n = shape[dim]
        dim += 1
        if p == "int":
            value = int(rng.integers(-n, n))
            ours.append(value)
            theirs.append(value)
        elif p == "tensor0d":
            value = int(rng.integers(0, n))
            ours.append(chainrule.tensor(value))
            theirs.append(torch.tensor(value))
        elif p == "slice":
            start = int(rng.integers(-n, n))
            stop = int(rng.integers(-n, n + 1))
            value = slice(start, stop, int(rng.integers(1, 3)))
            ours.append(value)
            theirs.append(value)
        elif p == "mask":
            mask = rng.integers(0, 2, size=n).astype(bool)
            ours.append(chainrule.tensor(mask))
            theirs.append(torch.tensor(mask))
        else:
            size = (2,) if p == "array" else (2, 1)
            if unique:
                values = rng.permutation(n)[:2].reshape(size) if n >= 2 else \
                    np.zeros(size, dtype=np.int64)
            else:
                values = rng.integers(-n, n, size=size)
            ours.append(chainrule.tensor(values))
            theirs.append(torch.tensor(values))
    return tuple(ours), tuple(theirs)


def _torch_result(fn):
    try:
        return fn(), None
    except (IndexError, RuntimeError, ValueError, TypeError) as error:
        return None, error


def test_reads_and_gradients_match_torch_over_many_indices(torch):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(SHAPE)
    compared = 0
    for _ in range(600):
        ours, theirs = _build(_random_index(rng, len(SHAPE)), SHAPE, rng)
        t = torch.tensor(data, requires_grad=True)
        expected, error = _torch_result(lambda: t[theirs])
        x = chainrule.tensor(data, requires_grad=True)
        if error is not None:
            with pytest.raises((IndexError, ValueError, TypeError)):
                x[ours]
            continue
        got = x[ours]
        assert got.shape == tuple(expected.shape), (theirs, got.shape, tuple(expected.shape))
        np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
        weights = rng.standard_normal(got.shape)
        if got.numel():
            (got * chainrule.tensor(weights)).sum().backward()
            (expected * torch.tensor(weights)).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), err_msg=str(theirs))
        compared += 1
    assert compared > 300


def test_writes_and_their_gradients_match_torch(torch):
    rng = np.random.default_rng(1)
    data = rng.standard_normal(SHAPE)
    compared = 0
    for _ in range(400):
        ours, theirs = _build(_random_index(rng, len(SHAPE)), SHAPE, rng, unique=True)
        try:
            target_shape = tuple(torch.tensor(data)[theirs].shape)
        except (IndexError, RuntimeError, ValueError, TypeError):
            continue
        if any(isinstance(i, torch.Tensor) and i.dtype != torch.bool and i.ndim == 2
               for i in theirs):
            continue                         # a (2, 1) array broadcast writes twice per slot
        value = rng.standard_normal(target_shape)
        leaf, torch_leaf = chainrule.tensor(data, requires_grad=True), torch.tensor(
            data, requires_grad=True)
        v, tv = chainrule.tensor(value, requires_grad=True), torch.tensor(
            value, requires_grad=True)
        y, ty = leaf * 1.0, torch_leaf * 1.0
        y[ours] = v * 2.0
        ty[theirs] = tv * 2.0
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy(), str(theirs))
        weights = rng.standard_normal(SHAPE)
        (y * chainrule.tensor(weights)).sum().backward()
        (ty * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(leaf.grad.numpy(), torch_leaf.grad.numpy(), err_msg=str(theirs))
        expected_v = np.zeros(value.shape) if tv.grad is None else tv.grad.numpy()
        np.testing.assert_allclose(v.grad.numpy(), expected_v, err_msg=str(theirs))
        plain, torch_plain = chainrule.tensor(data), torch.tensor(data)
        plain[ours] = chainrule.tensor(value)
        torch_plain[theirs] = torch.tensor(value)
        np.testing.assert_array_equal(plain.numpy(), torch_plain.numpy(), str(theirs))
        compared += 1
    assert compared > 150


CASES = [
    (lambda idx: (0, slice(None), idx), (4, 2)),             # NumPy: (2, 4)
    (lambda idx: (slice(None), 0, idx), (3, 2)),
    (lambda idx: (idx, slice(None), 0), (2, 4)),
    (lambda idx: (0, Ellipsis, idx), (4, 2)),
    (lambda idx: (0, None, idx), (1, 4, 2) if False else (1, 2, 5)),
    (lambda idx: (idx, 0, idx), (2,)),
    (lambda idx: (1, idx, slice(1, 3)), (2, 2)),
]


@pytest.mark.parametrize("index", range(len(CASES)))
def test_an_int_then_a_slice_then_a_tensor_keeps_torch_order(torch, index):
    make_index, _ = CASES[index]
    data = np.arange(60.0).reshape(SHAPE)
    ours = chainrule.tensor(data)[make_index(chainrule.tensor([1, 0]))]
    theirs = torch.tensor(data)[make_index(torch.tensor([1, 0]))]
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_the_issue_example():
    x = chainrule.arange(60.0).reshape(3, 4, 5)
    idx = chainrule.tensor([0, 2, 4])
    assert x[0, :, idx].shape == (4, 3)                      # NumPy would give (3, 4)
    np.testing.assert_array_equal(x[0, :, idx].numpy(), x.numpy()[0][:, [0, 2, 4]])


def test_a_0d_integer_tensor_selects_a_view():
    x = chainrule.arange(6.0).reshape(2, 3)
    row = x[chainrule.tensor(1)]
    x.add_(1.0)
    assert row.tolist() == [4.0, 5.0, 6.0]
