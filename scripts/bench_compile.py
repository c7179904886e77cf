"""Benchmark the loss compiler on the classic test functions.

Prints, per function:

* cold   – a fresh Python process: import gdviz.core.loss + compile (what the
           first compile after start-up costs);
* first  – the compile alone in that fresh process (imports already done);
* warm   – best compile time in this process after a first compile;
* worker – best ``compile_loss(..., timeout=...)`` round trip to the warm worker;
* value / grad / hess – best evaluation time on a 500×500 grid.

Usage: ``python scripts/bench_compile.py [--repeat N] [--grid N]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from gdviz.core.loss import compile_loss, shutdown_worker, warm_up

CLASSICS = {
    "sphere": "x^2 + y^2",
    "booth": "(x + 2y - 7)^2 + (2x + y - 5)^2",
    "rosenbrock": "(1-x)^2 + 100(y-x^2)^2",
    "himmelblau": "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    "beale": "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
    "six-hump camel": "(4 - 2.1x^2 + x^4/3)x^2 + xy + (-4 + 4y^2)y^2",
    "rastrigin": "20 + x^2 - 10cos(2pi x) + y^2 - 10cos(2pi y)",
    "ackley": "-20exp(-0.2sqrt(0.5(x^2+y^2))) - exp(0.5(cos(2pi x)+cos(2pi y))) + e + 20",
    "double well (1-D)": "x^4 - 2x^2",
}

_COLD = """
import json, time
t0 = time.perf_counter()
from gdviz.core.loss import compile_loss
t1 = time.perf_counter()
compile_loss({text!r})
t2 = time.perf_counter()
print(json.dumps([t2 - t0, t2 - t1]))
"""


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (best is shown)")
    parser.add_argument("--grid", type=int, default=500, help="grid side for evaluation")
    args = parser.parse_args()

    n = args.grid
    axis = np.linspace(-3, 3, n)
    gx, gy = np.meshgrid(axis, axis, indexing="ij")
    grid2 = np.stack([gx, gy], axis=-1)
    grid1 = np.linspace(-3, 3, n * n).reshape(n, n, 1)

    warm_up()
    header = (
        f"{'function':<18} {'cold':>8} {'first':>8} {'warm':>8} {'worker':>8}"
        f" {'value':>8} {'grad':>8} {'hess':>8}"
    )
    print(f"compile times and {n}×{n} grid evaluation, best of {args.repeat} (ms)")
    print(header)
    print("-" * len(header))
    for name, text in CLASSICS.items():
        proc = subprocess.run(
            [sys.executable, "-c", _COLD.format(text=text)],
            capture_output=True,
            text=True,
            check=True,
        )
        cold, first = json.loads(proc.stdout.strip().splitlines()[-1])
        compile_loss(text)
        warm = _median_time(lambda text=text: compile_loss(text), args.repeat)
        compile_loss(text, timeout=60)
        worker = _median_time(lambda text=text: compile_loss(text, timeout=60), args.repeat)
        loss = compile_loss(text)
        grid = grid1 if loss.dim == 1 else grid2
        value = _median_time(lambda loss=loss, grid=grid: loss.value(grid), args.repeat)
        grad = _median_time(lambda loss=loss, grid=grid: loss.grad(grid), args.repeat)
        hess = _median_time(lambda loss=loss, grid=grid: loss.hess(grid), args.repeat)
        print(
            f"{name:<18} {cold * 1e3:8.1f} {first * 1e3:8.1f} {warm * 1e3:8.1f} "
            f"{worker * 1e3:8.1f} {value * 1e3:8.1f} {grad * 1e3:8.1f} {hess * 1e3:8.1f}"
        )
    point_loss = compile_loss(CLASSICS["rosenbrock"])
    single = _median_time(lambda: point_loss.value_at((0.5, -0.25)), 2000)
    print(f"\nvalue_at, one point (rosenbrock): {single * 1e6:.1f} µs")
    shutdown_worker()
    return 0


if __name__ == "__main__":
    sys.exit(main())
