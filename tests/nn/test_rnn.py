"""Recurrent layers (RNN, LSTM, GRU and their cells) and nn.utils.rnn, against PyTorch in
float64: forward values, input gradients and every parameter gradient, with the weights
copied from a torch module; gradchecks of the scans and cells; memory of long sequences."""
import functools
import itertools
import os
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import errors, nn
from chainrule.nn.utils import rnn as rnn_utils
from chainrule.ops import recurrent
from tests.helpers import check, make

T, B, I, H = 5, 3, 4, 5          # steps, batch, input features, hidden features


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _pair(torch, mode, **kwargs):
    """A chainrule layer and a torch layer with the same float64 weights."""
    kwargs.setdefault("dtype", chainrule.float64)
    ours = getattr(nn, mode)(*kwargs.pop("args", (I, H)), **kwargs)
    kwargs["dtype"] = torch.float64
    theirs = getattr(torch.nn, mode)(*ours_args(ours), **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.shape == tuple(q.shape), name
        p._data[...] = q.detach().numpy()
    return ours, theirs


def ours_args(layer):
    return (layer.input_size, layer.hidden_size)


def _inputs(shape, seed):
    data = np.random.default_rng(seed).standard_normal(shape)
    return chainrule.tensor(data, requires_grad=True), data


def _weighted_sum(outputs, seed):
    """A scalar that reaches every output element with a different weight (ours, torch)."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(tuple(o.shape)) for o in outputs[0]]
    ours = sum((o * chainrule.tensor(w)).sum() for o, w in zip(outputs[0], weights))
    theirs = sum((o * outputs[2].tensor(w)).sum() for o, w in zip(outputs[1], weights))
    return ours, theirs


def _flatten(result):
    output, hidden = result
    if hasattr(output, "batch_sizes"):
        output = output.data
    return [output] + (list(hidden) if isinstance(hidden, tuple) else [hidden])


def _compare(torch, ours, theirs, x, data, hx=None, hx_data=None, packed=None):
    """Run both layers, compare every output, then the input's and every parameter's
    gradient of a weighted sum of them."""
    t_x = torch.tensor(data, requires_grad=True)
    t_hx = None
    if hx_data is not None:
        t_hx = tuple(torch.tensor(d, requires_grad=True) for d in hx_data)
    our_in, their_in = x, t_x
    if packed is not None:
        lengths, batch_first = packed
        in_order = lengths == sorted(lengths, reverse=True)
        our_in = rnn_utils.pack_padded_sequence(x, lengths, batch_first, in_order)
        their_in = torch.nn.utils.rnn.pack_padded_sequence(t_x, lengths, batch_first,
                                                           in_order)
    arg = None if hx is None else (hx if isinstance(ours, nn.LSTM) else hx[0])
    t_arg = None if t_hx is None else (t_hx if isinstance(theirs, torch.nn.LSTM) else t_hx[0])
    mine, reference = ours(our_in, arg), theirs(their_in, t_arg)
    if packed is not None:
        for a, b in zip(mine[0][1:], reference[0][1:]):     # batch_sizes and the orders
            assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
    mine, reference = _flatten(mine), _flatten(reference)
    assert len(mine) == len(reference)
    for a, b in zip(mine, reference):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-9)
    loss, t_loss = _weighted_sum((mine, reference, torch), 7)
    loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=1e-6, atol=1e-9)
    if hx is not None:
        for a, b in zip(hx, t_hx):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-9)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-9,
                                   err_msg=name)


def _states(mode, count, batch, hidden, proj, seed):
    """Random initial states for ``count`` layer-directions (a list: [h] or [h, c])."""
    sizes = [proj or hidden, hidden] if mode == "LSTM" else [hidden]
    shape = (count,) if batch is None else (count, batch)
    return [_inputs(shape + (n,), seed + i) for i, n in enumerate(sizes)]


# ---------------------------------------------------------------- layers against PyTorch

MODES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {}),
         ("LSTM", {"proj_size": 3})]
GRID = list(itertools.product(range(len(MODES)), (1, 2), (False, True), (False, True),
                              (True, False)))


@pytest.mark.torch
@pytest.mark.parametrize("mode_index, num_layers, bidirectional, batch_first, bias", GRID)
def test_layer_matches_pytorch(torch, mode_index, num_layers, bidirectional, batch_first,
                               bias):
    mode, extra = MODES[mode_index]
    ours, theirs = _pair(torch, mode, num_layers=num_layers, bidirectional=bidirectional,
                         batch_first=batch_first, bias=bias, **extra)
    x, data = _inputs((B, T, I) if batch_first else (T, B, I), 1)
    with_states = (mode_index + num_layers) % 2 == 0          # half the grid passes h0 / c0
    hx = hx_data = None
    if with_states:
        states = _states(mode, num_layers * (1 + bidirectional), B, H,
                         extra.get("proj_size", 0), 2)
        hx, hx_data = [s for s, _ in states], [d for _, d in states]
    _compare(torch, ours, theirs, x, data, hx, hx_data)


@pytest.mark.torch
@pytest.mark.parametrize("mode_index", range(len(MODES)))
@pytest.mark.parametrize("with_states", [False, True])
def test_unbatched_input_matches_pytorch(torch, mode_index, with_states):
    mode, extra = MODES[mode_index]
    ours, theirs = _pair(torch, mode, num_layers=2, bidirectional=True, batch_first=True,
                         **extra)
    x, data = _inputs((T, I), 3)
    hx = hx_data = None
    if with_states:
        states = _states(mode, 4, None, H, extra.get("proj_size", 0), 4)
        hx, hx_data = [s for s, _ in states], [d for _, d in states]
    _compare(torch, ours, theirs, x, data, hx, hx_data)


@pytest.mark.torch
@pytest.mark.parametrize("mode_index", range(len(MODES)))
@pytest.mark.parametrize("bidirectional, batch_first, lengths",
                         [(False, False, [5, 3, 1]), (True, True, [2, 5, 4]),
                          (True, False, [3, 3, 5])])
def test_packed_sequences_match_pytorch(torch, mode_index, bidirectional, batch_first,
                                        lengths):
    mode, extra = MODES[mode_index]
    ours, theirs = _pair(torch, mode, num_layers=2, bidirectional=bidirectional,
                         batch_first=batch_first, **extra)
    x, data = _inputs((B, T, I) if batch_first else (T, B, I), 5)
    states = _states(mode, 2 * (1 + bidirectional), B, H, extra.get("proj_size", 0), 6)
    _compare(torch, ours, theirs, x, data, [s for s, _ in states], [d for _, d in states],
             packed=(lengths, batch_first))


@pytest.mark.torch
@pytest.mark.parametrize("mode_index", [0, 3, 4])
def test_double_backward_matches_pytorch(torch, mode_index):
    """A gradient penalty: the input gradient, taken with create_graph=True, differentiated
    again with respect to every parameter."""
    mode, extra = MODES[mode_index]
    ours, theirs = _pair(torch, mode, bidirectional=True, **extra)
    x, data = _inputs((T, 2, I), 14)
    t_x = torch.tensor(data, requires_grad=True)
    lengths = [5, 3]
    out = ours(rnn_utils.pack_padded_sequence(x, lengths))[0].data
    t_out = theirs(torch.nn.utils.rnn.pack_padded_sequence(t_x, lengths))[0].data
    (g,) = chainrule.autograd.grad((out * out).sum(), x, create_graph=True)
    (t_g,) = torch.autograd.grad((t_out * t_out).sum(), t_x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), t_g.detach().numpy(), rtol=1e-6, atol=1e-12)
    (g * g).sum().backward()
    (t_g * t_g).sum().backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-12,
                                   err_msg=name)


@pytest.mark.torch
def test_packed_output_pads_back_like_pytorch(torch):
    ours, theirs = _pair(torch, "GRU", bidirectional=True)
    x, data = _inputs((T, B, I), 8)
    lengths = [4, 5, 2]
    out, _ = ours(rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=False))
    t_out, _ = theirs(torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(data), lengths,
                                                              enforce_sorted=False))
    padded, got = rnn_utils.pad_packed_sequence(out, batch_first=True, padding_value=-1.0)
    t_padded, t_got = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True,
                                                             padding_value=-1.0)
    np.testing.assert_allclose(padded.numpy(), t_padded.detach().numpy(), rtol=1e-6)
    assert got.tolist() == t_got.tolist()


@pytest.mark.torch
@pytest.mark.parametrize("mode", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched, with_state", [(True, True), (True, False), (False, True)])
def test_cells_match_pytorch(torch, mode, bias, batched, with_state):
    extra = {"nonlinearity": "relu"} if mode == "RNNCell" and not bias else {}
    ours = getattr(nn, mode)(I, H, bias=bias, dtype=chainrule.float64, **extra)
    theirs = getattr(torch.nn, mode)(I, H, bias=bias, dtype=torch.float64, **extra)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        p._data[...] = q.detach().numpy()
    shape = (B,) if batched else ()
    x, data = _inputs(shape + (I,), 9)
    t_x = torch.tensor(data, requires_grad=True)
    count = 2 if mode == "LSTMCell" else 1
    states = [_inputs(shape + (H,), 10 + i) for i in range(count)] if with_state else []
    t_states = [torch.tensor(d, requires_grad=True) for _, d in states]
    arg = t_arg = None
    if with_state:
        arg = tuple(s for s, _ in states) if count == 2 else states[0][0]
        t_arg = tuple(t_states) if count == 2 else t_states[0]
    mine, reference = ours(x, arg), theirs(t_x, t_arg)
    mine = list(mine) if count == 2 else [mine]
    reference = list(reference) if count == 2 else [reference]
    for a, b in zip(mine, reference):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-12)
    loss, t_loss = _weighted_sum((mine, reference, torch), 11)
    loss.backward()
    t_loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=1e-6, atol=1e-12)
    for (s, _), t in zip(states, t_states):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-12)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.torch
def test_dropout_between_layers(torch):
    ours, theirs = _pair(torch, "LSTM", num_layers=2, dropout=1.0)
    x, data = _inputs((T, B, I), 12)
    # p = 1 drops every element: the second layer sees zeros, in both libraries
    out, _ = ours(x)
    np.testing.assert_allclose(out.numpy(), theirs(torch.tensor(data))[0].detach().numpy(),
                               rtol=1e-6)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(x)[0].numpy(),
                               theirs(torch.tensor(data))[0].detach().numpy(), rtol=1e-6)
    half = nn.GRU(I, H, num_layers=2, dropout=0.5, dtype=chainrule.float64)
    chainrule.manual_seed(0)
    first = half(x)[0].numpy()
    assert not np.allclose(first, half(x)[0].numpy())        # a new mask each call
    half.eval()
    np.testing.assert_array_equal(half(x)[0].numpy(), half(x)[0].numpy())


# ---------------------------------------------------------------- construction

@pytest.mark.torch
@pytest.mark.parametrize("mode, kwargs", [
    ("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("LSTM", {"proj_size": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {"bias": False, "dropout": 0.25, "num_layers": 3}),
    ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
    ("LSTMCell", {}), ("GRUCell", {"bias": False})])
def test_names_shapes_and_repr_match_pytorch(torch, mode, kwargs):
    ours, theirs = getattr(nn, mode)(I, H, **kwargs), getattr(torch.nn, mode)(I, H, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())


def test_positional_arguments_and_defaults():
    rnn = nn.RNN(3, 4, 2, "relu", False, True, 0.5, True)
    assert (rnn.num_layers, rnn.nonlinearity, rnn.bias, rnn.batch_first, rnn.dropout,
            rnn.bidirectional) == (2, "relu", False, True, 0.5, True)
    lstm = nn.LSTM(3, 4)
    assert (lstm.num_layers, lstm.bias, lstm.batch_first, lstm.dropout, lstm.bidirectional,
            lstm.proj_size) == (1, True, False, 0.0, False, 0)
    assert lstm.weight_ih_l0.dtype == np.float32
    assert len(lstm.all_weights) == 1 and len(lstm.all_weights[0]) == 4
    assert nn.GRU(3, 4, device="cpu").weight_hh_l0.shape == (12, 4)


def test_initialisation_is_uniform_in_one_over_sqrt_hidden():
    chainrule.manual_seed(0)
    lstm = nn.LSTM(50, 64, num_layers=2, proj_size=16, bidirectional=True)
    values = np.concatenate([p.numpy().ravel() for p in lstm.parameters()])
    bound = 1 / np.sqrt(64)
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    assert abs(values.std() - bound / np.sqrt(3)) < 0.01 * bound


@pytest.mark.parametrize("make_layer, error, match", [
    (lambda: nn.LSTM(3, 4, proj_size=4), errors.ArgumentError, "smaller than hidden"),
    (lambda: nn.LSTM(3, 4, proj_size=-1), errors.ArgumentError, "positive integer"),
    (lambda: nn.GRU(3, 4, proj_size=2), errors.ArgumentError, "only supported for LSTM"),
    (lambda: nn.RNN(3, 4, nonlinearity="gelu"), errors.ArgumentError, "nonlinearity"),
    (lambda: nn.RNN(3, 4, dropout=1.5), errors.ArgumentError, r"range \[0, 1\]"),
    (lambda: nn.RNN(3, 0), errors.ArgumentError, "hidden_size must be greater"),
    (lambda: nn.LSTM(3, 4, num_layers=0), errors.ArgumentError, "num_layers"),
    (lambda: nn.LSTM(3.0, 4), errors.ArgumentTypeError, "input_size should be of type"),
    (lambda: nn.LSTM(3, 4, bias=1), errors.ArgumentTypeError, "bias should be of type"),
    (lambda: nn.LSTM(3, 4, device="cuda"), errors.ArgumentError, "device"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="sigmoid"), errors.ArgumentError, "sigmoid"),
])
def test_bad_constructor_arguments_raise(make_layer, error, match):
    with pytest.raises(error, match=match):
        make_layer()


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)


@pytest.mark.parametrize("call, match", [
    (lambda m: m(chainrule.zeros(2, 3, 4, 5)), "2D or 3D"),
    (lambda m: m(chainrule.zeros(5, 2, 7)), "Expected 3, got 7"),
    (lambda m: m(chainrule.zeros(5, 2, 3), (chainrule.zeros(1, 2, 4),) * 2),
     r"Expected hidden\[0\] size \(2, 2, 4\), got \[1, 2, 4\]"),
    (lambda m: m(chainrule.zeros(5, 2, 3), (chainrule.zeros(2, 4), chainrule.zeros(2, 4))),
     "should also be 3-D"),
    (lambda m: m(chainrule.zeros(5, 3), (chainrule.zeros(2, 1, 4),) * 2),
     "should also be 2-D"),
    (lambda m: m(chainrule.zeros(0, 2, 3)), "sequence length to be larger than 0"),
])
def test_bad_inputs_raise_shape_errors(call, match):
    with pytest.raises(errors.ShapeError, match=match):
        call(nn.LSTM(3, 4, num_layers=2))


def test_float64_input_into_a_float32_layer_is_converted_with_a_warning():
    lstm = nn.LSTM(3, 4)
    with pytest.warns(UserWarning, match="float64"):
        out, _ = lstm(np.ones((2, 1, 3)))
    assert out.dtype == np.float32


# ---------------------------------------------------------------- state dicts both ways

class _Tagger:
    """An LSTM tagger (embedding, bidirectional 2-layer LSTM with projection, linear)."""

    @staticmethod
    def build(lib, dtype):
        module = lib.nn.Module()
        module.embed = lib.nn.Embedding(10, I, dtype=dtype)
        module.lstm = lib.nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=3,
                                  batch_first=True, dtype=dtype)
        module.head = lib.nn.Linear(6, 2, dtype=dtype)
        return module

    @staticmethod
    def run(module, tokens):
        return module.head(module.lstm(module.embed(tokens))[0])


@pytest.mark.torch
def test_lstm_state_dict_round_trips_with_pytorch(torch, tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    tokens = np.random.default_rng(0).integers(0, 10, size=(B, T))
    theirs = _Tagger.build(torch, torch.float64)
    safetensors_torch.save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    torch.save(theirs.state_dict(), str(tmp_path / "torch.pt"))
    expected = _Tagger.run(theirs, torch.tensor(tokens)).detach().numpy()
    for path, loader in (("torch.safetensors", chainrule.load),
                         ("torch.pt", chainrule.load_torch)):
        ours = _Tagger.build(chainrule, chainrule.float64)
        ours.load_state_dict(loader(str(tmp_path / path)))
        np.testing.assert_allclose(_Tagger.run(ours, chainrule.tensor(tokens)).numpy(),
                                   expected, rtol=1e-10)
    # and back: chainrule's weights into a fresh torch model
    ours = _Tagger.build(chainrule, chainrule.float64)
    chainrule.save(ours.state_dict(), str(tmp_path / "ours.safetensors"))
    fresh = _Tagger.build(torch, torch.float64)
    fresh.load_state_dict(safetensors_torch.load_file(str(tmp_path / "ours.safetensors")))
    np.testing.assert_allclose(_Tagger.run(fresh, torch.tensor(tokens)).detach().numpy(),
                               _Tagger.run(ours, chainrule.tensor(tokens)).numpy(),
                               rtol=1e-10)


# ---------------------------------------------------------------- gradchecks

def _scan_and_inputs(kind, steps, batch, hidden, bias, reverse, mask, seed):
    """A scan as a function of its tensors, and those tensors (bias and projection only
    when the case has them)."""
    gates = {"gru": 3, "lstm": 4, "lstm_proj": 4}.get(kind, 1)
    features = hidden + 1 if kind == "lstm_proj" else hidden        # of h (projected or not)
    xproj = make((steps, batch, gates * hidden), seed)
    if kind == "relu":                      # keep pre-activations away from relu's kink
        xproj = chainrule.tensor(xproj.numpy() + 2 * np.sign(xproj.numpy()),
                                 requires_grad=True)
    inputs = {"xproj": xproj, "h0": make((batch, features), seed + 1),
              "weight_hh": make((gates * hidden, features), seed + 2)}
    if kind.startswith("lstm"):
        inputs["c0"] = make((batch, hidden), seed + 3)
    if bias:
        inputs["bias_hh"] = make((gates * hidden,), seed + 4)
    if kind == "lstm_proj":
        inputs["weight_hr"] = make((features, hidden), seed + 5)
    if kind.startswith("lstm"):
        scan = recurrent.lstm_scan
    elif kind == "gru":
        scan = recurrent.gru_scan
    else:
        scan = functools.partial(recurrent.rnn_scan, nonlinearity=kind)
    names = list(inputs)

    def fn(*tensors):
        return scan(**dict(zip(names, tensors)), reverse=reverse, mask=mask)
    return fn, list(inputs.values())


@settings(max_examples=10, deadline=None)
@given(steps=st.integers(1, 3), batch=st.integers(1, 2), hidden=st.integers(1, 2),
       reverse=st.booleans(), masked=st.booleans(), bias=st.booleans(),
       kind=st.sampled_from(["tanh", "relu", "gru", "lstm", "lstm_proj"]),
       seed=st.integers(0, 100))
def test_scans_pass_gradcheck_and_gradgradcheck(steps, batch, hidden, reverse, masked, bias,
                                                 kind, seed):
    mask = None
    if masked:
        lengths = np.random.default_rng(seed).integers(1, steps + 1, size=batch)
        mask = np.arange(steps)[:, None] < lengths[None, :]
    fn, inputs = _scan_and_inputs(kind, steps, batch, hidden, bias, reverse, mask, seed)
    check(fn, *inputs)


@pytest.mark.parametrize("kind", ["tanh", "relu", "gru", "lstm", "lstm_proj"])
def test_every_scan_variant_passes_gradcheck(kind):
    """The hypothesis draws above may miss a variant: each one once, masked and reversed,
    with and without bias."""
    mask = np.array([[True, True], [True, False], [False, False]])
    for bias in (True, False):
        fn, inputs = _scan_and_inputs(kind, 3, 2, 1, bias, True, mask, 3)
        check(fn, *inputs, second=bias)


@pytest.mark.parametrize("cell", ["rnn_tanh_cell", "rnn_relu_cell", "gru_cell", "lstm_cell"])
@pytest.mark.parametrize("bias", [True, False])
def test_cells_pass_gradcheck_and_gradgradcheck(cell, bias):
    gates = {"gru_cell": 3, "lstm_cell": 4}.get(cell, 1)
    x, h, c = make((2, 3), 0), make((2, 2), 1), make((2, 2), 2)
    w_ih, w_hh = make((2 * gates, 3), 3), make((2 * gates, 2), 4)
    b = [make((2 * gates,), 5), make((2 * gates,), 6)] if bias else []
    step = getattr(recurrent, cell)
    if cell == "lstm_cell":
        def fn(x, h, c, *weights):
            return chainrule.cat(step(x, (h, c), *weights), 1)
        check(fn, x, h, c, w_ih, w_hh, *b)
    else:
        check(lambda *args: step(*args), x, h, w_ih, w_hh, *b)


@pytest.mark.parametrize("kind", ["tanh", "gru", "lstm"])
def test_scans_agree_with_their_cells_step_by_step(kind):
    """The scan gates against the composition they stand for: the cell, looped."""
    x, h0, c0 = make((6, 2, 3), 0), make((2, 4), 1), make((2, 4), 2)
    gates = {"gru": 3, "lstm": 4}.get(kind, 1)
    w_ih, w_hh = make((4 * gates, 3), 3), make((4 * gates, 4), 4)
    b_ih, b_hh = make((4 * gates,), 5), make((4 * gates,), 6)
    xproj = chainrule.linear(x, w_ih, b_ih)
    h, c, expected = h0, c0, []
    for t in range(6):
        if kind == "lstm":
            h, c = recurrent.lstm_cell(x[t], (h, c), w_ih, w_hh, b_ih, b_hh)
            expected.append(chainrule.cat([h, c], 1))
        elif kind == "gru":
            h = recurrent.gru_cell(x[t], h, w_ih, w_hh, b_ih, b_hh)
            expected.append(h)
        else:
            h = recurrent.rnn_tanh_cell(x[t], h, w_ih, w_hh, b_ih, b_hh)
            expected.append(h)
    if kind == "lstm":
        got = recurrent.lstm_scan(xproj, h0, c0, w_hh, b_hh)
    elif kind == "gru":
        got = recurrent.gru_scan(xproj, h0, w_hh, b_hh)
    else:
        got = recurrent.rnn_scan(xproj, h0, w_hh, b_hh)
    np.testing.assert_allclose(got.numpy(), chainrule.stack(expected).numpy(), rtol=1e-12)
    leaves = [x, h0, c0, w_ih, w_hh, b_ih, b_hh]
    ours = chainrule.autograd.grad(got.sum(), leaves, allow_unused=True)
    theirs = chainrule.autograd.grad(chainrule.stack(expected).sum(), leaves,
                                     allow_unused=True)
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_scan_errors_name_the_shapes():
    with pytest.raises(errors.ShapeError, match=r"weight_hh has shape \(3, 3\)"):
        recurrent.lstm_scan(chainrule.zeros(2, 1, 8), chainrule.zeros(1, 2),
                            chainrule.zeros(1, 2), chainrule.zeros(3, 3))
    with pytest.raises(errors.ShapeError, match="mask must be"):
        recurrent.gru_scan(chainrule.zeros(2, 1, 6), chainrule.zeros(1, 2),
                           chainrule.zeros(6, 2), mask=np.ones((3, 1), bool))
    with pytest.raises(errors.DTypeError, match="same floating dtype"):
        recurrent.rnn_scan(chainrule.zeros(2, 1, 2), chainrule.zeros(1, 2, dtype="float64"),
                           chainrule.zeros(2, 2))


# ---------------------------------------------------------------- long sequences

def _memory(steps, batch=2, hidden=8):
    """Bytes held after forward (what the graph keeps for backward) and the peak during
    backward, for an LSTM over ``steps`` steps."""
    lstm = nn.LSTM(4, hidden, dtype=chainrule.float64)
    x = chainrule.tensor(np.random.default_rng(0).standard_normal((steps, batch, 4)),
                         requires_grad=True)
    tracemalloc.start()
    try:
        output, (h_n, c_n) = lstm(x)
        kept = tracemalloc.get_traced_memory()[0]
        (output.sum() + c_n.sum()).backward()
        return kept, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_backward_through_2000_steps_is_iterative_and_memory_linear():
    (kept_small, peak_small), (kept_large, peak_large) = _memory(500), _memory(2000)
    # what a step keeps for backward: its input projection (4H) and its state (h and c)
    step_bytes = 2 * (4 * 8 + 8 + 8) * 8
    assert (kept_large - kept_small) / 1500 < 1.2 * step_bytes, (kept_small, kept_large)
    # backward's workspace is linear too: 4x the steps, about 4x the peak (quadratic: 16x)
    assert peak_large < 4.5 * peak_small, (peak_small, peak_large)
    assert (peak_large - peak_small) / 1500 < 8 * step_bytes, (peak_small, peak_large)


def test_a_2000_step_cell_loop_backpropagates_without_recursion():
    cell = nn.RNNCell(2, 3)
    h, x = chainrule.zeros(1, 3), chainrule.ones(2000, 1, 2)
    for t in range(2000):
        h = cell(x[t], h)
    h.sum().backward()
    assert np.isfinite(cell.weight_hh.grad.numpy()).all()


# ---------------------------------------------------------------- nn.utils.rnn

@pytest.mark.torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_pytorch(torch, batch_first, padding_side):
    shapes = [(3, 2), (1, 2), (4, 2)]
    sequences = [make(s, i) for i, s in enumerate(shapes)]
    ours = rnn_utils.pad_sequence(sequences, batch_first, -2.0, padding_side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s.numpy()) for s in sequences],
                                             batch_first, -2.0, padding_side)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours.sum().backward()
    assert all((s.grad.numpy() == 1).all() for s in sequences)


@pytest.mark.torch
@pytest.mark.parametrize("lengths, enforce_sorted", [([5, 3, 3, 1], True),
                                                     ([2, 5, 2, 4], False),
                                                     ([1, 1, 1, 1], False)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_pytorch(torch, lengths, enforce_sorted, batch_first):
    x, data = _inputs((4, 5, 2) if batch_first else (5, 4, 2), 13)
    ours = rnn_utils.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(data), lengths, batch_first,
                                                     enforce_sorted)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    for a, b in ((ours.sorted_indices, theirs.sorted_indices),
                 (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
    for total_length in (None, 6):
        padded, got = rnn_utils.pad_packed_sequence(ours, batch_first, 9.0, total_length)
        t_padded, t_got = torch.nn.utils.rnn.pad_packed_sequence(theirs, batch_first, 9.0,
                                                                 total_length)
        np.testing.assert_array_equal(padded.numpy(), t_padded.numpy())
        assert got.tolist() == t_got.tolist() and got.dtype == np.int64
    unpacked = rnn_utils.unpack_sequence(ours)
    t_unpacked = torch.nn.utils.rnn.unpack_sequence(theirs)
    assert [u.tolist() for u in unpacked] == [u.tolist() for u in t_unpacked]
    ours.data.sum().backward()                # each real step once, padding nothing
    real = np.arange(5)[None, :] < np.array(lengths)[:, None]
    np.testing.assert_array_equal(x.grad.numpy()[..., 0], real if batch_first else real.T)


@pytest.mark.torch
def test_pack_sequence_matches_pytorch(torch):
    sequences = [make((n, 3), n) for n in (2, 4, 1)]
    ours = rnn_utils.pack_sequence(sequences, enforce_sorted=False)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(s.numpy()) for s in sequences],
                                              enforce_sorted=False)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    assert ours.sorted_indices.tolist() == theirs.sorted_indices.tolist()
    padded = rnn_utils.pad_sequence(sequences, batch_first=True)
    back = rnn_utils.unpad_sequence(padded, [2, 4, 1], batch_first=True)
    assert [b.tolist() for b in back] == [s.tolist() for s in sequences]


@pytest.mark.parametrize("call, error, match", [
    (lambda: rnn_utils.pack_padded_sequence(chainrule.zeros(3, 2), [1, 3]),
     errors.ArgumentError, "decreasing order"),
    (lambda: rnn_utils.pack_padded_sequence(chainrule.zeros(3, 2), [3, 0]),
     errors.ArgumentError, "greater than 0"),
    (lambda: rnn_utils.pack_padded_sequence(chainrule.zeros(3, 2), [4, 1]),
     errors.ShapeError, "longer than"),
    (lambda: rnn_utils.pack_padded_sequence(chainrule.zeros(3, 2), [3, 2, 1]),
     errors.ShapeError, "3 lengths"),
    (lambda: rnn_utils.pad_packed_sequence(rnn_utils.pack_sequence([chainrule.ones(3)]),
                                           total_length=2),
     errors.ArgumentError, "total_length"),
    (lambda: rnn_utils.pad_sequence([chainrule.ones(2, 3), chainrule.ones(2, 4)]),
     errors.ShapeError, "trailing shape"),
    (lambda: rnn_utils.pad_sequence([]), errors.ArgumentError, "empty"),
])
def test_bad_sequence_arguments_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_packed_sequence_is_a_named_tuple():
    packed = rnn_utils.pack_sequence([chainrule.ones(2, 1), chainrule.ones(1, 1)])
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert batch_sizes.tolist() == [2, 1] and sorted_indices is None
    assert packed.double().data.dtype == np.float64
    assert chainrule.nn.utils.rnn.PackedSequence is rnn_utils.PackedSequence
    assert os.path.basename(rnn_utils.__file__) == "rnn.py"
