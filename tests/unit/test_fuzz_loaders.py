"""Fuzzing the loaders: every mutant of a model file (bytes, metadata JSON, sidecars) gives a
model or one CheckpointError, never another exception, a hang or gigabytes of memory.

The mutants run in a child process (tests/unit/fuzz_loaders.py) that caps its own address space
and raises an alarm for any mutant taking over 20 s; the test gives the child a time limit too.
The default run makes 900 mutants in about fifteen seconds; the slow one makes 6,000.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).with_name("fuzz_loaders.py")
ROOT = Path(__file__).resolve().parents[2]


def _fuzz(tmp_path: Path, examples: int, seed: int, timeout: int) -> dict:
    report = tmp_path / "report.json"
    try:
        child = subprocess.run([sys.executable, str(FUZZ), "--examples", str(examples), "--seed", str(seed),
                                "--report", str(report)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the fuzz took more than {timeout} s: a mutant hung the loader")
    assert child.returncode == 0 and report.exists(), child.stderr[-3000:]
    return json.loads(report.read_text())


def _check(report: dict, examples: int) -> None:
    problems = [f"{u['source']} mutant of the {u['seed']} file: {u['exception']}\n{u['traceback']}"
                for u in report["uncaught"][:3]]
    assert report["uncaught"] == [], "\n\n".join(problems)
    assert report["mutants"] == 3 * examples == report["models"] + report["checkpoint_errors"]
    # both outcomes occur, so the mutants reach every stage of loading rather than all failing early
    assert report["models"] > 0 and report["checkpoint_errors"] > 0
    assert report["peak_growth_mib"] < 500


def test_fuzzed_model_files_give_a_model_or_one_checkpoint_error(tmp_path):
    report = _fuzz(tmp_path, examples=300, seed=0, timeout=240)
    _check(report, 300)


@pytest.mark.slow
def test_thousands_of_fuzzed_model_files_give_a_model_or_one_checkpoint_error(tmp_path):
    report = _fuzz(tmp_path, examples=2000, seed=12, timeout=1800)
    _check(report, 2000)
    print(f"\nfuzz: {report['mutants']} mutants, {report['models']} models, {report['checkpoint_errors']} "
          f"CheckpointErrors, {len(report['uncaught'])} uncaught, peak memory +{report['peak_growth_mib']} MiB, "
          f"{report['seconds']} s")
