"""Benchmark the 2-D scene against the scene of another revision, in the same run.

The scene of ``--against`` (default: where this branch left ``main``) is
loaded from git under another module name, so both draw with the same
gdviz.core, Qt and pyqtgraph in one process. Each is shown offscreen at
1280×700 with 8 runs of 5,000 steps (the loss plot alone, or with
``--extra-plots`` the ‖∇f‖ and learning-rate plots too), and times:

* playback frames: set the step (25 steps on) and paint the scene;
* scrub frames: jump to a random step and paint;
* restyle: a new theme (every item restyled, every trail re-cached).

Blocks of frames alternate between the two scenes, so a busy shared machine
slows both alike. Prints p50 / p95 per scene and the ratio new / old.

Usage::

    python scripts/bench_scene.py [--against REV] [--frames 120] [--rounds 3] [--extra-plots]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gdviz.core.engine import RunConfig, StopRules, run  # noqa: E402
from gdviz.core.loss import compile_loss  # noqa: E402
from gdviz.core.session import ViewSettings  # noqa: E402
from gdviz.ui.scene import Scene  # noqa: E402
from gdviz.ui.theme import DARK, LIGHT  # noqa: E402


def scene_of(rev: str) -> type:
    """The ``Scene`` class of ``gdviz/ui/scene.py`` at git revision ``rev``."""
    text = subprocess.run(
        ["git", "show", f"{rev}:gdviz/ui/scene.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "scene_before.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("scene_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Scene


def make_scene(cls: type, app: QApplication, loss, traj, extra: bool) -> object:
    s = cls("both", DARK)
    s.resize(1280, 700)
    s.show()
    s.set_view(ViewSettings(show_grad_norm=extra, show_lr=extra))
    s.set_problem(loss, ((-2.0, 2.0), (-1.0, 3.0)))
    colors = [_run_color(k) for k in range(traj.positions.shape[1])]
    s.set_runs(traj, colors, [f"run {k}" for k in range(len(colors))])
    settle(s, app)
    return s


def settle(s, app: QApplication) -> None:
    for _ in range(400):
        app.processEvents()
        if s.settled():
            break
        time.sleep(0.002)


def frame(s, app: QApplication, i: int) -> float:
    t0 = time.perf_counter()
    s.set_step(i)
    s.repaint()
    app.processEvents()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    merge_base = subprocess.run(
        ["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    p.add_argument("--against", default=merge_base or "HEAD~1")
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--extra-plots", action="store_true", help="tick ‖∇f‖ and learning rate")
    args = p.parse_args()
    app = QApplication.instance() or QApplication([])
    loss = compile_loss("(1 - x)^2 + 100(y - x^2)^2")
    starts = [(-1.5 + 0.1 * k, 2.0 - 0.1 * k) for k in range(8)]
    configs = [RunConfig("gd", {"lr": 1e-4 * (1 + k)}, s) for k, s in enumerate(starts)]
    traj = run(loss, configs, 5000, stop=StopRules(max_steps=5000, grad_tol=None))
    scenes = {
        f"old ({args.against[:10]})": make_scene(
            scene_of(args.against), app, loss, traj, args.extra_plots
        ),
        "new (this tree)": make_scene(Scene, app, loss, traj, args.extra_plots),
    }
    times: dict[str, dict[str, list[float]]] = {n: {} for n in scenes}
    rng = np.random.default_rng(0)
    for _ in range(args.rounds):
        jumps = rng.integers(0, 5001, args.frames)
        for name, s in scenes.items():
            t = times[name]
            s.set_step(0)
            settle(s, app)
            for i in range(args.frames):
                t.setdefault("playback frame", []).append(frame(s, app, (25 * i) % 5001))
            for i in jumps:
                t.setdefault("scrub frame", []).append(frame(s, app, int(i)))
            for theme in (LIGHT, DARK):
                t0 = time.perf_counter()
                s.set_theme(theme)
                settle(s, app)
                t.setdefault("restyle + settle", []).append(time.perf_counter() - t0)
    old, new = scenes
    plots = "loss, ‖∇f‖ and learning-rate plots" if args.extra_plots else "loss plot"
    print(f"8 runs × 5,000 steps, 1280×700, {plots}; {args.rounds} rounds")
    heads = ("old p50", "old p95", "new p50", "new p95")
    print(f"{'':20s} " + " ".join(f"{h:>9s}" for h in heads) + f" {'new/old':>8s}")
    for key in times[new]:
        a, b = times[old][key], times[new][key]
        pa, pb = statistics.median(a), statistics.median(b)
        qa, qb = np.percentile(a, 95), np.percentile(b, 95)
        print(
            f"{key:20s} {pa * 1e3:8.2f}ms {qa * 1e3:8.2f}ms {pb * 1e3:8.2f}ms "
            f"{qb * 1e3:8.2f}ms {pb / pa:7.2f}×"
        )


def _run_color(k: int) -> str:
    from gdviz.core.colors import run_color

    return run_color(k)


if __name__ == "__main__":
    main()
