"""Training on a folder of colour pictures at any size, and RGB models through our checkpoint
format."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from models.augment import cutout, diff_augment, translate
from models.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from models.data import load_dataset
from models.train import TrainOptions, standing_statistics, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"vae": '{"base_channels": 8}', "dcgan": '{"g_channels": 8, "d_channels": 8}',
         "ddpm": '{"base_channels": 8, "channel_mults": [1, 2], "time_embed_dim": 16}'}
MAIN_LOSS = {"vae": "loss", "dcgan": "d_loss", "ddpm": "loss"}


@pytest.fixture(scope="module")
def colour_folder(tmp_path_factory) -> Path:
    """256 pictures of 40 x 40 pixels: a red, green or blue disc at a random place on white."""
    folder = tmp_path_factory.mktemp("colour")
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:40, :40]
    for i in range(256):
        image = np.full((40, 40, 3), 255, dtype=np.uint8)
        cy, cx = rng.integers(12, 28, 2)
        image[(rows - cy) ** 2 + (cols - cx) ** 2 < 81] = np.eye(3, dtype=np.uint8)[i % 3] * 230
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return folder


@pytest.mark.parametrize("kind, side", [("dcgan", 64), ("vae", 64), ("ddpm", 32)])
def test_training_on_a_colour_folder_lowers_the_loss_and_writes_an_rgb_model(kind, side, colour_folder, tmp_path,
                                                                           capsys):
    out = tmp_path / f"{kind}.safetensors"
    code = main(["train", kind, "--data", str(colour_folder), "--image-size", str(side), "--channels", "3",
                 "--epochs", "2", "--batch-size", "16", "--arch", SMALL[kind], "--out", str(out),
                 "--device", "cpu", "--bfloat16", "--flip", *(["--latent-dim", "8"] if kind != "ddpm" else [])])
    assert code == 0, capsys.readouterr().err
    meta = read_metadata(out)
    assert meta["image_shape"] == [3, side, side]
    assert meta["dataset"]["size"] == 256 and meta["dataset"]["source"] == str(colour_folder)
    assert meta["training"]["recipe"]["bfloat16_autocast"] and meta["training"]["recipe"]["flip"]
    steps = meta["training"]["step_losses"][MAIN_LOSS[kind]]
    assert len(steps) == 32
    assert np.mean(steps[-6:]) < np.mean(steps[:6])
    model = load_checkpoint(out)
    if model.sampler is not None:
        images = model.sampler.sample(model.sample_latent(2, seed=0), num_steps=2)
    else:
        images = model.decode(model.sample_latent(2, seed=0))
    assert images.shape == (2, 3, side, side)


def test_image_size_and_channels_resize_the_folder(colour_folder):
    data = load_dataset(colour_folder, image_shape=(3, 64, 64))
    assert data.images.shape == (256, 3, 64, 64)
    red = data.images[0].astype(int)
    assert (red[0] - red[1]).max() > 150        # still colour: a red disc


@pytest.mark.parametrize("half", [False, True])
def test_rgb_models_round_trip_through_our_format(colour_folder, tmp_path, half):
    data = load_dataset(colour_folder, image_shape=(3, 64, 64)).subset(slice(0, 64))
    out = tmp_path / "gan.safetensors"
    options = TrainOptions(kind="dcgan", epochs=1, batch_size=16, latent_dim=8, seed=0, device="cpu", half=half,
                           ema_decay=0.9, diff_augment=True, arch={"g_channels": 8, "d_channels": 8})
    trained = train(options, data, out)
    model = load_checkpoint(out)
    assert tuple(model.image_shape) == (3, 64, 64) and trained["image_shape"] == [3, 64, 64]
    again_path = tmp_path / "again.safetensors"
    save_checkpoint(again_path, model.net, read_metadata(out), half=half)
    again = load_checkpoint(again_path)
    for (name, a), b in zip(model.net.state_dict().items(), again.net.state_dict().values()):
        assert torch.equal(a, b), name
    z = model.sample_latent(3, seed=1)
    images = model.decode(z)
    assert images.shape == (3, 3, 64, 64)
    torch.testing.assert_close(again.decode(z), images)
    # the three channels differ: a colour image, not grey copied three times
    assert float((images[:, 0] - images[:, 1]).abs().max()) > 0
    assert read_metadata(out)["training"]["recipe"]["generator_ema_decay"] == 0.9


def test_standing_statistics_are_the_plain_average_of_the_passes():
    norm = torch.nn.BatchNorm1d(2)
    batches = iter([torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([[4.0, 5.0], [6.0, 7.0]])])
    standing_statistics(torch.nn.Sequential(norm), lambda k: (next(batches),), batches=2, batch_size=2)
    torch.testing.assert_close(norm.running_mean, torch.tensor([3.0, 4.0]))   # (1 + 5) / 2, (2 + 6) / 2
    torch.testing.assert_close(norm.running_var, torch.tensor([2.0, 2.0]))    # unbiased variance 2 per pass
    assert norm.momentum == 0.1 and not norm.training


def test_translation_shifts_whole_images_and_fills_with_zeros():
    x = torch.arange(1.0, 17.0).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    shifted = translate(x, torch.Generator().manual_seed(0), ratio=0.25)
    for image in shifted[:, 0]:
        nonzero = image[image != 0]
        # a shift by (dy, dx) in -1..1 keeps a 4 x 4, 3 x 4, 4 x 3 or 3 x 3 block of the original
        assert len(nonzero) in (9, 12, 16)
        found = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                 if torch.equal(image, _shift(x[0, 0], dy, dx))]
        assert len(found) == 1
    assert len({tuple(image.flatten().tolist()) for image in shifted[:, 0]}) == 9   # every shift drawn


def _shift(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(image)
    h, w = image.shape
    for r in range(h):
        for c in range(w):
            if 0 <= r + dy < h and 0 <= c + dx < w:
                out[r, c] = image[r + dy, c + dx]
    return out


def test_cutout_erases_one_square_of_half_the_side_clipped_at_the_edges():
    out = cutout(torch.ones(200, 3, 8, 8), torch.Generator().manual_seed(0))
    erased = out[:, 0] == 0
    assert torch.equal(erased, (out == 0).all(dim=1))                 # the same place in every channel
    counts = erased.sum(dim=(1, 2))
    assert counts.max() == 16 and counts.min() >= 4                    # 4 x 4, or clipped down to 2 x 2
    for mask in erased:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert mask.sum() == len(rows) * len(cols)                    # one rectangle


def test_diff_augment_passes_gradients_through():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    diff_augment(x, torch.Generator().manual_seed(1)).sum().backward()
    assert x.grad is not None and set(x.grad.unique().tolist()) <= {0.0, 1.0} and x.grad.sum() > 0
