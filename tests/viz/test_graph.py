"""Graph drawing: DOT that parses and names every op; SVG when Graphviz is installed."""
import shutil

import pytest

import chainrule
from chainrule.viz import graph


def _parse_dot(text):
    """A small DOT reader: node ids with labels, and edges."""
    nodes, edges = {}, []
    for line in text.splitlines()[1:-1]:
        line = line.strip().rstrip(";")
        if "->" in line:
            a, b = [s.strip() for s in line.split("->")]
            edges.append((a, b))
        elif "[" in line:
            name, attrs = line.split(" [", 1)
            label = attrs.split('label="', 1)[1].rsplit('"', 1)[0] if 'label="' in attrs else ""
            nodes[name] = label
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    return nodes, edges


def test_dot_names_every_op_and_marks_leaves():
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    x = chainrule.tensor(1.0, name="x")
    loss = (chainrule.sigmoid(w * x) - 2.0) ** 2
    loss.backward(retain_graph=True)
    dot = graph(loss).dot
    nodes, edges = _parse_dot(dot)
    labels = " ".join(nodes.values())
    for op in ("Mul", "Sigmoid", "Sub", "PowScalar"):
        assert op in labels
    assert any(label.startswith("w\\nscalar") and "grad" in label for label in nodes.values())
    assert all(a in nodes and b in nodes for a, b in edges)
    gv = pytest.importorskip("graphviz")
    assert gv.Source(dot).source.strip() == dot.strip()


def test_model_collapses_to_one_node_per_layer():
    model = chainrule.models.MLP(16, (32, 32, 32), 4, batch_norm=True)
    g = graph(model, chainrule.zeros(2, 16), max_nodes=20)   # more ops than that: collapses
    nodes, _ = _parse_dot(g.dot)
    assert sum("Linear" in label for label in nodes.values()) == 4
    assert sum("BatchNorm1d" in label for label in nodes.values()) == 3
    assert g.node_count == len(list(model.children()))
    full = graph(model, chainrule.zeros(2, 16), collapse=False)
    assert full.node_count > 3 * g.node_count


def test_svg_when_dot_exists_else_instructions(tmp_path):
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    g = graph(w * 3.0).save(str(tmp_path / "g.svg"))
    assert (tmp_path / "g.dot").exists()
    if shutil.which("dot") is None:
        assert "dot -Tsvg" in g.message
        pytest.skip("Graphviz's dot is not installed")
    assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")
