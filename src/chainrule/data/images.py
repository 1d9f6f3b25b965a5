"""Image data with no network: the procedural ``shapes`` set, and ImageFolder for a user's
own photos (one sub-folder per class, read with Pillow)."""
import math
import os
import warnings

import numpy

from ..errors import ChainruleError
from ..generator import Generator
from .dataset import Dataset

SHAPE_CLASSES = ("circle", "square", "triangle", "cross")


class ImageError(ChainruleError, ValueError):
    """An image file that cannot be read; the message names the file."""


def _shape_masks(kind, u, v, r):
    """Boolean masks of each shape in rotated, centred coordinates u, v (radius r)."""
    if kind == 0:
        return u * u + v * v < r * r
    if kind == 1:
        return (numpy.abs(u) < r * 0.8) & (numpy.abs(v) < r * 0.8)
    if kind == 2:          # equilateral triangle: inside all three edges (at distance r/2)
        inside = numpy.ones(u.shape, dtype=bool)
        for angle in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6):
            inside &= u * math.cos(angle) + v * math.sin(angle) < r * 0.5
        return inside
    arm = r / 3
    return ((numpy.abs(u) < r) & (numpy.abs(v) < arm)) | ((numpy.abs(u) < arm) &
                                                          (numpy.abs(v) < r))


def make_shapes(n, size=32, seed=0):
    """``n`` RGB images (n, 3, size, size) of circles, squares, triangles and crosses of random
    size, position, rotation and colour on noisy backgrounds, and their labels.

    >>> images, labels = make_shapes(4, size=16, seed=0)
    >>> images.shape, labels.dtype
    ((4, 3, 16, 16), dtype('int64'))
    """
    rng = Generator(seed).numpy
    labels = rng.integers(0, len(SHAPE_CLASSES), n)
    radius = rng.uniform(0.2, 0.34, (n, 1, 1)) * size
    cx = rng.uniform(0.35, 0.65, (n, 1, 1)) * size
    cy = rng.uniform(0.35, 0.65, (n, 1, 1)) * size
    theta = rng.uniform(0, 2 * math.pi, (n, 1, 1))
    ys, xs = numpy.mgrid[0:size, 0:size].astype(numpy.float64) + 0.5
    dx, dy = xs[None] - cx, ys[None] - cy
    u = numpy.cos(theta) * dx + numpy.sin(theta) * dy
    v = -numpy.sin(theta) * dx + numpy.cos(theta) * dy
    masks = numpy.zeros((n, size, size), dtype=bool)
    for kind in range(len(SHAPE_CLASSES)):
        chosen = labels == kind
        masks[chosen] = _shape_masks(kind, u[chosen], v[chosen], radius[chosen])
    background = rng.uniform(0.0, 1.0, (n, 3, 1, 1))
    offset = rng.uniform(0.35, 0.6, (n, 3, 1, 1)) * rng.choice([-1.0, 1.0], (n, 3, 1, 1))
    foreground = numpy.clip(background + offset, 0, 1)
    images = numpy.where(masks[:, None], foreground, background)
    images = images + rng.normal(0, 0.08, images.shape)
    return numpy.clip(images, 0, 1).astype(numpy.float32), labels.astype(numpy.int64)


def shapes(n=6000, size=32, seed=0, test_size=0.2):
    """The shapes classification task as a DataSplit (standardised per channel on train)."""
    from .datasets import DataSplit
    images, labels = make_shapes(n, size, seed)
    n_test = int(round(n * test_size))
    mean = images[n_test:].mean(axis=(0, 2, 3), keepdims=True)
    std = images[n_test:].std(axis=(0, 2, 3), keepdims=True)
    images = (images - mean) / std
    split = DataSplit("shapes", images[n_test:], labels[n_test:], images[:n_test],
                      labels[:n_test], "classification", len(SHAPE_CLASSES),
                      image_shape=(3, size, size))
    split.class_names = list(SHAPE_CLASSES)
    return split


class ImageFolder(Dataset):
    """``root/<class>/<image>`` files as (C, H, W) float32 arrays in [0, 1] with labels.

    Every file is checked when the dataset is made, so a corrupt image is an ImageError naming
    the file (or, with ``skip_corrupt=True``, left out with a warning) — never a crash in the
    middle of an epoch.

    >>> import os, tempfile
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp(); os.makedirs(os.path.join(root, "cats"))
    >>> Image.new("RGB", (4, 4)).save(os.path.join(root, "cats", "a.png"))
    >>> ImageFolder(root)[0][0].shape
    (3, 4, 4)
    """

    EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

    def __init__(self, root, transform=None, image_size=None, skip_corrupt=False):
        try:
            from PIL import Image
        except ImportError as error:
            raise ImportError("ImageFolder reads images with Pillow: "
                              "pip install 'chainrule[images]'") from error
        self._image = Image
        if not os.path.isdir(root):
            raise ImageError(f"ImageFolder: {root} is not a directory")
        self.classes = sorted(d for d in os.listdir(root)
                              if os.path.isdir(os.path.join(root, d)))
        if not self.classes:
            raise ImageError(f"ImageFolder: {root} has no class sub-folders")
        self.transform = transform
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.samples = []
        for label, name in enumerate(self.classes):
            folder = os.path.join(root, name)
            for file in sorted(os.listdir(folder)):
                if file.lower().endswith(self.EXTENSIONS):
                    path = os.path.join(folder, file)
                    if self._check(path, skip_corrupt):
                        self.samples.append((path, label))
        if not self.samples:
            raise ImageError(f"ImageFolder: no readable images under {root}")

    def _check(self, path, skip_corrupt):
        try:
            with self._image.open(path) as image:
                image.verify()
            return True
        except Exception as error:  # noqa: BLE001 - Pillow raises many kinds
            message = f"ImageFolder: {path} is not a readable image ({type(error).__name__})"
            if skip_corrupt:
                warnings.warn(message + "; skipped", stacklevel=3)
                return False
            raise ImageError(message) from None

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        try:
            with self._image.open(path) as image:
                image = image.convert("RGB")
                if self.image_size is not None:
                    image = image.resize(self.image_size[::-1])
                array = numpy.asarray(image, dtype=numpy.float32).transpose(2, 0, 1) / 255.0
        except OSError as error:
            raise ImageError(f"ImageFolder: cannot read {path}: {error}") from None
        if self.transform is not None:
            array = self.transform(array)
        return array, numpy.int64(label)


class TransformDataset(Dataset):
    """Apply ``transform`` to the first element (the image) of each sample of ``dataset``."""

    def __init__(self, dataset, transform):
        self.dataset, self.transform = dataset, transform

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        sample = self.dataset[index]
        image = sample[0].numpy() if hasattr(sample[0], "numpy") else sample[0]
        return (self.transform(image),) + tuple(sample[1:])


def image_folder_split(root, image_size=32, seed=0, test_size=0.2, augment=True):
    """A user's image folder as train/test datasets (seeded split; flips and crops on train)."""
    from .dataset import Subset
    from .transforms import Compose, RandomCrop, RandomHorizontalFlip
    full = ImageFolder(root, image_size=image_size)
    order = Generator(seed).numpy.permutation(len(full))
    n_test = max(1, int(round(len(full) * test_size)))
    train = Subset(full, order[n_test:].tolist())
    test = Subset(full, order[:n_test].tolist())
    if augment:
        train = TransformDataset(train, Compose([RandomHorizontalFlip(),
                                                 RandomCrop(image_size, padding=2)]))
    return train, test, full.classes
