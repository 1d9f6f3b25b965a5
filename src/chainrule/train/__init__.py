"""Training: fit / evaluate / predict, History, callbacks and metrics."""
from . import metrics  # noqa: F401
from .callbacks import (Callback, CSVLogger, DivergenceGuard, EarlyStopping,  # noqa: F401
                        LambdaCallback, LRSchedulerCallback, ProgressBar)
from .checkpointing import ModelCheckpoint  # noqa: F401
from .fit import evaluate, fit, predict  # noqa: F401
from .lr_find import LRFindResult, lr_find  # noqa: F401
from .history import History  # noqa: F401
