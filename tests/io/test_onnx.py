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
    "mish_hardswish": lambda: nn.Sequential(nn.Linear(8, 6), nn.Mish(), nn.Linear(6, 5),
                                            nn.Hardswish(), nn.Linear(5, 3)),
}
IMAGE_MODELS = {
    "lenet": lambda: chainrule.models.LeNet5(3, 4, 16),
    "resnet": lambda: chainrule.models.ResNet(3, 4, blocks=(1, 1), width=4),
    "conv_zoo": lambda: nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding="same", groups=4, dilation=2), nn.AvgPool2d(2, 1, 1),
        nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), nn.Upsample(scale_factor=2),
        nn.GroupNorm(1, 2), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d((3, 2)), nn.Flatten(),
        nn.Linear(12, 3)),
}


@pytest.mark.parametrize("name", sorted(IMAGE_MODELS))
def test_cnn_export_matches_onnxruntime(name, tmp_path):
    chainrule.manual_seed(2)
    model = IMAGE_MODELS[name]()
    model(chainrule.randn(8, 3, 16, 16))                 # running statistics
    path = chainrule.onnx.export(model, chainrule.randn(2, 3, 16, 16), str(tmp_path / "c.onnx"))
    session = ort.InferenceSession(path)
    x = np.random.default_rng(3).standard_normal((5, 3, 16, 16)).astype(np.float32)
    model.eval()
    with chainrule.no_grad():
        expected = model(x).numpy()
    assert np.abs(session.run(None, {"input": x})[0] - expected).max() < 1e-5


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
