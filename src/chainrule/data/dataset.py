"""Datasets: anything with ``__len__`` and ``__getitem__``; TensorDataset, Subset, random_split."""
import numpy

from ..errors import ArgumentError, ShapeError
from ..generator import default_generator
from ..tensor import Tensor


class Dataset:
    """Base class: implement ``__len__`` and ``__getitem__(i) -> sample``.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 3
    ...     def __getitem__(self, i): return i, i * i
    >>> Squares()[2]
    (2, 4)
    """

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples are the i-th rows of equally long tensors (or arrays).

    >>> import chainrule
    >>> ds = TensorDataset(chainrule.zeros(4, 2), chainrule.arange(4))
    >>> len(ds), ds[1][1].item()
    (4, 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ArgumentError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(numpy.asarray(t))
                             for t in tensors)
        lengths = {t.shape[0] if t.ndim else None for t in self.tensors}
        if len(lengths) != 1 or None in lengths:
            shapes = ", ".join(str(t.shape) for t in self.tensors)
            raise ShapeError(f"TensorDataset: all tensors need the same first dimension, got "
                             f"shapes {shapes}")

    def __getitem__(self, index):
        return tuple(Tensor._make(t._data[index], None) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def arrays(self):
        """The underlying arrays (lets the DataLoader slice batches without per-sample work)."""
        return tuple(t._data for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``.

    >>> import chainrule
    >>> ds = TensorDataset(chainrule.arange(5))
    >>> Subset(ds, [4, 0])[0][0].item()
    4
    """
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping subsets of the given lengths (or fractions summing to 1).

    >>> import chainrule
    >>> train, test = random_split(TensorDataset(chainrule.arange(10)), [8, 2])
    >>> len(train), len(test)
    (8, 2)
    """
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        counts = [int(numpy.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ArgumentError(f"random_split: lengths {list(lengths)} do not add up to the dataset's "
                            f"{n} samples")
    order = (generator or default_generator).numpy.permutation(n)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start:start + length].tolist()))
        start += length
    return subsets
