"""Datasets that are streams (IterableDataset) or made of other datasets (ConcatDataset,
ChainDataset), as in PyTorch.

>>> import chainrule
>>> from chainrule.data import TensorDataset
>>> both = ConcatDataset([TensorDataset(chainrule.arange(3)), TensorDataset(chainrule.arange(2))])
>>> len(both), both[3][0].item()
(5, 0)
"""
import bisect

from ..errors import ArgumentError, ArgumentTypeError, IndexOutOfRangeError
from .dataset import Dataset


class IterableDataset(Dataset):
    """A dataset that is a stream: implement ``__iter__``. With worker processes each worker
    iterates its own copy, so split the stream with :func:`get_worker_info` (as in PyTorch).

    >>> class Count(IterableDataset):
    ...     def __iter__(self): return iter(range(3))
    >>> list(Count())
    [0, 1, 2]
    """

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):      # a TypeError, as for any object without a length
        raise TypeError(f"{type(self).__name__} is a stream with no len(); define __len__ "
                        "to give it one")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other.

    >>> class Count(IterableDataset):
    ...     def __iter__(self): return iter(range(2))
    >>> list(ChainDataset([Count(), Count()]))
    [0, 1, 0, 1]
    """

    def __init__(self, datasets):
        self.datasets = datasets

    def _checked(self):
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise ArgumentTypeError("ChainDataset only supports IterableDataset, got "
                                        f"{type(dataset).__name__}")
            yield dataset

    def __iter__(self):
        for dataset in self._checked():
            yield from dataset

    def __len__(self):
        return sum(len(dataset) for dataset in self._checked())


class ConcatDataset(Dataset):
    """Map-style datasets one after the other; index ``i`` finds its dataset by bisection.

    >>> import chainrule
    >>> from chainrule.data import TensorDataset
    >>> ConcatDataset([TensorDataset(chainrule.arange(2))] * 2).cumulative_sizes
    [2, 4]
    """

    @staticmethod
    def cumsum(sequence):
        sizes, total = [], 0
        for dataset in sequence:
            total += len(dataset)
            sizes.append(total)
        return sizes

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentError("ConcatDataset: datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                raise ArgumentTypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise IndexOutOfRangeError(f"ConcatDataset: index {index} is out of range "
                                           f"for {len(self)} samples")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        if which >= len(self.datasets):
            raise IndexOutOfRangeError(f"ConcatDataset: index {index} is out of range for "
                                       f"{len(self)} samples")
        return self.datasets[which][index - start]
