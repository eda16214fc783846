"""Progress on stderr (explorer/commands/progress.py): whole lines when stderr is not a terminal,
one bar redrawn in place on a terminal, and every long command shows it."""
from __future__ import annotations

import io
import re

import pytest

from explorer.cli import main
from explorer.commands import progress as progress_module
from explorer.commands.progress import duration, progress


@pytest.fixture
def every_update_a_line(monkeypatch):
    monkeypatch.setattr(progress_module, "LINE_INTERVAL_S", 0.0)


def counts(text: str, what: str) -> list[tuple[int, str]]:
    """(done, total) of each progress line that starts with `what`."""
    found = []
    for line in text.splitlines():
        m = re.match(re.escape(what) + r".*?(\d+)/(\d+|\?)", line)
        if m:
            found.append((int(m.group(1)), m.group(2)))
    return found


def rising_to_the_total(seen: list[tuple[int, str]]) -> bool:
    done = [d for d, _ in seen]
    return len(done) >= 2 and done == sorted(set(done)) and str(done[-1]) == seen[-1][1]


def test_a_log_gets_whole_lines_with_a_rising_count(every_update_a_line):
    log = io.StringIO()
    with progress("sampling", 40, unit="steps", file=log) as show:
        for done in range(0, 41, 10):
            show(done, loss=0.5)
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    assert counts(text, "sampling") == [(d, "40") for d in (0, 10, 20, 30, 40)]
    assert "loss=0.5" in text.splitlines()[-1]


def test_a_log_gets_a_line_at_the_start_and_the_end_and_none_between_within_the_interval():
    log = io.StringIO()          # the default interval: 10 s
    with progress("encoding", 1000, file=log) as show:
        for done in range(1, 1001):
            show(done)
    assert counts(log.getvalue(), "encoding") == [(0, "1000"), (1000, "1000")]


def test_the_total_and_the_description_can_change_on_the_way(every_update_a_line):
    log = io.StringIO()
    with progress("working", file=log) as show:
        show(2)
        show(5, 10, "decoding frames")
    lines = log.getvalue().splitlines()
    assert lines[1].startswith("working: 2 it")
    assert lines[-2].startswith("decoding frames:  50% 5/10")
    assert lines[-1].startswith("decoding frames: 100% 10/10")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_line_redrawn_in_place():
    screen = Terminal()
    with progress("training", 3, unit="steps", file=screen) as show:
        for done in (1, 2, 3):
            show(done)
    text = screen.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert "\r" in text and "3/3" in text.rsplit("\r", 1)[-1]


def test_durations_read_as_clock_times():
    assert duration(62) == "01:02"
    assert duration(3725) == "1:02:05"


def test_sample_of_a_ddpm_shows_its_steps_on_stderr(every_update_a_line, capsys, tiny_models, tmp_path):
    assert main(["sample", str(tiny_models["ddpm"]), str(tmp_path / "grid.png"), "--count", "2",
                 "--ddim-steps", "4"]) == 0
    seen = counts(capsys.readouterr().err, "sampling ddpm")
    assert rising_to_the_total(seen) and seen[-1] == (4, "4")


def test_evaluate_and_train_show_progress_on_stderr(every_update_a_line, capsys, tiny_models, idx_data, tmp_path):
    assert main(["evaluate", str(tiny_models["dcgan"]), "--classifier", str(tiny_models["classifier"]),
                 "--data", str(idx_data), "--samples", "12", "--batch-size", "4", "--json"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("{") and rising_to_the_total(counts(err, "evaluating dcgan"))

    assert main(["train", "vae", "--data", str(idx_data), "--epochs", "2", "--batch-size", "20",
                 "--arch", '{"base_channels": 4}', "--latent-dim", "2", "--out", str(tmp_path / "v.safetensors")]) == 0
    err = capsys.readouterr().err
    seen = counts(err, "training vae")
    assert rising_to_the_total(seen) and seen[-1] == (4, "4")     # 2 epochs of 2 steps
    assert "epoch=2/2" in err.splitlines()[-1] or "epoch=2/2" in err


def test_denoise_shows_its_steps_unless_quiet(every_update_a_line, capsys, tiny_models, tmp_path):
    args = ["denoise", "--model", str(tiny_models["ddpm"]), "--steps", "3", str(tmp_path / "run.gif")]
    assert main(args) == 0
    assert rising_to_the_total(counts(capsys.readouterr().err, "denoising with ddpm"))
    assert main(args + ["--quiet"]) == 0
    assert counts(capsys.readouterr().err, "denoising") == []


def test_no_bench_section_name_contains_another():
    from explorer.bench import SECTIONS    # the bench command runs the sections one at a time by name

    assert all(sum(name in other for other in SECTIONS) == 1 for name in SECTIONS)


def test_a_finished_block_ends_at_its_total_and_a_failed_one_where_it_stopped(every_update_a_line):
    log = io.StringIO()
    with progress("exporting", 33, unit="frames", file=log) as show:
        show(32)                  # the last stage reported no count of its own
    assert counts(log.getvalue(), "exporting")[-1] == (33, "33")
    log = io.StringIO()
    with pytest.raises(KeyboardInterrupt), progress("exporting", 33, unit="frames", file=log) as show:
        show(5)
        raise KeyboardInterrupt
    assert counts(log.getvalue(), "exporting")[-1] == (5, "33")
