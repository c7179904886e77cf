"""Choose Qt's offscreen platform before Qt starts (import this without Qt)."""

from __future__ import annotations

import os
import sys

__all__ = ["ensure_offscreen_platform"]


def ensure_offscreen_platform() -> None:
    """Make Qt use its offscreen platform, unless a platform was chosen.

    Must run before the ``QApplication`` is created. Export always renders
    offscreen, so it needs no display, and frames do not depend on the
    desktop it happens to run on. ``QT_QPA_PLATFORM`` set by the person wins.
    """
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    gui = sys.modules.get("PySide6.QtGui")
    if gui is not None and gui.QGuiApplication.instance() is not None:
        return  # too late to choose; the running application's platform is used
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
