"""Callbacks: code that runs at fixed points of ``fit`` (progress, early stopping, logging...).

A callback overrides any of ``on_train_begin(trainer)``, ``on_epoch_begin(trainer, epoch)``,
``on_batch_end(trainer, step, loss)``, ``on_epoch_end(trainer, epoch, logs)`` and
``on_train_end(trainer)``. It stops training with ``trainer.stop(reason)``. A callback that
writes files may also define ``setup(trainer)``: ``fit`` calls it on every rank before the
first collective, so a path that cannot be written fails at once, on every rank.
"""
import copy
import csv
import os
import sys
import tempfile
from ..callback import Callback  # noqa: F401  (the protocol; re-exported here)
from ..errors import ArgumentError, ConfigError
from ..optim.lr_scheduler import ReduceLROnPlateau
from .divergence import DivergenceGuard  # noqa: F401  (lives beside its diagnosis)


class ProgressBar(Callback):
    """A tqdm bar per epoch (loss, ETA) on a terminal, and as a widget in a Jupyter notebook
    (``tqdm.auto``; needs ipywidgets); one plain line per epoch otherwise, so logs and CI
    output carry no control characters. The epoch's summary line is printed in every case."""

    def __init__(self, stream=None, force_plain=False):
        self.stream = stream
        self.force_plain = force_plain
        self._bar = None

    def _mode(self):
        """'widget' in a notebook (writing to its output), 'terminal' on a tty, else 'plain'."""
        if self.force_plain:
            return "plain"
        if self.stream is None and _jupyter_widgets():
            return "widget"
        stream = self.stream or sys.stdout
        return "terminal" if hasattr(stream, "isatty") and stream.isatty() else "plain"

    def _plain(self):
        return self._mode() == "plain"

    def on_epoch_begin(self, trainer, epoch):
        mode = self._mode()
        if trainer.is_main and mode != "plain":
            if mode == "widget":
                from tqdm.auto import tqdm
            else:
                from tqdm import tqdm
            self._bar = tqdm(total=trainer.batches_per_epoch,
                             desc=f"epoch {epoch}/{trainer.epochs}", leave=False,
                             file=self.stream or sys.stdout, dynamic_ncols=True)

    def on_batch_end(self, trainer, step, loss):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4f}")

    def on_epoch_end(self, trainer, epoch, logs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if trainer.is_main:
            shown = "  ".join(f"{k} {v:.4f}" for k, v in logs.items()
                              if isinstance(v, float) and k != "lr")
            print(f"epoch {epoch}/{trainer.epochs}  {shown}  lr {logs.get('lr', 0):.3g}",
                  file=self.stream or sys.stdout, flush=True)

    def on_train_end(self, trainer):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _jupyter_widgets():
    """Whether this runs in a Jupyter kernel that can show tqdm's widget (ipywidgets)."""
    ipython = sys.modules.get("IPython")        # imported by the kernel, never by chainrule
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or "IPKernelApp" not in getattr(shell, "config", {}):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs, and
    (by default) put back the weights of the best epoch.

    >>> stopper = EarlyStopping(monitor="val_loss", patience=3)
    >>> stopper.mode
    'min'
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = mode if mode != "auto" else ("min" if "loss" in monitor or monitor in
                                                 ("mae", "rmse", "val_mae", "val_rmse")
                                                 else "max")
        self.restore_best_weights = restore_best_weights
        self.best, self.best_epoch, self.best_state, self.wait = None, None, None, 0

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: metric {self.monitor!r} is not logged; available: "
                           f"{', '.join(logs)}")
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = copy.deepcopy({k: v.numpy().copy() for k, v in
                                                 trainer.model.state_dict().items()})
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop(f"early stopping: {self.monitor} did not improve for "
                             f"{self.patience} epochs (best {self.best:.4g} at epoch "
                             f"{self.best_epoch})")

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


class LRSchedulerCallback(Callback):
    """Step a scheduler every epoch (or every batch with ``per="batch"``);
    ReduceLROnPlateau gets the ``monitor`` value."""

    def __init__(self, scheduler, per="epoch", monitor="val_loss"):
        if per not in ("epoch", "batch"):
            raise ArgumentError(f"LRSchedulerCallback: per must be 'epoch' or 'batch', got {per!r}")
        self.scheduler, self.per, self.monitor = scheduler, per, monitor

    def on_batch_end(self, trainer, step, loss):
        if self.per == "batch":
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.per != "epoch":
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            key = self.monitor if self.monitor in logs else "loss"
            self.scheduler.step(logs[key])
        else:
            self.scheduler.step()


class CSVLogger(Callback):
    """Append each epoch's logs to a CSV file as training goes.

    >>> import chainrule, numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> model = chainrule.nn.Linear(1, 1)
    >>> _ = chainrule.fit(model, chainrule.nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
    ...               (np.ones((4, 1), np.float32), np.ones((4, 1), np.float32)), epochs=2,
    ...               metrics=(), callbacks=[CSVLogger(path)])
    >>> open(path).read().splitlines()[0]
    'epoch,loss,lr'
    """

    def __init__(self, path):
        self.path = path
        self._keys = None

    def setup(self, trainer):
        """Check, on every rank, that the log file can be written (before any training)."""
        directory = os.path.dirname(os.path.abspath(self.path))
        check_writable_directory(directory, f"CSVLogger({self.path!r})")
        if os.path.isdir(self.path):
            raise ConfigError(f"CSVLogger({self.path!r}): the path is a directory; give a "
                              "file name such as log.csv")

    def on_epoch_end(self, trainer, epoch, logs):
        if not trainer.is_main:
            return
        new_file = self._keys is None
        if new_file:
            self._keys = list(logs)
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
        with open(self.path, "w" if new_file else "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self._keys, extrasaction="ignore")
            if new_file:
                writer.writeheader()
            writer.writerow(logs)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda t, e, logs: ...)``.

    >>> seen = []
    >>> callback = LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: seen.append(epoch))
    >>> callback.on_epoch_end(None, 1, {}); seen
    [1]
    """

    def __init__(self, **hooks):
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                raise ArgumentError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)


def check_writable_directory(path, what):
    """Create ``path`` if needed and prove that a file can be written in it; a ConfigError
    naming ``what`` and the reason otherwise.

    >>> import tempfile
    >>> check_writable_directory(tempfile.mkdtemp(), "fit(checkpoint_dir)")
    """
    try:
        os.makedirs(path, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise ConfigError(f"{what}: cannot write into {path!r} ({reason})") from None
