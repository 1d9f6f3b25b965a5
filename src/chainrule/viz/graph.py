"""Drawing the computation graph with both passes on it: each gate with the value it computed
(forward) and, on every edge, the gradient that flows back along it (backward).

The drawing is built once as nodes and edges, then written as DOT text (.dot, .gv) or drawn:
by Graphviz's ``dot`` when it is installed, else by a built-in layered layout (inputs at
the bottom, the output on top), written directly as SVG or drawn with matplotlib for PNG and
PDF — so every format works with no system Graphviz. Tensors are ellipses (parameters
double-bordered, data and constants dashed), gates are boxes. For a model, one node per
layer keeps large graphs readable.
"""
import copy
import html
import os
import shutil
import subprocess

import numpy

from ..autograd.grad_mode import no_grad
from ..autograd.engine import topological_order
from ..autograd.function import Function
from ..errors import ArgumentError, GraphError
from ..explain import backward_flows, gate_symbol, op_label, summarize
from ..nn.parameter import Parameter
from ..tensor import Tensor
from ._mpl import pyplot, save

FORMATS = (".svg", ".png", ".pdf", ".dot", ".gv")
ENGINES = ("auto", "graphviz", "builtin")
GRADIENT_COLOR = "#c0392b"
_FONT_PX, _CHAR_PX, _LINE_PX = 12, 7.0, 15     # the built-in layout's text metrics
_RANK_GAP, _NODE_GAP, _MARGIN = 56, 28, 16


class Node:
    """A box (gate) or ellipse (tensor) with lines of text."""

    __slots__ = ("id", "lines", "shape", "fill", "border")

    def __init__(self, id, lines, shape, fill="white", border="solid"):
        self.id, self.lines, self.shape, self.fill, self.border = id, lines, shape, fill, border

    @property
    def size(self):
        """(width, height) in pixels in the built-in layout."""
        width = max(len(line) for line in self.lines) * _CHAR_PX + 22
        height = len(self.lines) * _LINE_PX + 12
        return (width * 1.15, height * 1.2) if self.shape == "ellipse" else (width, height)


class Edge:
    """An arrow from an input to the gate that uses it; ``label``: the gradient sent back."""

    __slots__ = ("source", "target", "label")

    def __init__(self, source, target, label=None):
        self.source, self.target, self.label = source, target, label


class Graph:
    """The drawing: ``nodes``, ``edges``, ``dot`` (the DOT text); ``save(path)`` writes it.

    >>> import chainrule, os, tempfile
    >>> w = chainrule.tensor(1.0, requires_grad=True, name="w")
    >>> g = graph((w * 1.0 - 2.0) ** 2)
    >>> g.edge_labels()
    ['grad 1', 'grad -2', 'grad -2', 'grad -2']
    >>> path = os.path.join(tempfile.mkdtemp(), "g.svg")
    >>> g.save(path, engine="builtin").image_path == path
    True
    """

    def __init__(self, nodes, edges, direction="BT", node_count=None):
        self.nodes, self.edges, self.direction = nodes, edges, direction
        self.node_count = len(nodes) if node_count is None else node_count
        self.image_path = self.engine = None
        self.message = ""

    @property
    def dot(self):
        """The graph as Graphviz DOT text."""
        lines = ["digraph chainrule {", f"  rankdir={self.direction};",
                 '  node [fontname="Helvetica"];', '  edge [fontname="Helvetica"];']
        for node in self.nodes:
            label = _quote("\n".join(node.lines))
            lines.append(f"  {node.id} [{_dot_style(node)}, label={label}];")
        for edge in self.edges:
            attrs = f' [label={_quote(edge.label)}, fontcolor="{GRADIENT_COLOR}"]' \
                if edge.label else ""
            lines.append(f"  {edge.source} -> {edge.target}{attrs};")
        lines.append("}")
        return "\n".join(lines)

    def edge_labels(self):
        """The gradient on each edge that carries one, in drawing order."""
        return [edge.label for edge in self.edges if edge.label]

    def save(self, path, engine="auto"):
        """Write ``path``: .svg, .png, .pdf (a picture) or .dot/.gv (the DOT text).

        ``engine``: "graphviz" (needs ``dot`` on PATH), "builtin" (no system tool; PNG/PDF
        need matplotlib), or "auto" (Graphviz when installed, else built-in).
        """
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext not in FORMATS:
            raise ArgumentError(f"graph: cannot write {path!r}: the file name must end in "
                                f"{', '.join(FORMATS)}")
        if engine not in ENGINES:
            raise ArgumentError(f"graph: engine must be one of {', '.join(ENGINES)}, got "
                                f"{engine!r}")
        if ext in (".dot", ".gv"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.dot + "\n")
            self.image_path, self.engine = path, "dot text"
        elif engine == "graphviz" or (engine == "auto" and shutil.which("dot")):
            self._graphviz(path, ext[1:])
        elif ext == ".svg":
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.to_svg())
            self.image_path, self.engine = path, "built-in layout"
        else:
            self._matplotlib(path)
        self.message = f"wrote {path} ({self.engine})"
        return self

    def _graphviz(self, path, format):
        if shutil.which("dot") is None:
            raise ArgumentError("graph: engine='graphviz' needs Graphviz's dot (e.g. apt-get "
                                "install graphviz); engine='auto' draws without it")
        subprocess.run(["dot", f"-T{format}", "-o", path], input=self.dot.encode("utf-8"),
                       check=True, capture_output=True, timeout=60)
        self.image_path, self.engine = path, "Graphviz"

    # ------------------------------------------------------------ built-in drawing
    def layout(self):
        """{node id: (x, y) centre in pixels}, the canvas (width, height)."""
        return layered_layout(self.nodes, self.edges, self.direction)

    def to_svg(self):
        """The drawing as SVG text, from the built-in layered layout."""
        positions, (width, height) = self.layout()
        by_id = {node.id: node for node in self.nodes}
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
               f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
               f'font-family="Helvetica, Arial, sans-serif" font-size="{_FONT_PX}">',
               '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
               'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
               '<path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>',
               f'<rect width="{width:.0f}" height="{height:.0f}" fill="white"/>']
        for edge in self.edges:
            (x1, y1), (x2, y2) = _edge_ends(by_id[edge.source], by_id[edge.target], positions)
            out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                       'stroke="#444" stroke-width="1.2" marker-end="url(#arrow)"/>')
            if edge.label:
                (x, y), anchor = _label_place((x1, y1), (x2, y2))
                out.append(f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}" '
                           f'fill="{GRADIENT_COLOR}">{html.escape(edge.label)}</text>')
        for node in self.nodes:
            out.extend(_svg_node(node, positions[node.id]))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def _matplotlib(self, path):
        plt = pyplot()
        from matplotlib import patches
        positions, (width, height) = self.layout()
        by_id = {node.id: node for node in self.nodes}
        fig = plt.figure(figsize=(width / 100, height / 100))
        ax = fig.add_axes([0, 0, 1, 1])
        ax.set(xlim=(0, width), ylim=(height, 0))
        ax.axis("off")
        points = _FONT_PX * 0.72                   # pixels at 100 dpi -> points
        for edge in self.edges:
            start, end = _edge_ends(by_id[edge.source], by_id[edge.target], positions)
            ax.annotate("", xy=end, xytext=start,
                        arrowprops=dict(arrowstyle="-|>", color="#444", lw=1.1,
                                        shrinkA=0, shrinkB=0))
            if edge.label:
                (x, y), anchor = _label_place(start, end)
                ax.text(x, y, edge.label, color=GRADIENT_COLOR, fontsize=points, va="center",
                        ha={"start": "left", "end": "right"}[anchor])
        for node in self.nodes:
            (x, y), (w, h) = positions[node.id], node.size
            style = dict(facecolor=node.fill, edgecolor="black",
                         linestyle="--" if node.border == "dashed" else "-",
                         linewidth=2 if node.border == "bold" else 1)
            if node.shape == "ellipse":
                ax.add_patch(patches.Ellipse((x, y), w, h, **style))
                if node.border == "double":
                    ax.add_patch(patches.Ellipse((x, y), w - 6, h - 6, fill=False, lw=1))
            else:
                ax.add_patch(patches.FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                                    boxstyle="round,pad=0,rounding_size=4",
                                                    **style))
            ax.text(x, y, "\n".join(node.lines), ha="center", va="center", fontsize=points,
                    linespacing=1.25)
        save(fig, path, dpi=150)
        self.image_path, self.engine = path, "built-in layout, matplotlib"

    def __str__(self):
        return self.dot


def _quote(text):
    """A DOT string literal (quotes and backslashes escaped; line breaks as DOT's \\n)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _dot_style(node):
    parts = [f"shape={node.shape}"]
    if node.border == "double":
        parts.append("peripheries=2")
    styles = ["filled"] + ([node.border] if node.border in ("dashed", "bold") else [])
    parts.append(f'style="{",".join(styles)}"')
    parts.append(f'fillcolor="{node.fill}"')
    return ", ".join(parts)


def _svg_node(node, centre):
    (x, y), (w, h) = centre, node.size
    stroke = ' stroke="black" stroke-width="{}"'.format(2 if node.border == "bold" else 1)
    if node.border == "dashed":
        stroke += ' stroke-dasharray="4 3"'
    out = []
    if node.shape == "ellipse":
        out.append(f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                   f'fill="{node.fill}"{stroke}/>')
        if node.border == "double":
            out.append(f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{w / 2 - 3:.1f}" '
                       f'ry="{h / 2 - 3:.1f}" fill="none" stroke="black"/>')
    else:
        out.append(f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" '
                   f'height="{h:.1f}" rx="4" fill="{node.fill}"{stroke}/>')
    top = y - (len(node.lines) - 1) * _LINE_PX / 2 + 4
    spans = "".join(f'<tspan x="{x:.1f}" y="{top + i * _LINE_PX:.1f}">{html.escape(line)}'
                    "</tspan>" for i, line in enumerate(node.lines))
    out.append(f'<text text-anchor="middle">{spans}</text>')
    return out


def _label_place(start, end):
    """Where an edge's label goes: beside its middle, on the side it leans away from."""
    x, y = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    if start[0] < end[0] - 1:
        return (x - 6, y), "end"
    return (x + 6, y), "start"


def _edge_ends(source, target, positions):
    """The arrow from the source's border to the target's border, along the centre line."""
    (x1, y1), (x2, y2) = positions[source.id], positions[target.id]
    return _border(source, (x1, y1), (x2 - x1, y2 - y1)), \
        _border(target, (x2, y2), (x1 - x2, y1 - y2))


def _border(node, centre, direction):
    (x, y), (dx, dy) = centre, direction
    w, h = node.size
    if dx == 0 and dy == 0:
        return x, y
    if node.shape == "ellipse":
        t = 1 / numpy.hypot(dx / (w / 2), dy / (h / 2))
    else:
        t = min(w / 2 / abs(dx) if dx else numpy.inf, h / 2 / abs(dy) if dy else numpy.inf)
    return x + t * dx, y + t * dy


def layered_layout(nodes, edges, direction="BT", sweeps=4):
    """Place nodes in ranks (each after all of its inputs), order each rank to keep edges
    short (barycentre sweeps), and return ({id: (x, y)}, (width, height)) in pixels.

    ``direction`` "BT" puts the first rank (the inputs) at the bottom, "TB" at the top.
    """
    ids = [node.id for node in nodes]
    incoming = {i: [] for i in ids}
    outgoing = {i: [] for i in ids}
    for edge in edges:
        incoming[edge.target].append(edge.source)
        outgoing[edge.source].append(edge.target)
    rank = _longest_path_ranks(ids, incoming, outgoing)
    for i in ids:                  # an input sits just below the first gate that uses it
        if not incoming[i] and outgoing[i]:
            rank[i] = min(rank[j] for j in outgoing[i]) - 1
    ranks = [[] for _ in range(max(rank.values()) + 1)]
    for i in ids:
        ranks[rank[i]].append(i)
    position = {i: k for layer in ranks for k, i in enumerate(layer)}
    for sweep in range(sweeps):
        down = sweep % 2 == 0
        for layer in (ranks[1:] if down else ranks[-2::-1]):
            neighbours = incoming if down else outgoing

            def centre(i, neighbours=neighbours):
                near = [position[j] for j in neighbours[i]]
                return sum(near) / len(near) if near else position[i]
            layer.sort(key=centre)
            position.update({i: k for k, i in enumerate(layer)})
    size = {node.id: node.size for node in nodes}
    widths = [sum(size[i][0] for i in layer) + _NODE_GAP * (len(layer) - 1) for layer in ranks]
    width = max(widths) + 2 * _MARGIN
    row = max(size[i][1] for i in ids) + _RANK_GAP
    height = len(ranks) * row - _RANK_GAP + 2 * _MARGIN
    coordinates = {}
    for r, layer in enumerate(ranks):
        x = (width - widths[r]) / 2
        level = len(ranks) - 1 - r if direction == "BT" else r
        y = _MARGIN + level * row + (row - _RANK_GAP) / 2
        for i in layer:
            coordinates[i] = (x + size[i][0] / 2, y)
            x += size[i][0] + _NODE_GAP
    return coordinates, (width, height)


def _longest_path_ranks(ids, incoming, outgoing):
    """Rank = the longest path from any source (Kahn's algorithm: no recursion)."""
    waiting = {i: len(incoming[i]) for i in ids}
    rank = {i: 0 for i in ids}
    ready = [i for i in ids if waiting[i] == 0]
    while ready:
        i = ready.pop()
        for j in outgoing[i]:
            rank[j] = max(rank[j], rank[i] + 1)
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    return rank


# ---------------------------------------------------------------- building the drawing

def graph(output, example_input=None, *, names=None, collapse=None, max_nodes=60):
    """The graph of ``output`` — or, given a Module and an example input, of the model.

    Each gate shows its forward value; each edge the gradient flowing back along it (one
    traced backward pass on the engine, graph kept, no ``.grad`` changed). ``names``: a dict
    {name: tensor} or a Module (its parameter names, e.g. ``fc1.weight``). ``collapse``
    draws one node per layer of a model (default: when there would be more than
    ``max_nodes`` gates). Returns a :class:`Graph`; call ``.save("graph.svg")``.

    >>> import chainrule
    >>> w = chainrule.tensor(1.0, requires_grad=True, name="w")
    >>> g = graph((w * 2.0 - 1.0) ** 2)
    >>> "PowScalar" in g.dot and "w" in g.dot
    True
    """
    if hasattr(output, "named_parameters"):
        return _model_graph(output, example_input, collapse, max_nodes)
    if not isinstance(output, Tensor) or output.grad_fn is None:
        raise GraphError("graph: the tensor has no graph; compute it from tensors with "
                         "requires_grad=True (outside no_grad)")
    name_of = _name_map(names)
    gates = [n for n in topological_order([output.grad_fn]) if isinstance(n, Function)]
    _, flows, leaf_grads = backward_flows(output)
    gate_id = {fn: f"op{k + 1}" for k, fn in enumerate(gates)}
    computes = {}                  # gate -> the name of what it computed (ŷ, s), if named
    if name_of.get(id(output)) or output.name:
        computes[output.grad_fn] = name_of.get(id(output)) or output.name
    for fn in gates:
        for t, edge in zip(fn.inputs, fn.edges):
            if isinstance(edge, Function) and (name_of.get(id(t)) or t.name):
                computes.setdefault(edge, name_of.get(id(t)) or t.name)
    nodes, edges, tensor_id = [], [], {}
    out_name = name_of.get(id(output)) or output.name or "output"
    nodes.append(Node("out", [out_name, _value_text(output._data)], "ellipse", "#eeeeee", "bold"))
    edges.append(Edge(gate_id[output.grad_fn], "out", _grad_text(numpy.ones(output.shape))))
    with no_grad(), numpy.errstate(all="ignore"):
        for fn in gates:
            value = copy.copy(fn).forward(*[t._data for t in fn.inputs])
            symbol, op = gate_symbol(fn), op_label(fn)
            title = op if symbol == fn.op_name() else f"{symbol}  {op}"
            value_line = _value_text(value)
            if fn in computes:
                value_line = f"{computes[fn]} {value_line}"
            nodes.append(Node(gate_id[fn], [title, value_line], "box", "#e8f0fe"))
            for i, (t, edge) in enumerate(zip(fn.inputs, fn.edges)):
                if isinstance(edge, Function) and edge in gate_id:
                    source = gate_id[edge]
                else:
                    source = tensor_id.get(id(t))
                    if source is None:
                        source = tensor_id[id(t)] = f"t{len(tensor_id)}"
                        nodes.append(_tensor_node(source, t, name_of.get(id(t), t.name),
                                                  leaf_grads.get(t)))
                flow = flows.get((fn, i))
                edges.append(Edge(source, gate_id[fn], None if flow is None else _grad_text(flow)))
    return Graph(nodes, edges, "BT", node_count=len(gates))


def _name_map(names):
    if names is None:
        return {}
    if hasattr(names, "named_parameters"):
        return {id(p): n for n, p in names.named_parameters()}
    return {id(t): n for n, t in names.items()}


def _value_text(array):
    array = numpy.asarray(array)
    if array.size <= 4:
        return f"= {summarize(array)}"
    return f"shape {tuple(array.shape)}"


def _grad_text(array):
    array = numpy.asarray(array)
    if array.size <= 4:
        return f"grad {summarize(array)}"
    with numpy.errstate(all="ignore"):
        return f"grad ‖{float(numpy.linalg.norm(array)):.3g}‖"


def _tensor_node(node_id, t, name, gradient):
    if name:
        lines = [name, "scalar" if t.ndim == 0 else f"shape {tuple(t.shape)}"]
        if t._data.size == 1:
            lines.append(f"value {summarize(t._data)}")
    else:
        lines = [summarize(t._data) if t._data.size == 1 else f"data, shape {tuple(t.shape)}"]
    if gradient is not None:
        lines.append(_grad_text(gradient))
    if isinstance(t, Parameter):
        return Node(node_id, lines, "ellipse", "#fde7c8", "double")
    if t.requires_grad:
        return Node(node_id, lines, "ellipse", "#fff6d5")
    return Node(node_id, lines, "ellipse", "white", "dashed")


def _model_graph(model, example_input, collapse, max_nodes):
    """Run the model once with forward hooks and draw one node per layer (or every op)."""
    if example_input is None:
        raise ArgumentError("graph(model, example_input): give an example input for the model")
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
        return graph(out, names=model)
    nodes = [Node("input", ["input", f"shape {tuple(x.shape)}"], "ellipse", "white", "dashed")]
    edges, previous = [], "input"
    for i, (name, module, layer_out) in enumerate(records):
        params = sum(p.numel() for p in module.parameters())
        lines = [f"{name}: {type(module).__name__}"] + \
            ([module.extra_repr()] if module.extra_repr() else []) + \
            [f"output {tuple(layer_out.shape)}"] + ([f"{params:,} parameters"] if params else [])
        nodes.append(Node(f"m{i}", lines, "box", "#e8f0fe"))
        edges.append(Edge(previous, f"m{i}"))
        previous = f"m{i}"
    return Graph(nodes, edges, "TB", node_count=len(records))
