"""``chainrule.backends``: the switches PyTorch scripts set, with PyTorch's CPU answers.

``backends.cudnn.benchmark`` and ``backends.cudnn.deterministic`` can be set (chainrule's
kernels are deterministic whatever they say), ``backends.mps.is_available()`` is False
(chainrule does not run on Apple's GPUs), ``backends.cuda.matmul.allow_tf32`` is a flag.

>>> import chainrule
>>> chainrule.backends.cudnn.benchmark = True
>>> chainrule.backends.cudnn.deterministic, chainrule.backends.mps.is_available()
(False, False)
>>> chainrule.backends.cudnn.benchmark = False
"""
from . import cuda, cudnn, mps  # noqa: F401
