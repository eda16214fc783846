"""The native checkpoint format and its failure modes (importers: test_importers.py)."""
from __future__ import annotations

import errno
import json
import os
import struct
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from models.checkpoint import (
    FORMAT_VERSION,
    METADATA_KEY,
    CheckpointError,
    describe,
    load_checkpoint,
    load_metadata,
    open_model,
    read_metadata,
    save_checkpoint,
    tensor_digest,
)
from models.generative import build_model

# the TorchScript importer is tested on purpose, deprecated or not; the raw-pickle case is
# refused before torch's protocol warning could matter
pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning"),
]

from tests.unit.checkpoint_helpers import (ARCH, CLASSES, CONFIG, _meta, _model, _same_weights, _saved,
                                         _with_raw_metadata)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    """A directory of the test's own (tmp_path also holds the shared config folder)."""
    folder = tmp_path / "t"
    folder.mkdir()
    return folder


# -- round trips -------------------------------------------------------------------------------

def test_save_then_load_is_bit_exact_and_keeps_the_metadata(tmp):
    path, model = _saved(tmp)
    loaded = load_checkpoint(path)
    assert _same_weights(model.net, loaded.net)
    assert all(t.dtype == torch.float32 for t in loaded.net.state_dict().values() if t.is_floating_point())
    assert loaded.kind == "vae" and loaded.latent_shape == (4,) and loaded.image_shape == (1, 28, 28)
    meta = load_metadata(path)
    assert meta.format == FORMAT_VERSION and meta.dtype == "float32" and meta.digest.startswith("sha256:")
    assert replace(meta, dtype="", digest="") == _meta()
    assert read_metadata(path) == meta.to_json()
    assert loaded.metadata["training"]["loss_curve"] == {"loss": [0.9, 0.5, 0.3]}
    assert loaded.metadata["training"]["time_s"] == 125.0
    assert not loaded.net.training
    z = loaded.sample_latent(2, seed=3)
    torch.testing.assert_close(loaded.decode(z), model.decode(z), rtol=0, atol=0)


def test_the_file_holds_one_metadata_key_with_json(tmp):
    path, _ = _saved(tmp)
    with safe_open(str(path), framework="pt") as f:
        raw = f.metadata()
    assert list(raw) == [METADATA_KEY]
    assert json.loads(raw[METADATA_KEY])["architecture"] == ARCH


def test_half_storage_round_trips_within_fp16_tolerance(tmp):
    model = _model()
    full, half = tmp / "full.safetensors", tmp / "half.safetensors"
    save_checkpoint(full, model.net, _meta())
    save_checkpoint(half, model.net, _meta(), half=True)
    stored = load_file(str(half))
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.float16}
    assert half.stat().st_size < 0.6 * full.stat().st_size
    assert read_metadata(half)["dtype"] == "float16"
    loaded = load_checkpoint(half)
    original = model.net.state_dict()
    differs = False
    for key, value in loaded.net.state_dict().items():
        if value.is_floating_point():
            assert value.dtype == torch.float32
            torch.testing.assert_close(value, original[key], rtol=1e-3, atol=1e-5)
            differs |= not torch.equal(value, original[key])
        else:
            assert torch.equal(value, original[key])
    assert differs, "half storage should round weights"


def test_save_is_atomic_and_leaves_no_temp_files(tmp):
    path, first = _saved(tmp)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="JSON"):
        save_checkpoint(path, _model(seed=1).net, _meta(metrics={"bad": object()}))
    assert path.read_bytes() == before
    save_checkpoint(path, _model(seed=1).net, _meta(name="second"))
    assert read_metadata(path)["name"] == "second"
    assert [p.name for p in tmp.iterdir()] == ["m.safetensors"]
    assert not _same_weights(first.net, load_checkpoint(path).net)


def test_save_validates_metadata_and_suffix(tmp):
    net = _model().net
    meta = _meta().to_json()
    del meta["config"]
    with pytest.raises(CheckpointError, match="config"):
        save_checkpoint(tmp / "x.safetensors", net, meta)
    with pytest.raises(CheckpointError, match="kind"):
        save_checkpoint(tmp / "x.safetensors", net, {"architecture": ARCH, "config": {}})
    with pytest.raises(CheckpointError, match=r"\.safetensors"):
        save_checkpoint(tmp / "x.pt", net, _meta())
    assert list(tmp.iterdir()) == []


def test_save_converts_numpy_values_in_metadata(tmp):
    import numpy as np

    path = tmp / "n.safetensors"
    save_checkpoint(path, _model().net, _meta(metrics={"fid": np.float32(2.5), "curve": np.arange(3)}))
    assert read_metadata(path)["metrics"] == {"fid": 2.5, "curve": [0, 1, 2]}


# -- damaged and foreign files -----------------------------------------------------------------

def _damaged(kind: str, good: Path, folder: Path) -> Path:
    path = folder / f"{kind}.safetensors"
    raw = good.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif kind == "truncated-header":
        path.write_bytes(raw[:40])
    elif kind == "text":
        path.write_text("this is a text file, not a checkpoint\n" * 5)
    elif kind == "random":
        path.write_bytes(bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(1),
                                             dtype=torch.uint8).tolist()))
    elif kind == "no-metadata":
        _with_raw_metadata(good, path, None)
    elif kind == "other-metadata":
        _with_raw_metadata(good, path, {"format": "pt"})
    elif kind == "invalid-json":
        _with_raw_metadata(good, path, {METADATA_KEY: "{not json"})
    elif kind == "json-list":
        _with_raw_metadata(good, path, {METADATA_KEY: "[1, 2]"})
    elif kind == "no-version":
        meta = read_metadata(good)
        del meta["format"]
        _with_raw_metadata(good, path, {METADATA_KEY: json.dumps(meta)})
    elif kind == "future-version":
        _with_raw_metadata(good, path, {METADATA_KEY: json.dumps({**read_metadata(good), "format": 99})})
    elif kind == "no-config":
        meta = read_metadata(good)
        del meta["config"]
        _with_raw_metadata(good, path, {METADATA_KEY: json.dumps(meta)})
    elif kind == "bad-shape":
        _with_raw_metadata(good, path, {METADATA_KEY: json.dumps({**read_metadata(good), "image_shape": [28, 28]})})
    else:
        raise AssertionError(kind)
    return path


DAMAGE = {
    "empty": "empty",
    "truncated": "not a readable",
    "truncated-header": "not a readable",
    "text": "not a readable",
    "random": "not a readable",
    "no-metadata": "not a Latent Explorer checkpoint",
    "other-metadata": "not a Latent Explorer checkpoint",
    "invalid-json": "not valid JSON",
    "json-list": "damaged metadata",
    "no-version": "format version",
    "future-version": "upgrade",
    "no-config": "config",
    "bad-shape": "image_shape",
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_or_foreign_files_raise_checkpoint_error(tmp, kind):
    good, _ = _saved(tmp)
    path = _damaged(kind, good, tmp)
    with pytest.raises(CheckpointError, match=DAMAGE[kind]) as info:
        read_metadata(path)
    assert str(path) in str(info.value)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    with pytest.raises(CheckpointError):
        open_model(path)


def test_missing_file_and_directory_raise_checkpoint_error(tmp):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_metadata(tmp / "absent.safetensors")
    with pytest.raises(CheckpointError, match="is a directory, not a regular file"):
        load_checkpoint(tmp)


def test_foreign_safetensors_message_says_how_to_write_the_sidecar(tmp):
    # there is no --architecture option; the sidecar is how a foreign file is described
    good, _ = _saved(tmp)
    path = _damaged("no-metadata", good, tmp)
    with pytest.raises(CheckpointError, match=r"write a sidecar no-metadata\.safetensors\.json") as info:
        open_model(path)
    assert "--architecture" not in str(info.value) and "conv-vae" in str(info.value)
    (tmp / "no-metadata.safetensors.json").write_text(json.dumps({"architecture": ARCH, "config": CONFIG}))
    assert open_model(path).latent_shape == (4,)      # what the message says works


def _header_length(raw: bytes) -> int:
    return 8 + struct.unpack("<Q", raw[:8])[0]


_ORIGINAL: dict[str, bytes] = {}


def _original_bytes() -> bytes:
    # built once: hypothesis calls the test many times and a fixture would be reset per call
    if "raw" not in _ORIGINAL:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "m.safetensors"
            save_checkpoint(path, _model().net, _meta())
            _ORIGINAL["raw"] = path.read_bytes()
    return _ORIGINAL["raw"]


@st.composite
def _mutations(draw):
    raw = _original_bytes()
    header_end = _header_length(raw)
    # most damage aimed at the header (where parsing happens), some anywhere
    position = st.one_of(st.integers(0, header_end - 1), st.integers(0, len(raw) - 1))
    flips = draw(st.lists(st.tuples(position, st.integers(1, 255)), min_size=0, max_size=4))
    cut = draw(st.one_of(st.none(), st.integers(0, len(raw) - 1)))
    if not flips and cut is None:
        flips = [(draw(position), draw(st.integers(1, 255)))]
    data = bytearray(raw)
    for index, mask in flips:
        data[index] ^= mask
    return bytes(data if cut is None else data[:cut])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged=_mutations())
def test_mutated_files_only_ever_raise_checkpoint_error(damaged):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.safetensors"
        path.write_bytes(damaged)
        try:
            model = load_checkpoint(path)
        except CheckpointError as exc:
            assert str(exc)
        else:
            # damage the digest cannot see (in the header's padding or an unused metadata
            # field) leaves the weights as they were saved
            assert tuple(model.latent_shape) == (4,)
            assert _same_weights(model.net, _model().net)


# -- weights that do not fit -------------------------------------------------------------------

def test_tensors_that_do_not_match_the_architecture_raise(tmp):
    path, _ = _saved(tmp)
    tensors = load_file(str(path))
    raw_meta = {METADATA_KEY: json.dumps(read_metadata(path))}

    missing = dict(tensors)
    dropped = sorted(missing)[0]
    del missing[dropped]
    save_file(missing, str(tmp / "missing.safetensors"), metadata=raw_meta)
    with pytest.raises(CheckpointError, match="missing 1") as info:
        load_checkpoint(tmp / "missing.safetensors")
    assert dropped in str(info.value)

    extra = {**tensors, "surprise.weight": torch.zeros(3)}
    save_file(extra, str(tmp / "extra.safetensors"), metadata=raw_meta)
    with pytest.raises(CheckpointError, match="unexpected 1.*surprise.weight"):
        load_checkpoint(tmp / "extra.safetensors")

    other = _model({**CONFIG, "latent_dim": 6}).net.state_dict()
    save_file({k: v.contiguous() for k, v in other.items()}, str(tmp / "shape.safetensors"), metadata=raw_meta)
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_checkpoint(tmp / "shape.safetensors")


def test_non_finite_weights_raise(tmp):
    path, _ = _saved(tmp)
    tensors = load_file(str(path))
    key = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[key][0] = float("nan")
    meta = read_metadata(path)
    del meta["digest"]          # a file saved without a digest: the weights themselves are checked
    save_file(tensors, str(tmp / "nan.safetensors"), metadata={METADATA_KEY: json.dumps(meta)})
    with pytest.raises(CheckpointError, match="NaN") as info:
        load_checkpoint(tmp / "nan.safetensors")
    assert key in str(info.value)


@pytest.mark.parametrize("key, lie", [("image_shape", [1, 32, 32]), ("latent_shape", [5])])
def test_metadata_lying_about_shapes_raises(tmp, key, lie):
    path, _ = _saved(tmp, **{key: lie})
    with pytest.raises(CheckpointError, match=f"metadata says {key}") as info:
        load_checkpoint(path)
    assert str(lie) in str(info.value)


def test_metadata_lying_about_kind_raises(tmp):
    path, _ = _saved(tmp, kind="gan")
    with pytest.raises(CheckpointError, match="kind 'gan'"):
        load_checkpoint(path)


def test_unknown_architecture_raises_listing_the_known_ones(tmp):
    path, _ = _saved(tmp, architecture="stylegan9")
    with pytest.raises(CheckpointError, match="stylegan9") as info:
        load_checkpoint(path)
    assert "conv-vae" in str(info.value) and "unet-ddpm" in str(info.value)


def test_config_the_network_rejects_raises(tmp):
    path, _ = _saved(tmp, config={**CONFIG, "wings": 2})
    with pytest.raises(CheckpointError, match="does not build"):
        load_checkpoint(path)


def test_unavailable_device_raises(tmp):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device exists here")
    path, _ = _saved(tmp)
    with pytest.raises(CheckpointError, match="device"):
        load_checkpoint(path, device="cuda")


# -- dispatch and description ------------------------------------------------------------------

def test_open_model_dispatch_errors(tmp):
    (tmp / "m.ckpt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="unknown model file type"):
        open_model(tmp / "m.ckpt")
    with pytest.raises(CheckpointError, match="no bundled model named 'no-such-model'"):
        open_model("no-such-model")
    with pytest.raises(CheckpointError, match="does not exist"):
        open_model(str(tmp / "absent.safetensors"))


def test_open_model_loads_a_native_checkpoint(tmp):
    path, model = _saved(tmp)
    assert _same_weights(open_model(path).net, model.net)
    assert _same_weights(open_model(str(path)).net, model.net)


def test_describe_summarises_the_metadata(tmp):
    path, _ = _saved(tmp, class_names=CLASSES)
    text = describe(read_metadata(path))
    lines = text.splitlines()
    assert len(lines) > 8
    assert "tiny-vae" in lines[0]
    assert any("vae" in line and ARCH in line for line in lines)
    assert "1x28x28" in text and "(4,)" in text
    assert "2: a, b" in text
    assert "0.9 -> 0.3 over 3 epochs" in text
    assert "fid" in text and "12.5" in text
    assert "2m 05s" in text
    assert "seed" in text and "7" in text


def test_describe_copes_with_minimal_metadata():
    text = describe({"kind": "gan", "architecture": "dcgan", "config": {}})
    assert "dcgan" in text and "unconditional" in text


# -- messages that say what is true -------------------------------------------------------------

def test_a_sidecar_that_is_a_directory_is_named_as_one(tmp):
    torch.save(_model().net.state_dict(), tmp / "w.pt")
    (tmp / "w.pt.json").mkdir()
    with pytest.raises(CheckpointError, match=r"w\.pt\.json, is a directory, not a JSON file; remove it") as info:
        open_model(tmp / "w.pt")
    assert "write a sidecar" not in str(info.value)


def test_an_unreadable_file_says_permission_denied_not_damaged(tmp, monkeypatch):
    path, _ = _saved(tmp)
    path.chmod(0)
    if os.geteuid() == 0:       # root reads anything: refuse the open as the kernel would for others
        real_open = os.open

        def denied(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(os, "open", denied)
    for call in (open_model, read_metadata, load_checkpoint):
        with pytest.raises(CheckpointError, match="permission denied; check the file's permissions") as info:
            call(path)
        assert "damaged" not in str(info.value) and "No such file" not in str(info.value)


def test_a_symlink_loop_says_so(tmp):
    loop = tmp / "loop.safetensors"
    loop.symlink_to(loop)
    with pytest.raises(CheckpointError, match="symbolic link that loops"):
        open_model(loop)


def test_class_names_that_do_not_match_the_classes_are_refused(tmp):
    config = {**CONFIG, "num_classes": 10}
    path = tmp / "c.safetensors"
    save_checkpoint(path, build_model(ARCH, config, {}).net, _meta(config=config, class_names=("a", "b", "c")))
    with pytest.raises(CheckpointError, match=r"3 class_names for 10 classes \(config num_classes\)"):
        load_checkpoint(path)
    torch.save(build_model(ARCH, {**CONFIG, "num_classes": 10}, {}).net.state_dict(), tmp / "c.pt")
    (tmp / "c.pt.json").write_text(json.dumps({"architecture": ARCH, "config": {**CONFIG, "num_classes": 10},
                                               "class_names": ["a", "b"]}))
    with pytest.raises(CheckpointError, match="2 class_names for 10 classes"):
        open_model(tmp / "c.pt")


def test_no_class_names_for_a_conditional_model_are_numbered(tmp):
    config = {**CONFIG, "num_classes": 3}
    model = build_model(ARCH, config, {})
    save_checkpoint(tmp / "c.safetensors", model.net, _meta(config=config))
    loaded = load_checkpoint(tmp / "c.safetensors")
    assert loaded.conditional.class_names == ("class 0", "class 1", "class 2")


@pytest.mark.parametrize("hostile", ["deep", "huge-int", "nan", "inf", "deep-time"])
def test_hostile_metadata_values_are_one_checkpoint_error(tmp, hostile):
    good, _ = _saved(tmp)
    text = json.dumps(read_metadata(good))
    value = {"deep": "[" * 100_000 + "]" * 100_000, "huge-int": "9" * 5000, "nan": "NaN", "inf": "1e999",
             "deep-time": "{\"time\": " + "[" * 900 + "1" + "]" * 900 + "}"}[hostile]
    raw = text[:-1] + f', "metrics": {{"x": {value}}}}}'
    path = _with_raw_metadata(good, tmp / "hostile.safetensors", {METADATA_KEY: raw})
    for call in (read_metadata, load_checkpoint, open_model):
        with pytest.raises(CheckpointError) as info:
            call(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


# -- the digest of the tensor data ---------------------------------------------------------------

def test_saving_records_a_digest_of_the_tensor_data(tmp):
    path, _ = _saved(tmp)
    digest = read_metadata(path)["digest"]
    assert digest == tensor_digest(load_file(str(path))) and len(digest) == len("sha256:") + 64
    half = tmp / "half.safetensors"
    save_checkpoint(half, _model().net, _meta(), half=True)
    assert read_metadata(half)["digest"] == tensor_digest(load_file(str(half))) != digest


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_flipped_byte_in_the_tensor_data_is_reported(tmp, where):
    path, _ = _saved(tmp)
    raw = bytearray(path.read_bytes())
    start = _header_length(bytes(raw))
    index = {"first": start, "middle": (start + len(raw)) // 2, "last": len(raw) - 1}[where]
    raw[index] ^= 0x01
    flipped = tmp / "flipped.safetensors"
    flipped.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="weights were changed or damaged after it was saved"):
        load_checkpoint(flipped)
    with pytest.raises(CheckpointError, match="changed or damaged"):
        open_model(flipped)
    assert read_metadata(flipped)["name"] == "tiny-vae"           # its metadata still reads


def test_a_file_without_a_digest_still_opens(tmp):
    path, model = _saved(tmp)
    meta = read_metadata(path)
    del meta["digest"]
    old = _with_raw_metadata(path, tmp / "old.safetensors", {METADATA_KEY: json.dumps(meta)})
    assert _same_weights(load_checkpoint(old).net, model.net)
    assert "digest:       none" in describe(read_metadata(old))
