"""Bookmarks: saved atomically, read back exactly, damaged files survived; points as text."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from explorer.bookmarks import Bookmark, BookmarkStore, point_from_text, point_to_text
from explorer.context import AppContext
from explorer.views.latent_panel import LatentPanel


def test_bookmarks_round_trip_through_the_file(isolated_config):
    store = BookmarkStore()
    assert store.path.parent == isolated_config
    a = Bookmark("smooth", "vae", [0.1, -2.25, 1e-7, 3.0])
    b = Bookmark("blend", "cgan", [0.5] * 8, label=[0.25, 0.75], psi=0.7)
    c = Bookmark("boot", "cgan", [1.0] * 8, label=9)
    for bookmark in (a, b, c):
        store.add(bookmark)
    assert store.flush()
    again = BookmarkStore()
    assert again.warning is None
    assert again.all() == [a, b, c]
    assert again.for_model("cgan") == [b, c]
    assert again.remove("cgan", "blend") and not again.remove("cgan", "blend")
    assert again.flush()
    assert BookmarkStore().all() == [a, c]
    assert [p.name for p in isolated_config.iterdir() if p.name.endswith(".tmp")] == []


def test_adding_a_name_twice_replaces_the_bookmark(isolated_config):
    store = BookmarkStore()
    store.add(Bookmark("p", "vae", [1.0]))
    store.add(Bookmark("p", "vae", [2.0]))
    store.add(Bookmark("p", "gan", [3.0]))
    assert store.flush()
    assert [b.latent for b in BookmarkStore().all()] == [[2.0], [3.0]]
    assert store.unique_name("vae") == "Point 2"


def test_a_corrupt_bookmarks_file_is_set_aside_with_a_warning(isolated_config):
    path = isolated_config / "bookmarks.json"
    path.write_text('{"format": 1, "bookmarks": [{"name": "half', encoding="utf-8")
    store = BookmarkStore()
    assert store.all() == []
    assert store.warning and "moved to bookmarks.corrupt-" in store.warning
    aside = list(isolated_config.glob("bookmarks.corrupt-*.json"))
    assert len(aside) == 1 and aside[0].read_text().endswith('"half')
    store.add(Bookmark("fresh", "vae", [0.0]))
    assert store.flush()
    assert [b.name for b in BookmarkStore().all()] == ["fresh"]


def test_unreadable_entries_are_skipped_and_the_original_kept(isolated_config):
    path = isolated_config / "bookmarks.json"
    good = Bookmark("ok", "vae", [1.0, 2.0]).to_dict()
    path.write_text(json.dumps({"format": 1, "bookmarks": [good, {"name": "x", "latent": "nope"}]}))
    store = BookmarkStore()
    assert [b.name for b in store.all()] == ["ok"]
    assert "1 bookmark(s) could not be read" in store.warning
    assert len(list(isolated_config.glob("bookmarks.corrupt-*.json"))) == 1


def test_points_as_text_round_trip_exactly():
    latent = [0.1, -1.0 / 3.0, 2.5e-8, -3.0]
    text = point_to_text("cgan", latent, [0.2, 0.8], 0.6)
    point = point_from_text(text)
    assert point == {"model": "cgan", "latent": latent, "label": [0.2, 0.8], "psi": 0.6}
    assert point_from_text("0.5, -1 2e-1")["latent"] == [0.5, -1.0, 0.2]
    assert point_from_text("[1, 2]")["latent"] == [1.0, 2.0]
    for bad in ("", "hello there", '{"model": "vae"}', "[1, NaN]", "[]"):
        with pytest.raises(ValueError):
            point_from_text(bad)


@pytest.fixture
def panel(qtbot, tiny_models):
    context = AppContext(device="cpu", bundled={"cvae": tiny_models["cvae"]})
    p = LatentPanel(context)
    qtbot.addWidget(p)
    p.show()
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model("cvae")
    settle(qtbot, p)
    yield p
    context.shutdown()


def settle(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: panel.shown_id >= panel.last_request_id and panel.last_result is not None,
                    timeout=10000)


def test_saving_and_going_to_a_bookmark_restores_the_point_and_image(qtbot, panel):
    panel.class_controls.combo.setCurrentIndex(4)
    panel.dim_sliders[0].slider.setValue(222)
    settle(qtbot, panel)
    saved_latent, saved_image = panel.latent, np.array(panel.image_view.image())
    panel.transfer.bookmarks.name_edit.setText("my coat")
    panel.transfer.bookmarks.save_button.click()
    assert panel.transfer.bookmarks.names() == ["my coat"]
    assert panel.context.bookmarks.get("cvae", "my coat").label == 4

    panel.randomize()
    settle(qtbot, panel)
    panel.class_controls.combo.setCurrentIndex(1)
    settle(qtbot, panel)
    assert not np.allclose(panel.latent, saved_latent)

    panel.transfer.bookmarks.list.setCurrentRow(0)
    panel.transfer.bookmarks.go_button.click()
    settle(qtbot, panel)
    assert np.allclose(panel.latent, saved_latent) and panel.label == 4
    assert panel.class_controls.combo.currentIndex() == 4
    assert np.array_equal(np.array(panel.image_view.image()), saved_image)

    panel.transfer.bookmarks.delete_button.click()
    assert panel.transfer.bookmarks.names() == []
    assert panel.context.bookmarks.flush()
    assert BookmarkStore().for_model("cvae") == []


def test_copy_and_paste_a_point(qtbot, panel):
    panel.class_controls.blend_check.setChecked(True)
    panel.class_controls.blend_sliders[2].slider.setValue(100)
    panel.dim_sliders[3].slider.setValue(-150)
    settle(qtbot, panel)
    panel.transfer.copy_point()
    copied = QApplication.clipboard().text()
    latent, label = panel.latent, panel.label
    panel.randomize()
    settle(qtbot, panel)
    panel.class_controls.blend_check.setChecked(False)
    assert panel.transfer.paste_point()
    settle(qtbot, panel)
    assert np.allclose(panel.latent, latent) and panel.label == pytest.approx(label)
    assert panel.class_controls.blend_check.isChecked()
    assert copied == panel.transfer.point_text()


def test_pasting_something_that_is_not_a_point_changes_nothing(qtbot, panel):
    before = panel.latent
    messages = []
    panel.context.status.connect(messages.append)
    assert not panel.transfer.paste_point("the quick brown fox")
    assert not panel.transfer.paste_point("[1, 2, 3]")     # cvae has 4 latent dimensions
    assert np.array_equal(panel.latent, before)
    assert any("not a point" in m for m in messages)
    assert any("has 3 numbers" in m for m in messages)


def test_the_panel_says_when_bookmarks_cannot_be_saved(qtbot, isolated_config, monkeypatch):
    import errno
    import os

    import explorer.bookmarks as bookmarks
    from explorer.views.bookmarks_panel import BookmarksPanel

    real_write, failing = bookmarks.atomic_write_text, [True]

    def full_disk(path, text):
        if failing[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, text)

    monkeypatch.setattr(bookmarks, "atomic_write_text", full_disk)
    store = BookmarkStore()
    panel = BookmarksPanel(store)
    qtbot.addWidget(panel)
    panel.set_model("vae")
    store.add(Bookmark("a", "vae", [0.0]))
    qtbot.waitUntil(lambda: "No space left on device" in panel.problem_label.text(), timeout=5000)
    assert not panel.problem_label.isHidden()
    failing[0] = False
    store.add(Bookmark("b", "vae", [0.0]))
    qtbot.waitUntil(lambda: panel.problem_label.isHidden(), timeout=5000)
    assert store.flush()


def test_a_bookmark_named_like_markup_shows_as_text(qtbot, isolated_config):
    from PySide6.QtGui import QTextDocumentFragment

    from explorer.views.bookmarks_panel import BookmarksPanel

    store = BookmarkStore()
    name = "<img src='/etc/x.png'><b>bold</b>"
    store.add(Bookmark(name, "vae", [0.0]))
    panel = BookmarksPanel(store)
    qtbot.addWidget(panel)
    panel.set_model("vae")
    assert panel.names() == [name]
    shown = QTextDocumentFragment.fromHtml(panel.list.item(0).toolTip()).toPlainText()
    assert shown.startswith(name)              # the tooltip shows the markup as it is written


def test_copy_then_randomize_then_paste_through_the_point_menu_comes_back(qtbot, panel):
    panel.dim_sliders[1].slider.setValue(120)
    settle(qtbot, panel)
    latent = panel.latent
    panel.copy_action.trigger()
    panel.randomize_action.trigger()
    settle(qtbot, panel)
    assert not np.allclose(panel.latent, latent)
    panel.paste_action.trigger()          # what Point > Paste point and Ctrl+Shift+V do
    settle(qtbot, panel)
    assert np.allclose(panel.latent, latent)


def test_a_full_bookmarks_file_is_a_message_not_a_crash(qtbot, panel, monkeypatch):
    import explorer.bookmarks as bookmarks

    monkeypatch.setattr(bookmarks, "MAX_BOOKMARKS", len(panel.context.bookmarks.for_model("cvae")))
    messages = []
    panel.context.status.connect(messages.append)
    assert panel.transfer.save_bookmark("one too many") is None
    assert "Could not save the bookmark" in messages[-1]


def test_arithmetic_on_three_bookmarks_goes_to_a_minus_b_plus_c_with_cs_class(qtbot, panel, monkeypatch):
    from explorer.views.arithmetic_dialog import ArithmeticDialog

    points = {}
    for name, seed, label in (("a", 1, 2), ("b", 2, 3), ("c", 3, 7)):
        panel.seed_box.setValue(seed)
        panel.class_controls.combo.setCurrentIndex(label)
        settle(qtbot, panel)
        points[name] = panel.latent
        panel.transfer.bookmarks.name_edit.setText(name)
        panel.transfer.bookmarks.save_button.click()
    box = panel.transfer.bookmarks
    assert box.arithmetic_button.isEnabled()
    dialog = ArithmeticDialog(box._shown())
    assert [b.name for b in dialog.chosen()] == ["a", "b", "c"]     # the first three, in order
    monkeypatch.setattr(ArithmeticDialog, "exec", lambda self: True)
    box.arithmetic_button.click()
    settle(qtbot, panel)
    assert np.allclose(panel.latent, points["a"] - points["b"] + points["c"], atol=1e-6)
    assert panel.label == 7


def test_arithmetic_needs_two_bookmarks(qtbot, panel):
    box = panel.transfer.bookmarks
    assert not box.arithmetic_button.isEnabled()
    box.name_edit.setText("only")
    box.save_button.click()
    assert not box.arithmetic_button.isEnabled()
