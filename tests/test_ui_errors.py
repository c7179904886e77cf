"""Unexpected errors are logged with their traceback and shown once in the window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _ui_support import shown_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from gdviz.ui.errors import ErrorReporter, close_logging, setup_logging


@pytest.fixture
def reporting(qtbot, tmp_path):
    """A shown window with the app's error hook installed, logging to a file in tmp."""
    window = shown_window(qtbot)
    log_file = setup_logging(tmp_path / "gdviz.log", stderr=False)
    reporter = ErrorReporter(window.show_message, log_file).install()
    yield window, reporter, log_file
    reporter.uninstall()
    close_logging()


def _button_that_raises(qtbot, window, error: Exception) -> QPushButton:
    button = QPushButton("do it", window)

    def slot() -> None:
        raise error

    button.clicked.connect(slot)
    button.show()
    return button


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_is_logged_and_shown_once(qtbot, reporting):
    window, reporter, log_file = reporting
    assert sys.excepthook == reporter.handle
    button = _button_that_raises(qtbot, window, ValueError("the sum of nothing"))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert reporter.logged == 1 and reporter.shown == 1
    assert window.has_error_message()
    text = window.message.text()
    assert "ValueError: the sum of nothing" in text and str(log_file) in text
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged
    assert "in slot" in logged and "ValueError: the sum of nothing" in logged

    # The same error again (a paint that fails every frame): logged, not shown again.
    window.hide_message()
    for _ in range(3):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert reporter.logged == 4 and reporter.shown == 1
    assert not window.message.isVisible()
    assert log_file.read_text(encoding="utf-8").count("ValueError: the sum of nothing") == 4

    # A different error is news: shown.
    other = _button_that_raises(qtbot, window, KeyError("w"))
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert reporter.shown == 2 and "KeyError: 'w'" in window.message.text()


@pytest.mark.qt_no_exception_capture
def test_a_window_that_cannot_show_the_error_still_logs_it(qtbot, tmp_path):
    log_file = setup_logging(tmp_path / "gdviz.log", stderr=False)

    def broken_show(_text: str) -> None:
        raise RuntimeError("no window")

    reporter = ErrorReporter(broken_show, log_file).install()
    try:
        try:
            raise ZeroDivisionError("1/0")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    finally:
        reporter.uninstall()
        close_logging()
    logged = log_file.read_text(encoding="utf-8")
    assert "ZeroDivisionError: 1/0" in logged and "could not show the error" in logged
    assert reporter.shown == 0 and sys.excepthook is not reporter.handle


def test_setup_logging_falls_back_to_stderr_when_the_file_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    try:
        assert setup_logging(blocker / "gdviz.log", stderr=True) is None
    finally:
        close_logging()


def test_the_app_logs_an_error_raised_in_a_slot(tmp_path):
    # The app entry installs the hook: a slot that raises is logged to the
    # state folder (and stderr), and the app keeps running and quits cleanly.
    code = (
        "import sys\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication(sys.argv[:1])\n"
        "def slot():\n"
        "    raise RuntimeError('raised in a slot')\n"
        "QTimer.singleShot(200, slot)\n"
        "QTimer.singleShot(250, slot)\n"
        "from gdviz.app import run_app\n"
        "sys.exit(run_app())\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        GDVIZ_QUIT_AFTER_MS="600",
        XDG_STATE_HOME=str(tmp_path / "state"),
        PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "gdviz: window shown" in proc.stdout
    logs = list((tmp_path / "state").rglob("gdviz.log"))
    assert len(logs) == 1, list((tmp_path / "state").rglob("*"))
    logged = logs[0].read_text(encoding="utf-8")
    assert logged.count("RuntimeError: raised in a slot") == 2
    assert "Traceback (most recent call last)" in logged
    assert "gdviz: ERROR: unexpected error" in proc.stderr
