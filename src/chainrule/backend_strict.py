"""The array API's strict reference implementation as a chainrule backend (a test mode).

``backend.use("array_api_strict")`` makes every op compute with arrays from
`array_api_strict <https://data-apis.org/array-api-strict/>`_, which refuses anything outside
the array API standard: NumPy-only functions (``add.at``, ``einsum``, ``pad``), array methods
(``a.reshape``, ``a.sum``, ``a.astype``), NumPy scalars, fancy ``__setitem__`` and mixed-kind
promotion all raise. An op that passes under it uses only the standard, so it runs on any
conforming backend (CuPy included); what genuinely needs more goes through
:mod:`chainrule.backend_helpers`.

One translation is made here, at the boundary: chainrule's dtype vocabulary is NumPy's
(``chainrule.float32 == numpy.dtype("float32")``), so the namespace's functions accept a NumPy
dtype wherever the standard takes a dtype and pass the strict one on; :func:`numpy_dtype`
maps a strict dtype back (``Tensor.dtype`` does, so users still see NumPy dtypes). Nothing
else is relaxed. The standard has no float16 or bfloat16: strict runs use float32/float64.

>>> ns = strict_namespace()
>>> a = ns.ones((2,), dtype=numpy.dtype("float32"))
>>> numpy_dtype(a.dtype)
dtype('float32')
"""
import functools
import types

import numpy

#: the functions whose ``dtype=`` keyword (or second positional argument) takes a dtype
_DTYPE_KEYWORD = ("asarray", "arange", "empty", "empty_like", "eye", "full", "full_like",
                  "linspace", "ones", "ones_like", "zeros", "zeros_like", "cumulative_sum",
                  "cumulative_prod", "prod", "sum")
_DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float32", "float64")

_namespace = None
_to_strict = {}          # numpy dtype -> strict dtype
_to_numpy = {}           # strict dtype -> numpy dtype


def strict_namespace():
    """The ``array_api_strict`` module, with NumPy dtypes accepted where a dtype is taken
    (made once; needs the ``array-api-strict`` package, a test dependency)."""
    global _namespace
    if _namespace is None:
        try:
            import array_api_strict as strict
        except ImportError as error:
            raise ImportError("backend 'array_api_strict' needs the array-api-strict package: "
                              "pip install 'chainrule[test]'") from error
        for name in _DTYPE_NAMES:
            _to_strict[numpy.dtype(name)] = getattr(strict, name)
            _to_numpy[getattr(strict, name)] = numpy.dtype(name)
        namespace = types.ModuleType("chainrule.backend_strict.xp", strict.__doc__)
        for name in strict.__all__:
            setattr(namespace, name, getattr(strict, name))
        namespace.strict = strict
        for name in _DTYPE_KEYWORD:
            setattr(namespace, name, _with_dtype_keyword(getattr(strict, name)))
        for name in ("astype", "isdtype", "finfo", "iinfo"):
            setattr(namespace, name, _with_dtype_first_or_second(getattr(strict, name), name))
        namespace.can_cast = lambda a, b: strict.can_cast(_as_dtype_or_array(a),
                                                          _as_dtype_or_array(b))
        namespace.result_type = lambda *items: strict.result_type(
            *(_as_dtype_or_array(i) for i in items))
        _namespace = namespace
    return _namespace


def is_strict_array(array):
    return type(array).__module__.startswith("array_api_strict")


def strict_dtype(dtype):
    """The strict dtype of a NumPy dtype (a strict one passes through)."""
    if dtype is None or dtype.__class__.__module__.startswith("array_api_strict"):
        return dtype
    try:
        return _to_strict[numpy.dtype(dtype)]
    except KeyError:
        raise TypeError(f"the array API standard has no dtype {dtype}") from None


def numpy_dtype(dtype):
    """The NumPy dtype of a strict dtype (a NumPy one passes through)."""
    return _to_numpy.get(dtype, dtype) if dtype.__class__.__module__.startswith(
        "array_api_strict") else dtype


def _as_dtype_or_array(item):
    return item if is_strict_array(item) or isinstance(item, (bool, int, float)) else \
        strict_dtype(item)


def _with_dtype_keyword(function):
    @functools.wraps(function)
    def wrapper(*args, dtype=None, **kwargs):
        return function(*args, dtype=strict_dtype(dtype), **kwargs)
    return wrapper


def _with_dtype_first_or_second(function, name):
    if name == "astype":
        return functools.wraps(function)(
            lambda x, dtype, **kwargs: function(x, strict_dtype(dtype), **kwargs))
    if name == "isdtype":
        return functools.wraps(function)(
            lambda dtype, kind: function(strict_dtype(dtype), kind))
    return functools.wraps(function)(lambda x: function(_as_dtype_or_array(x)))
