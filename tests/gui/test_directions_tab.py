"""The Directions tab with tiny random models: each method is offered where the model has it (and
says why not where it has not), SeFa and class boundaries give sliders that move the point along
what they found, Measure fills a sortable report table, and Walk writes the walk as a GIF."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from explorer.context import AppContext
from explorer.jobs.directions import WALK_FRAMES
from explorer.views.latent_panel import LatentPanel
from models.directions import ATTRIBUTE_KEY, BOUNDARY_KEY, PRINCIPAL_KEY, SEFA_KEY

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_panel(qtbot, tiny_models, names):
    context = AppContext(device="cpu", bundled={n: tiny_models[n] for n in names})
    panel = LatentPanel(context)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    return context, panel


@pytest.fixture
def judged(qtbot, tiny_models):
    context, panel = make_panel(qtbot, tiny_models, ("gan-mlp", "cvae", "ddpm", "classifier"))
    yield context, panel
    context.shutdown()


def open_model(qtbot, context, panel, name):
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model(name)
    qtbot.waitUntil(lambda: panel.last_result is not None and panel.shown_id >= panel.last_request_id,
                    timeout=10000)


def method_states(tab) -> dict[str, tuple[bool, str]]:
    """For each method key: whether its item can be chosen, and its tooltip."""
    combo = tab.method_combo
    from PySide6.QtCore import Qt
    return {combo.itemData(i): (combo.model().item(i).isEnabled(), combo.itemData(i, Qt.ItemDataRole.ToolTipRole))
            for i in range(combo.count())}


def compute(qtbot, panel, method, **choices):
    tab = panel.directions_tab
    panel.mode_tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: not tab.busy, timeout=30000)
    tab.set_method(method)
    for combo_name, value in choices.items():
        combo = getattr(tab, combo_name)
        combo.setCurrentIndex(combo.findData(value))
    with qtbot.waitSignal(tab.computed, timeout=60000):
        tab.button.click()
    return tab.directions


def test_every_method_is_offered_where_the_model_has_it_and_says_why_not_where_not(qtbot, judged):
    context, panel = judged
    tab = panel.directions_tab
    open_model(qtbot, context, panel, "gan-mlp")
    assert all(enabled for enabled, _ in method_states(tab).values())
    open_model(qtbot, context, panel, "ddpm")
    states = method_states(tab)
    assert not states[SEFA_KEY][0] and "many-step sampler" in states[SEFA_KEY][1]
    assert not states[BOUNDARY_KEY][0] and "many-step sampler" in states[BOUNDARY_KEY][1]
    assert not panel.mode_tabs.isTabEnabled(panel.mode_tabs.indexOf(tab))


def test_without_a_classifier_the_supervised_methods_say_they_need_one(qtbot, tiny_models):
    context, panel = make_panel(qtbot, tiny_models, ("gan-mlp",))
    try:
        open_model(qtbot, context, panel, "gan-mlp")
        states = method_states(panel.directions_tab)
        assert states[PRINCIPAL_KEY][0] and states[SEFA_KEY][0]
        for key in (BOUNDARY_KEY, ATTRIBUTE_KEY):
            assert not states[key][0] and "needs a classifier that reads its images" in states[key][1]
        assert not panel.directions_tab.report_button.isEnabled()
    finally:
        context.shutdown()


def test_sefa_directions_are_unit_vectors_and_a_slider_moves_the_point_along_one(qtbot, judged):
    context, panel = judged
    open_model(qtbot, context, panel, "gan-mlp")
    directions = compute(qtbot, panel, SEFA_KEY)
    assert directions.method.startswith("SeFa")
    assert len(panel.dir_sliders) == len(directions) == 8
    assert np.allclose(np.linalg.norm(directions.directions, axis=1), 1.0, atol=1e-4)
    start = panel.latent
    panel.dir_sliders[2].slider.setValue(-100)
    qtbot.waitUntil(lambda: panel.shown_id >= panel.last_request_id, timeout=10000)
    assert np.allclose(panel.latent, start - 1.0 * directions.std[2] * directions.directions[2], atol=1e-5)


def test_a_class_boundary_the_classifier_cannot_find_says_why_and_keeps_the_sliders(qtbot, judged):
    # The tiny classifier's random weights give every image the same class: there is no boundary.
    context, panel = judged
    open_model(qtbot, context, panel, "gan-mlp")
    before = compute(qtbot, panel, SEFA_KEY)
    tab = panel.directions_tab
    tab.set_method(BOUNDARY_KEY)
    tab.towards_combo.setCurrentIndex(tab.towards_combo.findData(7))
    assert tab.spec().towards == 7 and tab.class_form.isVisible()
    with qtbot.waitSignal(tab.channel.result_ready, timeout=60000):
        tab.button.click()
    assert "no boundary towards Sneaker" in tab.note.text()
    assert panel.directions is before and len(panel.dir_sliders) == len(before)
    assert tab.button.isEnabled() and not tab.progress.isVisible()


def test_measure_fills_a_table_that_sorts_by_any_column(qtbot, judged):
    context, panel = judged
    open_model(qtbot, context, panel, "gan-mlp")
    compute(qtbot, panel, SEFA_KEY)
    tab = panel.directions_tab
    assert not panel.report_table.isVisible()
    with qtbot.waitSignal(tab.report_shown, timeout=60000):
        tab.report_button.click()
    table = panel.report_table
    assert table.isVisible() and table.table.rowCount() == len(panel.directions)
    table.sort_by("pixel_change", descending=True)
    changes = [float(text) for text in table.column_values("pixel_change")]
    assert changes == sorted(changes, reverse=True)
    table.sort_by("pixel_change", descending=False)
    assert [float(t) for t in table.column_values("pixel_change")] == sorted(changes)
    compute(qtbot, panel, PRINCIPAL_KEY)          # new directions: the old report no longer applies
    assert not table.isVisible()


def test_walk_writes_a_gif_there_and_back_through_the_current_point(qtbot, judged, tmp_path):
    context, panel = judged
    open_model(qtbot, context, panel, "gan-mlp")
    compute(qtbot, panel, SEFA_KEY)
    out = tmp_path / "walk.gif"
    with qtbot.waitSignal(panel.walks.result_ready, timeout=30000) as blocker:
        assert panel.walk(0, str(out))
    assert blocker.args[0].ok, blocker.args[0].error
    with Image.open(out) as gif:
        frames = gif.n_frames
        size = gif.size
    assert frames == 2 * WALK_FRAMES - 2          # forward, then back without repeating the ends
    assert size == (28 * 4, 28 * 4)


def test_saved_directions_load_back_and_a_file_of_another_model_is_refused(qtbot, judged, tmp_path):
    context, panel = judged
    tab = panel.directions_tab
    open_model(qtbot, context, panel, "gan-mlp")
    saved = compute(qtbot, panel, SEFA_KEY)
    out = tmp_path / "sefa.json"
    with qtbot.waitSignal(tab.files.result_ready, timeout=20000) as blocker:
        assert tab.save(str(out))
    assert blocker.args[0].ok, blocker.args[0].error
    compute(qtbot, panel, PRINCIPAL_KEY)
    with qtbot.waitSignal(tab.computed, timeout=20000):
        tab.load(str(out))
    assert np.allclose(panel.directions.directions, saved.directions, atol=1e-6)
    assert list(panel.directions.names) == list(saved.names) and len(panel.dir_sliders) == len(saved)

    open_model(qtbot, context, panel, "cvae")
    with qtbot.waitSignal(tab.channel.result_ready, timeout=20000):
        tab.load(str(out))
    assert "Could not load directions" in tab.note.text() and "shape [8]" in tab.note.text()
    assert panel.directions is None

    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00\xff{not json")
    with qtbot.waitSignal(tab.channel.result_ready, timeout=20000):
        tab.load(str(junk))
    assert "Could not load directions" in tab.note.text()
