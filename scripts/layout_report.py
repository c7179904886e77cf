"""Render the window in the four situations the layout is judged by; print each view's share.

    python scripts/layout_report.py [--out DIR]

Offscreen (no display needed). For each situation it prints the size of the
surface plot, the loss plot and the other plots (their view boxes, in window
pixels), the surface's share of the window's area against its target, and
saves a PNG of the window to DIR (default: a temporary folder) to look at.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: (name, window size, text scale, presenting, explain card, extra plots, target share)
SITUATIONS = (
    ("desk 1280x800, default preset", (1280, 800), 1.0, False, False, False, 0.30),
    ("desk 1280x800, grad-norm and lr plots", (1280, 800), 1.0, False, False, True, 0.30),
    ("presentation 1024x768, 2x text, explain card", (1024, 768), 2.0, True, True, False, 0.35),
    ("desk 1920x1080", (1920, 1080), 1.0, False, False, False, 0.35),
)
#: Every plot must be at least this big (width, height) in pixels.
MIN_PLOT = (150, 100)


def _box(window, plot):
    """A plot's view box as (width, height) in window pixels (0, 0 when hidden)."""
    if plot is None or not plot.isVisible():
        return (0, 0)
    vb = plot.getViewBox()
    view = plot.scene().views()[0]
    if not view.isVisible():
        return (0, 0)
    rect = view.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    return (rect.width(), rect.height())


def _settle(app, window, seconds=1.5):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)


def measure(app, name, size, scale, presenting, card, extras, out: Path):
    from PySide6.QtCore import QSettings

    from gdviz.ui.main_window import MainWindow

    QSettings().clear()  # each situation from a fresh start, as a new user sees it
    w = MainWindow(font_scale=1.0 if presenting else scale)
    w.resize(*size)
    w.show()
    t0 = time.perf_counter()
    while w.trajectory is None and time.perf_counter() - t0 < 60:
        app.processEvents()
        time.sleep(0.01)
    if extras:
        view = replace(w.session.view, show_grad_norm=True, show_lr=True)
        w.model.set_view(view)
    if presenting:
        w.classroom.presentation.set_scale(scale)
        w.classroom.presentation.enter(fullscreen=False)
        w.resize(*size)
        if card:
            w.classroom.toggle_explain()
    _settle(app, w)
    scene = w.scene
    area = w.width() * w.height()
    surface = _box(w, scene.surface)
    plots = {"surface": surface, "loss": _box(w, scene.loss_plot)}
    if extras:
        plots["grad norm"] = _box(w, scene.gnorm_plot)
        plots["lr"] = _box(w, scene.lr_plot)
    share = surface[0] * surface[1] / area
    png = out / (name.split(",")[0].replace(" ", "_") + f"_{len(list(out.iterdir()))}.png")
    w.grab().save(str(png))
    w.close()
    return share, plots, png


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the PNGs")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="gdviz-layout-"))
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(f"gdviz-layout-report-{os.getpid()}")  # not the person's settings
    ok = True
    for name, size, scale, presenting, card, extras, target in SITUATIONS:
        share, plots, png = measure(app, name, size, scale, presenting, card, extras, out)
        QSettings().clear()
        small = [k for k, (pw, ph) in plots.items() if pw < MIN_PLOT[0] or ph < MIN_PLOT[1]]
        if extras:
            ok_plots = not small
        else:
            ok_plots = "loss" not in small
        met = share >= target and ok_plots
        ok &= met
        print(f"{name}  ({'met' if met else 'MISSED'})")
        print(f"  surface share {share:.1%} (target ≥ {target:.0%})")
        for k, (pw, ph) in plots.items():
            print(f"  {k:10s} {pw:5.0f} × {ph:4.0f} px")
        print(f"  picture: {png}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
