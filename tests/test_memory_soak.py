"""A 20,000-step training loop of the default MLP keeps RSS flat after warm-up."""
import resource
import time

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim


def _rss_mb():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


@pytest.mark.slow
def test_20000_training_steps_keep_rss_flat():
    chainrule.manual_seed(0)
    model = chainrule.models.MLP(64, (128, 128, 128), 10, dropout=0.1)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = chainrule.tensor(rng.standard_normal((16, 64)).astype(np.float32))
    y = chainrule.tensor(rng.integers(0, 10, 16))
    started = time.perf_counter()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    for _ in range(2000):
        step()
    warm = _rss_mb()
    for _ in range(18000):
        step()
    final = _rss_mb()
    assert final <= warm * 1.05, f"RSS grew from {warm:.1f} MB to {final:.1f} MB"
    assert time.perf_counter() - started < 240
