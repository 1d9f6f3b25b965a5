"""Image data with no network: the procedural ``shapes`` set, and ImageFolder for a user's
own photos (one sub-folder per class, read with Pillow)."""
import errno
import math
import os
import stat
import warnings

import numpy

from ..errors import ChainruleError
from ..generator import Generator
from .dataset import Dataset, Subset
from .split import DataSplit, Preprocessing
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip

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
    """The shapes classification task as a DataSplit (standardised per channel on train).

    >>> split = shapes(n=20, size=8)
    >>> split.class_names, split.preprocessing.mean.shape
    (['circle', 'square', 'triangle', 'cross'], (3, 1, 1))
    """
    images, labels = make_shapes(n, size, seed)
    n_test = int(round(n * test_size))
    mean = images[n_test:].mean(axis=(0, 2, 3), keepdims=True)
    std = images[n_test:].std(axis=(0, 2, 3), keepdims=True)
    preprocessing = Preprocessing((3, size, size), mean=mean[0], std=std[0])
    raw_test = images[:n_test]
    images = (images - mean) / std
    return DataSplit("shapes", images[n_test:], labels[n_test:], images[:n_test],
                     labels[:n_test], "classification", len(SHAPE_CLASSES),
                     image_shape=(3, size, size), preprocessing=preprocessing,
                     raw_test=raw_test, class_names=SHAPE_CLASSES)


EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _pillow():
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("reading images needs Pillow: pip install 'chainrule[images]'") \
            from error
    return Image


def _broken_link(path):
    """Why the symbolic link ``path`` cannot be followed ('' when it can)."""
    try:
        os.stat(path)
        return ""
    except OSError as error:
        return "loops back on itself" if error.errno == errno.ELOOP else "points to nothing"


def _class_folders(root):
    """The class sub-folders of ``root`` (hidden ones left out), each checked."""
    real_root = os.path.realpath(root)
    classes = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            broken = _broken_link(entry.path)
            if broken:
                raise ImageError(f"ImageFolder: {entry.path} is a symbolic link that {broken}; "
                                 "remove or fix it")
            target = os.path.realpath(entry.path)
            if entry.is_dir() and (real_root + os.sep).startswith(target + os.sep):
                raise ImageError(f"ImageFolder: {entry.path} is a symbolic link back to "
                                 f"{target}, which holds it (a loop); remove it")
        if entry.is_dir():
            classes.append(entry.name)
    return classes


def _image_files(folder, skip_corrupt, ignored):
    """The image files directly inside ``folder``; a file that cannot be a readable image (a
    broken link, a FIFO or device, an unreadable file) is an ImageError or, with
    ``skip_corrupt``, a warning. Sub-folders are collected in ``ignored``."""
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.name.lower().endswith(EXTENSIONS):
            if entry.is_dir() and not entry.name.startswith("."):
                ignored.append(entry.path)
            continue
        problem = _broken_link(entry.path) if entry.is_symlink() else ""
        problem = f"is a symbolic link that {problem}" if problem else ""
        if not problem:
            mode = os.stat(entry.path).st_mode
            problem = "" if stat.S_ISREG(mode) else "is not a regular file"
        if problem:
            _complain(f"ImageFolder: {entry.path} {problem}", skip_corrupt)
            continue
        found.append(entry.path)
    return found


def _complain(message, skip):
    if not skip:
        raise ImageError(message + "; remove or fix it, or skip such files "
                                   "(skip_corrupt=True; chainrule train --skip-bad-images)")
    warnings.warn(message + "; skipped", stacklevel=4)


def _verify(image_module, path, skip_corrupt):
    """True if Pillow can read ``path``'s header; else ImageError or (skip) a warning."""
    try:
        with image_module.open(path) as image:
            image.verify()
        return True
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds
        if isinstance(error, OSError) and error.strerror:
            reason = f"cannot be read ({error.strerror.lower()})"
        else:
            reason = f"is not a readable image ({type(error).__name__})"
        _complain(f"ImageFolder: {path} {reason}", skip_corrupt)
        return False


def read_image(path, image_size=None, image_module=None):
    """One image file as a (3, H, W) float32 array in [0, 1] (resized to ``image_size``).

    >>> import os, tempfile
    >>> from PIL import Image
    >>> path = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> Image.new("RGB", (4, 6)).save(path)
    >>> read_image(path, (2, 2)).shape
    (3, 2, 2)
    """
    image_module = image_module or _pillow()
    if not os.path.isfile(path):
        raise ImageError(f"{path} is not a regular image file")
    try:
        with image_module.open(path) as image:
            image = image.convert("RGB")
            if image_size is not None:
                image = image.resize(tuple(image_size)[::-1])
            return numpy.asarray(image, dtype=numpy.float32).transpose(2, 0, 1) / 255.0
    except Exception as error:  # noqa: BLE001 - Pillow raises many kinds
        raise ImageError(f"cannot read the image {path} ({type(error).__name__}: "
                         f"{error})") from None


def image_files(folder):
    """The image files directly inside ``folder`` (sorted), each checked to be a regular file.

    >>> import tempfile
    >>> image_files(tempfile.mkdtemp())
    []
    """
    return _image_files(folder, skip_corrupt=False, ignored=[])


class ImageFolder(Dataset):
    """``root/<class>/<image>`` files as (C, H, W) float32 arrays in [0, 1] with labels.

    Every file is checked when the dataset is made, so a corrupt image, a broken symbolic
    link or a FIFO is an ImageError naming the file (or, with ``skip_corrupt=True``, left
    out with a warning) — never a crash or a hang in the middle of an epoch. A class folder
    with no readable image is an error (as in torchvision); so is a class folder that is a
    symbolic-link loop. Hidden folders (``.name``) are not classes; images must lie directly
    in their class folder (sub-folders are ignored with a warning).

    >>> import os, tempfile
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp(); os.makedirs(os.path.join(root, "cats"))
    >>> Image.new("RGB", (4, 4)).save(os.path.join(root, "cats", "a.png"))
    >>> ImageFolder(root)[0][0].shape
    (3, 4, 4)
    """

    EXTENSIONS = EXTENSIONS

    def __init__(self, root, transform=None, image_size=None, skip_corrupt=False):
        self._image = _pillow()
        root = os.fspath(root)
        if not os.path.isdir(root):
            what = "does not exist" if not os.path.lexists(root) else "is not a directory"
            raise ImageError(f"ImageFolder: {root} {what}")
        self.root = root
        self.classes = _class_folders(root)
        if not self.classes:
            raise ImageError(f"ImageFolder: {root} has no class sub-folders (expected "
                             f"{root}/<class name>/<image files>)")
        self.transform = transform
        self.image_size = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.samples, empty, ignored = [], [], []
        for label, name in enumerate(self.classes):
            files = _image_files(os.path.join(root, name), skip_corrupt, ignored)
            readable = [path for path in files if _verify(self._image, path, skip_corrupt)]
            if not readable:
                empty.append(name)
            self.samples += [(path, label) for path in readable]
        if empty:
            raise ImageError(f"ImageFolder: the class folder{'s' if len(empty) > 1 else ''} "
                             f"{', '.join(empty)} in {root} hold{'' if len(empty) > 1 else 's'}"
                             f" no readable image ({', '.join(EXTENSIONS)}); add images or "
                             "remove the folder")
        if ignored:
            warnings.warn(f"ImageFolder: ignored {len(ignored)} sub-folder(s) of class folders "
                          f"(e.g. {ignored[0]}): images must lie directly in their class "
                          "folder", stacklevel=2)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        array = read_image(path, self.image_size, self._image)
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


def channel_statistics(dataset):
    """Per-channel mean and std (population, like numpy.std) of a dataset's (C, H, W) images.

    >>> import numpy as np
    >>> from chainrule.data import TensorDataset
    >>> mean, std = channel_statistics(TensorDataset(np.ones((2, 3, 2, 2)), np.zeros(2)))
    >>> mean.ravel().tolist(), std.ravel().tolist()
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    """
    total = squares = None
    count = 0
    for index in range(len(dataset)):
        image = numpy.asarray(dataset[index][0], dtype=numpy.float64)
        sums = image.sum(axis=(1, 2))
        total = sums if total is None else total + sums
        squared = (image * image).sum(axis=(1, 2))
        squares = squared if squares is None else squares + squared
        count += image.shape[1] * image.shape[2]
    mean = total / count
    std = numpy.sqrt(numpy.maximum(squares / count - mean * mean, 0.0))
    std[std < 1e-6] = 1.0                       # a constant channel: leave it as it is
    return (mean.reshape(-1, 1, 1).astype(numpy.float32),
            std.reshape(-1, 1, 1).astype(numpy.float32))


def image_folder_split(root, image_size=32, seed=0, test_size=0.2, augment=True,
                       normalization=None, skip_corrupt=False):
    """A user's image folder as a DataSplit: a seeded train/test split, images resized to
    ``image_size`` and standardised per channel with the training images' statistics (or the
    given ``(mean, std)``), flips and crops on train. Images are read lazily, per batch.

    >>> import os, tempfile
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp()
    >>> for name in ("cats", "dogs"):
    ...     os.makedirs(os.path.join(root, name))
    ...     for i in range(3):
    ...         Image.new("RGB", (8, 8), (80 * i, 0, 0)).save(os.path.join(root, name, f"{i}.png"))
    >>> split = image_folder_split(root, image_size=8, seed=0)
    >>> len(split.train), len(split.test), split.class_names
    (5, 1, ['cats', 'dogs'])
    """
    full = ImageFolder(root, image_size=image_size, skip_corrupt=skip_corrupt)
    if len(full) < 2:
        raise ImageError(f"ImageFolder: {root} holds {len(full)} image; training needs at "
                         "least 2 (one to train on, one to test)")
    order = Generator(seed).numpy.permutation(len(full))
    n_test = min(max(1, int(round(len(full) * test_size))), len(full) - 1)
    train, test = Subset(full, order[n_test:].tolist()), Subset(full, order[:n_test].tolist())
    mean, std = normalization if normalization is not None else channel_statistics(train)
    normalize = Normalize(numpy.ravel(mean), numpy.ravel(std))
    shape = (3, image_size, image_size)
    train_transform = normalize
    if augment:
        train_transform = Compose([RandomHorizontalFlip(), RandomCrop(image_size, padding=2),
                                   normalize])
    preprocessing = Preprocessing(shape, mean=numpy.reshape(mean, (-1, 1, 1)),
                                  std=numpy.reshape(std, (-1, 1, 1)),
                                  image_size=(image_size, image_size))
    return DataSplit.from_datasets(f"images:{root}", TransformDataset(train, train_transform),
                                   TransformDataset(test, normalize), "classification", shape,
                                   num_classes=len(full.classes), image_shape=shape,
                                   preprocessing=preprocessing, class_names=full.classes)
