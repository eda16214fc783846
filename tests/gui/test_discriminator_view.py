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
