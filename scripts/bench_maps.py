"""Time the maps: a basin map and a learning-rate sweep, printed as figures.

    python scripts/bench_maps.py [--repeat N]

Targets: a 200×200 basin map of 500 GD steps on Himmelblau in at most 5 s; a
100×50 sweep of Adam on Rosenbrock (learning rate × β₁) in at most 5 s. For
comparison it also times the same basin map through the full-trajectory engine
(:func:`gdviz.core.engine.run`, every row recorded) on a slice of the grid.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from gdviz.core.engine import STATUSES, RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.sweep import basin_map, lr_grid, sweep_map

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
ROSENBROCK = "(1 - x)^2 + 100(y - x^2)^2"


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def counts(status: np.ndarray) -> str:
    c = Counter(STATUSES[int(s)] for s in status.ravel())
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    args = ap.parse_args()

    him = compile_loss(HIMMELBLAU)
    cfg = RunConfig("gd", {"lr": 0.01})
    dt, m = best_of(args.repeat, lambda: basin_map(him, cfg, ((-5, 5), (-5, 5)), 200, steps=500))
    print(f"basin map 200×200, GD lr=0.01, 500 steps, Himmelblau: {dt:.2f} s (target ≤ 5 s)")
    print(f"  {counts(m.status)}; {len(m.minima)} minima:")
    for mn in m.minima:
        print(
            f"    ({mn.position[0]:+.6f}, {mn.position[1]:+.6f})  loss {mn.loss:.2e}  "
            f"{mn.count} starts"
        )

    # Worst case for the runner: nothing converges, every run takes every step.
    slow = RunConfig("gd", {"lr": 1e-5})
    dt, m = best_of(args.repeat, lambda: basin_map(him, slow, ((-5, 5), (-5, 5)), 200, steps=500))
    print(f"basin map 200×200, GD lr=1e-5 (no run converges), 500 steps: {dt:.2f} s")

    ros = compile_loss(ROSENBROCK)
    lrs = lr_grid(1e-4, 1.0, 100)
    betas = np.linspace(0.0, 0.98, 50)
    for steps in (500, 2000):
        dt, s = best_of(
            args.repeat,
            lambda steps=steps: sweep_map(
                ros,
                RunConfig("adam", {}, (-1.5, 2.0)),
                lrs,
                y_param="beta1",
                y_values=betas,
                steps=steps,
            ),
        )
        print(f"sweep 100 lr × 50 β₁, Adam, {steps} steps, Rosenbrock: {dt:.2f} s (target ≤ 5 s)")
        print(f"  {counts(s.status)}")

    # The same basin work through the full-trajectory engine, on 4,000 starts.
    xs = np.linspace(-5, 5, 200)
    starts = [(float(x), float(y)) for y in xs[:20] for x in xs]
    configs = [RunConfig("gd", {"lr": 0.01}, p) for p in starts]
    dt, _ = best_of(
        1,
        lambda: run(him, configs, 500, StopRules(max_steps=500), record_state=False),
    )
    print(
        f"full engine.run on 4,000 of those starts: {dt:.2f} s "
        f"(×10 for the whole map ≈ {dt * 10:.0f} s)"
    )


if __name__ == "__main__":
    main()
