"""How long explaining one step takes (what the explain panel pays per redraw).

Prints the median time of :func:`gdviz.core.explain.explain_step` (badges
included, Hessian for the saddle rule, the lowest loss given as the panel does),
of :func:`badges` computing the lowest loss itself, and of :func:`lowest_loss`
(once per computation), for a short and a long trajectory of 16 runs.
Run: ``python scripts/bench_explain.py``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from gdviz.core.engine import RunConfig, run
from gdviz.core.explain import badges, explain_step, lowest_loss
from gdviz.core.loss import compile_loss


def _median_ms(fn: Callable[[], object], repeat: int = 200) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def measure(loss, steps: int) -> str:
    opts = ["gd", "momentum", "adam", "rmsprop"] * 4
    configs = [RunConfig(o, {"lr": 1e-4}, (-1.5, 2.0)) for o in opts]
    traj = run(loss, configs, steps)
    # A step where the run is still moving, so every rule is evaluated.
    mid = min(steps // 2, traj.last_row(2) - 1)
    best = lowest_loss(traj)
    e = _median_ms(
        lambda: explain_step(traj, 2, mid, "adam", {"lr": 1e-4}, loss=loss, best_loss=best)
    )
    b = _median_ms(lambda: badges(traj, 2, mid, loss=loss))
    lo = _median_ms(lambda: lowest_loss(traj), repeat=20)
    return (
        f"K={traj.n_runs} T={steps:>6} step {mid:>6} ({traj.status[2]}): "
        f"explain_step {e:6.3f} ms, badges without the lowest loss {b:6.3f} ms, "
        f"lowest_loss {lo:6.3f} ms"
    )


def main() -> None:
    loss = compile_loss("(1 - x)^2 + 100(y - x^2)^2")
    for steps in (1_000, 100_000):
        print(measure(loss, steps))


if __name__ == "__main__":
    main()
