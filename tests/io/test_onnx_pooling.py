"""ONNX export of pooling with PyTorch's options (ceil_mode, dilation, count_include_pad,
divisor_override, adaptive max, lp_pool, pixel (un)shuffle) matches onnxruntime, batched
and unbatched, with a dynamic batch."""
import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.errors import ArgumentError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

LAYERS = {
    "max_ceil_dilation": lambda: nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
    "max_ceil": lambda: nn.MaxPool2d((2, 3), (2, 2), (1, 0), ceil_mode=True),
    "max_1d": lambda: nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True),
    "max_3d": lambda: nn.MaxPool3d(2, 2, 1, ceil_mode=True),
    "avg_ceil": lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True),
    "avg_exclude_pad": lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg_divisor": lambda: nn.AvgPool2d((2, 3), 2, 1, divisor_override=4),
    "avg_1d": lambda: nn.AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg_3d": lambda: nn.AvgPool3d(3, 2, 1, ceil_mode=True),
    "adaptive_max": lambda: nn.AdaptiveMaxPool2d((3, 2)),
    "global_max": lambda: nn.AdaptiveMaxPool2d(1),
    "lp_pool": lambda: nn.LPPool2d(2, 3, 2, ceil_mode=True),
    "pixel_shuffle": lambda: nn.PixelShuffle(2),
    "pixel_unshuffle": lambda: nn.PixelUnshuffle(2),
}
SHAPES = {"max_1d": (3, 4, 11), "avg_1d": (3, 4, 11), "max_3d": (3, 4, 5, 6, 7),
          "avg_3d": (3, 4, 5, 6, 7), "adaptive_max": (3, 4, 6, 8)}


def _run(model, shape, tmp_path, batch=5, dynamic=True):
    path = chainrule.onnx.export(model, chainrule.randn(*shape), str(tmp_path / "p.onnx"),
                                 dynamic_batch=dynamic)
    onnx.checker.check_model(onnx.load(path))
    session = ort.InferenceSession(path)
    x = np.random.default_rng(3).standard_normal((batch,) + shape[1:]).astype(np.float32)
    with chainrule.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {"input": x})[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_pooling_layer_export_matches_onnxruntime(name, tmp_path):
    shape = SHAPES.get(name, (3, 4, 7, 9) if name != "pixel_unshuffle" else (3, 4, 8, 6))
    _run(LAYERS[name](), shape, tmp_path)


def test_a_model_with_the_new_options_exports(tmp_path):
    chainrule.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1, dilation=2,
                                                             ceil_mode=True),
        nn.Conv2d(8, 16, 3, padding=1), nn.PixelShuffle(2),
        nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    _run(model, (2, 3, 15, 17), tmp_path)


def test_unbatched_pooling_exports(tmp_path):
    _run(nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (4, 7, 9), tmp_path,
         batch=4, dynamic=False)


def test_adaptive_max_pool_with_unequal_bins_is_refused(tmp_path):
    with pytest.raises(ArgumentError, match="unequal size"):
        chainrule.onnx.export(nn.AdaptiveMaxPool2d(3), chainrule.randn(1, 2, 7, 7),
                              str(tmp_path / "a.onnx"))
