"""The learning-rate range test: raise the rate exponentially over one pass and watch the loss.

Too small a rate barely moves the loss; too large makes it rise (the seeds' question); the
steepest fall in between is a good rate to train with.
"""
import copy
import math

import numpy

from ..errors import ArgumentError
from .fit import as_loader

FLAT_DROP = 0.1     # a curve whose loss never falls by 10% of its start is flat (noise only)


class LRFindResult:
    """The range test's learning rates, smoothed losses and verdict; draw it with
    ``chainrule.viz.plot_lr_find(result, path)``.

    ``suggestion`` is the rate where the loss fell fastest — or None when the curve is flat
    (after its first tenth, the loss never fell by ``FLAT_DROP`` of its starting value), and
    then ``lr_range`` is the range to try instead. ``advice`` says it in words.
    """

    def __init__(self, lrs, losses, suggestion, flat=False, lr_range=None, diverged_at=None):
        self.lrs, self.losses, self.suggestion = lrs, losses, suggestion
        self.flat, self.lr_range, self.diverged_at = flat, lr_range, diverged_at

    @property
    def advice(self):
        if not self.flat:
            return f"suggested learning rate {self.suggestion:.3g}"
        low, high = self.lr_range
        where = (f"it rose from lr {self.diverged_at:.3g}, so try {low:.3g} to {high:.3g}"
                 if self.diverged_at is not None else
                 f"no rate from {self.lrs[0]:.3g} to {self.lrs[-1]:.3g} made it fall, so try "
                 f"{low:.3g} to {high:.3g} (a wider range test: a larger end_lr)")
        return (f"the loss curve is flat (it never fell by {FLAT_DROP:.0%} of its starting "
                f"value), so no learning rate is suggested; {where}")

    def __repr__(self):
        if self.flat:
            return f"LRFindResult(flat, range {self.lr_range[0]:.3g}-{self.lr_range[1]:.3g})"
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
    average, best, diverged_at = 0.0, math.inf, None
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
                if not math.isfinite(smoothed) or smoothed > diverge_factor * best:
                    diverged_at, step = lr, num_iter
                    break
                if step >= num_iter:
                    break
                lr *= factor
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
    return _verdict(lrs, losses, diverged_at)


def _verdict(lrs, losses, diverged_at):
    """The steepest descent of the curve, unless it is flat: then a range to try."""
    finite = [v for v in losses if math.isfinite(v)]
    start, head = starting_loss(losses), max(3, len(losses) // 10)
    fell = finite and math.isfinite(start) and start - min(finite) >= FLAT_DROP * abs(start) \
        and int(numpy.nanargmin(numpy.where(numpy.isfinite(losses), losses, numpy.nan))) >= head
    if fell:
        return LRFindResult(lrs, losses, _steepest(lrs, losses), diverged_at=diverged_at)
    if diverged_at is not None:          # the usual rule: a tenth of where it blew up, and below
        lr_range = (diverged_at / 100, diverged_at / 10)
    else:
        lr_range = (lrs[-1], lrs[-1] * 100)
    return LRFindResult(lrs, losses, None, flat=True, lr_range=lr_range,
                        diverged_at=diverged_at)


def starting_loss(losses):
    """The loss before the rate matters: the median of the first tenth of the curve (at least
    three points), so one lucky or unlucky first batch does not decide."""
    head = [v for v in losses[:max(3, len(losses) // 10)] if math.isfinite(v)]
    return float(numpy.median(head)) if head else math.nan


def _steepest(lrs, losses):
    """The rate where the smoothed loss falls fastest against log(lr) (ends trimmed)."""
    if len(lrs) < 5:
        return lrs[int(numpy.argmin(losses))]
    log_lr = numpy.log10(lrs)
    slope = numpy.gradient(numpy.asarray(losses, dtype=float), log_lr)
    lo, hi = len(lrs) // 10, len(lrs) - max(len(lrs) // 10, 1)
    return float(lrs[lo + int(numpy.argmin(slope[lo:hi]))])
