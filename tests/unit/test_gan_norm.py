"""The DCGAN discriminator's normalisation: BatchNorm as in Radford et al., or spectral norm."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from models.nets.gan import DCGANConfig, DCGANDiscriminator


def test_a_spectral_discriminator_has_no_batchnorm_and_unit_spectral_norms():
    torch.manual_seed(0)
    d = DCGANDiscriminator(DCGANConfig(image_shape=(3, 64, 64), d_channels=8, d_norm="spectral")).train()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    for _ in range(30):                      # the power iteration runs once per training pass
        d(torch.randn(2, 3, 64, 64))
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert abs(float(sigma) - 1.0) < 0.05
    assert d(torch.randn(4, 3, 64, 64)).shape == (4,)


def test_the_default_discriminator_keeps_batchnorm_and_plain_weights():
    d = DCGANDiscriminator(DCGANConfig(image_shape=(1, 28, 28), d_channels=8))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 2
    assert not any(name.startswith("parametrizations") or ".parametrizations." in name
                   for name, _ in d.named_parameters())


def test_an_unknown_normalisation_is_refused():
    with pytest.raises(ValueError, match="d_norm"):
        DCGANDiscriminator(DCGANConfig(d_norm="layer"))
