"""Start the Qt application and show the main window.

Qt is imported here, inside :func:`run_app`, so ``import gdviz`` and the
headless commands never load it.
"""

from __future__ import annotations

import sys


def run_app(session: str | None = None, argv: list[str] | None = None) -> int:
    """Open the main window (on ``session`` if given) and run the event loop."""
    from PySide6.QtWidgets import QApplication

    from gdviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("gdviz")
    app.setOrganizationName("gdviz")
    window = MainWindow()
    if session:
        window.open_session(session)
    window.show()
    return app.exec()
