"""SGD's update rounds each ``a + alpha * b`` once (a fused multiply-add), as PyTorch's
``add_(b, alpha=alpha)`` does: the same bits as PyTorch's SGD and as the exactly rounded rule;
the gradient is left alone; ``backend_helpers.add_scaled_`` keeps NumPy's two steps for the
arrays BLAS cannot take."""
from fractions import Fraction

import numpy as np
import pytest

import chainrule
from chainrule import backend_helpers, optim

SHAPES = [(7, 5), (5,), (3, 7, 2), ()]
OPTIONS = [dict(), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3),
           dict(momentum=0.9, nesterov=True), dict(weight_decay=0.01),
           dict(maximize=True), dict(momentum=0.5, weight_decay=0.1, maximize=True)]


def fused(a, alpha, b):
    """a + alpha * b computed exactly, rounded once to a's dtype (ties to even): the
    reference for a fused multiply-add (alpha is first rounded to the dtype, as PyTorch's
    alpha is)."""
    dtype = a.dtype.type
    alpha = Fraction(float(dtype(alpha)))
    out = np.empty_like(a)
    for i, (x, y) in enumerate(zip(a.reshape(-1), np.broadcast_to(b, a.shape).reshape(-1))):
        exact = Fraction(float(x)) + alpha * Fraction(float(y))
        near = dtype(float(exact))                    # within an ulp of the exact value
        candidates = [np.nextafter(near, dtype(-np.inf)), near, np.nextafter(near, dtype(np.inf))]
        distances = [abs(Fraction(float(c)) - exact) for c in candidates]
        best = min(distances)
        ties = [c for c, d in zip(candidates, distances) if d == best]
        out.reshape(-1)[i] = min(ties, key=lowest_bit)
    return out


def lowest_bit(value):
    """The last bit of a float's significand (0: even), for ties to even."""
    return int(np.frombuffer(value.tobytes(), np.uint8)[0]) & 1


def reference_sgd(params, grads, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    """PyTorch's _single_tensor_sgd, every add with alpha rounded once."""
    params = [p.copy() for p in params]
    buffers = [None] * len(params)
    for _ in range(steps):
        for i, (p, grad) in enumerate(zip(params, grads)):
            g = -grad if maximize else grad
            if weight_decay:
                g = fused(g, weight_decay, p)
            if momentum:
                if buffers[i] is None:
                    buffers[i] = g.copy()
                else:
                    buffers[i] = fused(buffers[i] * p.dtype.type(momentum), 1 - dampening, g)
                g = fused(g, momentum, buffers[i]) if nesterov else buffers[i]
            p[...] = fused(p, -lr, g)
    return params


def run_sgd(start, grads, steps, **options):
    params = [chainrule.tensor(p.copy(), requires_grad=True) for p in start]
    opt = optim.SGD(params, lr=0.1, **options)
    for _ in range(steps):
        for p, g in zip(params, grads):
            p.grad = chainrule.tensor(g)
        opt.step()
    for p, g in zip(params, grads):                     # the gradient is untouched
        np.testing.assert_array_equal(p.grad.numpy(), g)
    return [p.numpy() for p in params]


def start_and_grads(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return ([rng.standard_normal(s).astype(dtype) for s in SHAPES],
            [rng.standard_normal(s).astype(dtype) for s in SHAPES])


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_rounds_each_update_once(options, dtype):
    start, grads = start_and_grads(dtype)
    ours = run_sgd(start, grads, 3, **options)
    for p, e in zip(ours, reference_sgd(start, grads, 3, 0.1, **options)):
        np.testing.assert_array_equal(p, e)


@pytest.mark.torch
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_gives_pytorchs_bits(options, dtype):
    torch = pytest.importorskip("torch")
    start, grads = start_and_grads(dtype, seed=2)
    ours = run_sgd(start, grads, 4, **options)
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in start]
    opt = torch.optim.SGD(theirs, lr=0.1, **options)
    for _ in range(4):
        for p, g in zip(theirs, grads):
            p.grad = torch.tensor(g)
        opt.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b.detach().numpy())


@pytest.mark.parametrize("case", ["float16", "strided", "mixed dtypes", "reversed view",
                                  "overlapping runs"])
def test_add_scaled_keeps_numpys_two_steps_where_blas_cannot(case):
    rng = np.random.default_rng(3)
    target = rng.standard_normal((4, 6))
    values = rng.standard_normal((4, 6))
    if case == "float16":
        target, values = target.astype(np.float16), values.astype(np.float16)
    elif case == "strided":
        target = target[:, ::2]
        values = values[:, ::2]
    elif case == "mixed dtypes":
        values = values.astype(np.float32)
    elif case == "reversed view":
        values = target[:, ::-1]
    else:                               # two contiguous runs of one buffer, overlapping
        memory = rng.standard_normal(40)
        target, values = memory[:24].reshape(4, 6), memory[10:34].reshape(4, 6)
    expected = target + 0.25 * values
    got = backend_helpers.add_scaled_(target, 0.25, values)
    assert got is target
    np.testing.assert_array_equal(target, expected)


def test_add_scaled_is_blas_axpy_in_place():
    rng = np.random.default_rng(4)
    target, values = rng.standard_normal(1000), rng.standard_normal(1000)
    expected = fused(target.copy(), -0.3, values)
    address = target.ctypes.data
    backend_helpers.add_scaled_(target, -0.3, values)
    assert target.ctypes.data == address
    np.testing.assert_array_equal(target, expected)


def test_step_bumps_the_version_and_keeps_pytorch_state_entries():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    unused = chainrule.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w, unused], lr=0.5)
    before = w._counter().value
    (w * w).sum().backward()
    opt.step()
    assert w._counter().value == before + 1
    assert w.tolist() == [0.0, 0.0]
    assert opt.state_dict()["state"] == {0: {}}          # as PyTorch: an entry per stepped param


def test_sgd_matches_pytorch_over_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    start = [rng.standard_normal(s) for s in SHAPES[:3]]
    ours = [chainrule.tensor(p, requires_grad=True) for p in start]
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    opt, topt = optim.SGD(ours, lr=0.05), torch.optim.SGD(theirs, lr=0.05)
    for _ in range(3):
        opt.zero_grad(), topt.zero_grad()
        sum((p * p * p).sum() for p in ours).backward()
        sum((p * p * p).sum() for p in theirs).backward()
        opt.step(), topt.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_zero_grad_without_set_to_none_zeroes_in_place_as_pytorch():
    torch = pytest.importorskip("torch")
    ours = chainrule.tensor([1.0, 2.0], requires_grad=True)
    theirs = torch.tensor([1.0, 2.0], requires_grad=True)
    opt, topt = optim.SGD([ours], lr=0.1), torch.optim.SGD([theirs], lr=0.1)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    held, their_held = ours.grad, theirs.grad
    opt.zero_grad(set_to_none=False)
    topt.zero_grad(set_to_none=False)
    assert ours.grad is held and theirs.grad is their_held
    assert held.tolist() == their_held.tolist() == [0.0, 0.0]
    (ours * 3).sum().backward()                     # accumulates into the zeroed gradient
    (theirs * 3).sum().backward()
    assert held.tolist() == their_held.tolist() == [3.0, 3.0]
    opt.zero_grad()
    assert ours.grad is None


def test_zero_grad_replaces_a_recorded_gradient():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    recorded = w.grad
    assert recorded.grad_fn is not None
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert w.grad is not recorded and w.grad.tolist() == [0.0, 0.0]
    assert recorded.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("lr", [np.float32(0.25), np.float64(0.25), 0.25])
def test_a_numpy_scalar_learning_rate_steps_as_a_float(lr):
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    w.grad = chainrule.tensor([2.0, 4.0])
    optim.SGD([w], lr=lr).step()
    assert w.tolist() == [0.5, 1.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_add_scaled_rounds_once_at_every_length(dtype):
    """The tail past the BLAS kernel's last whole block (and past each thread's share of a
    long axpy) is where OpenBLAS's Haswell kernel multiplies and adds in two roundings:
    add_scaled_ must round once there too."""
    if not backend_helpers._find_numpy_axpy():
        pytest.skip("NumPy's BLAS here has no fused axpy: add_scaled_ takes two steps")
    rng = np.random.default_rng(8)
    for n in list(range(1, 70)) + [100, 1000]:
        target, values = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
        expected = fused(target, -0.3, values)
        backend_helpers.add_scaled_(target, -0.3, values)
        np.testing.assert_array_equal(target, expected, err_msg=f"length {n}")
    e = 2.0 ** -(np.finfo(dtype).nmant // 2 + 1)     # -1 + (1 + e)^2: only fused gives e^2
    for n in (10_001, 20_013, 100_003, 1_000_003):
        target, values = np.full(n, -1.0, dtype), np.full(n, 1 + e, dtype)
        backend_helpers.add_scaled_(target, 1 + e, values)
        assert (target == np.dtype(dtype).type(2 * e + e * e)).all(), f"length {n}"


def _fake_axpy(dtype, block):
    """An axpy of ctypes pointers, as BLAS's: fused (computed exactly in Fractions) on whole
    blocks, two roundings on the rest; block None: two roundings everywhere."""
    import ctypes

    def routine(n, alpha, x, incx, y, incy):
        kind = ctypes.c_float if dtype == np.float32 else ctypes.c_double
        xs = np.ctypeslib.as_array((kind * n).from_address(x))
        ys = np.ctypeslib.as_array((kind * n).from_address(y))
        whole = 0 if block is None else n - n % block
        ys[:whole] = fused(ys[:whole], alpha, xs[:whole])
        ys[whole:] += dtype(alpha) * xs[whole:]
    return routine


def test_the_probe_finds_the_block_or_refuses_an_unfused_axpy():
    dtype = np.dtype(np.float32)
    axpy = backend_helpers._fused_axpy(_fake_axpy(np.float32, 32), dtype, lambda: 1)
    assert axpy is not None and axpy.block == 32
    rng = np.random.default_rng(9)
    target, values = rng.standard_normal(45).astype(np.float32), rng.standard_normal(45).astype(
        np.float32)
    expected = fused(target, 0.7, values)
    axpy(target, 0.7, values)
    np.testing.assert_array_equal(target, expected)
    assert backend_helpers._fused_axpy(_fake_axpy(np.float32, None), dtype, lambda: 1) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_scaled_reads_read_only_values(dtype):
    """The BLAS call takes its arrays' addresses through a writable buffer when it can; a
    read-only ``values`` (memory NumPy may not write) must still be read, and rounded once."""
    rng = np.random.default_rng(0)
    target = rng.standard_normal(300).astype(dtype)
    values = rng.standard_normal(300).astype(dtype)
    values.flags.writeable = False
    expected = fused(target, -0.1, values)
    backend_helpers.add_scaled_(target, -0.1, values)
    assert np.array_equal(target, expected)
