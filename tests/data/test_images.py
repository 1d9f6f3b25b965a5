"""Image data: the shapes set, ImageFolder with corrupt files, transforms."""
import os

import numpy as np
import pytest

import chainrule
from chainrule.data import DataLoader, ImageError, ImageFolder, transforms
from chainrule.data.images import image_folder_split, make_shapes, read_image, shapes


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


# ---------------------------------------------------------------- folders that are not right

@pytest.mark.parametrize("damage,message", [
    (lambda root: (root / "birds").mkdir(), "class folder birds .* no readable image"),
    (lambda root: os.symlink("loop", root / "loop"), "loop is a symbolic link that loops"),
    (lambda root: os.symlink(".", root / "self"), "self is a symbolic link back to"),
    (lambda root: os.mkfifo(root / "cats" / "pipe.png"), "pipe.png is not a regular file"),
    (lambda root: os.symlink("nowhere.png", root / "cats" / "gone.png"),
     "gone.png is a symbolic link that points to nothing"),
    (lambda root: (root / "cats" / "folder.png").mkdir(), "folder.png is not a regular file"),
])
def test_broken_folders_are_errors_naming_the_culprit(tmp_path, damage, message):
    _write_folder(tmp_path)
    damage(tmp_path)
    with pytest.raises(ImageError, match=message):
        ImageFolder(str(tmp_path))


def test_skipping_leaves_out_bad_files_with_a_warning_but_never_a_whole_class(tmp_path):
    _write_folder(tmp_path, n=1)
    os.mkfifo(tmp_path / "cats" / "pipe.png")
    with pytest.warns(UserWarning, match="pipe.png is not a regular file; skipped"):
        assert len(ImageFolder(str(tmp_path), skip_corrupt=True)) == 2
    (tmp_path / "dogs" / "0.png").write_bytes(b"garbage")
    with pytest.warns(UserWarning), pytest.raises(ImageError, match="dogs .* no readable"):
        ImageFolder(str(tmp_path), skip_corrupt=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file_is_named(tmp_path):
    _write_folder(tmp_path)
    os.chmod(tmp_path / "cats" / "0.png", 0)
    with pytest.raises(ImageError, match="0.png cannot be read .permission denied"):
        ImageFolder(str(tmp_path))


def test_missing_root_and_sub_folders_are_explained(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        ImageFolder(str(tmp_path / "nope"))
    with pytest.raises(ImageError, match="no class sub-folders"):
        ImageFolder(str(tmp_path))
    _write_folder(tmp_path)
    (tmp_path / "cats" / "more").mkdir()
    (tmp_path / ".cache").mkdir()                        # hidden: not a class
    with pytest.warns(UserWarning, match="ignored 1 sub-folder"):
        assert ImageFolder(str(tmp_path)).classes == ["cats", "dogs"]


def test_image_folder_split_standardises_with_the_training_images(tmp_path):
    _write_folder(tmp_path, n=5)
    split = image_folder_split(str(tmp_path), image_size=8, seed=0, augment=False)
    assert (len(split.train), len(split.test)) == (8, 2)
    assert split.class_names == ["cats", "dogs"] and split.sample_shape == (3, 8, 8)
    train = np.stack([split.train[i][0] for i in range(len(split.train))])
    np.testing.assert_allclose(train.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=(0, 2, 3)), 1, atol=1e-4)
    raw = ImageFolder(str(tmp_path), image_size=8)
    index = split.test.dataset.indices[0]
    np.testing.assert_allclose(split.preprocess(raw[index][0][None])[0], split.test[0][0],
                               atol=1e-6)
    again = image_folder_split(str(tmp_path), image_size=8, seed=0, augment=False,
                               normalization=(split.preprocessing.mean, split.preprocessing.std))
    np.testing.assert_array_equal(again.test[0][0], split.test[0][0])
    with pytest.raises(ImageError, match="at least 2"):
        one = tmp_path / "one"
        (one / "a").mkdir(parents=True)
        (one / "a" / "x.png").write_bytes((tmp_path / "cats" / "0.png").read_bytes())
        image_folder_split(str(one))


def test_read_image_refuses_what_is_not_an_image_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ImageError, match="not a regular image file"):
        read_image(str(tmp_path / "pipe.png"))
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ImageError, match="cannot read the image"):
        read_image(str(tmp_path / "bad.png"))


def test_shapes_split_preprocesses_its_raw_images():
    split = shapes(n=40, size=8)
    np.testing.assert_allclose(split.preprocess(split.raw_test), split.test.tensors[0].numpy(),
                               atol=1e-6)
