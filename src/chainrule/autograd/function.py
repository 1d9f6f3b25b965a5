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
from .. import backend_helpers
from ..errors import GraphError, InplaceError
from ..tensor_base import TensorBase, VersionCounter, ViewInfo, inplace_clock
from . import anomaly
from .grad_mode import hints, state

_NOTHING_NEEDED = tuple((False,) * n for n in range(16))
_ONE_TRUE, _ONE_FALSE = (True,), (False,)
_TWO_FALSE = (False, False)
_TWO = ((_TWO_FALSE, (False, True)), ((True, False), (True, True)))   # [a needs][b needs]
_RELEASED = object()    # what a node saved, after a backward without retain_graph freed it
_OUTPUT_ONLY = (None,)  # what a node saved when forward saved just its output (y = f(x))
_MANY = object()        # _input0 of a node with three or more inputs (_input1 holds them)


class Function:
    """Base class of every differentiable op (one output, any number of inputs)."""

    # What every call sets lives in slots, so an op without parameters has no per-node dict:
    # needs_input_grad (per input: does it want a gradient? set before forward runs);
    # _input0 and _input1 (the input tensors, read through ``inputs``: one or two inputs in
    # a slot each rather than a tuple, which would be one more object per node for the
    # garbage collector to walk, ~5% of a small op's cost; three or more: _MANY and the
    # tuple); edges (per input: its grad_fn at call time, the leaf itself, or None);
    # input_shapes (the engine sums broadcast gradients back to them; None when every input
    # with an edge has the output's shape, the common case: three tuples fewer per node for
    # the garbage collector, ~10% of a small op's cost); _saved, _saved_versions and the
    # _out_* fields (what save_for_backward kept: the output is remembered by position,
    # array, version counter and version).
    __slots__ = ("needs_input_grad", "_input0", "_input1", "edges", "input_shapes", "_to_save",
                 "_saved", "_saved_versions", "_out_index", "_out_data", "_out_counter",
                 "_out_version", "_inplace_mark", "watched", "__dict__")

    #: True for ops whose output may share memory with their (first) input: reshape, slices,
    #: transpose, expand... The output then shares the input's version counter, and an
    #: in-place change of it rewrites the base's history (as PyTorch's views do).
    is_view = False

    # watched (a slot, False when recorded) turns True when the output tensor gets a hook or
    # retains its grad: only then does the engine stop at the output before the rule runs
    output_hooks = None     # hooks registered on the output tensor (run once with its total)
    retained = None         # weak reference to the output tensor if it called retain_grad()
    created_at = None       # the user's line that created the node (anomaly mode only)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.is_view:          # view ops (only they) pay for the view bookkeeping
            cls.__call__ = Function._call_view

    def _call_view(self, *inputs):
        """``__call__`` of a view op: the output shares its input's version counter and
        knows how to take the same view of the base again (see :func:`_mark_view`)."""
        params = dict(self.__dict__)
        result = Function.__call__(self, *inputs)
        _mark_view(result, inputs[0], type(self), params)
        return result

    def __call__(self, *inputs):
        enabled = state.enabled
        if len(inputs) == 2:
            a, b = inputs
            self.needs_input_grad = needs = _TWO[a.requires_grad][b.requires_grad] \
                if enabled else _TWO_FALSE
            record = needs is not _TWO_FALSE
            self._to_save = None
            out = self.forward(a._data, b._data)
        elif len(inputs) == 1:
            x = inputs[0]
            record = enabled and x.requires_grad
            self.needs_input_grad = _ONE_TRUE if record else _ONE_FALSE
            self._to_save = None
            out = self.forward(x._data)
        else:
            needs = tuple([t.requires_grad for t in inputs]) if enabled else \
                _NOTHING_NEEDED[len(inputs)]
            self.needs_input_grad, record = needs, True in needs
            self._to_save = None
            out = self.forward(*[t._data for t in inputs])
        if hints.anomaly_used and state.anomaly:
            anomaly.check_forward(self, inputs, out)
            if record:
                result = self._record(inputs, out)
                self.created_at = anomaly.user_frame()
                return result
        return self._record(inputs, out) if record else inputs[0]._make(out, None)

    def _record(self, inputs, out):
        """Make ``out`` the output of this node: remember its inputs, where each input's
        gradient goes (its edge), the input shapes, and what forward saved."""
        shape = out.shape
        if len(inputs) == 2:
            a, b = inputs
            self._input0, self._input1 = a, b
            edge_a = a.grad_fn if a._view is None else edge_of(a)
            edge_b = b.grad_fn if b._view is None else edge_of(b)
            if edge_b is None and not b.requires_grad:      # (x * 2: a constant b)
                self.edges = (a if edge_a is None and a.requires_grad else edge_a, None)
                shape_a = a._data.shape
                self.input_shapes = None if shape_a == shape else (shape_a, b._data.shape)
            else:
                self.edges = (a if edge_a is None and a.requires_grad else edge_a,
                              b if edge_b is None else edge_b)
                shape_a, shape_b = a._data.shape, b._data.shape
                self.input_shapes = None if shape_a == shape and shape_b == shape else \
                    (shape_a, shape_b)
        elif len(inputs) == 1:
            x = inputs[0]
            self._input0, self._input1 = x, None
            edge = x.grad_fn if x._view is None else edge_of(x)
            self.edges = (x if edge is None else edge,)     # x requires grad: we record
            shape_x = x._data.shape
            self.input_shapes = None if shape_x == shape else (shape_x,)
        else:
            self._input0, self._input1 = _MANY, inputs
            self.edges = tuple([(t.grad_fn or (t if t.requires_grad else None))
                                if t._view is None else edge_of(t) for t in inputs])
            self.input_shapes = tuple([t._data.shape for t in inputs])
        self._inplace_mark, self.watched = inplace_clock.value, False
        result = inputs[0]._make(out, self)
        if self._to_save is None:
            self._saved = None
        else:
            self._resolve_saved(inputs, out, result)
        return result

    @property
    def inputs(self):
        """The input tensors, for tools that walk the graph (explain, viz, ONNX), until
        backward frees them (then None); backward reads ``saved_tensors``."""
        first = self._input0
        if first is None or first is _MANY:
            return self._input1
        second = self._input1
        return (first,) if second is None else (first, second)

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
        """Turn what forward saved into the tensors backward will read: an input saved is the
        input tensor itself (its version noted), a private array becomes a constant, and the
        output is remembered by its array (a Tensor holding this node would be a cycle)."""
        to_save, self._to_save = self._to_save, None
        self._out_index = self._saved_versions = None
        if len(to_save) == 1 and to_save[0] is out:     # the common y = f(x) that reads y
            counter = result._version_counter = VersionCounter()     # result is brand new
            self._out_index, self._out_data = 0, out
            self._out_counter, self._out_version = counter, counter.value
            self._saved = _OUTPUT_ONLY
            return
        if len(to_save) == 2 and len(inputs) == 2 and self._saved_own_inputs(to_save, out):
            return
        if len(to_save) == 1 and len(inputs) == 1 and to_save[0] is inputs[0]._data:
            self._saved = _SAVED_INPUT                   # y = f(x) that reads x (x ** c, sin)
            counter = inputs[0]._version_counter
            if counter is not None and counter.value:     # changed in place before
                self._saved_versions = (counter.value,)
            return
        saved, versions = [None] * len(to_save), None
        for i, array in enumerate(to_save):
            if array is None:
                continue
            if array is out:
                counter = result._counter()
                self._out_index, self._out_data = i, out
                self._out_counter, self._out_version = counter, counter.value
                continue
            for t in inputs:
                if t._data is array:
                    saved[i] = t
                    counter = t._version_counter
                    if counter is not None and counter.value:   # changed in place before
                        if versions is None:      # (a parameter after an optimizer step)
                            versions = [0] * len(to_save)
                        versions[i] = counter.value
                    break
            else:
                saved[i] = result._make(array, None)
        self._saved = tuple(saved)
        if versions is not None:          # else every saved input is taken to be at version 0
            self._saved_versions = tuple(versions)

    def _saved_own_inputs(self, to_save, out):
        """Keep (a or None, b or None) as a shared pattern, when forward saved the arrays of
        its two inputs a and b each at its own position (x * y saving (None, y), the common
        case); False when it saved anything else."""
        saved_a, saved_b = to_save
        a, b = self._input0, self._input1
        if (saved_a is not None and (saved_a is not a._data or saved_a is out)) or \
                (saved_b is not None and (saved_b is not b._data or saved_b is out)):
            return False
        self._saved = _SAVED_PAIRS[saved_a is not None][saved_b is not None]
        counter_a = a._version_counter if saved_a is not None else None
        counter_b = b._version_counter if saved_b is not None else None
        if (counter_a is not None and counter_a.value) or \
                (counter_b is not None and counter_b.value):     # changed in place before
            self._saved_versions = (counter_a.value if counter_a is not None else 0,
                                    counter_b.value if counter_b is not None else 0)
        return True

    @property
    def saved_tensors(self):
        """What forward saved, as Tensors, after checking that no saved input or output was
        changed in place since (InplaceError names the op, the tensor and both versions)."""
        saved = self._saved
        if saved is None:
            return ()
        if saved is _RELEASED:
            raise GraphError(
                f"{self.op_name()}: trying to backward through the graph a second time (its "
                "saved values were freed after the first backward); call "
                "backward(retain_graph=True) the first time if you need to backward twice")
        if inplace_clock.value != self._inplace_mark:   # something somewhere changed in place
            self._check_versions()
        if type(saved) is _SavedInputs:
            return saved.tensors(self)
        if self._out_index is None:
            return saved
        output = self._output_tensor()
        if saved is _OUTPUT_ONLY:
            return (output,)
        items = list(saved)
        items[self._out_index] = output
        return tuple(items)

    @property
    def saved_arrays(self):
        """What forward saved, as arrays, after the checks of ``saved_tensors``: for a backward
        that is not recorded. When nothing changed in place since forward, a saved output
        alone and saved inputs (the shared patterns) are read without making tensors;
        anything else goes through ``saved_tensors``."""
        saved = self._saved
        if inplace_clock.value == self._inplace_mark:       # nothing changed in place since
            if saved is _OUTPUT_ONLY:
                return (self._out_data,)
            if type(saved) is _SavedInputs:
                return saved.arrays(self)
        return tuple(None if t is None else t._data for t in self.saved_tensors)

    def _output_tensor(self):
        """The saved output as a tensor of this node (made on each read: a tensor held by
        its own grad_fn would be a reference cycle)."""
        first = self._input0
        return (self._input1[0] if first is _MANY else first)._make(self._out_data, self)

    def _saved_items(self):
        """What save_for_backward kept (the output as None), as a tuple."""
        saved = self._saved
        return saved.tensors(self) if type(saved) is _SavedInputs else saved

    def _check_versions(self):
        items = self._saved_items()
        versions = self._saved_versions or (0,) * len(items)
        for item, version in zip(items, versions):
            if item is not None and version is not None and item._version != version:
                self._raise_inplace(item, version)
        if self._out_index is not None and self._out_counter.value != self._out_version:
            raise InplaceError(
                f"{self.op_name()}: its output (shape {self._out_data.shape}) was modified in "
                f"place after it was saved for backward (version {self._out_version} -> "
                f"{self._out_counter.value}); use an out-of-place op (y = y * 2 instead of "
                "y *= 2) or clone() it first")

    def saves(self, tensor):
        """Whether ``tensor`` is among the inputs this node saved for backward."""
        if self._saved is None or self._saved is _RELEASED:
            return False
        return any(item is tensor for item in self._saved_items())

    def adopt_output(self, tensor):
        """An in-place op made ``tensor`` this node's output (it copied the result into the
        tensor's own memory): check the saved output against the tensor from now on."""
        if type(self._saved) is tuple and self._out_index is not None:
            counter = tensor._counter()
            self._out_data, self._out_counter, self._out_version = \
                tensor._data, counter, counter.value

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
        self._saved, self._out_data = _RELEASED, None
        self._input0 = self._input1 = None

    @property
    def released(self):
        """Whether a backward without retain_graph freed what this node saved."""
        return self._saved is _RELEASED

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


class _SavedInputs:
    """What a node saved when forward saved only its inputs' arrays, each at its own position
    (x * y saving (None, y); x ** c saving x): which of them, one shared object per pattern,
    instead of a tuple of tensors per node (the inputs are in the node's slots already):
    one object fewer per node for the garbage collector, ~6% of a small op's cost."""

    __slots__ = ("one_input", "keep_a", "keep_b")

    def __init__(self, keep_a, keep_b, one_input=False):
        self.one_input, self.keep_a, self.keep_b = one_input, keep_a, keep_b

    def tensors(self, fn):
        """The saved inputs of ``fn``, None where an input was not saved."""
        if self.one_input:
            return (fn._input0,)
        return (fn._input0 if self.keep_a else None, fn._input1 if self.keep_b else None)

    def arrays(self, fn):
        """The arrays of the saved inputs of ``fn``, None where an input was not saved."""
        if self.one_input:
            return (fn._input0._data,)
        return (fn._input0._data if self.keep_a else None,
                fn._input1._data if self.keep_b else None)


_SAVED_PAIRS = [[_SavedInputs(a, b) for b in (False, True)] for a in (False, True)]
_SAVED_INPUT = _SavedInputs(True, False, one_input=True)    # a one-input gate that saved x


def edge_of(tensor):
    """Where a tensor's gradient goes: its grad_fn, the tensor itself if it is a leaf that
    requires grad, or None. A view whose base was changed in place since its grad_fn was made
    first gets a grad_fn derived from the base's new history (as PyTorch does)."""
    view = tensor._view
    if view is not None and view.version != tensor._version:
        refresh_view(tensor)
    fn = tensor.grad_fn
    if fn is not None:
        return fn
    return tensor if tensor.requires_grad else None


def refresh_view(tensor):
    view = tensor._view
    view.version = tensor._version
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
    if backend_helpers.base_of(array) is None or not _shares_memory(array, source_array):
        return
    result._version_counter = source._counter()

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
    result._view = ViewInfo(base, view_fn, source._version)


def _shares_memory(a, b):
    return backend_helpers.memory_root(a) is backend_helpers.memory_root(b)
