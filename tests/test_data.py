"""Reading the offline IDX files, normalisation, and the on-device batching."""

from __future__ import annotations

import gzip
import shutil

import pytest
import torch

from conftest import DATA_ROOT
from gan_sweeps.data import (DatasetNotFoundError, TensorBatches, load_split, to_model_range,
                             to_unit_range)

pytestmark = pytest.mark.unit


def test_mnist_train_split_is_the_original_content():
    split = load_split("mnist", DATA_ROOT, train=True)
    assert split.images.shape == (60000, 28, 28) and split.images.dtype == torch.uint8
    assert split.labels[:6].tolist() == [5, 0, 4, 1, 9, 2]
    counts = torch.bincount(split.labels, minlength=10)
    assert counts[0] == 5923 and counts[9] == 5949


def test_fashion_mnist_splits():
    train = load_split("fashion_mnist", DATA_ROOT, train=True)
    test = load_split("fashion_mnist", DATA_ROOT, train=False)
    assert train.labels[:8].tolist() == [9, 0, 0, 3, 0, 2, 7, 2]
    assert torch.bincount(train.labels).tolist() == [6000] * 10
    assert test.images.shape == (10000, 28, 28)


def test_decompressed_files_are_found_too(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        with gzip.open(f"{DATA_ROOT}/MNIST/raw/{stem}.gz", "rb") as src, open(raw / stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    assert load_split("mnist", tmp_path, train=False).labels[:3].tolist() == \
        load_split("mnist", DATA_ROOT, train=False).labels[:3].tolist()


def test_a_set_root_is_the_only_place_looked_at(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_SWEEPS_DATA", DATA_ROOT)  # holds the data, but a set root is never replaced by it
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError) as info:
        load_split("fashion_mnist", tmp_path / "x")
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"data.root={tmp_path / 'x'} holds no FashionMNIST")
    assert DATA_ROOT not in message


def test_the_search_path_is_used_only_without_a_root(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_SWEEPS_DATA", str(tmp_path / "env"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError) as info:
        load_split("fashion_mnist", None)
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "env" / "FashionMNIST" / "raw") in message
    assert str(tmp_path / "data" / "FashionMNIST" / "raw") in message  # then ./data
    monkeypatch.setenv("GAN_SWEEPS_DATA", DATA_ROOT)
    assert len(load_split("fashion_mnist", None, train=False).labels) == 10000


@pytest.mark.parametrize("normalize, low, high", [("tanh", -1.0, 1.0), ("half", -0.5, 0.5), ("none", 0.0, 1.0)])
def test_normalisations_map_0_255_onto_their_range_and_back(normalize, low, high):
    pixels = torch.tensor([[[0, 255], [51, 204]]], dtype=torch.uint8)
    x = to_model_range(pixels, normalize)
    assert x.shape == (1, 1, 2, 2)
    assert x.min().item() == pytest.approx(low) and x.max().item() == pytest.approx(high)
    assert to_unit_range(x, normalize).flatten().tolist() == pytest.approx([0.0, 1.0, 0.2, 0.8])


def test_batches_cover_the_data_once_per_epoch_without_repeats():
    images = torch.arange(10).float().view(10, 1, 1, 1)
    batches = TensorBatches(images, torch.arange(10), batch_size=3, seed=0)
    assert len(batches) == 3  # the last partial batch is dropped
    first = torch.cat([b[1] for b in batches])
    second = torch.cat([b[1] for b in batches])
    assert len(set(first.tolist())) == 9 and first.tolist() != second.tolist()  # reshuffled each epoch
    for x, y in batches:
        assert torch.equal(x.flatten().long(), y)  # images stay paired with their labels


def test_a_set_smaller_than_one_batch_is_one_batch():
    batches = TensorBatches(torch.zeros(5, 1, 2, 2), torch.arange(5), batch_size=64)
    assert len(batches) == 1 and next(iter(batches))[0].shape[0] == 5


def test_ranks_get_disjoint_shards_of_one_permutation():
    kw = dict(batch_size=2, seed=3)
    a = torch.cat([y for _, y in TensorBatches(torch.zeros(8, 1), torch.arange(8), rank=0, world_size=2, **kw)])
    b = torch.cat([y for _, y in TensorBatches(torch.zeros(8, 1), torch.arange(8), rank=1, world_size=2, **kw)])
    assert sorted(a.tolist() + b.tolist()) == list(range(8))
