"""Layers: init statistics, Dropout, Embedding, norms (with PyTorch parity when available)."""
import math

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.autograd import gradcheck
from tests.helpers import make


def test_linear_default_init_matches_pytorch_bounds():
    chainrule.manual_seed(0)
    layer = nn.Linear(100, 50)
    bound = 1 / math.sqrt(100)
    w = layer.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * 0.1 + 0.005
    assert np.abs(layer.bias.numpy()).max() <= bound


def test_linear_gradients_and_double_backward():
    x, w, b = make((4, 3), 0), make((2, 3), 1), make((2,), 2)
    assert gradcheck(chainrule.linear, (x, w, b))
    assert chainrule.autograd.gradgradcheck(chainrule.linear, (x, w, b))
    x3 = make((2, 4, 3), 3)
    assert gradcheck(chainrule.linear, (x3, w, b))


def test_linear_rejects_wrong_input_width_and_converts_float64():
    layer = nn.Linear(3, 2)
    with pytest.raises(chainrule.ShapeError, match=r"\(5, 4\).*in_features=3"):
        layer(chainrule.ones(5, 4))
    with pytest.warns(UserWarning, match="float64"):
        out = layer(np.ones((2, 3)))
    assert out.dtype == np.float32


def test_init_functions_fill_with_the_right_statistics():
    chainrule.manual_seed(1)
    w = chainrule.zeros(400, 300)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - math.sqrt(2 / 300)) < 0.002
    nn.init.xavier_uniform_(w)
    assert abs(np.abs(w.numpy()).max() - math.sqrt(6 / 700)) < 1e-3
    nn.init.constant_(w, 3.0)
    assert (w.numpy() == 3).all()


def test_dropout_is_inverted_and_off_in_eval():
    chainrule.manual_seed(0)
    layer = nn.Dropout(0.25)
    y = layer(chainrule.ones(10000)).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    layer.eval()
    assert (layer(chainrule.ones(5)).numpy() == 1).all()


def test_embedding_lookup_and_scatter_gradient():
    emb = nn.Embedding(5, 3, padding_idx=0)
    idx = chainrule.tensor([[1, 1, 0], [4, 2, 1]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    out.sum().backward()
    assert emb.weight.grad.numpy()[1].tolist() == [3.0, 3.0, 3.0]
    assert emb.weight.grad.numpy()[0].tolist() == [0.0, 0.0, 0.0]


def test_layer_norm_and_batch_norm_gradients():
    x = make((4, 5), 0)
    w, b = make((5,), 1), make((5,), 2)
    assert gradcheck(lambda x, w, b: nn.functional.layer_norm(x, 5, w, b), (x, w, b))
    assert gradcheck(lambda x, w, b: nn.functional.batch_norm(x, None, None, w, b, True),
                     (x, w, b))


@pytest.mark.torch
def test_batchnorm1d_running_stats_and_eval_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    for _ in range(5):
        x = rng.standard_normal((8, 4)).astype(np.float32) * 3 + 1
        np.testing.assert_allclose(ours(chainrule.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), atol=1e-5)
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 5
    ours.eval(), theirs.eval()
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    with chainrule.no_grad():
        got = ours(chainrule.tensor(x)).numpy()
    np.testing.assert_allclose(got,
                               theirs(torch.tensor(x)).detach().numpy(), atol=1e-5)


@pytest.mark.torch
def test_layer_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    ours = nn.LayerNorm((4, 5))(chainrule.tensor(x)).numpy()
    theirs = torch.nn.LayerNorm((4, 5))(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
