"""The training loop: predict, measure the loss, backpropagate, step, repeat.

``fit`` takes DataLoaders, Datasets or plain (X, y) arrays, runs epochs with callbacks,
and returns a :class:`History`. ``evaluate`` and ``predict`` run the model without a graph.
"""
import time
import warnings

import numpy

from .. import backend
from ..autograd.anomaly import detect_anomaly as _detect_anomaly
from ..autograd.grad_mode import no_grad
from ..data.dataset import Dataset, TensorDataset
from ..data.loader import DataLoader
from ..errors import AnomalyError, ArgumentError, ArgumentTypeError, ConfigError, ShapeError
from ..tensor import Tensor
from .callbacks import Callback, LRSchedulerCallback, ProgressBar
from .history import History
from .metrics import get_metric


def as_loader(data, batch_size=32, shuffle=False, name="data", generator=None):
    """DataLoader, Dataset or (X, y) -> DataLoader, checking (X, y) as it goes."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data, Dataset):
        x, y = data
        x = x if isinstance(x, Tensor) else Tensor(numpy.asarray(x))
        y = y if isinstance(y, Tensor) else Tensor(numpy.asarray(y))
        if x.ndim == 0 or y.ndim == 0:
            raise ShapeError(f"{name}: X and y need a sample dimension, got shapes {x.shape} "
                             f"and {y.shape}")
        if x.shape[0] != y.shape[0]:
            raise ShapeError(f"{name}: X has {x.shape[0]} samples but y has {y.shape[0]} "
                             f"(shapes {x.shape} and {y.shape})")
        if x.shape[0] == 0:
            raise ArgumentError(f"{name}: the dataset is empty (0 samples)")
        data = TensorDataset(x, y)
    if isinstance(data, Dataset) or hasattr(data, "__getitem__"):
        if len(data) == 0:
            raise ArgumentError(f"{name}: the dataset is empty (0 samples)")
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
    raise ArgumentTypeError(f"{name}: expected a DataLoader, a Dataset or an (X, y) pair, got "
                            f"{type(data).__name__}")


def _split_batch(batch):
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ArgumentError("each batch must be an (inputs, targets) pair")


def _threshold_for(loss_fn):
    from ..nn.loss import BCELoss
    return 0.5 if isinstance(loss_fn, BCELoss) else 0.0


class Trainer:
    """The state of one ``fit`` call, handed to every callback."""

    def __init__(self, model, loss_fn, optimizer, loader, epochs, history, grad_clip,
                 record_params, detect_anomaly):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.loader, self.epochs, self.history = loader, epochs, history
        self.grad_clip, self.record_params = grad_clip, record_params
        self.anomaly = detect_anomaly
        self.batches_per_epoch = len(loader)
        self.step_count = 0
        self.epoch = 0
        self.should_stop = False
        self.is_main = True
        self.watch_nan = False      # set by DivergenceGuard: explain a NaN loss when it appears
        self.nan_report = ""

    def stop(self, reason):
        self.should_stop = True
        if self.history.stop_reason is None:
            self.history.stop_reason = reason

    # ------------------------------------------------------------ one step
    def train_step(self, x, y):
        if self.anomaly:
            with _detect_anomaly():
                return self._step(x, y)
        return self._step(x, y)

    def _step(self, x, y):
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        if optimizer.closure_needs_graph:
            captured = {}

            def closure():
                out = model(x)
                captured["out"] = out
                return loss_fn(out, y)
            loss = optimizer.step(closure)
            return loss, captured["out"]
        if getattr(optimizer, "step_needs_closure", False) or type(optimizer).__name__ == "LBFGS":
            captured = {}

            def closure():
                optimizer.zero_grad()
                out = model(x)
                captured["out"] = out
                loss = loss_fn(out, y)
                loss.backward()
                return loss
            loss = optimizer.step(closure)
            return loss, captured["out"]
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        if self.watch_nan and not numpy.isfinite(float(loss._data)):
            self.nan_report = self.locate_nan(x, y)
        loss.backward()
        synchronize = getattr(model, "synchronize", None)
        if synchronize is not None:
            synchronize()
        self._clip()
        if self.record_params:
            self._record_params(loss)
        optimizer.step()
        return loss, out

    def _clip(self):
        if self.grad_clip is None:
            return
        from ..nn.utils import clip_grad_norm_, clip_grad_value_
        kind, value = ("norm", self.grad_clip) if not isinstance(self.grad_clip, dict) else \
            next(iter(self.grad_clip.items()))
        if kind == "norm":
            clip_grad_norm_(self.model.parameters(), value)
        elif kind == "value":
            clip_grad_value_(self.model.parameters(), value)
        else:
            raise ConfigError(f"grad_clip: use a number (max norm), {{'norm': x}} or "
                              f"{{'value': x}}, got {self.grad_clip!r}")

    def _record_params(self, loss):
        row = {"step": self.step_count + 1, "loss": float(loss._data)}
        for name, p in self.model.named_parameters():
            row[name] = _plain(p._data)
            row["grad_" + name] = None if p.grad is None else _plain(p.grad._data)
        self.history.params.append(row)

    def locate_nan(self, x, y):
        """Replay a batch (before the weights move) under detect_anomaly; say which op made
        the first NaN/inf, in the forward or the backward pass."""
        try:
            with _detect_anomaly():
                self.loss_fn(self.model(x), y).backward()
        except AnomalyError as error:
            return f"detect_anomaly found: {error}"
        finally:
            self.optimizer.zero_grad()
        return ""


def _plain(array):
    array = backend.to_numpy(array)
    return array.item() if array.size == 1 else array.tolist()


def fit(model, loss_fn, optimizer, train_data, *, epochs=1, val_data=None,
        metrics=("accuracy",), callbacks=(), scheduler=None, grad_clip=None, batch_size=32,
        shuffle=True, record_params=False, progress=False, detect_anomaly=False,
        checkpoint=None, checkpoint_dir=None, checkpoint_every=1, keep_last=3, resume=False,
        checkpoint_monitor="val_loss", distributed=False):
    """Train ``model`` and return its :class:`History`.

    Args:
        train_data, val_data: a DataLoader, a Dataset, or an (X, y) pair of arrays/tensors.
        metrics: names from ``chainrule.train.metrics`` (accuracy, top5_accuracy, precision,
            recall, f1, mae, rmse, r2) or functions ``f(outputs, targets)``.
        scheduler: stepped once per epoch (ReduceLROnPlateau gets val_loss).
        grad_clip: a max gradient norm, or {"norm": x} / {"value": x}.
        record_params: keep every parameter and gradient per step (small models only).
        progress: show a progress bar (ProgressBar callback).
        detect_anomaly: run every step under ``chainrule.autograd.detect_anomaly``.
        checkpoint: a callback (e.g. ``chainrule.io.ModelCheckpoint``) that saves state.
        checkpoint_dir: save the whole training state there every ``checkpoint_every``
            epochs (the last ``keep_last`` kept, plus best.safetensors by
            ``checkpoint_monitor``); with ``resume=True`` continue from the newest one,
            ending bit-identical to an uninterrupted run with the same seed.
        distributed: data-parallel over MPI (run under mpiexec): the model is wrapped in
            DistributedDataParallel, each rank trains on its DistributedSampler shard with
            ``batch_size`` per rank, losses and metrics are all-reduced so every rank reports
            the global figure, and only rank 0 prints, logs and checkpoints.

    >>> import chainrule, numpy as np
    >>> _ = chainrule.manual_seed(0)
    >>> from chainrule import nn
    >>> x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1); y = 3 * x + 1
    >>> model = nn.Linear(1, 1)
    >>> h = fit(model, nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1), (x, y),
    ...         epochs=50, metrics=())
    >>> round(model.weight.item(), 2), round(model.bias.item(), 2)
    (3.0, 1.0)
    """
    if epochs < 1:
        raise ConfigError(f"fit: epochs must be at least 1, got {epochs}")
    loader = as_loader(train_data, batch_size, shuffle, "fit(train_data)")
    if distributed:
        model, loader = _distribute(model, loader, shuffle)
    val_loader = None if val_data is None else as_loader(val_data, batch_size, False,
                                                         "fit(val_data)")
    _check_optimizer_covers(model, optimizer)
    metric_fns = [get_metric(m) for m in metrics]
    callbacks = list(callbacks)
    if progress:
        callbacks.insert(0, ProgressBar())
    if scheduler is not None:
        callbacks.append(LRSchedulerCallback(scheduler))
    if checkpoint is not None:
        callbacks.append(checkpoint)
    if checkpoint_dir is not None:
        from ..io.checkpoint import ModelCheckpoint
        callbacks.append(ModelCheckpoint(checkpoint_dir, every=checkpoint_every,
                                         keep_last=keep_last, monitor=checkpoint_monitor,
                                         resume=resume))
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise ArgumentTypeError(
                f"fit: callbacks must be Callback instances, got {type(cb).__name__}")
    history = History()
    trainer = Trainer(model, loss_fn, optimizer, loader, epochs, history, grad_clip,
                      record_params, detect_anomaly)
    trainer.scheduler = scheduler
    trainer.distributed = distributed
    if distributed:
        from ..distributed import runtime
        trainer.is_main = runtime.is_main()
    threshold = _threshold_for(loss_fn)
    start_epoch = 1
    for cb in callbacks:
        cb.on_train_begin(trainer)
        start_epoch = max(start_epoch, getattr(cb, "resume_epoch", 1))
    for epoch in range(start_epoch, epochs + 1):
        trainer.epoch = epoch
        began = time.perf_counter()
        logs = _train_epoch(trainer, callbacks, metric_fns, threshold)
        if val_loader is not None:
            val = evaluate(model, loss_fn, val_loader, metrics=[name for name, _ in metric_fns],
                           _metric_fns=metric_fns)
            logs.update({"val_" + k: v for k, v in val.items()})
        logs["lr"] = float(optimizer.param_groups[0].get("lr", float("nan")))
        history.log_epoch(logs)
        history.timing.append(time.perf_counter() - began)
        for cb in callbacks:
            cb.on_epoch_end(trainer, epoch, logs)
        if trainer.should_stop:
            break
    for cb in callbacks:
        cb.on_train_end(trainer)
    return history


def _distribute(model, loader, shuffle):
    """Wrap the model in DDP and give the loader a DistributedSampler over its dataset."""
    from ..distributed import DistributedDataParallel, DistributedSampler
    if not isinstance(model, DistributedDataParallel):
        model = DistributedDataParallel(model)
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle)
    loader = DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                        collate_fn=loader.collate_fn, drop_last=loader.drop_last)
    return model, loader


def _global(total, count, outputs, targets):
    """Loss sums and epoch outputs from every rank (once per epoch, not per step)."""
    from ..distributed import runtime
    if not runtime.is_distributed():
        return total, count, outputs, targets
    sums = numpy.array([total, count], dtype=numpy.float64)
    runtime.all_reduce(sums)
    gathered = runtime.all_gather_objects((outputs, targets))
    outputs = [o for part in gathered for o in part[0]]
    targets = [t for part in gathered for t in part[1]]
    return float(sums[0]), float(sums[1]), outputs, targets


def _train_epoch(trainer, callbacks, metric_fns, threshold):
    model, history = trainer.model, trainer.history
    model.train()
    sampler = getattr(trainer.loader, "sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(trainer.epoch)
    for cb in callbacks:
        cb.on_epoch_begin(trainer, trainer.epoch)
    total, count = 0.0, 0
    outputs, targets = [], []
    for batch in trainer.loader:
        x, y = _split_batch(batch)
        loss, out = trainer.train_step(x, y)
        trainer.step_count += 1
        value = float(loss._data)
        n = x.shape[0]
        total, count = total + value * n, count + n
        if metric_fns:
            outputs.append(backend.to_numpy(out._data))
            targets.append(backend.to_numpy(y._data))
        history.log_step({"step": trainer.step_count, "epoch": trainer.epoch, "loss": value,
                          "lr": float(trainer.optimizer.param_groups[0].get("lr", 0.0))})
        for cb in callbacks:
            cb.on_batch_end(trainer, trainer.step_count, value)
        if trainer.should_stop:
            break
    if getattr(trainer, "distributed", False):
        total, count, outputs, targets = _global(total, count, outputs, targets)
    logs = {"epoch": trainer.epoch, "loss": total / max(count, 1)}
    if metric_fns and outputs:
        all_out, all_y = numpy.concatenate(outputs), numpy.concatenate(targets)
        for name, fn in metric_fns:
            logs[name] = fn(all_out, all_y, threshold=threshold)
    return logs


def _check_optimizer_covers(model, optimizer):
    if not hasattr(model, "named_parameters"):
        raise ArgumentTypeError(
            f"fit: model must be a chainrule.nn.Module, got {type(model).__name__}")
    covered = {id(p) for g in optimizer.param_groups for p in g["params"]}
    missing = [name for name, p in model.named_parameters()
               if p.requires_grad and id(p) not in covered]
    if missing and len(covered) > 0:
        shown = ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else "")
        warnings.warn(f"fit: {len(missing)} trainable parameters of the model are not in the "
                      f"optimizer and will not be trained: {shown}; build the optimizer from "
                      "model.parameters()", stacklevel=3)


def evaluate(model, loss_fn, data, metrics=("accuracy",), batch_size=256, _metric_fns=None):
    """The mean loss and metrics of ``model`` on ``data`` (no graph, eval mode).

    Returns a dict like ``{"loss": 0.12, "accuracy": 0.97}``.

    >>> import chainrule, numpy as np
    >>> model = chainrule.nn.Linear(2, 2)
    >>> x, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    >>> sorted(evaluate(model, chainrule.nn.CrossEntropyLoss(), (x, y)))
    ['accuracy', 'loss']
    """
    loader = as_loader(data, batch_size, False, "evaluate(data)")
    metric_fns = _metric_fns or [get_metric(m) for m in metrics]
    was_training = model.training
    model.eval()
    total, count, outputs, targets = 0.0, 0, [], []
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                out = model(x)
                n = x.shape[0]
                if loss_fn is not None:
                    total += float(loss_fn(out, y)._data) * n
                count += n
                outputs.append(backend.to_numpy(out._data))
                targets.append(backend.to_numpy(y._data))
    finally:
        model.train(was_training)
    result = {"loss": total / max(count, 1)} if loss_fn is not None else {}
    all_out, all_y = numpy.concatenate(outputs), numpy.concatenate(targets)
    for name, fn in metric_fns:
        result[name] = fn(all_out, all_y, threshold=_threshold_for(loss_fn))
    return result


def predict(model, data, batch_size=256):
    """The model's outputs for every sample (a Tensor), in eval mode with no graph.

    ``data`` is an array/tensor of inputs, a Dataset or a DataLoader (targets are ignored).

    >>> import chainrule, numpy as np
    >>> predict(chainrule.nn.Linear(2, 3), np.zeros((5, 2), np.float32)).shape
    (5, 3)
    """
    if isinstance(data, (numpy.ndarray, Tensor, list)):
        x = data if isinstance(data, Tensor) else Tensor(numpy.asarray(data))
        loader = DataLoader(TensorDataset(x), batch_size=batch_size)
    else:
        loader = as_loader(data, batch_size, False, "predict(data)")
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with no_grad():
            for batch in loader:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                outputs.append(model(x)._data)
    finally:
        model.train(was_training)
    return Tensor._make(backend.xp.concatenate(outputs), None)
