"""DistributedSampler: each rank a disjoint shard of the data, reshuffled every epoch."""
import math

import numpy

from ..generator import Generator
from . import runtime


class DistributedSampler:
    """Indices for this rank: a permutation shared by all ranks (seed + epoch), padded by
    repeating its start so every rank gets ``ceil(n / world)`` samples, then every world-th.

    Call ``set_epoch(e)`` at the start of each epoch (``fit`` does) to reshuffle.

    >>> list(DistributedSampler(6, num_replicas=2, rank=1, shuffle=False))
    [1, 3, 5]
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        self.n = len(dataset) if hasattr(dataset, "__len__") else int(dataset)
        self.num_replicas = runtime.world_size() if num_replicas is None else num_replicas
        self.rank = runtime.rank() if rank is None else rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        if drop_last:
            self.per_rank = self.n // self.num_replicas
        else:
            self.per_rank = math.ceil(self.n / self.num_replicas)
        self.total = self.per_rank * self.num_replicas

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def indices(self):
        if self.shuffle:
            order = Generator(self.seed + self.epoch).numpy.permutation(self.n)
        else:
            order = numpy.arange(self.n)
        if self.total > self.n:
            repeats = math.ceil((self.total - self.n) / self.n)
            order = numpy.concatenate([order] + [order] * repeats)[:self.total]
        else:
            order = order[:self.total]
        return order[self.rank::self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.per_rank
