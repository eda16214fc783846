"""Property-based fuzzing of the model loaders, run as a child process by test_fuzz_loaders.py.

    python tests/unit/fuzz_loaders.py --examples 100 --report report.json [--seed 0]

Mutants of four valid files (a native checkpoint, a torch.save state dict with its sidecar, a
TorchScript and a torch.export generator with theirs) are made with hypothesis: byte flips and
truncations, structural mutations of the checkpoint's metadata JSON (values replaced by any JSON,
keys dropped or added, nesting 200,000 deep, integers of thousands of digits, NaN), and random
or mutated sidecars. Each goes through `open_model`, whose every outcome must be a model or one
CheckpointError. The process caps its own address space about 2 GiB above what torch takes, so
a loader that allocated what a file asks for fails here; a per-mutant alarm and the parent's
time limit catch hangs. The report counts the outcomes and lists every other exception.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from safetensors.torch import save as save_safetensors
from torch import nn

from models.checkpoint import (
    METADATA_KEY,
    CheckpointError,
    open_model,
    read_metadata,
    save_checkpoint,
)
from models.generative import build_model

MUTANT_SECONDS = 20
ADDRESS_SPACE_MARGIN = 2 << 30
ARCHITECTURES = ["conv-vae", "mlp-gan", "dcgan", "unet-ddpm", "ae-classifier"]
VAE_CONFIG = {"image_shape": [1, 28, 28], "latent_dim": 4, "base_channels": 8}
DCGAN_CONFIG = {"image_shape": [1, 28, 28], "latent_dim": 8, "g_channels": 8, "d_channels": 8}
SCRIPTED = {"latent_shape": [4], "image_shape": [1, 28, 28], "output_range": "tanh"}


class _Hang(Exception):
    """Raised by the alarm when one mutant takes longer than MUTANT_SECONDS."""


class _Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 28 * 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, 1, 28, 28)


@dataclass(frozen=True)
class Seed:
    suffix: str
    data: bytes
    sidecar: dict | None


def make_seeds(folder: Path) -> dict[str, Seed]:
    torch.manual_seed(0)
    vae = build_model("conv-vae", VAE_CONFIG, {})
    # a plain dict in the schema's form, so the same fuzz runs against any version of the loader
    meta = {"kind": "vae", "architecture": "conv-vae", "config": VAE_CONFIG, "image_shape": [1, 28, 28],
            "latent_shape": [4], "name": "fuzz", "class_names": list("abcdefghij"),
            "dataset": {"name": "synthetic", "size": 64},
            "training": {"recipe": {"kind": "vae", "lr": 0.001}, "seed": 1, "epochs": 2, "time_s": 12.5,
                         "loss_curve": {"loss": [0.9, 0.4]}}, "metrics": {"fid": 50.0}}
    save_checkpoint(folder / "native.safetensors", vae.net, meta)
    buffer = io.BytesIO()
    torch.save(build_model("dcgan", DCGAN_CONFIG, {}).net.state_dict(), buffer)
    scripted = io.BytesIO()
    torch.jit.save(torch.jit.script(_Generator().eval()), scripted)
    batch = torch.export.Dim("batch")
    program = torch.export.export(_Generator().eval(), (torch.randn(2, 4),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(folder / "g.pt2"))
    return {
        "native": Seed(".safetensors", (folder / "native.safetensors").read_bytes(), None),
        "state_dict": Seed(".pt", buffer.getvalue(), {"architecture": "dcgan", "config": DCGAN_CONFIG}),
        "torchscript": Seed(".pt", scripted.getvalue(), {**SCRIPTED, "scripted": True}),
        "export": Seed(".pt2", (folder / "g.pt2").read_bytes(), SCRIPTED),
    }


# -- strategies ---------------------------------------------------------------------------------

_DEEP, _HUGE = "\x00deep\x00", "\x00huge\x00"      # placeholders for text json.dumps cannot write
_INTS = st.one_of(st.integers(-3, 70), st.sampled_from([0, 1, 7, 28, 1000, 2048, 4096, 65536, 10 ** 6, 10 ** 9,
                                                         3 * 10 ** 8, 2 ** 63, -(2 ** 63)]),
                  st.integers(-(2 ** 80), 2 ** 80))
_LEAVES = st.one_of(st.none(), st.booleans(), _INTS, st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=12), st.sampled_from(ARCHITECTURES + ["vae", "gan", "ddpm", "classifier",
                                                                           "scripted", "float16", "linear"]))
_JSON = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                             max_size=4),
                     max_leaves=12)
_KEYS = st.sampled_from(["format", "kind", "architecture", "config", "image_shape", "latent_shape", "class_names",
                         "dataset", "training", "metrics", "schedule", "dtype", "digest", "name", "latent_dim",
                         "base_channels", "g_channels", "num_classes", "num_timesteps", "hidden", "channel_mults",
                         "time_s", "epochs", "scripted", "output_range"]) | st.text(max_size=8)


@st.composite
def mutated_json(draw, doc):
    """doc with up to four structural changes: a value replaced (by any JSON, a 200,000-deep list
    or an integer of thousands of digits), a key dropped, or one added; returned as JSON text."""
    doc = json.loads(json.dumps(doc))
    tokens: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 4))):
        parent, key = _walk(draw, doc)
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "deep", "huge"]))
        if op == "drop" and isinstance(parent, dict) and key in parent:
            del parent[key]
            continue
        if op == "add" and isinstance(parent, dict):
            parent[draw(_KEYS)] = draw(_JSON)
            continue
        if key is None:
            continue
        if op == "deep":
            depth = draw(st.sampled_from([33, 200, 1000, 200_000]))
            tokens[_DEEP] = "[" * depth + "]" * depth
            parent[key] = _DEEP
        elif op == "huge":
            tokens[_HUGE] = draw(st.sampled_from(["9" * 19, "1" * 21, "7" * 5000, "-" + "3" * 4301]))
            parent[key] = _HUGE
        else:
            parent[key] = draw(_JSON)
    text = json.dumps(doc, allow_nan=True)
    for placeholder, token in tokens.items():
        text = text.replace(json.dumps(placeholder), token)
    return text


def _walk(draw, doc):
    """A (container, key) somewhere in doc, reached by a random walk from the top."""
    parent, key = doc, None
    while isinstance(parent, (dict, list)) and parent:
        keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
        key = keys[draw(st.integers(0, len(keys) - 1))]
        child = parent[key]
        if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
            break
        parent = child
    return parent, key


@st.composite
def damaged_bytes(draw, seeds):
    """A seed file with bytes flipped (most near its header or its zip directory) or cut short."""
    name = draw(st.sampled_from(["native"] * 4 + ["state_dict"] * 2 + ["torchscript", "export"]))
    raw = bytearray(seeds[name].data)
    hot = (0, min(len(raw), 2048)) if name == "native" else (max(0, len(raw) - 2048), len(raw))
    position = st.one_of(st.integers(hot[0], hot[1] - 1), st.integers(0, len(raw) - 1))
    flips = draw(st.lists(st.tuples(position, st.integers(1, 255)), max_size=6))
    cut = draw(st.one_of(st.none(), st.integers(0, len(raw) - 1)))
    if not flips and cut is None:
        flips = [(draw(position), draw(st.integers(1, 255)))]
    for index, mask in flips:
        raw[index] ^= mask
    return name, bytes(raw if cut is None else raw[:cut]), None


@st.composite
def mutated_metadata(draw, seeds, native_meta, tensors):
    text = draw(mutated_json(native_meta))
    return "native", save_safetensors(tensors, metadata={METADATA_KEY: text}), None


@st.composite
def sidecars(draw, seeds):
    """A mutated valid sidecar, a random one, or text that is not a JSON object."""
    name = draw(st.sampled_from(["state_dict"] * 3 + ["torchscript"] * 2 + ["export"]))
    valid = seeds[name].sidecar
    choice = draw(st.sampled_from(["mutated", "mutated", "random", "text"]))
    if choice == "mutated":
        text = draw(mutated_json(valid))
    elif choice == "random":
        side = draw(st.fixed_dictionaries({}, optional={
            "architecture": st.sampled_from(ARCHITECTURES + ["", "stylegan", 5]),
            "config": st.dictionaries(_KEYS, st.one_of(_INTS, st.lists(_INTS, max_size=20), _JSON), max_size=6),
            "kind": _LEAVES, "class_names": st.lists(st.text(max_size=5), max_size=12), "name": _LEAVES,
            "scripted": st.booleans(), "latent_shape": st.lists(_INTS, max_size=4),
            "image_shape": st.lists(_INTS, max_size=4), "output_range": _LEAVES,
            "schedule": st.dictionaries(_KEYS, _LEAVES, max_size=3)}))
        text = json.dumps(side, allow_nan=True)
    else:
        text = draw(st.sampled_from(["", "[]", "null", "{", "\xff", '{"a": NaN}', "[" * 100_000]))
    return name, seeds[name].data, text


# -- running ------------------------------------------------------------------------------------

class Fuzz:
    def __init__(self, folder: Path, seeds: dict[str, Seed]):
        self.folder, self.seeds = folder, seeds
        self.counts = {"mutants": 0, "models": 0, "checkpoint_errors": 0}
        self.uncaught: list[dict] = []
        self.by_source: dict[str, int] = {}

    def check(self, source: str, mutant: tuple[str, bytes, str | None]) -> None:
        name, data, sidecar = mutant
        self.counts["mutants"] += 1
        self.by_source[source] = self.by_source.get(source, 0) + 1
        folder = Path(tempfile.mkdtemp(dir=self.folder))
        path = folder / f"m{self.seeds[name].suffix}"
        path.write_bytes(data)
        side = sidecar if sidecar is not None else (
            json.dumps(self.seeds[name].sidecar) if self.seeds[name].sidecar is not None else None)
        if side is not None:
            (folder / f"{path.name}.json").write_bytes(side.encode("utf-8", "surrogatepass"))
        problem, trace = None, ""
        signal.alarm(MUTANT_SECONDS)
        try:
            model = open_model(path)
            self.counts["models"] += 1
            if not (model.latent_shape and len(model.image_shape) == 3):
                problem = f"a model without shapes: {model.latent_shape}, {model.image_shape}"
        except CheckpointError as exc:
            self.counts["checkpoint_errors"] += 1
            if not str(exc) or "\n" in str(exc):
                problem = f"a CheckpointError that is not one line: {str(exc)[:300]!r}"
        except BaseException as exc:  # everything else is what the fuzz looks for
            if isinstance(exc, KeyboardInterrupt):
                raise
            problem, trace = f"{type(exc).__name__}: {str(exc)[:300]}", traceback.format_exc()[-1500:]
        finally:
            signal.alarm(0)
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
        if problem is not None:
            self.uncaught.append({"source": source, "seed": name, "exception": problem, "traceback": trace,
                                  "sidecar": None if sidecar is None else sidecar[:300]})


def _property(fuzz: Fuzz, source: str, strategy, options, seed_value: int):
    """The hypothesis test that feeds `strategy`'s mutants to the fuzz."""
    @seed(seed_value)
    @options
    @given(mutant=strategy)
    def run(mutant):
        fuzz.check(source, mutant)

    return run


def _cap_address_space() -> int | None:
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            limit = int(line.split()[1]) * 1024 + ADDRESS_SPACE_MARGIN
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
            return limit
    return None


def _on_alarm(signum, frame):
    raise _Hang(f"a mutant took more than {MUTANT_SECONDS} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=100, help="mutants per strategy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    signal.signal(signal.SIGALRM, _on_alarm)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        seeds = make_seeds(folder)
        native_meta = read_metadata(folder / "native.safetensors")
        from safetensors.torch import load_file

        tensors = load_file(str(folder / "native.safetensors"))
        fuzz = Fuzz(folder, seeds)
        open_model(folder / "native.safetensors")        # warm: the baseline includes one load
        limit = _cap_address_space()
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        options = settings(max_examples=args.examples, database=None, deadline=None, phases=[Phase.generate],
                           suppress_health_check=list(HealthCheck))

        for source, strategy in (("bytes", damaged_bytes(seeds)),
                                 ("metadata", mutated_metadata(seeds, native_meta, tensors)),
                                 ("sidecar", sidecars(seeds))):
            random.seed(args.seed)
            _property(fuzz, source, strategy, options, args.seed)()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {**fuzz.counts, "by_source": fuzz.by_source, "uncaught": fuzz.uncaught,
              "peak_growth_mib": round((peak - baseline) / 1024, 1), "address_space_limit": limit,
              "seconds": round(time.perf_counter() - start, 1)}
    Path(args.report).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
