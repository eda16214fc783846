"""`latent-explorer export-gif`: seeds, bookmarks, classes, options and clean failures."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.export import read_gif_settings
from models.images import to_uint8
from explorer.jobs.interpolation import PathSettings
from models.checkpoint import open_model


def gif(path) -> tuple[list[np.ndarray], dict]:
    with Image.open(path) as im:
        info = dict(im.info)
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("L")))
    return frames, info


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_seeds_to_gif(tiny_models, out, capsys):
    target = out / "seeds.gif"
    rc = main(["export-gif", "--model", str(tiny_models["vae"]), "--from", "3", "--to", "7", "--frames", "5",
               "--fps", "10", "--scale", "2", str(target)])
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    frames, info = gif(target)
    assert len(frames) == 5 and info["duration"] == 100 and info["loop"] == 0
    model = open_model(tiny_models["vae"])
    for index, seed in ((0, 3), (-1, 7)):
        direct = to_uint8(model.decode(model.sample_latent(1, seed)))[0, ..., 0]
        assert np.abs(frames[index][::2, ::2].astype(int) - direct).max() <= 1
    settings = PathSettings.from_dict(read_gif_settings(target))
    assert [k.note for k in settings.keyframes] == ["seed 3", "seed 7"]
    assert settings.frames == 5 and not settings.slerp and settings.scale == 2
    assert list(out.iterdir()) == [target]


def test_bookmarks_slerp_pingpong_no_loop(tiny_models, out):
    from explorer.bookmarks import Bookmark, BookmarkStore

    model = open_model(tiny_models["vae"])
    home = [0.5, -1.0, 2.0, 0.25]
    store = BookmarkStore()
    store.add(Bookmark("home", model.name, home))
    assert store.flush()
    target = out / "marks.gif"
    rc = main(["export-gif", "--model", str(tiny_models["vae"]), "--from", "home", "--via", "4", "--to", "2",
               "--frames", "5", "--slerp", "--pingpong", "--no-loop", "--filmstrip", str(out / "strip.png"),
               str(target)])
    assert rc == 0
    frames, info = gif(target)
    assert len(frames) == 8 and "loop" not in info
    direct = to_uint8(model.decode(torch.tensor([home])))[0, ..., 0]
    assert np.abs(frames[0][::4, ::4].astype(int) - direct).max() <= 1
    settings = PathSettings.from_dict(read_gif_settings(target))
    assert settings.keyframes[0].latent == tuple(home) and settings.keyframes[0].note == "bookmark 'home'"
    assert len(settings.keyframes) == 3 and settings.slerp and settings.pingpong and not settings.loop
    with Image.open(out / "strip.png") as im:
        assert im.size == (5 * 112 + 4 * 2, 112)


def test_classes_by_name_and_index(tiny_models, out):
    target = out / "classes.gif"
    rc = main(["export-gif", "--model", str(tiny_models["cvae"]), "--from", "1", "--to", "1", "--frames", "3",
               "--class", "sneaker", "--to-class", "0", str(target)])
    assert rc == 0
    settings = PathSettings.from_dict(read_gif_settings(target))
    assert [k.label for k in settings.keyframes] == [7, 0]
    frames, _ = gif(target)
    assert not np.array_equal(frames[0], frames[-1])     # same latent, the class moved the picture


@pytest.mark.parametrize("extra, message", [
    (["--from", "nowhere", "--to", "1"], "not a seed or a bookmark"),
    (["--from", "1", "--to", "2", "--frames", "1"], "--frames"),
    (["--from", "1", "--to", "2", "--class", "3"], "conditional"),
    (["--from", "1", "--to", "2", "--fps", "0"], "--fps"),
])
def test_bad_arguments_exit_2_without_a_file(tiny_models, out, capsys, extra, message):
    target = out / "bad.gif"
    rc = main(["export-gif", "--model", str(tiny_models["vae"]), *extra, str(target)])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err
    assert list(out.iterdir()) == []


def test_missing_model_and_existing_output(tiny_models, out, capsys):
    rc = main(["export-gif", "--model", str(out / "missing.safetensors"), "--from", "1", "--to", "2",
               str(out / "x.gif")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    target = out / "exists.gif"
    target.write_bytes(b"mine")
    args = ["export-gif", "--model", str(tiny_models["vae"]), "--from", "1", "--to", "2", "--frames", "3"]
    assert main([*args, str(target)]) == 2
    assert "--force" in capsys.readouterr().err and target.read_bytes() == b"mine"
    assert main([*args, "--force", str(target)]) == 0
    assert len(gif(target)[0]) == 3
    assert main([*args, str(out / "not-a.png")]) == 2


def test_bench_section_reports_the_export(tiny_models):
    from explorer.bench import BenchOptions
    from explorer.bench.interpolation import bench_gif_export, gif_export

    result = bench_gif_export(frames=4, scale=2, model_path=tiny_models["vae"], repeats=1)
    assert result["seconds"] > 0 and result["seconds"] >= result["write_seconds"] > 0
    assert result["frames"] == 4 and result["model"] == "vae"
    section = gif_export(BenchOptions(models=tiny_models["vae"].parent))
    assert section["name"] == "GIF export" and len(section["figures"]) == 3
    assert section["figures"][0]["value"] > 0 and section["figures"][0]["ok"] in (True, False)


def test_a_damaged_bookmarks_file_is_reported_and_seeds_still_work(tiny_models, out, isolated_config, capsys):
    (isolated_config / "bookmarks.json").write_text("[" * 100_000, encoding="utf-8")
    rc = main(["export-gif", "--model", str(tiny_models["vae"]), "--from", "1", "--to", "2", "--frames", "3",
               str(out / "x.gif")])
    err = capsys.readouterr().err
    assert rc == 0 and "bookmarks file could not be read" in err and "Traceback" not in err
