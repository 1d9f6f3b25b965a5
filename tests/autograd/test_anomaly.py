"""detect_anomaly names the op (forward and backward NaNs) and the user's line."""
import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.errors import AnomalyError


def test_log_of_zero_in_forward_is_named_with_the_creating_line():
    x = chainrule.tensor([0.0, 1.0], requires_grad=True)
    with chainrule.autograd.detect_anomaly():
        with pytest.raises(AnomalyError) as info:
            chainrule.log(x)
    message = str(info.value)
    assert message.startswith("Log produced -inf in its forward output")
    assert "input 0: shape (2,), range [0, 1]" in message
    assert "test_anomaly.py" in message and "in test_log_of_zero" in message


def test_nan_that_only_appears_in_backward_is_named():
    # sqrt(0) is fine forward, but its gradient 1/(2*sqrt(0)) times the where's zero is NaN
    x = chainrule.tensor([0.0, 4.0], requires_grad=True)
    with chainrule.autograd.detect_anomaly():
        y = chainrule.where(x._data > 0, chainrule.sqrt(x), chainrule.zeros(2))
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    message = str(info.value)
    assert message.startswith("Sqrt produced NaN in its backward gradient")
    assert "test_anomaly.py" in message


def test_without_the_mode_nothing_is_checked_or_captured():
    x = chainrule.tensor([0.0], requires_grad=True)
    y = chainrule.log(x)
    assert y.grad_fn.created_at is None


def test_fit_detect_anomaly_flag():
    model = nn.Linear(2, 1)
    x = np.ones((4, 2), np.float32)
    y = np.full((4, 1), -5.0, np.float32)
    with pytest.raises(AnomalyError, match="Log produced NaN"):
        chainrule.fit(model, lambda o, t: chainrule.log(o - t * 10).mean(),
                      optim.SGD(model.parameters(), lr=0.1), (x, -y), epochs=1, metrics=(),
                      detect_anomaly=True)
