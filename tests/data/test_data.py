"""Datasets, DataLoader, random_split and the bundled datasets."""
import numpy as np
import pytest

import chainrule
from chainrule.data import DataLoader, Subset, TensorDataset, datasets, random_split
from chainrule.data.split import Preprocessing
from chainrule.errors import ArgumentError, ConfigError, ShapeError


def test_tensor_dataset_and_loader_batches():
    ds = TensorDataset(np.arange(10, dtype=np.float32).reshape(10, 1), np.arange(10))
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 1), (4, 1), (2, 1)]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    with pytest.raises(ShapeError, match="same first dimension"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_shuffle_is_reproducible_from_the_seed_and_differs_per_epoch():
    ds = TensorDataset(np.arange(20))

    def orders():
        chainrule.manual_seed(5)
        loader = DataLoader(ds, batch_size=20, shuffle=True)
        return [b[0].tolist() for b in loader], [b[0].tolist() for b in loader]
    first, second = orders()
    assert orders() == (first, second)
    assert first != second and sorted(first[0]) == list(range(20))


def test_loader_state_dict_restores_the_order():
    loader = DataLoader(TensorDataset(np.arange(30)), batch_size=30, shuffle=True)
    next(iter(loader))
    state = loader.state_dict()
    expected = next(iter(loader))[0].tolist()
    loader.load_state_dict(state)
    assert next(iter(loader))[0].tolist() == expected


def test_generic_dataset_collates_and_transforms():
    class Squares(chainrule.data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i), i * i
    loader = DataLoader(Squares(), batch_size=2, transform=lambda s: (s[0] + 1, s[1]))
    x, y = next(iter(loader))
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [0, 1]


def test_random_split_and_subset():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [7, 3], generator=chainrule.Generator(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted([int(a[i][0].item()) for i in range(7)] +
                  [int(b[i][0].item()) for i in range(3)]) == list(range(10))
    assert len(random_split(ds, [0.5, 0.5])[0]) == 5
    with pytest.raises(ValueError, match="do not add up"):
        random_split(ds, [3, 3])
    assert Subset(ds, [2, 4])[1][0].item() == 4


# the text corpus (tokens, no standardising) has its own tests: tests/data/test_text.py
FEATURE_DATASETS = sorted(name for name in datasets.LOADERS if name != "text")


@pytest.mark.parametrize("name", FEATURE_DATASETS)
def test_bundled_datasets_are_seeded_and_standardised_on_train_only(name):
    a, b = datasets.load(name, seed=1), datasets.load(name, seed=1)
    np.testing.assert_array_equal(a.train.tensors[0].numpy(), b.train.tensors[0].numpy())
    x = a.train.tensors[0].numpy()
    assert x.dtype == np.float32
    if name in ("digits", "breast_cancer", "iris", "wine", "diabetes"):
        np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-4)
        assert abs(a.test.tensors[0].numpy().mean()) > 1e-7   # test set not re-centred
    if a.task == "classification":
        assert a.train.tensors[1].dtype == np.int64
    else:
        assert a.train.tensors[1].shape[1] == 1


def test_unknown_dataset_is_named():
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        datasets.load("nope")


# ---------------------------------------------------------------- preprocessing of raw inputs

@pytest.mark.parametrize("name", FEATURE_DATASETS)
def test_preprocess_turns_raw_test_inputs_into_the_test_split(name):
    split = datasets.load(name, seed=2, **({"n": 40} if name == "shapes" else {}))
    expected = split.test.tensors[0].numpy()
    np.testing.assert_array_equal(split.preprocess(split.raw_test), expected)
    np.testing.assert_array_equal(split.standardize(split.raw_test), expected)
    again = Preprocessing.from_dict(split.preprocessing.to_dict())
    np.testing.assert_array_equal(again(split.raw_test), expected)


def test_digits_raw_pixels_are_divided_by_16_before_standardising():
    split = datasets.digits(seed=0)
    assert split.raw_test.max() == 16 and split.preprocessing.scale == 1 / 16
    images = datasets.digits(seed=0, flat=False)
    assert images.test.tensors[0].shape[1:] == (1, 8, 8)
    np.testing.assert_array_equal(images.preprocess(split.raw_test),
                                  images.test.tensors[0].numpy())
    assert split.class_names == [str(i) for i in range(10)]
    assert datasets.iris().class_names == ["setosa", "versicolor", "virginica"]
    assert datasets.diabetes().class_names is None


def test_preprocessing_checks_what_it_is_given():
    p = Preprocessing((2, 2), mean=[[0.0], [1.0]], std=[[1.0], [2.0]])
    assert p(np.ones((3, 4))).shape == (3, 2, 2)                 # flattened rows accepted
    with pytest.raises(ShapeError, match=r"expected samples of shape \(2, 2\)"):
        p(np.ones((3, 5)))
    bad = [({"raw_shape": [4], "std": [0.0] * 4, "mean": [0.0] * 4}, "std must be positive"),
           ({"raw_shape": [4], "mean": [0.0] * 3, "std": [1.0] * 3}, "does not fit"),
           ({"raw_shape": [4], "mean": [float("nan")] * 4, "std": [1.0] * 4}, "NaN"),
           ({"raw_shape": [4], "mean": [0.0] * 4}, "come together"),
           ({"raw_shape": "abc"}, "raw_shape"), ({"raw_shape": [0]}, "raw_shape"),
           ({"raw_shape": [4], "shape": [5]}, "cannot be reshaped"),
           ({"raw_shape": [4], "scale": float("inf")}, "scale"),
           ({"raw_shape": [4], "scale": True}, "scale"),
           ({"raw_shape": [4], "mean": ["x"] * 4, "std": [1.0] * 4}, "numbers"),
           ({"raw_shape": [4], "extra": 1}, "unknown fields extra"), ({}, "raw_shape"),
           ([1, 2], "expected a dict")]
    for data, message in bad:
        with pytest.raises(ArgumentError, match=message):
            Preprocessing.from_dict(data)
