"""The examples in public docstrings run (doctest), so the documentation stays true."""
import doctest
import importlib
import pkgutil

import pytest

import chainrule

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(chainrule.__path__, "chainrule.")
                 if ".cli." not in name and not name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    # optional extras are imported inside the functions that use them, so importing any
    # chainrule module must work: an ImportError here is a bug, not a reason to skip
    module = importlib.import_module(name)
    chainrule.manual_seed(0)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
