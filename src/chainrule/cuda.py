"""``chainrule.cuda``: what a PyTorch script asks about the GPU, answered as PyTorch does.

On a machine without CuPy or without an NVIDIA GPU, ``is_available()`` is False and
``device_count()`` 0, seeding and cache calls do nothing, and the calls that need a GPU
(``current_device``, ``synchronize``, ...) raise a :class:`~chainrule.errors.DeviceError`
that says what is missing — so the usual ``device = "cuda" if chainrule.cuda.is_available()
else "cpu"`` runs unchanged. With CuPy and a GPU they go to CuPy.

>>> import chainrule
>>> device = "cuda" if chainrule.cuda.is_available() else "cpu"
>>> chainrule.ones(2, device=device).device.type == device
True
"""
import sys

from . import backend
from .errors import DeviceError


def is_available():
    """Whether CUDA tensors can be made: CuPy is installed and sees a GPU.

    >>> isinstance(is_available(), bool)
    True
    """
    return backend.gpu_count() > 0


def device_count():
    """How many GPUs CuPy sees (0 without CuPy or a GPU)."""
    return backend.gpu_count()


def is_initialized():
    """Whether a tensor has been put on a GPU in this process."""
    return backend.name == "cupy"


def _cupy():
    cupy = backend.cupy_module()
    if backend.gpu_count() == 0:
        raise DeviceError("no CUDA GPU: CuPy finds none on this machine "
                          "(chainrule.cuda.is_available() is False)")
    return cupy


def current_device():
    """The index of the GPU that ``"cuda"`` means now."""
    return int(_cupy().cuda.Device().id)


def set_device(device):
    """Make GPU ``device`` (an index, ``"cuda:N"`` or a device) the current one."""
    index = device if isinstance(device, int) else getattr(device, "index", None)
    if isinstance(device, str):
        index = int(device.partition(":")[2] or 0)
    _cupy().cuda.Device(index or 0).use()


def get_device_name(device=None):
    """The GPU's name, e.g. ``'NVIDIA H200'``."""
    cupy = _cupy()
    index = current_device() if device is None else _index(device)
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device=None):
    """(major, minor) compute capability of the GPU."""
    cupy = _cupy()
    index = current_device() if device is None else _index(device)
    properties = cupy.cuda.runtime.getDeviceProperties(index)
    return int(properties["major"]), int(properties["minor"])


def _index(device):
    if isinstance(device, int):
        return device
    if isinstance(device, str):
        return int(device.partition(":")[2] or 0)
    return device.index or 0


def synchronize(device=None):
    """Wait for the GPU's work to finish (timing GPU code needs this)."""
    _cupy().cuda.runtime.deviceSynchronize()


def empty_cache():
    """Give CuPy's cached GPU memory back to the driver (nothing to do without a GPU)."""
    cupy = sys.modules.get("cupy")
    if cupy is not None and backend.gpu_count():
        cupy.get_default_memory_pool().free_all_blocks()


def memory_allocated(device=None):
    """Bytes of GPU memory in use by tensors (0 without a GPU, as PyTorch's CPU build)."""
    cupy = sys.modules.get("cupy")
    if cupy is None or not backend.gpu_count():
        return 0
    return int(cupy.get_default_memory_pool().used_bytes())


def memory_reserved(device=None):
    """Bytes of GPU memory CuPy holds (0 without a GPU)."""
    cupy = sys.modules.get("cupy")
    if cupy is None or not backend.gpu_count():
        return 0
    return int(cupy.get_default_memory_pool().total_bytes())


max_memory_allocated = memory_allocated
max_memory_reserved = memory_reserved


def manual_seed(seed):
    """Seed CuPy's generator on the current GPU, if there is one; else nothing, as in
    PyTorch. (chainrule draws its own random numbers — initialisation, dropout, ``rand`` —
    from :func:`chainrule.manual_seed`'s generator on the CPU whatever the device, so this
    matters only for code that calls ``cupy.random`` itself.)"""
    cupy = sys.modules.get("cupy")
    if cupy is not None and backend.gpu_count():
        cupy.random.seed(int(seed) % 2**32)


def manual_seed_all(seed):
    """Seed CuPy's generator on every GPU (:func:`chainrule.manual_seed` calls this)."""
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return
    for index in range(backend.gpu_count()):
        with cupy.cuda.Device(index):
            cupy.random.seed(int(seed) % 2**32)


def is_bf16_supported(including_emulation=True):
    """Whether the GPU computes in bfloat16: False without one (PyTorch's answer)."""
    return is_available()
