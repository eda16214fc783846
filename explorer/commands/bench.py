"""`latent-explorer bench [--json]`: the speed figures of this machine.

The report is a list of sections. A section is a function `section(options) -> dict` somewhere in
the code base, named in SECTIONS as "module:function"; a feature adds its own with one line.
A section returns `{"name", "figures": [figure(...)], "notes": [...]}`, or `skipped(name, why)`.

The sections here measure the latent panel in the real window, offscreen: slider-to-frame latency
over a scripted drag, the longest stall of the event loop, frames shown out of order, the cold
start of the app, and memory growth over many slider events.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.commands import fail, print_json

# "module:function" of each section, in report order.
SECTIONS: list[str] = [
    "explorer.commands.bench:latent_drag_vae",
    "explorer.commands.bench:latent_drag_dcgan",
    "explorer.commands.bench:cold_start",
    "explorer.commands.bench_compare:compare_map",
    "explorer.commands.export_gif:gif_export",
    "explorer.commands.bench_diffusion:diffusion_run",
]

# Targets of the latent panel (issue "Explorer window").
MAX_OVER_MODEL_MS = 3.0       # median latency <= median model time + this
MAX_P99_MS = 16.0
MAX_STALL_MS = 16.0
MAX_COLD_START_S = 3.0
MAX_RSS_GROWTH_MB = 50.0


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


# -- helpers ---------------------------------------------------------------------------------------

def rss_mb() -> float:
    """Resident memory of this process from /proc/self/statm (pages -> MB)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


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


# -- the latent drag ------------------------------------------------------------------------------

def latent_drag_vae(options: BenchOptions) -> dict[str, Any]:
    return latent_drag("vae", options)


def latent_drag_dcgan(options: BenchOptions) -> dict[str, Any]:
    return latent_drag("dcgan", options)


def latent_drag(name: str, options: BenchOptions) -> dict[str, Any]:
    title = f"latent drag: {name}"
    path = model_file(name, options)
    if path is None:
        where = options.models or "resources/checkpoints"
        return skipped(title, f"the bundled model {name!r} is missing ({where}/{name}.safetensors); "
                              f"train it with `latent-explorer train` first")
    with private_config():
        return _latent_drag(title, name, path, options)


def _latent_drag(title: str, name: str, path: Path, options: BenchOptions) -> dict[str, Any]:
    from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer

    from explorer.context import AppContext
    from explorer.views.main_window import MainWindow

    app = qt_app()
    bundled = {p.stem: p for p in sorted(path.parent.glob("*.safetensors"))}
    context = AppContext(device=options.device, bundled=bundled)
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    panel = window.latent_panel
    window.show_view("latent")
    try:
        context.open_model(name)
        if not wait(app, lambda: panel.frames_shown > 0 and panel.image_view.painted_tag is not None, 60):
            return skipped(title, f"no frame was shown within 60 s (status: {window.statusBar().currentMessage()})")
        if panel.last_result is not None and not panel.last_result.ok:
            return skipped(title, f"the model failed: {panel.last_result.error}")

        submitted: dict[int, float] = {}
        painted: dict[int, float] = {}
        order: list[int] = []
        model_s: dict[int, float] = {}

        def on_painted(tag: int) -> None:
            painted[tag] = time.perf_counter()
            order.append(tag)

        def on_shown(result) -> None:
            model_s[result.request_id] = result.elapsed_s

        panel.image_view.frame_painted.connect(on_painted)
        panel.frame_shown.connect(on_shown)
        slider = panel.dim_sliders[0].slider
        lo, hi = slider.minimum(), slider.maximum()

        def value(i: int) -> int:
            # Back and forth across the whole range, about two sweeps for 300 steps.
            span = hi - lo
            phase = (i * 4 * span // max(options.steps, 1)) % (2 * span)
            return lo + (phase if phase <= span else 2 * span - phase)

        # Warm-up, not measured: first calls allocate.
        for i in range(20):
            slider.setValue(value(i))
            wait(app, lambda: panel.shown_id >= panel.last_request_id, 10)
        gc.collect()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        wait(app, lambda: False, 0.3)     # let deferred work (status bar refresh...) happen first

        # The drag: one slider move per timer tick, a heartbeat timer measuring the event loop.
        gaps: list[float] = []
        last_beat = [time.perf_counter()]

        def beat() -> None:
            now = time.perf_counter()
            gaps.append(now - last_beat[0])
            last_beat[0] = now

        heartbeat = QTimer()
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.timeout.connect(beat)
        step = [0]
        loop = QEventLoop()

        def move() -> None:
            if step[0] >= options.steps:
                driver.stop()
                loop.quit()
                return
            t0 = time.perf_counter()
            slider.setValue(value(step[0] + 1000))
            submitted[panel.last_request_id] = t0
            step[0] += 1

        driver = QTimer()
        driver.setTimerType(Qt.TimerType.PreciseTimer)
        driver.timeout.connect(move)
        slider.setSliderDown(True)
        ui_cpu, process_cpu, wall = time.thread_time(), time.process_time(), time.perf_counter()
        last_beat[0] = time.perf_counter()
        heartbeat.start(1)
        driver.start(max(1, round(1000 / options.rate_hz)))
        loop.exec()
        last_id = panel.last_request_id
        wait(app, lambda: panel.image_view.painted_tag is not None and panel.image_view.painted_tag >= last_id, 10)
        heartbeat.stop()
        ui_cpu = time.thread_time() - ui_cpu
        process_cpu = time.process_time() - process_cpu
        wall = time.perf_counter() - wall
        slider.setSliderDown(False)

        shown = [i for i in submitted if i in painted]
        latency_ms = [(painted[i] - submitted[i]) * 1000 for i in shown]
        model_ms = [model_s[i] * 1000 for i in shown if i in model_s]
        median_latency = statistics.median(latency_ms) if latency_ms else float("nan")
        median_model = statistics.median(model_ms) if model_ms else float("nan")
        p99 = percentile(latency_ms, 99)
        stall_ms = max(gaps) * 1000 if gaps else float("nan")

        # Memory over many slider events (processed as a fast drag would be).
        gc.collect()
        wait(app, lambda: False, 0.2)
        before = rss_mb()
        for i in range(options.events):
            slider.setValue(value(i))
            if i % 8 == 0:
                app.processEvents()
        last_id = panel.last_request_id
        wait(app, lambda: panel.shown_id >= last_id, 20)
        gc.collect()
        wait(app, lambda: False, 0.2)
        growth = rss_mb() - before
        # Over the drag and the memory run: a painted frame older than the one before it.
        out_of_order = sum(1 for a, b in zip(order, order[1:]) if b < a)
        renders = len(order)

        figures = [
            figure("slider-to-frame latency, median", round(median_latency, 2), "ms",
                   f"<= model time + {MAX_OVER_MODEL_MS:g} ms",
                   median_latency <= median_model + MAX_OVER_MODEL_MS),
            figure("slider-to-frame latency, p99", round(p99, 2), "ms", f"<= {MAX_P99_MS:g} ms", p99 <= MAX_P99_MS),
            figure("model time on the worker, median", round(median_model, 2), "ms"),
            figure("model time on the worker, p99", round(percentile(model_ms, 99), 2), "ms"),
            figure("longest event-loop stall during the drag", round(stall_ms, 2), "ms",
                   f"<= {MAX_STALL_MS:g} ms", stall_ms <= MAX_STALL_MS),
            figure("frames painted / slider steps", f"{len(shown)}/{options.steps}"),
            # Where the time goes when the cores are shared: the UI thread's own CPU per step
            # (handling the event, the request, the frame and the paint; the heartbeat timer
            # adds a little), and the whole process's CPU use against the wall clock.
            figure("UI-thread CPU per slider step", round(ui_cpu / max(options.steps, 1) * 1000, 2), "ms"),
            figure("process CPU use during the drag", round(process_cpu / wall * 100), "% of one core"),
            figure("out-of-order frames shown (drag and memory run)", out_of_order, "", "0", out_of_order == 0),
            figure(f"resident memory growth over {options.events} slider events", round(growth, 1), "MB",
                   f"< {MAX_RSS_GROWTH_MB:g} MB", growth < MAX_RSS_GROWTH_MB),
        ]
        info = context.current
        notes = [f"model {info.name if info else name}: {info.summary() if info else ''}; "
                 f"device {context.device}; drag at {options.rate_hz:g} Hz over z0; "
                 f"classifier {'on' if panel._classifier() else 'off'}; {renders} frames painted in all"]
        return {"name": title, "figures": figures, "notes": notes}
    finally:
        window.close()
        context.shutdown()
        window.deleteLater()
        # Delete it now: left for the next event loop, tearing the window down would show up as
        # a stall in the next section's measurement.
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()


# -- cold start -----------------------------------------------------------------------------------

def cold_start(options: BenchOptions) -> dict[str, Any]:
    """From launching `latent-explorer` to its first image painted, in a fresh process."""
    title = "cold start"
    path = model_file("vae", options)
    if path is None:
        return skipped(title, "the bundled model 'vae' is missing; train it with `latent-explorer train` first")
    from explorer.app import FIRST_FRAME_ENV

    with tempfile.TemporaryDirectory(prefix="latent-explorer-bench-") as folder:
        stamp = Path(folder) / "first-frame"
        env = {**os.environ, FIRST_FRAME_ENV: str(stamp), "LATENT_EXPLORER_CONFIG": folder,
               "QT_QPA_PLATFORM": "offscreen"}
        root = Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "explorer", "--screenshot", str(Path(folder) / "shot.png"),
                   "--model", str(path), "--device", options.device]
        times, totals = [], []
        for _ in range(3):
            stamp.unlink(missing_ok=True)
            started = time.time()
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            totals.append(time.time() - started)
            if done.returncode != 0 or not stamp.exists():
                return skipped(title, f"the app did not paint a frame (exit {done.returncode}): "
                                      f"{done.stderr.strip()[-300:]}")
            times.append(float(stamp.read_text()) - started)
    best, median = min(times), statistics.median(times)
    return {"name": title, "figures": [
        figure("launch to first image painted, median of 3", round(median, 2), "s",
               f"<= {MAX_COLD_START_S:g} s", median <= MAX_COLD_START_S),
        figure("launch to first image painted, best of 3", round(best, 2), "s"),
        figure("whole screenshot run (start, paint, save, exit), median", round(statistics.median(totals), 2), "s"),
    ], "notes": [f"python -m explorer --screenshot --model {path.name}; the interpreter, torch and Qt "
                 f"start from scratch each time (files may be in the OS cache)"]}


# -- the command ----------------------------------------------------------------------------------

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


def run(args: argparse.Namespace) -> int:
    models = Path(args.models) if args.models else None
    if models is not None and not models.is_dir():
        return fail(f"--models {models} is not a folder")
    options = BenchOptions(device=args.bench_device, steps=args.steps, rate_hz=args.rate, events=args.events,
                           models=models)
    host = machine()
    report = run_sections(options, args.only)
    if args.json:
        print_json({"machine": host, "sections": report})
    else:
        print_report(report, host)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure this machine's speed figures (latency, stalls, start-up, memory)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--only", nargs="+", metavar="WORD", help="run only the sections whose name contains WORD")
    p.add_argument("--device", dest="bench_device", metavar="DEVICE", default="cpu",
                   help="device for inference (default: cpu)")
    p.add_argument("--steps", type=int, default=300, help="slider steps in the scripted drag (default: 300)")
    p.add_argument("--rate", type=float, default=120.0, help="drag speed in slider events per second (default: 120)")
    p.add_argument("--events", type=int, default=10_000, help="slider events for the memory figure (default: 10000)")
    p.add_argument("--models", metavar="DIR", help="take vae.safetensors / dcgan.safetensors from DIR "
                                                  "instead of the bundled models")
    p.set_defaults(func=run)
