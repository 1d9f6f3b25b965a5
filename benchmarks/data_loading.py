"""data_loading: an image folder (PNG files) with augmentation, loaded with 0 and 2 workers,
by chainrule's DataLoader and by PyTorch's (torch.utils.data) over the same files.

Each sample is decoded by Pillow, resized to 64x64, flipped, cropped (56, padding 4) and
normalised, then batches of 32 are collated; the PyTorch twin does the same steps with
torch's own ops in a torch Dataset. The same epoch is timed in the main process and with 2
worker processes (worker start-up included, as a user pays it every epoch without
persistent_workers).

Before timing, the first batch of both loaders without augmentation and without shuffling
must be the same (images and labels). Each library is then timed in its own process,
taking turns round after round; medians and per-round ratios are printed.

    python benchmarks/data_loading.py [--quick] [--rounds N]
"""
import os
import sys
import tempfile
import time

import numpy as np

from _common import disagreements as over_tolerance
from _common import (blas_report, isolated, options, print_agreement, relative_difference,
                     report_rounds, rounds_of, torch_or_none, where)

MEAN, STD = [0.5] * 3, [0.25] * 3
TOLERANCE = {"images": 1e-6, "labels": 0.0}


def make_folder(root, images_per_class, size, classes=4):
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = os.path.join(root, f"class{c}")
        os.makedirs(folder)
        for i in range(images_per_class):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(folder, f"{i}.png"))


def chainrule_loader(root, workers, augment=True, shuffle=True):
    import chainrule
    from chainrule.data import DataLoader, ImageFolder, transforms
    steps = [transforms.RandomHorizontalFlip(), transforms.RandomCrop(56, padding=4)] \
        if augment else []
    dataset = ImageFolder(root, transform=transforms.Compose(
        steps + [transforms.Normalize(MEAN, STD)]), image_size=64)
    chainrule.manual_seed(0)
    return DataLoader(dataset, batch_size=32, shuffle=shuffle, num_workers=workers)


def torch_loader(torch, root, workers, augment=True, shuffle=True, perturb=0.0):
    """The same pipeline in PyTorch: a torch Dataset over the same files (sorted class
    folders, sorted file names, as ImageFolder), Pillow decode and resize, torch ops after."""
    from PIL import Image
    classes = sorted(os.listdir(root))
    samples = [(os.path.join(root, c, f), label) for label, c in enumerate(classes)
               for f in sorted(os.listdir(os.path.join(root, c)))]
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)

    class Folder(torch.utils.data.Dataset):
        def __len__(self):
            return len(samples)

        def __getitem__(self, index):
            path, label = samples[index]
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB").resize((64, 64)), dtype=np.float32)
            x = torch.from_numpy(pixels).permute(2, 0, 1) / 255.0 + perturb
            if augment:
                if torch.rand(()) < 0.5:
                    x = x.flip(2)
                x = torch.nn.functional.pad(x, (4, 4, 4, 4))
                top, left = (int(v) for v in torch.randint(0, 64 + 8 - 56 + 1, (2,)))
                x = x[:, top:top + 56, left:left + 56]
            return (x - mean) / std, label
    torch.manual_seed(0)
    return torch.utils.data.DataLoader(Folder(), batch_size=32, shuffle=shuffle,
                                       num_workers=workers)


def cross_check(perturb=0.0, root=None):
    """The first batch of both loaders (no augmentation, no shuffling): the largest relative
    difference of the images, and whether the labels differ (``perturb`` shifts PyTorch's
    pixels, to see the check fail)."""
    torch = torch_or_none(threads=1)
    with tempfile.TemporaryDirectory() as scratch:
        if root is None:
            root = os.path.join(scratch, "images")
            make_folder(root, 8, 48)
        x, y = next(iter(chainrule_loader(root, 0, augment=False, shuffle=False)))
        tx, ty = next(iter(torch_loader(torch, root, 0, False, False, perturb)))
        return {"images": relative_difference(x.numpy(), tx.numpy()),
                "labels": float((y.numpy() != ty.numpy()).sum())}


def disagreements(report):
    """The checks of a cross-check report over their tolerance."""
    return over_tolerance(report, TOLERANCE)


def epoch_rate(loader):
    """Images per second over one epoch."""
    start = time.perf_counter()
    count = sum(len(batch[1]) for batch in loader)
    return count / (time.perf_counter() - start)


def images_per_second(which, root, repeat):
    """{workers: best images/s over ``repeat`` epochs} for one library, in this process."""
    result = {}
    for workers in (0, 2):
        if which == "chainrule":
            loader = chainrule_loader(root, workers)
        else:
            torch = torch_or_none()
            if torch is None:
                return None
            loader = torch_loader(torch, root, workers)
        epoch_rate(loader)                       # warm the file cache
        result[str(workers)] = max(epoch_rate(loader) for _ in range(repeat))
    return result


def main(quick=False, rounds=None, threads=None):
    rounds = rounds or (1 if quick else 5)
    per_class, size = (32, 48) if quick else (256, 96)
    print(f"data_loading: {4 * per_class} PNG images {size}x{size} -> resize 64, flip, "
          f"crop 56 (padding 4), normalise; batch 32; {os.cpu_count()} CPUs; " + where(rounds))
    print(blas_report())
    ok = True
    with tempfile.TemporaryDirectory() as root:
        make_folder(root, per_class, size)
        if torch_or_none() is not None:
            ok = print_agreement("first batch", isolated("data_loading", "cross_check", 0.0,
                                                         root, threads=1), TOLERANCE)
        results = rounds_of("data_loading", "images_per_second", ("chainrule", "pytorch"),
                            (root, 1 if quick else 3), rounds, threads)
    for workers in ("0", "2"):
        per_round = {k: [r[workers] for r in v] for k, v in results.items()}
        report_rounds("data_loading", f"num_workers={workers} images/s", per_round,
                      "images/s", higher_is_better=True)
    ours = results["chainrule"]
    print("  chainrule 2 workers / main process: "
          f"{np.median([r['2'] / r['0'] for r in ours]):.2f}x")
    if not ok:
        print("data_loading: the libraries disagree (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(**options()))
