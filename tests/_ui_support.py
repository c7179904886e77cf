"""Shared pieces of the window tests that check the GUI thread keeps turning."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer

WAIT = 30_000  # ms; generous: only catches hangs, never measures speed

#: A per-sample loss whose Hessian in (w, b) has thousands of terms: far more
#: than a second of SymPy work.
SLOW = "*".join(f"sin({k}w x + {k}b)" for k in range(1, 30))


def ready(w) -> bool:
    """The window shows a complete trajectory and has nothing on its way."""
    return w.trajectory is not None and w.complete and not w.computer.busy


def started_window(qtbot):
    """A shown main window with its first runs computed (compile process warm, as in the app)."""
    from gdviz.core.loss import warm_up

    warm_up()  # as the app does soon after opening
    return shown_window(qtbot)


def shown_window(qtbot):
    """A shown main window with its first runs computed."""
    from gdviz.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: ready(w), timeout=WAIT)
    return w


def enter_dataset_mode(qtbot, w):
    """Switch ``w`` to dataset mode and wait for the runs on its default data."""
    old = w.trajectory
    w.data_panel.set_enabled(True)
    qtbot.waitUntil(lambda: w.trajectory is not old and ready(w), timeout=WAIT)
    return w


class Ticks:
    """Time stamps of a 10 ms timer on the GUI thread: its longest gap is the longest stall."""

    def __init__(self) -> None:
        self.stamps = [time.perf_counter()]
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.stamps.append(time.perf_counter()))
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        self.stamps.append(time.perf_counter())
        return float(np.max(np.diff(self.stamps)))
