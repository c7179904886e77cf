"""The installed ``gdviz`` command opens the window (in its own process)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _gdviz() -> str:
    exe = shutil.which("gdviz") or str(Path(sys.executable).with_name("gdviz"))
    if not Path(exe).exists():
        pytest.skip("the gdviz command is not installed (pip install -e .)")
    return exe


def test_gdviz_command_opens_the_window():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GDVIZ_QUIT_AFTER_MS="200")
    proc = subprocess.run([_gdviz()], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("gdviz: window shown 1280x800 preset=rosenbrock runs=4 steps=3000")
    assert "Traceback" not in proc.stderr


def test_bad_quit_after_value_is_ignored_with_a_message():
    # Not a number: the variable is ignored (said on stderr) — so the window
    # would stay open; give it a real one through argv-less python instead.
    code = (
        "import os; os.environ['GDVIZ_QUIT_AFTER_MS']='soon';"
        "from gdviz.app import _quit_after_ms; print(_quit_after_ms())"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "None"
    assert "not a whole number" in proc.stderr
