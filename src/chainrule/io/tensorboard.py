"""TensorBoard logging from ``fit``: loss, metrics, learning rate, weight and gradient
histograms, and the model's structure, in a log dir that ``tensorboard --logdir`` reads."""
from ..train.callbacks import Callback


class TensorBoardLogger(Callback):
    """A ``fit`` callback writing TensorBoard event files with tensorboardX.

    Scalars: ``train/loss_step`` per step; ``train/<metric>``, ``val/<metric>`` and ``lr``
    per epoch. Histograms of every parameter and its gradient every ``histogram_every``
    epochs. The model summary is logged as text once.

    >>> import tempfile
    >>> logger = TensorBoardLogger(tempfile.mkdtemp())
    >>> logger.histogram_every
    1
    """

    def __init__(self, log_dir, histogram_every=1, flush_secs=10):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as error:
            raise ImportError("TensorBoard logging needs tensorboardX: "
                              "pip install 'chainrule[logging]'") from error
        self.log_dir, self.histogram_every = log_dir, histogram_every
        self._writer_class, self.flush_secs = SummaryWriter, flush_secs
        self.writer = None

    def on_train_begin(self, trainer):
        if not trainer.is_main:
            return
        self.writer = self._writer_class(self.log_dir, flush_secs=self.flush_secs)
        self.writer.add_text("model", "<pre>" + repr(trainer.model) + "</pre>", 0)

    def on_batch_end(self, trainer, step, loss):
        if self.writer is not None:
            self.writer.add_scalar("train/loss_step", loss, step)

    def on_epoch_end(self, trainer, epoch, logs):
        if self.writer is None:
            return
        for key, value in logs.items():
            if key == "epoch" or not isinstance(value, (int, float)):
                continue
            tag = "lr" if key == "lr" else (f"val/{key[4:]}" if key.startswith("val_") else
                                            f"train/{key}")
            self.writer.add_scalar(tag, value, epoch)
        if self.histogram_every and epoch % self.histogram_every == 0:
            for name, p in trainer.model.named_parameters():
                self.writer.add_histogram(f"weights/{name}", p.numpy(), epoch)
                if p.grad is not None:
                    self.writer.add_histogram(f"grads/{name}", p.grad.numpy(), epoch)
        self.writer.flush()

    def on_train_end(self, trainer):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
