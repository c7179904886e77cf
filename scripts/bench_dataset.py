"""Benchmark dataset mode: mini-batch steps and the full-data loss surface.

Targets (2-core machine):

* 100,000 samples, mini-batch 64, 10,000 steps of one run in under 1 s;
* the full-data loss on a 200×200 grid for 10,000 samples in under 1 s;
* CSV import of 1,000,000 rows × 2 columns (19 MB): the fast path against the
  exact cell-by-cell reader it falls back to for files that are not plain.

Figures are the best of ``--repeat`` runs, wall-clock and the process's CPU
time (a shared machine stretches the former). Convergence checks are off so
every run takes all its steps. The surface is timed for a squared loss (a
polynomial in the parameters: gdviz reduces it to sufficient statistics) and
for losses that are not (absolute error, logistic): these are F(u) of one
argument u affine in the parameters, formed by a matrix product per block,
with ranges of grid points spread over one thread per core (``THREADS``).

    python scripts/bench_dataset.py [--repeat 3] [--csv-only]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

import gdviz.core.data as data_module
from gdviz.core.data import load_csv, make_builtin
from gdviz.core.dataset_loss import compile_dataset_loss
from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.surface import sample_grid

LOSSES = {
    "squared": ("line", "(w*x + b - y)^2"),
    "absolute": ("outliers", "abs(w*x + b - y)"),
    "logistic": ("classes", "log(1 + exp(-y*(w*x + b)))"),
}


def best(fn, repeat: int) -> tuple[float, float]:
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--csv-only", action="store_true", help="time only the CSV import")
    args = ap.parse_args()
    if not args.csv_only:
        bench_steps_and_surface(args.repeat)
    bench_csv(args.repeat)


def bench_steps_and_surface(repeat: int) -> None:

    print("mini-batch steps: 100,000 samples, batch 64, 10,000 steps (target < 1 s for 1 run)")
    steps = 10_000
    stop = StopRules(max_steps=steps, grad_tol=None)
    for name, (data_name, text) in LOSSES.items():
        loss = compile_dataset_loss(text, make_builtin(data_name, n=100_000), parameters=("w", "b"))
        for optimizer, k in (("gd", 1), ("adam", 1), ("adam", 8)):
            obj = loss.sampled(64, seed=0)
            cfgs = [RunConfig(optimizer, {"lr": 0.01}, (0.1 * i, 0.0)) for i in range(k)]
            wall, cpu = best(
                lambda obj=obj, cfgs=cfgs: run(obj, cfgs, steps, stop, record_state=False),
                repeat,
            )
            print(
                f"  {name:9s} {optimizer:5s} K={k}:  {wall:6.3f} s wall  {cpu:6.3f} s cpu  "
                f"({wall / steps * 1e6:5.1f} µs/step)"
            )
    print("  batch GD on 100,000 samples (squared, statistics), 10,000 steps:", end=" ")
    loss = compile_dataset_loss("(w*x + b - y)^2", make_builtin("line", n=100_000))
    obj = loss.sampled(None)
    wall, cpu = best(
        lambda: run(obj, [RunConfig("gd", {"lr": 0.01}, (0.0, 0.0))], steps, stop), repeat
    )
    print(f"{wall:.3f} s wall  {cpu:.3f} s cpu")

    print("full-data surface: 200×200 grid, 10,000 samples (target < 1 s)")
    for name, (data_name, text) in LOSSES.items():
        loss = compile_dataset_loss(text, make_builtin(data_name, n=10_000), parameters=("w", "b"))
        wall, cpu = best(lambda loss=loss: sample_grid(loss, ((-3, 3), (-3, 3)), 200), repeat)
        how = "statistics" if loss.uses_statistics else "affine" if loss.uses_affine else "chunked"
        print(f"  {name:9s} ({how:10s}):  {wall:6.3f} s wall  {cpu:6.3f} s cpu")


def bench_csv(repeat: int) -> None:
    print("CSV import: 1,000,000 rows × 2 columns")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samples.csv"
        xy = np.random.default_rng(0).normal(size=(1_000_000, 2))
        np.savetxt(path, xy, fmt="%.6f", delimiter=",", header="x,y", comments="")
        print(f"  file: {path.stat().st_size / 1e6:.1f} MB")
        wall, cpu = best(lambda: load_csv(path), repeat)
        print(f"  fast path:             {wall:6.3f} s wall  {cpu:6.3f} s cpu")
        with mock.patch.object(data_module, "_fast_columns", lambda *a, **k: None):
            wall, cpu = best(lambda: load_csv(path), 1)
        print(f"  cell by cell (before): {wall:6.3f} s wall  {cpu:6.3f} s cpu")


if __name__ == "__main__":
    main()
