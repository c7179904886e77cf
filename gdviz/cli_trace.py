"""``gdviz trace``: print optimizer trajectories as CSV or JSON, headless.

::

    gdviz trace --function TEXT [--optimizer SPEC]... --start X[,Y] [--steps N]
                [--tol G] [--schedule SPEC] [--noise SIGMA --seed S] [--format csv|json]

For scripting, teaching handouts and checking. Every ``--optimizer`` races
from the same start. CSV has a header, then one row per run per step:
``run, optimizer, step, lr, loss``, the variables, then ``grad_<var>`` for
each. Row t is the point after t updates with its loss and gradient, and the
learning rate used for the update from t to t+1 (0 on a run's last row: no
update follows). A run's rows end where it stopped (a diverged run at its last
finite point). JSON groups the same numbers per run with the run's settings,
final status and the step where it stopped.

Exit status: 0 printed; 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
from typing import Any, TextIO

from gdviz import cli_data_options
from gdviz.cli import UsageError
from gdviz.cli_args import NEGATIVE_NUMBERS, float_arg, int_arg

PROG = "gdviz trace"

#: Steps × runs beyond this would print for hours; it is a typo.
MAX_ROWS = 10_000_000


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "trace",
        # The main parser's custom usage line would otherwise prefix every error.
        prog=PROG,
        help="print optimizer trajectories as CSV or JSON",
        description=(
            "Run optimizers on a function and print every step: position, loss, "
            "gradient and learning rate. SPEC is NAME or NAME:key=value,... "
            "(e.g. adam:lr=0.05,beta1=0.9 or momentum:lr=0.01,momentum=0.95); "
            "booleans are true/false."
        ),
        epilog=(
            "CSV columns: run (0-based), optimizer, step, lr, loss, the variables, "
            "grad_<variable>. Row t is the point after t updates; lr is the rate of "
            "the update from t to t+1 (0 on a run's last row). A run's rows end where "
            "it stopped: converged (gradient norm below --tol), diverged (not finite "
            "or beyond 1e8; its last finite point), or after --steps. JSON adds each "
            "run's settings, status and stop step. Negative starts: --start -1.5,2."
        ),
    )
    parser.add_argument(
        "--function", required=True, metavar="TEXT", help="the loss, e.g. '(1-x)^2 + 100(y-x^2)^2'"
    )
    parser.add_argument(
        "--optimizer",
        action="append",
        default=None,
        metavar="SPEC",
        help="optimizer and settings; repeat to race several (default: gd)",
    )
    parser.add_argument(
        "--start", required=True, metavar="X[,Y]", help="start point, one number per variable"
    )
    parser.add_argument(
        "--steps", default=100, type=int_arg("--steps"), metavar="N", help="updates (default 100)"
    )
    parser.add_argument(
        "--tol",
        default=1e-8,
        type=float_arg("--tol"),
        metavar="G",
        help="stop a run when its gradient norm falls below G; 0 never stops (default 1e-8)",
    )
    parser.add_argument(
        "--schedule",
        default="constant",
        metavar="SPEC",
        help=(
            "learning-rate schedule for every run: constant, step:step_size=N,gamma=G, "
            "exponential:gamma=G, inverse_time:k=K, cosine:t_max=N,eta_min=E; "
            "add warmup=W for a linear warm-up (default constant)"
        ),
    )
    parser.add_argument(
        "--noise",
        default=None,
        type=float_arg("--noise"),
        metavar="SIGMA",
        help="add N(0, SIGMA²) noise to every gradient (a noisy gradient, not SGD)",
    )
    parser.add_argument(
        "--seed",
        default=None,
        type=int_arg("--seed"),
        metavar="S",
        help="seed of the gradient noise, or of the mini-batch shuffles with --data (default 0)",
    )
    parser.add_argument(
        "--format", default="csv", choices=("csv", "json"), help="output format (default csv)"
    )
    cli_data_options.add_arguments(parser)
    parser.set_defaults(run=run)
    parser._negative_number_matcher = NEGATIVE_NUMBERS
    return parser


def _start(text: str, variables: tuple[str, ...]) -> tuple[float, ...]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise UsageError(f"{PROG}: --start {text!r} must be numbers separated by commas") from None
    d = len(variables)
    if len(values) != d:
        names = ", ".join(variables)
        raise UsageError(
            f"{PROG}: --start {text!r} has {len(values)} number(s) but the function has "
            f"{d} variable(s) ({names})"
        )
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{PROG}: --start {text!r} must be finite numbers")
    return values


def _check_args(args: argparse.Namespace) -> None:
    if args.steps < 0:
        raise UsageError(f"{PROG}: --steps must be >= 0, not {args.steps}")
    if args.tol < 0:
        raise UsageError(f"{PROG}: --tol must be >= 0 (0 never stops), not {args.tol:g}")
    if args.noise is not None and args.noise < 0:
        raise UsageError(f"{PROG}: --noise must be >= 0, not {args.noise:g}")
    if args.seed is not None:
        if args.noise is None and args.data is None:
            raise UsageError(f"{PROG}: --seed only applies with --noise SIGMA or --data")
        if args.seed < 0:
            raise UsageError(f"{PROG}: --seed must be >= 0, not {args.seed}")
    cli_data_options.check(args, PROG)
    n_runs = len(args.optimizer or ["gd"])
    if (args.steps + 1) * n_runs > MAX_ROWS:
        raise UsageError(
            f"{PROG}: {args.steps} steps × {n_runs} run(s) is more than "
            f"{MAX_ROWS:,} rows; use fewer --steps"
        )


def run(args: argparse.Namespace) -> int:
    from gdviz.core.engine import GradientNoise, StopRules
    from gdviz.core.engine import run as run_engine
    from gdviz.core.expression import ExpressionError
    from gdviz.core.loss import compile_loss
    from gdviz.core.specs import SpecError, parse_optimizer_spec, parse_schedule_spec

    _check_args(args)
    try:
        schedule = parse_schedule_spec(args.schedule)
    except SpecError as exc:
        raise UsageError(f"{PROG}: --schedule {args.schedule!r}: {exc}") from None
    specs = args.optimizer or ["gd"]
    configs = []
    for text in specs:
        try:
            configs.append(parse_optimizer_spec(text, schedule=schedule))
        except SpecError as exc:
            raise UsageError(f"{PROG}: --optimizer {text!r}: {exc}") from None
    dataset = None
    if args.data is not None:
        # Dataset mode: the loss is the mean of a per-sample loss over the data.
        dataset = cli_data_options.prepare(args, PROG, len(configs), MAX_ROWS)
        loss, args.steps = dataset.objective, dataset.steps  # --epochs sets the steps
    else:
        try:
            loss = compile_loss(args.function, timeout=10.0)
        except ExpressionError as exc:
            raise UsageError(f"{PROG}: --function: {exc}") from None
    start = _start(args.start, loss.variables)
    # Every run races from the same start.
    configs = [dataclasses.replace(c, start=start) for c in configs]
    noise = None
    if args.noise is not None:
        noise = GradientNoise(args.noise, 0 if args.seed is None else args.seed)
    stop = StopRules(max_steps=args.steps, grad_tol=args.tol or None)
    traj = run_engine(loss, configs, args.steps, stop, noise, record_state=False)
    trace = None if dataset is None else dataset.objective.trace(traj)

    out = sys.stdout
    try:
        if args.format == "json":
            _write_json(out, args, loss, configs, traj, noise, dataset, trace)
        else:
            _write_csv(out, loss, configs, traj, dataset, trace)
        out.flush()
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: that is not an error here.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    return 0


def _num(x: float) -> str:
    """Shortest text that reads back to the same float64."""
    return repr(float(x))


def _write_csv(
    out: TextIO, loss: Any, configs: list, traj: Any, dataset: Any = None, trace: Any = None
) -> None:
    variables = loss.variables
    writer = csv.writer(out, lineterminator="\n")
    extra = [] if dataset is None else cli_data_options.csv_header()
    grads = [f"grad_{v}" for v in variables]
    writer.writerow(["run", "optimizer", "step", "lr", "loss", *variables, *grads, *extra])
    for k, cfg in enumerate(configs):
        last = traj.last_row(k)
        pos, grad = traj.positions[: last + 1, k], traj.grads[: last + 1, k]
        lrs, losses = traj.lrs[: last + 1, k], traj.losses[: last + 1, k]
        writer.writerows(
            [
                k,
                cfg.optimizer,
                traj.start_step + t,
                _num(lrs[t]),
                _num(losses[t]),
                *map(_num, pos[t]),
                *map(_num, grad[t]),
                *([] if dataset is None else cli_data_options.csv_cells(dataset, trace, k, t)),
            ]
            for t in range(last + 1)
        )


def _json_num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _write_json(out: TextIO, args, loss, configs, traj, noise, dataset=None, trace=None) -> None:
    variables = loss.variables
    runs = []
    for k, cfg in enumerate(configs):
        last = traj.last_row(k)
        rows = slice(0, last + 1)
        entry: dict[str, Any] = {
            "run": k,
            "optimizer": cfg.optimizer,
            "spec": cfg.label(),
            "hyperparams": cfg.resolved(),
            "schedule": cfg.schedule.to_text(),
            "status": traj.status[k],
            "stop_step": int(traj.stop_step[k]),
            "step": list(range(traj.start_step, traj.start_step + last + 1)),
            "lr": [_json_num(v) for v in traj.lrs[rows, k]],
            "loss": [_json_num(v) for v in traj.losses[rows, k]],
        }
        for j, v in enumerate(variables):
            entry[v] = [_json_num(x) for x in traj.positions[rows, k, j]]
        for j, v in enumerate(variables):
            entry[f"grad_{v}"] = [_json_num(x) for x in traj.grads[rows, k, j]]
        if traj.true_grads is not None:
            for j, v in enumerate(variables):
                entry[f"exact_grad_{v}"] = [_json_num(x) for x in traj.true_grads[rows, k, j]]
        if dataset is not None:
            entry.update(cli_data_options.run_fields(dataset, trace, k, last))
        runs.append(entry)
    doc = {
        "function": loss.text,
        "variables": list(variables),
        "steps": args.steps,
        "tol": args.tol,
        "noise": None
        if noise is None
        else {"sigma": noise.sigma, "seed": noise.seed, "label": noise.label},
        "runs": runs,
    }
    if dataset is not None:
        doc["dataset"] = cli_data_options.describe(dataset)
    json.dump(doc, out, allow_nan=False)
    out.write("\n")
