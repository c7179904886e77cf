"""``gdviz sweep`` and ``gdviz basins``: write learning-rate and basin maps, headless.

::

    gdviz sweep  --function TEXT --start X[,Y] [--optimizer SPEC] [--lr LOW:HIGH[:N]]
                 [--vs PARAM|optimizer --values V,V,...|LOW:HIGH:N] [--steps N] [--tol G]
                 [--schedule SPEC] [--color-by steps|loss] [--csv FILE] [--png FILE]
    gdviz basins --function TEXT [--optimizer SPEC] [--x LOW,HIGH] [--y LOW,HIGH]
                 [--grid N|NXxNY] [--steps N] [--tol G] [--schedule SPEC]
                 [--merge-tol R] [--csv FILE] [--png FILE]

A sweep runs one optimizer from one start over learning rates (log-spaced
columns) × a second setting or × optimizer (rows); each cell records whether
the run converged (gradient norm below ``--tol``), ran out of steps or
diverged, when, and its final loss. A basin map runs the optimizer from every
start of a grid over the view and labels each start with the minimum it
reached. CSV has a header and one row per cell; the PNG is the map as the
window draws it. A short summary goes to stdout (stderr when the CSV does).

Exit status: 0 written; 2 bad input (one line on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from pathlib import Path
from typing import Any

from gdviz.cli import UsageError
from gdviz.cli_args import NEGATIVE_NUMBERS, float_arg, int_arg

#: Cells × steps beyond this would take many minutes; it is a typo.
MAX_WORK = 2_000_000_000
#: Largest map side.
MAX_SIDE = 2000
#: PNG size limits (pixels per side).
MIN_PNG, MAX_PNG = 200, 8000


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``sweep`` and ``basins`` (this module provides both sub-commands)."""
    _add_sweep(subparsers)
    return _add_basins(subparsers)


def _common(parser: argparse.ArgumentParser, default_optimizer: str) -> None:
    parser.add_argument(
        "--function", required=True, metavar="TEXT", help="the loss, e.g. '(1-x)^2 + 100(y-x^2)^2'"
    )
    parser.add_argument(
        "--optimizer",
        default=default_optimizer,
        metavar="SPEC",
        help=f"optimizer and settings, NAME or NAME:key=value,... (default {default_optimizer})",
    )
    parser.add_argument(
        "--steps", default=500, type=int_arg("--steps"), metavar="N", help="steps per run (500)"
    )
    parser.add_argument(
        "--tol",
        default=1e-8,
        type=float_arg("--tol"),
        metavar="G",
        help="a run has converged when its gradient norm falls below G (default 1e-8)",
    )
    parser.add_argument(
        "--schedule", default="constant", metavar="SPEC", help="learning-rate schedule (constant)"
    )
    parser.add_argument("--csv", metavar="FILE", help="write the map as CSV ('-' for stdout)")
    parser.add_argument("--png", metavar="FILE", help="write the map as a PNG picture")
    parser.add_argument(
        "--size",
        default="1280x800",
        metavar="WxH",
        help="PNG size in pixels (default 1280x800)",
    )
    parser.add_argument(
        "--theme", default="dark", choices=("dark", "light"), help="PNG colours (default dark)"
    )
    parser.add_argument(
        "--font-scale",
        default=1.0,
        type=float_arg("--font-scale"),
        metavar="S",
        help="PNG text and marker size, 0.5…4 (1.5 or 2 for a projector; default 1)",
    )
    parser._negative_number_matcher = NEGATIVE_NUMBERS


def _add_sweep(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sweep",
        help="map convergence over learning rate × a setting or × optimizer (CSV, PNG)",
        description=(
            "Run an optimizer from one start for every learning rate (log-spaced) "
            "× every value of a second setting (or every optimizer), and write which "
            "runs converged, how fast, and which diverged."
        ),
        epilog=(
            "example: gdviz sweep --function '2x^2 + y^2/2' --start 1,1 --optimizer momentum "
            "--vs momentum --values 0:0.9:10 --lr 1e-3:3:60 --png sweep.png --csv sweep.csv"
        ),
    )
    _common(parser, "gd")
    parser.add_argument(
        "--start", required=True, metavar="X[,Y]", help="start point, one number per variable"
    )
    parser.add_argument(
        "--lr",
        default="1e-4:1:60",
        metavar="LOW:HIGH[:N]",
        help="learning rates, N of them log-spaced from LOW to HIGH (default 1e-4:1:60)",
    )
    parser.add_argument(
        "--vs",
        default=None,
        metavar="PARAM",
        help="the second axis: a setting of the optimizer (momentum, beta1, …) or 'optimizer'",
    )
    parser.add_argument(
        "--values",
        default=None,
        metavar="LIST",
        help="values of --vs: a,b,c or LOW:HIGH:N (evenly spaced); optimizer names for "
        "--vs optimizer",
    )
    parser.add_argument(
        "--color-by",
        default="steps",
        choices=("steps", "loss"),
        help="PNG colour: steps to converge or final loss (default steps)",
    )
    parser.set_defaults(run=run_sweep)
    return parser


def _add_basins(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "basins",
        help="map which minimum each start point reaches (CSV, PNG)",
        description=(
            "Run an optimizer from every start of a grid over the view, group the "
            "final points of the runs that converged into minima, and write which "
            "minimum each start reaches (or that it did not converge, or diverged)."
        ),
        epilog=(
            "example: gdviz basins --function '(x^2 + y - 11)^2 + (x + y^2 - 7)^2' "
            "--optimizer momentum:lr=0.01,momentum=0.9 --png basins.png"
        ),
    )
    _common(parser, "gd:lr=0.01")
    parser.add_argument("--x", default="-5,5", metavar="LOW,HIGH", help="x range (default -5,5)")
    parser.add_argument("--y", default=None, metavar="LOW,HIGH", help="y range (default: as x)")
    parser.add_argument(
        "--grid",
        default="200",
        metavar="N|NXxNY",
        help="starts per side, or NXxNY (default 200)",
    )
    parser.add_argument(
        "--merge-tol",
        default=0.01,
        type=float_arg("--merge-tol"),
        metavar="R",
        help="final points closer than R × the view's diagonal are one minimum (default 0.01)",
    )
    parser.set_defaults(run=run_basins)
    return parser


# --------------------------------------------------------------------------- checks


def _prog(args: argparse.Namespace) -> str:
    return f"gdviz {args.command}"


def _check_common(args: argparse.Namespace) -> None:
    prog = _prog(args)
    if not args.csv and not args.png:
        raise UsageError(f"{prog}: nothing to write: give --csv FILE and/or --png FILE")
    if args.steps < 0:
        raise UsageError(f"{prog}: --steps must be >= 0, not {args.steps}")
    if args.tol < 0:
        raise UsageError(f"{prog}: --tol must be >= 0 (0 never converges), not {args.tol:g}")
    if not 0.5 <= args.font_scale <= 4:
        raise UsageError(f"{prog}: --font-scale must be within 0.5…4, not {args.font_scale:g}")
    args.size_px = _size(prog, args.size) if args.png else None
    for flag in ("csv", "png"):
        path = getattr(args, flag)
        if path and path != "-":
            _check_writable(prog, f"--{flag}", path)
    if args.png == "-":
        raise UsageError(f"{prog}: --png needs a file name, not '-'")
    if args.csv and args.png and args.csv != "-":
        if Path(args.csv).resolve() == Path(args.png).resolve():
            raise UsageError(f"{prog}: --csv and --png name the same file {args.csv!r}")


def _size(prog: str, text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"{prog}: --size {text!r} must be WIDTHxHEIGHT, e.g. 1280x800") from None
    if not (MIN_PNG <= w <= MAX_PNG and MIN_PNG <= h <= MAX_PNG):
        raise UsageError(f"{prog}: --size {text!r}: each side must be {MIN_PNG}…{MAX_PNG} pixels")
    return w, h


def _check_writable(prog: str, flag: str, path: str) -> None:
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise UsageError(f"{prog}: {flag} {path!r} is a folder; give a file name")
    if not parent.is_dir():
        raise UsageError(f"{prog}: {flag} {path!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise UsageError(f"{prog}: {flag} {path!r} is not writable")


def _lr_arg(prog: str, text: str) -> tuple[float, float, int]:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) not in (2, 3):
        raise UsageError(f"{prog}: --lr {text!r} must be LOW:HIGH or LOW:HIGH:N, e.g. 1e-4:1:60")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2]) if len(parts) == 3 else 60
    except ValueError:
        raise UsageError(
            f"{prog}: --lr {text!r} must be numbers LOW:HIGH[:N] with a whole number N"
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise UsageError(f"{prog}: --lr {text!r}: need 0 < LOW < HIGH")
    if not 1 <= n <= MAX_SIDE:
        raise UsageError(f"{prog}: --lr {text!r}: N must be 1…{MAX_SIDE}")
    return lo, hi, n


def _start(prog: str, text: str, variables: tuple[str, ...]) -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"{prog}: --start {text!r} must be numbers separated by commas") from None
    if len(values) != len(variables):
        raise UsageError(
            f"{prog}: --start {text!r} has {len(values)} number(s) but the function has "
            f"{len(variables)} variable(s) ({', '.join(variables)})"
        )
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{prog}: --start {text!r} must be finite numbers")
    return values


def _pair(prog: str, flag: str, text: str) -> tuple[float, float]:
    parts = [p.strip() for p in text.split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise UsageError(f"{prog}: {flag} {text!r} must be two numbers LOW,HIGH") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise UsageError(f"{prog}: {flag} {text!r}: need finite numbers with LOW < HIGH")
    return lo, hi


def _grid(prog: str, text: str) -> tuple[int, int]:
    t = text.lower().strip()
    try:
        if "x" in t:
            nx, ny = (int(p) for p in t.split("x"))
        else:
            nx = ny = int(t)
    except ValueError:
        raise UsageError(
            f"{prog}: --grid {text!r} must be N or NXxNY, e.g. 200 or 300x200"
        ) from None
    if not (1 <= nx <= MAX_SIDE and 1 <= ny <= MAX_SIDE):
        raise UsageError(f"{prog}: --grid {text!r}: each side must be 1…{MAX_SIDE}")
    return nx, ny


def _compile(prog: str, text: str, variables: Any = None):
    from gdviz.core.expression import ExpressionError
    from gdviz.core.loss import compile_loss

    try:
        return compile_loss(text, variables, timeout=10.0)
    except ExpressionError as exc:
        raise UsageError(f"{prog}: --function: {exc}") from None


def _config(prog: str, args: argparse.Namespace):
    from gdviz.core.specs import SpecError, parse_optimizer_spec, parse_schedule_spec

    try:
        schedule = parse_schedule_spec(args.schedule)
    except SpecError as exc:
        raise UsageError(f"{prog}: --schedule {args.schedule!r}: {exc}") from None
    try:
        return parse_optimizer_spec(args.optimizer, schedule=schedule)
    except SpecError as exc:
        raise UsageError(f"{prog}: --optimizer {args.optimizer!r}: {exc}") from None


class _Progress:
    """A percentage on stderr while computing, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = -1

    def __call__(self, done: int, total: int) -> bool:
        if self.tty:
            pct = 100 * done // max(total, 1)
            if pct != self.last:
                self.last = pct
                print(f"\rcomputing… {pct:3d}%", end="", file=sys.stderr, flush=True)
        return True

    def close(self) -> None:
        if self.tty and self.last >= 0:
            print("\r" + " " * 20 + "\r", end="", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- sweep


def run_sweep(args: argparse.Namespace) -> int:
    from gdviz.core.engine import RunConfig
    from gdviz.core.specs import SpecError
    from gdviz.core.sweep import lr_grid, sweep_map, sweepable_params

    prog = _prog(args)
    _check_common(args)
    lo, hi, n_lr = _lr_arg(prog, args.lr)
    base = _config(prog, args)
    if "lr" in base.params:
        raise UsageError(f"{prog}: --optimizer sets lr, but the sweep sets it: use --lr instead")
    y_param, values = None, ()
    if args.vs is not None:
        y_param = args.vs.strip().lower()
        if y_param != "optimizer" and y_param not in sweepable_params(base.optimizer):
            choices = ", ".join([*sweepable_params(base.optimizer), "optimizer"])
            raise UsageError(
                f"{prog}: --vs {args.vs!r}: {base.optimizer} has no such setting "
                f"(choose from {choices})"
            )
        if args.values is None:
            raise UsageError(f"{prog}: --vs {y_param} needs --values, e.g. 0:0.99:12")
        if y_param in base.params:
            raise UsageError(f"{prog}: --optimizer sets {y_param}, but --vs sweeps it")
        values = _values(prog, args.values, y_param)
    elif args.values is not None:
        raise UsageError(f"{prog}: --values only applies with --vs PARAM")
    if n_lr * len(values or (0,)) * max(args.steps, 1) > MAX_WORK:
        raise UsageError(f"{prog}: that many cells × steps would take very long; use fewer")
    loss = _compile(prog, args.function)
    start = _start(prog, args.start, loss.variables)
    base = RunConfig(base.optimizer, dict(base.params), start, base.schedule)
    progress = _Progress()
    try:
        m = sweep_map(
            loss,
            base,
            lr_grid(lo, hi, n_lr),
            y_param=y_param,
            y_values=values,
            steps=args.steps,
            grad_tol=args.tol or None,
            progress=progress,
        )
    except SpecError as exc:
        raise UsageError(f"{prog}: {exc}") from None
    finally:
        progress.close()
    out = _write_outputs(args, m, metric=args.color_by)
    _sweep_summary(m, out)
    return 0


def _values(prog: str, text: str, y_param: str) -> tuple:
    if y_param == "optimizer":
        names = tuple(v.strip().lower() for v in text.split(",") if v.strip())
        if not names:
            raise UsageError(f"{prog}: --values {text!r}: give optimizer names, e.g. gd,adam")
        return names
    from gdviz.core.sweep import parse_values

    try:
        return parse_values(text)
    except ValueError as exc:
        raise UsageError(f"{prog}: --values {text!r}: {exc}") from None


def _sweep_summary(m: Any, out: Any) -> None:
    from gdviz.core.sweep import CONVERGED, DIVERGED

    n = m.status.size
    conv = int((m.status == CONVERGED).sum())
    div = int((m.status == DIVERGED).sum())
    print(f"{n} runs: {conv} converged, {div} diverged, {n - conv - div} not converged", file=out)
    for r in range(m.shape[0]):
        row = m.status[r]
        label = m.y_label(r) if m.y_param else m.optimizer
        ok = [c for c in range(m.shape[1]) if row[c] == CONVERGED]
        first_div = next((c for c in range(m.shape[1]) if row[c] == DIVERGED), None)
        parts = []
        if ok:
            best = min(ok, key=lambda c: m.stop_step[r, c])
            parts.append(f"fastest lr {m.lrs[best]:.4g} ({int(m.stop_step[r, best])} steps)")
        if first_div is not None:
            parts.append(f"diverges from lr {m.lrs[first_div]:.4g}")
        name = f"{m.y_param} = {label}" if m.y_param and m.y_param != "optimizer" else label
        print(f"  {name}: {'; '.join(parts) or 'no run converged'}", file=out)


# --------------------------------------------------------------------------- basins


def run_basins(args: argparse.Namespace) -> int:
    from gdviz.core.specs import SpecError
    from gdviz.core.sweep import basin_map

    prog = _prog(args)
    _check_common(args)
    x = _pair(prog, "--x", args.x)
    y = _pair(prog, "--y", args.y) if args.y is not None else x
    nx, ny = _grid(prog, args.grid)
    if not (math.isfinite(args.merge_tol) and 0 < args.merge_tol <= 1):
        raise UsageError(f"{prog}: --merge-tol must be within (0, 1], not {args.merge_tol:g}")
    cfg = _config(prog, args)
    if nx * ny * max(args.steps, 1) > MAX_WORK:
        raise UsageError(f"{prog}: {nx}×{ny} starts × {args.steps} steps would take very long")
    loss = _compile(prog, args.function)
    if loss.dim == 1:
        domain: tuple = (x,)
        grid: Any = nx
        if args.y is not None:
            raise UsageError(f"{prog}: --y: the function has one variable ({loss.variables[0]})")
    else:
        domain, grid = (x, y), (nx, ny)
    progress = _Progress()
    try:
        m = basin_map(
            loss,
            cfg,
            domain,
            grid,
            steps=args.steps,
            grad_tol=args.tol or None,
            merge_tol=args.merge_tol,
            progress=progress,
        )
    except SpecError as exc:
        raise UsageError(f"{prog}: {exc}") from None
    finally:
        progress.close()
    out = _write_outputs(args, m, loss=loss)
    _basin_summary(m, out)
    return 0


def _basin_summary(m: Any, out: Any) -> None:
    counts = m.label_counts()
    total = m.labels.size
    n = len(m.minima)
    print(f"{total} starts, {n} {'minimum' if n == 1 else 'minima'} found:", file=out)
    names = m.variables
    for i, mn in enumerate(m.minima):
        at = ", ".join(f"{n} = {v:.6g}" for n, v in zip(names, mn.position, strict=True))
        share = 100 * counts.get(i, 0) / total
        print(f"  {i + 1}: {at}  loss {mn.loss:.6g}  ({share:.1f}% of starts)", file=out)
    from gdviz.core.sweep import DIVERGED_LABEL, NOT_CONVERGED, OTHER_MINIMUM

    for lab, text in (
        (OTHER_MINIMUM, "other minima"),
        (NOT_CONVERGED, f"not converged in {m.steps} steps"),
        (DIVERGED_LABEL, "diverged"),
    ):
        if counts.get(lab):
            print(f"  {text}: {100 * counts[lab] / total:.1f}% of starts", file=out)


# --------------------------------------------------------------------------- output


def _write_outputs(args: argparse.Namespace, m: Any, **render: Any):
    """Write CSV and PNG; return where the summary goes (stdout unless the CSV does)."""
    prog = _prog(args)
    summary_to = sys.stdout
    if args.csv == "-":
        _write_csv(sys.stdout, m)
        sys.stdout.flush()
        summary_to = sys.stderr
    elif args.csv:
        _atomic_write(prog, "--csv", args.csv, lambda f: _write_csv(f, m), text=True)
    if args.png:
        data = _png_bytes(m, args, **render)
        _atomic_write(prog, "--png", args.png, lambda f: f.write(data), text=False)
    return summary_to


def _write_csv(f: Any, m: Any) -> None:
    csv.writer(f, lineterminator="\n").writerows(m.csv_rows())


def _atomic_write(prog: str, flag: str, path: str, write, *, text: bool) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half file.

    A path that exists and is not a regular file (``/dev/stdout``, a pipe) is
    written directly: renaming over it would replace the device itself.
    """
    target = Path(path)
    mode, opts = ("w", {"newline": ""}) if text else ("wb", {})
    if target.exists() and not target.is_file():
        try:
            with open(target, mode, **opts) as f:
                write(f)
        except OSError as exc:
            raise UsageError(f"{prog}: {flag} {path!r}: {exc.strerror or exc}") from None
        return
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, mode, **opts) as f:
            write(f)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"{prog}: {flag} {path!r}: {exc.strerror or exc}") from None


def _png_bytes(m: Any, args: argparse.Namespace, **render: Any) -> bytes:
    from gdviz.export.offscreen import ensure_offscreen_platform

    ensure_offscreen_platform()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtWidgets import QApplication

    from gdviz.ui.maps import render_map
    from gdviz.ui.theme import get_theme

    _app = QApplication.instance() or QApplication(["gdviz"])
    theme = get_theme(args.theme, args.font_scale)
    image = render_map(m, args.size_px, theme=theme, **render)
    buf = QByteArray()
    dev = QBuffer(buf)
    dev.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(dev, "PNG"):
        raise UsageError(f"{_prog(args)}: could not encode the PNG")
    dev.close()
    del _app
    return bytes(buf.data())
