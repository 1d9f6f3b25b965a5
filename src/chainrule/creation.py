"""Factories: tensor, zeros, ones, full, arange, linspace, eye, rand, randn, randint, *_like.

Floating results default to float32 (PyTorch's default); random ones draw from the global
generator (``chainrule.manual_seed``) unless a ``generator`` is given.
"""
import numpy

from . import backend
from .errors import ArgumentError
from .generator import default_generator
from .tensor import Tensor


def tensor(data, dtype=None, requires_grad=False, name=None):
    """Make a tensor from a number, a (nested) list, a NumPy array or another tensor.

    >>> import chainrule
    >>> x = chainrule.tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> x.dtype, x.shape, x.requires_grad
    (dtype('float32'), (2,), True)
    """
    if isinstance(data, Tensor):
        data = data._data.copy()
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, name=name)


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = tuple(int(n) for n in size)
    if any(n < 0 for n in shape):
        raise ArgumentError(f"a tensor's size cannot be negative, got {shape}")
    return shape


def _dtype(dtype):
    return backend.default_float if dtype is None else numpy.dtype(dtype)


def _finish(array, requires_grad):
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad=False):
    """>>> import chainrule; chainrule.zeros(2, 3).shape
    (2, 3)"""
    return _finish(backend.xp.zeros(_shape(size), dtype=_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    """

    >>> import chainrule
    >>> chainrule.ones(2).tolist()
    [1.0, 1.0]
    """
    return _finish(backend.xp.ones(_shape(size), dtype=_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """

    >>> import chainrule
    >>> chainrule.full((2,), 0.5).tolist()
    [0.5, 0.5]
    """
    if dtype is None and isinstance(fill_value, bool):
        dtype = numpy.bool_
    elif dtype is None and isinstance(fill_value, int):
        dtype = numpy.int64
    size = (size,) if isinstance(size, int) else tuple(size)
    return _finish(backend.xp.full(size, fill_value, dtype=_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Like ``range``: integers give int64, floats give float32.

    >>> import chainrule
    >>> chainrule.arange(3).tolist()
    [0, 1, 2]
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = numpy.int64 if is_int else backend.default_float
    return _finish(backend.xp.arange(start, end, step, dtype=numpy.dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """Evenly spaced values from start to end, inclusive.

    >>> import chainrule
    >>> chainrule.linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return _finish(backend.xp.linspace(start, end, int(steps), dtype=_dtype(dtype)),
                   requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The identity matrix.

    >>> import chainrule
    >>> chainrule.eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return _finish(backend.xp.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def _random(array, dtype, requires_grad):
    return _finish(backend.xp.asarray(array.astype(_dtype(dtype), copy=False)), requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None):
    """Uniform on [0, 1), drawn from ``generator`` or the global one.

    >>> import chainrule
    >>> _ = chainrule.manual_seed(0)
    >>> chainrule.rand(2, 3).shape
    (2, 3)
    """
    g = generator or default_generator
    return _random(g.numpy.random(_shape(size)), dtype, requires_grad)


def randn(*size, dtype=None, requires_grad=False, generator=None):
    """Standard normal samples.

    >>> import chainrule
    >>> chainrule.randn(4, dtype="float64").dtype
    dtype('float64')
    """
    g = generator or default_generator
    return _random(g.numpy.standard_normal(_shape(size)), dtype, requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None):
    """Integers in [low, high) (int64 unless ``dtype`` says otherwise).

    >>> import chainrule
    >>> x = chainrule.randint(0, 3, (100,))
    >>> bool((x >= 0).all() and (x < 3).all())
    True
    """
    if high is None:
        low, high = 0, low
    g = generator or default_generator
    values = g.numpy.integers(low, high, size=tuple(size))
    return Tensor(backend.xp.asarray(values, dtype=numpy.dtype(dtype or numpy.int64)))


def randperm(n, generator=None):
    g = generator or default_generator
    return Tensor(backend.xp.asarray(g.numpy.permutation(n), dtype=numpy.int64))


def zeros_like(t, dtype=None, requires_grad=False):
    """Zeros with the shape and dtype of ``t``.

    >>> import chainrule
    >>> chainrule.zeros_like(chainrule.ones(2, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    return _finish(backend.xp.zeros(t.shape, dtype=dtype or t.dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    """Ones with the shape and dtype of ``t``.

    >>> import chainrule
    >>> chainrule.ones_like(chainrule.arange(3)).tolist()
    [1, 1, 1]
    """
    return _finish(backend.xp.ones(t.shape, dtype=dtype or t.dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    """``fill_value`` with the shape and dtype of ``t``.

    >>> import chainrule
    >>> chainrule.full_like(chainrule.zeros(2), 7.0).tolist()
    [7.0, 7.0]
    """
    return _finish(backend.xp.full(t.shape, fill_value, dtype=dtype or t.dtype), requires_grad)


def rand_like(t, generator=None):
    return rand(*t.shape, dtype=t.dtype, generator=generator)


def randn_like(t, generator=None):
    return randn(*t.shape, dtype=t.dtype, generator=generator)


def from_numpy(array):
    """Wrap a NumPy array without copying (its dtype is kept)."""
    return Tensor(array)


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or data.dtype == numpy.dtype(dtype)):
        return data
    return Tensor(data, dtype=dtype)


__all__ = ["tensor", "zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn",
           "randint", "randperm", "zeros_like", "ones_like", "full_like", "rand_like",
           "randn_like", "from_numpy", "as_tensor"]


def empty_like_shape(shape, dtype=None):
    """Uninitialised-but-zeroed storage of ``shape`` for a layer to initialise."""
    return backend.xp.zeros(tuple(shape), dtype=_dtype(dtype))
