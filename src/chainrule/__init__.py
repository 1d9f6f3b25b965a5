"""chainrule: deep learning from first principles, on NumPy.

>>> import chainrule
>>> x, y = chainrule.tensor(1.0), chainrule.tensor(2.0)
>>> w = chainrule.tensor(1.0, requires_grad=True)
>>> loss = (w * x - y) ** 2
>>> loss.backward()
>>> w.grad.item()
-2.0
"""
import importlib as _importlib

from .tensor import Tensor  # noqa: F401,E402  (first of ours: everything builds on it)
from . import backend  # noqa: F401
from .errors import (AnomalyError, ChainruleError, CheckpointError, ConfigError,  # noqa: F401
                     DTypeError, GradcheckError, GraphError, InplaceError, ShapeError)
from .generator import Generator, default_generator, get_rng_state, manual_seed, set_rng_state  # noqa
from .autograd import (detect_anomaly, enable_grad, grad, inference_mode,  # noqa
                       is_grad_enabled, no_grad, set_grad_enabled)
from . import autograd  # noqa: F401
from .autograd import functional as _functional  # noqa: F401  (chainrule.autograd.functional)
from .creation import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
del linalg  # noqa: F821  (ops.linalg, the products, came with the star: the namespace below)
from . import linalg  # noqa: F401,E402  (torch.linalg)
from .explain import explain  # noqa: F401,E402
from .sheet import sheet  # noqa: F401,E402
# dtypes, devices and the module-level names PyTorch scripts touch (issue 19.7, 18.2)
from .dtypes import *  # noqa: F401,F403,E402  (float16, bfloat16, ..., finfo, set_default_dtype)
from .tensor_types import *  # noqa: F401,F403,E402  (FloatTensor, LongTensor, ...)
from .device import device  # noqa: F401,E402
from . import accelerator, backends, cuda  # noqa: F401,E402

__version__ = "0.1.0"

from . import allocator  # noqa: E402  (glibc keeps freed blocks for the next step: see there)
allocator.apply_default()

# ---- loaded on first use (PEP 562): making and differentiating tensors needs none of these,
# and they were most of chainrule's own start-up time (issue 16.5: ``import chainrule`` under
# 0.3 s); ``chainrule.nn``, ``from chainrule import nn`` and ``import chainrule.nn`` all work.
# tests/test_startup.py holds a bare import to loading none of them.

#: sub-packages (and the callback module) imported when first touched
_LAZY_MODULES = ("callback", "data", "distributed", "io", "models", "nn", "optim", "train",
                 "utils", "viz")
#: public names those sub-packages give the top level: name -> the module that defines it
_LAZY_NAMES = {
    **dict.fromkeys(("History", "evaluate", "fit", "lr_find", "predict"), "train"),
    **dict.fromkeys(("report", "summary"), "viz"),
    **dict.fromkeys(("load", "load_checkpoint", "load_torch", "onnx", "save",
                     "save_checkpoint"), "io"),
    # torch.dropout(input, p, train), ...: chainrule.nn.torch_dropout.__all__
    **dict.fromkeys(("dropout", "dropout_", "alpha_dropout", "alpha_dropout_",
                     "feature_dropout", "feature_dropout_", "feature_alpha_dropout",
                     "feature_alpha_dropout_"), "nn.torch_dropout"),
}


def __getattr__(attribute):
    """The sub-packages and names above, imported on first use; and ``chainrule.bfloat16``:
    ml_dtypes' bfloat16, imported on first use too (it costs about a second at start-up, and
    most programs never need it)."""
    if attribute in _LAZY_MODULES:
        return _importlib.import_module(f"{__name__}.{attribute}")   # sets it as an attribute
    if attribute in _LAZY_NAMES:
        module = _importlib.import_module(f"{__name__}.{_LAZY_NAMES[attribute]}")
        value = globals()[attribute] = getattr(module, attribute)
        return value
    if attribute == "bfloat16":
        return dtypes.bfloat16
    if attribute == "BFloat16Tensor":
        return tensor_types.bfloat16_type()
    raise AttributeError(f"module 'chainrule' has no attribute {attribute!r}")


def __dir__():
    """The loaded names and those still to load (so tab completion lists ``nn``, ``fit``...)."""
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))
