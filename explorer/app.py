"""Starting the GUI: the application, the shared context, the main window, and the offscreen
screenshot mode (`--screenshot OUT.png [--view NAME]`), which renders the window, saves a PNG
as soon as the first image is on screen (or an error is shown) and exits."""
from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.context import AppContext

SCREENSHOT_TIMEOUT_S = 60.0
SCREENSHOT_SIZE = (1280, 800)
# A screenshot waits until no view has waited for the worker for this long (a view asks for its
# pictures once it is shown).
SETTLE_S = 0.3
# Set to a file path to have the time of the first painted frame (time.time()) written there:
# `latent-explorer bench` measures the cold start with it.
FIRST_FRAME_ENV = "LATENT_EXPLORER_FIRST_FRAME_FILE"
# Python runs signal handlers between bytecodes only; while Qt's loop waits in C++ none would run,
# so a timer calls into Python this often.
SIGNAL_CHECK_MS = 250
BOOKMARKS_FLUSH_S = 10.0     # the last bookmark edits are written before the app ends


def missing_display() -> str | None:
    """Why a window cannot open here, or None. Qt itself aborts the process (exit 134) without a
    display, after a hint about a library that is not the problem."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or platform not in ("", "xcb", "wayland"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("there is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set). "
            "Start it from a desktop session, save a picture of the window with "
            "`latent-explorer --screenshot OUT.png`, or set QT_QPA_PLATFORM=offscreen")


def run(args: argparse.Namespace) -> int:
    if args.screenshot:
        # Must happen before the QApplication exists.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        if not args.keep_settings:
            return _with_default_settings(lambda: _run_app(args))
    else:
        problem = missing_display()
        if problem:
            print(f"latent-explorer: {problem}", file=sys.stderr)
            return 1
    return _run_app(args)


def _with_default_settings(run_app: Callable[[], int]) -> int:
    """Runs the app with a fresh settings folder: a screenshot shows the defaults, not the last
    session's window, models and choices."""
    import tempfile

    from explorer.settings import CONFIG_ENV_VAR

    before = os.environ.get(CONFIG_ENV_VAR)
    with tempfile.TemporaryDirectory(prefix="latent-explorer-screenshot-") as folder:
        os.environ[CONFIG_ENV_VAR] = folder
        try:
            return run_app()
        finally:
            if before is None:
                os.environ.pop(CONFIG_ENV_VAR, None)
            else:
                os.environ[CONFIG_ENV_VAR] = before


def _run_app(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Explorer")
    app.setOrganizationName("latent-explorer")
    app.setApplicationDisplayName("Latent Explorer")

    from explorer.context import AppContext

    context = AppContext(device=args.device)
    try:
        code = _run_window(app, context, args)
    except BaseException:
        # A start-up error: its traceback must reach the user even when the worker, still
        # loading the first model, cannot be stopped in time
        _stop(context)
        if context.stuck:
            traceback.print_exc()
            _leave(1)
        raise
    _stop(context)
    if context.stuck:
        _leave(code)
    return code


def _stop(context: AppContext) -> None:
    """Whatever happened, stop the worker: a QThread destroyed while it runs aborts the process
    (exit 134) and hides the message of what went wrong."""
    context.bookmarks.flush(BOOKMARKS_FLUSH_S)
    context.shutdown()


def _leave(code: int) -> None:
    """Ends the process at once. The worker is inside one long call of a model (stop() waited about
    a second): nothing of it is wanted any more, and waiting would keep the closed window's
    process alive, or abort it when the thread object is destroyed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _run_window(app, context, args: argparse.Namespace) -> int:
    # Start loading before the window is built: the worker reads weights while widgets are made.
    source = args.model or context.default_model()
    unopenable = None
    if source is not None:
        try:
            context.open_model(source)
        except (OSError, RuntimeError) as e:   # a path that cannot even be resolved, e.g. a symlink loop
            unopenable = f"Cannot open {source}: {_path_problem(e)}"

    from explorer.views.main_window import MainWindow

    view = getattr(args, "view", None) or "latent"
    if args.model and view == "compare" and unopenable is None:
        # the compare view shows the model asked for in its right column
        context.settings.setValue("compare/right/model", context.resolve_source(args.model))
    window = MainWindow(context)
    failures: list[str] = []
    context.model_failed.connect(failures.append)
    if unopenable:
        context.model_failed.emit(unopenable)
    if not window.show_view(view):
        window.close()
        print(f"latent-explorer: no view named {view!r} (views: {', '.join(window.view_names())})",
              file=sys.stderr)
        return 2
    _report_first_frame(window)
    with _close_on_signals(app, window) as received:
        if args.screenshot:
            code = _screenshot(app, window, args.screenshot, view,
                               expect_frame=source is not None and unopenable is None)
        else:
            window.show()
            code = app.exec()
        context.shutdown()
    if received:
        # a worker that did not stop in time may still be writing: none of it is kept
        from models.atomic import abandon_writes

        abandon_writes()
        return 128 + received[0]
    if args.screenshot and failures and code == 0:
        print(f"latent-explorer: the model could not be opened: {failures[-1]}", file=sys.stderr)
        return 1
    return int(code)


def _path_problem(e: OSError | RuntimeError) -> str:
    # pathlib reports a loop as RuntimeError("Symlink loop from ..."), the system as ELOOP
    if getattr(e, "errno", None) == errno.ELOOP or "symlink loop" in str(e).lower():
        return "it is a symbolic link that loops (or a chain of too many links); point it at a real file"
    return getattr(e, "strerror", None) or str(e)


@contextmanager
def _close_on_signals(app, window) -> Iterator[list[int]]:
    """While the block runs, SIGINT and SIGTERM close the window as File > Quit does (settings
    saved, the worker stopped, a running export cancelled and its temporary file removed) and end
    the event loop. Yields the list the numbers of the signals received are added to."""
    from PySide6.QtCore import QTimer

    received: list[int] = []

    def close(signum: int, _frame: object) -> None:
        received.append(signum)
        QTimer.singleShot(0, lambda: (window.close(), app.exit(128 + signum)))

    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(SIGNAL_CHECK_MS)
    previous = {signum: signal.signal(signum, close) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        wake.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _report_first_frame(window) -> None:
    target = os.environ.get(FIRST_FRAME_ENV)
    if not target:
        return
    from models.atomic import atomic_write_text

    panel = window.latent_panel

    def painted(_tag: int) -> None:
        panel.image_view.frame_painted.disconnect(painted)
        atomic_write_text(target, repr(time.time()))

    panel.image_view.frame_painted.connect(painted)


def _screenshot(app, window, out: str, view: str, expect_frame: bool) -> int:
    """Shows the window offscreen until it is worth a picture, saves it and closes it.

    The picture is taken once the model is open (or an error is shown), the latent view has
    painted its first image, a diffusion view has finished a run, and no view has waited for the
    worker for a moment: nothing is left "Computing…"."""
    from PySide6.QtCore import QEventLoop, QTimer

    window.resize(*SCREENSHOT_SIZE)
    window.show()
    loop = QEventLoop()
    state = {"painted": False, "opened": not expect_frame, "error": False, "idle_since": time.perf_counter()}
    panel = window.latent_panel
    context = window.context

    def painted(_tag: int) -> None:
        state["painted"] = True

    def opened(_info) -> None:
        state["opened"] = True

    def failed(*_args) -> None:
        state["error"] = True

    def ran(_result) -> None:
        state["ran"] = True

    def start_run(_model) -> None:
        window.diffusion_panel.model_changed.disconnect(start_run)
        window.diffusion_panel.run()

    if view == "diffusion":   # a picture of the diffusion view shows a finished run
        state["ran"] = False
        window.diffusion_panel.run_finished.connect(ran)
        window.diffusion_panel.model_changed.connect(start_run)
    panel.image_view.frame_painted.connect(painted)
    panel.error_shown.connect(failed)
    context.model_opened.connect(opened)
    context.model_failed.connect(failed)
    started = time.perf_counter()

    def ready() -> bool:
        if state["error"]:
            return True
        if not state["opened"] or not state.get("ran", True):
            return False
        if view == "latent" and expect_frame and not state["painted"]:
            return False
        return time.perf_counter() - state["idle_since"] > SETTLE_S

    def check() -> None:
        if context.busy():
            state["idle_since"] = time.perf_counter()
        if ready() or time.perf_counter() - started > SCREENSHOT_TIMEOUT_S:
            loop.quit()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(20)
    loop.exec()
    timer.stop()
    app.processEvents()
    code = 0
    try:
        window.save_screenshot(out)
        print(out)
    except OSError as e:
        print(f"latent-explorer: could not save the screenshot: {e}", file=sys.stderr)
        code = 2
    if not ready():
        print("latent-explorer: the view was not ready before the timeout; the screenshot shows the "
              "window as it was", file=sys.stderr)
    window.close()
    return code
