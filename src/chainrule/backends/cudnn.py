"""``chainrule.backends.cudnn``: PyTorch's cuDNN switches, settable; chainrule's convolutions
give the same result whatever they say (its kernels are deterministic), so they only record
what the script asked for.

>>> from chainrule.backends import cudnn
>>> cudnn.enabled, cudnn.benchmark, cudnn.deterministic
(True, False, False)
"""
from .. import backend

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = 10


def is_available():
    """Whether cuDNN can be used: only with CuPy and a GPU."""
    return backend.gpu_count() > 0


def version():
    """cuDNN's version number, or None without a GPU (as PyTorch's CPU build)."""
    if not is_available():
        return None
    try:
        from cupy.cuda import cudnn
    except ImportError:
        return None
    return int(cudnn.getVersion())
