"""Function: one gate of the computation graph.

An op subclasses :class:`Function` and writes two methods side by side:

* ``forward(*arrays) -> array`` computes the value with the backend's array module;
* ``backward(gy) -> gradient per input`` gets the upstream gradient as a Tensor and returns
  the local derivative times upstream, written with chainrule ops. Because those ops are
  recorded when ``create_graph=True``, second and third derivatives need no extra code.

Calling a Function outside ``no_grad`` records a node (the output's ``grad_fn``); inside it,
the call is just the array math plus one wrapper object.

>>> import chainrule
>>> from chainrule.autograd.function import Function
>>> class Square(Function):
...     def forward(self, x):
...         return x * x
...     def backward(self, gy):
...         (x,) = self.inputs
...         return gy * 2 * x
>>> x = chainrule.tensor(3.0, requires_grad=True)
>>> y = Square()(x)
>>> y.backward()
>>> x.grad.item()
6.0
"""
import weakref

from ..errors import DTypeError, GraphError, IndexOutOfRangeError, InplaceError, ShapeError
from ..tensor import Tensor
from . import engine

_state = engine.grad_state


class Function:
    """Base class of every differentiable op (one output, any number of inputs)."""

    #: indices of inputs that backward reads; ``None`` means all. In-place changes to
    #: these between forward and backward are an error (checked by version counters).
    saved_inputs = None
    #: True when backward reads the output (``self.output``), e.g. exp, sigmoid, tanh.
    uses_output = False

    inputs = None
    inplace_mark = -1
    edges = None
    versions = None
    released = False
    _output_ref = None
    _output_data = None
    output_hooks = None
    created_at = None

    def __call__(self, *inputs):
        try:
            if len(inputs) == 1:
                out = self.forward(inputs[0].data)
            elif len(inputs) == 2:
                out = self.forward(inputs[0].data, inputs[1].data)
            else:
                out = self.forward(*[t.data for t in inputs])
        except ValueError as error:
            shapes = ", ".join(str(t.shape) for t in inputs)
            raise ShapeError(f"{self.op_name()}: {error} (input shapes {shapes})") from None
        except TypeError as error:
            dtypes = ", ".join(str(t.dtype) for t in inputs)
            raise DTypeError(f"{self.op_name()}: {error} (input dtypes {dtypes})") from None
        except IndexError as error:
            shapes = ", ".join(str(t.shape) for t in inputs)
            raise IndexOutOfRangeError(f"{self.op_name()}: {error} (input shapes {shapes})") \
                from None
        if _state.anomaly:
            engine.check_forward(self, inputs, out)
        if _state.enabled:
            for t in inputs:
                if t.requires_grad:
                    return self._record(inputs, out)
        return _make(out, None)

    def _record(self, inputs, out):
        self.inputs = inputs
        # the grad_fn of each input now: an in-place op may later give the input Tensor
        # object a new grad_fn, but this node must still send its gradient to the old one
        if len(inputs) == 2:
            a, b = inputs
            self.edges = (a.grad_fn, b.grad_fn)
            self.versions = (a._version, b._version)
        else:
            self.edges = tuple([t.grad_fn for t in inputs])
            self.versions = tuple([t._version for t in inputs])
        self.inplace_mark = _state.inplace_count
        result = _make(out, self)
        if self.uses_output:
            self._output_data = out
            self._output_ref = weakref.ref(result)
        if _state.anomaly:
            self.created_at = engine.user_frame()
        return result

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    @property
    def output(self):
        """The output Tensor (for ops whose derivative is written in terms of it).

        The Function keeps the output's array, not the Tensor (that would be a reference
        cycle); if the user's Tensor is gone, an equivalent one with this grad_fn is made.
        """
        out = self._output_ref() if self._output_ref is not None else None
        if out is None:
            if self._output_data is None:
                raise GraphError(f"{self.op_name()}: its saved output was freed by an earlier "
                                 "backward; use retain_graph=True")
            out = _make(self._output_data, self)
        return out

    def needs_grad(self, index):
        """Whether input ``index`` wants a gradient (lets backward skip useless work)."""
        return self.inputs[index].requires_grad

    def check_versions(self):
        if _state.inplace_count == self.inplace_mark:
            return                       # nothing anywhere was changed in place since forward
        indices = range(len(self.inputs)) if self.saved_inputs is None else self.saved_inputs
        for i in indices:
            t = self.inputs[i]
            if t._version != self.versions[i]:
                raise InplaceError(
                    f"{self.op_name()}: input {i} (shape {t.shape}) was modified in place after "
                    f"it was saved for backward (version {self.versions[i]} -> {t._version}); "
                    "use an out-of-place op (x = x + 1 instead of x += 1) or clone() it first")
        if self.uses_output and self._output_ref is not None:
            out = self._output_ref()
            if out is not None and out._version != 0:
                raise InplaceError(
                    f"{self.op_name()}: its output (shape {out.shape}) was modified in place "
                    "after it was saved for backward; use an out-of-place op or clone() it")

    def release(self):
        """Drop everything saved for backward (called after backward unless retain_graph):
        inputs, edges, the output array and any arrays the op kept (masks, im2col...)."""
        self.__dict__.clear()
        self.released = True

    @classmethod
    def op_name(cls):
        return cls.__name__

    def __repr__(self):
        return f"<{self.op_name()}Backward>"


_make = Tensor._make
