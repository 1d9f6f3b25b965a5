"""Graph drawing: forward values on the gates, backward gradients on every edge; DOT that a real
parser (and Graphviz, when installed) reads; SVG/PNG/PDF with no Graphviz at all."""
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.viz import graph

_DOT_TOKEN = re.compile(r'\s*(?:(->|[{}\[\];,=])|"((?:[^"\\]|\\.)*)"|([A-Za-z_0-9.#]+))')


def parse_dot(text):
    """A tokenizing DOT reader (digraph, node and edge statements with attribute lists,
    quoted strings with escapes): returns ({node: attrs}, [(tail, head, attrs)])."""
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _DOT_TOKEN.match(text, position)
        assert match, f"cannot read DOT at {text[position:position + 30]!r}"
        symbol, quoted, word = match.groups()
        if quoted is not None:
            tokens.append(("string", re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n"
                                            else m.group(1), quoted)))
        else:
            tokens.append(("symbol", symbol) if symbol else ("id", word))
        position = match.end()
    assert tokens[:3] == [("id", "digraph"), ("id", "chainrule"), ("symbol", "{")]
    assert tokens[-1] == ("symbol", "}")
    nodes, edges, i = {}, [], 3

    def attributes(i):
        attrs = {}
        assert tokens[i] == ("symbol", "[")
        i += 1
        while tokens[i] != ("symbol", "]"):
            key, eq, value = tokens[i], tokens[i + 1], tokens[i + 2]
            assert key[0] == "id" and eq == ("symbol", "=") and value[0] in ("id", "string")
            attrs[key[1]] = value[1]
            i += 3
            if tokens[i] == ("symbol", ","):
                i += 1
        return attrs, i + 1
    while tokens[i] != ("symbol", "}"):
        kind, name = tokens[i]
        assert kind in ("id", "string")
        if tokens[i + 1] == ("symbol", "="):                      # rankdir=BT;
            i += 3
        elif tokens[i + 1] == ("symbol", "->"):
            head = tokens[i + 2][1]
            attrs, i = attributes(i + 3) if tokens[i + 3] == ("symbol", "[") else ({}, i + 3)
            edges.append((name, head, attrs))
        else:
            attrs, i = attributes(i + 1)
            if name not in ("node", "edge"):
                nodes[name] = attrs
        assert tokens[i] == ("symbol", ";"), tokens[i]
        i += 1
    return nodes, edges


def _seed_graph():
    x, y = chainrule.tensor(1.0, name="x"), chainrule.tensor(2.0, name="y")
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    return graph((w * x - y) ** 2)


def test_seed_graph_has_forward_values_on_gates_and_minus_two_on_every_edge_back():
    g = _seed_graph()
    nodes, edges = parse_dot(g.dot)
    labels = {name: attrs["label"] for name, attrs in nodes.items()}
    gates = {name: label for name, label in labels.items() if name.startswith("op")}
    assert sorted(gates.values()) == ["x²  PowScalar(2)\n= 1", "×  Mul\n= 1", "−  Sub\n= -1"]
    assert all(tail in nodes and head in nodes for tail, head, _ in edges)
    carried = [attrs["label"] for _, _, attrs in edges if "label" in attrs]
    assert carried == ["grad 1", "grad -2", "grad -2", "grad -2"]   # output, Pow, Sub, Mul
    by_label = {label.split("\n")[0]: name for name, label in labels.items()}
    into = {(tail, head): attrs.get("label") for tail, head, attrs in edges}
    assert into[(by_label["w"], by_label["×  Mul"])] == "grad -2"
    assert into[(by_label["x"], by_label["×  Mul"])] is None      # data: no gradient
    assert "grad -2" in labels[by_label["w"]]
    assert g.edge_labels() == carried


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_reads_the_dot_it_is_given():
    g = _seed_graph()
    plain = subprocess.run(["dot", "-Tplain"], input=g.dot, capture_output=True, text=True,
                           check=True, timeout=60).stdout
    node_lines = [line for line in plain.splitlines() if line.startswith("node ")]
    edge_lines = [line for line in plain.splitlines() if line.startswith("edge ")]
    assert len(node_lines) == len(g.nodes) and len(edge_lines) == len(g.edges)
    assert sum("grad -2" in line for line in edge_lines) == 3


def test_parameters_are_labelled_by_their_names():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(3, 2), nn.Linear(2, 1)

        def forward(self, x):
            return self.fc2(chainrule.relu(self.fc1(x)))
    net = Net()
    g = graph(net, chainrule.randn(4, 3), collapse=False)
    nodes, _ = parse_dot(g.dot)
    first_lines = {attrs["label"].split("\n")[0] for attrs in nodes.values()}
    assert {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"} <= first_lines
    assert not any("const" in attrs["label"] for attrs in nodes.values())


def test_model_collapses_to_one_node_per_layer():
    model = chainrule.models.MLP(16, (32, 32, 32), 4, batch_norm=True)
    g = graph(model, chainrule.zeros(2, 16), max_nodes=5)    # more ops than that: collapses
    nodes, _ = parse_dot(g.dot)
    assert sum("Linear" in a["label"] for a in nodes.values()) == 4
    assert sum("BatchNorm1d" in a["label"] for a in nodes.values()) == 3
    assert g.node_count == len(list(model.children()))
    full = graph(model, chainrule.zeros(2, 16), collapse=False)
    gates = [a["label"] for name, a in parse_dot(full.dot)[0].items() if name.startswith("op")]
    assert sum("Linear" in label for label in gates) == 4 and full.node_count == len(gates)


def _svg_content(path):
    root = ET.parse(path).getroot()
    tags = [element.tag.split("}")[1] for element in root.iter()]
    texts = " ".join("".join(element.itertext()) for element in root.iter()
                     if element.tag.endswith("text"))
    return tags, texts


def _png_pixels(path):
    from PIL import Image
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("L"), dtype=float)


def test_builtin_svg_png_pdf_without_graphviz(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("PATH", str(tmp_path))               # no dot to be found
    assert shutil.which("dot") is None
    g = _seed_graph()
    g.save(tmp_path / "g.svg")
    assert g.engine == "built-in layout"
    tags, texts = _svg_content(tmp_path / "g.svg")
    assert tags.count("rect") >= 3 + 1 and tags.count("ellipse") >= 3 and tags.count("line") == 6
    assert texts.count("grad -2") >= 3 and "PowScalar(2)" in texts
    g.save(tmp_path / "g.png")
    pixels = _png_pixels(tmp_path / "g.png")
    assert pixels.std() > 20 and (pixels < 128).mean() > 0.01     # drawn, not blank
    g.save(tmp_path / "g.pdf")
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    g.save(tmp_path / "g.gv")
    parse_dot((tmp_path / "g.gv").read_text())
    with pytest.raises(chainrule.errors.ArgumentError, match="needs Graphviz's dot"):
        g.save(tmp_path / "h.svg", engine="graphviz")


def test_every_accepted_extension_is_written_and_others_are_errors(tmp_path):
    g = _seed_graph()
    with pytest.raises(chainrule.errors.ArgumentError, match=r"must end in \.svg, \.png"):
        g.save(tmp_path / "g.jpg")
    assert not (tmp_path / "g.jpg").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_svg_when_dot_exists(tmp_path):
    g = _seed_graph().save(tmp_path / "g.svg")
    assert g.engine == "Graphviz"
    tags, texts = _svg_content(tmp_path / "g.svg")
    assert "grad -2" in texts and "polygon" in tags
