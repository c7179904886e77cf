"""Benchmark animation export: frames per second for each format, and the target.

Prints, for a 1280×720 scene (three optimizers racing on a Rosenbrock valley):

- rendering alone (scene.set_step + paint + RGB copy), frames per second;
- each format written end to end (PNG sequence, GIF, MP4), frames per second,
  seconds and output size;
- the target: ``gdviz export`` of 300 frames at 1280×720 to MP4, timed as a
  whole command (Python start-up, compile, engine, rendering, encoding) — at
  most 10 s on the two-core reference machine.

Run: ``python scripts/bench_export.py [--frames 300] [--size 1280x720]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUNCTION = "(1-x)^2 + 5(y-x^2)^2"
OPTIMIZERS = ["gd:lr=0.02", "momentum:lr=0.01", "adam:lr=0.1"]
START = (-1.5, 2.0)
TARGET_SECONDS = 10.0


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--skip-cli", action="store_true", help="skip the whole-command timing")
    args = parser.parse_args()

    from gdviz.export.offscreen import ensure_offscreen_platform

    ensure_offscreen_platform()
    from gdviz.core.engine import run
    from gdviz.core.loss import compile_loss
    from gdviz.core.specs import parse_optimizer_spec
    from gdviz.export.plan import ExportPlan, auto_domain, parse_size
    from gdviz.export.render import SceneInputs, SceneRenderer, export_animation

    size = parse_size(args.size)
    steps = args.frames - 1
    loss = compile_loss(FUNCTION)
    traj = run(loss, [parse_optimizer_spec(s, start=START) for s in OPTIMIZERS], steps)
    inputs = SceneInputs(loss, auto_domain(traj.positions), traj, labels=OPTIMIZERS, start=START)
    print(f"scene: {FUNCTION!r}, {len(OPTIMIZERS)} runs, {args.frames} frames at {args.size}")
    print(f"CPU cores: {os.cpu_count()}")

    t0 = time.perf_counter()
    renderer = SceneRenderer(inputs, size, "both", "light")
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    c0 = cpu_seconds()[0]
    for step in range(args.frames):
        renderer.frame(step)
    render_s = time.perf_counter() - t0
    render_cpu = cpu_seconds()[0] - c0
    renderer.close()
    print(f"load average {os.getloadavg()[0]:.1f} (wall times suffer when it exceeds the cores)")
    print(f"\nscene set-up              {setup * 1000:7.0f} ms")
    print(f"render only               {args.frames / render_s:7.1f} frames/s "
          f"({render_s * 1000 / args.frames:.1f} ms/frame wall, "
          f"{render_cpu * 1000 / args.frames:.1f} ms/frame CPU)")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="gdviz-bench-") as tmp:
        print(
            f"\n{'format':<8}{'frames/s':>10}{'wall s':>9}{'CPU s':>8}{'encoder CPU s':>15}"
            f"{'size':>11}"
        )
        for name in ("frames/", "anim.gif", "anim.mp4"):
            plan = ExportPlan.create(f"{tmp}/{name}", last_step=steps, size=size, fps=30)
            t0 = time.perf_counter()
            me0, kids0 = cpu_seconds()
            out = export_animation(plan, inputs)
            dt = time.perf_counter() - t0
            me1, kids1 = cpu_seconds()
            nbytes = (
                sum(p.stat().st_size for p in out.iterdir()) if out.is_dir() else out.stat().st_size
            )
            print(
                f"{plan.kind.value:<8}{args.frames / dt:10.1f}{dt:9.2f}{me1 - me0:8.2f}"
                f"{kids1 - kids0:15.2f}{nbytes / 1e6:8.2f} MB"
            )

        if args.skip_cli:
            return 0
        out = Path(tmp) / "cli.mp4"
        cmd = [
            sys.executable, "-m", "gdviz", "export", "--function", FUNCTION,
            *[a for s in OPTIMIZERS for a in ("--optimizer", s)],
            "--start", ",".join(map(str, START)), "--steps", str(steps),
            "--size", args.size, "--out", str(out),
        ]  # fmt: skip
        t0 = time.perf_counter()
        kids0 = cpu_seconds()[1]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        cpu = cpu_seconds()[1] - kids0
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        verdict = "meets" if dt <= TARGET_SECONDS else "MISSES"
        print(
            f"\nwhole command, {args.frames} frames {args.size} -> MP4: {dt:.2f} s "
            f"({args.frames / dt:.1f} frames/s; {verdict} the {TARGET_SECONDS:g} s target)"
        )
        print(
            f"  CPU used by the command and its ffmpeg: {cpu:.2f} s "
            f"(on {os.cpu_count()} idle cores at least {cpu / (os.cpu_count() or 1):.2f} s wall)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
