"""`latent-explorer sample`: a PNG grid of samples, one row per class for conditional models."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from explorer.cli import main
from models.checkpoint import load_checkpoint


def test_sample_grid_matches_direct_decodes(tiny_models, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", str(tiny_models["cvae"]), str(out), "--columns", "4", "--scale", "1", "--seed", "3"]) == 0
    grid = np.asarray(Image.open(out).convert("L"))
    # ten rows (one per class) of four 28x28 samples, 2 px apart, after a margin naming the classes
    margin = grid.shape[1] - (4 * 28 + 3 * 2)
    assert grid.shape[0] == 10 * 28 + 9 * 2 and margin > 20
    model = load_checkpoint(tiny_models["cvae"])
    z = model.sample_latent(40, 3)
    row_7 = model.decode(z[28:32], torch.full((4,), 7))
    expected = (row_7[1, 0] * 255).round().to(torch.uint8).numpy()
    top, left = 7 * 30, margin + 1 * 30
    assert np.array_equal(grid[top:top + 28, left:left + 28], expected)
    labels = grid[:, :margin]
    assert all(labels[r * 30:r * 30 + 28].max() > 200 for r in range(10))   # a name written on each row


def test_sample_refuses_bad_requests_with_a_message(tiny_models, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert main(["sample", str(tiny_models["vae"]), str(out), "--class", "3"]) == 2
    assert "unconditional" in capsys.readouterr().err
    assert main(["sample", str(tiny_models["cgan"]), str(out), "--class", "Hat"]) == 2
    assert "unknown class" in capsys.readouterr().err
    assert main(["sample", str(tiny_models["classifier"]), str(out)]) == 2
    assert not out.exists()
    assert main(["sample", str(tiny_models["ddpm"]), str(out), "--count", "2", "--ddim-steps", "3",
                 "--class", "Sandal"]) == 0
    assert Image.open(out).size == (2 * 28 * 2 + 2, 28 * 2)
