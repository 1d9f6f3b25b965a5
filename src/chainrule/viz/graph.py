"""Drawing the computation graph as DOT (Graphviz) text, rendered to SVG/PNG when ``dot`` exists.

Tensors are ellipses (parameters double-bordered and shaded, leaves that need no gradient
dashed), ops are boxes; each node shows its shape, its value when it is a scalar, and the
gradient once backward has run. For a model, one node per layer keeps large graphs readable.
"""
import copy
import os
import shutil
import subprocess

from ..autograd.grad_mode import no_grad
from ..autograd.engine import topological_order
from ..autograd.function import Function
from ..explain import summarize
from ..nn.parameter import Parameter


class Graph:
    """DOT text plus where it was written and rendered (``dot_path``, ``image_path``)."""

    def __init__(self, dot, node_count):
        self.dot, self.node_count = dot, node_count
        self.dot_path = self.image_path = None
        self.message = ""

    def save(self, path, format=None):
        """Write ``path`` (.dot, .svg or .png). Renders with Graphviz's ``dot`` when installed;
        otherwise writes the .dot next to it and says how to render it."""
        base, ext = os.path.splitext(path)
        format = format or (ext[1:] if ext in (".svg", ".png") else None)
        self.dot_path = base + ".dot" if ext != ".dot" else path
        with open(self.dot_path, "w", encoding="utf-8") as f:
            f.write(self.dot)
        if format is None:
            self.message = f"wrote {self.dot_path}"
            return self
        self.image_path = base + "." + format
        if shutil.which("dot") is None:
            self.image_path = None
            self.message = (f"wrote {self.dot_path} (Graphviz's dot is not installed: install it, "
                            f"e.g. apt-get install graphviz, then run: dot -T{format} "
                            f"{self.dot_path} -o {base}.{format})")
            return self
        subprocess.run(["dot", f"-T{format}", self.dot_path, "-o", self.image_path], check=True,
                       capture_output=True, timeout=60)
        self.message = f"wrote {self.image_path} and {self.dot_path}"
        return self

    def __str__(self):
        return self.dot


def _quote(text):
    """A DOT string literal; labels already use DOT's own \\n escapes for line breaks."""
    return '"' + str(text).replace('"', '\\"') + '"'


def _tensor_label(t, name):
    parts = [name] if name else []
    parts.append(f"shape {tuple(t.shape)}" if t.ndim else "scalar")
    if t._data.size == 1:
        parts.append(f"value {summarize(t._data)}")
    if t.grad is not None:
        parts.append(f"grad {summarize(t.grad._data)}")
    return "\\n".join(parts)


def graph(output, example_input=None, *, names=None, collapse=None, max_nodes=60):
    """The graph of ``output`` — or, given a Module and an example input, of the model.

    ``collapse`` draws one node per layer (default: when there would be more than
    ``max_nodes`` op nodes). Returns a :class:`Graph`; call ``.save("graph.svg")``.

    >>> import chainrule
    >>> w = chainrule.tensor(1.0, requires_grad=True, name="w")
    >>> g = graph((w * 2.0 - 1.0) ** 2)
    >>> "PowScalar" in g.dot and "w" in g.dot
    True
    """
    if hasattr(output, "named_parameters"):
        return _model_graph(output, example_input, collapse, max_nodes)
    if output.grad_fn is None:
        raise ValueError("graph: the tensor has no graph; compute it from tensors with "
                         "requires_grad=True (outside no_grad)")
    name_of = {id(t): n for n, t in (names or {}).items()}
    order = [node for node in topological_order([output.grad_fn]) if isinstance(node, Function)]
    lines = ["digraph chainrule {", "  rankdir=BT;", '  node [fontname="Helvetica"];']
    ids = {fn: f"op{i}" for i, fn in enumerate(order)}
    leaves = {}
    with no_grad():
        for fn in order:
            value = copy.copy(fn).forward(*[t._data for t in fn.inputs])
            label = f"{fn.op_name()}\\nshape {tuple(value.shape)}" if value.ndim else \
                f"{fn.op_name()}\\nvalue {summarize(value)}"
            lines.append(f"  {ids[fn]} [shape=box, style=filled, fillcolor=\"#e8f0fe\", "
                         f"label={_quote(label)}];")
            for t, edge in zip(fn.inputs, fn.edges):
                if edge is not None and edge in ids:
                    lines.append(f"  {ids[edge]} -> {ids[fn]};")
                    continue
                key = id(t)
                if key not in leaves:
                    leaves[key] = f"t{len(leaves)}"
                    style = _leaf_style(t)
                    label = _tensor_label(t, name_of.get(key, t.name))
                    lines.append(f"  {leaves[key]} [shape=ellipse, {style}, "
                                 f"label={_quote(label)}];")
                lines.append(f"  {leaves[key]} -> {ids[fn]};")
    root = output.grad_fn
    lines.append(f"  out [shape=ellipse, style=bold, label={_quote(_tensor_label(output, 'output'))}];")
    lines.append(f"  {ids[root]} -> out;")
    lines.append("}")
    return Graph("\n".join(lines), len(order))


NEWLINE = "\\n"   # DOT's line break inside a label


def _leaf_style(t):
    if isinstance(t, Parameter):
        return 'peripheries=2, style=filled, fillcolor="#fde7c8"'
    if t.requires_grad:
        return 'style=filled, fillcolor="#fff6d5"'
    return "style=dashed"


def _model_graph(model, example_input, collapse, max_nodes):
    """Run the model once with forward hooks and draw one node per layer (or every op)."""
    from ..tensor import Tensor
    if example_input is None:
        raise ValueError("graph(model, example_input): give an example input for the model")
    x = example_input if isinstance(example_input, Tensor) else Tensor(example_input)
    layers = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    records, handles = [], []
    for name, module in layers:
        handles.append(module.register_forward_hook(
            lambda m, args, out, name=name: records.append((name, m, out))))
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    n_ops = len([n for n in topological_order([out.grad_fn]) if isinstance(n, Function)]) \
        if out.grad_fn is not None else 0
    if collapse is False or (collapse is None and n_ops <= max_nodes):
        names = {name: p for name, p in model.named_parameters()}
        return graph(out, names=names)
    lines = ["digraph chainrule {", "  rankdir=TB;", '  node [fontname="Helvetica"];',
             f"  input [shape=ellipse, label={_quote(f'input{NEWLINE}shape {tuple(x.shape)}')}];"]
    previous = "input"
    for i, (name, module, layer_out) in enumerate(records):
        params = sum(p.numel() for p in module.parameters())
        label = f"{name}: {type(module).__name__}\\n{module.extra_repr()}\\n" \
                f"output {tuple(layer_out.shape)}" + (f"\\n{params:,} parameters" if params else "")
        lines.append(f"  m{i} [shape=box, style=filled, fillcolor=\"#e8f0fe\", "
                     f"label={_quote(label)}];")
        lines.append(f"  {previous} -> m{i};")
        previous = f"m{i}"
    lines.append("}")
    return Graph("\n".join(lines), len(records))
