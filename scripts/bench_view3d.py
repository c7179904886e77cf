"""Frames per second of the 3-D surface view: 150 × 150 surface, 4 runs.

Needs an X server with OpenGL; on a machine without a display run it under
Xvfb (Mesa's llvmpipe renders in software):

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" \\
        python scripts/bench_view3d.py

What is measured:

- set-up: sampling + meshing the surface (``set_problem``) and draping the
  runs (``set_runs``);
- ``set_step``: the Python side of one frame (slicing and uploading paths);
- on-screen fps: the view is shown and every ``frameSwapped`` moves to the
  next step and asks for the next frame, as the player does while playing,
  for a few seconds per window size; each frame is a real GL paint plus
  the compositor's swap, with the CPU time it cost this process;
- fps while the camera turns (the still surface is redrawn every frame);
- one export frame (``Surface3DView.render`` into a ``QImage``).

The target is 30 fps or more at a typical window size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per window size")
    parser.add_argument("--steps", type=int, default=3000, help="steps per run")
    parser.add_argument("--per-frame", type=int, default=4, help="steps advanced per frame")
    parser.add_argument(
        "--sizes", default="800x600,1280x800", help="window sizes, comma-separated WxH"
    )
    args = parser.parse_args()

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from gdviz.core.colors import run_color
    from gdviz.core.engine import RunConfig, run
    from gdviz.core.loss import compile_loss
    from gdviz.ui.gl import probe_gl
    from gdviz.ui.theme import DARK
    from gdviz.ui.view3d import Surface3DView

    support = probe_gl()
    print(f"platform: {app.platformName()}  {support.reason}")
    if not support.available:
        print("no OpenGL here: run under xvfb-run with QT_QPA_PLATFORM=xcb (see the docstring)")
        return 1
    print(f"LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', '(default)')}  cpus={os.cpu_count()}")

    loss = compile_loss("(1 - x)^2 + 100(y - x^2)^2")
    start = (-1.5, 2.0)
    configs = [
        RunConfig("gd", {"lr": 0.0008}, start),
        RunConfig("momentum", {"lr": 0.0005, "momentum": 0.9}, start),
        RunConfig("adam", {"lr": 0.05}, start),
        RunConfig("rmsprop", {"lr": 0.005}, start),
    ]
    traj = run(loss, configs, args.steps)
    domain = ((-2.0, 2.0), (-1.0, 3.0))

    view = Surface3DView(DARK, grid_size=150, height_mode="log")
    # Shown first: a hidden view defers its work until it is shown.
    view.resize(800, 600)
    view.show()
    for _ in range(10):
        app.processEvents()
    t0 = time.perf_counter()
    view.set_problem(loss, domain)
    t1 = time.perf_counter()
    view.set_runs(traj, [run_color(k) for k in range(4)], ["gd", "momentum", "adam", "rms"])
    t2 = time.perf_counter()
    n_faces = 0 if view._mesh is None else len(view._mesh.faces)
    print(f"surface 150x150 ({n_faces} triangles): set_problem {1000 * (t1 - t0):.1f} ms")
    print(f"4 runs x {args.steps} steps: set_runs {1000 * (t2 - t1):.1f} ms")

    n = view.n_steps
    t0 = time.perf_counter()
    reps = 200
    for r in range(reps):
        view.set_step((r * 15) % (n + 1))
    print(f"set_step (Python side, no paint): {1000 * (time.perf_counter() - t0) / reps:.2f} ms")

    results = []
    first = args.sizes.split(",")[0]
    # The last row redraws the surface every frame (no cache), for comparison.
    for size, cached in [(s, True) for s in args.sizes.split(",")] + [(first, False)]:
        view.glview.cache_static = cached
        w, h = (int(v) for v in size.lower().split("x"))
        view.resize(w, h)
        view.show()
        for _ in range(10):
            app.processEvents()
        frames = 0
        step = 0

        def on_swap() -> None:
            nonlocal frames, step
            frames += 1
            step = (step + args.per_frame) % (n + 1)
            view.set_step(step)

        view.glview.frameSwapped.connect(on_swap)
        loop = QEventLoop()
        QTimer.singleShot(int(args.seconds * 1000), loop.quit)
        t0, c0 = time.perf_counter(), time.process_time()
        view.set_step(0)
        loop.exec()
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        view.glview.frameSwapped.disconnect(on_swap)
        gl_w, gl_h = view.glview.width(), view.glview.height()
        fps = frames / dt
        results.append(fps)
        cpu_ms = 1000 * cpu / max(frames, 1)
        how = "" if cached else ", surface redrawn every frame"
        print(
            f"window {w}x{h} (GL {gl_w}x{gl_h}{how}): {frames} frames in {dt:.2f} s"
            f" = {fps:.1f} fps;"
            f" CPU {cpu_ms:.1f} ms/frame over all threads"
            f" (= {1000 / cpu_ms:.0f} fps with one core to itself)"
        )

    view.glview.cache_static = True
    # Turning the view redraws the still surface every frame; while the mouse
    # moves the camera, a coarse copy stands in for it.
    for label, draft in (("full surface", False), ("mouse turning: coarse draft", True)):
        frames = 0

        def on_turn() -> None:
            nonlocal frames
            frames += 1
            view.glview.orbit(2.0, 0.0)

        view.glview._set_moving(draft)
        view.glview.frameSwapped.connect(on_turn)
        loop = QEventLoop()
        QTimer.singleShot(int(args.seconds * 1000), loop.quit)
        t0 = time.perf_counter()
        view.glview.orbit(2.0, 0.0)
        loop.exec()
        dt = time.perf_counter() - t0
        view.glview.frameSwapped.disconnect(on_turn)
        view.glview._set_moving(False)
        print(f"turning the camera every frame, {label}: {frames / dt:.1f} fps")
    view.reset_camera()

    image = QImage(view.size(), QImage.Format.Format_RGB32)
    t0 = time.perf_counter()
    for r in range(10):
        view.set_step(r * 100)
        view.render(image)
    print(f"export frame {view.width()}x{view.height()}: {100 * (time.perf_counter() - t0):.1f} ms")

    load = os.getloadavg()
    print(f"load average while measuring: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    target = 30.0
    verdict = "met" if results[0] >= target else "NOT met"
    print(f"target >= {target:.0f} fps at the first size: {verdict}")
    view.close()
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
