"""`latent-explorer denoise`: the GIF's frames, the samplers, reproducibility and clean failures."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.jobs.diffusion import DiffusionSettings, GridLayout, run_frames
from models.checkpoint import load_checkpoint, save_checkpoint
from models.generative import build_model

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def short_ddpm(tmp_path_factory):
    """An unconditional DDPM checkpoint with a 12-step schedule: a full DDPM run stays short."""
    config = {"image_shape": [1, 8, 8], "base_channels": 8, "channel_mults": [1], "time_embed_dim": 16}
    meta = {"name": "short", "schedule": {"num_timesteps": 12}}
    torch.manual_seed(0)
    model = build_model("unet-ddpm", config, meta)
    meta.update(kind="ddpm", architecture="unet-ddpm", config=config, image_shape=[1, 8, 8],
                latent_shape=[1, 8, 8], class_names=[], dataset={"name": "none"},
                training={"recipe": {"kind": "untrained"}, "seed": 0, "epochs": 0}, metrics={})
    path = tmp_path_factory.mktemp("short") / "short.safetensors"
    save_checkpoint(path, model.net, meta)
    return path


def frames_of(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("L")))
    return frames


def test_ddim_gif_has_every_kth_step_and_the_last(tiny_models, out, capsys):
    target = out / "run.gif"
    rc = main(["denoise", "--model", str(tiny_models["ddpm"]), "--sampler", "ddim", "--steps", "10", "--every", "4",
               "--seed", "3", "--quiet", str(target)])
    assert rc == 0
    assert f"wrote {target}: 4 frames" in capsys.readouterr().out
    frames = frames_of(target)
    assert len(frames) == 4                     # steps 1, 5, 9 and the last, 10
    # a 28x28 sample enlarged 8x with a caption strip below it
    assert frames[0].shape[1] == 28 * 8 and frames[0].shape[0] > 28 * 8
    # the caption (step number) differs from frame to frame, the strip holds light text pixels
    captions = [f[28 * 8:] for f in frames]
    assert all(c.max() > 200 for c in captions)
    assert len({c.tobytes() for c in captions}) == 4
    assert sorted(p.name for p in out.iterdir()) == ["run.gif"]


def test_last_frame_is_the_final_sample(tiny_models, out):
    target = out / "final.gif"
    assert main(["denoise", "--model", str(tiny_models["ddpm"]), "--device", "cpu", "--steps", "5", "--every", "2", "--seed", "9",
                 "--class", "Sneaker", "--guidance", "1.5", "--quiet", str(target)]) == 0
    model = load_checkpoint(tiny_models["ddpm"])
    s = DiffusionSettings(sampler="ddim", num_steps=5, seed=9, class_index=7, guidance=1.5)
    final = list(run_frames(model, s))[-1].images[0][..., 0]          # (28, 28)
    last = frames_of(target)[-1][:28 * 8, :28 * 8]
    np.testing.assert_array_equal(last[::8, ::8], final)


def test_ddpm_sampler_runs_every_timestep(short_ddpm, out, capsys):
    target = out / "ddpm.gif"
    assert main(["denoise", "--model", str(short_ddpm), "--sampler", "ddpm", "--every", "5", "--batch", "3",
                 "--show", "all", str(target)]) == 0
    captured = capsys.readouterr()
    assert "12/12 steps" in captured.err                # progress on stderr
    frames = frames_of(target)
    assert len(frames) == 4                             # steps 1, 6, 11, 12 of 12
    layout = GridLayout.for_batch(3, (1, 8, 8))
    assert frames[0].shape[1] > 3 * layout.shape[1]     # three grids side by side


def test_eta_zero_runs_are_reproducible(tiny_models, out):
    a, b, c = out / "a.gif", out / "b.gif", out / "c.gif"
    for target, seed in ((a, "4"), (b, "4"), (c, "5")):
        assert main(["denoise", "--model", str(tiny_models["ddpm"]), "--steps", "4", "--eta", "0", "--every", "1",
                     "--seed", seed, "--quiet", str(target)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--sampler", "ddpm", "--steps", "10"], "DDIM sampler only"),
    (["--class", "Spaceship"], "unknown class 'Spaceship'"),
    (["--class", "12"], "class 12 does not exist"),
    (["--batch", "17"], "1 to 16"),
    (["--every", "0"], "argument --every: must be a whole number from 1"),
])
def test_bad_options_fail_cleanly(tiny_models, out, capsys, args, message):
    target = out / "x.gif"
    rc = main(["denoise", "--model", str(tiny_models["ddpm"]), "--quiet", *args, str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert not target.exists()


def test_bad_models_and_paths_fail_cleanly(tiny_models, short_ddpm, out, tmp_path, capsys):
    assert main(["denoise", "--model", str(tiny_models["vae"]), str(out / "x.gif")]) == 2
    assert "not step by step" in capsys.readouterr().err
    assert main(["denoise", "--model", str(tmp_path / "missing.safetensors"), str(out / "x.gif")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["denoise", str(out / "x.gif")]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["denoise", "--model", str(short_ddpm), "--sampler", "ddpm", str(tmp_path / "nope" / "x.gif")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["denoise", "--model", str(short_ddpm), "--class", "1", str(out / "x.gif")]) == 2
    assert "unconditional" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_a_full_disk_is_a_message_and_no_partial_file(tiny_models, out, capsys, monkeypatch):
    import errno
    import os

    from PIL import GifImagePlugin

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(GifImagePlugin, "getdata", full)     # the GIF writer, at its first frame
    target = out / "x.gif"
    rc = main(["denoise", "--model", str(tiny_models["ddpm"]), "--steps", "2", "--quiet", str(target)])
    err = capsys.readouterr().err
    assert rc == 2 and "No space left on device" in err and "Traceback" not in err
    assert list(out.iterdir()) == []
