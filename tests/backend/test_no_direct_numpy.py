"""No module under src/chainrule computes on tensor data with NumPy directly.

Tensor math goes through the array's own namespace (``backend.xp``,
``backend.namespace_of(array)``) or :mod:`chainrule.backend_helpers`, so that the same code
runs on CuPy arrays and under the ``array_api_strict`` test backend. This test parses every
module with ``ast`` and fails on a call ``numpy.<function>(...)`` (or ``np.``, any alias)
that is neither a dtype name nor dtype introspection, unless the module is an I/O edge
(``EDGE_MODULES``) or the call is on the module's explicit allow-list (``ALLOWED``), each
with its reason. A new direct call fails here: write it with the namespace, or add it to the
allow-list with the reason it is host-side.
"""
import ast
import pathlib

import pytest

SOURCE = pathlib.Path(__file__).resolve().parents[2] / "src" / "chainrule"

#: calls that name a dtype or ask about dtypes (``numpy.float32(x)`` is a host scalar), or
#: set host state: never tensor math
DTYPE_CALLS = {
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "intp", "dtype", "finfo", "iinfo", "result_type",
    "promote_types", "can_cast", "issubdtype", "errstate", "ndarray", "generic",
}

#: whole modules where NumPy is the point: the backend itself, and the edges where data
#: enters or leaves as host arrays (files, datasets, plots, printing, the command line)
EDGE_MODULES = {
    "backend.py": "the backend: NumPy is one of its namespaces",
    "backend_strict.py": "the array_api_strict namespace and its dtype boundary",
    "backend_helpers.py": "the NumPy/CuPy implementations of what the standard lacks",
    "backend_pool.py": "NumPy-only passes on OpenBLAS's threads (other arrays never reach it)",
    "io/": "checkpoints, ONNX, safetensors, TensorBoard: files hold host arrays",
    "data/": "datasets, images, text, samplers, splits and collation: host data entering "
             "(collate stacks with backend.xp)",
    "cli/": "the command line: reads and prints host data",
    "viz/": "plots and reports: matplotlib takes NumPy arrays",
    "distributed/": "MPI exchanges host buffers",
    "explain.py": "printed explanations of host values",
    "sheet.py": "the cheat sheet: printed host values",
    "_html.py": "notebook HTML of host values",
    "train/metrics.py": "metrics on predictions copied to the host (accuracy, F1, ...)",
    "train/lr_find.py": "the learning-rate finder's curve analysis, on host floats",
    "train/history.py": "the training history: host floats",
    "autograd/gradcheck.py": "numerical differentiation in float64 on the host (a test tool)",
    "train/numerical.py": "numerical gradients on the host (a test tool)",
    "models/gpt.py": "text generation samples tokens on the host",
}

#: per module, the NumPy functions it may call, with the reason they are host-side
ALLOWED = {
    "creation.py": ("arange asarray where full trunc power stack from_dlpack",
                    "factories compute exact values (PyTorch's arange/linspace/logspace "
                    "kernels) on the host, then place them with backend.xp.asarray"),
    "generator.py": ("random.Generator random.PCG64", "the random generator is host-side"),
    "device.py": ("zeros", "a zero-length probe array to raise the CUDA error"),
    "tensor.py": ("zeros asarray array2string ones full array broadcast_shapes arange",
                  "legacy constructors and new_* build host values that _new moves; repr; "
                  "sum_to_size's shape arithmetic; fill_diagonal_'s host mask, then moved"),
    "tensor_protocols.py": ("array2string isfinite", "printing: on the host copy"),
    "tensor_types.py": ("zeros", "legacy typed constructors (host values, then moved)"),
    "nn/module.py": ("asarray", "state_dict values given as lists/arrays (user input)"),
    "nn/norm.py": ("array", "a 0-d counter buffer, made on the host and moved with the module"),
    "nn/layer_functions.py": ("sqrt", "a Python-float constant of alpha dropout"),
    "nn/loss_functions.py": ("asarray zeros concatenate cumsum all mod arange maximum nanmin "
                             "nanmax isnan",
                             "CTC lengths and targets are validated and padded on the host "
                             "(small integer arrays, moved with backend.xp.asarray); error "
                             "messages read a host copy; weights given as lists"),
    "nn/utils/rnn.py": ("asarray empty_like arange repeat full array concatenate argsort "
                        "cumsum diff",
                        "packed-sequence bookkeeping: lengths and sort orders are host ints"),
    "ops/arithmetic.py": ("frompyfunc", "erf without SciPy: math.erf per element on the host"),
    "ops/decompositions.py": ("asarray abs broadcast_shapes tril triu ones linalg.det diag "
                              "arange linalg.cholesky flatnonzero all",
                              "host-side checks and error messages (singular matrix, which "
                              "batch failed) on backend.to_numpy copies; shape arithmetic"),
    "ops/distance.py": ("prod triu_indices", "shape arithmetic on Python tuples; pdist's "
                        "row pairs from the row count, moved with xp.asarray"),
    "ops/indexing.py": ("shape", "the shape of a Python index value"),
    "ops/linalg.py": ("broadcast_shapes", "shape arithmetic"),
    "ops/pool.py": ("zeros", "the constant averaging matrix, built on the host and moved"),
    "ops/reduction.py": ("isinf prod asarray argsort",
                         "p is a Python number; shape arithmetic; quantile's q list"),
    "ops/sampling.py": ("empty minimum argsort cumsum searchsorted asarray exp isfinite log",
                        "multinomial/distribution sampling on the host generator's draws"),
    "ops/scattering.py": ("prod", "shape arithmetic"),
    "ops/shape.py": ("prod cumsum argsort", "shape arithmetic on Python tuples"),
    "ops/sorting.py": ("prod", "shape arithmetic"),
    "ops/workspace.py": ("empty", "the workspace is NumPy memory (the NumPy backend only)"),
    "optim/_pytorch.py": ("asarray", "a Python float rounded as float32 (host scalar)"),
    "optim/newton.py": ("concatenate zeros stack linalg.solve zeros_like eye isfinite",
                        "Newton's method solves its small dense system in float64 on the "
                        "host (documented as a CPU method)"),
    "train/divergence.py": ("isfinite flatnonzero argwhere",
                            "divergence reports: on host copies of the loss and gradients"),
    "train/fit.py": ("asarray array concatenate",
                     "fit's inputs (user arrays) and predict's outputs are host arrays"),
    # modules of work in progress (padding modes, N-d pooling, resampling) when this test
    # was written: "*" until their owners move the tensor math to backend.xp /
    # backend_helpers (pad, sliding_windows, into) and list what is left, with reasons
    "ops/padding.py": ("*", "in progress (padding modes): use backend_helpers.pad"),
    "ops/pool_nd.py": ("*", "in progress (N-d pooling): use backend_helpers / backend.xp"),
    "ops/resample.py": ("*", "in progress (interpolation)"),
    "ops/taps.py": ("*", "in progress"),
}


def _numpy_calls(path):
    """(line, dotted name) of every call of a NumPy function in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {alias.asname or "numpy" for node in ast.walk(tree)
               if isinstance(node, ast.Import) for alias in node.names
               if alias.name == "numpy"}
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        chain, func = [], node.func
        while isinstance(func, ast.Attribute):
            chain.append(func.attr)
            func = func.value
        if isinstance(func, ast.Name) and func.id in aliases and chain:
            name = ".".join(reversed(chain))
            if name.split(".")[0] not in DTYPE_CALLS:
                calls.append((node.lineno, name))
    return calls


def _is_edge(relative):
    return any(relative == edge or (edge.endswith("/") and relative.startswith(edge))
               for edge in EDGE_MODULES)


MODULES = sorted(str(p.relative_to(SOURCE)) for p in SOURCE.rglob("*.py"))


@pytest.mark.parametrize("relative", [m for m in MODULES if not _is_edge(m)])
def test_no_direct_numpy_on_tensor_data(relative):
    names, _reason = ALLOWED.get(relative, ("", ""))
    allowed = set(names.split())
    found = [(line, name) for line, name in _numpy_calls(SOURCE / relative)
             if "*" not in allowed and name not in allowed]
    assert not found, (
        f"{relative} calls NumPy directly: "
        + ", ".join(f"line {line}: numpy.{name}()" for line, name in found)
        + " — use backend.xp / backend.namespace_of(array) / backend_helpers, or add the "
        "call to ALLOWED with the reason it is host-side")


def test_allow_list_names_real_modules():
    """Every allow-list entry names a module that exists (stale entries are removed)."""
    for relative in list(EDGE_MODULES) + list(ALLOWED):
        if relative.endswith("/"):
            assert (SOURCE / relative).is_dir(), relative
        elif relative not in ("ops/padding.py", "ops/pool_nd.py", "ops/resample.py",
                              "ops/taps.py"):
            assert (SOURCE / relative).is_file(), relative


def test_the_scanner_sees_a_direct_call(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text("import numpy as np\n\ndef f(x):\n    return np.exp(x) + np.float32(1)\n")
    assert _numpy_calls(source) == [(4, "exp")]
