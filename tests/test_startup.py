"""Start-up stays light (issue 16.5): a bare ``import chainrule`` and ``chainrule --help`` load
none of the training stack or the optional extras, and the parts loaded on first use
(PEP 562) are there all the same. Nothing is timed here (benchmarks/startup.py times it)."""
import json
import subprocess
import sys
import types

import pytest

import chainrule

#: chainrule's heavier parts and the optional extras: none is loaded by ``import chainrule``
NOT_AT_START = ["chainrule.data", "chainrule.models", "chainrule.train", "chainrule.io",
                "chainrule.viz", "chainrule.distributed", "chainrule.nn", "chainrule.optim",
                "chainrule.utils", "matplotlib", "onnx", "safetensors", "tensorboardX",
                "mpi4py", "sklearn", "scipy", "PIL", "torch", "ml_dtypes", "multiprocessing"]


def _loaded_after(code):
    """The modules of NOT_AT_START (or below them) that a fresh interpreter has loaded after
    running ``code``."""
    report = (f"\nimport json, sys\nprint('LOADED ' + json.dumps(sorted({{m.split('.')[0] "
              f"if not m.startswith('chainrule.') else '.'.join(m.split('.')[:2]) "
              f"for m in sys.modules}} & set({NOT_AT_START!r}))))")
    done = subprocess.run([sys.executable, "-c", code + report], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("LOADED ", 1)[1])


def test_a_bare_import_loads_neither_the_training_stack_nor_the_extras():
    assert _loaded_after("import chainrule\nx = chainrule.tensor([1.0, 2.0], "
                         "requires_grad=True)\n(x * x).sum().backward()") == []


def test_the_help_of_every_command_is_built_without_the_training_stack():
    code = ("import contextlib, io\nfrom chainrule.cli.main import main, make_parser\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "for command in make_parser().commands.values():\n    command.format_help()")
    assert _loaded_after(code) == []


@pytest.mark.parametrize("name", chainrule._LAZY_MODULES)
def test_each_lazy_sub_package_is_the_module_of_that_name(name):
    assert isinstance(getattr(chainrule, name), types.ModuleType)
    assert getattr(chainrule, name) is sys.modules[f"chainrule.{name}"]
    assert name in dir(chainrule)


@pytest.mark.parametrize("name", sorted(chainrule._LAZY_NAMES))
def test_each_lazy_name_is_the_object_its_module_defines(name):
    module = sys.modules.get(f"chainrule.{chainrule._LAZY_NAMES[name]}") or \
        __import__(f"chainrule.{chainrule._LAZY_NAMES[name]}", fromlist=["_"])
    assert getattr(chainrule, name) is getattr(module, name)
    assert name in dir(chainrule)


def test_the_lazy_table_has_every_top_level_dropout_form():
    from chainrule.nn import torch_dropout
    assert {n for n, m in chainrule._LAZY_NAMES.items() if m == "nn.torch_dropout"} == \
        set(torch_dropout.__all__)


def test_the_usual_spellings_work_and_unknown_names_still_fail():
    import chainrule.nn as nn
    from chainrule import optim
    assert nn is chainrule.nn and optim is chainrule.optim
    assert nn.parallel.DistributedDataParallel is \
        chainrule.distributed.pytorch_names.DistributedDataParallel
    assert callable(chainrule.explain) and callable(chainrule.sheet)  # functions, not modules
    with pytest.raises(AttributeError, match="no_such_name"):
        chainrule.no_such_name
