"""Callback: the methods ``fit`` calls while it trains, each a no-op until overridden.

It lives below the training loop so that callbacks of other layers (TensorBoard logging in
``chainrule.io``) can implement it without importing the loop itself.

>>> class Count(Callback):
...     def __init__(self):
...         self.epochs = 0
...     def on_epoch_end(self, trainer, epoch, logs):
...         self.epochs += 1
>>> Count().epochs
0
"""


class Callback:
    def setup(self, trainer):
        """Called on every rank before training starts (before any collective): check paths
        and options here, so a bad one fails at once."""

    def on_train_begin(self, trainer):
        pass

    def on_epoch_begin(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, step, loss):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_train_end(self, trainer):
        pass
