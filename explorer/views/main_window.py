"""The main window: the model library on the left, the views as tabs, menus and a status bar.

Models open from File > Open, the recent-files menu, the library, or a file dropped on the window.
A model that cannot be opened shows its message in a banner above the views; the app goes on.
"""
from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QFrame, QLabel, QMainWindow,
                               QMenu, QMessageBox, QProgressBar, QScrollArea, QTabWidget, QVBoxLayout,
                               QWidget)

from explorer.context import AppContext
from explorer.settings import setting, settings_problems
from explorer.model_info import ModelInfo
from explorer.views.banner import Banner
from explorer.views.compare import ComparePanel, shown_here as compare_shows
from explorer.views.diffusion import DiffusionPanel
from explorer.views.interpolation import InterpolationPanel
from explorer.views.latent_panel import LatentPanel
from explorer.views.model_library import ModelLibrary
from explorer.views.plain_text import plain_label, plain_tooltip
from explorer.views.translate import TranslatePanel
from explorer.views.translate_actions import translate_actions
from explorer.views.upscale import UpscalePanel
from explorer.views.upscale_actions import upscale_actions
from explorer.worker import JobProgress
from models.atomic import atomic_path

MODEL_FILTER = "Models (*.safetensors *.pt *.pth *.pt2);;All files (*)"
MODEL_SUFFIXES = (".safetensors", ".pt", ".pt2", ".pth")
PATH_SUFFIXES = (".gif", ".png")   # exported interpolations (GIF or filmstrip) that carry their path
STATUS_REFRESH_MS = 200     # status-bar figures change at most this often (each change repaints)

class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Latent Explorer")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self._views: dict[str, QWidget] = {}
        self._pages: dict[str, QWidget] = {}      # what the tab holds: the view in a scroll area
        self._shows: dict[str, Callable[[ModelInfo], bool]] = {}
        self._progress_ids: set[int] = set()
        self._progress: JobProgress | None = None      # the newest, shown at the next refresh

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.banner = Banner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.library = ModelLibrary(context)
        self.library_dock = QDockWidget("Models", self)
        self.library_dock.setObjectName("model-library")
        self.library_dock.setWidget(self.library)
        self.library_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                                      | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.library_dock.setMinimumWidth(200)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.library_dock)
        self.resizeDocks([self.library_dock], [230], Qt.Orientation.Horizontal)

        self._build_status_bar()
        self._build_menus()

        self.latent_panel = LatentPanel(context)
        self.interpolation_panel = InterpolationPanel(context)
        self.interpolation_panel.set_point_source(self.latent_panel.point)
        self.compare_panel = ComparePanel(context)
        self.diffusion_panel = DiffusionPanel(context)
        self.add_view("latent", self.latent_panel, "Latent space", shows=lambda info: info.decodes_latents)
        self.add_view("interpolate", self.interpolation_panel, "Interpolate", shows=lambda info: info.decodes_latents)
        self.add_view("compare", self.compare_panel, "Compare", shows=compare_shows)
        self.add_view("diffusion", self.diffusion_panel, "Diffusion", shows=lambda info: info.can("sampler"))
        self.upscale_panel = UpscalePanel(context)
        self.add_view("upscale", self.upscale_panel, "Upscale", shows=lambda info: info.can("upscaler"))
        self.translate_panel = TranslatePanel(context)
        self.add_view("translate", self.translate_panel, "Translate", shows=lambda info: info.can("translator"))
        _add_actions(self.point_menu, self.latent_panel.edit_actions())
        self.view_menu.addSeparator()
        _add_actions(self.view_menu, self.latent_panel.view_actions())
        # each panel's own actions; their shortcuts work while that panel has focus
        menu_bar = self.menuBar()
        for title, actions in (
                ("&Interpolate", self.interpolation_panel.file_actions() + self.interpolation_panel.view_actions()),
                ("&Compare", self.compare_panel.view_actions()),
                ("D&iffusion", self.diffusion_panel.edit_actions() + self.diffusion_panel.view_actions()),
                ("&Upscale", upscale_actions(self)),
                ("&Translate", translate_actions(self))):
            if actions:
                menu = QMenu(title, self)
                menu_bar.insertMenu(self.view_menu.menuAction(), menu)
                _add_actions(menu, actions)

        context.model_opened.connect(self._model_opened)
        context.model_failed.connect(self._model_failed)
        context.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        context.frame_reported.connect(self._frame_reported)
        context.device_changed.connect(self._device_changed)
        context.recent_changed.connect(self._rebuild_recent_menu)
        context.progress_seen.connect(self._on_progress)
        context.progress_ended.connect(self._on_progress_ended)
        self.library.open_requested.connect(self.open_model)
        self.library.browse_requested.connect(self.browse)

        if context.bookmarks.warning:
            self.banner.show_text(context.bookmarks.warning, error=False)
        if context.problems:
            self.banner.show_text("Some bundled models could not be read: " + "; ".join(context.problems),
                                  error=False)
        self._device_changed(context.device)
        self._restore_settings()
        problems = settings_problems()
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            self.banner.show_text("Some saved settings could not be used and are back to their defaults: "
                                  + "; ".join(problems[:3]) + more, error=False)

    # -- views ----------------------------------------------------------------------------------
    def add_view(self, name: str, widget: QWidget, title: str,
                 shows: Callable[[ModelInfo], bool] | None = None) -> None:
        """Adds a panel as a tab; View > title (Ctrl+1, Ctrl+2, ...) switches to it. `shows` says
        which opened models the panel shows: opening one the current tab does not show switches to
        the first tab that does."""
        # A view wider or taller than the screen scrolls instead of making the window that big.
        page = QScrollArea()
        page.setWidget(widget)
        page.setWidgetResizable(True)
        page.setFrameShape(QFrame.Shape.NoFrame)
        index = self.tabs.addTab(page, title)
        self._views[name] = widget
        self._pages[name] = page
        self._shows[name] = shows or (lambda info: True)
        action = QAction(title, self)
        if index < 9:
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
        action.triggered.connect(lambda: self.show_view(name))
        self.views_menu_actions.append(action)
        self.view_menu.insertAction(self._view_menu_anchor, action)

    def view_names(self) -> list[str]:
        return list(self._views)

    def view(self, name: str) -> QWidget | None:
        """The panel shown as the view `name` (not the scroll area around it)."""
        return self._views.get(name)

    def current_view(self) -> str | None:
        page = self.tabs.currentWidget()
        return next((n for n, w in self._pages.items() if w is page), None)

    def show_view(self, name: str) -> bool:
        page = self._pages.get(name)
        if page is None:
            return False
        self.tabs.setCurrentWidget(page)
        return True

    # -- models -----------------------------------------------------------------------------------
    def open_model(self, source: str | Path) -> int:
        return self.context.open_model(source)

    def browse(self) -> None:
        start = setting(self.context.settings, "window/open_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", start, MODEL_FILTER)
        if path:
            self.context.settings.setValue("window/open_dir", str(Path(path).parent))
            self.open_model(path)

    def _model_opened(self, info: ModelInfo) -> None:
        self.banner.hide()
        current = self.current_view()
        if current is not None and not self._shows[current](info):
            self.show_view(next((n for n, shows in self._shows.items() if shows(info)), current))
        self.setWindowTitle(f"{info.name} — Latent Explorer")
        self.model_label.setText(info.name)
        self.model_label.setToolTip(plain_tooltip(info.tooltip()))

    def _model_failed(self, message: str) -> None:
        self.banner.show_text(message, error=True)

    # -- drag and drop ------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if _dropped_file(event.mimeData().urls()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = _dropped_file(event.mimeData().urls())
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        if Path(path).suffix.lower() in PATH_SUFFIXES:
            # an exported interpolation: its settings travel in the file
            self.show_view("interpolate")
            self.interpolation_panel.restore_from_gif(path)
        else:
            self.open_model(path)

    # -- menus ------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        open_action = file_menu.addAction("&Open…")
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.setStatusTip("Open a checkpoint (.safetensors), a state dict or a scripted generator")
        open_action.triggered.connect(self.browse)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._rebuild_recent_menu)
        self._rebuild_recent_menu()
        file_menu.addSeparator()
        shot = file_menu.addAction("Save &Screenshot…")
        shot.setShortcut(QKeySequence("Ctrl+Shift+S"))
        shot.setStatusTip("Save a PNG of the window")
        shot.triggered.connect(self._save_screenshot_dialog)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.triggered.connect(self.close)

        self.point_menu = bar.addMenu("&Point")   # acts on the latent panel's point

        self.view_menu = bar.addMenu("&View")
        self.views_menu_actions: list[QAction] = []
        self._view_menu_anchor = self.view_menu.addSeparator()
        library_toggle = self.library_dock.toggleViewAction()
        library_toggle.setText("Model &Library")
        library_toggle.setShortcut(QKeySequence("Ctrl+L"))
        self.view_menu.addAction(library_toggle)
        self.full_screen_action = self.view_menu.addAction("&Full Screen")
        self.full_screen_action.setCheckable(True)
        self.full_screen_action.setShortcut(QKeySequence("F11"))
        self.full_screen_action.setStatusTip("Use the whole screen (F11 again to leave)")
        self.full_screen_action.toggled.connect(self.set_full_screen)

        self.device_menu = bar.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_group.setExclusive(True)
        for name in self.context.available_devices():
            action = self.device_menu.addAction(name.upper() if name != "cpu" else "CPU")
            action.setCheckable(True)
            action.setData(name)
            action.setStatusTip(f"Run inference on {name}")
            self.device_group.addAction(action)
            action.triggered.connect(lambda _=False, n=name: self.context.set_device(n))

        help_menu = bar.addMenu("&Help")
        keys = help_menu.addAction("&Keyboard Shortcuts")
        keys.setShortcut(QKeySequence("F1"))
        keys.triggered.connect(self._show_shortcuts)
        about = help_menu.addAction("&About Latent Explorer")
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(self._show_about)

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.context.recent_files()
        for i, path in enumerate(files):
            text = f"&{i + 1} {Path(path).name}" if i < 9 else Path(path).name
            action = self.recent_menu.addAction(text)
            action.setToolTip(plain_tooltip(path))
            action.setStatusTip(path)
            action.setData(path)
            action.triggered.connect(lambda _=False, p=path: self.open_model(p))
        if not files:
            empty = self.recent_menu.addAction("No recent files")
            empty.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            clear = self.recent_menu.addAction("Clear List")
            clear.triggered.connect(self._clear_recent)
        self.recent_menu.setToolTipsVisible(True)

    def recent_menu_paths(self) -> list[str]:
        return [a.data() for a in self.recent_menu.actions() if isinstance(a.data(), str)]

    def _clear_recent(self) -> None:
        from explorer.settings import clear_recent_files

        clear_recent_files()
        self.context.recent_changed.emit()

    def shortcut_rows(self) -> list[tuple[str, str, str]]:
        """(menu, keys, what) of every menu action with a shortcut, in menu order, and the keys
        that act without one: what the shortcuts dialog lists, so it never misses one."""
        rows = []
        for top in self.menuBar().actions():
            if top.menu() is None:
                continue
            menu = top.text().replace("&", "")
            for action in top.menu().actions():
                keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                if keys:
                    rows.append((menu, keys, action.text().replace("&", "").rstrip("…")))
        return rows + [("Sliders", "←/→, PgUp/PgDn", "Nudge the focused slider")]

    def _show_shortcuts(self) -> None:
        cells = "".join(f"<tr><td>{escape(menu)}</td><td><b>{escape(keys)}</b></td><td>{escape(what)}</td></tr>"
                        for menu, keys, what in self.shortcut_rows())
        QMessageBox.information(self, "Keyboard shortcuts", f"<table cellspacing=4>{cells}</table>")

    def set_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()
        if self.full_screen_action.isChecked() != on:
            self.full_screen_action.setChecked(on)

    def _show_about(self) -> None:
        QMessageBox.about(self, "About Latent Explorer",
                          "<b>Latent Explorer</b><p>Look inside image generators: drag through the latent "
                          "space of VAEs and GANs, interpolate, compare, and watch a DDPM denoise.</p>")

    # -- status bar -------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setFixedWidth(140)
        self.progress.setMaximumHeight(16)
        self.progress.setVisible(False)
        self.render_label = QLabel("—")
        self.render_label.setToolTip("Time the last frame took on the inference worker")
        self.render_label.setFixedWidth(self.render_label.fontMetrics().horizontalAdvance("0000.0 ms") + 8)
        self._render_text = "—"
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(STATUS_REFRESH_MS)
        self._render_timer.timeout.connect(self._show_render_time)
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(STATUS_REFRESH_MS)
        self._progress_timer.timeout.connect(self._show_progress)
        self.render_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.device_label = QLabel()
        self.device_label.setToolTip("Where inference runs (Device menu to change)")
        self.model_label = plain_label(QLabel("no model"))
        for widget in (self.progress, self.render_label, self.device_label, self.model_label):
            status.addPermanentWidget(widget)

    def _frame_reported(self, seconds: float, device: str) -> None:
        # A status-bar label that changes re-lays out the status bar and repaints much of the
        # window, so during a drag the figure is shown a few times a second, not every frame.
        self._render_text = f"{seconds * 1000:.1f} ms"
        if not self._render_timer.isActive():
            self._render_timer.start()
        if device != self._device:
            self._device_changed(device)

    def _show_render_time(self) -> None:
        self.render_label.setText(self._render_text)

    def _device_changed(self, device: str) -> None:
        self._device = device
        self.device_label.setText(device.upper() if device != "cpu" else "CPU")
        for action in self.device_group.actions():
            action.setChecked(action.data() == device)

    def _on_progress(self, progress: JobProgress) -> None:
        # A progress bar repaints at once on every change, and a run sends a progress message
        # per step: the bar follows at the status bar's pace instead.
        self._progress_ids.add(progress.request_id)
        self._progress = progress
        if not self._progress_timer.isActive():
            self._progress_timer.start()

    def _show_progress(self) -> None:
        progress = self._progress
        if progress is None or not self._progress_ids:
            return
        self.progress.setVisible(True)
        self.progress.setRange(0, max(progress.total, 1))
        self.progress.setValue(progress.done)
        self.progress.setFormat("%p%")
        # what runs is said by its view (next to what it changes); here only how far it is
        self.progress.setToolTip(progress.message)

    def _on_progress_ended(self, request_id: int) -> None:
        self._progress_ids.discard(request_id)
        if not self._progress_ids:
            self._progress = None
            self.progress.setVisible(False)

    # -- screenshots ------------------------------------------------------------------------------
    def save_screenshot(self, path: str | Path) -> None:
        """A PNG of the window, written under a temporary name and renamed."""
        with atomic_path(path) as temp:
            if not self.grab().save(str(temp), "PNG"):
                raise OSError(f"could not write {path}")

    def _save_screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save screenshot", "latent-explorer.png", "PNG (*.png)")
        if path:
            try:
                self.save_screenshot(path)
                self.statusBar().showMessage(f"Saved {path}", 5000)
            except OSError as e:
                self.banner.show_text(f"Could not save the screenshot: {e}", error=True)

    # -- settings and closing -------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.context.settings
        geometry = setting(s, "window/geometry", QByteArray(), QByteArray)
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = setting(s, "window/state", QByteArray(), QByteArray)
        if not state.isEmpty():
            self.restoreState(state)
        self.show_view(setting(s, "window/view", "latent", choices=self.view_names()))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        s = self.context.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        current = self.tabs.currentWidget()
        s.setValue("window/view", next((n for n, w in self._pages.items() if w is current), "latent"))
        s.sync()
        self.context.shutdown()
        super().closeEvent(event)


def _add_actions(menu, actions: list[QAction | None]) -> None:
    """Adds actions to a menu; None stands for a separator."""
    for action in actions:
        if action is None:
            menu.addSeparator()
        else:
            menu.addAction(action)


def _dropped_file(urls: list[QUrl]) -> str | None:
    """The first local model file among dropped URLs."""
    for url in urls:
        if url.isLocalFile():
            path = url.toLocalFile()
            if Path(path).suffix.lower() in MODEL_SUFFIXES or Path(path).is_file():
                return path
    return None
