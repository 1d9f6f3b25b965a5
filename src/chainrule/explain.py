"""explain: the backward pass as a table, one row per gate, in the order backprop visits them.

Gate 1 is the last gate of the forward pass (the one that made the output); each row shows
the gate's symbol and op, the name of what it computed, its inputs, the value that flowed
forward, the upstream gradient that arrives, the local derivative for each input and the
product that the chain rule passes on — the numbers the seeds write next to each gate of
their drawing. Only inputs that ask for a gradient are listed (data such as x and y is not).

>>> import chainrule
>>> x, y = chainrule.tensor(1.0, name="x"), chainrule.tensor(2.0, name="y")
>>> w = chainrule.tensor(1.0, requires_grad=True, name="w")
>>> y_hat = w * x
>>> s = y_hat - y
>>> trace = chainrule.explain(s ** 2, {"ŷ": y_hat, "s": s})
>>> print(trace)  # doctest: +NORMALIZE_WHITESPACE
Backprop visits the gates from the output back to the inputs; at each gate, upstream (the gradient arriving from the output side) × local (the gate's own derivative) = passed on (to that input).
step  gate  op            output  inputs  forward  upstream  local  passed on
1     x²    PowScalar(2)  output  s       1        1         s: -2  s: -2
2     −     Sub           s       ŷ, y    -1       -2        ŷ: 1   ŷ: -2
3     ×     Mul           ŷ       w, x    1        -2        w: 1   w: -2
leaf gradients: w = -2
"""
import copy

import numpy

from . import _html, backend
from .autograd.engine import grad, topological_order
from .autograd.function import Function
from .autograd.grad_mode import no_grad, state
from .errors import GraphError

HEADER = ("Backprop visits the gates from the output back to the inputs; at each gate, "
          "upstream (the gradient arriving from the output side) × local (the gate's own "
          "derivative) = passed on (to that input).")

SYMBOLS = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "÷", "Neg": "−x", "Pow": "xʸ",
           "Exp": "exp", "Log": "log", "Log1p": "log1p", "Sqrt": "√", "Abs": "|x|",
           "Sin": "sin", "Cos": "cos", "Sigmoid": "σ", "Tanh": "tanh", "ReLU": "max(0,x)",
           "Softplus": "softplus", "MatMul": "@", "Linear": "xWᵀ+b", "Sum": "Σ",
           "Maximum": "max", "Minimum": "min"}
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


class Row:
    """One gate of the trace: what it computed and what the chain rule passed through it.

    ``local`` and ``passed`` map each input that wants a gradient to its local derivative and
    to upstream × local; ``contributions`` lists the parts of ``upstream`` when the gate's
    output was used more than once; ``per_element`` holds upstream × local before a
    broadcast input's gradient was summed back to its shape.
    """

    __slots__ = ("step", "op", "symbol", "output", "inputs", "forward", "upstream",
                 "contributions", "local", "passed", "per_element")

    def __init__(self, step, op, symbol, output, inputs, forward, upstream, contributions,
                 local, passed, per_element):
        self.step, self.op, self.symbol, self.output = step, op, symbol, output
        self.inputs, self.forward, self.upstream = inputs, forward, upstream
        self.contributions, self.local, self.passed = contributions, local, passed
        self.per_element = per_element

    def to_dict(self):
        return {"step": self.step, "op": self.op, "gate": self.symbol, "output": self.output,
                "inputs": list(self.inputs), "forward": _plain(self.forward),
                "upstream": _plain(self.upstream),
                "contributions": [_plain(c) for c in self.contributions],
                "local": {k: _plain(v) for k, v in self.local.items()},
                "passed_on": {k: _plain(v) for k, v in self.passed.items()},
                "per_element": {k: _plain(v) for k, v in self.per_element.items()}}

    def cells(self):
        upstream = summarize(self.upstream)
        if len(self.contributions) > 1:
            upstream += " = " + _sum_text(self.contributions)
        passed = []
        for k, v in self.passed.items():
            if k in self.per_element:
                passed.append(f"{k}: sum of {summarize(self.per_element[k])} = {summarize(v)}")
            else:
                passed.append(f"{k}: {summarize(v)}")
        return [str(self.step), self.symbol, self.op, self.output, ", ".join(self.inputs),
                summarize(self.forward), upstream,
                "; ".join(f"{k}: {summarize(v)}" for k, v in self.local.items()),
                "; ".join(passed)]


class Trace:
    """The rows of a backward pass, the gradient that reached each leaf, and warnings about
    inf/nan values."""

    columns = ["step", "gate", "op", "output", "inputs", "forward", "upstream", "local",
               "passed on"]

    def __init__(self, rows, leaf_grads, leaf_parts=None):
        self.rows, self.leaf_grads = rows, leaf_grads
        self.leaf_parts = leaf_parts or {}

    @property
    def warnings(self):
        """Sentences naming the first gate whose value or gradient is inf/nan."""
        found = []
        for row in reversed(self.rows):                 # forward order: the first culprit
            if not _finite(row.forward):
                found.append(f"gate {row.step} ({row.symbol} {row.op}) computes "
                             f"{summarize(row.forward)} in the forward pass")
                break
        for row in self.rows:                           # backward order
            bad = [k for k, v in row.passed.items() if not _finite(v)]
            if bad and _finite(row.upstream):
                found.append(f"gate {row.step} ({row.symbol} {row.op}) passes on a "
                             f"non-finite gradient to {', '.join(bad)}")
                break
        return found

    def to_dict(self):
        return {"rows": [r.to_dict() for r in self.rows],
                "leaf_gradients": {k: _plain(v) for k, v in self.leaf_grads.items()},
                "warnings": self.warnings}

    def _leaf_text(self, quote=""):
        parts = []
        for k, v in self.leaf_grads.items():
            text = f"{quote}{k}{quote} = {summarize(v)}"
            if len(self.leaf_parts.get(k, ())) > 1:
                text += " (= " + _sum_text(self.leaf_parts[k]) + ")"
            parts.append(text)
        return "; ".join(parts)

    def to_text(self):
        body = [row.cells() for row in self.rows]
        widths = [max(len(row[i]) for row in [self.columns] + body)
                  for i in range(len(self.columns))]
        lines = [HEADER]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                  for row in [self.columns] + body]
        if self.leaf_grads:
            lines.append("leaf gradients: " + self._leaf_text())
        lines += ["warning: " + w for w in self.warnings]
        return "\n".join(lines)

    def to_markdown(self):
        lines = [HEADER, "", "| " + " | ".join(self.columns) + " |",
                 "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |"
                  for row in self.rows]
        if self.leaf_grads:
            lines += ["", "Leaf gradients: " + self._leaf_text("`")]
        lines += ["", *("**Warning:** " + w for w in self.warnings)] if self.warnings else []
        return "\n".join(lines)

    def _repr_html_(self):
        """Jupyter's view: the same table as :meth:`to_text`, as HTML."""
        footer = "leaf gradients: " + self._leaf_text() if self.leaf_grads else None
        warnings = "".join(f'<p style="color: #b00">warning: {_html.escape(w)}</p>'
                           for w in self.warnings)
        return (f'<div class="chainrule-trace"><p>{_html.escape(HEADER)}</p>' +
                _html.table(self.columns, [row.cells() for row in self.rows], footer=footer) +
                warnings + "</div>")

    __str__ = to_text

    def __repr__(self):
        return f"<Trace of {len(self.rows)} gates>"


def summarize(value, max_elements=4):
    """A short text for an array: the numbers when small, shape/mean/norm when large.

    >>> summarize(-0.0), summarize([1.5, -2.0]), summarize(float("inf"))
    ('0', '[1.5, -2]', 'inf')
    """
    if value is None:
        return "-"
    array = numpy.asarray(backend.to_numpy(value), dtype=float) + 0.0   # + 0.0: no -0
    if array.size == 1:
        return f"{array.item():.6g}"
    if array.size <= max_elements:
        return "[" + ", ".join(f"{v:.4g}" for v in array.reshape(-1)) + "]"
    with numpy.errstate(all="ignore"):
        return (f"<shape {tuple(array.shape)}, mean {array.mean() + 0.0:.4g}, "
                f"norm {numpy.linalg.norm(array):.4g}>")


def _sum_text(parts, shown=6):
    """'-1 + -1', or for many parts 'the sum of 3000 contributions'."""
    if len(parts) > shown:
        return f"the sum of {len(parts)} contributions"
    return " + ".join(summarize(part) for part in parts)


def _plain(value):
    array = backend.to_numpy(value) + 0.0
    return array.item() if array.size == 1 else array.tolist()


def _finite(value):
    return bool(numpy.isfinite(backend.to_numpy(value)).all())


def op_label(fn):
    """The op's class name, with the exponent of a power: ``PowScalar(2)``."""
    name = fn.op_name()
    exponent = getattr(fn, "exponent", None)
    if exponent is not None:
        return f"{name}({exponent:g})"
    return name


def gate_symbol(fn):
    """The symbol the seeds draw on a gate: x², −, ×, σ ... (the op name when none)."""
    exponent = getattr(fn, "exponent", None)
    if exponent is not None:
        if float(exponent).is_integer():
            return "x" + f"{int(exponent)}".translate(_SUPERSCRIPT)
        return f"x^{exponent:g}"
    return SYMBOLS.get(fn.op_name(), fn.op_name())


def explain(output, inputs=None):
    """Trace the backward pass of ``output`` (a scalar, or any tensor: then d(sum)/d...).

    ``inputs`` names tensors for the table: a dict {name: tensor} (leaves or intermediates),
    a Module (its parameter names) or a list of tensors; tensors created with ``name=`` are
    named anyway. The rows are recorded by a tracer inside the engine's own backward pass
    (so they are what ``backward()`` computes); the graph is kept and no ``.grad`` is changed.
    """
    names = _names(inputs)
    recorder, leaves, found = _traced_backward(output, names)
    leaf_grads, leaf_parts = {}, {}
    for leaf, g in zip(leaves, found):
        if g is not None:
            label = _label(leaf, leaf, names, recorder.outputs)
            leaf_grads[label] = g._data
            leaf_parts[label] = [part for _, part in recorder.contributions.get(leaf, ())]
    return Trace(recorder.rows, leaf_grads, leaf_parts)


def backward_flows(output, inputs=None):
    """What flows along every edge of the graph of ``output`` in the backward pass.

    Returns ``(rows, edge_gradients, leaf_gradients)``: the explain rows, a dict
    ``{(gate, input index): gradient passed back to that input}`` and ``{leaf: gradient}``,
    recorded by the same tracer as :func:`explain` (graph kept, no ``.grad`` changed).

    >>> import chainrule
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> rows, edges, leaves = backward_flows((w * 1.0 - 2.0) ** 2)
    >>> sorted(float(g) for g in edges.values())
    [-2.0, -2.0, -2.0]
    """
    recorder, leaves, found = _traced_backward(output, _names(inputs))
    leaf_grads = {leaf: g._data for leaf, g in zip(leaves, found) if g is not None}
    return recorder.rows, recorder.flows, leaf_grads


def _traced_backward(output, names):
    """Run the engine's backward pass once with a recording tracer."""
    if output.grad_fn is None:
        raise GraphError("explain: the output has no graph; compute it from tensors with "
                         "requires_grad=True (outside no_grad)")
    order = topological_order([output.grad_fn])
    gates = [node for node in order if isinstance(node, Function)]
    numbers = {fn: i + 1 for i, fn in enumerate(gates)}
    outputs = _output_names(output, gates, names, numbers)
    leaves = [node for node in order if not isinstance(node, Function)]
    recorder = _Recorder(names, numbers, outputs)
    gradient = output._make(backend.xp.ones_like(output._data), None)
    previous, state.tracer = state.tracer, recorder
    try:
        with numpy.errstate(all="ignore"):      # inf/nan are reported as Trace.warnings
            found = grad(output, leaves, gradient, retain_graph=True, allow_unused=True)
    finally:
        state.tracer = previous
    return recorder, leaves, found


def _output_names(output, gates, names, numbers):
    """What each gate computed, by name: the names given, else ``Op#k`` (k: its gate)."""
    found = {output.grad_fn: names.get(id(output)) or output.name or "output"}
    for fn in gates:
        for t, edge in zip(fn.inputs, fn.edges):
            if isinstance(edge, Function) and edge not in found:
                name = names.get(id(t)) or getattr(t, "name", None)
                if name:
                    found[edge] = name
    for fn in gates:
        found.setdefault(fn, f"{fn.op_name()}#{numbers[fn]}")
    return found


class _Recorder:
    """The tracer explain hands the engine: one Row per node, as the engine visits it."""

    def __init__(self, names, numbers, outputs):
        self.names, self.numbers, self.outputs = names, numbers, outputs
        self.rows, self.flows = [], {}
        self.contributions = {}      # node -> [(step, gradient passed to it)]

    def on_node(self, fn, upstream, passed):
        value = copy.copy(fn).forward(*[t._data for t in fn.inputs])
        ones = upstream._make(backend.xp.ones_like(upstream._data), None)
        with no_grad():
            local = _as_tuple(fn.backward(ones))
        labels = _distinct([_label(t, edge, self.names, self.outputs)
                            for t, edge in zip(fn.inputs, fn.edges)])
        step = len(self.rows) + 1
        row_local, row_passed, per_element, unsummed = {}, {}, {}, None
        for i, (label, lg, pg, edge) in enumerate(zip(labels, local, passed, fn.edges)):
            if pg is None:
                continue
            row_local[label], row_passed[label] = lg._data, pg._data
            self.flows[(fn, i)] = pg._data
            if lg._data.shape != pg._data.shape:          # a broadcast input: summed back
                if unsummed is None:
                    with no_grad():
                        unsummed = _as_tuple(fn.backward(upstream))
                per_element[label] = unsummed[i]._data
            self.contributions.setdefault(edge, []).append((step, pg._data))
        parts = [part for _, part in self.contributions.get(fn, ())]
        self.rows.append(Row(step, op_label(fn), gate_symbol(fn), self.outputs[fn], labels,
                             value, upstream._data, parts, row_local, row_passed, per_element))

    def on_leaf(self, leaf, g):
        pass


def _distinct(labels):
    """``s, s`` (a gate that uses one value twice) -> ``s (input 1), s (input 2)``."""
    return [f"{label} (input {i + 1})" if labels.count(label) > 1 else label
            for i, label in enumerate(labels)]


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


def _label(t, edge, names, outputs):
    if id(t) in names:
        return names[id(t)]
    if getattr(t, "name", None):
        return t.name
    if edge is not None and edge in outputs:
        return outputs[edge]
    if t._data.size == 1:
        return summarize(t._data)
    return f"const{tuple(t.shape)}"
