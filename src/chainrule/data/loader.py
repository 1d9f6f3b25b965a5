"""DataLoader: batches from a dataset, shuffled reproducibly from a seeded generator."""
import numpy

from .. import backend
from ..generator import Generator, default_generator
from ..tensor import Tensor
from .dataset import TensorDataset
from ..errors import ArgumentError


def default_collate(samples):
    """Stack a list of samples (tuples of tensors/arrays/numbers) into batch tensors."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    arrays = [s._data if isinstance(s, Tensor) else numpy.asarray(s) for s in samples]
    return Tensor(backend.xp.stack(arrays))


class DataLoader:
    """Iterate over a dataset in batches.

    Shuffling draws each epoch's order from ``generator`` (default: a child of the global
    generator, seeded when the loader is made), so the order is reproducible from
    ``chainrule.manual_seed`` and restorable from ``state_dict()`` for exact resume.

    >>> import chainrule
    >>> from chainrule.data import TensorDataset, DataLoader
    >>> ds = TensorDataset(chainrule.arange(10).float(), chainrule.arange(10))
    >>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=4)]
    [(4,), (4,), (2,)]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 generator=None, sampler=None, transform=None):
        if batch_size is None or int(batch_size) < 1:
            raise ArgumentError(f"DataLoader: batch_size must be a positive integer, got "
                                f"{batch_size}")
        if len(dataset) == 0:
            raise ArgumentError("DataLoader: the dataset is empty")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.collate_fn = collate_fn or default_collate
        self.generator = generator or Generator(default_generator.spawn_seed())
        self.sampler = sampler
        self.transform = transform
        self.epoch = 0

    def __len__(self):
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self):
        if self.sampler is not None:
            return numpy.asarray(list(iter(self.sampler)))
        n = len(self.dataset)
        if self.shuffle:
            return self.generator.numpy.permutation(n)
        return numpy.arange(n)

    def __iter__(self):
        order = self._order()
        self.epoch += 1
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate \
            and self.transform is None
        arrays = self.dataset.arrays() if fast else None
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                break
            if fast:
                yield tuple(Tensor._make(a[index], None) for a in arrays)
            else:
                samples = [self.dataset[int(i)] for i in index]
                if self.transform is not None:
                    samples = [self.transform(s) for s in samples]
                yield self.collate_fn(samples)

    def state_dict(self):
        return {"epoch": self.epoch, "generator": self.generator.get_state()}

    def load_state_dict(self, state):
        self.epoch = state["epoch"]
        self.generator.set_state(state["generator"])
