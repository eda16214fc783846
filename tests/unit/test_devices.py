"""Device choice: the best available for "auto"; a missing one is an error or the CPU."""
from __future__ import annotations

import pytest
import torch

from models.devices import available_devices, pick_device


def test_auto_picks_the_first_available_device_and_the_cpu_is_always_there():
    names = available_devices()
    assert names[-1] == "cpu"
    assert pick_device("auto").type == names[0]
    assert pick_device("cpu", strict=True).type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_missing_device_is_an_error_when_asked_for_else_the_cpu():
    with pytest.raises(RuntimeError, match="--device cuda"):
        pick_device("cuda", strict=True)
    assert pick_device("cuda").type == "cpu"
