"""``chainrule.accelerator``: PyTorch's device-agnostic questions about the accelerator
(a CUDA GPU through CuPy, or none).

>>> import chainrule
>>> chainrule.accelerator.current_accelerator() in (None, chainrule.device("cuda"))
True
"""
from . import backend, cuda
from .device import device
from .errors import DeviceError


def is_available():
    """Whether an accelerator (a CUDA GPU with CuPy) can be used."""
    return cuda.is_available()


def device_count():
    return cuda.device_count()


def current_accelerator(check_available=False):
    """``device("cuda")`` when a GPU can be used, else None (PyTorch's answer on a CPU)."""
    return device("cuda") if cuda.is_available() else None


def _require():
    if not cuda.is_available():
        raise DeviceError("Cannot access accelerator device when none is available "
                          f"(a CUDA GPU with CuPy: {backend.GPU_EXTRA})")


def current_device_index():
    _require()
    return cuda.current_device()


current_device_idx = current_device_index


def set_device_index(index):
    _require()
    cuda.set_device(index)


set_device_idx = set_device_index


def synchronize(device=None):
    _require()
    cuda.synchronize(device)


def empty_cache():
    cuda.empty_cache()
