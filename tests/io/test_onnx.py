"""ONNX export validates and matches onnxruntime; unsupported ops are named."""
import numpy as np
import pytest

import chainrule
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

MODELS = {
    "mlp": lambda: chainrule.models.MLP(8, (16, 16, 16), 3),
    "mlp_gelu_dropout": lambda: chainrule.models.MLP(8, (16,), 3, activation="gelu",
                                                     dropout=0.3),
    "norms_and_activations": lambda: nn.Sequential(
        nn.Linear(8, 16), nn.LayerNorm(16), nn.SiLU(), nn.BatchNorm1d(16), nn.ELU(),
        nn.Linear(16, 6), nn.LeakyReLU(0.2), nn.Softplus(), nn.Tanh(), nn.Linear(6, 4),
        nn.LogSoftmax(1)),
    "sigmoid_softmax": lambda: nn.Sequential(nn.Linear(8, 5), nn.Sigmoid(),
                                             nn.GELU("tanh"), nn.Softmax(-1)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_export_validates_and_matches_onnxruntime(name, tmp_path):
    chainrule.manual_seed(1)
    model = MODELS[name]()
    if name == "norms_and_activations":          # give BatchNorm non-trivial running stats
        model(chainrule.randn(32, 8) * 3 + 1)
    path = chainrule.onnx.export(model, chainrule.randn(2, 8), str(tmp_path / "m.onnx"))
    onnx.checker.check_model(onnx.load(path))
    session = ort.InferenceSession(path)
    for batch in (1, 7):                                  # dynamic batch dimension
        x = np.random.default_rng(batch).standard_normal((batch, 8)).astype(np.float32)
        got = session.run(None, {"input": x})[0]
        model.eval()
        with chainrule.no_grad():
            expected = model(x).numpy()
        assert np.abs(got - expected).max() < 1e-5


def test_unsupported_op_is_named(tmp_path):
    class Odd(nn.Module):
        def forward(self, x):
            return chainrule.logsumexp(x, dim=1)
    with pytest.raises(chainrule.io.onnx.UnsupportedOpError, match="op LogSumExp is not "
                       "supported"):
        chainrule.onnx.export(Odd(), chainrule.randn(2, 3), str(tmp_path / "odd.onnx"))
