"""The two-phase training of an SRGAN bundle (Ledig et al. 2017), behind `latent-explorer train
srgan --scale 4`.

Phase 1, the SRResNet: the generator learns to undo antialiased bicubic downsampling under a
pixel (MSE) loss, which maximises PSNR and gives smooth images. Phase 2, the SRGAN: a copy of it
is fine-tuned with a content loss in a feature space plus an adversarial loss from a
discriminator trained alongside, which trades PSNR for detail. Both weight sets are saved in one
file (models/nets/sr.py, `SRPair`). `--epochs` applies to each phase.

VGG, the paper's feature network, is not available offline: the content loss uses the conv
features of the bundled classifier that reads the training images (Fashion-MNIST's for 1x28x28),
or, where none reads them, pixels alone. The figures of `evaluate` are measured with the same
classifier, so they favour the SRGAN somewhat; PSNR and SSIM do not depend on it.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.nets.sr import SRConfig, SRDiscriminator, SRGenerator, SRPair
from models.upscale import downscale

# The paper weighs its adversarial term 1e-3 against the VGG content loss; a small pixel term
# (ESRGAN's idea) keeps the grey levels of the fine-tuned network where the SRResNet put them.
CONTENT_WEIGHT = 1.0
PIXEL_WEIGHT = 1.0
ADVERSARIAL_WEIGHT = 1e-3


def content_network(image_shape: tuple[int, ...], device: torch.device) -> tuple[nn.Module, str] | None:
    """The conv layers of the bundled classifier that reads images of `image_shape` (frozen) and
    its name, or None when no bundled classifier reads them."""
    import resources
    from models.checkpoint import CheckpointError, load_checkpoint, read_metadata

    for name, path in resources.bundled_checkpoints().items():
        try:
            meta = read_metadata(path)
        except CheckpointError:
            continue
        if meta.get("architecture") == "ae-classifier" and tuple(meta.get("image_shape") or ()) == tuple(image_shape):
            judge = load_checkpoint(path, device)
            convs = judge.net.encoder.net[:-1]           # without the final Flatten
            return convs.eval().requires_grad_(False), name
    return None


def train_srgan(tr: Any) -> tuple[nn.Module, Any]:
    """tr is a models.train.Trainer; returns the SRPair and its metadata."""
    o = tr.options
    arch = {"scale": 4, **o.arch}
    config = SRConfig(image_shape=tr.image_shape, **arch)
    scale = config.scale
    gen = SRGenerator(config).to(tr.device).train()
    g = tr.wrap(gen)        # both phases train the same network
    opt = torch.optim.Adam(gen.parameters(), lr=tr.lr)

    def psnr_step(x: Tensor, y: Tensor) -> dict[str, float]:
        low = downscale(x, scale)
        with tr.autocast():
            sr = g(low)
        loss = F.mse_loss(sr.float(), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"pixel_mse": loss.item()}

    tr.run_epochs(o.epochs, psnr_step, offset=0, total=2 * o.epochs)
    srresnet = copy.deepcopy(gen).eval().requires_grad_(False)

    found = content_network(tr.image_shape, tr.device)
    features, content_name = found if found is not None else (None, None)
    disc = SRDiscriminator(config).to(tr.device).train()
    d = tr.wrap(disc)       # the frozen content features are not trained, so not wrapped
    opt_g = torch.optim.Adam(gen.parameters(), lr=tr.lr / 10, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=tr.lr / 10, betas=(0.9, 0.999))

    def gan_step(x: Tensor, y: Tensor) -> dict[str, float]:
        low = downscale(x, scale)
        with tr.autocast():
            sr = g(low)
            d_real, d_fake = d(x).float(), d(sr.detach().clamp(0, 1)).float()
        d_loss = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with tr.autocast():
            g_out = d(sr.clamp(0, 1)).float()
            content = F.mse_loss(features(sr).float(), features(x).float()) if features is not None else None
        pixel = F.mse_loss(sr.float(), x)
        adversarial = F.binary_cross_entropy_with_logits(g_out, torch.ones_like(g_out))
        g_loss = PIXEL_WEIGHT * pixel + ADVERSARIAL_WEIGHT * adversarial
        if content is not None:
            g_loss = g_loss + CONTENT_WEIGHT * content
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        losses = {"pixel_mse": pixel.item(), "adversarial": adversarial.item(), "d_loss": d_loss.item()}
        if content is not None:
            losses["content"] = content.item()
        return losses

    tr.run_epochs(o.epochs, gan_step, offset=o.epochs, total=2 * o.epochs)
    pair = SRPair(config)
    pair.srresnet.load_state_dict(srresnet.state_dict())
    pair.srgan.load_state_dict(gen.state_dict())
    recipe = {
        "phases": ["SRResNet: pixel MSE", "SRGAN: content + pixel + adversarial, from the SRResNet, at lr/10"],
        "scale": scale,
        "downsampling": "antialiased bicubic",
        "content_features": (f"conv features of the bundled {content_name!r} classifier (VGG is not "
                             f"available offline)") if content_name else "none (no classifier reads these images)",
        "loss_weights": {"content": CONTENT_WEIGHT if content_name else 0.0, "pixel": PIXEL_WEIGHT,
                         "adversarial": ADVERSARIAL_WEIGHT},
    }
    return pair, tr.metadata("srgan", "srgan", config, config.low_shape, {"recipe": recipe})
