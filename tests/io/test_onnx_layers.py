"""ONNX export of the recurrent layers (one RNN/LSTM/GRU node per layer direction), Embedding
(Gather on an integer graph input), InstanceNorm and LocalResponseNorm, and of the indexing
and constant padding they are built with: each model is checked with onnx.checker and run
by onnxruntime on an input other than the traced one, against chainrule's own output."""
import itertools

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.errors import ArgumentError
from chainrule.ops.recurrent import gru_scan, lstm_scan

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
ort.set_default_logger_severity(3)


def _check(model, example, x, tmp_path):
    """Export ``model`` traced on ``example``; onnxruntime on ``x`` equals chainrule."""
    model.eval()
    path = chainrule.onnx.export(model, example, str(tmp_path / "m.onnx"))
    onnx.checker.check_model(onnx.load(path), full_check=True)
    with chainrule.no_grad():
        expected = model(chainrule.tensor(x)).numpy()
    got = ort.InferenceSession(path).run(None, {"input": x})[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    return onnx.load(path)


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


class Everything(nn.Module):
    """A recurrent layer's output and final states, flattened into one tensor."""

    def __init__(self, layer, initial=None):
        super().__init__()
        self.layer, self.initial = layer, initial

    def forward(self, x):
        output, final = self.layer(x, self.initial)
        finals = list(final) if isinstance(final, tuple) else [final]
        return chainrule.cat([t.reshape(-1) for t in [output] + finals])


LAYERS = {"rnn_tanh": lambda **kw: nn.RNN(3, 4, **kw),
          "rnn_relu": lambda **kw: nn.RNN(3, 4, nonlinearity="relu", **kw),
          "lstm": lambda **kw: nn.LSTM(3, 4, **kw), "gru": lambda **kw: nn.GRU(3, 4, **kw)}
GRID = list(itertools.product(sorted(LAYERS), [False, True], [1, 2], [False, True],
                              [None, "param"]))


def _initial(kind, layers, directions, batch, as_parameter=True):
    count = layers * directions
    make = (lambda t: nn.Parameter(t)) if as_parameter else (lambda t: t)
    h0 = make(chainrule.randn(count, batch, 4))
    return (h0, make(chainrule.randn(count, batch, 4))) if kind == "lstm" else h0


@pytest.mark.parametrize("kind, bidirectional, num_layers, batch_first, h0", GRID)
def test_recurrent_layer_export_matches_onnxruntime(kind, bidirectional, num_layers,
                                                    batch_first, h0, tmp_path):
    chainrule.manual_seed(len(kind) + num_layers)
    layer = LAYERS[kind](num_layers=num_layers, bidirectional=bidirectional,
                         batch_first=batch_first)
    batch, steps = 2, 5
    initial = None if h0 is None else _initial(kind, num_layers, 1 + bidirectional, batch)
    shape = (batch, steps, 3) if batch_first else (steps, batch, 3)
    proto = _check(Everything(layer, initial), chainrule.randn(*shape), _random(shape, 1),
                   tmp_path)
    ops = [node.op_type for node in proto.graph.node]
    onnx_op = {"lstm": "LSTM", "gru": "GRU"}.get(kind, "RNN")
    assert ops.count(onnx_op) == num_layers * (1 + bidirectional)   # one per layer direction


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_recurrent_layer_with_constant_initial_state_no_bias_and_unbatched_input(kind,
                                                                                 tmp_path):
    chainrule.manual_seed(3)
    layer = LAYERS[kind](bias=False)
    initial = _initial(kind, 1, 1, 2, as_parameter=False)
    _check(Everything(layer, initial), chainrule.randn(6, 2, 3), _random((6, 2, 3), 2),
           tmp_path)
    _check(Everything(LAYERS[kind](num_layers=2, bidirectional=True)), chainrule.randn(6, 3),
           _random((6, 3), 4), tmp_path)


def test_lstm_with_a_projection_is_refused(tmp_path):
    model = Everything(nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ArgumentError, match="proj_size"):
        chainrule.onnx.export(model, chainrule.randn(5, 2, 3), str(tmp_path / "m.onnx"))


def test_packed_sequences_are_refused(tmp_path):
    class Masked(nn.Module):           # what a layer runs on a PackedSequence
        def __init__(self):
            super().__init__()
            self.w_hh = nn.Parameter(chainrule.randn(6, 2))

        def forward(self, x):
            mask = np.array([[True, True]] * 3 + [[True, False]])
            return gru_scan(x, chainrule.zeros(x.shape[1], 2), self.w_hh, mask=mask)

    with pytest.raises(ArgumentError, match="PackedSequence"):
        chainrule.onnx.export(Masked(), chainrule.randn(4, 2, 6), str(tmp_path / "m.onnx"))


def test_reading_an_lstm_cell_state_before_the_last_step_is_refused(tmp_path):
    class EveryCell(nn.Module):
        def __init__(self):
            super().__init__()
            self.w_hh = nn.Parameter(chainrule.randn(8, 2))

        def forward(self, x):
            zeros = chainrule.zeros(x.shape[1], 2)
            return lstm_scan(x, zeros, zeros, self.w_hh)[:, :, 2:]

    with pytest.raises(ArgumentError, match="cell state"):
        chainrule.onnx.export(EveryCell(), chainrule.randn(4, 3, 8), str(tmp_path / "m.onnx"))


class Lookup(nn.Module):
    def __init__(self, positions=False, padding_idx=None):
        super().__init__()
        self.tokens = nn.Embedding(11, 4, padding_idx=padding_idx)
        self.positions = nn.Embedding(5, 4) if positions else None
        self.head = nn.Linear(4, 3)

    def forward(self, ids):
        x = self.tokens(ids)
        if self.positions is not None:
            x = x + self.positions(chainrule.arange(ids.shape[1]))
        return self.head(x)


@pytest.mark.parametrize("positions, padding_idx", [(False, None), (True, None), (False, -1)])
def test_embedding_exports_as_gather_of_the_integer_input(positions, padding_idx, tmp_path):
    chainrule.manual_seed(5)
    model = Lookup(positions, padding_idx)
    ids = np.random.default_rng(7).integers(0, 11, (3, 5)).astype(np.int64)
    proto = _check(model, chainrule.tensor(np.zeros((3, 5), dtype=np.int64)), ids, tmp_path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert "Gather" in [node.op_type for node in proto.graph.node]


NORMS = {
    "instance1d": (lambda: nn.InstanceNorm1d(3), (2, 3, 7)),
    "instance1d_affine": (lambda: nn.InstanceNorm1d(3, affine=True), (2, 3, 7)),
    "instance2d": (lambda: nn.InstanceNorm2d(3, eps=1e-3), (2, 3, 4, 5)),
    "instance2d_affine": (lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 5)),
    "instance2d_unbatched": (lambda: nn.InstanceNorm2d(3, affine=True), (3, 4, 5)),
    "instance2d_running": (lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
                           (2, 3, 4, 5)),
    "lrn_even": (lambda: nn.LocalResponseNorm(2), (2, 5, 4)),
    "lrn_odd": (lambda: nn.LocalResponseNorm(3, alpha=0.1, beta=0.5, k=2.0), (2, 6, 4, 3)),
    "lrn_wide": (lambda: nn.LocalResponseNorm(5), (2, 4, 3)),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_normalisation_layer_export_matches_onnxruntime(name, tmp_path):
    chainrule.manual_seed(11)
    make, shape = NORMS[name]
    layer = make()
    for p in layer.parameters():
        p.data.copy_(chainrule.randn(*p.shape))
    if layer.__dict__.get("track_running_stats"):
        layer.running_mean.copy_(chainrule.randn(3))
        layer.running_var.copy_(chainrule.rand(3) + 0.5)
    proto = _check(layer, chainrule.randn(*shape), _random(shape, 12), tmp_path)
    if name.startswith("instance") and "running" not in name:
        assert "InstanceNormalization" in [node.op_type for node in proto.graph.node]


@pytest.mark.parametrize("index", [
    (slice(1, None), 0), (Ellipsis, slice(None, None, -2)), (None, slice(0, 2), Ellipsis, 1),
    (-1,), (slice(None), None, slice(3, 0, -1))])
def test_basic_indexing_exports_as_slice(index, tmp_path):
    class Index(nn.Module):
        def forward(self, x):
            return (x * 2)[index]

    _check(Index(), chainrule.randn(3, 4, 5), _random((3, 4, 5), 3), tmp_path)
