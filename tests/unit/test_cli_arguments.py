"""Impossible arguments are refused up front, by the shared argument types, before any model is
opened: the model named here does not exist, so a message about anything else than the argument
means the argument got through."""
from __future__ import annotations

import argparse

import pytest

from explorer.cli import main
from explorer.commands.arguments import MAX_SEED, class_index, real, seed, seed_or_name, whole
from explorer.commands import CommandError

MISSING = "/nonexistent/model.safetensors"


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def refused(capsys, argv: list[str], option: str) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"argument {option}:" in err and "Traceback" not in err
    assert "does not exist" not in err      # refused before the model was looked for
    return err


@pytest.mark.parametrize("argv", [
    ["sample", MISSING, "out.png", "--seed", "-1"],
    ["denoise", "--model", MISSING, "--seed", "-1", "out.gif"],
    ["evaluate", MISSING, "--seed", "-1"],
    ["compare", MISSING, MISSING, "--seed", "-1"],
    ["train", "vae", "--out", "/nonexistent/x.safetensors", "--seed", "-1"],
])
def test_a_negative_seed_is_refused_by_every_command(capsys, argv):
    err = refused(capsys, argv, "--seed")
    assert f"from 0 to {MAX_SEED}" in err and "'-1'" in err


@pytest.mark.parametrize("option", ["--from", "--to", "--via"])
@pytest.mark.parametrize("value", ["-1", "1" * 31, str(MAX_SEED + 1)])
def test_export_gif_endpoints_are_bounded_seeds(capsys, out, option, value):
    argv = ["export-gif", "--model", MISSING, "--from", "1", "--to", "2", option, value, str(out / "x.gif")]
    err = refused(capsys, argv, option)
    assert f"from 0 to {MAX_SEED}" in err and "Overflow" not in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("args, option", [
    (["--guidance", "nan"], "--guidance"),
    (["--guidance", "inf"], "--guidance"),
    (["--guidance", "-1"], "--guidance"),
    (["--eta", "nan"], "--eta"),
    (["--eta", "5"], "--eta"),
    (["--eta", "-0.1"], "--eta"),
    (["--steps", "0"], "--steps"),
    (["--steps", "9" * 40], "--steps"),
    (["--fps", "nan"], "--fps"),
    (["--batch", "17"], "--batch"),
])
def test_denoise_refuses_impossible_numbers(capsys, out, args, option):
    refused(capsys, ["denoise", "--model", MISSING, *args, str(out / "x.gif")], option)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("argv, option", [
    (["sample", MISSING, "x.png", "--guidance", "nan"], "--guidance"),
    (["sample", MISSING, "x.png", "--count", "0"], "--count"),
    (["export-gif", "--model", MISSING, "--from", "1", "--to", "2", "--fps", "inf", "x.gif"], "--fps"),
    (["evaluate", MISSING, "--samples", "1"], "--samples"),
    (["compare", MISSING, MISSING, "--batch-size", "0"], "--batch-size"),
    (["train", "vae", "--out", "/nonexistent/x.safetensors", "--lr", "nan"], "--lr"),
    (["train", "vae", "--out", "/nonexistent/x.safetensors", "--epochs", "0"], "--epochs"),
])
def test_other_commands_refuse_impossible_numbers(capsys, argv, option):
    refused(capsys, argv, option)


def test_evaluate_refuses_a_non_finite_guidance_scale_in_its_list(capsys):
    assert main(["evaluate", MISSING, "--guidance", "0,nan,2"]) == 2
    err = capsys.readouterr().err
    assert "--guidance" in err and "finite" in err and "does not exist" not in err


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e400", "abc", "", "0x10", "1" * 5000])
def test_real_refuses_non_finite_and_non_numbers(text):
    with pytest.raises(argparse.ArgumentTypeError):
        real(0, 1e300)(text)


@pytest.mark.parametrize("text", ["-1", "1.5", "1e3", "abc", "", "٣", "1" * 5000, str(MAX_SEED + 1)])
def test_seed_refuses_what_is_not_a_bounded_whole_number(text):
    with pytest.raises(argparse.ArgumentTypeError):
        seed(text)


def test_the_types_take_what_is_in_range():
    assert seed("0") == 0 and seed(f" {MAX_SEED} ") == MAX_SEED
    assert whole(2, 4)("3") == 3 and real(0, 1)("0.25") == 0.25
    assert real(0, 1, above=True)("1") == 1.0
    with pytest.raises(argparse.ArgumentTypeError):
        real(0, 1, above=True)("0")
    assert seed_or_name("12") == 12 and seed_or_name("home") == "home"


class _Classes:
    num_classes = 3
    class_names = ("Cat", "Dog", "Bird")


def test_class_index_takes_a_bounded_index_or_a_name():
    assert class_index("2", _Classes()) == 2 and class_index("dog", _Classes()) == 1
    assert class_index(None, None) is None
    for bad, message in (("3", "does not exist"), ("9" * 40, "does not exist"), ("-1", "does not exist"),
                         ("Fish", "unknown class")):
        with pytest.raises(CommandError, match=message):
            class_index(bad, _Classes())
    with pytest.raises(CommandError, match="unconditional"):
        class_index("1", None)
