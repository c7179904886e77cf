"""Benchmark how long the window's GUI thread stalls while dataset mode compiles.

The window compiles a per-sample loss on its compile thread. A 5 ms timer on
the GUI thread stamps each tick; the longest gap between stamps is the longest
stall. Printed for each loss:

* *compile*: from the typed text until dataset mode starts showing its result
  (or its message is shown) — the part that runs on the compile thread;
* *in all*: until the loss is shown and its runs recomputed (showing the new
  surface and computing runs are GUI-thread work shared with plain losses);
* for reference, what the same compile costs when done on the GUI thread
  (``DataPanel.compile`` plus the formulas, model line and view suggestion):
  the stall a person had while dataset mode compiled in the GUI thread;
* the longest gap of an idle window over one second (the machine's noise).

For classes n=20,000 the surface is a mean over 2,000 samples per grid point:
the longest stall (and the time until the final picture) when the per-sample
loss changes and when the view is zoomed, with the surface sampled in one
pass (``progressive_surface`` off, as before) and progressively; with the 3D
tab shown too where OpenGL is available (run under
``QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24"``).

A hostile per-sample loss (a product of 29 sines) is stopped after
``--timeout`` seconds, typed and in a session file being opened (reading
the file stays on the GUI thread: the first file read in a process costs
imports, later ones a few ms).

    python scripts/bench_dataset_window.py [--timeout 5] [--repeat 3] [--surface-only]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no 3D view there

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gdviz.core.session import DataSpec
from gdviz.core.session_io import save_session

SLOW = "*".join(f"sin({k}w x + {k}b)" for k in range(1, 30))
#: (data, size, per-sample loss): two normal losses, each typed after the other.
CASES = [
    ("line", 100, "abs(w*x + b - y)"),
    ("line", 100, "(w*x + b - y)^2"),
    ("classes", 20_000, "log(1 + exp(-y*(w*x + b)))"),
    ("classes", 20_000, "log(1 + exp(-2*y*(w*x + b)))"),
]


def wait(app, cond, timeout=120.0):
    t0 = time.perf_counter()
    while not cond():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the window did not finish")


def ready(w):
    return w.trajectory is not None and w.complete and not w.computer.busy


def stalls(app, w, action, done, timeout=120.0) -> tuple[float, float]:
    """Longest gaps (ms) between 5 ms ticks from ``action`` until its result
    starts being shown, and until ``done`` holds."""
    stamps = [time.perf_counter()]
    arrived: list[float] = []
    panel = w.data_panel
    real = panel.set_loss

    def spy(*a):  # the first thing dataset mode does with an arrived result
        arrived.append(time.perf_counter())
        return real(*a)

    panel.set_loss = spy
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    timer.start()
    try:
        action()
        t0 = time.perf_counter()
        while not done() and time.perf_counter() - t0 < timeout:
            app.processEvents()
        stamps.append(time.perf_counter())
    finally:
        timer.stop()
        del panel.set_loss
    until = arrived[0] if arrived else stamps[-1]
    before = [s for s in stamps if s < until] + [until]
    return float(np.max(np.diff(before))) * 1000, float(np.max(np.diff(stamps))) * 1000


def surface_stalls(app, w, repeat: int, tab: int = 0) -> None:
    """Print the longest GUI stall while a new per-sample loss or a zoom redraws
    the surface of classes n=20,000, sampled in one pass and progressively,
    with the 2D (``tab`` 0) or the 3D tab shown."""
    texts = ("log(1 + exp(-y*(w*x + b)))", "log(1 + exp(-2*y*(w*x + b)))")
    vb = w.scene.surface.getViewBox()
    w.surface_tabs.setCurrentIndex(tab)
    wait(app, w.scene.settled)
    for progressive in (False, True):
        w.scene.progressive_surface = progressive
        w.view3d.progressive_surface = progressive
        change, change_t, zoom, zoom_t = [], [], [], []
        for _ in range(repeat):
            for t in texts:
                old = w.trajectory

                def shown(old=old):
                    return w.trajectory is not old and ready(w) and w.scene.settled()

                t0 = time.perf_counter()
                _, a = stalls(app, w, lambda t=t: w.editor.set_text(t), shown)
                change.append(a)
                change_t.append(time.perf_counter() - t0)
            for factor in (0.8, 1.25):
                t0 = time.perf_counter()

                def zoomed(t0=t0):
                    return (
                        time.perf_counter() - t0 > 0.05
                        and not w._zoom_timer.isActive()
                        and ready(w)
                        and w.scene.settled()
                    )

                def act(factor=factor):
                    # As a wheel turn does: zoom, then say it was the person.
                    vb.scaleBy((factor, factor))
                    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])

                _, a = stalls(app, w, act, zoomed)
                zoom.append(a)
                # Less the 200 ms the window waits for the wheel to stop.
                zoom_t.append(time.perf_counter() - t0 - w._zoom_timer.interval() / 1000)
        how = "progressive" if progressive else "one pass (as before)"
        print(
            f"classes n=20,000, {'3D' if tab else '2D'} tab shown, surface {how}: "
            "longest GUI stall when the per-sample "
            f"loss changes {max(change):.1f} ms (final picture and runs after "
            f"{1000 * max(change_t):.0f} ms); when zoomed {max(zoom):.1f} ms "
            f"(final picture after {1000 * max(zoom_t):.0f} ms)"
        )
    w.scene.progressive_surface = True
    w.view3d.progressive_surface = True
    w.surface_tabs.setCurrentIndex(0)


def on_gui_thread(w, text: str) -> float:
    """Milliseconds the same compile and its display pieces take in this thread."""
    from gdviz.ui.data_panel import _model, dataset_pretty, suggest_view, surface_loss

    t0 = time.perf_counter()
    loss = w.data_panel.compile(text)
    dataset_pretty(loss)
    surface_loss(loss)
    _model(loss)
    suggest_view(loss)
    return (time.perf_counter() - t0) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=5.0, help="compile time limit (s)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--surface-only", action="store_true", help="only the surface figures (classes n=20,000)"
    )
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(["gdviz-bench"])
    from gdviz.core import loss as loss_module
    from gdviz.ui import compute
    from gdviz.ui.main_window import MainWindow

    w = MainWindow()
    w.resize(1280, 800)
    w.show()
    wait(app, lambda: ready(w))
    loss_module.warm_up()  # as the app does soon after opening
    w.data_panel.set_enabled(True)
    wait(app, lambda: ready(w) and w.data_panel.loss is not None)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f}; figures: worst of {args.repeat}")
    t_end = time.perf_counter() + 1.0
    idle, _ = stalls(app, w, lambda: None, lambda: time.perf_counter() > t_end)
    print(f"idle window, 1 s: longest gap between ticks {idle:.1f} ms (the noise floor)")

    for data, n, text in [] if args.surface_only else CASES:
        if w.data_panel.dataset.name != data or w.data_panel.dataset.n != n:
            w.data_panel.load_builtin(data, n)
            wait(app, lambda: ready(w) and w.data_panel.loss is not None)
        compile_ms, all_ms, sync_ms = [], [], []
        for _ in range(args.repeat):
            for t in (text, "(w*x + b - y)^2 + 0*w"):  # away and back: each time a compile
                old = w.trajectory

                def shown(old=old):
                    return w.trajectory is not old and ready(w)

                c, a = stalls(app, w, lambda t=t: w.editor.set_text(t), shown)
                if t == text:
                    compile_ms.append(c)
                    all_ms.append(a)
            sync_ms.append(on_gui_thread(w, text))
        print(
            f"{data} n={n:,} {text}: longest GUI stall while compiling {max(compile_ms):.1f} ms, "
            f"in all (shown and recomputed) {max(all_ms):.1f} ms; "
            f"the compile on the GUI thread {max(sync_ms):.1f} ms"
        )

    if w.data_panel.dataset.name != "classes" or w.data_panel.dataset.n != 20_000:
        w.data_panel.load_builtin("classes", 20_000)
        wait(app, lambda: ready(w) and w.data_panel.loss is not None)
    surface_stalls(app, w, args.repeat)
    if w.view3d.available:
        surface_stalls(app, w, args.repeat, tab=1)
    else:
        print(f"3D tab not measured: {w.view3d.gl_support.reason}")
    if args.surface_only:
        w.close()
        loss_module.shutdown_worker()
        return 0

    compute.COMPILE_TIMEOUT = args.timeout
    w.data_panel.load_builtin("line", 100)
    wait(app, lambda: ready(w) and w.data_panel.loss is not None)
    t0 = time.perf_counter()
    stall, _ = stalls(app, w, lambda: w.editor.set_text(SLOW), w.editor.has_error)
    took = time.perf_counter() - t0
    print(
        f"hostile per-sample loss, stopped after {args.timeout:g} s "
        f"(message after {took:.2f} s): longest GUI stall {stall:.1f} ms"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = save_session(
            replace(
                w.session,
                function=SLOW,
                preset=None,
                data=DataSpec(batch_sizes=(None,), parameters=("w", "b")),
            ),
            Path(folder) / "hostile.gdviz.toml",
        )
        # Let the window finish showing the last message first: its layout and
        # repaint are not part of opening the file.
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.5:
            app.processEvents()
        t0 = time.perf_counter()
        stall, _ = stalls(
            app, w, lambda: w.classroom.open_session(path), lambda: not w.computer.busy
        )
        took = time.perf_counter() - t0
    print(
        f"session file with that loss, refused after {took:.2f} s: longest GUI stall {stall:.1f} ms"
    )
    w.close()
    loss_module.shutdown_worker()
    return 0


if __name__ == "__main__":
    sys.exit(main())
