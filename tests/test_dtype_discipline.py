"""float32 end to end: training a float32 model creates no float64 array anywhere."""
import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.autograd.function import Function


@pytest.fixture
def no_float64(monkeypatch):
    """Every op result (forward and backward) is checked as it is made."""
    seen = []
    original = Function.__call__

    def checked(self, *inputs):
        out = original(self, *inputs)
        if out._data.dtype == np.float64:
            seen.append(type(self).__name__)
        return out
    monkeypatch.setattr(Function, "__call__", checked)
    return seen


@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4),
    lambda p: optim.Adam(p, lr=1e-3, amsgrad=True),
    lambda p: optim.Adamax(p), lambda p: optim.RMSprop(p, centered=True),
])
def test_float32_mlp_training_makes_no_float64(no_float64, make_optimizer):
    chainrule.manual_seed(0)
    model = chainrule.models.MLP(20, (32, 32), 5, dropout=0.1, batch_norm=True)
    opt = make_optimizer(model.parameters())
    x = chainrule.randn(16, 20)
    y = chainrule.randint(0, 5, (16,))
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    assert no_float64 == []
    for p in model.parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32
        for value in opt.state[p].values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32
    assert loss.dtype == np.float32


def test_float32_cnn_training_makes_no_float64(no_float64):
    chainrule.manual_seed(0)
    model = chainrule.models.LeNet5(3, 4, 16)
    opt = optim.Adam(model.parameters())
    x, y = chainrule.randn(4, 3, 16, 16), chainrule.randint(0, 4, (4,))
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    assert no_float64 == []
