"""GIF / filmstrip export and the interpolation path behind it (no Qt)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.export import (ExportCancelled, ExportError, ExportExistsError, filmstrip_array, frame_duration_ms,
                             frame_order, read_gif_settings, write_filmstrip, write_gif)
from explorer.jobs.interpolation import (Endpoint, PathSettings, analyse_path, decode_path, export_path,
                                         export_steps, jump_frames, path_labels, path_latents,
                                         resolve_settings)
from models.checkpoint import open_model
from models.data import write_idx


def gif_frames(path) -> tuple[list[np.ndarray], list[int], dict]:
    with Image.open(path) as im:
        info = dict(im.info)
        frames, durations = [], []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
            durations.append(im.info.get("duration"))
    return frames, durations, info


def ramp_frames(n: int, h: int = 6, w: int = 5) -> np.ndarray:
    """n distinct grayscale frames (frame i is filled with a value that depends on i)."""
    base = np.arange(h * w, dtype=np.uint8).reshape(h, w)
    return np.stack([(base + 17 * i).astype(np.uint8) for i in range(n)])


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def out(tmp_path):
    """An empty folder for outputs (tmp_path itself also holds the test's config folder)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# -- the GIF writer ------------------------------------------------------------------------------

def test_gif_has_requested_frames_duration_loop_and_scale(tmp_path):
    frames = ramp_frames(7)
    out = write_gif(tmp_path / "a.gif", frames, fps=20, scale=3, loop=True)
    got, durations, info = gif_frames(out)
    assert len(got) == 7
    assert durations == [50] * 7
    assert info["loop"] == 0
    for i, frame in enumerate(got):
        assert frame.shape == (18, 15, 3)
        # nearest upscale: each source pixel becomes a 3x3 block of the same value
        assert np.array_equal(frame[::3, ::3, 0], frames[i])
        assert np.array_equal(frame[1::3, 2::3, 1], frames[i])


def test_gif_without_loop_plays_once_and_keeps_identical_frames(tmp_path):
    frames = np.concatenate([ramp_frames(2), ramp_frames(2)[-1:], ramp_frames(2)[-1:]])  # 2 repeats
    out = write_gif(tmp_path / "once.gif", frames, fps=4, loop=False)
    got, durations, info = gif_frames(out)
    assert len(got) == 4          # identical consecutive frames are not merged
    assert "loop" not in info
    assert durations == [frame_duration_ms(4)] * 4 == [250] * 4


def test_pingpong_plays_back_without_repeating_the_ends(tmp_path):
    frames = ramp_frames(5)
    assert frame_order(5, True) == [0, 1, 2, 3, 4, 3, 2, 1]
    assert frame_order(2, True) == [0, 1]
    got, _, _ = gif_frames(write_gif(tmp_path / "pp.gif", frames, pingpong=True))
    assert [int(np.argmax([np.array_equal(g[..., 0], f) for f in frames])) for g in got] == frame_order(5, True)


def test_rgb_frames_keep_their_colours(tmp_path):
    colours = np.array([[255, 0, 0], [0, 128, 255], [20, 200, 40], [250, 250, 250]], np.uint8)
    rng = np.random.default_rng(1)
    frames = colours[rng.integers(0, 4, (3, 4, 4))]        # (3, 4, 4, 3), four colours in all
    got, _, _ = gif_frames(write_gif(tmp_path / "rgb.gif", frames))
    assert all(np.array_equal(g, f) for g, f in zip(got, frames))


def test_gif_comment_carries_settings(tmp_path):
    settings = {"model": "vae", "keyframes": [{"latent": [0.1, -2.5]}], "frames": 3}
    out = write_gif(tmp_path / "s.gif", ramp_frames(3), settings=settings)
    assert read_gif_settings(out) == settings
    plain = tmp_path / "plain.gif"
    Image.fromarray(ramp_frames(1)[0]).save(plain)
    assert read_gif_settings(plain) is None
    junk = tmp_path / "junk.gif"
    junk.write_bytes(b"GIF89a not really")
    with pytest.raises(ExportError):
        read_gif_settings(junk)


def test_cancelling_leaves_no_file(out):
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(ExportCancelled):
        write_gif(out / "c.gif", ramp_frames(10), cancelled=cancelled)
    assert len(asked) == 4        # asked before every frame, stopped at the fourth
    assert leftovers(out) == []


def test_failure_in_progress_callback_leaves_existing_file_untouched(out):
    target = out / "keep.gif"
    target.write_bytes(b"old")

    def progress(done: int, total: int) -> None:
        if done == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_gif(target, ramp_frames(5), overwrite=True, progress=progress)
    assert target.read_bytes() == b"old"
    assert leftovers(out) == ["keep.gif"]


def test_existing_file_is_not_overwritten_without_permission(tmp_path):
    target = tmp_path / "x.gif"
    target.write_bytes(b"mine")
    with pytest.raises(ExportExistsError):
        write_gif(target, ramp_frames(2))
    assert target.read_bytes() == b"mine"
    write_gif(target, ramp_frames(2), overwrite=True)
    assert len(gif_frames(target)[0]) == 2


def test_bad_input_is_a_clear_error(out):
    with pytest.raises(ExportError, match="uint8"):
        write_gif(out / "f.gif", np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ExportError, match="scale"):
        write_gif(out / "f.gif", ramp_frames(2), scale=0)
    with pytest.raises(ExportError, match="does not exist"):
        write_gif(out / "missing" / "f.gif", ramp_frames(2))
    assert leftovers(out) == []


def test_filmstrip_tiles_frames_and_keeps_settings(tmp_path):
    frames = ramp_frames(5, 3, 4)
    strip = filmstrip_array(frames, scale=2, columns=3, gap=1)
    assert strip.shape == (2 * 6 + 1, 3 * 8 + 2, 1)
    assert np.array_equal(strip[7:13, 9:17, 0][::2, ::2], frames[4])    # row 1, column 1
    out = write_filmstrip(tmp_path / "strip.png", frames, scale=2, settings={"frames": 5})
    with Image.open(out) as im:
        assert im.size == (5 * 8 + 4 * 2, 6)
    assert read_gif_settings(out) == {"frames": 5}


# -- the path ------------------------------------------------------------------------------------

def settings_for(source, model, keyframes, **kw) -> PathSettings:
    return PathSettings(str(source), model.name, tuple(model.latent_shape), tuple(keyframes), **kw)


@pytest.mark.parametrize("name, slerp", [("vae", False), ("dcgan", True), ("gan-mlp", True)])
def test_first_and_last_frames_are_direct_decodes(tiny_models, name, slerp):
    model = open_model(tiny_models[name])
    settings = resolve_settings(model, settings_for(tiny_models[name], model,
                                                    [Endpoint("seed", seed=3), Endpoint("seed", seed=9)],
                                                    frames=9, slerp=slerp))
    images, frames = decode_path(model, settings, chunk=4)
    a = model.decode(model.sample_latent(1, 3))
    b = model.decode(model.sample_latent(1, 9))
    assert images.shape == (9, *model.image_shape)
    torch.testing.assert_close(images[0:1], a, rtol=0, atol=1e-6)
    torch.testing.assert_close(images[-1:], b, rtol=0, atol=1e-6)
    assert frames.dtype == np.uint8 and frames.shape == (9, 28, 28, 1)
    assert not torch.allclose(images[4], a[0])


def test_class_changes_along_a_conditional_path(tiny_models):
    model = open_model(tiny_models["cgan"])
    settings = resolve_settings(model, settings_for(tiny_models["cgan"], model,
                                                    [Endpoint("seed", seed=1, label=2), Endpoint("seed", seed=1, label=7)],
                                                    frames=5))
    labels = path_labels(settings, 10)
    assert labels.shape == (5, 10)
    assert labels[0, 2] == 1 and labels[-1, 7] == 1
    assert labels[2, 2] == pytest.approx(0.5) and labels[2, 7] == pytest.approx(0.5)
    images, _ = decode_path(model, settings)
    z = model.sample_latent(1, 1)
    torch.testing.assert_close(images[0:1], model.decode(z, torch.tensor([2])), rtol=0, atol=1e-6)
    torch.testing.assert_close(images[-1:], model.decode(z, torch.tensor([7])), rtol=0, atol=1e-6)
    # same latent everywhere: only the class moves the picture
    assert (images[0] - images[-1]).abs().max() > 1e-4


def test_slerp_keeps_the_norm_between_the_endpoints_while_lerp_shrinks_it(tiny_models):
    keys = [Endpoint("latent", latent=tuple(torch.randn(512, generator=torch.Generator().manual_seed(s)).tolist()))
            for s in (0, 1)]
    spec = PathSettings("x", "x", (512,), tuple(keys), frames=11, slerp=True)
    spherical = path_latents(spec).norm(dim=1)
    linear = path_latents(PathSettings("x", "x", (512,), tuple(keys), frames=11, slerp=False)).norm(dim=1)
    lo, hi = sorted((float(spherical[0]), float(spherical[-1])))
    assert all(lo - 1e-3 <= float(n) <= hi + 1e-3 for n in spherical)
    # two independent Gaussian vectors are nearly orthogonal: lerp's midpoint is ~1/sqrt(2) as long
    assert float(linear[5]) < 0.8 * lo
    assert float(linear[5]) == pytest.approx(math.sqrt((lo ** 2 + hi ** 2) / 4), rel=0.1)
    # nearly parallel endpoints: the great circle is undefined and slerp falls back to lerp
    a = torch.tensor(keys[0].latent)
    parallel = (Endpoint("latent", latent=tuple(a.tolist())), Endpoint("latent", latent=tuple((2 * a).tolist())))
    both = [path_latents(PathSettings("x", "x", (512,), parallel, frames=5, slerp=s)) for s in (True, False)]
    torch.testing.assert_close(both[0], both[1])


def test_settings_json_round_trip_is_exact(tiny_models):
    model = open_model(tiny_models["cvae"])
    settings = resolve_settings(model, settings_for(
        tiny_models["cvae"], model,
        [Endpoint("seed", seed=5, label=1), Endpoint("latent", latent=(0.1, 1e-8, -3.3333333, 7.0), label=4,
                                                     note="bookmark 'x'"),
         Endpoint("seed", seed=6, label=9)], frames=12, slerp=False, fps=8.0, scale=5, loop=False, pingpong=True))
    restored = PathSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert restored == settings
    assert np.array_equal(np.asarray(restored.keyframes[1].latent, np.float32),
                          np.asarray([0.1, 1e-8, -3.3333333, 7.0], np.float32))
    assert restored.keyframes[1].note == "bookmark 'x'"
    with pytest.raises(ValueError, match="must hold 5 finite numbers"):
        PathSettings.from_dict({**settings.to_dict(), "latent_shape": [5]})
    with pytest.raises(ValueError, match="frames"):
        PathSettings.from_dict({**settings.to_dict(), "frames": 1})


def test_restoring_from_a_gif_reproduces_the_path(tiny_models, tmp_path):
    source = tiny_models["cgan"]
    model = open_model(source)
    settings = settings_for(source, model, [Endpoint("seed", seed=2, label=0), Endpoint("seed", seed=4, label=0),
                                            Endpoint("seed", seed=8, label=3)], frames=6, slerp=True, fps=10, scale=2)
    result = export_path(settings, tmp_path / "p.gif", model_fn=lambda: model)
    assert result.frames == 6
    restored = PathSettings.from_dict(read_gif_settings(tmp_path / "p.gif"))
    first = resolve_settings(model, settings)
    assert restored == first
    _, again = decode_path(model, resolve_settings(model, restored))
    _, original = decode_path(model, first)
    assert np.array_equal(again, original)
    gif, durations, _ = gif_frames(tmp_path / "p.gif")
    assert durations == [100] * 6
    assert all(np.array_equal(g[::2, ::2, 0], f[..., 0]) for g, f in zip(gif, original))


def test_export_cancelled_mid_way_leaves_no_file(tiny_models, out):
    model = open_model(tiny_models["vae"])
    settings = settings_for(tiny_models["vae"], model, [Endpoint("seed", seed=0), Endpoint("seed", seed=1)], frames=8)
    steps = export_steps(settings, out / "c.gif", model_fn=lambda: model)
    next(steps)
    next(steps)
    steps.close()           # as the worker stops a cancelled export between two steps
    assert leftovers(out) == []


def test_encoded_endpoints_and_analysis(tiny_models, tmp_path):
    # a small stand-in for Fashion-MNIST: one of its training images is the path's first frame
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (430, 28, 28), dtype=np.uint8)
    model = open_model(tiny_models["vae"])
    settings = resolve_settings(model, settings_for(tiny_models["vae"], model,
                                                    [Endpoint("seed", seed=0), Endpoint("seed", seed=1)], frames=4))
    decoded, frames = decode_path(model, settings)
    data = tmp_path / "data"
    data.mkdir()
    train = images.copy()
    order = np.random.default_rng(0).permutation(len(train))
    train[order[0]] = frames[0, ..., 0]           # lands in the reference subsample
    for split, x in (("train", train), ("t10k", images[:5])):
        write_idx(data / f"{split}-images-idx3-ubyte.gz", x)
        write_idx(data / f"{split}-labels-idx1-ubyte.gz", (np.arange(len(x)) % 10).astype(np.uint8))
    classifier = open_model(tiny_models["classifier"])
    analysis = analyse_path(decoded, classifier, str(data))
    assert analysis.classes.shape == (4,) and set(analysis.classes) <= set(range(10))
    assert np.all((analysis.confidence > 0.1 - 1e-6) & (analysis.confidence <= 1))
    assert analysis.distances[0] < 2 / 255          # the training copy (uint8 rounding only)
    assert analysis.distances[1] > 0.01
    assert analysis.typical_distance > 0.2          # random pictures are far from each other
    assert analysis.notes == ()

    missing = analyse_path(decoded, None, str(tmp_path / "nowhere"))
    assert missing.distances is None and missing.classes is None
    assert any("skipped" in note for note in missing.notes)

    picture = tmp_path / "pic.png"
    Image.fromarray(images[3]).resize((56, 56)).save(picture)
    encoded = resolve_settings(model, settings_for(tiny_models["vae"], model,
                                                   [Endpoint("image", path=str(picture)),
                                                    Endpoint("dataset", index=2)], frames=3), data_dir=str(data))
    x = torch.from_numpy(images[2]).float().div(255)[None, None]
    assert np.allclose(encoded.keyframes[1].latent, model.encoder.encode(x)[0].numpy(), atol=1e-6)
    assert encoded.keyframes[0].note == "image pic.png"
    gan = open_model(tiny_models["dcgan"])
    with pytest.raises(ValueError, match="no encoder"):
        resolve_settings(gan, settings_for(tiny_models["dcgan"], gan, [Endpoint("dataset", index=0),
                                                                        Endpoint("seed", seed=0)]))


def test_jump_markers():
    d = np.array([0.10, 0.11, 0.12, 0.30, 0.31, 0.20, 0.45])
    assert jump_frames(d, typical=0.25) == (3, 6)
    assert jump_frames(np.array([0.1, 0.12, 0.14, 0.16]), typical=0.25) == ()
    assert jump_frames(d, typical=None) == ()


def test_long_filmstrip_wraps_into_rows(tiny_models, out):
    model = open_model(tiny_models["vae"])
    settings = settings_for(tiny_models["vae"], model, [Endpoint("seed", seed=0), Endpoint("seed", seed=1)],
                            frames=18, scale=1)
    result = export_path(settings, out / "long.png", kind="png", model_fn=lambda: model)
    assert result.frames == 18
    with Image.open(out / "long.png") as im:
        assert im.size == (16 * 28 + 15 * 2, 2 * 28 + 2)
    assert PathSettings.from_dict(read_gif_settings(out / "long.png")).frames == 18


# -- a read-only or full disk ------------------------------------------------------------------

def _fail_in(folder, code: int, monkeypatch, *, writes_after: int | None = None) -> None:
    """Makes `folder` act like a read-only file system (writes_after=None: nothing can be created
    or removed there) or a full disk (the first `writes_after` writes succeed, then ENOSPC)."""
    import builtins
    import errno
    import os

    import explorer.export

    real_open, real_unlink = builtins.open, os.unlink
    inside = lambda p: os.path.dirname(os.path.abspath(p)) == str(folder)  # noqa: E731

    def unlink(p, *args, **kwargs):
        if writes_after is None and inside(p):
            raise OSError(code, os.strerror(code), str(p))
        return real_unlink(p, *args, **kwargs)

    class Full:
        def __init__(self, f):
            self.f, self.left = f, writes_after

        def write(self, data):
            if self.left == 0:
                raise OSError(code, os.strerror(code))
            self.left -= 1
            return self.f.write(data)

        def writelines(self, lines):
            for line in lines:
                self.write(line)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def open_(p, mode="r", *args, **kwargs):
        if inside(p) and ("x" in mode or "w" in mode):
            if writes_after is None:
                raise OSError(code, os.strerror(code), str(p))
            return Full(real_open(p, mode, *args, **kwargs))
        return real_open(p, mode, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(explorer.export, "open", open_, raising=False)
    assert errno.errorcode[code]


def test_a_read_only_folder_is_one_clear_export_error(out, monkeypatch):
    import errno

    target = out / "x.gif"
    _fail_in(out, errno.EROFS, monkeypatch)
    for write in (lambda: write_gif(target, ramp_frames(3)), lambda: write_filmstrip(out / "x.png", ramp_frames(3))):
        with pytest.raises(ExportError) as caught:
            write()
        message = str(caught.value)
        assert "Read-only file system" in message and "choose a folder you can write to" in message
    assert leftovers(out) == []


def test_a_really_read_only_folder(out):
    import os

    out.chmod(0o555)
    try:
        if os.access(out, os.W_OK):
            pytest.skip("this user writes into read-only folders (root)")
        with pytest.raises(ExportError, match="Permission denied.*nothing was written"):
            write_gif(out / "x.gif", ramp_frames(3))
    finally:
        out.chmod(0o755)
    assert leftovers(out) == []


def test_a_full_disk_mid_export_is_an_export_error_and_leaves_nothing(out, monkeypatch):
    import errno

    target = out / "keep.gif"
    target.write_bytes(b"old")
    _fail_in(out, errno.ENOSPC, monkeypatch, writes_after=3)
    with pytest.raises(ExportError, match="No space left on device.*free some space"):
        write_gif(target, ramp_frames(8), overwrite=True)
    with pytest.raises(ExportError, match="No space left on device"):
        write_filmstrip(out / "strip.png", ramp_frames(8), scale=8)
    assert target.read_bytes() == b"old"
    assert leftovers(out) == ["keep.gif"]
