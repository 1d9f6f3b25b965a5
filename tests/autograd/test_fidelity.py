"""The engine answers as PyTorch's autograd does: gradient delivery, hooks, version counters,
views, in-place rebasing, thread-local modes, return types — each case run through both
libraries on the same inputs (the PyTorch half skips when torch is absent)."""
import threading

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, GraphError, InplaceError, ReadOnlyError


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def both(torch, data, requires_grad=True):
    """The same float64 values as a chainrule and a torch tensor."""
    data = np.asarray(data, dtype=np.float64)
    return (chainrule.tensor(data, requires_grad=requires_grad),
            torch.tensor(data, requires_grad=requires_grad))


def close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours.detach().numpy()),
                               theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- leaf delivery

def test_leaves_sharing_an_upstream_gradient_get_arrays_of_their_own(torch):
    (c, tc), (d, td) = both(torch, [1.0, 2.0]), both(torch, [3.0, 4.0])
    ((c + d) * 2).sum().backward()
    ((tc + td) * 2).sum().backward()
    assert not np.shares_memory(c.grad.numpy(), d.grad.numpy())
    c.grad.mul_(10)
    tc.grad.mul_(10)
    close(c.grad, tc.grad)
    close(d.grad, td.grad)


def test_broadcast_input_grad_is_owned_contiguous_and_writeable(torch):
    (a, ta), (b, tb) = both(torch, [1.0, 2.0, 3.0]), both(torch, 2.0)
    (a + b).sum().backward()
    (ta + tb).sum().backward()
    for g in (a.grad, b.grad):
        array = g.numpy()
        assert array.flags.writeable and array.flags.c_contiguous and array.base is None
    a.grad.mul_(10)
    ta.grad.mul_(10)
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)


GRAPHS = {
    "add_pass_through": lambda a, b: (a + b).sum(),
    "reused_leaf": lambda a, b: (a * 2 + a * 3 + b).sum(),
    "transpose": lambda a, b: (a.T.reshape(-1) * b.reshape(-1)).sum(),
    "slices": lambda a, b: (a[:, :1] + b[:1]).sum(),
    "expand": lambda a, b: (a.sum(0, keepdim=True).expand(3, 2) * b).sum(),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_no_grad_aliases_another_grad_or_the_user_gradient(name, torch):
    (a, ta), (b, tb) = both(torch, np.arange(6.0).reshape(3, 2)), both(torch, np.ones((3, 2)))
    out, t_out = GRAPHS[name](a, b) * 1.0, GRAPHS[name](ta, tb) * 1.0
    seed = chainrule.tensor(1.0, dtype="float64")
    out.backward(seed)
    t_out.backward(torch.tensor(1.0, dtype=torch.float64))
    arrays = [a.grad.numpy(), b.grad.numpy(), seed.numpy()]
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.shares_memory(arrays[i], arrays[j])
    for g in arrays[:2]:
        assert g.flags.writeable and g.flags.c_contiguous
    close(a.grad, ta.grad)
    close(b.grad, tb.grad)


def test_second_backward_accumulates_into_the_same_grad_tensor(torch):
    (w, tw) = both(torch, [1.0, 2.0])
    for x in (w, tw):
        (x * 3).sum().backward()
    first = w.grad
    (w * 3).sum().backward()
    (tw * 3).sum().backward()
    assert w.grad is first                  # accumulated in place, like AccumulateGrad
    close(w.grad, tw.grad)


# ---------------------------------------------------------------- hooks

def test_clamp_hook_on_a_reused_leaf_runs_once_with_the_total(torch):
    results = {}
    for lib, x in zip(("chainrule", "torch"), both(torch, 1.0)):
        calls = []
        x.register_hook(lambda g, calls=calls: calls.append(g.item()) or g.clamp(-1, 1))
        (x * 2 + x * 3).backward()
        results[lib] = (x.grad.item(), calls)
    assert results["chainrule"] == results["torch"] == (1.0, [5.0])


def test_post_accumulate_grad_hook_fires_once_per_backward_for_a_tied_weight(torch):
    for x in both(torch, [1.0, 2.0]):
        seen = []
        x.register_post_accumulate_grad_hook(lambda t, seen=seen: seen.append(t.grad.tolist()))
        (x * x).sum().backward()          # the leaf is used twice by one op
        (x * 2 + x).sum().backward()      # and by two ops
        assert seen == [[2.0, 4.0], [5.0, 7.0]]


def test_post_accumulate_hook_only_on_leaves():
    x = chainrule.tensor([1.0], requires_grad=True)
    with pytest.raises(GraphError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_interior_hook_and_retain_grad_see_the_total_once(torch):
    results = []
    for x in both(torch, [1.0, 2.0]):
        h = x * 2
        h.retain_grad()
        calls = []
        h.register_hook(lambda g, calls=calls: calls.append(g.tolist()))
        (h * 3 + h * 4).sum().backward(retain_graph=True)
        first = h.grad.tolist()
        (h * 3 + h * 4).sum().backward()
        results.append((calls, first, h.grad.tolist(), x.grad.tolist()))
    assert results[0] == results[1]


def test_hook_handle_removes_the_hook():
    x = chainrule.tensor(1.0, requires_grad=True)
    handle = x.register_hook(lambda g: g * 0)
    handle.remove()
    (x * 2).backward()
    assert x.grad.item() == 2.0


# ---------------------------------------------------------------- saved tensors, versions

def test_only_what_backward_reads_is_version_checked(torch):
    grads = []
    for x in both(torch, 2.0):
        a = x * 1
        c = a * 3          # the 3 is saved (for a's gradient); a itself is not
        a += 1
        c.sum().backward()
        grads.append(x.grad.item())
    assert grads[0] == grads[1] == 3.0


def test_inplace_change_of_a_saved_tensor_is_named_at_backward(torch):
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    c = a * a
    a += 1
    with pytest.raises(InplaceError, match=r"Mul: input 0 .* \(version 0 -> 1\)"):
        c.sum().backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ta = tx * 1
    tc = ta * ta
    ta += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tc.sum().backward()


def test_an_input_changed_in_place_before_it_was_saved_is_checked_from_its_version(torch):
    """A parameter after an optimizer step (version 1) saved by a two-input gate: backward
    works while it stays at that version and names both versions once it changes again."""
    results = []
    for lib, error in ((chainrule, InplaceError), (torch, RuntimeError)):
        w = lib.ones(3, requires_grad=True)
        x = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            w.add_(1)
        y = (x * w).sum()
        y.backward(retain_graph=True)
        results.append(x.grad.tolist())
        with lib.no_grad():
            w.add_(1)
        match = r"Mul: input 1 .* \(version 1 -> 2\)" if lib is chainrule else "inplace"
        with pytest.raises(error, match=match):
            y.backward()
    assert results[0] == results[1] == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("make_other", [lambda y: y, lambda y: y.detach()],
                         ids=["itself", "detached"])
@pytest.mark.parametrize("op", ["mul_", "div_"])
def test_an_inplace_op_that_reads_its_own_memory_refuses_backward(op, make_other, torch):
    """y.mul_(y) saves y's memory as the other operand and then overwrites it: PyTorch
    refuses the backward, and so does chainrule (it once matched the saved array to the
    first input holding it and gave a silent wrong gradient)."""
    for lib, error in ((chainrule, InplaceError), (torch, RuntimeError)):
        x = lib.tensor([1.5, 2.0, 3.0], requires_grad=True)
        y = x * 1
        getattr(y, op)(make_other(y))
        with pytest.raises(error):
            y.sum().backward()


def test_a_detached_operand_of_the_same_memory_gets_no_gradient_path(torch):
    grads = []
    for lib in (chainrule, torch):
        x = lib.tensor([1.5, 2.0, 3.0], requires_grad=True)
        (g,) = lib.autograd.grad((x * x.detach()).sum(), x, create_graph=True)
        assert not g.requires_grad
        y = x * 1
        y.mul_(y.data)
        y.sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [2.25, 4.0, 9.0]


def test_saves_names_the_inputs_a_two_input_gate_kept():
    x, w = chainrule.ones(3, requires_grad=True), chainrule.ones(3, requires_grad=True)
    product, scaled = x * w, x * 2.0
    assert product.grad_fn.saves(x) and product.grad_fn.saves(w)
    assert not scaled.grad_fn.saves(x)          # d/dx of x * 2 reads only the 2


def test_inplace_change_of_a_saved_output_is_named():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = y * 1
    y.mul_(2)
    with pytest.raises(InplaceError, match="Exp: its output"):
        z.sum().backward()


MICROGRAD_STYLE = [
    # scalars rebound with +=, reused several times, then backward
    """
a = T(-4.0); b = T(2.0)
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
out = g
""",
    """
x = T(1.5); y = T(-0.5)
z = x * y
z += z * 2 + x
z *= y + 2
z -= x.tanh() * 3
w = z.sigmoid() + z
w += w * 2
out = w / (x + 3)
""",
    """
p = T(0.7)
acc = p * 0
for k in range(5):
    acc += p ** 2 * k
    acc = acc * 0.9 + p
    p2 = acc.exp() * 0.01
    acc -= p2
out = acc
""",
]


@pytest.mark.parametrize("program", MICROGRAD_STYLE)
def test_micrograd_style_programs_match_torch(program, torch):
    results = []
    for lib in (chainrule, torch):
        leaves = []

        def T(value, lib=lib):
            t = lib.tensor(value, dtype=lib.float64, requires_grad=True)
            leaves.append(t)
            return t
        scope = {"T": T}
        exec(program, scope)
        scope["out"].backward()
        results.append((scope["out"].item(), [t.grad.item() for t in leaves]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


# ---------------------------------------------------------------- views

VIEWS = {
    "slice": lambda a: a[:1],
    "select": lambda a: a[0],
    "reshape": lambda a: a.reshape(-1),
    "view": lambda a: a.view(6),
    "transpose": lambda a: a.transpose(0, 1),
    "permute": lambda a: a.permute(1, 0),
    "T": lambda a: a.T,
    "squeeze": lambda a: a.unsqueeze(0).squeeze(0),
    "unsqueeze": lambda a: a.unsqueeze(1),
    "view_of_view": lambda a: a[1:].reshape(-1)[1:],
}


@pytest.mark.parametrize("name", sorted(VIEWS) + ["detach"])
def test_inplace_through_a_view_is_caught_as_in_pytorch(name, torch):
    view = VIEWS.get(name, lambda a: a.detach())
    for lib, error in ((chainrule, InplaceError), (torch, RuntimeError)):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        a = x * 1
        y = a * a                    # saves a
        with lib.no_grad():
            view(a).mul_(2)          # the change reaches a through the view
        with pytest.raises(error):
            y.sum().backward()


def test_views_share_their_base_version_counter():
    a = chainrule.zeros(2, 3)
    for name, view in VIEWS.items():
        v = view(a)
        before = a._version
        v.add_(1)
        assert a._version == v._version == before + 1, name
    d = a.detach()
    d.zero_()
    assert a._version == d._version and a.sum().item() == 0.0
    assert a.data._version != a._version or a.data._version_counter is not \
        a._version_counter            # .data is not tracked (PyTorch)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_inplace_on_a_view_rewrites_the_base_history(name, torch):
    results = []
    for lib in (chainrule, torch):
        x = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3), dtype=lib.float64,
                       requires_grad=True)
        a = x * 1
        v = VIEWS[name](a)
        w = lib.tensor(np.linspace(0.5, 1.5, int(np.prod(v.shape))).reshape(v.shape),
                       dtype=lib.float64, requires_grad=True)
        v.mul_(w)
        loss = (a * a).sum() + (v * 3).sum()
        loss.backward()
        results.append((a.detach().numpy().copy(), loss.item(), x.grad.numpy().copy(),
                        w.grad.numpy().copy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_a_view_made_before_its_base_changed_follows_the_new_history(torch):
    results = []
    for lib in (chainrule, torch):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
        a = x * 1
        v = a[:2]
        a.mul_(w)
        (v * v).sum().backward()
        results.append((v.detach().numpy().copy(), x.grad.numpy().copy(),
                        w.grad.numpy().copy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_inplace_on_a_view_of_a_leaf_that_requires_grad_raises(name, torch):
    x = chainrule.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(GraphError, match="leaf"):
        VIEWS[name](x).mul_(2)
    tx = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        VIEWS[name](tx).mul_(2)


def test_writing_into_an_expanded_view_is_a_read_only_error(torch):
    a = chainrule.ones(3).expand(2, 3)
    with pytest.raises(ReadOnlyError, match="clone"):
        a.mul_(2)
    with pytest.raises(ReadOnlyError):
        a[0, 0] = 5.0
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.ones(3).expand(2, 3).mul_(2)


def test_setitem_while_recording_matches_torch(torch):
    results = []
    for lib in (chainrule, torch):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), dtype=lib.float64, requires_grad=True)
        w = lib.tensor(3.0, dtype=lib.float64, requires_grad=True)
        out = lib.zeros(2, 3, dtype=lib.float64)
        out[:, 0] = x[:, 1] * w
        out[1] = out[1] + x[0]
        (out * out).sum().backward()
        results.append((out.detach().numpy().copy(), x.grad.numpy().copy(), w.grad.item()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


# ---------------------------------------------------------------- thread-local modes

def test_no_grad_in_one_thread_does_not_switch_it_off_in_another():
    inside, release, seen = threading.Event(), threading.Event(), []

    def evaluator():
        with chainrule.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=evaluator)
    thread.start()
    inside.wait(5)
    try:
        w = chainrule.tensor(1.0, requires_grad=True)
        seen.append((w * 2).requires_grad)
        seen.append(chainrule.is_grad_enabled())
    finally:
        release.set()
        thread.join()
    assert seen == [True, True]


def _model_and_data(seed):
    chainrule.manual_seed(seed)
    split = chainrule.data.datasets.toy_linear(n=96, seed=seed)
    return nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)), split


def _run_fit(seed, model, split, out):
    # evaluation on val_data runs under no_grad between epochs: with a process-global grad
    # mode it would switch recording off in the other thread
    history = chainrule.fit(model, nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
                            split.train, val_data=split.test, epochs=4, batch_size=8,
                            shuffle=False, metrics=(), progress=False)
    out[seed] = ([row["loss"] for row in history.steps], history["val_loss"])


def test_two_fits_in_two_threads_match_their_single_thread_histories():
    alone = {}
    for seed in (1, 2):
        _run_fit(seed, *_model_and_data(seed), alone)
    together = {}
    prepared = {seed: _model_and_data(seed) for seed in (1, 2)}
    threads = [threading.Thread(target=_run_fit, args=(seed, *prepared[seed], together))
               for seed in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone and len(alone[1][0]) == 4 * 10


# ---------------------------------------------------------------- numerical gradients

def test_numerical_grad_on_transposed_sliced_and_0d_inputs():
    from chainrule.autograd import numerical_grad
    base = np.arange(6.0).reshape(2, 3)
    for x in (chainrule.tensor(base).T, chainrule.tensor(np.arange(12.0))[::2],
              chainrule.tensor(base).double().T[1:]):
        assert not x.is_contiguous()
        g = numerical_grad(lambda t: (t * t).sum(), x, scheme="central")
        np.testing.assert_allclose(g, 2 * x.numpy(), atol=1e-6)
    zero_d = chainrule.tensor(3.0, dtype="float64")
    assert abs(float(numerical_grad(lambda t: t ** 3, zero_d, scheme="central")) - 27) < 1e-6


# ---------------------------------------------------------------- honest errors and types

def test_a_bug_inside_an_op_keeps_its_own_error_and_traceback():
    class Buggy(Function):
        def forward(self, x):
            raise ValueError("bug in forward")

        def backward(self, gy):
            return gy

    with pytest.raises(ValueError, match="bug in forward") as info:
        Buggy()(chainrule.ones(2))
    assert type(info.value) is ValueError
    assert any("forward" == entry.name for entry in info.traceback)


def test_assigning_a_tensor_over_a_parameter_raises_type_error(torch):
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        m.weight = m.weight * 2
    with pytest.raises(TypeError):
        torch.nn.Linear(2, 2).weight = torch.nn.Linear(2, 2).weight * 2
    m.weight = nn.Parameter(chainrule.zeros(2, 2))       # a Parameter is fine
    assert dict(m.named_parameters())["weight"] is m.weight
    m.bias = None                                          # so is None
    assert "bias" not in dict(m.named_parameters())


def test_max_min_with_dim_return_values_and_indices(torch):
    data = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]])
    for name in ("max", "min"):
        (x, tx) = both(torch, data)
        ours, theirs = getattr(x, name)(1), getattr(tx, name)(1)
        values, indices = ours                       # unpacks like PyTorch's named tuple
        assert indices.tolist() == theirs.indices.tolist()
        close(values, theirs.values)
        assert ours.values is values and ours.indices is indices
        (values * chainrule.tensor([1.0, 2.0], dtype="float64")).sum().backward()
        (theirs.values * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
        close(x.grad, tx.grad)
        # without a dim: a plain tensor, ties share the gradient evenly (PyTorch's rule)
        (y, ty) = both(torch, data)
        getattr(y, name)().backward()
        getattr(ty, name)().backward()
        assert isinstance(getattr(y, name)(), chainrule.Tensor)
        close(y.grad, ty.grad)
    _, pred = chainrule.tensor([[0.1, 0.9], [0.8, 0.2]]).max(1)
    assert pred.tolist() == [1, 0]


def test_load_state_dict_returns_missing_and_unexpected_keys(torch):
    m = nn.Linear(2, 2)
    state = {"weight": chainrule.zeros(2, 2), "extra": chainrule.zeros(1)}
    result = m.load_state_dict(state, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    missing, unexpected = result
    theirs = torch.nn.Linear(2, 2).load_state_dict(
        {"weight": torch.zeros(2, 2), "extra": torch.zeros(1)}, strict=False)
    assert (missing, unexpected) == (theirs.missing_keys, theirs.unexpected_keys)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_and_bool_tensors_refuse_requires_grad(dtype, torch):
    with pytest.raises(DTypeError, match="only floating-point tensors can require gradients"):
        chainrule.tensor([1, 0], dtype=dtype, requires_grad=True)
    with pytest.raises(DTypeError):
        chainrule.tensor([1, 0], dtype=dtype).requires_grad_()
    with pytest.raises(RuntimeError):
        torch.tensor([1, 0], dtype=getattr(torch, dtype)).requires_grad_()
