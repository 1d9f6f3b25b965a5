"""Data: Dataset, TensorDataset, DataLoader, random_split, Subset, and bundled datasets."""
from . import datasets  # noqa: F401
from .dataset import Dataset, Subset, TensorDataset, random_split  # noqa: F401
from .loader import DataLoader, default_collate  # noqa: F401
from . import transforms  # noqa: F401,E402
from .images import ImageError, ImageFolder, TransformDataset, make_shapes  # noqa: F401,E402
