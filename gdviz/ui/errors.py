"""Unexpected errors: logged with their traceback, and shown once in the window.

An exception that escapes a slot or a Qt virtual method in PySide6 goes to
:func:`sys.excepthook`, which by default prints it to a terminal nobody reads
(or none at all, for an app started from a menu). :class:`ErrorReporter`
replaces the hook: every unexpected error is written to gdviz's log (a file
under the user's state folder, see :func:`log_path`, and stderr) with its
traceback, and the person sees one message over the plots saying what went
wrong and where the details are. The same error raised again (a paint event
fails on every frame) is logged but not shown again.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["LOG_FILE", "ErrorReporter", "close_logging", "log_path", "setup_logging"]

#: The log's file name, in :func:`log_path`'s folder.
LOG_FILE = "gdviz.log"
#: The log file is rotated at this size (one old file is kept).
LOG_MAX_BYTES = 1024 * 1024
#: gdviz's logger: every module logs under it (``logging.getLogger("gdviz.…")``).
log = logging.getLogger("gdviz")

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The handlers :func:`setup_logging` added (removed again on the next call).
_handlers: list[logging.Handler] = []


def log_path() -> Path:
    """Where gdviz's log goes: ``gdviz.log`` in the user's state folder.

    Qt's ``StateLocation`` (``~/.local/state/gdviz/gdviz`` on Linux), else its
    application data folder. Needs the application's name to be set first.
    """
    from PySide6.QtCore import QStandardPaths

    kind = getattr(QStandardPaths.StandardLocation, "StateLocation", None)
    if kind is None:  # Qt before 6.7
        kind = QStandardPaths.StandardLocation.AppLocalDataLocation
    return Path(QStandardPaths.writableLocation(kind)) / LOG_FILE


def setup_logging(path: str | Path | None = None, *, stderr: bool = True) -> Path | None:
    """Send gdviz's log to ``path`` (default :func:`log_path`) and to stderr.

    Warnings and errors are logged (info too, to the file). Returns the log
    file's path, or None when it cannot be written (then stderr only, and a
    warning says why). Calling it again replaces the handlers it added.
    """
    close_logging()
    log.setLevel(logging.INFO)
    log.propagate = False  # not twice through a root logger someone configured
    if stderr:
        err = logging.StreamHandler(sys.stderr)
        err.setLevel(logging.WARNING)
        err.setFormatter(logging.Formatter("gdviz: %(levelname)s: %(message)s"))
        _handlers.append(err)
        log.addHandler(err)
    target = Path(path) if path is not None else log_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            target, maxBytes=LOG_MAX_BYTES, backupCount=1, encoding="utf-8", delay=False
        )
    except OSError as exc:
        log.warning("cannot write the log file %s (%s): logging to stderr only", target, exc)
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    _handlers.append(handler)
    log.addHandler(handler)
    return target


def close_logging() -> None:
    """Remove (and close) the handlers :func:`setup_logging` added."""
    for h in _handlers:
        log.removeHandler(h)
        h.close()
    _handlers.clear()


def _where(tb: TracebackType | None) -> tuple[str, int]:
    """File and line of the innermost frame (what tells one error from another)."""
    frames = traceback.extract_tb(tb) if tb is not None else []
    return (frames[-1].filename, frames[-1].lineno or 0) if frames else ("", 0)


class ErrorReporter:
    """Logs every uncaught exception and shows each different one once.

    Parameters
    ----------
    show
        Shows a message to the person, e.g. ``MainWindow.show_message``.
        Called on the GUI thread only.
    log_file
        Where the details are, named in the message (None: "in the log").

    Attributes
    ----------
    shown : int
        How many messages were shown.
    logged : int
        How many errors were logged.
    """

    def __init__(self, show: Callable[[str], Any], log_file: str | Path | None = None) -> None:
        self._show = show
        self.log_file = Path(log_file) if log_file is not None else None
        self._seen: set[tuple[str, str, str, int]] = set()
        self._previous: Any = None
        self._previous_thread: Any = None
        self._showing = False
        self.shown = 0
        self.logged = 0

    def install(self) -> ErrorReporter:
        """Become :func:`sys.excepthook` (and log errors of other threads); returns self."""
        self._previous = sys.excepthook
        self._previous_thread = threading.excepthook
        sys.excepthook = self.handle
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        """Put back the hooks :meth:`install` replaced."""
        if sys.excepthook == self.handle:
            sys.excepthook = self._previous
        if threading.excepthook == self._thread_hook:
            threading.excepthook = self._previous_thread

    def message(self, kind: type[BaseException], value: BaseException) -> str:
        """What the person reads about one error."""
        text = str(value).strip().splitlines()[0] if str(value).strip() else ""
        what = f"{kind.__name__}: {text}" if text else kind.__name__
        where = f"Details in {self.log_file}" if self.log_file else "Details in the log"
        return (
            f"Unexpected error ({what[:200]}): your last action may not have taken effect. {where}."
        )

    def handle(
        self,
        kind: type[BaseException],
        value: BaseException,
        tb: TracebackType | None,
    ) -> None:
        """The hook: log ``value`` with its traceback; show it unless it was shown before."""
        if issubclass(kind, KeyboardInterrupt | SystemExit):
            (self._previous or sys.__excepthook__)(kind, value, tb)
            return
        self.logged += 1
        log.error("unexpected error", exc_info=(kind, value, tb))
        key = (kind.__qualname__, str(value), *_where(tb))
        if key in self._seen or self._showing:
            return  # shown already (or failing while being shown)
        self._seen.add(key)
        if threading.current_thread() is not threading.main_thread():
            return  # widgets belong to the GUI thread: logged only
        self._showing = True
        try:
            self._show(self.message(kind, value))
            self.shown += 1
        except Exception:  # the window itself is broken: the log still has it all
            log.exception("could not show the error in the window")
        finally:
            self._showing = False

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        self.handle(args.exc_type, args.exc_value, args.exc_traceback)
