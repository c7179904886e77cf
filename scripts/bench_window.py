"""Benchmark the main window offscreen: frame rate, frame times, stalls, start-up.

Prints:

* per-frame time (set the step + paint the window) with 8 runs and trails of
  4,000–5,000 steps, at 1280×800: p50 / p95 / p99 / max and the frame rate
  that allows;
* sustained playback: the real player at 1,000 steps/s from step 0 to 5,000,
  counting painted frames per second;
* the longest GUI-thread stall while the window is resized or the surface
  zoomed with the mouse wheel (and sampled again for the new view window)
  with 5,000-step trails, while 8 × 5,000 steps are recomputed and while six
  typed functions, each new to the process, compile (target: under 50 ms);
* window-open time of the installed ``gdviz`` command (median of 3 starts):
  time to the first painted window and to the first computed picture.

With ``--x11``, on a real X server (software OpenGL under Xvfb: Mesa
llvmpipe), it measures instead what a person sees while a run plays:

* painted frames per second of the window at 1280×800 with 8 runs and trails
  of 4,000–5,000 steps, the 3-D tab available but not shown, each frame
  painted as soon as the last one was; in the same run, matplotlib with
  blitting drawing the same scene (heat-map, contours, colour bar, 8 trails,
  run markers, loss panel with 8 curves and a step marker) in a Qt window of
  the same size, and the ratio (median of ``--rounds``);
* the real player at 1,000 steps/s (a 60 Hz timer: at most about 60 frames/s);
* both again after the 3-D tab was shown once and hidden: the 2-D speed must
  not depend on it.

matplotlib is a benchmark-only extra: ``pip install -e '.[bench]'``.

Usage::

    python scripts/bench_window.py [--frames 300] [--starts 3]
    xvfb-run -a -s "-screen 0 1280x1024x24" python scripts/bench_window.py --x11 [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

RUNS = [
    ("gd", {"lr": 0.0008}),
    ("momentum", {"lr": 0.0005, "momentum": 0.9}),
    ("nesterov", {"lr": 0.0005, "momentum": 0.9}),
    ("adam", {"lr": 0.02}),
    ("rmsprop", {"lr": 0.002}),
    ("adagrad", {"lr": 0.3}),
    ("adamax", {"lr": 0.02}),
    ("nadam", {"lr": 0.01}),
]
STEPS = 5000


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def wait(app, cond, timeout=60.0):
    t0 = time.perf_counter()
    while not cond():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the window did not finish computing")


def session_8x5000():
    from gdviz.core.presets import load_preset
    from gdviz.core.session import RunSpec

    s = load_preset("rosenbrock").session
    runs = tuple(RunSpec(name, params) for name, params in RUNS)
    return replace(s, runs=runs, steps=STEPS, preset=None)


def ready(w):
    return w.trajectory is not None and w.complete and not w.computer.busy


def pct(a, q):
    return float(np.percentile(np.asarray(a) * 1000, q))


def bench_frames(app, w, frames: int) -> None:
    """What one playback frame costs: move the step, repaint the scene's two views."""
    from gdviz.ui import compute

    # Keep every run going for all 5,000 steps (no convergence stop), so every
    # trail really is 4,000–5,000 points long.
    compute.RunRequest.__dataclass_fields__["grad_tol"].default = 0.0
    w.load_session(session_8x5000())
    wait(app, lambda: ready(w) and w.trajectory.positions.shape == (STEPS + 1, 8, 2))
    views = (w.scene.surface_view, w.scene.loss_view)
    w.scene.set_step(4000)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 2.0:  # let the cached trail chunks be built
        app.processEvents()
    wall, cpu = [], []
    for n in range(frames):
        step = 4000 + (n * 17) % 1001  # 1000 steps/s at 60 frames/s: 17 steps a frame
        t0, c0 = time.perf_counter(), time.thread_time()
        w.scene.set_step(step)
        for v in views:
            v.viewport().repaint()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    lens = [len(items.trail.data()[0]) for items in w.scene.run_items]
    print(
        f"frame (set step + paint scene), 8 runs, trails {min(lens)}–{STEPS + 1} points, "
        f"window 1280x800, {frames} frames:"
    )
    for name, t in (("wall", wall), ("CPU ", cpu)):
        print(
            f"  {name} p50 {pct(t, 50):.1f} ms  p95 {pct(t, 95):.1f} ms  p99 {pct(t, 99):.1f} ms"
            f"  max {max(t) * 1000:.1f} ms  -> {1 / statistics.mean(t):.0f} frames/s possible"
        )
    c0 = time.thread_time()
    for n in range(50):
        w.stats.show_step(4000 + n)
        w.stats.viewport().repaint()
    each = (time.thread_time() - c0) * 20  # ms per refresh (50 refreshes)
    print(f"  numbers table refresh (10 per second while playing): {each:.1f} ms CPU")


def bench_playback(app, w, seconds: float = 6.0) -> None:
    counter = PaintCounter()
    w.scene.surface_view.viewport().installEventFilter(counter)
    w.player.reset()
    w.transport.set_speed(1000)
    ticks: list[float] = []
    w.player.stepChanged.connect(lambda _i: ticks.append(time.perf_counter()))
    w.scene.set_step(0)
    t0 = time.perf_counter()
    counter.count = 0
    w.player.play()
    while w.player.playing and time.perf_counter() - t0 < seconds:
        app.processEvents()
    elapsed = time.perf_counter() - t0
    w.player.pause()
    gaps = np.diff(ticks) if len(ticks) > 2 else np.array([0.0])
    print(
        f"playback at 1000 steps/s from step 0: step {w.player.step} after {elapsed:.2f} s, "
        f"{counter.count / elapsed:.0f} painted frames/s; "
        f"frame interval p50 {pct(gaps, 50):.1f} ms p95 {pct(gaps, 95):.1f} ms "
        f"p99 {pct(gaps, 99):.1f} ms"
    )


def max_stall(app, action, done, timeout=60.0) -> float:
    """Longest gap between 5 ms timer ticks on the GUI thread while ``action`` runs."""
    stamps: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: stamps.append(time.perf_counter()))
    timer.start()
    t0 = time.perf_counter()
    stamps.append(t0)
    action()
    while not done() and time.perf_counter() - t0 < timeout:
        app.processEvents()
    stamps.append(time.perf_counter())
    timer.stop()
    return float(np.max(np.diff(stamps))) * 1000


def wheel_zoom(view, notches: int = 1) -> None:
    """Zoom ``view`` in at its centre with a real wheel event, as a mouse does.

    The window reacts to it as to a person's zoom: the view scales at once and
    the surface is sampled again for the new view window 200 ms later (a
    programmatic ``scaleBy`` would skip that second part).
    """
    vp = view.viewport()
    pos = QPointF(vp.width() / 2, vp.height() / 2)
    event = QWheelEvent(
        pos,
        QPointF(vp.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(vp, event)


def bench_rescale(app, w) -> None:
    """Longest stall while the window is resized or the surface zoomed at step 5,000."""
    w.scene.set_step(STEPS)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 2.0:  # every trail chunk cached
        app.processEvents()

    def settled(t_start: list[float]):
        # Layout and repaints follow in later turns: give them 0.5 s, then
        # wait until every trail is back in its full-quality cached form.
        return lambda: time.perf_counter() - t_start[0] > 0.5 and w.scene.settled()

    results = []
    for name, action in (
        ("window resize by 40 px", lambda: w.resize(w.width() + 40, w.height())),
        ("mouse zoom of the surface", lambda: wheel_zoom(w.scene.surface_view)),
    ):
        start = [time.perf_counter()]

        def act(action=action, start=start):
            start[0] = time.perf_counter()
            action()

        results.append((name, max_stall(app, act, settled(start))))
    print(
        f"longest GUI stall while resizing / zooming with {STEPS:,}-step trails: "
        + ", ".join(f"{name} {stall:.1f} ms" for name, stall in results)
    )
    w.resize(1280, 800)
    wait(app, w.scene.settled)


def bench_scrub(app, w) -> None:
    """Longest stall of timeline jumps with 5,000-step trails (as dragging the slider does)."""
    w.player.pause()
    w.player.seek(STEPS)
    _pause(app, 1.0)
    wait(app, w.scene.settled)
    out = []
    for step in (0, STEPS, STEPS // 2, STEPS, 1000, STEPS):
        start = [0.0]

        def act(step=step, start=start):
            start[0] = time.perf_counter()
            w.transport.timeline.setValue(step)  # the timeline slider, as a drag sets it

        def done(start=start):
            return time.perf_counter() - start[0] > 0.3 and w.scene.settled()

        out.append(max_stall(app, act, done))
    print(f"longest GUI stall of a timeline jump (0 <-> {STEPS:,}, to the middle): {_summary(out)}")


def _pause(app, seconds: float) -> None:
    """Let the window finish painting, as it does while a person reads the result."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()


def _stalls(app, w, actions) -> list[float]:
    """The longest stall of each action (each waits for its recomputed runs)."""
    out = []
    for action in actions:
        old = w.trajectory
        out.append(max_stall(app, action, lambda old=old: w.trajectory is not old and ready(w)))
        _pause(app, 0.5)
    return out


def _summary(stalls: list[float]) -> str:
    return f"{max(stalls):.1f} ms (median {statistics.median(stalls):.1f} ms of {len(stalls)})"


def bench_stalls(app, w) -> None:
    panel = w.runs_panel
    panel.list.setCurrentRow(0)
    lr = panel.param_widget("lr")

    def change_lr(value: str):
        def act():
            lr.text.setText(value)
            lr.text.editingFinished.emit()

        return act

    stalls = _stalls(app, w, [change_lr(v) for v in ("0.00077", "0.0009", "0.00071", "0.0008")])
    print(f"longest GUI stall while recomputing 8 x {STEPS} steps: {_summary(stalls)}")

    from gdviz.core import loss as loss_module

    # As in the app, the compile process is started ahead of the first typed
    # function (the app does it 1.5 s after opening).
    loss_module.warm_up()
    _pause(app, 3.0)

    def type_function(text: str):
        def act():
            w.editor.edit.setText(text)
            w.editor._settle()

        return act

    beale = "(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2"
    rosenbrock = "(1-x)^2 + 100(y-x^2)^2"
    # Six functions this process has not compiled yet, as a person types them:
    # a function compiled before comes back from a cache and costs less.
    typed = (
        beale,
        "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        "(1.2 - x)^2 + 80(y - x^2)^2",
        "(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.5 - x + x y^3)^2",
        "x^2 + 3 y^2 + sin(3 x) cos(2 y)",
        "(4 - 2.1 x^2 + x^4/3) x^2 + x y + (-4 + 4 y^2) y^2",
    )
    stalls = _stalls(app, w, [type_function(t) for t in typed])
    print(f"longest GUI stall while compiling a typed function and recomputing: {_summary(stalls)}")

    # A typo (shown with its message and mark; nothing recomputed), then the
    # fix (compiled and recomputed again).
    bad, bad_stalls, fix_stalls = "(1-x)^2 + 100(y - sine(x^2))^2", [], []
    for _ in range(3):
        bad_stalls.append(max_stall(app, type_function(bad), w.editor.has_error))
        _pause(app, 0.5)
        fix_stalls += _stalls(app, w, [type_function(rosenbrock)])
    print(
        f"longest GUI stall while an invalid function's message is shown: {_summary(bad_stalls)}; "
        f"when it is fixed and recomputed: {_summary(fix_stalls)}"
    )

    def pick_start(point: tuple[float, float]):
        def act():
            w.scene.startPicked.emit(point)  # what a click on the surface sends

        return act

    # A new start rewinds the player to step 0 (as in the app), so the trails
    # being replaced are short: the cost is the recompute and the new runs.
    points = [(-1.5, 2.0), (1.2, -0.5), (-0.8, 1.4), (0.5, 2.5)]
    stalls = _stalls(app, w, [pick_start(p) for p in points])
    print(f"longest GUI stall while setting a new start and recomputing: {_summary(stalls)}")


def bench_startup(starts: int) -> None:
    exe = shutil.which("gdviz") or str(Path(sys.executable).with_name("gdviz"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GDVIZ_QUIT_AFTER_MS="1")
    shown, ready_t, wall, to_paint = [], [], [], []
    for _ in range(starts):
        t0, launched = time.perf_counter(), time.time()
        proc = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=120)
        wall.append(time.perf_counter() - t0)
        m = re.search(r"shown_after=([\d.]+)s ready_after=([\d.]+)s shown_at=([\d.]+)", proc.stdout)
        if proc.returncode != 0 or not m:
            print("gdviz did not start cleanly:", proc.stdout, proc.stderr[-500:])
            return
        shown.append(float(m.group(1)))
        ready_t.append(float(m.group(2)))
        to_paint.append(float(m.group(3)) - launched)
    # "shown"/"ready" count from gdviz.app's import; "from the command" counts
    # from the moment the command was started (Python's own start-up and the
    # command's imports included), as a person at the keyboard sees it.
    print(
        f"window open (median of {starts}): first paint {statistics.median(to_paint):.2f} s "
        f"from the command ({statistics.median(shown):.2f} s after gdviz.app's import), "
        f"first picture computed {statistics.median(ready_t):.2f} s after that import; "
        f"whole process incl. exit {statistics.median(wall):.2f} s"
    )


# ----------------------------------------------------------- a real X server (--x11)
#: Steps shown per painted frame in the free-running comparison (1,000 steps/s at 60 Hz).
X11_STRIDE = 17


class _MatplotlibScene:
    """The 2-D scene drawn with matplotlib, animated with blitting: the peer to beat.

    The same picture as gdviz's scene, as a careful matplotlib program would
    draw it: a heat-map (``imshow``) and contour lines of the same sampled
    grid with a colour bar, every run's trail (a dark outline under the
    coloured line, as gdviz draws it) and its current point, and beside it the
    loss panel with every run's loss curve (log axis) and a step marker. The
    still parts are drawn once; each frame restores that background, updates
    the animated artists, draws only them and blits the changed region: the
    fast path matplotlib's animation guide describes.

    The canvas has the size of gdviz's scene (the part of its window that
    animates), in a window of the same size as gdviz's.
    """

    def __init__(self, traj, grid, theme, canvas_size, split, window_size, outlines=True):
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure
        from PySide6.QtWidgets import QMainWindow, QWidget

        self.pos = np.asarray(traj.positions)
        self.loss = np.asarray(traj.losses)
        colors = [_run_color(k) for k in range(self.pos.shape[1])]
        dpi = 100
        pt = 72 / dpi  # matplotlib sizes lines in points; gdviz's theme gives pixels
        # As pyqtgraph draws gdviz's trails and curves: not antialiased.
        line = {"antialiased": False, "animated": True}
        w, h = canvas_size
        fig = Figure(figsize=(w / dpi, h / dpi), dpi=dpi, facecolor="#15171c")
        gs = fig.add_gridspec(1, 2, width_ratios=split, left=0.06, right=0.98, wspace=0.25)
        ax = fig.add_subplot(gs[0])
        lax = fig.add_subplot(gs[1])
        z = np.asarray(grid.z)
        zmin = np.nanmin(z)
        logz = np.log10(z - zmin + (np.nanmax(z) - zmin) * 1e-4)
        (x0, x1), (y0, y1) = (grid.xs[0], grid.xs[-1]), (grid.ys[0], grid.ys[-1])
        im = ax.imshow(
            logz, origin="lower", extent=(x0, x1, y0, y1), cmap="viridis", aspect="equal",
            interpolation="nearest", vmax=np.nanquantile(logz, 0.99),
        )  # fmt: skip
        ax.contour(grid.xs, grid.ys, logz, levels=14, colors="white", linewidths=0.6, alpha=0.6)
        fig.colorbar(im, ax=ax, fraction=0.05)
        self.trails, self.animated = [], []
        for k, c in enumerate(colors):
            if outlines:  # gdviz's outline: the theme's shadow colour, 2.5 px wider
                width = (theme.line_px + 2.5 * theme.font_scale) * pt
                (shadow,) = ax.plot([], [], color=theme.path_shadow[:7], lw=width, **line)
                self.trails.append((k, shadow))
            (trail,) = ax.plot([], [], color=c, lw=theme.line_px * pt, **line)
            self.trails.append((k, trail))
        self.points = ax.scatter(
            self.pos[0, :, 0], self.pos[0, :, 1], s=(theme.marker_px * pt) ** 2, c=colors,
            edgecolors=theme.path_shadow[:7], linewidths=1.5 * theme.font_scale * pt, zorder=5,
            animated=True,
        )  # fmt: skip
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        n = self.loss.shape[0]
        self.steps = np.arange(n)
        self.curves = []
        for k, c in enumerate(colors):
            (curve,) = lax.plot([], [], color=c, lw=theme.line_px * pt, **line)
            self.curves.append((k, curve))
        finite = self.loss[np.isfinite(self.loss) & (self.loss > 0)]
        lax.set_yscale("log", nonpositive="clip")
        lax.set_xlim(0, n - 1)
        lax.set_ylim(max(finite.min(), 1e-12) * 0.5, finite.max() * 2)
        self.marker = lax.axvline(0, color="#cccccc", lw=1.0, animated=True)
        for a in (ax, lax):
            a.set_facecolor("#15171c")
            a.tick_params(colors="#dddddd")
        lax.set_xlabel("step", color="#dddddd")
        lax.set_ylabel("loss", color="#dddddd")
        self.animated = [a for _, a in self.trails] + [self.points, self.marker]
        self.animated += [a for _, a in self.curves]
        self.fig, self.ax, self.lax = fig, ax, lax
        self.canvas = FigureCanvasQTAgg(fig)
        self.canvas.setFixedSize(w, h)
        self.window = QMainWindow()
        holder = QWidget()
        holder.setStyleSheet("background: #1d2027")
        self.canvas.setParent(holder)
        self.window.setCentralWidget(holder)
        self.window.resize(*window_size)
        self.counter = PaintCounter()
        self.canvas.installEventFilter(self.counter)
        self.bg = None

    def show(self, app) -> None:
        self.window.move(0, 0)
        self.window.show()
        self.window.raise_()
        wait(app, lambda: self.window.isVisible() and self.canvas.isVisible(), 10)
        _pause(app, 0.5)
        self.canvas.draw()  # the still parts, once
        _pause(app, 0.3)
        self.bg = self.canvas.copy_from_bbox(self.fig.bbox)

    def hide(self, app) -> None:
        self.window.hide()
        _pause(app, 0.3)

    def show_step(self, i: int) -> None:
        c = self.canvas
        c.restore_region(self.bg)
        p = self.pos
        for k, line in self.trails:
            line.set_data(p[: i + 1, k, 0], p[: i + 1, k, 1])
        self.points.set_offsets(p[i])
        for k, curve in self.curves:
            curve.set_data(self.steps[: i + 1], self.loss[: i + 1, k])
        self.marker.set_xdata([i, i])
        for a in self.animated:
            a.axes.draw_artist(a)
        c.blit(self.fig.bbox)  # one repaint of the changed canvas, painted now


def _free_run(app, show_step, painted, first: int, seconds: float) -> tuple[float, float]:
    """Painted frames per second when each frame is painted as soon as the last one was.

    Every frame moves :data:`X11_STRIDE` steps on (steps ``first`` … end, then
    again), and the next one starts once the event loop has painted it and
    handed it to the X server: the rate the program can draw, not a timer's.

    Returns ``(frames per wall second, frames per CPU second of this thread)``:
    the second is what the program could do on a machine of its own (the X
    server's share of the work is not in it; other programs' load is not either).
    """
    n, last = 0, STEPS - first
    t0, c0 = time.perf_counter(), time.thread_time()
    while time.perf_counter() - t0 < seconds:
        before = painted()
        show_step(first + (n * X11_STRIDE) % (last + 1))
        t1 = time.perf_counter()
        while painted() == before and time.perf_counter() - t1 < 1.0:
            app.processEvents()
        n += 1
    return n / (time.perf_counter() - t0), n / max(time.thread_time() - c0, 1e-9)


def bench_x11(app, w, rounds: int, seconds: float) -> None:
    """gdviz against matplotlib with blitting, on a real X server (see ``--x11``)."""
    from PySide6.QtOpenGL import QOpenGLWindow
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

    from gdviz.core.surface import sample_grid
    from gdviz.ui import compute
    from gdviz.ui.scene import SURFACE_SAMPLES

    compute.RunRequest.__dataclass_fields__["grad_tol"].default = 0.0
    w.load_session(session_8x5000())
    wait(app, lambda: ready(w) and w.trajectory.positions.shape == (STEPS + 1, 8, 2))
    v3 = w.view3d
    tabs = w.surface_tabs

    def gl_state() -> str:
        made = "not created" if v3.glview is None else type(v3.glview).__name__
        widgets = len(w.findChildren(QOpenGLWidget))
        return f"3-D view {made}, QOpenGLWidgets in the window: {widgets}"

    print(
        f"OpenGL: {v3.gl_support.reason}; 3-D tab available: {v3.available}, "
        f"shown: {tabs.currentIndex() == 1}; {gl_state()}"
    )
    counter = PaintCounter()
    w.scene.surface_view.viewport().installEventFilter(counter)

    def gdviz_fps(label: str) -> tuple[float, float]:
        w.player.seek(STEPS - 1000)
        _pause(app, 1.0)
        wait(app, w.scene.settled)  # the trails' cached chunks are built
        fps = _free_run(app, w.player.seek, lambda: counter.count, STEPS - 1000, seconds)
        print(f"  gdviz {label}: {fps[0]:.0f} painted frames/s ({fps[1]:.0f} per CPU second)")
        return fps

    # The grid gdviz's heat-map and contours are drawn from; its theme's colours and sizes.
    grid = sample_grid(w.loss, w.session.domain, SURFACE_SAMPLES)
    # The surface and the loss column as the window lays them out (the
    # matplotlib figure gets their combined size and their split).
    surface, column = w.surface_tabs, w.scene.column
    scene_size = (surface.width() + column.width(), surface.height())
    split = (max(1, surface.width()), max(1, column.width()))
    mpl_scenes = {
        "outlined trails, as gdviz": _MatplotlibScene(
            w.trajectory, grid, w.theme, scene_size, split, (w.width(), w.height())
        ),
        "plain trails (less to draw)": _MatplotlibScene(
            w.trajectory, grid, w.theme, scene_size, split, (w.width(), w.height()), False
        ),
    }

    def mpl_fps(label: str, m: _MatplotlibScene) -> tuple[float, float]:
        # On top of gdviz's window, which stays shown (paused, it paints nothing):
        # hiding it would make it rebuild its trail caches for the next round.
        m.show(app)
        fps = _free_run(app, m.show_step, lambda: m.counter.count, STEPS - 1000, seconds)
        m.hide(app)
        print(
            f"  matplotlib + blitting, {label}: {fps[0]:.0f} painted frames/s "
            f"({fps[1]:.0f} per CPU second)"
        )
        return fps

    print(
        f"free-running frames (each painted as soon as the last one), 8 runs, trails "
        f"{STEPS - 1000:,}–{STEPS:,} steps, {X11_STRIDE} steps a frame, window "
        f"{w.width()}x{w.height()}, scene {scene_size[0]}x{scene_size[1]}, {seconds:.0f} s each:"
    )
    _pause(app, 3.0)  # the app's start-up work (the compile worker's warm-up) is done
    # One unmeasured run first: the first frames of a process pay one-off costs
    # (caches, first paints of each item), as every later round would not.
    _free_run(app, w.player.seek, lambda: counter.count, STEPS - 1000, 2.0)
    ours: list[tuple[float, float]] = []
    peers: dict[str, list[tuple[float, float]]] = {k: [] for k in mpl_scenes}
    for r in range(rounds):
        print(f" round {r + 1}/{rounds}")
        ours.append(gdviz_fps("(3-D tab not shown)"))
        for k, m in mpl_scenes.items():
            peers[k].append(mpl_fps(k, m))
    for i, what in ((0, "painted frames/s"), (1, "frames per CPU second")):
        g = statistics.median(f[i] for f in ours)
        print(f"median of {rounds}, {what}: gdviz {g:.0f}")
        for k, runs in peers.items():
            m = statistics.median(f[i] for f in runs)
            print(f"  matplotlib + blitting, {k}: {m:.0f} -> gdviz/matplotlib = {g / m:.2f}x")
    print("  (targets: gdviz >= 60 painted frames/s and >= 1.5x matplotlib)")
    bench_playback(app, w)

    # Show the 3-D tab once, go back to 2-D: the 2-D speed should stay.
    tabs.setCurrentIndex(1)
    t0 = time.perf_counter()
    wait(app, lambda: v3.glview is not None and v3.glview.isExposed(), 30)
    print(
        f"3-D tab shown: its GL view ready in {(time.perf_counter() - t0) * 1000:.0f} ms; "
        f"{gl_state()}; the GL view is a QOpenGLWindow: {isinstance(v3.glview, QOpenGLWindow)}"
    )
    _pause(app, 1.0)
    tabs.setCurrentIndex(0)
    _pause(app, 0.5)
    after = [gdviz_fps("after the 3-D tab was shown and hidden") for _ in range(rounds)]
    print(
        f"median of {rounds} after showing the 3-D tab: "
        f"{statistics.median(f[0] for f in after):.0f} painted frames/s, "
        f"{statistics.median(f[1] for f in after):.0f} per CPU second"
    )
    bench_playback(app, w)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument(
        "--x11",
        action="store_true",
        help="on a real X server (xvfb-run): gdviz against matplotlib with blitting",
    )
    ap.add_argument("--rounds", type=int, default=3, help="--x11: rounds of the comparison")
    ap.add_argument("--seconds", type=float, default=4.0, help="--x11: seconds per measurement")
    args = ap.parse_args()
    if args.x11:
        if not os.environ.get("DISPLAY"):
            print(
                "--x11 needs an X server. Without a desktop, run it under Xvfb:\n"
                '  xvfb-run -a -s "-screen 0 1280x1024x24" python scripts/bench_window.py --x11'
            )
            return 2
        try:
            import matplotlib  # noqa: F401  (the peer the comparison measures)
        except ImportError:
            print(
                "--x11 compares with matplotlib, a benchmark-only extra. Install it with\n"
                "  pip install -e '.[bench]'    (or: pip install 'matplotlib>=3.8')"
            )
            return 2
        os.environ["QT_QPA_PLATFORM"] = "xcb"  # a real window, composited as on a desktop
    app = QApplication.instance() or QApplication(["gdviz-bench"])
    from gdviz.ui.main_window import MainWindow

    w = MainWindow()
    w.resize(1280, 800)
    w.move(0, 0)  # --x11: where the matplotlib window covers it exactly
    w.show()
    wait(app, lambda: ready(w))
    if args.x11:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"window {w.width()}x{w.height()}, platform {app.platformName()}, "
            f"{os.cpu_count()} CPUs, load average {load:.1f}"
        )
        bench_x11(app, w, args.rounds, args.seconds)
        w.close()
        return 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"window {w.width()}x{w.height()}, platform {app.platformName()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f} (wall times grow with the load; "
        "CPU times much less)"
    )
    bench_frames(app, w, args.frames)
    bench_playback(app, w)
    bench_rescale(app, w)
    bench_scrub(app, w)
    bench_stalls(app, w)
    w.close()
    bench_startup(args.starts)
    return 0


def _run_color(k: int) -> str:
    from gdviz.core.colors import run_color

    return run_color(k)


if __name__ == "__main__":
    sys.exit(main())
