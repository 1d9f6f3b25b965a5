"""Optimizers (SGD/GD, Adam, AdamW, Adamax, NAdam, RAdam, RMSprop, Adagrad, Adadelta, ASGD,
Rprop, LBFGS, Newton) and schedules."""
from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adam import Adam, Adamax, AdamW  # noqa: F401
from .asgd import ASGD  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .nadam import NAdam  # noqa: F401
from .newton import Newton  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .radam import RAdam  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .rprop import Rprop  # noqa: F401
from .sgd import GD, SGD  # noqa: F401

#: names accepted by ``--optimizer`` and ``fit``'s config
OPTIMIZERS = {"gd": GD, "sgd": SGD, "adam": Adam, "adamw": AdamW, "adamax": Adamax,
              "rmsprop": RMSprop, "adagrad": Adagrad, "lbfgs": LBFGS, "newton": Newton}
