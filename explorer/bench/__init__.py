"""`latent-explorer bench`: the speed figures of this machine, as a list of sections.

A section is a function `section(options) -> dict` named in SECTIONS as "module:function"; a
feature adds its own with one line. A section returns `{"name", "figures": [figure(...)],
"notes": [...]}`, or `skipped(name, why)`. Each feature's sections live in a module of this
package; this one holds the options, the helpers they share, and the runner.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# "module:function" of each section, in report order.
SECTIONS: list[str] = [
    "explorer.bench.latent:latent_drag_vae",
    "explorer.bench.latent:latent_drag_dcgan",
    "explorer.bench.latent:cold_start",
    "explorer.bench.compare:compare_map",
    "explorer.bench.interpolation:gif_export",
    "explorer.bench.diffusion:diffusion_run",
    "explorer.bench.together:drag_during_ddpm",
    "explorer.bench.directions:ganspace_cgan",
    "explorer.bench.directions:direction_methods",
    "explorer.bench.throughput:throughput",
    "explorer.bench.upscale:upscale_forward",
    "explorer.bench.translate:translate_forward",
    "explorer.bench.pyramid:lapgan_forward",
    "explorer.bench.decode:decode_budgets",
]


@dataclass
class BenchOptions:
    device: str = "cpu"
    steps: int = 300               # slider steps in the scripted drag
    rate_hz: float = 120.0         # how fast the drag moves (mouse-move events per second)
    events: int = 10_000           # slider events for the memory figure
    models: Path | None = None     # folder to take vae / dcgan from instead of the bundled ones


def figure(name: str, value: float | int, unit: str = "", target: str | None = None,
           ok: bool | None = None) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def skipped(name: str, why: str) -> dict[str, Any]:
    return {"name": name, "skipped": why, "figures": [], "notes": []}


# -- helpers for sections --------------------------------------------------------------------------

def rss_mb() -> float:
    """Resident memory of this process from /proc/self/statm (pages -> MB)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def median_p95_ms(work: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and 95th percentile in ms of `runs` calls of `work`, after ten to warm up."""
    for _ in range(10):
        work()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append(1000 * (time.perf_counter() - began))
    return percentile(times, 50), percentile(times, 95)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def model_file(name: str, options: BenchOptions) -> Path | None:
    if options.models is not None:
        path = options.models / f"{name}.safetensors"
        return path if path.is_file() else None
    import resources

    return resources.bundled_checkpoints().get(name)


@contextlib.contextmanager
def private_config() -> Iterator[Path]:
    """The bench's windows keep their settings and bookmarks away from the user's."""
    old = os.environ.get("LATENT_EXPLORER_CONFIG")
    with tempfile.TemporaryDirectory(prefix="latent-explorer-bench-") as folder:
        os.environ["LATENT_EXPLORER_CONFIG"] = folder
        try:
            yield Path(folder)
        finally:
            if old is None:
                os.environ.pop("LATENT_EXPLORER_CONFIG", None)
            else:
                os.environ["LATENT_EXPLORER_CONFIG"] = old


def qt_app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(sys.argv[:1])


def wait(app, condition: Callable[[], bool], timeout_s: float) -> bool:
    from PySide6.QtCore import QEventLoop

    end = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > end:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.0005)
    return True


class Heartbeat:
    """A 1 ms timer on the UI thread: the longest gap between its beats is the longest stall of
    the event loop while it runs."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        self.restart()
        self._timer.start(1)

    def restart(self) -> None:
        """Forgets the gaps so far: the next one counts from now."""
        self.gaps.clear()
        self._last = time.perf_counter()

    def stop(self) -> None:
        self._timer.stop()

    def longest_ms(self) -> float:
        return max(self.gaps) * 1000 if self.gaps else float("nan")

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now


# -- the runner ------------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(),
                            "cpus": os.cpu_count()}
    try:
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def load_section(spec: str) -> Callable[[BenchOptions], dict[str, Any]]:
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


def run_sections(options: BenchOptions, only: list[str] | None = None) -> list[dict[str, Any]]:
    report = []
    for spec in SECTIONS:
        if only and not any(word in spec for word in only):
            continue
        try:
            section = load_section(spec)
        except (ImportError, AttributeError) as e:
            report.append(skipped(spec, f"cannot load this section: {e}"))
            continue
        try:
            report.append(section(options))
        except Exception as e:  # noqa: BLE001 - one broken section must not hide the others
            report.append(skipped(spec, f"failed: {type(e).__name__}: {e}"))
    return report


def print_report(report: list[dict[str, Any]], host: dict[str, Any]) -> None:
    print(f"latent-explorer bench — Python {host['python']}, torch {host.get('torch', '?')} "
          f"({host.get('torch_threads', '?')} threads), {host.get('cpus_usable', host['cpus'])} CPUs usable")
    for section in report:
        print(f"\n{section['name']}")
        if section.get("skipped"):
            print(f"  skipped: {section['skipped']}")
            continue
        width = max((len(f["name"]) for f in section["figures"]), default=0)
        for f in section["figures"]:
            mark = "" if f["ok"] is None else ("  ok" if f["ok"] else "  MISSED")
            target = f"  (target {f['target']})" if f["target"] else ""
            unit = f" {f['unit']}" if f["unit"] else ""
            print(f"  {f['name']:<{width}}  {f['value']}{unit}{target}{mark}")
        for note in section.get("notes", []):
            print(f"  · {note}")
