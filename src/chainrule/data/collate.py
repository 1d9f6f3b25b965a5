"""Collation: a list of samples -> one batch, with PyTorch's ``default_collate`` rules.

Tensors and NumPy arrays are stacked along a new first dimension (dtype kept), Python floats
become a float64 tensor, ints an int64 tensor (bools a bool tensor), strings stay a list;
dicts, namedtuples and sequences are collated field by field — a tuple sample gives a
*list* of batches, exactly as in PyTorch.

>>> import numpy as np
>>> batch = default_collate([(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)])
>>> type(batch).__name__, batch[0].shape, batch[1].tolist()
('list', (2, 2), [1, 0])
"""
import collections.abc

import numpy

from .. import backend
from ..errors import ArgumentTypeError, ShapeError
from ..tensor import Tensor

_UNSUPPORTED = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                "lists; found {}")


def _stack(arrays):
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ShapeError(f"default_collate: samples of different shapes cannot be stacked: "
                         f"{', '.join(str(s) for s in sorted(shapes))}")
    return Tensor._make(backend.xp.stack(arrays), None)


def _is_namedtuple(value):
    return isinstance(value, tuple) and hasattr(value, "_fields")


def default_collate(batch):
    """Stack a list of samples into a batch (PyTorch's ``default_collate``).

    >>> default_collate([{"x": 1.5}, {"x": 2.5}])["x"].dtype
    dtype('float64')
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([t._data for t in batch])
    if isinstance(elem, (numpy.ndarray, numpy.generic)) and not isinstance(elem, (str, bytes)):
        if backend.kind(elem.dtype) in "OUSV":
            raise ArgumentTypeError(_UNSUPPORTED.format(f"arrays of dtype {elem.dtype}"))
        return _stack([backend.xp.asarray(a) for a in batch])
    if isinstance(elem, bool):
        return Tensor._make(backend.xp.asarray(batch, dtype=bool), None)
    if isinstance(elem, float):
        return Tensor._make(backend.xp.asarray(batch, dtype=numpy.float64), None)
    if isinstance(elem, int):
        return Tensor._make(backend.xp.asarray(batch, dtype=numpy.int64), None)
    if isinstance(elem, (str, bytes)):
        return batch            # as given: a list, or a tuple when it is a column of one
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise ShapeError("default_collate: each element in list of batch should be of "
                             f"equal size, got sizes {sorted({len(s) for s in batch})}")
        columns = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise ArgumentTypeError(_UNSUPPORTED.format(type(elem)))


def default_convert(data):
    """NumPy arrays (and arrays inside containers) -> Tensors, without batching: the collate
    function of a DataLoader with ``batch_size=None`` (PyTorch's ``default_convert``).

    >>> import numpy as np
    >>> default_convert({"x": np.arange(3)})["x"].tolist()
    [0, 1, 2]
    """
    if isinstance(data, numpy.ndarray) and backend.kind(data.dtype) not in "OUSV":
        return Tensor._make(backend.xp.asarray(data), None)
    if isinstance(data, numpy.generic) and backend.kind(data.dtype) not in "OUSV":
        return Tensor._make(backend.xp.asarray(data), None)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
