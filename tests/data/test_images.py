"""Image data: the shapes set, ImageFolder with corrupt files, transforms."""
import numpy as np
import pytest

import chainrule
from chainrule.data import DataLoader, ImageError, ImageFolder, transforms
from chainrule.data.images import make_shapes


def test_shapes_are_deterministic_for_a_seed():
    a, la = make_shapes(64, seed=3)
    b, lb = make_shapes(64, seed=3)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert a.shape == (64, 3, 32, 32) and a.dtype == np.float32
    assert set(np.unique(la)) == {0, 1, 2, 3}
    assert not np.array_equal(make_shapes(64, seed=4)[0], a)


def _write_folder(root, n=3, size=12):
    PIL = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        (root / name).mkdir(parents=True)
        for i in range(n):
            pixels = (rng.random((size, size, 3)) * 255).astype(np.uint8)
            PIL.fromarray(pixels).save(root / name / f"{i}.png")


def test_image_folder_reads_generated_pngs(tmp_path):
    _write_folder(tmp_path)
    dataset = ImageFolder(str(tmp_path), image_size=8,
                          transform=transforms.Normalize([0.5] * 3, [0.5] * 3))
    assert dataset.classes == ["cats", "dogs"] and len(dataset) == 6
    image, label = dataset[4]
    assert image.shape == (3, 8, 8) and label == 1
    x, y = next(iter(DataLoader(dataset, batch_size=6)))
    assert x.shape == (6, 3, 8, 8) and y.tolist() == [0, 0, 0, 1, 1, 1]


def test_corrupt_image_is_named_or_skipped(tmp_path):
    _write_folder(tmp_path)
    (tmp_path / "dogs" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ImageError, match="broken.png"):
        ImageFolder(str(tmp_path))
    with pytest.warns(UserWarning, match="broken.png.*skipped"):
        dataset = ImageFolder(str(tmp_path), skip_corrupt=True)
    assert len(dataset) == 6


def test_random_transforms_follow_the_seed():
    image = np.arange(3 * 6 * 6, dtype=np.float32).reshape(3, 6, 6)
    t = transforms.Compose([transforms.RandomCrop(4, padding=1),
                            transforms.RandomHorizontalFlip()])
    chainrule.manual_seed(1)
    first = [t(image) for _ in range(5)]
    chainrule.manual_seed(1)
    assert all(np.array_equal(a, t(image)) for a in first)
    assert first[0].shape == (3, 4, 4)
    assert transforms.ToTensor()(np.zeros((5, 4, 3), np.uint8)).shape == (3, 5, 4)
