"""Benchmark the optimization engine on Rosenbrock: steps per second for 1, 8 and 4,096 runs.

Targets (2-core machine): one run of 10,000 steps in under 0.2 s; 4,096 runs ×
500 steps in under 2 s. Each figure is the best of ``--repeat`` runs; the
process's CPU time is printed next to the wall-clock time because a shared
machine stretches the latter. Convergence checks are off so every run does all
steps.

    python scripts/bench_engine.py [--repeat 3] [--all]
"""

from __future__ import annotations

import argparse
import time

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.optimizers import OPTIMIZERS

ROSENBROCK = "(1-x)^2 + 100(y-x^2)^2"
LR = {"gd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adadelta": 1.0, "newton": 1.0}


def configs(name: str, k: int) -> list[RunConfig]:
    lr = LR.get(name, 1e-2)
    # Spread the starts so the runs are genuinely different.
    return [RunConfig(name, {"lr": lr}, (-1.5 + 0.5 * i / max(k, 1), 2.0)) for i in range(k)]


def best_time(loss, cfgs, steps: int, repeat: int, record_state: bool) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds over ``repeat`` runs."""
    stop = StopRules(max_steps=steps, grad_tol=None)
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        run(loss, cfgs, steps, stop, record_state=record_state)
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="every optimizer, not just gd and adam")
    args = parser.parse_args()

    loss = compile_loss(ROSENBROCK)
    names = list(OPTIMIZERS) if args.all else ["gd", "adam"]
    cases = [(1, 10_000, 0.2), (8, 10_000, None), (4096, 500, 2.0)]
    print(f"Rosenbrock {ROSENBROCK!r}; best of {args.repeat}; convergence checks off")
    print(f"{'optimizer':<10} {'runs':>5} {'steps':>6} {'state':>6} {'wall s':>7} "
          f"{'cpu s':>7} {'steps/s':>10} {'run-steps/s':>12}  target (wall)")  # fmt: skip
    for name in names:
        for k, steps, target in cases:
            for record in (True, False) if k > 8 else (True,):
                wall, cpu = best_time(loss, configs(name, k), steps, args.repeat, record)
                verdict = ""
                if target is not None:
                    verdict = f"< {target:g} s {'ok' if wall < target else 'MISSED'}"
                print(
                    f"{name:<10} {k:>5} {steps:>6} {'yes' if record else 'no':>6} {wall:>7.3f} "
                    f"{cpu:>7.3f} {steps / wall:>10,.0f} {k * steps / wall:>12,.0f}  {verdict}"
                )


if __name__ == "__main__":
    main()
