"""A declared network config, checked before the network is built.

Building a network allocates what its config asks for, so a 900 KB file whose config says
`base_channels: 2048` would cost gigabytes before its weights could be found not to fit. Two
checks come first: every config value within the limits (models/limits.py), then the network
built on PyTorch's `meta` device (shapes only, no memory) and its tensors compared with the
file's. Only a config whose network has exactly the file's tensors is built for real, so the
network can never be bigger than the weights that came with it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from models.errors import CheckpointError, one_line
from models.latent_prior import MAX_COMPONENTS
from models.limits import MAX_CLASSES, MAX_CONFIG_INT, MAX_CONFIG_LIST
from models.metadata import image_shape_of

_MAX_LISTED = 5
# Outer key prefixes DataParallel ("module.") and torch.compile ("_orig_mod.") add.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


# the config integers that may be 0 (none), with their upper limits; every other one is a size
COUNTS_FROM_ZERO = {"num_classes": MAX_CLASSES, "prior_components": MAX_COMPONENTS}


def check_config(config: Mapping[str, Any], where: str) -> None:
    """Each value a number, a bool, a short text or a short list of numbers, within the limits;
    CheckpointError naming the offending key and value otherwise."""
    for key, value in config.items():
        what = f"{where}: config {key}"
        if key == "image_shape":
            image_shape_of(value, what)
        elif key in COUNTS_FROM_ZERO:
            top = COUNTS_FROM_ZERO[key]
            if not _is_int(value) or not 0 <= value <= top:
                raise CheckpointError(f"{what}={_show(value)} should be a whole number from 0 to {top}")
        elif isinstance(value, list):
            if len(value) > MAX_CONFIG_LIST:
                raise CheckpointError(f"{what} lists {len(value)} values, more than the {MAX_CONFIG_LIST} "
                                      f"a network config may have")
            for item in value:
                _check_number(item, what)
        elif value is not None and not isinstance(value, str):
            _check_number(value, what)


def _check_number(value: Any, what: str) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        # every integer of a network config but COUNTS_FROM_ZERO is a width, a depth or a size
        if value < 1:
            raise CheckpointError(f"{what}={_show(value)} should be at least 1: fix the config")
        if value > MAX_CONFIG_INT:
            raise CheckpointError(f"{what}={_show(value)} is above the limit of {MAX_CONFIG_INT:,}; no "
                                  f"network of this app is that wide: fix the config")
        return
    if not isinstance(value, float):
        raise CheckpointError(f"{what} should be a number or a list of numbers, got {_show(value)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


class _ShapesOnly(TorchFunctionMode):
    """Skips weight initialisers while a network is built on the meta device: its tensors have
    no values to initialise, and torch's meta initialisers import its compiler on first use (a
    second and a half on the first model the app opens)."""

    _INITIALISERS = frozenset(
        {getattr(torch.nn.init, name) for name in (
            "normal_", "uniform_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
            "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")}
        | {torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.fill_, torch.Tensor.zero_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self._INITIALISERS:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


def expected_shapes(architecture: str, config: Mapping[str, Any], where: str) -> dict[str, tuple[int, ...]]:
    """The names and shapes of the tensors a network of this architecture and config holds,
    found by building it on the meta device, which allocates nothing."""
    from models.generative import ARCHITECTURES, make_config

    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{where}: unknown architecture {architecture!r}; known architectures: "
                              f"{', '.join(ARCHITECTURES)}. Upgrade Latent Explorer, or write the right "
                              f"one in the file's sidecar")
    arch = ARCHITECTURES[architecture]
    try:
        with torch.device("meta"), _ShapesOnly():
            net = arch.net(make_config(arch.config, dict(config)))
    except Exception as exc:  # a config a network rejects surfaces as any of several types
        raise CheckpointError(f"{where}: the config {inline_config(config)} does not build a "
                              f"{architecture!r} network ({one_line(exc)}); fix the config to match "
                              f"the weights") from None
    return {name: tuple(t.shape) for name, t in net.state_dict().items()}


def strip_wrapper_prefix(names: Mapping[str, Any], expected: Mapping[str, Any]) -> dict[str, Any]:
    """names without the prefix DataParallel or torch.compile put on every key."""
    out = dict(names)
    for prefix in _WRAPPER_PREFIXES:
        if out and all(k.startswith(prefix) for k in out) and not any(k.startswith(prefix) for k in expected):
            out = {k[len(prefix):]: v for k, v in out.items()}
    return out


def discriminator_shapes(architecture: str, config: Mapping[str, Any], where: str) -> dict[str, tuple[int, ...]]:
    """The tensors of a GAN's kept discriminator, under their checkpoint prefix; none for an
    architecture without one."""
    from models.generative import ARCHITECTURES, DISCRIMINATOR_PREFIX, build_discriminator

    if ARCHITECTURES[architecture].discriminator is None:
        return {}
    try:
        with torch.device("meta"), _ShapesOnly():
            net = build_discriminator(architecture, dict(config))
    except Exception as exc:  # a config a network rejects surfaces as any of several types
        raise CheckpointError(f"{where}: the config {inline_config(config)} does not build the "
                              f"discriminator of {architecture!r} ({one_line(exc)})") from None
    return {DISCRIMINATOR_PREFIX + name: tuple(t.shape) for name, t in net.state_dict().items()}


def check_weights_fit(architecture: str, config: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]],
                      where: str) -> None:
    """The file's tensors (name -> shape) must be exactly the network's (up to a wrapper's key
    prefix), with or without a GAN's kept discriminator, or CheckpointError listing what is
    missing, extra or of the wrong shape."""
    from models.generative import DISCRIMINATOR_PREFIX

    check_config(config, where)
    expected = expected_shapes(architecture, config, where)
    if any(k.startswith(DISCRIMINATOR_PREFIX) for k in shapes):
        expected.update(discriminator_shapes(architecture, config, where))
    shapes = strip_wrapper_prefix(shapes, expected)
    missing = [k for k in expected if k not in shapes]
    unexpected = [k for k in shapes if k not in expected]
    mismatched = [f"{k} {list(shapes[k])} vs {list(v)}" for k, v in expected.items()
                  if k in shapes and tuple(shapes[k]) != tuple(v)]
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f"missing {len(missing)} ({_few(missing)})")
        if unexpected:
            problems.append(f"unexpected {len(unexpected)} ({_few(unexpected)})")
        if mismatched:
            problems.append(f"wrong shape {len(mismatched)} (file vs network: {_few(mismatched)})")
        raise CheckpointError(f"{where}: the weights do not fit architecture {architecture!r} with the "
                              f"config {inline_config(config)}: {'; '.join(problems)}. Check that the "
                              f"architecture and config say how it was trained")


def inline_config(config: Mapping[str, Any]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in sorted(config.items()))
    return "{" + (text if len(text) <= 200 else text[:200] + "...") + "}"


def _few(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f", ... ({len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")
