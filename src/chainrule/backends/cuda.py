"""``chainrule.backends.cuda``: PyTorch's CUDA switches (``matmul.allow_tf32``, ...), settable.

>>> from chainrule.backends import cuda
>>> cuda.matmul.allow_tf32
False
"""
from .. import backend


class _MatmulSettings:
    """``backends.cuda.matmul``: flags PyTorch scripts set; chainrule records them."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self):
        return f"<chainrule.backends.cuda.matmul allow_tf32={self.allow_tf32}>"


matmul = _MatmulSettings()


def is_built():
    """Whether chainrule can use CUDA here (CuPy installed and a GPU present)."""
    return backend.gpu_count() > 0
