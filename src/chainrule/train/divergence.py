"""DivergenceGuard: stop a run whose loss diverges, and say why in plain words.

When the loss becomes NaN/inf the guard looks for the cause, in this order, while the
weights are still those that produced the bad loss:

1. NaN/inf in the batch: the inputs or the targets (names the batch and the sample);
2. the learning rate: not a finite number, or so large that the weights overflowed (the
   loss grew by orders of magnitude first); a smaller rate is suggested;
3. an op: with finite inputs and weights, the batch is replayed under ``detect_anomaly``,
   which names the op that made the first NaN/inf (log of a negative number, an overflow).

A loss that grows ``threshold`` times above its first value, or rises ``patience`` steps in
a row, is blamed on the learning rate.
"""
import inspect
import math
import warnings

import numpy

from .. import backend
from ..autograd.anomaly import detect_anomaly
from ..callback import Callback
from ..distributed import SyncBatchNorm, runtime
from ..errors import AnomalyError, ArgumentError

#: the loss "grew by orders of magnitude" when its last finite value is this many times
#: its first: an overflow that follows is the learning rate's doing, not an op's
GROWTH_BLAMED_ON_LR = 100.0


class DivergenceGuard(Callback):
    """Notice a loss that becomes NaN/inf, explodes, or rises ``patience`` steps in a row,
    and say why (see the module's docstring for how causes are told apart).

    ``action="stop"`` ends training: ``history.diverged`` becomes True and
    ``history.stop_reason`` holds the explanation (with ``warn=True`` it is also issued as a
    RuntimeWarning; the guard ``fit`` adds by default does that). ``"warn"`` only warns.

    >>> import chainrule, numpy as np
    >>> model = chainrule.nn.Linear(1, 1)
    >>> x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(-1, 1)
    >>> h = chainrule.fit(model, chainrule.nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=50.0),
    ...                 (x, 100 * x), epochs=20, metrics=(), callbacks=[DivergenceGuard(patience=3)])
    >>> h.diverged, h.stop_reason.startswith("DivergenceGuard: ")
    (True, True)
    """

    def __init__(self, patience=20, action="stop", threshold=1e6, warn=False):
        if action not in ("stop", "warn"):
            raise ArgumentError(f"DivergenceGuard: action must be 'stop' or 'warn', got {action!r}")
        if not patience >= 1 or not threshold > 1:
            raise ArgumentError(f"DivergenceGuard: need patience >= 1 and threshold > 1, got "
                                f"patience={patience!r}, threshold={threshold!r}")
        self.patience, self.action, self.threshold = patience, action, threshold
        self.warn = warn
        self._reset()

    def _reset(self):
        self.previous, self.rising = None, 0
        self.first = self.last = None        # first and last finite losses: (step, value)

    @property
    def stops(self):
        return self.action == "stop"

    def on_train_begin(self, trainer):
        self._reset()
        trainer.guard = self

    # ------------------------------------------------------------ every step
    def on_batch_end(self, trainer, step, loss):
        lr = _lr(trainer.optimizer)
        if not math.isfinite(loss):
            report = trainer.nonfinite_report
            if getattr(trainer, "distributed", False):
                report = _from_every_rank(report)
            self._fire(trainer, report or f"the loss became {loss} at step {step}")
            return
        if self.first is None:
            self.first = (step, loss)
        self.last = (step, loss)
        start = self.first[1]
        if loss > self.threshold * max(abs(start), 1e-3):
            self._fire(trainer, f"the loss exploded to {loss:.4g} at step {step} (it started "
                                f"at {start:.4g}): {too_large(trainer.optimizer, lr)}")
            return
        self.rising = self.rising + 1 if self.previous is not None and loss > self.previous \
            else 0
        self.previous = loss
        if self.rising >= self.patience:
            self._fire(trainer, f"the loss rose for {self.rising} steps in a row (now "
                                f"{loss:.4g} at step {step}): {too_large(trainer.optimizer, lr)}")
            self.rising = 0

    def _fire(self, trainer, message):
        message = "DivergenceGuard: " + message
        if self.action == "stop":
            trainer.stop(message, diverged=True)
            if self.warn and trainer.is_main:
                warnings.warn(message, RuntimeWarning, stacklevel=2)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    # ------------------------------------------------------------ why the loss is NaN/inf
    def explain(self, trainer, x, y, loss):
        """Why ``loss`` (NaN/inf) came out of batch (x, y), told while the weights are still
        those that produced it (the training loop calls this before backward)."""
        step = trainer.step_count + 1
        where = f"at step {step} (epoch {trainer.epoch}, batch {trainer.batch_index})"
        head = f"the loss became {loss} {where}"
        for tensor, what in ((x, "inputs"), (y, "targets")):
            found = _nonfinite_samples(tensor)
            if found:
                return f"{head} because the {what} of that batch hold NaN/inf: {found}" + \
                    _in_the_dataset(trainer.loader, what) + \
                    " — remove or impute those values before training (it is not the " \
                    "learning rate)"
        optimizer = trainer.optimizer
        lr = _lr(optimizer)
        if lr is not None and not math.isfinite(lr):
            return (f"{head}: the learning rate is lr={lr}, so the first update turned the "
                    f"weights into NaN/inf — use a finite learning rate, e.g. "
                    f"{_default_phrase(optimizer)}")
        broken = [name for name, p in trainer.model.named_parameters()
                  if not numpy.isfinite(backend.to_numpy(p._data)).all()]
        if broken:
            return f"{head}: {self._weights_story(broken, optimizer, lr, step)}"
        found = _replay(trainer, x, y)
        if self._grew():
            return (f"{head} after the loss grew from {self.first[1]:.4g} to "
                    f"{self.last[1]:.4g}: the weights are so large that the model "
                    f"overflowed ({found or 'no op named'}): {too_large(optimizer, lr)}")
        if found:
            return (f"{head} with finite inputs and weights: {found} — an op got values "
                    "outside its domain (log or sqrt of a negative number, 0/0) or "
                    "overflowed in that layer; it is not the learning rate")
        return f"{head} with finite inputs and weights, and no op reported it"

    def _weights_story(self, broken, optimizer, lr, step):
        first = broken[0] + (f" and {len(broken) - 1} more" if len(broken) > 1 else "")
        if step == 1:
            return (f"the model's weights hold NaN/inf before training started ({first}) — "
                    "initialise or load them again")
        if self._grew():
            return (f"the weights overflowed to NaN/inf ({first}) after the loss grew from "
                    f"{self.first[1]:.4g} to {self.last[1]:.4g}: {too_large(optimizer, lr)}")
        return (f"the update after step {step - 1} turned the weights into NaN/inf ({first}): "
                f"{too_large(optimizer, lr)}; if a smaller rate does not help, a gradient "
                "may be NaN/inf — rerun with fit(..., detect_anomaly=True) to name the op")

    def _grew(self):
        return self.first is not None and self.last is not None and \
            self.last[1] > GROWTH_BLAMED_ON_LR * max(abs(self.first[1]), 1e-3)


def too_large(optimizer, lr):
    """'the learning rate (lr=1) is probably too large — try lr=0.1', naming the
    optimizer's default rate too when the given one is far above it.

    >>> import chainrule
    >>> opt = chainrule.optim.Adam([chainrule.zeros(1, requires_grad=True)], lr=1e6)
    >>> too_large(opt, 1e6)
    "the learning rate (lr=1e+06) is probably too large — try lr=100000 (Adam's default lr=0.001)"
    """
    if lr is None:
        return "the learning rate is probably too large"
    text = f"the learning rate (lr={lr:g}) is probably too large — try lr={lr / 10:g}"
    default = _default_lr(optimizer)
    if default is not None and lr > 100 * default:
        text += f" ({_default_phrase(optimizer)})"
    return text


def _lr(optimizer):
    value = optimizer.param_groups[0].get("lr")
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _default_lr(optimizer):
    try:
        default = inspect.signature(type(optimizer).__init__).parameters["lr"].default
    except (KeyError, TypeError, ValueError):
        return None
    return float(default) if isinstance(default, (int, float)) else None


def _default_phrase(optimizer):
    default = _default_lr(optimizer)
    name = type(optimizer).__name__
    return f"{name}'s default lr={default:g}" if default is not None else "lr=0.001"


def _nonfinite_samples(tensor):
    """'sample 3 of the batch has nan at position (2,); 2 of its 8 samples have NaN/inf',
    or '' when the tensor is finite (or not floating point)."""
    if not hasattr(tensor, "_data"):
        return ""
    array = backend.to_numpy(tensor._data)
    if backend.kind(array.dtype) not in "fc" or array.ndim == 0 or numpy.isfinite(array).all():
        return ""
    bad = ~numpy.isfinite(array)
    rows = numpy.flatnonzero(bad.reshape(len(array), -1).any(axis=1))
    sample = int(rows[0])
    position = tuple(int(i) for i in numpy.argwhere(bad[sample])[0])
    value = array[sample][position] if position else array[sample]
    many = f"{len(rows)} of its {len(array)} samples have" if len(rows) > 1 else \
        f"it is the only one of its {len(array)} samples with"
    return f"sample {sample} of the batch has {value} at position {position}; {many} NaN/inf"


def _in_the_dataset(loader, what):
    """How many samples of the whole training set are affected (a TensorDataset only)."""
    tensors = getattr(getattr(loader, "dataset", None), "tensors", None)
    if not tensors or len(tensors) < 2:
        return ""
    array = backend.to_numpy(tensors[0 if what == "inputs" else 1]._data)
    if backend.kind(array.dtype) not in "fc" or array.ndim == 0:
        return ""
    rows = numpy.flatnonzero(~numpy.isfinite(array.reshape(len(array), -1)).all(axis=1))
    shown = ", ".join(str(i) for i in rows[:5]) + (", ..." if len(rows) > 5 else "")
    if len(rows) == 1:
        return f"; the training data has 1 such sample (dataset index {shown})"
    return f"; the training data has {len(rows)} such samples (dataset indices {shown})"


def _replay(trainer, x, y):
    """Run the batch forward again under detect_anomaly; the op it names, or ''.

    Forward only (the loss is NaN/inf, so the forward made it), and never in a model that
    would start a collective on this rank alone (SyncBatchNorm)."""
    model = trainer.model
    if getattr(trainer, "distributed", False) and any(
            isinstance(m, SyncBatchNorm) for m in model.modules()):
        return ""
    try:
        with detect_anomaly():
            trainer.loss_fn(model(x), y)
    except AnomalyError as error:
        return f"detect_anomaly found: {error}"
    return ""


def _from_every_rank(report):
    """In a distributed run the rank whose batch went wrong knows why: every rank gets
    that rank's explanation (the guard fires on every rank at the same step)."""
    reports = runtime.all_gather_objects(report)
    for rank, text in enumerate(reports):
        if text:
            return f"on rank {rank}: {text}" if len(reports) > 1 else text
    return ""
