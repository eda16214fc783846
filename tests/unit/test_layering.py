"""The direction of imports: the worker's jobs run for the command line too, so they never pull in Qt."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_explorer_jobs_do_not_import_qt():
    code = ("import importlib, pkgutil, sys, explorer.jobs, explorer.job_context; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(explorer.jobs.__path__, 'explorer.jobs.')]; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'explorer.views', 'explorer.worker'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_compare_column_does_not_import_the_compare_panel():
    code = ("import sys, explorer.views.compare_column; "
            "sys.exit(1 if 'explorer.views.compare' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout + result.stderr
