"""Training an SRGAN bundle on tiny synthetic data, and the commands around it: train --scale,
evaluate's figures, sample's refusal."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from explorer.cli import main
from models.checkpoint import load_checkpoint, read_metadata
from models.data import load_dataset, write_idx
from models.generative import build_model
from models.sr_evaluation import upscaler_report_steps
from models.steps import run_to_end
from models.train import TrainOptions, train
from models.upscale import bicubic_upscale, downscale, psnr

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"channels": 8, "blocks": 1, "d_channels": 8}


@pytest.fixture(scope="module")
def bars(tmp_path_factory):
    """Fashion-MNIST-shaped IDX files: class c is a bright bar at row 2c + 4 with a soft edge."""
    folder = tmp_path_factory.mktemp("bars")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 256).astype(np.uint8)
    images = rng.integers(0, 30, (256, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        images[i, 2 * c + 4: 2 * c + 8, 3:25] = 230
        images[i, 2 * c + 3, 3:25] = 120
    for prefix, n in (("train", 256), ("t10k", 64)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images[:n])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels[:n])
    return folder


def test_one_epoch_per_phase_lowers_the_pixel_loss_and_saves_both_weight_sets(bars, tmp_path):
    data = load_dataset(bars, split="train")
    out = tmp_path / "sr.safetensors"
    meta = train(TrainOptions(kind="srgan", epochs=1, batch_size=16, seed=0, device="cpu", arch=SMALL), data, out)
    steps = meta["training"]["step_losses"]
    first_phase = steps["pixel_mse"][:16]            # 256 images / 16 per batch, then the SRGAN phase
    assert np.mean(first_phase[-4:]) < np.mean(first_phase[:4])
    assert len(steps["adversarial"]) == 16 and len(steps["d_loss"]) == 16
    assert meta["training"]["recipe"]["scale"] == 4
    model = load_checkpoint(out)
    assert model.latent_shape == (1, 7, 7) and model.image_shape == (1, 28, 28)
    resnet, gan = model.net.srresnet.state_dict(), model.net.srgan.state_dict()
    assert any(not torch.equal(resnet[k], gan[k]) for k in resnet)   # phase 2 changed the copy
    # the SRResNet beats bicubic on its own training images after one epoch
    truth = data.tensor(np.arange(64))
    low = downscale(truth, 4)
    assert psnr(truth, model.upscaler.upscale(low, 0.0)).mean() > psnr(truth, bicubic_upscale(low, 4)).mean()


def test_cli_train_takes_the_scale_and_refuses_it_for_other_kinds(bars, tmp_path, capsys):
    out = tmp_path / "x2.safetensors"
    code = main(["train", "srgan", "--scale", "2", "--data", str(bars), "--epochs", "1", "--batch-size", "128",
                 "--arch", json.dumps(SMALL), "--out", str(out), "--device", "cpu"])
    assert code == 0
    assert read_metadata(out)["latent_shape"] == [1, 14, 14]
    capsys.readouterr()
    assert main(["train", "vae", "--scale", "2", "--data", str(bars), "--out", str(tmp_path / "v.safetensors")]) == 2
    assert "--scale is the upscaling factor of srgan" in capsys.readouterr().err
    assert main(["train", "srgan", "--scale", "3", "--data", str(bars), "--out", str(tmp_path / "y.safetensors"),
                 "--arch", json.dumps(SMALL)]) == 2      # 28 does not divide by 3
    assert "does not divide" in capsys.readouterr().err


def test_it_trains_on_a_folder_of_colour_pictures(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    out = tmp_path / "rgb.safetensors"
    assert main(["train", "srgan", "--data", str(tmp_path), "--image-size", "16", "--channels", "3", "--scale", "2",
                 "--epochs", "1", "--batch-size", "8", "--arch", json.dumps(SMALL), "--out", str(out),
                 "--device", "cpu"]) == 0
    meta = read_metadata(out)
    assert meta["image_shape"] == [3, 16, 16] and meta["latent_shape"] == [3, 8, 8]
    # no bundled classifier reads 16x16 colour images: the content loss is left out, and says so
    assert meta["training"]["recipe"]["content_features"].startswith("none")
    assert load_checkpoint(out).upscaler.upscale(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)


@pytest.fixture
def sr_file(tmp_path):
    from models.checkpoint import save_checkpoint
    from models.metadata import CheckpointMetadata

    torch.manual_seed(0)
    config = {"image_shape": [1, 28, 28], "scale": 4, **SMALL}
    model = build_model("srgan", config, {})
    with torch.no_grad():          # the SRGAN set adds detail; the SRResNet set stays bicubic
        model.net.srgan.tail.weight.normal_(0, 0.05)
    path = tmp_path / "sr.safetensors"
    save_checkpoint(path, model.net, CheckpointMetadata(name="sr", kind="srgan", architecture="srgan", config=config,
                                                         image_shape=(1, 28, 28), latent_shape=(1, 7, 7)))
    return path


def test_the_report_measures_each_method_against_the_truth(bars, sr_file, tiny_models):
    model, judge = load_checkpoint(sr_file), load_checkpoint(tiny_models["classifier"])
    test = load_dataset(bars, split="test")
    report = run_to_end(upscaler_report_steps(model, judge, test, batch_size=25))
    rows = report["methods"]
    assert report["test_images"] == 64 and set(rows) == {"bicubic", "srresnet", "srgan"}
    truth = test.tensor(np.arange(64))
    expected = psnr(truth, bicubic_upscale(downscale(truth, 4), 4)).mean()
    assert rows["bicubic"]["psnr_db"] == pytest.approx(expected, abs=1e-6)
    # this SRResNet set is untrained: exactly bicubic, so the same figures; the SRGAN set is not
    for key in ("psnr_db", "ssim", "fid"):
        assert rows["srresnet"][key] == pytest.approx(rows["bicubic"][key], abs=1e-5)
    assert rows["srgan"]["psnr_db"] != pytest.approx(rows["bicubic"]["psnr_db"], abs=1e-3)
    assert report["psnr_gain_over_bicubic_db"] == pytest.approx(0, abs=1e-5)
    assert all(0 <= row["classifier_accuracy"] <= 1 and row["fid"] >= 0 for row in rows.values())


def test_cli_evaluate_prints_the_table_and_sample_explains(bars, sr_file, tiny_models, capsys):
    assert main(["evaluate", str(sr_file), "--classifier", str(tiny_models["classifier"]), "--data", str(bars),
                 "--json", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["test_images"] == 64 and report["methods"]["srgan"]["fid"] >= 0
    assert main(["evaluate", str(sr_file), "--classifier", str(tiny_models["classifier"]), "--data", str(bars),
                 "--device", "cpu", "--write"]) == 0
    assert "SRResNet (blend 0)" in capsys.readouterr().out
    stored = read_metadata(sr_file)["metrics"]
    assert stored["bicubic_psnr_db"] == pytest.approx(report["methods"]["bicubic"]["psnr_db"])
    assert main(["sample", str(sr_file), str(sr_file.with_suffix(".png"))]) == 2
    assert "is an upscaler: it makes no samples" in capsys.readouterr().err
    assert not sr_file.with_suffix(".png").exists()
