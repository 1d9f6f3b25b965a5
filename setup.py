"""The build's one addition to pyproject.toml: the optional C passes of chainrule._pool.

``optional=True``: where no C compiler is at hand the build goes on without it, and NumPy
does that work instead (chainrule/backend_pool.py finds out at run time).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "chainrule._pool", ["src/chainrule/_pool.c"], optional=True,
    extra_compile_args=["-O3", "-ffp-contract=off", "-fno-strict-aliasing"])])
