"""data_loading: an image folder (PNG files) with augmentation, loaded with 0 and 2 workers.

Each sample is decoded by Pillow, resized, flipped, cropped and normalised, then batches of
32 are collated; the same epoch is timed in the main process and with 2 worker processes
(worker start-up included, as a user pays it every epoch without persistent_workers).

    python benchmarks/data_loading.py [--quick]
"""
import os
import sys
import tempfile
import time

import numpy as np

from _common import blas_report


def make_folder(root, images_per_class, size, classes=4):
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = os.path.join(root, f"class{c}")
        os.makedirs(folder)
        for i in range(images_per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(folder, f"{i}.png"))


def epoch_rate(loader):
    """Batches per second over one epoch, and the number of batches."""
    start = time.perf_counter()
    count = sum(1 for _ in loader)
    return count / (time.perf_counter() - start), count


def main(quick=False):
    import chainrule
    from chainrule.data import DataLoader, ImageFolder, transforms
    per_class, size = (32, 48) if quick else (256, 96)
    print(f"data_loading: {4 * per_class} PNG images {size}x{size} -> resize 64, flip, "
          f"crop 56 (padding 4), normalise; batch 32; {os.cpu_count()} CPUs")
    print(blas_report())
    with tempfile.TemporaryDirectory() as root:
        make_folder(root, per_class, size)
        augment = transforms.Compose([transforms.RandomHorizontalFlip(),
                                      transforms.RandomCrop(56, padding=4),
                                      transforms.Normalize([0.5] * 3, [0.25] * 3)])
        dataset = ImageFolder(root, transform=augment, image_size=64)
        rates = {}
        for workers in (0, 2):
            chainrule.manual_seed(0)
            loader = DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers)
            epoch_rate(loader)                       # warm the file cache
            best = max(epoch_rate(loader)[0] for _ in range(1 if quick else 3))
            rates[workers] = best
            print(f"  num_workers={workers}: {best:8.1f} batches/s "
                  f"({best * 32:8.0f} images/s)")
    print(f"  2 workers / main process: {rates[2] / rates[0]:.2f}x")
    return rates


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
