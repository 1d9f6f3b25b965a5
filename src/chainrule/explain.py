"""explain: the backward pass as a table, one row per gate, in the order backprop visits them.

Each row shows the op, its inputs, the value that flowed forward, the upstream gradient that
arrives, the local derivative of each input and the product that the chain rule passes on —
the numbers the seeds write next to each gate of their drawing.

>>> import chainrule
>>> x, y = chainrule.tensor(1.0, name="x"), chainrule.tensor(2.0, name="y")
>>> w = chainrule.tensor(1.0, requires_grad=True, name="w")
>>> trace = chainrule.explain((w * x - y) ** 2)
>>> print(trace)
step  gate          inputs    forward  upstream  local      passed on
1     PowScalar(2)  Sub#2     1        1         Sub#2: -2  Sub#2: -2
2     Sub           Mul#1, y  -1       -2        Mul#1: 1   Mul#1: -2
3     Mul           w, x      1        -2        w: 1       w: -2
leaf gradients: w = -2
"""
import copy

import numpy

from . import backend
from .autograd.engine import grad, topological_order
from .autograd.function import Function
from .autograd.grad_mode import no_grad, state
from .errors import GraphError


class Row:
    """One gate of the trace."""

    __slots__ = ("step", "op", "inputs", "forward", "upstream", "local", "passed")

    def __init__(self, step, op, inputs, forward, upstream, local, passed):
        self.step, self.op, self.inputs = step, op, inputs
        self.forward, self.upstream, self.local, self.passed = forward, upstream, local, passed

    def to_dict(self):
        return {"step": self.step, "op": self.op, "inputs": list(self.inputs),
                "forward": _plain(self.forward), "upstream": _plain(self.upstream),
                "local": {k: _plain(v) for k, v in self.local.items()},
                "passed_on": {k: _plain(v) for k, v in self.passed.items()}}


class Trace:
    """The rows of a backward pass plus the gradient that reached each leaf."""

    def __init__(self, rows, leaf_grads):
        self.rows, self.leaf_grads = rows, leaf_grads

    def to_dict(self):
        return {"rows": [r.to_dict() for r in self.rows],
                "leaf_gradients": {k: _plain(v) for k, v in self.leaf_grads.items()}}

    def _cells(self):
        header = ["step", "gate", "inputs", "forward", "upstream", "local", "passed on"]
        body = []
        for r in self.rows:
            body.append([str(r.step), r.op, ", ".join(r.inputs), summarize(r.forward),
                         summarize(r.upstream),
                         "; ".join(f"{k}: {summarize(v)}" for k, v in r.local.items()),
                         "; ".join(f"{k}: {summarize(v)}" for k, v in r.passed.items())])
        return header, body

    def to_text(self):
        header, body = self._cells()
        widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in [header] + body]
        if self.leaf_grads:
            lines.append("leaf gradients: " + "; ".join(
                f"{k} = {summarize(v)}" for k, v in self.leaf_grads.items()))
        return "\n".join(lines)

    def to_markdown(self):
        header, body = self._cells()
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        if self.leaf_grads:
            lines.append("")
            lines.append("Leaf gradients: " + "; ".join(
                f"`{k}` = {summarize(v)}" for k, v in self.leaf_grads.items()))
        return "\n".join(lines)

    __str__ = to_text

    def __repr__(self):
        return f"<Trace of {len(self.rows)} gates>"


def summarize(value, max_elements=4):
    """A short text for an array: the numbers when small, shape/mean/norm when large."""
    if value is None:
        return "-"
    array = numpy.asarray(backend.to_numpy(value), dtype=float)
    if array.size == 1:
        return f"{array.item():.6g}"
    if array.size <= max_elements:
        return "[" + ", ".join(f"{v:.4g}" for v in array.reshape(-1)) + "]"
    return (f"<shape {tuple(array.shape)}, mean {array.mean():.4g}, "
            f"norm {numpy.linalg.norm(array):.4g}>")


def _plain(value):
    array = backend.to_numpy(value)
    return array.item() if array.size == 1 else array.tolist()


def _op_label(fn):
    name = fn.op_name()
    exponent = getattr(fn, "exponent", None)
    if exponent is not None:
        return f"{name}({exponent:g})"
    return name


def explain(output, inputs=None):
    """Trace the backward pass of ``output`` (a scalar, or any tensor: then d(sum)/d...).

    ``inputs`` names tensors for the table: a dict {name: tensor}, a Module (its parameter
    names) or a list of tensors; tensors created with ``name=`` are named anyway. The rows
    are recorded by a tracer inside the engine's own backward pass (so they are what
    ``backward()`` computes); the graph is kept and no ``.grad`` is changed.
    """
    names = _names(inputs)
    if output.grad_fn is None:
        raise GraphError("explain: the output has no graph; compute it from tensors with "
                         "requires_grad=True (outside no_grad)")
    order = topological_order([output.grad_fn])
    gates = [node for node in order if isinstance(node, Function)]
    labels = {fn: f"{fn.op_name()}#{len(gates) - i}" for i, fn in enumerate(gates)}
    leaves = [node for node in order if not isinstance(node, Function)]
    recorder = _Recorder(names, labels)
    gradient = output._make(backend.xp.ones_like(output._data), None)
    previous, state.tracer = state.tracer, recorder
    try:
        found = grad(output, leaves, gradient, retain_graph=True, allow_unused=True)
    finally:
        state.tracer = previous
    leaf_grads = {}
    for leaf, g in zip(leaves, found):
        if g is not None:
            leaf_grads[_label(leaf, leaf, names, labels)] = g._data
    return Trace(recorder.rows, leaf_grads)


class _Recorder:
    """The tracer explain hands the engine: one Row per node, as the engine visits it."""

    def __init__(self, names, labels):
        self.names, self.labels, self.rows = names, labels, []

    def on_node(self, fn, upstream, passed):
        value = copy.copy(fn).forward(*[t._data for t in fn.inputs])
        ones = upstream._make(backend.xp.ones_like(upstream._data), None)
        with no_grad():
            local = _as_tuple(fn.backward(ones))
        input_labels = [_label(t, edge, self.names, self.labels)
                        for t, edge in zip(fn.inputs, fn.edges)]
        row_local, row_passed = {}, {}
        for label, lg, pg in zip(input_labels, local, passed):
            if pg is not None:
                row_local[label], row_passed[label] = lg._data, pg._data
        self.rows.append(Row(len(self.rows) + 1, _op_label(fn), input_labels, value,
                             upstream._data, row_local, row_passed))

    def on_leaf(self, leaf, g):
        pass


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def _names(inputs):
    if inputs is None:
        return {}
    if hasattr(inputs, "named_parameters"):
        return {id(p): name for name, p in inputs.named_parameters()}
    if isinstance(inputs, dict):
        return {id(t): name for name, t in inputs.items()}
    return {id(t): (t.name or f"input{i}") for i, t in enumerate(inputs)}


def _label(t, edge, names, labels):
    if id(t) in names:
        return names[id(t)]
    if t.name:
        return t.name
    if edge is not None and edge in labels:
        return labels[edge]
    if t._data.size == 1:
        return f"{t._data.item():g}"
    return f"const{tuple(t.shape)}"
