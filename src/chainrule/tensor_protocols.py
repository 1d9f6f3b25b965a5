"""How a Tensor meets other array libraries and notebooks: NumPy's array protocols, DLPack,
and the HTML a Jupyter notebook shows.

A mixin of :class:`chainrule.Tensor` (it holds no data of its own). What each does, as in
PyTorch:

- ``numpy.asarray(t)`` is the tensor's own memory (``__array__``, NumPy 2's ``copy=``
  honoured); ``numpy.exp(t)`` and ``numpy.add(array, t)`` give tensors (``__array_wrap__``);
  ``array + t`` is ``t.__radd__(array)``, a tensor (``__array_priority__``).
- ``torch.from_dlpack(t)``, ``numpy.from_dlpack(t)``, ``jax.dlpack.from_dlpack(t)`` share
  the tensor's memory (``__dlpack__``); a tensor that requires grad is refused, as PyTorch
  refuses its own.

>>> import chainrule, numpy
>>> t = chainrule.tensor([1.0, 2.0])
>>> numpy.exp(t)
tensor([2.7183, 7.3891])
>>> numpy.shares_memory(numpy.from_dlpack(t), t.numpy())
True
"""
import numpy

from . import _html, backend
from .autograd.grad_mode import state
from .errors import ArgumentError, DLPackError, GraphError
from .tensor_base import TensorBase

_CPU = 1            # DLPack's device type kDLCPU


class TensorProtocols:
    """The array-interchange and display methods of :class:`chainrule.Tensor`."""

    __slots__ = ()

    #: above NumPy's arrays (0) and scalars, so ``array + t`` calls ``t.__radd__``
    __array_priority__ = 1000

    # ------------------------------------------------------------ NumPy
    def __array__(self, dtype=None, copy=None):
        """The tensor's array for NumPy: its own memory (``copy=None``, the default, and
        ``copy=False``), or a copy (``copy=True``, or a ``dtype`` it does not have)."""
        array = self._data
        if not isinstance(array, numpy.ndarray):          # CuPy: the data is on the GPU
            if copy is False:
                raise ArgumentError(f"numpy.asarray(copy=False) of a tensor of shape "
                                    f"{self.shape} on the GPU: it can only be copied")
            array, copy = backend.to_numpy(array), None
        if dtype is not None and numpy.dtype(dtype) != array.dtype:
            if copy is False:
                raise ArgumentError(f"numpy.asarray(copy=False) of a {self.dtype} tensor as "
                                    f"{numpy.dtype(dtype)}: changing the dtype copies")
            return array.astype(dtype)
        return array.copy() if copy else array

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """A ufunc's result as a tensor (``numpy.exp(t)``), as PyTorch does; a dtype
        chainrule does not hold (complex) stays a NumPy array. A tensor that requires grad
        is refused, since autograd cannot see NumPy's computation."""
        if context is not None and state.enabled:
            ufunc, args = context[0], context[1]
            if any(isinstance(a, TensorBase) and a.requires_grad for a in args):
                name = getattr(ufunc, "__name__", "ufunc")
                raise GraphError(
                    f"numpy.{name} on a tensor that requires grad: autograd cannot record "
                    f"NumPy's computation, so no gradient would flow back. Use chainrule's "
                    f"op (chainrule.{name}, or the tensor method) to train through it, or "
                    f"numpy.{name}(t.detach()) for the values")
        if backend.kind(array.dtype) not in "fiub":
            return array[()] if return_scalar else array
        return self._make(array, None)

    # ------------------------------------------------------------ DLPack
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule of the tensor's memory, for ``torch.from_dlpack(t)`` and the other
        libraries' ``from_dlpack``: they share it (see docs/pytorch.md, DLPack)."""
        if self.requires_grad:
            raise DLPackError(
                f"__dlpack__: a tensor of shape {self.shape} that requires grad cannot be "
                "exported (as in PyTorch: the other library would not record its "
                "operations); export t.detach(), which shares the same memory")
        array = self._data
        if any(step < 0 for step in array.strides):
            # a flipped view: PyTorch aborts the process on negative strides, so export a copy
            if copy is False:
                raise DLPackError(
                    f"__dlpack__(copy=False): this tensor of shape {self.shape} is a reversed "
                    "view (flip, [::-1]) that other libraries cannot take without a copy; "
                    "export t.contiguous() or allow a copy")
            array = backend.xp.ascontiguousarray(array)
        if stream == -1 and array.__dlpack_device__()[0] == _CPU:
            stream = None                                  # -1: "no synchronisation"
        options = {name: value for name, value in
                   (("stream", stream), ("max_version", max_version),
                    ("dl_device", dl_device), ("copy", copy)) if value is not None}
        return array.__dlpack__(**options)

    def __dlpack_device__(self):
        """``(device type, device id)`` as DLPack numbers them: ``(1, 0)`` is the CPU."""
        return self._data.__dlpack_device__()

    # ------------------------------------------------------------ notebooks
    def _repr_html_(self):
        """Jupyter's view: shape, dtype, autograd state and the values (summarised)."""
        array = backend.to_numpy(self._data)
        facts = [("shape", tuple(array.shape)), ("dtype", self.dtype)]
        if self.grad_fn is not None:
            facts.append(("grad_fn", self.grad_fn.op_name() + "Backward"))
        elif self.requires_grad:
            facts.append(("requires_grad", "True (leaf)"))
        if self.name:
            facts.append(("name", self.name))
        facts += _statistics(array)
        values = numpy.array2string(array, precision=4, separator=", ", threshold=120,
                                    edgeitems=3)
        return ('<div class="chainrule-tensor">' +
                _html.table([k for k, _ in facts], [[v for _, v in facts]], caption="tensor") +
                f'<pre style="margin: 4px 0">{_html.escape(values)}</pre></div>')


def _statistics(array):
    """min, max, mean and std of a floating array with several elements (NaN/inf counted)."""
    if not backend.is_floating(array.dtype) or array.size < 2:
        return []
    finite = array[numpy.isfinite(array)].astype(numpy.float64)
    facts = []
    if finite.size:
        facts += [("min", f"{finite.min():.4g}"), ("max", f"{finite.max():.4g}"),
                  ("mean", f"{finite.mean():.4g}"), ("std", f"{finite.std():.4g}")]
    if finite.size < array.size:
        facts.append(("non-finite", int(array.size - finite.size)))
    return facts
