"""ModelCheckpoint: the fit callback that saves the training state every few epochs and
resumes from the newest checkpoint, bit-identically to a run that was never interrupted."""
import os

from ..io.checkpoint import (checkpoints_in, load_checkpoint, remove_stale_temp_files,
                             save_checkpoint)
from .callbacks import Callback


class ModelCheckpoint(Callback):
    """Save the training state every ``every`` epochs into ``directory`` (keeping the last
    ``keep_last``) and ``best.safetensors`` by ``monitor``; with ``resume=True``, continue
    from the newest checkpoint there, bit-identically to a run that was never interrupted.
    """

    def __init__(self, directory, every=1, keep_last=3, monitor="val_loss", mode="auto",
                 resume=False, extra=None):
        self.directory, self.every, self.keep_last = directory, max(1, int(every)), keep_last
        self.monitor, self.resume, self.extra = monitor, resume, extra
        self.mode = mode if mode != "auto" else ("min" if "loss" in monitor else "max")
        self.best = None
        self.resume_epoch = 1

    def on_train_begin(self, trainer):
        if getattr(trainer, "is_main", True):      # temp files that killed writes left
            remove_stale_temp_files(self.directory)
        if not self.resume:
            return
        found = checkpoints_in(self.directory)
        if not found:
            return
        epoch, path = found[-1]
        restored = load_checkpoint(path, trainer.model, trainer.optimizer,
                                   getattr(trainer, "scheduler", None), trainer.loader,
                                   history=trainer.history)
        trainer.step_count = restored["step"] or 0
        self.best = (restored["extra"] or {}).get("best") if isinstance(restored["extra"],
                                                                        dict) else None
        self.resume_epoch = epoch + 1

    def on_epoch_end(self, trainer, epoch, logs):
        if not trainer.is_main:
            return
        extra = dict(self.extra or {})
        value = logs.get(self.monitor, logs.get("loss"))
        improved = value is not None and (self.best is None or (
            value < self.best if self.mode == "min" else value > self.best))
        if improved:
            self.best = value
        extra["best"] = self.best
        kwargs = dict(model=trainer.model, optimizer=trainer.optimizer,
                      scheduler=getattr(trainer, "scheduler", None), epoch=epoch,
                      step=trainer.step_count, history=trainer.history, loader=trainer.loader,
                      extra=extra)
        if epoch % self.every == 0 or trainer.should_stop or epoch == trainer.epochs:
            save_checkpoint(os.path.join(self.directory, f"epoch-{epoch:04d}.safetensors"),
                            **kwargs)
            if self.keep_last:
                for _, old in checkpoints_in(self.directory)[:-self.keep_last]:
                    os.unlink(old)
        if improved:
            save_checkpoint(os.path.join(self.directory, "best.safetensors"), **kwargs)
