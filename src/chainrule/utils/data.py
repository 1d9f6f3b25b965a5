"""``torch.utils.data``'s names, so ``from torch.utils.data import ...`` ports by changing
the package name: datasets, samplers, DataLoader, collation and worker information.

>>> from chainrule.utils.data import DataLoader, TensorDataset
>>> import chainrule
>>> next(iter(DataLoader(TensorDataset(chainrule.arange(4)), batch_size=2)))[0].tolist()
[0, 1]
"""
from ..data.collate import default_collate, default_convert
from ..data.combined import ChainDataset, ConcatDataset, IterableDataset
from ..data.dataset import Dataset, Subset, TensorDataset, random_split
from ..data.loader import DataLoader
from ..data.samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                             SubsetRandomSampler, WeightedRandomSampler)
from ..data.workers import WorkerInfo, get_worker_info
from ..distributed.sampler import DistributedSampler

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler", "IterableDataset", "RandomSampler", "Sampler",
           "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "WorkerInfo", "default_collate", "default_convert",
           "get_worker_info", "random_split"]
