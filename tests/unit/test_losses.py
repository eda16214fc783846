"""The hinge GAN loss and min-SNR-γ weighting against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from models.diffusion import NoiseSchedule, ScheduleConfig
from models.losses import discriminator_loss, generator_loss, min_snr_weights


def test_the_hinge_losses_equal_a_hand_computation():
    d_real, d_fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-3.0, 0.0, 0.25])
    # relu(1 - real): 0, 0.5, 2 -> mean 5/6; relu(1 + fake): 0, 1, 1.25 -> mean 0.75
    assert float(discriminator_loss("hinge", d_real, d_fake)) == pytest.approx(5 / 6 + 0.75)
    assert float(generator_loss("hinge", d_fake)) == pytest.approx(-(-3.0 + 0.0 + 0.25) / 3)


def test_the_default_gan_loss_is_the_smoothed_non_saturating_one():
    d_real, d_fake = torch.tensor([1.0]), torch.tensor([-1.0])
    sig = 1 / (1 + math.exp(-1.0))
    real_term = -(0.9 * math.log(sig) + 0.1 * math.log(1 - sig))
    fake_term = -math.log(1 - (1 - sig))      # sigmoid(-1) = 1 - sigmoid(1)
    assert float(discriminator_loss("bce", d_real, d_fake)) == pytest.approx(real_term + fake_term)
    assert float(generator_loss("bce", d_fake)) == pytest.approx(-math.log(1 - sig))


def test_min_snr_weights_cap_the_easy_timesteps_and_leave_the_hard_ones():
    schedule = NoiseSchedule(ScheduleConfig())
    t = torch.tensor([0, 10, 100, 500, 999])
    weights = min_snr_weights(schedule.snr, t, gamma=5.0)
    snr = schedule.snr[t].float()
    expected = torch.where(snr > 5, 5 / snr, torch.ones_like(snr))
    assert torch.allclose(weights, expected)
    assert weights[0] < 0.01 and weights[-1] == 1.0          # t = 0 is nearly noise-free: weighted down
    assert torch.equal(min_snr_weights(schedule.snr, t, gamma=0.0), torch.ones(5))


@pytest.mark.parametrize("kind, option", [("gan", {"gan_loss": "hinge"}), ("ddpm", {"min_snr_gamma": 5.0})])
def test_training_with_the_option_records_it_and_stays_finite(kind, option, tmp_path):
    from models.data import load_dataset
    from models.train import TrainOptions, train
    from tests.unit.test_train import SMALL_ARCH, synthetic_idx

    data = load_dataset(synthetic_idx(tmp_path, n=32), split="train")
    meta = train(TrainOptions(kind=kind, epochs=1, batch_size=16, device="cpu", arch=SMALL_ARCH[kind],
                              **({"latent_dim": 8} if kind == "gan" else {}), **option),
                 data, tmp_path / "out.safetensors")
    recipe = meta["training"]["recipe"]
    assert recipe.get("loss") == "hinge" if kind == "gan" else recipe["min_snr_gamma"] == 5.0
    assert all(math.isfinite(v) for curve in meta["training"]["loss_curve"].values() for v in curve)
