"""Fetchers: turn one batch's indices into one batch — the same code in the main process and
in every worker, so both give identical batches. Each remembers which sample it was reading,
so an error can name it.

>>> import chainrule, numpy
>>> from chainrule.data import TensorDataset
>>> fetch = MapFetcher(TensorDataset(chainrule.arange(5)), True, default_collate, None)
>>> fetch(numpy.array([4, 1]))[0].tolist()
[4, 1]
"""
import itertools

from .. import backend, backend_helpers
from ..tensor import Tensor
from .collate import default_collate
from .dataset import TensorDataset


class MapFetcher:
    """Samples ``dataset[i]`` for a batch's indices, each transformed, then collated.

    A TensorDataset with the default collate and no transform is sliced in one go (the
    same values as stacking its rows, without per-sample Python work)."""

    def __init__(self, dataset, auto_collation, collate_fn, transform):
        self.dataset, self.auto_collation = dataset, auto_collation
        self.collate_fn, self.transform = collate_fn, transform
        self.arrays = dataset.arrays() if isinstance(dataset, TensorDataset) and \
            auto_collation and collate_fn is default_collate and transform is None else None
        self.current = None

    def _sample(self, index):
        self.current = index
        sample = self.dataset[index]
        return self.transform(sample) if self.transform is not None else sample

    def __call__(self, indices):
        """``indices``: an integer array (a batch) or, without auto-collation, one index."""
        if not self.auto_collation:
            return self.collate_fn(self._sample(int(indices)))
        if self.arrays is not None:
            self.current = None
            return [Tensor._make(_rows(array, indices), None) for array in self.arrays]
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None and self.transform is None:
            self.current = indices.tolist()
            samples = getitems(self.current)
        else:
            samples = [self._sample(i) for i in indices.tolist()]
        self.current = None
        return self.collate_fn(samples)

    def where(self, batch_index):
        """Where an error happened, for the message: the sample or the batch."""
        if self.current is None:
            return f"while collating batch {batch_index}"
        return f"while loading sample {self.current} (batch {batch_index})"


class IterableFetcher:
    """The next ``batch_size`` items of an iterable dataset's stream; StopIteration at its
    end (and for a short last batch with ``drop_last``)."""

    def __init__(self, dataset, auto_collation, collate_fn, transform, batch_size,
                 drop_last):
        self.iterator = iter(dataset)
        self.auto_collation, self.collate_fn = auto_collation, collate_fn
        self.transform, self.batch_size, self.drop_last = transform, batch_size, drop_last
        self.drawn = 0

    def _next(self):
        sample = next(self.iterator)
        self.drawn += 1
        return self.transform(sample) if self.transform is not None else sample

    def __call__(self, indices=None):
        if not self.auto_collation:
            return self.collate_fn(self._next())
        batch = []
        for _ in itertools.repeat(None, self.batch_size):
            try:
                batch.append(self._next())
            except StopIteration:
                break
        if not batch or (self.drop_last and len(batch) < self.batch_size):
            raise StopIteration
        return self.collate_fn(batch)

    def where(self, batch_index):
        return f"while loading item {self.drawn} of the stream (batch {batch_index})"


def _rows(array, indices):
    """``array[indices]`` for a host index array, on the array's own backend."""
    index = backend.namespace_of(array).asarray(indices)
    return backend_helpers.getitem(array, (index,))
