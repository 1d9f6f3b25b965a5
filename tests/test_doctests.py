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
    try:
        module = importlib.import_module(name)
    except ImportError as error:     # an optional extra is not installed
        pytest.skip(f"{name}: {error}")
    chainrule.manual_seed(0)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
