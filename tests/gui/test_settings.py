"""Settings, the recent list and the config folder read as a stranger may have written them:
every value is checked on read, a bad one gives its default with one warning."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings

from explorer.settings import (MAX_SETTINGS_BYTES, SETTINGS_FILE, add_recent_file, open_qsettings, recent_files,
                               setting, settings_problems)

MAX_SEED = 2**31 - 1


def ini(isolated_config, text: str) -> QSettings:
    """The settings a fresh start reads from an INI file of this text."""
    (isolated_config / SETTINGS_FILE).write_text(text, encoding="utf-8")
    return open_qsettings()


@pytest.mark.parametrize("text, default, kind, bounds", [
    ("seed=abc", 0, int, (0, MAX_SEED)),
    ("seed=" + "9" * 40, 0, int, (0, MAX_SEED)),
    ("seed=" + "9" * 5000, 0, int, None),
    ("seed=-1", 0, int, (0, MAX_SEED)),
    ("seed=2.5", 0, int, None),
    ("seed=true", 0, int, None),
    ("seed=1, 2", 0, int, None),              # INI text that reads back as a list
    ("seed=nan", 3.0, float, (0.5, 10.0)),
    ("seed=inf", 3.0, float, None),
    ("seed=1e999", 3.0, float, None),
    ("seed=abc", 3.0, float, None),
    ("seed=11", 3.0, float, (0.5, 10.0)),
    ("seed=maybe", True, bool, None),
    ("seed=2", False, bool, None),
    ("seed=@ByteArray(xy)", "dims", str, None),
    ("seed=" + "x" * 5000, "dims", str, None),
    ("seed=spline", "dims", str, None),       # with choices below
])
def test_a_bad_value_gives_the_default_with_one_warning(isolated_config, caplog, text, default, kind, bounds):
    settings = ini(isolated_config, "[compare]\nleft\\" + text + "\n")
    choices = ("dims", "pca") if text == "seed=spline" else None
    with caplog.at_level(logging.WARNING):
        for _ in range(3):                    # the views read a value more than once
            assert setting(settings, "compare/left/seed", default, kind, bounds, choices=choices) == default
    warnings = [r for r in caplog.records if "compare/left/seed" in r.getMessage()]
    assert len(warnings) == 1 and "not valid" in warnings[0].getMessage()
    assert any("compare/left/seed" in p for p in settings_problems())


@pytest.mark.parametrize("text, default, kind, bounds, expected", [
    ("seed=42", 0, int, (0, MAX_SEED), 42),
    (f"seed={MAX_SEED}", 0, int, (0, MAX_SEED), MAX_SEED),
    ("seed=-3", 0, int, None, -3),
    ("seed=2.5", 3.0, float, (0.5, 10.0), 2.5),
    ("seed=4", 3.0, float, None, 4.0),
    ("seed=false", True, bool, None, False),
    ("seed=true", False, bool, None, True),
    ("seed=pca", "dims", str, None, "pca"),
])
def test_a_good_value_is_read_as_its_type(isolated_config, caplog, text, default, kind, bounds, expected):
    settings = ini(isolated_config, "[compare]\nleft\\" + text + "\n")
    with caplog.at_level(logging.WARNING):
        value = setting(settings, "compare/left/seed", default, kind, bounds, choices=None)
    assert value == expected and type(value) is type(expected)
    assert not caplog.records


def test_values_written_in_this_session_read_back(isolated_config):
    settings = open_qsettings()
    settings.setValue("window/geometry", QByteArray(b"\x01\x02"))
    settings.setValue("a/int", 7)
    settings.setValue("a/flag", True)
    assert setting(settings, "missing", 5) == 5
    assert setting(settings, "a/int", 0) == 7 and setting(settings, "a/flag", False) is True
    assert setting(settings, "window/geometry", None, QByteArray) == QByteArray(b"\x01\x02")
    assert setting(settings, "a/int", None, QByteArray) is None


def test_a_settings_file_far_too_large_is_set_aside_before_qt_reads_it(isolated_config):
    path = isolated_config / SETTINGS_FILE
    path.write_bytes(b"[a]\nb=" + b"x" * (MAX_SETTINGS_BYTES + 1) + b"\n")
    settings = open_qsettings()
    assert setting(settings, "a/b", "none") == "none"
    assert not path.exists() and len(list(isolated_config.glob("settings.unusable-*.ini"))) == 1


def test_a_damaged_recent_list_reads_as_empty_whatever_it_holds(isolated_config):
    recent = isolated_config / "recent.json"
    for text in ("[" * 100_000 + "]" * 100_000, "[" + "9" * 5000 + "]", '{"a": 1}', "[\"\\u0000x\"]"):
        recent.write_text(text, encoding="utf-8")
        assert recent_files() == []
    recent.write_text(json.dumps(["/models/a.safetensors", 5, None, "x" * 10_000, "/models/b.pt"]))
    assert recent_files() == ["/models/a.safetensors", "/models/b.pt"]


def test_a_symlink_loop_goes_into_the_recent_list_without_an_error(isolated_config, tmp_path):
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(tmp_path / "loop.safetensors")
    assert add_recent_file(loop)[0] == str(loop)


def test_without_an_override_the_config_folder_is_the_platforms(monkeypatch, tmp_path):
    import platformdirs

    from explorer.settings import CONFIG_ENV_VAR, config_dir

    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == tmp_path / "xdg" / "latent-explorer"
    assert config_dir() == Path(platformdirs.user_config_dir("latent-explorer", appauthor=False))
