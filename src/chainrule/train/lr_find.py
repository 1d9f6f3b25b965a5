"""The learning-rate range test: raise the rate exponentially over one pass and watch the loss.

Too small a rate barely moves the loss; too large makes it rise (the seeds' question); the
steepest fall in between is a good rate to train with.
"""
import copy
import math

import numpy

from ..errors import ArgumentError
from .fit import as_loader


class LRFindResult:
    def __init__(self, lrs, losses, suggestion):
        self.lrs, self.losses, self.suggestion = lrs, losses, suggestion

    def plot(self, path="lr_find.png"):
        from ..viz.plots import plot_lr_find
        return plot_lr_find(self, path)

    def __repr__(self):
        return f"LRFindResult(suggestion={self.suggestion:.3g}, {len(self.lrs)} rates tried)"


def lr_find(model, loss_fn, optimizer, data, start_lr=1e-7, end_lr=10.0, num_iter=100,
            batch_size=32, smooth=0.98, diverge_factor=4.0):
    """Run the range test and suggest a rate (the steepest descent of the smoothed loss).

    The model and optimizer are restored afterwards, so training can start fresh.

    >>> import chainrule
    >>> from chainrule.data import datasets
    >>> split = datasets.iris()
    >>> model = chainrule.models.MLP(4, (8,), 3)
    >>> result = lr_find(model, chainrule.nn.CrossEntropyLoss(),
    ...                 chainrule.optim.SGD(model.parameters(), lr=0.1), split.train, num_iter=30)
    >>> 1e-7 <= result.suggestion <= 10
    True
    """
    if not 0 < start_lr < end_lr:
        raise ArgumentError(f"lr_find: need 0 < start_lr < end_lr, got {start_lr}, {end_lr}")
    loader = as_loader(data, batch_size, True, "lr_find(data)")
    model_state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    factor = (end_lr / start_lr) ** (1 / max(num_iter - 1, 1))
    lrs, losses = [], []
    average, best = 0.0, math.inf
    model.train()
    try:
        lr, step = start_lr, 0
        while step < num_iter:
            for x, y in loader:
                for group in optimizer.param_groups:
                    group["lr"] = lr
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                value = float(loss._data)
                step += 1
                average = smooth * average + (1 - smooth) * value
                smoothed = average / (1 - smooth ** step)
                lrs.append(lr)
                losses.append(smoothed)
                best = min(best, smoothed)
                if not math.isfinite(smoothed) or smoothed > diverge_factor * best \
                        or step >= num_iter:
                    step = num_iter
                    break
                lr *= factor
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
    return LRFindResult(lrs, losses, _steepest(lrs, losses))


def _steepest(lrs, losses):
    """The rate where the smoothed loss falls fastest against log(lr) (ends trimmed)."""
    if len(lrs) < 5:
        return lrs[int(numpy.argmin(losses))]
    log_lr = numpy.log10(lrs)
    slope = numpy.gradient(numpy.asarray(losses, dtype=float), log_lr)
    lo, hi = len(lrs) // 10, len(lrs) - max(len(lrs) // 10, 1)
    return float(lrs[lo + int(numpy.argmin(slope[lo:hi]))])
