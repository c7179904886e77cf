"""Shared test set-up: every test runs headless."""

import atexit
import os
import shutil
import tempfile

# Must be set before any QApplication exists (pytest-qt creates it lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# QSettings (window geometry, recent files) lives under XDG_CONFIG_HOME on
# Linux: point it at a fresh folder so tests, and the gdviz processes they
# start, neither read nor write the person's own settings.
_CONFIG = tempfile.mkdtemp(prefix="gdviz-test-config-")
os.environ["XDG_CONFIG_HOME"] = _CONFIG
atexit.register(shutil.rmtree, _CONFIG, ignore_errors=True)
