"""The training loop: predict, measure the loss, backpropagate, step, repeat.

``fit`` takes DataLoaders, Datasets or plain (X, y) arrays, runs epochs with callbacks,
and returns a :class:`History`. ``evaluate`` and ``predict`` run the model without a graph.
"""
import math
import time
import warnings

import numpy

from .. import backend, cuda
from ..autograd.anomaly import detect_anomaly as _detect_anomaly
from ..autograd.grad_mode import no_grad
from ..data.dataset import Dataset, TensorDataset
from ..data.loader import DataLoader
from ..device import as_device, check_usable, device_of, same_place, to_device
from ..errors import ArgumentError, ArgumentTypeError, ConfigError, DTypeError, ShapeError
from ..tensor import Tensor
from ..distributed import DistributedDataParallel, DistributedSampler, runtime
from ..nn.loss import BCELoss
from ..nn.utils import clip_grad_norm_, clip_grad_value_
from .callbacks import (Callback, DivergenceGuard, LRSchedulerCallback, ProgressBar,
                        check_writable_directory)
from .checkpointing import ModelCheckpoint
from .numerical import numerical_gradients
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
    return 0.5 if isinstance(loss_fn, BCELoss) else 0.0


class _SkipStep(Exception):
    """A closure's first loss is NaN/inf: the optimizer must not step on it."""

    def __init__(self, loss, out):
        super().__init__("NaN/inf loss")
        self.loss, self.out = loss, out


class Trainer:
    """The state of one ``fit`` call, handed to every callback."""

    def __init__(self, model, loss_fn, optimizer, loader, epochs, history, grad_clip,
                 record_params, detect_anomaly):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.loader, self.epochs, self.history = loader, epochs, history
        self.grad_clip, self.record_params = grad_clip, record_params
        self.anomaly = detect_anomaly
        self.batches_per_epoch = _length(loader)
        self.step_count = 0
        self.epoch = 0
        self.batch_index = 0        # the batch of the epoch being trained (from 1)
        self.should_stop = False
        self.is_main = True
        self.distributed = False
        self.guard = None           # a DivergenceGuard explains a NaN/inf loss when it appears
        self.gradients = "backprop"  # or "numerical": nudged central differences
        self.nonfinite_report = ""  # its explanation for this step's loss

    def stop(self, reason, diverged=False):
        """End training after this step; ``diverged`` marks a run whose loss diverged."""
        self.should_stop = True
        if self.history.stop_reason is None or diverged:
            self.history.stop_reason = reason
        if diverged:
            self.history.diverged = True

    # ------------------------------------------------------------ one step
    def train_step(self, x, y):
        self.nonfinite_report = ""
        if self.anomaly:
            with _detect_anomaly():
                return self._step(x, y)
        return self._step(x, y)

    def _step(self, x, y):
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        if optimizer.closure_needs_graph or getattr(optimizer, "step_needs_closure", False) \
                or type(optimizer).__name__ == "LBFGS":
            return self._closure_step(x, y, backward=not optimizer.closure_needs_graph)
        optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        if self._refuse_to_step(x, y, loss):
            return loss, out                 # no backward, no update: the weights stay good
        if self.gradients == "numerical":    # the spreadsheet way: nudge every weight
            numerical_gradients(model, loss_fn, x, y)
        else:
            loss.backward()
        synchronize = getattr(model, "synchronize", None)
        if synchronize is not None:
            synchronize()
        self._clip()
        if self.record_params:
            self._record_params(loss)
        optimizer.step()
        return loss, out

    def _closure_step(self, x, y, backward):
        """Optimizers that evaluate the loss themselves (LBFGS; Newton wants the graph)."""
        model, loss_fn, optimizer = self.model, self.loss_fn, self.optimizer
        captured = {}

        def closure():
            if backward:
                optimizer.zero_grad()
            out = model(x)
            loss = loss_fn(out, y)
            if not captured and self._refuse_to_step(x, y, loss):
                raise _SkipStep(loss, out)
            captured["out"] = out
            if backward:
                loss.backward()
            return loss
        try:
            loss = optimizer.step(closure)
        except _SkipStep as skipped:
            return skipped.loss, skipped.out
        return loss, captured["out"]

    def _refuse_to_step(self, x, y, loss):
        """A NaN/inf loss: let the guard explain it now, while the weights are those that
        produced it, and skip the update when the guard will stop the run. (A distributed
        run steps anyway: every rank must take part in the gradient all-reduce.)"""
        if self.guard is None or math.isfinite(float(loss._data)):
            return False
        self.nonfinite_report = self.guard.explain(self, x, y, float(loss._data))
        return self.guard.stops and not self.distributed

    def _clip(self):
        if self.grad_clip is None:
            return
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


def _plain(array):
    array = backend.to_numpy(array)
    return array.item() if array.size == 1 else array.tolist()


def fit(model, loss_fn, optimizer, train_data, *, epochs=1, val_data=None,
        metrics=("accuracy",), callbacks=(), scheduler=None, grad_clip=None, batch_size=32,
        shuffle=True, record_params=False, progress=False, detect_anomaly=False,
        checkpoint=None, checkpoint_dir=None, checkpoint_every=1, keep_last=3, resume=False,
        checkpoint_monitor="val_loss", distributed=False, divergence_guard=True,
        gradients="backprop", device=None):
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
        checkpoint: a callback (e.g. ``chainrule.train.ModelCheckpoint``) that saves state.
        checkpoint_dir: save the whole training state there every ``checkpoint_every``
            epochs (the last ``keep_last`` kept, plus best.safetensors by
            ``checkpoint_monitor``); with ``resume=True`` continue from the newest one,
            ending bit-identical to an uninterrupted run with the same seed.
        distributed: data-parallel over MPI (run under mpiexec): the model is wrapped in
            DistributedDataParallel, each rank trains on its DistributedSampler shard with
            ``batch_size`` per rank, losses and metrics are all-reduced so every rank reports
            the global figure, and only rank 0 prints, logs and checkpoints. Paths are
            checked on every rank before the first collective; collectives time out (see
            ``chainrule.distributed.init``).
        divergence_guard: when the loss diverges (NaN/inf, an explosion), stop, set
            ``history.diverged`` and explain in ``history.stop_reason`` (also warned), as
            ``DivergenceGuard(warn=True)`` does; a guard among ``callbacks`` is used
            instead. ``False`` trains on whatever the loss does.
        gradients: ``"backprop"``, or ``"numerical"`` to take every gradient by nudging each
            weight (central differences, two forward passes per weight: small models only)
            — the spreadsheet method, which reaches the same weights, slower.
        device: where to train: ``"cpu"``, ``"cuda"`` (``"cuda:N"``, a chainrule.device) or
            ``"auto"`` (the GPU when ``chainrule.cuda.is_available()``, else the CPU). The
            model is moved there first (its Parameters stay the same objects) and every
            batch is moved as it comes; by default the model stays where it is and batches
            go to the model's device.

    A loss that becomes NaN/inf is not stepped on (outside distributed runs), so the model
    keeps the weights that produced it; the epoch it happened in is not logged and no
    checkpoint is written for it, so the newest checkpoint is the last good state.

    float16 parameters are refused (DTypeError): see docs/pytorch.md, "Training loop".

    >>> import chainrule, numpy as np
    >>> _ = chainrule.manual_seed(0)
    >>> from chainrule import nn
    >>> x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1); y = 3 * x + 1
    >>> model = nn.Linear(1, 1)
    >>> h = fit(model, nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1), (x, y),
    ...         epochs=50, metrics=())
    >>> round(model.weight.item(), 2), round(model.bias.item(), 2), h.diverged
    (3.0, 1.0, False)
    """
    if epochs < 1:
        raise ConfigError(f"fit: epochs must be at least 1, got {epochs}")
    if gradients not in ("backprop", "numerical"):
        raise ConfigError(f"fit: gradients must be 'backprop' or 'numerical', got {gradients!r}")
    if distributed:
        runtime.init()            # first: from here on, a rank that fails ends the job
    target = training_device(device, "fit")
    if target is not None:
        model.to(target)
    loader = as_loader(train_data, batch_size, shuffle, "fit(train_data)")
    if distributed:
        loader = _distributed_loader(loader, shuffle)
    _check_steps(loader, distributed)
    val_loader = None if val_data is None else as_loader(val_data, batch_size, False,
                                                         "fit(val_data)")
    _check_optimizer_covers(model, optimizer)
    _refuse_float16(model, optimizer)
    metric_fns = [get_metric(m) for m in metrics]
    callbacks = _callbacks(callbacks, progress, scheduler, checkpoint, checkpoint_dir,
                           checkpoint_every, keep_last, checkpoint_monitor, resume,
                           divergence_guard)
    history = History()
    trainer = Trainer(model, loss_fn, optimizer, loader, epochs, history, grad_clip,
                      record_params, detect_anomaly)
    trainer.scheduler = scheduler
    trainer.distributed = distributed
    trainer.gradients = gradients
    trainer.device = target if target is not None else model_device(model)
    if distributed:
        trainer.is_main = runtime.is_main()
    _setup(callbacks, trainer)            # every rank, before the first collective
    if distributed and not isinstance(model, DistributedDataParallel):
        model = trainer.model = DistributedDataParallel(model)    # broadcasts rank 0's
    threshold = _threshold_for(loss_fn)
    start_epoch = 1
    for cb in callbacks:
        cb.on_train_begin(trainer)
        start_epoch = max(start_epoch, getattr(cb, "resume_epoch", 1))
    for epoch in range(start_epoch, epochs + 1):
        trainer.epoch = epoch
        began = time.perf_counter()
        logs = _train_epoch(trainer, callbacks, metric_fns, threshold)
        if history.diverged:
            break                         # the epoch is not logged nor checkpointed
        if val_loader is not None:
            val = evaluate(model, loss_fn, val_loader, metrics=[name for name, _ in metric_fns],
                           _metric_fns=metric_fns, device=target)
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


def _callbacks(given, progress, scheduler, checkpoint, checkpoint_dir, checkpoint_every,
               keep_last, checkpoint_monitor, resume, divergence_guard):
    """The callbacks of a fit call: the user's, then those its options ask for."""
    callbacks = list(given)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise ArgumentTypeError(
                f"fit: callbacks must be Callback instances, got {type(cb).__name__}")
    if progress:
        callbacks.insert(0, ProgressBar())
    if divergence_guard and not any(isinstance(cb, DivergenceGuard) for cb in callbacks):
        callbacks.append(DivergenceGuard(warn=True))
    if scheduler is not None:
        callbacks.append(LRSchedulerCallback(scheduler))
    if checkpoint is not None:
        if not isinstance(checkpoint, Callback):
            raise ArgumentTypeError(f"fit: checkpoint must be a Callback (e.g. "
                                    f"ModelCheckpoint), got {type(checkpoint).__name__}")
        callbacks.append(checkpoint)
    if checkpoint_dir is not None:
        callbacks.append(ModelCheckpoint(checkpoint_dir, every=checkpoint_every,
                                         keep_last=keep_last, monitor=checkpoint_monitor,
                                         resume=resume))
    return callbacks


def _setup(callbacks, trainer):
    """Checks that must fail before training starts, on every rank: checkpoint directories
    can be written, and each callback's own ``setup(trainer)``."""
    for cb in callbacks:
        if isinstance(cb, ModelCheckpoint):
            check_writable_directory(cb.directory, "fit: the checkpoint directory")
        setup = getattr(cb, "setup", None)
        if callable(setup):
            setup(trainer)


def _check_steps(loader, distributed):
    """An epoch of no training step is an error, not an epoch loss of 0."""
    length = _length(loader)
    if length is None or length > 0:
        return                            # (a loader of unknown length is checked after)
    if loader.drop_last and loader.batch_size and loader.sampler is not None:
        samples = len(loader.sampler)
        where = " on each rank" if distributed else ""
        raise ArgumentError(f"fit(train_data): no training step per epoch: {samples} samples"
                            f"{where} with batch_size={loader.batch_size} and drop_last=True "
                            f"leave no full batch; use batch_size <= {samples} or "
                            "drop_last=False")
    raise ArgumentError("fit(train_data): no training step per epoch: the DataLoader yields "
                        "no batch")


def _length(loader):
    """Batches per epoch, or None for a loader that cannot tell (an IterableDataset)."""
    try:
        return len(loader)
    except TypeError:
        return None


def _refuse_float16(model, optimizer):
    """float16 parameters are not trained (see docs/pytorch.md, "Training loop")."""
    names = {id(p): name for name, p in model.named_parameters()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            if p._data.dtype == numpy.float16:
                name = names.get(id(p), f"a parameter of shape {tuple(p.shape)}")
                raise DTypeError(
                    f"fit: parameter {name} is float16, which fit does not train: float16 "
                    "rounds away updates smaller than about 1/1000 of a weight and turns "
                    "Adam's eps=1e-8 into 0, so the steps become inf/NaN (PyTorch's Adam on "
                    "float16 parameters gives NaN after one step). Train in float32 — "
                    "model.to(chainrule.float32) — and convert afterwards with "
                    "model.to(chainrule.float16)")


def _distributed_loader(loader, shuffle):
    """The same batches, from a DistributedSampler over the dataset (this rank's shard),
    loaded as the given loader loads them (its workers, prefetching, seeds, timeout)."""
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle)
    workers = {} if not loader.num_workers else dict(
        prefetch_factor=loader.prefetch_factor, persistent_workers=loader.persistent_workers,
        multiprocessing_context=loader.multiprocessing_context)
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                      collate_fn=loader.collate_fn, drop_last=loader.drop_last,
                      transform=loader.transform, num_workers=loader.num_workers,
                      worker_init_fn=loader.worker_init_fn, timeout=loader.timeout,
                      pin_memory=loader.pin_memory, generator=loader.generator,
                      in_order=loader.in_order, **workers)


def _global(total, count, outputs, targets):
    """Loss sums and epoch outputs from every rank (once per epoch, not per step)."""
    if not runtime.is_distributed():
        return total, count, outputs, targets
    sums = numpy.array([total, count], dtype=numpy.float64)
    runtime.all_reduce(sums)
    gathered = runtime.all_gather_objects((outputs, targets))
    outputs = [o for part in gathered for o in part[0]]
    targets = [t for part in gathered for t in part[1]]
    return float(sums[0]), float(sums[1]), outputs, targets


def _mean_over_ranks(value):
    """This step's loss averaged over the ranks (NaN/inf anywhere stays NaN/inf), so that
    every rank logs, and every DivergenceGuard judges, the same number."""
    if not runtime.is_distributed():
        return value
    total = numpy.array([value], dtype=numpy.float64)
    runtime.all_reduce(total)
    return float(total[0]) / runtime.world_size()


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
    for index, batch in enumerate(trainer.loader, start=1):
        trainer.batch_index = index
        x, y = on_device(_split_batch(batch), trainer.device)
        loss, out = trainer.train_step(x, y)
        trainer.step_count += 1
        value = float(loss._data)
        if trainer.distributed:
            value = _mean_over_ranks(value)
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
    if history.diverged:
        return None
    if count == 0:
        raise ArgumentError(f"fit(train_data): epoch {trainer.epoch} yielded no batch")
    if trainer.distributed:
        total, count, outputs, targets = _global(total, count, outputs, targets)
    logs = {"epoch": trainer.epoch, "loss": total / count}
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


def evaluate(model, loss_fn, data, metrics=("accuracy",), batch_size=256, _metric_fns=None,
             device=None):
    """The mean loss and metrics of ``model`` on ``data`` (no graph, eval mode); each batch
    goes to ``device`` (by default the model's: a model on the GPU is evaluated there).

    Returns a dict like ``{"loss": 0.12, "accuracy": 0.97}``.

    >>> import chainrule, numpy as np
    >>> model = chainrule.nn.Linear(2, 2)
    >>> x, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    >>> sorted(evaluate(model, chainrule.nn.CrossEntropyLoss(), (x, y)))
    ['accuracy', 'loss']
    """
    loader = as_loader(data, batch_size, False, "evaluate(data)")
    target = training_device(device, "evaluate") or model_device(model)
    metric_fns = _metric_fns or [get_metric(m) for m in metrics]
    was_training = model.training
    model.eval()
    total, count, outputs, targets = 0.0, 0, [], []
    try:
        with no_grad():
            for batch in loader:
                x, y = on_device(_split_batch(batch), target)
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


def predict(model, data, batch_size=256, device=None):
    """The model's outputs for every sample (a Tensor), in eval mode with no graph, computed
    on ``device`` (by default the model's).

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
    target = training_device(device, "predict") or model_device(model)
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with no_grad():
            for batch in loader:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                outputs.append(model(on_device(x, target))._data)
    finally:
        model.train(was_training)
    return Tensor._make(backend.xp.concat(outputs), None)


def training_device(device, op="fit"):
    """The device ``device=`` names (``"auto"``: the GPU when one can be used, else the CPU),
    checked to be usable now; None stays None.

    >>> import chainrule
    >>> training_device("auto") in (chainrule.device("cpu"), chainrule.device("cuda"))
    True
    """
    if device is None:
        return None
    if isinstance(device, str) and device == "auto":
        device = "cuda" if cuda.is_available() else "cpu"
    return check_usable(as_device(device, f"{op}(device=)"))


def model_device(model):
    """The device of the model's first parameter (None for a model without parameters)."""
    for p in model.parameters():
        return device_of(p._data)
    return None


def on_device(value, target):
    """``value`` (a tensor, or a tuple/list of them) on ``target``; other values as they are."""
    if target is None:
        return value
    if isinstance(value, Tensor):
        return value if same_place(value._data, target) else to_device(value, target)
    if isinstance(value, (tuple, list)):
        return type(value)(on_device(v, target) for v in value)
    return value
