"""Per-sample image transforms for (C, H, W) float arrays, composed with Compose.

Random transforms draw from chainrule's generators (the global one unless given), so
augmentation is reproducible from ``chainrule.manual_seed``.

>>> import numpy as np
>>> t = Compose([Normalize([0.5], [0.5]), RandomHorizontalFlip(p=1.0)])
>>> t(np.array([[[0.0, 1.0]]], dtype=np.float32)).tolist()
[[[1.0, -1.0]]]
"""
import numpy

from ..errors import ArgumentError
from ..generator import default_generator


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class ToTensor:
    """An (H, W, C) or (H, W) uint8 image (or PIL image) -> a (C, H, W) float32 array in [0, 1].

    >>> import numpy as np
    >>> ToTensor()(np.zeros((4, 5, 3), dtype=np.uint8)).shape
    (3, 4, 5)
    """

    def __call__(self, image):
        array = numpy.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        array = array.transpose(2, 0, 1).astype(numpy.float32)
        return array / 255.0 if numpy.asarray(image).dtype == numpy.uint8 else array


class Normalize:
    """(x - mean) / std per channel."""

    def __init__(self, mean, std):
        self.mean = numpy.asarray(mean, dtype=numpy.float32).reshape(-1, 1, 1)
        self.std = numpy.asarray(std, dtype=numpy.float32).reshape(-1, 1, 1)
        if (self.std == 0).any():
            raise ArgumentError("Normalize: std must not be zero")

    def __call__(self, image):
        return ((image - self.mean) / self.std).astype(numpy.float32)


class RandomCrop:
    """A random size x size crop, after zero ``padding`` on every side.

    >>> import numpy as np
    >>> RandomCrop(2)(np.zeros((1, 4, 4), dtype=np.float32)).shape
    (1, 2, 2)
    """

    def __init__(self, size, padding=0, generator=None):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding, self.generator = padding, generator

    def __call__(self, image):
        if self.padding:
            p = self.padding
            image = numpy.pad(image, ((0, 0), (p, p), (p, p)))
        h, w = image.shape[1:]
        th, tw = self.size
        if th > h or tw > w:
            raise ArgumentError(f"RandomCrop: crop {self.size} is larger than the image "
                                f"{(h, w)}")
        rng = (self.generator or default_generator).numpy
        top, left = int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1))
        return image[:, top:top + th, left:left + tw]


class RandomHorizontalFlip:
    def __init__(self, p=0.5, generator=None):
        self.p, self.generator = p, generator

    def __call__(self, image):
        rng = (self.generator or default_generator).numpy
        return image[:, :, ::-1].copy() if rng.random() < self.p else image
