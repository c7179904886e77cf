"""The scripts a person runs by hand still run against the window as it is now.

Each runs in a subprocess (one QApplication per process), offscreen.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run_script(name: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GDVIZ_QUIT_AFTER_MS="1")
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def test_the_layout_report_meets_every_target(tmp_path):
    done = run_script("layout_report.py", "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("(met)") == 4
    assert len(list(tmp_path.glob("*.png"))) == 4


def test_the_readme_screenshot_renders(tmp_path):
    out = tmp_path / "shot.png"
    done = run_script("screenshot.py", "--out", str(out), "--size", "900x600", "--step", "20")
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.stat().st_size > 10_000
