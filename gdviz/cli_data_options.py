"""Dataset-mode options shared by ``gdviz trace`` and ``gdviz export``.

::

    --data builtin:NAME[:n=N,seed=S] | PATH.csv   the samples (line, outliers, classes)
    --columns x,y | x=HEADER,y=HEADER          which CSV columns, under which names
    --batch-size B | batch | 1                   per step; once for all runs or once per run
    --epochs E                                   run E epochs (sets the number of steps)
    --seed S                                     shuffle seed (each run its own stream)
    --l2 λ | --l1 λ                              penalty λ‖θ‖² or λ‖θ‖₁ added to the mean
    --params w,b                                 parameter order (default: as the parser orders)

With ``--data`` the ``--function`` text is the loss of *one sample*: names
that are columns of the data are data, the rest (one or two) are parameters,
and the total loss is the mean over the samples (plus the penalty).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

from gdviz.cli import UsageError

#: Sample indices printed in all (JSON or CSV) beyond this is surely a typo.
MAX_INDICES = 20_000_000


def add_arguments(
    parser: argparse.ArgumentParser, *, seed: bool = False, epochs: bool = True
) -> None:
    """Add the dataset-mode options (an argument group) to ``parser``.

    ``seed`` adds ``--seed`` (for commands that have none of their own);
    ``epochs=False`` leaves out ``--epochs`` (for commands whose step count is
    fixed before the data is read).
    """
    group = parser.add_argument_group(
        "dataset mode",
        "With --data, --function is the loss of one sample, e.g. '(w*x + b - y)^2': "
        "data columns are data, the other names are parameters, and the loss is the mean "
        "over the samples. 'loss' is then the mini-batch loss and 'full_loss' the loss "
        "on all samples.",
    )
    group.add_argument(
        "--data",
        default=None,
        metavar="SOURCE",
        help="builtin:NAME[:n=N,seed=S] (line, outliers, classes) or a CSV file with a header",
    )
    group.add_argument(
        "--columns",
        default=None,
        metavar="NAMES",
        help="columns to use, e.g. x,y or x=HEADER,y=HEADER to rename (default: all)",
    )
    group.add_argument(
        "--batch-size",
        action="append",
        default=None,
        metavar="B",
        help=(
            "samples per step: a number, 1 (stochastic) or 'batch' (all samples, the "
            "default); give once for every run or once per --optimizer"
        ),
    )
    if epochs:
        group.add_argument(
            "--epochs",
            default=None,
            metavar="E",
            help="run E epochs of the run with the smallest batch (overrides --steps)",
        )
    if seed:
        group.add_argument(
            "--seed",
            default=None,
            type=int,
            metavar="S",
            help="seed of the mini-batch shuffles (default 0)",
        )
    group.add_argument("--l2", default=None, metavar="λ", help="add λ·‖θ‖² to the loss")
    group.add_argument("--l1", default=None, metavar="λ", help="add λ·‖θ‖₁ to the loss")
    group.add_argument(
        "--params",
        default=None,
        metavar="NAMES",
        help="the parameters in order, e.g. w,b (default: x, y first, then alphabetical)",
    )


_DATA_ONLY = ("columns", "batch_size", "epochs", "l2", "l1", "params")


def check(args: argparse.Namespace, prog: str) -> None:
    """Refuse dataset options without ``--data``."""
    if getattr(args, "data", None) is None:
        for name in _DATA_ONLY:
            if getattr(args, name, None) is not None:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{prog}: {flag} only applies with --data")


@dataclass
class DatasetSetup:
    """Everything a command needs to run and print dataset mode."""

    objective: Any  # SampledObjective
    steps: int
    seed: int

    @property
    def loss(self) -> Any:
        return self.objective.loss


def _penalty(args: argparse.Namespace, prog: str) -> Any:
    from gdviz.core.dataset_loss import Penalty

    if args.l2 is not None and args.l1 is not None:
        raise UsageError(f"{prog}: give --l2 or --l1, not both")
    for kind in ("l2", "l1"):
        text = getattr(args, kind)
        if text is None:
            continue
        try:
            lam = float(text)
        except ValueError:
            raise UsageError(f"{prog}: --{kind} needs a number, not {text!r}") from None
        if not math.isfinite(lam) or lam < 0:
            raise UsageError(f"{prog}: --{kind} must be a finite number >= 0, not {text!r}")
        return Penalty(kind, lam)
    return Penalty()


def prepare(args: argparse.Namespace, prog: str, n_runs: int, max_rows: int) -> DatasetSetup:
    """Load the data, compile the per-sample loss and pair it with batch sizes.

    Raises :class:`UsageError` (one line naming the option) for every problem.
    """
    from gdviz.core.data import DataError, load_data
    from gdviz.core.dataset_loss import compile_dataset_loss, parse_batch_size
    from gdviz.core.expression import ExpressionError

    try:
        data = load_data(args.data, args.columns)
    except DataError as exc:
        raise UsageError(f"{prog}: --data: {exc}") from None
    params = None
    if args.params is not None:
        params = [p.strip() for p in args.params.split(",")]
        if not all(params) or len(params) > 2:
            raise UsageError(f"{prog}: --params {args.params!r}: give one or two names, e.g. w,b")
    try:
        loss = compile_dataset_loss(
            args.function, data, parameters=params, penalty=_penalty(args, prog), timeout=10.0
        )
    except ExpressionError as exc:
        raise UsageError(f"{prog}: --function: {exc}") from None

    raw = args.batch_size or ["batch"]
    if len(raw) not in (1, n_runs):
        raise UsageError(
            f"{prog}: {len(raw)} --batch-size values for {n_runs} run(s): "
            "give one for every run or one per --optimizer"
        )
    sizes = []
    for text in raw:
        try:
            sizes.append(parse_batch_size(text, data.n))
        except ValueError as exc:
            raise UsageError(f"{prog}: --batch-size: {exc}") from None
    if len(sizes) == 1:
        sizes = sizes * n_runs
    seed = getattr(args, "seed", None) or 0
    if seed < 0:
        raise UsageError(f"{prog}: --seed must be >= 0, not {seed}")
    objective = loss.sampled(sizes, seed=seed)

    steps = args.steps
    if getattr(args, "epochs", None) is not None:
        try:
            epochs = int(args.epochs)
        except ValueError:
            raise UsageError(
                f"{prog}: --epochs needs a whole number, not {args.epochs!r}"
            ) from None
        if epochs < 0:
            raise UsageError(f"{prog}: --epochs must be >= 0, not {epochs}")
        steps = epochs * max(objective.steps_per_epoch(k) for k in range(n_runs))
    if (steps + 1) * n_runs > max_rows:
        raise UsageError(
            f"{prog}: {steps:,} steps × {n_runs} run(s) is more than {max_rows:,} rows; "
            "use fewer --steps or --epochs"
        )
    indices = sum((steps + 1) * (s or 0) for s in sizes)
    if indices > MAX_INDICES:
        raise UsageError(
            f"{prog}: listing the samples of {steps:,} steps would print {indices:,} indices; "
            "use fewer steps or smaller batches"
        )
    return DatasetSetup(objective, steps, seed)


def describe(setup: DatasetSetup) -> dict[str, Any]:
    """The top-level JSON facts about the data and the loss."""
    loss = setup.loss
    data = loss.dataset
    return {
        "source": data.source,
        "name": data.name,
        "n": data.n,
        "columns": list(data.names),
        "data": list(loss.data_names),
        "parameters": list(loss.variables),
        "penalty": loss.penalty.to_text(),
        "seed": setup.seed,
        "latex": loss.latex,
    }


def run_fields(setup: DatasetSetup, trace: Any, k: int, last: int) -> dict[str, Any]:
    """Per-run JSON fields: variant, batch size, epochs, full loss, sample indices per step."""
    obj = setup.objective
    full = obj.batch_sizes[k] is None
    rows = slice(0, last + 1)
    entry: dict[str, Any] = {
        "variant": obj.variant(k),
        "batch_size": obj.batch_size(k),
        "steps_per_epoch": obj.steps_per_epoch(k),
        "epoch": [int(e) for e in trace.epochs[rows, k]],
        "full_loss": [_json_num(v) for v in trace.full_losses[rows, k]],
    }
    # Batch runs use every sample at every step: "all" instead of n indices per step.
    entry["batch_indices"] = (
        "all" if full else [trace.indices(k, t).tolist() for t in range(last + 1)]
    )
    return entry


def csv_header() -> list[str]:
    return ["epoch", "full_loss", "batch"]


def csv_cells(setup: DatasetSetup, trace: Any, k: int, t: int) -> list[str]:
    """Epoch, full loss and the sample indices (space-separated, or ``all``) of row t."""
    full = setup.objective.batch_sizes[k] is None
    batch = "all" if full else " ".join(map(str, trace.indices(k, t).tolist()))
    return [str(int(trace.epochs[t, k])), repr(float(trace.full_losses[t, k])), batch]


def _json_num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
