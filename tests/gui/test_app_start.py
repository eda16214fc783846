"""The app always starts: hostile or broken files of its own (settings, bookmarks, the recent list)
and a --model that cannot be resolved give a message, never a crash; warnings stay on screen until
the user dismisses them."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QFrame

from explorer.cli import main
from explorer.context import AppContext
from explorer.views.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot, tiny_models, isolated_config):
    (isolated_config / "bookmarks.json").write_text("{corrupt", encoding="utf-8")
    context = AppContext(device="cpu", bundled={"vae": tiny_models["vae"], "dcgan": tiny_models["dcgan"]})
    w = MainWindow(context)
    qtbot.addWidget(w)
    yield w
    w.close()


def test_a_warning_stays_until_dismissed_and_a_model_error_goes_when_a_model_opens(qtbot, window, tmp_path):
    banner = window.banner
    assert banner.messages() == [(window.context.bookmarks.warning, False)]
    with qtbot.waitSignal(window.context.model_opened, timeout=10000):
        window.open_model("vae")
    qtbot.wait(300)                              # the window's own refreshes after opening
    assert banner.messages() == [(window.context.bookmarks.warning, False)] and banner.isVisibleTo(window)

    bad = tmp_path / "bad.safetensors"
    bad.write_text("nonsense")
    with qtbot.waitSignal(window.context.model_failed, timeout=10000) as failed:
        window.open_model(bad)
    assert banner.messages() == [(failed.args[0], True), (window.context.bookmarks.warning, False)]
    with qtbot.waitSignal(window.context.model_opened, timeout=10000):
        window.open_model("dcgan")
    assert banner.messages() == [(window.context.bookmarks.warning, False)]

    banner.findChild(QFrame, "banner-warning").close_button.click()
    assert banner.messages() == [] and banner.isHidden()


def test_file_text_in_the_banner_is_plain_text(qtbot, window):
    from PySide6.QtCore import Qt

    markup = "<img src='/etc/passwd'><h1>Spoofed</h1> model"
    window.banner.show_text(markup, error=True)
    label = window.banner.findChild(QFrame, "banner-error").label
    assert label.text() == markup and label.textFormat() == Qt.TextFormat.PlainText
    # as plain text the tags take room; as markup they would vanish into a picture and a heading
    assert label.sizeHint().width() >= label.fontMetrics().horizontalAdvance("<img src='/etc/passwd'>")


def screenshot(tmp_path, *extra: str) -> tuple[int, Path]:
    """A screenshot run on the user's own settings and files (those are what these tests break)."""
    out = tmp_path / "shot.png"
    return main(["--screenshot", str(out), "--device", "cpu", "--keep-settings", *extra]), out


def test_the_app_starts_with_a_bookmarks_file_nested_100000_deep(qtbot, isolated_config, tmp_path):
    (isolated_config / "bookmarks.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (isolated_config / "recent.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    rc, out = screenshot(tmp_path)
    assert rc == 0 and np.asarray(Image.open(out)).std() > 10
    assert len(list(isolated_config.glob("bookmarks.corrupt-*.json"))) == 1


def test_the_app_starts_with_a_corrupt_bookmarks_file_it_cannot_move(qtbot, isolated_config, tmp_path, monkeypatch):
    (isolated_config / "bookmarks.json").write_text("{corrupt", encoding="utf-8")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(shutil, "move", read_only)
    rc, out = screenshot(tmp_path)
    assert rc == 0 and out.is_file()
    assert (isolated_config / "bookmarks.json").read_text() == "{corrupt"


def test_a_model_that_is_a_symlink_loop_is_a_message_and_a_nonzero_exit(qtbot, tmp_path, capsys):
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(tmp_path / "loop.safetensors")
    rc, out = screenshot(tmp_path, "--model", str(loop))
    err = capsys.readouterr().err
    assert rc == 1 and "symbolic link that loops" in err and "Traceback" not in err
    assert out.is_file()                         # the window, with the message, is still pictured


@pytest.mark.parametrize("load_s", [0, 5], ids=["quick-load", "worker-still-loading"])
def test_a_window_that_cannot_be_built_stops_the_worker_before_the_error(tmp_path, load_s):
    """Any start-up error is a traceback and exit 1, not an abort (134) with the thread running,
    also when the worker is still loading the first model and cannot stop in time."""
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        import models.checkpoint
        import explorer.views.main_window as main_window
        def broken(self, context):
            raise ValueError("a view could not be built")
        main_window.MainWindow.__init__ = broken
        opened = models.checkpoint.open_model
        def slow_open(*args, **kwargs):
            time.sleep({load_s})
            return opened(*args, **kwargs)
        models.checkpoint.open_model = slow_open
        from explorer.cli import main
        sys.exit(main(sys.argv[1:]))
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               LATENT_EXPLORER_CONFIG=str(tmp_path / "config"))
    done = subprocess.run([sys.executable, str(script), "--screenshot", str(tmp_path / "x.png"), "--device", "cpu"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "a view could not be built" in done.stderr and "QThread" not in done.stderr


def test_the_app_starts_with_settings_that_are_not_numbers(qtbot, isolated_config, tmp_path):
    (isolated_config / "settings.ini").write_text(
        "[compare]\nleft\\seed=abc\nleft\\extent=abc\nleft\\tab=abc\nright\\seed=" + "9" * 40 + "\n", encoding="utf-8")
    rc, out = screenshot(tmp_path, "--view", "compare")
    assert rc == 0 and out.is_file()


def test_without_a_display_the_app_says_so_and_exits_1(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(PYTHONPATH=str(ROOT), LATENT_EXPLORER_CONFIG=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "explorer"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0]
    assert "--screenshot" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]


def test_a_screenshot_starts_from_defaults_and_waits_for_the_views_work(qtbot, isolated_config, tmp_path,
                                                                      monkeypatch):
    seen = {}

    def save(window, path):
        columns = window.compare_panel.columns.values()
        seen.update(busy=window.context.busy(), maps=[c.latent_map is not None for c in columns],
                    link=window.compare_panel.link_mode())
        window.grab().save(str(path), "PNG")

    monkeypatch.setattr(MainWindow, "save_screenshot", save)
    (isolated_config / "settings.ini").write_text("[compare]\nlink=path\n", encoding="utf-8")
    before = (isolated_config / "settings.ini").read_text(encoding="utf-8")
    out = tmp_path / "shot.png"
    assert main(["--screenshot", str(out), "--device", "cpu", "--view", "compare"]) == 0
    assert seen == {"busy": False, "maps": [True, True], "link": "seed"}     # the default link, all drawn
    assert (isolated_config / "settings.ini").read_text(encoding="utf-8") == before   # left alone


def test_closing_while_a_slow_model_computes_does_not_wait_for_it(tmp_path):
    """A forward pass of 30 s: the window closes (here after the screenshot's timeout) within
    seconds and the process ends cleanly, without waiting for the model or aborting."""
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        import explorer.app as app
        from models.generative import VAEModel
        app.SCREENSHOT_TIMEOUT_S = 1.0
        real = VAEModel._images
        def slow(self, z, labels):
            time.sleep(30)
            return real(self, z, labels)
        VAEModel._images = slow
        from explorer.cli import main
        sys.exit(main(sys.argv[1:]))
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               LATENT_EXPLORER_CONFIG=str(tmp_path / "config"))
    began = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), "--screenshot", str(tmp_path / "x.png"), "--device", "cpu",
                           "--model", "vae"], env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - began
    assert done.returncode == 0, done.stderr
    assert "QThread" not in done.stderr
    assert elapsed < 20, f"took {elapsed:.1f} s"


def test_settings_that_were_reset_are_named_in_a_warning_that_stays(qtbot, isolated_config, tiny_models):
    (isolated_config / "settings.ini").write_text("[compare]\nleft\\seed=abc\n[diffusion]\nsteps=" + "9" * 40 + "\n",
                                                  encoding="utf-8")
    context = AppContext(device="cpu", bundled={"vae": tiny_models["vae"]})
    w = MainWindow(context)
    qtbot.addWidget(w)
    warnings = [text for text, error in w.banner.messages() if not error]
    assert any("compare/left/seed" in text and "diffusion/steps" in text for text in warnings)
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model("vae")
    assert any("compare/left/seed" in text for text, _ in w.banner.messages())     # opening a model keeps it
    w.close()
