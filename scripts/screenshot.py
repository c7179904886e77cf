"""Render the gdviz window to a PNG (offscreen; no display needed).

Usage::

    python scripts/screenshot.py [--out docs/screenshot.png] [--preset rosenbrock]
                                 [--step 600] [--theme dark] [--scale 1.0]
                                 [--size 1280x800] [--function TEXT]

The window opens on the preset (or a typed function), computes its runs, moves
to the step and saves exactly what the window shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screenshot.png")
    ap.add_argument("--preset", default="rosenbrock")
    ap.add_argument("--function", default=None, help="type this function after loading the preset")
    ap.add_argument("--step", type=int, default=600)
    ap.add_argument("--theme", default="dark", choices=["dark", "light"])
    ap.add_argument("--scale", type=float, default=1.0, help="font and line scale (1, 1.5, 2)")
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--grad-arrows", action="store_true", help="show the −∇f arrows")
    args = ap.parse_args()
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        ap.error(f"--size must look like 1280x800, got {args.size!r}")

    from PySide6.QtWidgets import QApplication

    from gdviz.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["gdviz-screenshot"])
    window = MainWindow(theme=args.theme, font_scale=args.scale)
    window.resize(width, height)
    window.show()

    def pump(cond, timeout=60.0):
        t0 = time.perf_counter()
        while not cond():
            app.processEvents()
            time.sleep(0.002)
            if time.perf_counter() - t0 > timeout:
                raise SystemExit("screenshot: timed out waiting for the window")

    def ready():
        return window.trajectory is not None and window.complete and not window.computer.busy

    window.load_preset(args.preset)
    pump(lambda: window.session.preset == args.preset and ready())
    if args.function:
        old = window.trajectory
        window.editor.set_text(args.function)
        pump(lambda: window.trajectory is not old and ready())
    if args.grad_arrows:
        window.view_panel.checks["grad_arrows"].setChecked(True)
    window.player.seek(min(args.step, window.player.limit))
    # Let the trail chunks finish building and the layout settle.
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        app.processEvents()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        print(f"screenshot: could not write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({width}x{height}, {args.preset}, step {window.player.step})")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
