"""Data: datasets, samplers, DataLoader (with worker processes), random_split, and bundled
datasets."""
from . import datasets  # noqa: F401
from .dataset import Dataset, Subset, TensorDataset, random_split  # noqa: F401
from .loader import DataLoader, default_collate, default_convert  # noqa: F401
from .combined import ChainDataset, ConcatDataset, IterableDataset  # noqa: F401
from .samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: F401
                       SubsetRandomSampler, WeightedRandomSampler)
from .workers import WorkerError, WorkerInfo, get_worker_info  # noqa: F401
from . import transforms  # noqa: F401,E402
from .images import ImageError, ImageFolder, TransformDataset, make_shapes  # noqa: F401,E402
