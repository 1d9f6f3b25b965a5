"""Devices, as PyTorch names them: ``chainrule.device("cpu")``, ``device("cuda:1")``.

A tensor's device is read off its array (see :mod:`chainrule.backend`): a NumPy array is on
the CPU, a CuPy array on the GPU that holds it. Moving a tensor (``x.to("cuda")``,
``x.cpu()``) moves its array, and is differentiable: the gradient comes back to the device
the tensor came from. ``"cuda"`` needs CuPy and an NVIDIA GPU; without them it raises an
error that says what is missing (``pip install 'chainrule[gpu]'``).

>>> import chainrule
>>> d = chainrule.device("cuda:1")
>>> d.type, d.index, str(d)
('cuda', 1, 'cuda:1')
>>> chainrule.ones(2).device
device(type='cpu')
>>> chainrule.ones(2).device == chainrule.device("cpu")
True
"""
import numpy

from . import backend
from .autograd.function import Function
from .dtypes import as_dtype, memory_format
from .errors import ArgumentError, ArgumentTypeError, DeviceError
from .tensor_base import TensorBase

#: the device types PyTorch knows (its error message lists them); chainrule runs on two
TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
         "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
         "privateuseone")
RUNS_ON = ("cpu", "cuda")


class device:                                   # noqa: N801  (PyTorch's name)
    """Where a tensor lives: a type (``"cpu"``, ``"cuda"``) and an optional index.

    As ``torch.device``: ``device("cuda")``, ``device("cuda:0")``, ``device("cuda", 0)``,
    ``device(other_device)``, ``device(0)`` (``cuda:0``); equal when type and index are.

    >>> device("cpu"), device("cuda", 0)
    (device(type='cpu'), device(type='cuda', index=0))
    >>> device("gpu")
    Traceback (most recent call last):
    ...
    chainrule.errors.ArgumentError: device('gpu'): expected one of cpu, cuda, ... device type at the start of the device string (chainrule runs on 'cpu' and 'cuda')
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):       # noqa: A002  (PyTorch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise ArgumentTypeError("device(): a device cannot be given an index "
                                        f"({type!r}, {index!r}); use device({str(type)!r})")
            type, index = type._type, type._index
        elif isinstance(type, (int, numpy.integer)) and not isinstance(type, bool):
            type, index = "cuda", int(type)
        elif not isinstance(type, str):
            raise ArgumentTypeError(f"device(): expected a string, a device or an int, got "
                                    f"{_kind(type)}")
        elif ":" in type:
            if index is not None:
                raise ArgumentError(f"device({type!r}, {index!r}): the type string already "
                                    "names an index; give one or the other")
            type, index = _split(type)
        if type not in TYPES:
            raise ArgumentError(
                f"device({type!r}): expected one of {', '.join(TYPES[:2])}, ... device type "
                "at the start of the device string (chainrule runs on 'cpu' and 'cuda')")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, numpy.integer)):
                raise ArgumentTypeError(f"device(): the index must be an int, got "
                                        f"{_kind(index)}")
            if index < 0:
                raise ArgumentError(f"device({type!r}, {index}): the index must be >= 0")
            index = int(index)
        self._type, self._index = type, index

    @property
    def type(self):                              # noqa: A003
        return self._type

    @property
    def index(self):
        return self._index

    def __eq__(self, other):
        return isinstance(other, device) and self._type == other._type and \
            self._index == other._index

    def __hash__(self):
        return hash((self._type, self._index))

    def __repr__(self):
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __reduce__(self):
        return (device, (self._type, self._index))


def _kind(value):
    return type(value).__name__


def _split(text):
    """``"cuda:1"`` -> ("cuda", 1), refusing what PyTorch refuses (``cuda:-1``, ``cuda:x``)."""
    kind, _, number = text.partition(":")
    if not number.isdigit() or (len(number) > 1 and number[0] == "0"):
        raise ArgumentError(f"device({text!r}): invalid device string (expected a type "
                            "such as 'cuda' or 'cuda:N' with N >= 0)")
    return kind, int(number)


CPU = device("cpu")


def device_of(array):
    """The device of a backend array: the CPU for NumPy arrays, ``cuda:N`` for CuPy's."""
    if isinstance(array, numpy.ndarray) or not backend.is_gpu_array(array):
        return CPU
    return device("cuda", int(array.device.id))


def as_device(spec, op="to"):
    """A :class:`device` from what a user passes as ``device=`` (None stays None)."""
    if spec is None or isinstance(spec, device):
        return spec
    if isinstance(spec, (str, int, numpy.integer)) and not isinstance(spec, bool):
        return device(spec)
    raise ArgumentTypeError(f"{op}: device must be a string such as 'cpu' or 'cuda', a "
                            f"chainrule.device or an int, got {_kind(spec)}")


def same_place(array, target):
    """Whether ``array`` already lives on ``target`` (``"cuda"`` without an index means the
    current GPU)."""
    if target._type == "cpu":
        return isinstance(array, numpy.ndarray) or not backend.is_gpu_array(array)
    if target._type != "cuda" or not backend.is_gpu_array(array):
        return False
    index = target._index
    if index is None:
        index = backend.cupy_module().cuda.Device().id
    return int(array.device.id) == index


def move_array(array, target):
    """``array`` on device ``target`` (the same array when it is already there)."""
    if target._type == "cpu":
        return backend.to_numpy(array)
    if target._type == "cuda":
        index = target._index
        if index is None:                        # "cuda": the current GPU
            index = backend.cupy_module().cuda.Device().id if backend.gpu_count() else 0
        if backend.is_gpu_array(array):          # another GPU: CuPy copies to the current one
            with backend.cupy_module().cuda.Device(index):
                return array.copy()
        return backend.to_gpu(array, index)
    raise DeviceError(f"{str(target)!r} tensors are not supported: chainrule runs on the CPU "
                      "(device='cpu') and on NVIDIA GPUs through CuPy (device='cuda')")


def check_usable(target):
    """Raise now (not at the first op) if tensors cannot be made on ``target``."""
    if target is None or target._type == "cpu":
        return target
    if target._type != "cuda":
        move_array(None, target)                       # raises, naming the device
    backend.cupy_module()
    count = backend.gpu_count()
    if count == 0 or (target._index is not None and target._index >= count):
        backend.to_gpu(numpy.zeros(0), target._index or 0)   # raises, saying what is missing
    return target


def mixed_devices(op, a, b):
    """The error for an op that met arrays of two devices (call it only when their types
    differ: NumPy's and CuPy's). Returns None when they are on the same device after all."""
    first, second = device_of(a), device_of(b)
    if first == second:
        return None
    return DeviceError(f"{op}: expected all tensors to be on the same device, but found at "
                       f"least two devices, {first} and {second}: move one with "
                       f".to({str(first)!r}) or .to({str(second)!r})")


class ToDevice(Function):
    """A copy on another device; the gradient goes back to the device of the input."""

    def __init__(self, target):
        self.target = target

    def forward(self, x):
        self.source = device_of(x)
        return move_array(x, self.target)

    def backward(self, gy):
        return to_device(gy, self.source)


def to_device(x, target, copy=False):
    """``x`` on ``target`` (``x`` itself when it is there already, unless ``copy``).

    >>> import chainrule
    >>> x = chainrule.ones(2)
    >>> to_device(x, device("cpu")) is x
    True
    """
    if same_place(x._data, target):
        return x.clone() if copy else x
    return ToDevice(target)(x)


# ---------------------------------------------------------------- the arguments of .to()

_TO_OPTIONS = ("device", "dtype", "non_blocking", "copy", "memory_format")


def parse_to(args, kwargs, op="to"):
    """``(device, dtype, non_blocking, copy, memory_format)`` from the arguments of
    ``Tensor.to`` / ``Module.to``, in PyTorch's forms: ``to(dtype)``, ``to(device)``,
    ``to(device, dtype)``, ``to(other_tensor)``, each optionally followed by
    ``non_blocking, copy``, and the keywords. A string names a device when it starts with a
    device type (``"cuda:1"``), else a dtype (``"float64"``, as chainrule always accepted).

    >>> parse_to(("cuda", "float16"), {})
    (device(type='cuda'), dtype('float16'), False, False, None)
    """
    unknown = set(kwargs) - set(_TO_OPTIONS)
    if unknown:
        raise ArgumentTypeError(f"{op}() got an unexpected keyword argument "
                                f"{sorted(unknown)[0]!r}")
    target = dtype = None
    rest = list(args)
    if rest:
        first = rest.pop(0)
        if isinstance(first, TensorBase):
            target, dtype = device_of(first._data), first._data.dtype
        elif _names_device(first):
            target = as_device(first, op)
            if rest and not isinstance(rest[0], bool) and rest[0] is not None:
                dtype = as_dtype(rest.pop(0), op)
        elif first is not None:
            dtype = as_dtype(first, op)
    if len(rest) > 2:
        raise ArgumentTypeError(f"{op}(): too many positional arguments (after the device "
                                "or dtype come non_blocking and copy)")
    non_blocking = bool(rest[0]) if rest else False
    copy = bool(rest[1]) if len(rest) > 1 else False
    for name, value in kwargs.items():
        if name == "device":
            target = as_device(value, op) if value is not None else target
        elif name == "dtype":
            dtype = as_dtype(value, op) if value is not None else dtype
        elif name == "non_blocking":
            non_blocking = bool(value)
        elif name == "copy":
            copy = bool(value)
    fmt = kwargs.get("memory_format")
    if fmt is not None and not isinstance(fmt, memory_format):
        raise ArgumentTypeError(f"{op}: memory_format must be a chainrule memory format "
                                f"(chainrule.channels_last, ...), got {fmt!r}")
    return target, dtype, non_blocking, copy, fmt


def _names_device(value):
    if isinstance(value, device):
        return True
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.partition(":")[0] in TYPES
