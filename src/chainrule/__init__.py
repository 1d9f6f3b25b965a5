"""chainrule: deep learning from first principles, on NumPy.

>>> import chainrule
>>> x, y = chainrule.tensor(1.0), chainrule.tensor(2.0)
>>> w = chainrule.tensor(1.0, requires_grad=True)
>>> loss = (w * x - y) ** 2
>>> loss.backward()
>>> w.grad.item()
-2.0
"""
from .tensor import Tensor  # noqa: F401  (must come first: everything builds on it)
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
from . import data, models, nn, optim, train  # noqa: F401,E402
from .train import History, evaluate, fit, predict  # noqa: F401,E402
from .explain import explain  # noqa: F401,E402
from .train import lr_find  # noqa: F401,E402
from . import viz  # noqa: F401,E402
from .viz import report, summary  # noqa: F401,E402
from . import distributed, io  # noqa: F401,E402  (distributed imports MPI lazily)
from .io import load, load_checkpoint, load_torch, onnx, save, save_checkpoint  # noqa: F401,E402
from .sheet import sheet  # noqa: F401,E402
from . import utils  # noqa: F401,E402  (chainrule.utils.data: PyTorch's torch.utils.data names)
from .nn.torch_dropout import *  # noqa: F401,F403,E402  (torch.dropout(input, p, train), ...)

# dtypes, devices and the module-level names PyTorch scripts touch (issue 19.7, 18.2)
from .dtypes import *  # noqa: F401,F403,E402  (float16, bfloat16, ..., finfo, set_default_dtype)
from .tensor_types import *  # noqa: F401,F403,E402  (FloatTensor, LongTensor, ...)
from .device import device  # noqa: F401,E402
from . import accelerator, backends, cuda  # noqa: F401,E402

__version__ = "0.1.0"


def __getattr__(attribute):
    """``chainrule.bfloat16``: ml_dtypes' bfloat16, imported on first use (it costs about a
    second at start-up, and most programs never need it)."""
    if attribute == "bfloat16":
        return dtypes.bfloat16
    if attribute == "BFloat16Tensor":
        return tensor_types.bfloat16_type()
    raise AttributeError(f"module 'chainrule' has no attribute {attribute!r}")
