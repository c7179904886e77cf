"""Start the Qt application and show the main window.

Qt is imported here, inside :func:`run_app`, so ``import gdviz`` and the
headless commands never load it.

``GDVIZ_QUIT_AFTER_MS=N`` makes the app print one line describing the window
N milliseconds after it is shown (once its runs are computed) and quit with
status 0: a start-up check for tests and benchmarks that needs no
person to close the window.

Unexpected errors are logged (see :mod:`gdviz.ui.errors`) and shown once in
the window.
"""

from __future__ import annotations

import os
import sys
import time

#: When gdviz started (as near as Python can tell: this module is imported by
#: the command before anything heavy).
_T0 = time.perf_counter()


def _quit_after_ms() -> int | None:
    raw = os.environ.get("GDVIZ_QUIT_AFTER_MS", "").strip()
    if not raw:
        return None
    try:
        ms = int(raw)
    except ValueError:
        print(f"gdviz: ignoring GDVIZ_QUIT_AFTER_MS={raw!r} (not a whole number)", file=sys.stderr)
        return None
    return max(0, ms)


def run_app(session: str | None = None, argv: list[str] | None = None) -> int:
    """Open the main window (on ``session`` if given) and run the event loop."""
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer
    from PySide6.QtWidgets import QApplication

    from gdviz.core import loss as loss_module
    from gdviz.ui.errors import ErrorReporter, setup_logging
    from gdviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("gdviz")
    app.setOrganizationName("gdviz")
    log_file = setup_logging()  # (needs the names above: it goes in gdviz's state folder)
    window = MainWindow()
    # An error nobody planned for is logged and shown in the window, once.
    reporter = ErrorReporter(window.show_message, log_file).install()
    if session:
        window.open_session(session)
    window.show()
    # Start the killable compile process in the background now, so the first
    # function a person types compiles without waiting for it.
    QTimer.singleShot(1500, loss_module.warm_up)
    app.aboutToQuit.connect(loss_module.shutdown_worker)

    quit_ms = _quit_after_ms()
    if quit_ms is not None:
        shown: list[float] = []
        shown_at: list[float] = []  # wall-clock time, for a caller timing the whole command

        def first_turn() -> None:
            # The first turn of the event loop comes after the window's first paint.
            shown.append(time.perf_counter() - _T0)
            shown_at.append(time.time())

        QTimer.singleShot(0, first_turn)

        def report() -> None:
            done = window.trajectory is not None and window.complete
            if not done and time.perf_counter() - _T0 < 30:
                QTimer.singleShot(20, report)  # wait until the runs are computed
                return
            traj = window.trajectory
            steps = -1 if traj is None else int(traj.positions.shape[0] - 1)
            print(
                f"gdviz: window shown {window.width()}x{window.height()}"
                f" preset={window.session.preset} runs={len(window.session.runs)}"
                f" steps={steps} shown_after={shown[0] if shown else -1:.3f}s"
                f" ready_after={time.perf_counter() - _T0:.3f}s"
                f" shown_at={shown_at[0] if shown_at else -1:.3f}",
                flush=True,
            )
            window.close()
            app.quit()

        QTimer.singleShot(quit_ms, report)
    status = app.exec()
    # Tear down in a fixed order while Qt is still alive: the window (and its
    # worker thread) first, then pending deletions. Leaving it to interpreter
    # exit destroys Qt objects in arbitrary order.
    window.close()
    reporter.uninstall()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return status
