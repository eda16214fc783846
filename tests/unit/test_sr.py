"""The SRGAN family: the networks' shapes and ranges, the upscaler capability and its network
interpolation, PSNR and SSIM against hand-computed values, and round trips through our
checkpoint format."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.generative import build_model, capability_names, declared_capabilities
from models.metadata import CheckpointMetadata
from models.nets.sr import SRConfig, SRDiscriminator, SRGenerator, SRPair
from models.upscale import (
    bicubic_upscale,
    downscale,
    interpolate_weights,
    psnr,
    sharpness,
    ssim,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"image_shape": [1, 28, 28], "scale": 4, "channels": 8, "blocks": 1, "d_channels": 8}


def trained_looking_pair(config: dict = TINY, seed: int = 0) -> SRPair:
    """A pair whose two weight sets differ and whose output is not just bicubic (the tail, zero
    when fresh, gets random weights)."""
    torch.manual_seed(seed)
    pair = SRPair(SRConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}))
    with torch.no_grad():
        for net in (pair.srresnet, pair.srgan):
            for p in net.parameters():
                p.add_(torch.randn_like(p) * 0.05)
    return pair


@pytest.mark.parametrize("scale,shape", [(2, (1, 28, 28)), (3, (3, 24, 24)), (4, (1, 28, 28)), (4, (3, 32, 32))])
def test_generator_and_discriminator_shapes(scale, shape):
    config = SRConfig(image_shape=shape, scale=scale, channels=8, blocks=2, d_channels=8)
    c, h, w = shape
    low = torch.rand(3, c, h // scale, w // scale)
    assert config.low_shape == (c, h // scale, w // scale)
    assert SRGenerator(config)(low).shape == (3, *shape)
    assert SRDiscriminator(config)(torch.rand(3, *shape)).shape == (3,)


def test_a_fresh_generator_is_the_bicubic_upscale():
    """The detail branch starts at zero, so training starts from bicubic, not from noise."""
    config = SRConfig(channels=8, blocks=1)
    low = torch.rand(2, 1, 7, 7)
    assert torch.allclose(SRGenerator(config)(low), torch.nn.functional.interpolate(
        low, scale_factor=4, mode="bicubic", align_corners=False), atol=1e-6)


def test_configs_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="does not divide"):
        SRConfig(image_shape=(1, 28, 28), scale=3)
    with pytest.raises(ValueError, match="scale must be one of"):
        SRConfig(scale=5)


def test_the_upscaler_capability_gives_images_in_range_and_blends_weights():
    pair = trained_looking_pair()
    model = build_model("srgan", TINY, {"name": "sr"})
    model.net.load_state_dict(pair.state_dict())
    up = model.upscaler
    assert model.prior is None and capability_names(model) == {"upscaler"}
    assert declared_capabilities("srgan", TINY) == {"upscaler"}
    assert model.latent_shape == (1, 7, 7) and up.scale == 4
    low = torch.rand(4, 1, 7, 7)
    a, b, half = up.upscale(low, 0.0), up.upscale(low, 1.0), up.upscale(low, 0.5)
    assert a.shape == (4, 1, 28, 28) and 0 <= float(half.min()) and float(half.max()) <= 1
    with torch.no_grad():
        assert torch.allclose(a, pair.srresnet(low).clamp(0, 1))
        assert torch.allclose(b, pair.srgan(low).clamp(0, 1))
        # blend 0.5 is the network whose every weight is the mean of the two sets
        mean = SRGenerator(pair.config)
        mean.load_state_dict({k: (v + pair.srgan.state_dict()[k]) / 2 for k, v in pair.srresnet.state_dict().items()})
        assert torch.allclose(half, mean(low).clamp(0, 1), atol=1e-5)
    assert not torch.allclose(half, a) and not torch.allclose(half, b)
    # the blended weights are remade when the blend changes, and only then
    quarter = up.upscale(low, 0.25)
    assert not torch.allclose(quarter, half) and torch.equal(up.upscale(low, 0.5), half)
    # decode is the SRGAN upscale of the "latent", a low-resolution image
    assert torch.allclose(model.decode(low), b)
    with pytest.raises(ValueError, match="takes 1x7x7 images"):
        up.upscale(torch.rand(1, 1, 14, 14))


def test_interpolate_weights_checks_its_inputs():
    a, b = {"w": torch.zeros(3), "n": torch.tensor([1])}, {"w": torch.ones(3), "n": torch.tensor([1])}
    assert torch.allclose(interpolate_weights(a, b, 0.25)["w"], torch.full((3,), 0.25))
    with pytest.raises(ValueError, match="different tensors"):
        interpolate_weights(a, {"w": torch.ones(3)}, 0.5)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        interpolate_weights(a, b, 1.5)


def test_bicubic_psnr_equals_a_hand_computed_value():
    """A 2x2 checkerboard of 0.2 and 0.8 downscales (by 2) to one pixel of their mean, 0.5, which
    bicubic enlarges to 0.5 everywhere: every pixel is off by 0.3, MSE 0.09, PSNR 10 log10(1 / 0.09)."""
    truth = torch.tensor([[0.2, 0.8], [0.8, 0.2]]).reshape(1, 1, 2, 2)
    low = downscale(truth, 2)
    assert low.shape == (1, 1, 1, 1) and float(low) == pytest.approx(0.5, abs=1e-6)
    up = bicubic_upscale(low, 2)
    assert torch.allclose(up, torch.full((1, 1, 2, 2), 0.5))
    assert psnr(truth, up)[0] == pytest.approx(10 * math.log10(1 / 0.09), abs=1e-4)


def test_psnr_and_ssim_per_image():
    rng = np.random.default_rng(0)
    truth = torch.from_numpy(rng.random((2, 3, 16, 16))).float()
    off = (truth + 0.1).clamp(0, 1)
    values = psnr(truth, off)
    mse = ((truth - off) ** 2).mean(dim=(1, 2, 3)).double().numpy()
    assert np.allclose(values, 10 * np.log10(1 / mse), atol=1e-3)
    assert np.isinf(psnr(truth, truth)).all()
    assert np.allclose(ssim(truth, truth), 1.0)
    assert (ssim(truth, 1 - truth) < 0).all()          # an inverted image is anti-correlated
    with pytest.raises(ValueError, match="one shape"):
        psnr(truth, off[:1])
    # stripes two pixels wide are all edges; downscaled by their period and enlarged again they are
    # a nearly flat grey
    stripes = (torch.arange(16) % 4 < 2).float().expand(16, 16).reshape(1, 1, 16, 16)
    assert sharpness(torch.zeros(1, 1, 8, 8))[0] == 0
    assert sharpness(stripes)[0] > 0.2 and sharpness(bicubic_upscale(downscale(stripes, 4), 4))[0] < 0.05


def test_a_bundle_round_trips_through_our_checkpoint_format(tmp_path):
    pair = trained_looking_pair()
    meta = CheckpointMetadata(name="sr", kind="srgan", architecture="srgan", config=TINY, image_shape=(1, 28, 28),
                              latent_shape=(1, 7, 7))
    path = tmp_path / "sr.safetensors"
    save_checkpoint(path, pair, meta, half=True)
    model = load_checkpoint(path)
    assert str(model.kind) == "srgan" and model.upscaler is not None
    low = torch.rand(2, 1, 7, 7)
    with torch.no_grad():
        expected = pair.half().float()    # what float16 storage keeps
        assert torch.allclose(model.upscaler.upscale(low, 0.0), expected.srresnet(low).clamp(0, 1), atol=1e-5)
        assert torch.allclose(model.upscaler.upscale(low, 1.0), expected.srgan(low).clamp(0, 1), atol=1e-5)


def test_a_file_whose_config_claims_a_bigger_network_is_refused(tmp_path):
    path = tmp_path / "sr.safetensors"
    save_checkpoint(path, trained_looking_pair(), CheckpointMetadata(name="sr", kind="srgan", architecture="srgan",
                                                                     config={**TINY, "channels": 4096}))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)
