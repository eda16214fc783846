"""IDX reading/writing, Fashion-MNIST discovery, picture folders and the dataset dispatch."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models import data
from models.data import (
    DEFAULT_DATA_DIR,
    FASHION_MNIST_CLASSES,
    DataError,
    ImageDataset,
    load_dataset,
    load_fashion_mnist,
    load_image_folder,
    read_idx,
    resolve_data_dir,
    write_idx,
)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    """An empty directory of the test's own (tmp_path also holds the shared config folder)."""
    folder = tmp_path / "t"
    folder.mkdir()
    return folder


def _tiny_fashion(directory: Path, n_train: int = 12, n_test: int = 5, gz: bool = True, seed: int = 0) -> dict:
    """A synthetic Fashion-MNIST directory laid out like Debian's package."""
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        arrays[prefix] = (images, labels)
    return arrays


# -- IDX ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp, name, dtype):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 5, 7)) * 100).astype(dtype)
    path = tmp / name
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == (3, 5, 7)
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    assert [p.name for p in tmp.iterdir()] == [name]  # no temp file left behind


def test_idx_header_layout_is_the_standard_one(tmp):
    write_idx(tmp / "l", np.arange(6, dtype=np.uint8))
    raw = (tmp / "l").read_bytes()
    assert raw[:8] == bytes([0, 0, 0x08, 1, 0, 0, 0, 6])
    assert raw[8:] == bytes(range(6))


def test_gzip_is_detected_by_content_not_suffix(tmp):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp / "a.gz", array)
    (tmp / "a.gz").rename(tmp / "plain-name")
    np.testing.assert_array_equal(read_idx(tmp / "plain-name"), array)
    write_idx(tmp / "b", array)
    (tmp / "b").rename(tmp / "looks.gz")
    np.testing.assert_array_equal(read_idx(tmp / "looks.gz"), array)


def test_bad_magic_is_a_data_error_naming_the_file(tmp):
    path = tmp / "bad-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00\x00\x00\x02" + b"ab")
    with pytest.raises(DataError, match="bad magic") as info:
        read_idx(path)
    assert "bad-idx3-ubyte" in str(info.value)


def test_unknown_type_code_is_a_data_error(tmp):
    path = tmp / "t"
    path.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x00")
    with pytest.raises(DataError, match="magic"):
        read_idx(path)


@pytest.mark.parametrize("cut", [1, 100])
def test_short_file_is_a_data_error(tmp, cut):
    path = tmp / "images"
    write_idx(path, np.zeros((2, 10, 10), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(DataError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_short_gzipped_payload_is_a_data_error(tmp):
    path = tmp / "labels.gz"
    body = bytes([0, 0, 8, 1, 0, 0, 0, 50]) + bytes(10)  # promises 50 labels, holds 10
    path.write_bytes(gzip.compress(body))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_header_cut_short_is_a_data_error(tmp):
    (tmp / "a").write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="too short"):
        read_idx(tmp / "a")
    (tmp / "b").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x01")  # 3 dims, only one given
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp / "b")


def test_trailing_bytes_are_a_data_error(tmp):
    path = tmp / "x"
    write_idx(path, np.zeros(4, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="trailing"):
        read_idx(path)


def test_damaged_gzip_is_a_data_error(tmp):
    path = tmp / "x.gz"
    write_idx(path, np.zeros((4, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)


def test_missing_idx_file_is_a_data_error(tmp):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        read_idx(tmp / "nope")


# -- Fashion-MNIST -----------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_load_fashion_mnist_from_a_synthetic_directory(tmp, gz):
    arrays = _tiny_fashion(tmp, gz=gz)
    train = load_fashion_mnist(tmp, "train")
    test = load_fashion_mnist(tmp, "test")
    assert train.images.shape == (12, 1, 28, 28) and train.images.dtype == np.uint8
    assert test.images.shape == (5, 1, 28, 28)
    assert train.labels.dtype == np.int64 and train.labels.shape == (12,)
    np.testing.assert_array_equal(train.images[:, 0], arrays["train"][0])
    np.testing.assert_array_equal(test.labels, arrays["t10k"][1].astype(np.int64))
    assert train.class_names == FASHION_MNIST_CLASSES and len(train.class_names) == 10
    assert train.has_labels and train.num_classes == 10


def test_dataset_tensors_are_float_in_unit_range(tmp):
    arrays = _tiny_fashion(tmp)
    ds = load_fashion_mnist(tmp)
    x = ds.tensor()
    assert x.dtype == torch.float32 and x.shape == (12, 1, 28, 28)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    torch.testing.assert_close(x[:, 0], torch.from_numpy(arrays["train"][0]).float() / 255)
    assert ds.tensor([3, 1]).shape == (2, 1, 28, 28)
    torch.testing.assert_close(ds.tensor([3])[0], x[3])
    y = ds.labels_tensor()
    assert y.dtype == torch.long and y.tolist() == ds.labels.tolist()
    sub = ds.subset(slice(2, 5))
    assert len(sub) == 3 and sub.class_names == ds.class_names
    np.testing.assert_array_equal(sub.labels, ds.labels[2:5])


def test_image_dataset_rejects_wrong_arrays():
    with pytest.raises(ValueError):
        ImageDataset(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64), [])
    with pytest.raises(ValueError):
        ImageDataset(np.zeros((2, 1, 28, 28), np.uint8), np.zeros(3, np.int64), [])


def test_resolve_data_dir_precedence(tmp, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)
    assert resolve_data_dir(None) == DEFAULT_DATA_DIR == Path("/usr/share/datasets/fashion-mnist")
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp / "env"))
    assert resolve_data_dir(None) == tmp / "env"
    assert resolve_data_dir(tmp / "arg") == tmp / "arg"


def test_env_var_points_the_loader_at_another_directory(tmp, monkeypatch):
    _tiny_fashion(tmp, n_train=3, n_test=2)
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp))
    assert len(load_fashion_mnist(split="test")) == 2
    assert len(load_dataset(None, "train")) == 3


def test_missing_dataset_directory_says_how_to_install_it(tmp, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp / "absent"))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist") as info:
        load_fashion_mnist()
    assert "absent" in str(info.value)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset(None, "train")


def test_missing_split_files_say_which_and_how_to_get_them(tmp):
    write_idx(tmp / "train-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte") as info:
        load_fashion_mnist(tmp, "train")
    assert "apt-get install dataset-fashion-mnist" in str(info.value)
    with pytest.raises(DataError, match="t10k-images"):
        load_fashion_mnist(tmp, "test")


def test_unknown_split_is_a_data_error(tmp):
    _tiny_fashion(tmp)
    with pytest.raises(DataError, match="split"):
        load_fashion_mnist(tmp, "validation")


def test_image_and_label_counts_must_agree(tmp):
    write_idx(tmp / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="3 images but .* 4 labels"):
        load_fashion_mnist(tmp)


def test_labels_outside_the_ten_classes_are_refused(tmp):
    write_idx(tmp / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp / "train-labels-idx1-ubyte", np.array([1, 12], np.uint8))
    with pytest.raises(DataError, match="outside 0..9"):
        load_fashion_mnist(tmp)


# -- picture folders ---------------------------------------------------------------------------

def _save(path: Path, color, size=(40, 30), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_image_folder_with_class_subfolders(tmp):
    _save(tmp / "shoes" / "a.png", (100, 100, 100))
    _save(tmp / "shoes" / "deeper" / "b.jpg", (100, 100, 100), size=(64, 64))
    _save(tmp / "bags" / "c.bmp", (255, 0, 0))
    (tmp / "bags" / "notes.txt").write_text("not a picture")
    ds = load_image_folder(tmp, size=(28, 28), channels=1)
    assert ds.class_names == ["bags", "shoes"]
    assert ds.images.shape == (3, 1, 28, 28) and ds.images.dtype == np.uint8
    assert sorted(ds.labels.tolist()) == [0, 1, 1]
    bag = ds.images[ds.labels == 0][0]
    assert abs(int(bag.mean()) - 76) <= 1  # red in luma: 0.299 * 255
    assert (ds.images[ds.labels == 1] == 100).mean() > 0.95  # jpeg may wobble a little


def test_image_folder_rgb_and_non_square_size(tmp):
    _save(tmp / "x.png", (255, 0, 0))
    _save(tmp / "y.webp", (0, 0, 255), size=(10, 10))
    ds = load_image_folder(tmp, size=(16, 24), channels=3)
    assert ds.images.shape == (2, 3, 16, 24)
    assert ds.class_names == [] and ds.labels.tolist() == [-1, -1] and not ds.has_labels
    red = ds.images[0]
    assert red[0].min() > 250 and red[1].max() < 5 and red[2].max() < 5


def test_image_folder_flattens_transparency_and_reads_gif(tmp):
    _save(tmp / "t.png", (255, 255, 255, 0), mode="RGBA")
    _save(tmp / "g.gif", 200, mode="L")
    ds = load_image_folder(tmp, size=(8, 8))
    images = {p: img for p, img in zip(["g", "t"], ds.images)}  # files are read in sorted order
    assert images["t"].max() == 0  # fully transparent white becomes the black background
    assert abs(int(images["g"].mean()) - 200) <= 1


def test_empty_or_missing_folder_is_a_data_error(tmp):
    with pytest.raises(DataError, match="no pictures"):
        load_image_folder(tmp)
    (tmp / "sub").mkdir()
    (tmp / "sub" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="no pictures"):
        load_image_folder(tmp)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp / "absent")


def test_unreadable_picture_is_a_data_error_naming_it(tmp):
    _save(tmp / "ok.png", (1, 2, 3))
    (tmp / "broken.png").write_bytes(b"not really a png")
    with pytest.raises(DataError, match="broken.png"):
        load_image_folder(tmp)


def test_loose_pictures_beside_class_folders_are_refused(tmp):
    _save(tmp / "cls" / "a.png", (1, 2, 3))
    _save(tmp / "loose.png", (1, 2, 3))
    with pytest.raises(DataError, match="loose"):
        load_image_folder(tmp)


def test_bad_channel_count_is_a_data_error(tmp):
    _save(tmp / "a.png", (1, 2, 3))
    with pytest.raises(DataError, match="channels"):
        load_image_folder(tmp, channels=2)


# -- dispatch ----------------------------------------------------------------------------------

def test_load_dataset_reads_idx_when_present(tmp):
    _tiny_fashion(tmp)
    ds = load_dataset(tmp, "test", (1, 28, 28))
    assert len(ds) == 5 and ds.class_names == FASHION_MNIST_CLASSES


def test_load_dataset_resizes_to_the_requested_shape(tmp):
    _tiny_fashion(tmp, n_train=3)
    ds = load_dataset(tmp, "train", (3, 32, 32))
    assert ds.images.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(ds.images[:, 0], ds.images[:, 2])  # gray copied to RGB
    assert len(ds.labels) == 3


def test_load_dataset_falls_back_to_a_picture_folder(tmp):
    _save(tmp / "a" / "1.png", (10, 10, 10))
    _save(tmp / "b" / "2.png", (20, 20, 20))
    ds = load_dataset(tmp, "train", (1, 12, 12))
    assert ds.images.shape == (2, 1, 12, 12) and ds.class_names == ["a", "b"]


def test_load_dataset_uses_train_and_test_subfolders(tmp):
    _save(tmp / "train" / "1.png", (10, 10, 10))
    _save(tmp / "train" / "2.png", (10, 10, 10))
    _save(tmp / "test" / "3.png", (10, 10, 10))
    assert len(load_dataset(tmp, "train", (1, 8, 8))) == 2
    assert len(load_dataset(tmp, "test", (1, 8, 8))) == 1


def test_load_dataset_on_a_missing_path_is_a_data_error(tmp):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp / "absent", "train", (1, 28, 28))


# -- the real thing ----------------------------------------------------------------------------

@pytest.mark.real_data
def test_real_fashion_mnist_test_split():
    if not DEFAULT_DATA_DIR.is_dir():
        pytest.skip(f"{DEFAULT_DATA_DIR} is absent (apt-get install dataset-fashion-mnist)")
    ds = load_fashion_mnist(DEFAULT_DATA_DIR, "test")
    assert ds.images.shape == (10_000, 1, 28, 28)
    assert ds.labels.shape == (10_000,)
    assert len(ds.class_names) == 10
    assert sorted(set(ds.labels.tolist())) == list(range(10))
    assert np.bincount(ds.labels).tolist() == [1000] * 10  # the test split is balanced
