"""TensorBase: what every tensor holds — its array, and what autograd needs to know about it.

PyTorch splits its tensor the same way (``torch.Tensor`` subclasses ``torch._C.TensorBase``):
this class holds the data model (the backend array, ``grad``, ``grad_fn``, ``requires_grad``,
the version counter, hooks and view bookkeeping) and no maths. :class:`chainrule.Tensor`
adds the methods, each of which calls an op. Splitting them keeps imports pointing one way:
the engine and the ops know TensorBase; Tensor (above them) knows the ops.

Version counters. Every in-place change bumps the tensor's version; a node that saved a
tensor for backward compares versions and refuses if it changed. Views (slices, reshape,
transpose, expand, ``detach()``) share their base's counter object, so a change made through
any of them is seen by all. The process-wide :data:`inplace_clock` ticks on every in-place
change anywhere, which lets backward skip all version checks when nothing was changed.
"""
import numpy

from . import backend
from .errors import ArgumentTypeError, DTypeError, GraphError


class VersionCounter:
    """How many times a tensor's memory was changed in place (shared by its views)."""

    __slots__ = ("value",)

    def __init__(self, value=0):
        self.value = value


class _Clock:
    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


#: ticks on every in-place change to any tensor (a lost tick between threads still leaves
#: the value changed, which is all the check needs)
inplace_clock = _Clock()


class ViewInfo:
    """Bookkeeping of a view: its base tensor, how to take the same view of another tensor
    (``view_fn``, used to rebase the base's history when the view is changed in place), and
    the base's version when the view's ``grad_fn`` was last derived from the base."""

    __slots__ = ("base", "view_fn", "version")

    def __init__(self, base, view_fn, version):
        self.base, self.view_fn, self.version = base, view_fn, version


class TensorBase:
    """The data model of a tensor; see :class:`chainrule.Tensor` for the methods."""

    # Every tensor sets the five slots (the version counter and view info are None until
    # the tensor is changed in place, saved or viewed; slots because every op reads them);
    # the rest are rarely set (a leaf's grad, a name, hooks), so they default to the class
    # values below and live in the instance dict only when set: making a tensor, which every
    # op does, then stores five attributes instead of nine.
    __slots__ = ("_data", "grad_fn", "requires_grad", "_version_counter", "_view", "__dict__",
                 "__weakref__")
    grad = None
    name = None
    _hooks = None
    _post_hooks = None

    @staticmethod
    def _make(data, grad_fn):
        """A new plain Tensor holding ``data`` with history ``grad_fn`` (no conversion, no
        checks): how ops and the engine make tensors. Defined by :class:`chainrule.Tensor`."""
        raise NotImplementedError

    # ------------------------------------------------------------ attributes
    @property
    def data(self):
        """The same memory as a tensor that autograd does not track (PyTorch's ``.data``):
        ``p.data.add_(-lr * p.grad.data)`` changes ``p`` without recording anything."""
        return self._make(self._data, None)

    @data.setter
    def data(self, value):
        array = value._data if isinstance(value, TensorBase) else to_array(value)
        self._data = array

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        dtype = self._data.dtype                # a NumPy dtype, but for array API test arrays
        return dtype if isinstance(dtype, numpy.dtype) else backend.numpy_dtype(dtype)

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def _version(self):
        """How many in-place changes this tensor (or a view sharing its memory) has seen."""
        counter = self._version_counter
        return 0 if counter is None else counter.value

    def _counter(self):
        """The version counter, made on first need (most tensors are never changed in
        place, saved or viewed, so they never pay for one)."""
        counter = self._version_counter
        if counter is None:
            counter = self._version_counter = VersionCounter()
        return counter

    @property
    def _base(self):
        """The tensor this one is a view of, or None (as PyTorch's ``Tensor._base``)."""
        return None if self._view is None else self._view.base

    def _bump_version(self):
        self._counter().value += 1
        inplace_clock.value += 1

    def requires_grad_(self, requires_grad=True):
        """Ask autograd to record operations on this (floating-point, leaf) tensor."""
        if requires_grad and not backend.is_floating(self._data.dtype):
            raise DTypeError(f"only floating-point tensors can require gradients, but this one "
                             f"is {self.dtype}: gradients of integers and bools are not "
                             "defined; convert it first with x.to(chainrule.float32)")
        if not requires_grad and self.grad_fn is not None:
            raise GraphError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self


_new = object.__new__


def to_array(data, dtype=None):
    """Convert Python numbers, lists, NumPy arrays or tensors to a backend array.

    Python floats become float32 (PyTorch's default) and Python ints int64; arrays keep
    their dtype unless ``dtype`` says otherwise.
    """
    xp = backend.xp
    if isinstance(data, TensorBase):
        data = data._data
    if dtype is not None:
        dtype = numpy.dtype(backend.numpy_dtype(dtype))
        check_supported(dtype)
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, (numpy.ndarray, numpy.generic)) or type(data).__module__.startswith(
            ("cupy", "array_api_strict")):
        array = xp.asarray(data)
    else:
        array = xp.asarray(data)
        kind = backend.kind(array.dtype)
        if kind == "f":
            array = xp.astype(array, backend.default_float)
        elif kind in "iu":
            array = xp.astype(array, numpy.dtype(numpy.int64))
    check_supported(array.dtype)
    return array


def check_supported(dtype):
    if backend.kind(dtype) not in "fiub" and not backend.is_bfloat16(dtype):
        raise DTypeError(f"unsupported dtype {dtype}: chainrule tensors hold floating, integer "
                         "or bool data")


def check_index_dtype(tensor):
    if backend.kind(tensor._data.dtype) not in "iub":
        raise ArgumentTypeError(
            f"tensors used as indices must be integer or bool, got {tensor.dtype}")
