"""A training-style loop keeps memory flat: graphs are freed after backward."""
import tracemalloc

import chainrule


def test_ten_thousand_iterations_keep_memory_flat():
    w = chainrule.randn(8, 8, requires_grad=True)
    x = chainrule.randn(4, 8)

    def step():
        loss = (chainrule.tanh(x @ w) ** 2).mean()
        loss.backward()
        with chainrule.no_grad():
            w.sub_(w.grad * 0.01)
        w.grad = None

    for _ in range(200):
        step()
    tracemalloc.start()
    for _ in range(1000):
        step()
    after_warmup, _ = tracemalloc.get_traced_memory()
    for _ in range(9000):
        step()
    final, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert final - after_warmup < 64 * 1024, (after_warmup, final)
