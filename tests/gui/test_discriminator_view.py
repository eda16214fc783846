"""The latent view shows a GAN's own discriminator's verdict when its file kept one."""
from __future__ import annotations

import pytest
import torch

from explorer.context import AppContext
from explorer.views.latent_panel import LatentPanel
from models.checkpoint import load_checkpoint
from tests.unit.test_discriminator import gan_file


@pytest.fixture
def setup(qtbot, tmp_path, tiny_models):
    kept, _ = gan_file(tmp_path, "cgan")
    context = AppContext(device="cpu", bundled={"dcgan": tiny_models["dcgan"]})
    panel = LatentPanel(context)
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    yield context, panel, kept
    context.shutdown()


def wait_for_frame(qtbot, context, panel, source):
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model(source)
    qtbot.waitUntil(lambda: panel.last_frame is not None and panel.shown_id >= panel.last_request_id, timeout=10000)


def test_the_discriminator_line_gives_d_s_verdict_on_the_image_shown(qtbot, setup):
    context, panel, kept = setup
    wait_for_frame(qtbot, context, panel, str(kept))
    assert panel.realness.isVisible()
    model = load_checkpoint(kept)
    z = torch.from_numpy(panel.latent).reshape(1, -1)
    label = torch.tensor([panel.point().label if isinstance(panel.point().label, int) else 0])
    expected = float(model.discriminator.realness(model.decode(z, label), label)[0])
    assert panel.last_frame.realness == pytest.approx(expected, abs=1e-5)
    assert panel.realness.text() == f"Discriminator: {expected * 100:.0f}% real"

    wait_for_frame(qtbot, context, panel, "dcgan")       # a GAN file without its discriminator
    assert not panel.realness.isVisible() and panel.last_frame.realness is None


def test_the_path_plot_draws_d_s_curve_only_when_there_is_one(qtbot):
    import numpy as np

    from explorer.jobs.interpolation import PathAnalysis
    from explorer.views.path_plot import PathPlot

    plot = PathPlot()
    qtbot.addWidget(plot)
    plot.set_analysis(PathAnalysis(realness=np.array([0.2, 0.5, 0.9])), 3)
    xs, ys = plot.real_curve.getData()
    assert list(xs) == [1, 2, 3] and list(ys) == [0.2, 0.5, 0.9]
    plot.set_analysis(PathAnalysis(), 3)
    assert plot.real_curve.getData()[0] is None or len(plot.real_curve.getData()[0]) == 0
