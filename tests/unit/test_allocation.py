"""A small file cannot make the loader allocate gigabytes: every declared size is checked against
limits and against the tensors' shapes before a network, a schedule or a latent is made.

The cases run in a child process whose address space is capped (about 2 GiB above what torch
itself takes), and which reports its peak memory: a loader that allocated what a file asks for
would either fail there with an error that is not a CheckpointError, or show in the peak.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from models.checkpoint import METADATA_KEY, read_metadata
from models.generative import build_model

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")

_CHILD = """
import json, resource, sys
import torch
from models.checkpoint import CheckpointError, open_model

def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return None

def peak_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

torch.set_num_threads(1)
open_model(sys.argv[2])                      # a normal model first: the baseline includes loading one
vm = vm_bytes()
if vm is not None:
    resource.setrlimit(resource.RLIMIT_AS, (vm + (2 << 30), resource.RLIM_INFINITY))
baseline = peak_bytes()
for name, path in json.loads(sys.argv[1]):
    try:
        open_model(path)
        row = {"loaded": True}
    except CheckpointError as exc:
        row = {"error": str(exc)}
    except BaseException as exc:
        row = {"other": f"{type(exc).__name__}: {str(exc)[:300]}"}
    print(json.dumps({"case": name, "growth": peak_bytes() - baseline, **row}), flush=True)
"""


def _native_with(src: Path, dst: Path, **changes) -> Path:
    """src's tensors under metadata with `changes` (dotted keys go one level down)."""
    meta = read_metadata(src)
    meta.pop("digest", None)
    for key, value in changes.items():
        section, _, inner = key.partition("__")
        if inner:
            meta.setdefault(section, {})[inner] = value
        else:
            meta[key] = value
    save_file(load_file(str(src)), str(dst), metadata={METADATA_KEY: json.dumps(meta)})
    return dst


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, tiny_models) -> dict[str, dict]:
    d = tmp_path_factory.mktemp("alloc")
    vae, ddpm = tiny_models["vae"], tiny_models["ddpm"]
    dcgan_config = {"image_shape": [1, 28, 28], "latent_dim": 8, "g_channels": 8, "d_channels": 8}
    torch.save(build_model("dcgan", dcgan_config, {}).net.state_dict(), d / "g.pt")
    cases = {
        "ddpm num_timesteps 3e8": _native_with(ddpm, d / "t.safetensors", schedule__num_timesteps=300_000_000),
        "vae base_channels 2048": _native_with(vae, d / "b.safetensors", config__base_channels=2048),
        "vae image side 65536": _native_with(vae, d / "i.safetensors", config__image_shape=[1, 65536, 65536]),
        "vae num_classes 1e8": _native_with(vae, d / "n.safetensors", config__num_classes=100_000_000),
        "vae latent_dim 1e9": _native_with(vae, d / "l.safetensors", config__latent_dim=1_000_000_000),
    }
    for name, sidecar in {
        "sidecar g_channels 4096": {"architecture": "dcgan", "config": {**dcgan_config, "g_channels": 4096}},
        "sidecar hidden of 1000 layers": {"architecture": "mlp-gan", "config": {"hidden": [8] * 1000}},
    }.items():
        path = d / f"{len(cases)}.pt"
        path.write_bytes((d / "g.pt").read_bytes())
        (d / f"{path.name}.json").write_text(json.dumps(sidecar))
        cases[name] = path

    class Tiny(torch.nn.Module):
        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.tanh(z[:, :1]).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)

    latents = {"scripted latent [1e9]": [1_000_000_000], "scripted latent [1e5, 1e5]": [100_000, 100_000]}
    for name, latent in latents.items():
        path = d / f"{len(cases)}.pt"
        torch.jit.script(Tiny()).save(str(path))
        (d / f"{path.name}.json").write_text(json.dumps({"scripted": True, "latent_shape": latent,
                                                        "image_shape": [1, 28, 28]}))
        cases[name] = path
    try:
        child = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([(k, str(v)) for k, v in cases.items()]),
                                str(vae)], capture_output=True, text=True, timeout=240,
                               cwd=Path(__file__).resolve().parents[2])
    except subprocess.TimeoutExpired:
        pytest.fail("loading the cases took more than four minutes")
    rows = {row["case"]: row for row in map(json.loads, child.stdout.splitlines())}
    assert rows, child.stderr[-2000:]
    return rows


@pytest.mark.parametrize("case, named", [
    ("ddpm num_timesteps 3e8", "'schedule.num_timesteps' is 300000000, outside 1..100000"),
    ("vae base_channels 2048", "base_channels=2048"),
    ("vae image side 65536", "config image_shape [1, 65536, 65536] has a side over 1024"),
    ("vae num_classes 1e8", "config num_classes=100000000 should be a whole number from 0 to 10000"),
    ("vae latent_dim 1e9", "config latent_dim=1000000000 is above the limit of 65,536"),
    ("sidecar g_channels 4096", "g_channels=4096"),
    ("sidecar hidden of 1000 layers", "config hidden lists 1000 values"),
    ("scripted latent [1e9]", "'latent_shape' [1000000000] asks for latents of 1,000,000,000 values"),
    ("scripted latent [1e5, 1e5]", "'latent_shape' [100000, 100000] asks for latents of 10,000,000,000 values"),
])
def test_a_declared_size_is_refused_before_it_is_allocated(outcomes, case, named):
    row = outcomes.get(case)
    assert row is not None, f"{case}: the child died before reporting it"
    assert "error" in row, row
    assert named in row["error"]
    assert row["growth"] < 150 << 20, f"{case}: peak memory grew by {row['growth'] >> 20} MiB"


def test_weights_that_do_not_fit_the_config_are_named_before_building(outcomes):
    message = outcomes["sidecar g_channels 4096"]["error"]
    assert "wrong shape" in message and "file vs network" in message
