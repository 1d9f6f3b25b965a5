"""The package's imports point one way: no module-level import cycle anywhere in
``chainrule``, and chainrule's own modules are imported inside functions only where that is
the point (the command line's start-up time, optional extras, MPI)."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"


def _module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(module, node):
    """The absolute name a ``from ... import`` statement's module part refers to."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".")
    is_package = MODULES[module].name == "__init__.py"
    base = package if is_package else package[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _with_parents(name):
    """Importing ``chainrule.io.checkpoint`` first runs ``chainrule/io/__init__.py``: each
    package between the root and the module is loaded too (the root package, which loads
    everything for the public API, is the top of the graph and left out)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts) + 1)]


def _targets(module, node):
    """chainrule modules an import statement loads (``from pkg import sub`` loads pkg.sub)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _resolve(module, node)
        names = []
        for alias in node.names:
            full = f"{base}.{alias.name}"
            names.append(full if full in MODULES else base)
    # the packages above ``module`` were loaded before it ran: importing them adds nothing
    ancestors = set(_with_parents(module))
    return [n for name in names for n in _with_parents(name)
            if n in MODULES and (n not in ancestors or n == name) and n != module]


def _module_level_imports(module, tree):
    """Imports executed when the module is imported (not those inside functions)."""
    found, stack = [], list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.extend(_targets(module, node))
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    stack.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])
    return found


def _graph():
    return {module: sorted(set(_module_level_imports(module, ast.parse(path.read_text()))))
            for module, path in MODULES.items()}


def _find_cycle(graph):
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for child in graph[node]:
            if state.get(child) == "open":
                return path[path.index(child):] + [child]
            if child not in state:
                cycle = visit(child)
                if cycle:
                    return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in graph:
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_module_level_import_cycle():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_core_layers_import_downwards_only():
    graph = _graph()
    lower = {"chainrule.tensor_base": {"chainrule.backend", "chainrule.errors"},
             "chainrule.autograd.grad_mode": set(),
             "chainrule.autograd.function": {"chainrule.tensor_base", "chainrule.errors",
                                             "chainrule.autograd.grad_mode",
                                             "chainrule.autograd.anomaly",
                                             # the backend's layer: view/memory helpers
                                             "chainrule.backend_helpers"}}
    for module, allowed in lower.items():
        assert set(graph[module]) <= allowed, (module, graph[module])
    for module, imports in graph.items():
        if module.startswith("chainrule.ops"):
            assert not any(i.startswith(("chainrule.nn", "chainrule.train", "chainrule.tensor"))
                           and i != "chainrule.tensor_base" for i in imports), (module, imports)


#: packages whose functions may import chainrule modules lazily, and why
LAZY_BY_DESIGN = {
    "chainrule.cli": "start-up time of `chainrule --help`: each command loads what it uses",
    "chainrule.distributed": "MPI is loaded only for a distributed run",
}


def test_functions_import_chainrule_modules_only_where_laziness_is_the_point():
    offenders = []
    for module, path in MODULES.items():
        if any(module.startswith(prefix) for prefix in LAZY_BY_DESIGN):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)) and \
                            _targets(module, inner):
                        offenders.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    if offenders:
        pytest.fail("chainrule modules imported inside functions: " + ", ".join(offenders))
