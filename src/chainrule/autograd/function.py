"""Function: one gate of the computation graph — its forward and its derivative, side by side.

An op subclasses :class:`Function` and writes two methods:

* ``forward(*arrays) -> array`` computes the value with the backend's array module and
  calls ``self.save_for_backward(...)`` with exactly the arrays that backward will read
  (inputs, the output, or private arrays such as a mask);
* ``backward(gy) -> one gradient per input`` gets the upstream gradient as a Tensor, reads
  ``self.saved_tensors`` and returns local derivative × upstream, written with chainrule ops.
  Because those ops are recorded when ``create_graph=True``, second and third derivatives
  need no extra code. ``self.needs_input_grad`` says which inputs want a gradient, so a rule
  can skip the others (return None for them). A gradient may keep a broadcast shape: the
  engine sums it back to the input's shape.

Calling a Function outside ``no_grad`` records a node (the output's ``grad_fn``); inside it,
the same call is just the array math.

>>> import chainrule
>>> from chainrule.autograd.function import Function
>>> class Square(Function):
...     def forward(self, x):
...         self.save_for_backward(x)
...         return x * x
...     def backward(self, gy):
...         (x,) = self.saved_tensors
...         return gy * 2 * x
>>> x = chainrule.tensor(3.0, requires_grad=True)
>>> y = Square()(x)
>>> y.backward()
>>> x.grad.item()
6.0
"""
from ..errors import GraphError, InplaceError
from ..tensor_base import TensorBase, ViewInfo, inplace_clock
from . import anomaly
from .grad_mode import state

_NOTHING_NEEDED = tuple((False,) * n for n in range(16))
_OUTPUT = object()      # marks "the output" among the saved values


class Function:
    """Base class of every differentiable op (one output, any number of inputs)."""

    #: True for ops whose output may share memory with their (first) input: reshape, slices,
    #: transpose, expand... The output then shares the input's version counter, and an
    #: in-place change of it rewrites the base's history (as PyTorch's views do).
    is_view = False

    needs_input_grad = ()   # per input: does it want a gradient? (set before forward runs)
    inputs = ()             # the input tensors, for tools that walk the graph (explain, viz,
    #                         ONNX); backward reads only saved_tensors
    edges = ()              # per input: its grad_fn at call time, the leaf itself, or None
    output_hooks = None     # hooks registered on the output tensor (run once with its total)
    retained = None         # weak reference to the output tensor if it called retain_grad()
    created_at = None       # the user's line that created the node (anomaly mode only)
    released = False        # saved values were freed by a backward without retain_graph
    _to_save = None
    _saved = None
    _saved_versions = None
    _out_data = None
    _out_version = None
    _inplace_mark = -1

    def __call__(self, *inputs):
        view_params = dict(self.__dict__) if self.is_view else None
        if state.enabled:
            needs = tuple([t.requires_grad for t in inputs])
            record = True in needs
        else:
            needs, record = _NOTHING_NEEDED[len(inputs)], False
        self.needs_input_grad = needs
        if len(inputs) == 1:
            out = self.forward(inputs[0]._data)
        elif len(inputs) == 2:
            out = self.forward(inputs[0]._data, inputs[1]._data)
        else:
            out = self.forward(*[t._data for t in inputs])
        if state.anomaly:
            anomaly.check_forward(self, inputs, out)
        result = self._record(inputs, out) if record else inputs[0]._make(out, None)
        if view_params is not None:
            _mark_view(result, inputs[0], type(self), view_params)
        return result

    def _record(self, inputs, out):
        self.inputs = inputs
        self.edges = tuple([edge_of(t) for t in inputs])
        self._inplace_mark = inplace_clock.value
        result = inputs[0]._make(out, self)
        if self._to_save is not None:
            self._resolve_saved(inputs, out, result)
        if state.anomaly:
            self.created_at = anomaly.user_frame()
        return result

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError

    # ------------------------------------------------------------ saved values
    def save_for_backward(self, *arrays):
        """Keep these arrays for backward (inputs, the output, or private arrays; None for a
        value a gradient that is not wanted would have read). Inputs and the output are
        version-checked when backward reads them; nothing else is."""
        self._to_save = arrays

    def _resolve_saved(self, inputs, out, result):
        saved, versions = [], []
        for array in self._to_save:
            version = None
            if array is out and out is not None:
                item = _OUTPUT
                self._out_data = out
                self._out_version = (result._version_counter, result._version_counter.value)
            else:
                item = array
                for t in inputs:
                    if t._data is array and array is not None:
                        item, version = t, t._version_counter.value
                        break
            saved.append(item)
            versions.append(version)
        self._saved, self._saved_versions = tuple(saved), tuple(versions)
        self._to_save = None

    @property
    def saved_tensors(self):
        """What forward saved, as Tensors, after checking that no saved input or output was
        changed in place since (InplaceError names the op, the tensor and both versions)."""
        saved = self._saved
        if saved is None:
            if self.released:
                raise GraphError(
                    f"{self.op_name()}: trying to backward through the graph a second time (its "
                    "saved values were freed after the first backward); call "
                    "backward(retain_graph=True) the first time if you need to backward twice")
            return ()
        check = inplace_clock.value != self._inplace_mark
        make = self.inputs[0]._make
        result = []
        for item, version in zip(saved, self._saved_versions):
            if item is _OUTPUT:
                if check:
                    self._check_output_version()
                item = make(self._out_data, self)
            elif isinstance(item, TensorBase):
                if check and item._version_counter.value != version:
                    self._raise_inplace(item, version)
            elif item is not None:
                item = make(item, None)
            result.append(item)
        return tuple(result)

    def saves(self, tensor):
        """Whether ``tensor`` is among the inputs this node saved for backward."""
        return self._saved is not None and any(item is tensor for item in self._saved)

    def adopt_output(self, tensor):
        """An in-place op made ``tensor`` this node's output (it copied the result into the
        tensor's own memory): check the saved output against the tensor from now on."""
        if self._out_data is not None:
            self._out_data = tensor._data
            self._out_version = (tensor._version_counter, tensor._version_counter.value)

    def _check_output_version(self):
        counter, version = self._out_version
        if counter.value != version:
            raise InplaceError(
                f"{self.op_name()}: its output (shape {self._out_data.shape}) was modified in "
                f"place after it was saved for backward (version {version} -> {counter.value});"
                " use an out-of-place op (y = y * 2 instead of y *= 2) or clone() it first")

    def _raise_inplace(self, tensor, version):
        index = next(i for i, t in enumerate(self.inputs) if t is tensor)
        raise InplaceError(
            f"{self.op_name()}: input {index} (shape {tensor.shape}) was modified in place after "
            f"it was saved for backward (version {version} -> {tensor._version}); use an "
            "out-of-place op (x = x + 1 instead of x += 1) or clone() it first")

    def release(self):
        """Free what was kept for backward (called after backward unless retain_graph).
        The node keeps its edges and input shapes, so a gate that saved nothing (add,
        reshape) can still be walked again, as in PyTorch."""
        self._saved = self._out_data = None
        if not self.released:
            self.inputs = tuple([_ShapeOnly(t.shape) for t in self.inputs])
            self.released = True

    # ------------------------------------------------------------ names
    @classmethod
    def op_name(cls):
        return cls.__name__

    def __repr__(self):
        return f"<{self.op_name()}Backward>"

    @property
    def next_functions(self):
        """PyTorch's name for the edges: ``((node_or_leaf, 0), ...)``."""
        return tuple((edge, 0) for edge in self.edges)


class _ShapeOnly:
    """What a released node remembers of an input: its shape (for summing gradients back)."""

    __slots__ = ("shape",)
    name = None
    requires_grad = False

    def __init__(self, shape):
        self.shape = shape


def edge_of(tensor):
    """Where a tensor's gradient goes: its grad_fn, the tensor itself if it is a leaf that
    requires grad, or None. A view whose base was changed in place since its grad_fn was made
    first gets a grad_fn derived from the base's new history (as PyTorch does)."""
    view = tensor._view
    if view is not None and view.version != tensor._version_counter.value:
        refresh_view(tensor)
    fn = tensor.grad_fn
    if fn is not None:
        return fn
    return tensor if tensor.requires_grad else None


def refresh_view(tensor):
    view = tensor._view
    view.version = tensor._version_counter.value
    base = view.base
    if not base.requires_grad:
        return
    previous = state.enabled
    state.enabled = True
    try:
        fresh = view.view_fn(base)
    finally:
        state.enabled = previous
    tensor.grad_fn, tensor.requires_grad = fresh.grad_fn, fresh.requires_grad


def _mark_view(result, source, cls, params):
    """Make ``result`` a view of ``source``'s base when it really shares its memory."""
    array, source_array = result._data, source._data
    if array.base is None or not _shares_memory(array, source_array):
        return
    result._version_counter = source._version_counter

    def same_view(tensor):
        fn = cls.__new__(cls)
        fn.__dict__.update(params)
        return fn(tensor)

    outer = source._view
    if outer is None:
        base, view_fn = source, same_view
    else:
        inner_fn = outer.view_fn
        base = outer.base

        def view_fn(tensor):
            return same_view(inner_fn(tensor))
    result._view = ViewInfo(base, view_fn, source._version_counter.value)


def _shares_memory(a, b):
    root_a = a.base if a.base is not None else a
    root_b = b.base if b.base is not None else b
    while getattr(root_a, "base", None) is not None:
        root_a = root_a.base
    while getattr(root_b, "base", None) is not None:
        root_b = root_b.base
    return root_a is root_b
