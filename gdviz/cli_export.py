"""``gdviz export``: render the animation headless to PNG frames, a GIF or an MP4.

::

    gdviz export --function TEXT [--optimizer SPEC]... --start X[,Y] --steps N
                 --out anim.mp4|anim.gif|frames/ [--size 1280x720] [--fps 30]
                 [--every K] [--panels surface|loss|both|3d|3d+loss]
                 [--height-3d clamp|linear|log]
                 [--theme light|dark|projector] [--no-caption] [--force]

Frames show steps 0, K, 2K, … up to N, each with the whole trail up to it,
drawn by the same scene the window shows, with "step N · f = …" in a corner
(``--no-caption`` leaves it out). Qt runs on its offscreen platform
(chosen here unless ``QT_QPA_PLATFORM`` is set), so no display is needed —
except for the 3-D panels, which need OpenGL: set ``QT_QPA_PLATFORM=xcb`` and
run under a display, e.g. ``xvfb-run -a``.

Exit status: 0 written; 2 bad input (one line on stderr, nothing written);
1 writing failed (full disk, encoder error: one line, nothing left behind).
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
import time
from typing import TextIO

from gdviz import cli_data_options
from gdviz.cli import UsageError
from gdviz.cli_args import NEGATIVE_NUMBERS, float_arg, int_arg
from gdviz.core.session import HEIGHT_MODES_3D, ViewSettings
from gdviz.export.plan import PANELS, THEMES

PROG = "gdviz export"

#: More steps than this would be a film nobody wants to wait for (an hour at 30 fps
#: is 108,000 frames).
MAX_STEPS = 100_000


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        prog=PROG,
        help="render the animation to PNG frames, a GIF or an MP4 (no display needed)",
        description=(
            "Render the animation headless: one frame for each of the steps "
            "0, K, 2K, ... up to N, as the window draws it."
        ),
    )
    parser.add_argument(
        "--function", required=True, metavar="TEXT", help="the loss, e.g. 'x^2 + 3y^2'"
    )
    parser.add_argument(
        "--optimizer",
        action="append",
        default=None,
        metavar="SPEC",
        help="NAME or NAME:key=value,... as for 'gdviz trace'; repeat to race several",
    )
    parser.add_argument("--start", required=True, metavar="X[,Y]", help="start point of every run")
    parser.add_argument(
        "--steps",
        required=True,
        type=int_arg("--steps"),
        metavar="N",
        help="last step drawn (steps 0..N)",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="NAME.mp4, NAME.gif, or a directory (ending in /) for PNG frames",
    )
    parser.add_argument(
        "--schedule",
        default=None,
        metavar="SPEC",
        help="learning-rate schedule of every run, as for 'gdviz trace' (default constant)",
    )
    parser.add_argument(
        "--size", default="1280x720", metavar="WxH", help="frame size (default 1280x720)"
    )
    parser.add_argument(
        "--fps",
        default=30.0,
        type=float_arg("--fps"),
        metavar="F",
        help="frames per second of the GIF or MP4 (default 30)",
    )
    parser.add_argument(
        "--every",
        default=1,
        type=int_arg("--every"),
        metavar="K",
        help="draw every K-th step (default 1)",
    )
    parser.add_argument(
        "--panels",
        default="both",
        choices=PANELS,
        help=(
            "surface, loss curve, both side by side (default), or the 3D surface "
            "alone or beside the loss curve (3d, 3d+loss: need OpenGL)"
        ),
    )
    parser.add_argument(
        "--height-3d",
        default="clamp",
        choices=HEIGHT_MODES_3D,
        help=(
            "how the 3D panels turn losses into heights: clamped at a high quantile "
            "(default), linear or log"
        ),
    )
    parser.add_argument("--theme", default="light", choices=THEMES, help="default light")
    parser.add_argument(
        "--domain",
        default=None,
        metavar="XMIN,XMAX[,YMIN,YMAX]",
        help="view window (default: around the paths)",
    )
    parser.add_argument(
        "--caption",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write 'step N · f = …' in a corner of each frame (default: yes)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    cli_data_options.add_arguments(parser, seed=True, epochs=False)
    parser.set_defaults(run=run)
    # Accept "--start -1.5,2" (see gdviz.cli_args.NEGATIVE_NUMBERS).
    parser._negative_number_matcher = NEGATIVE_NUMBERS
    return parser


def _numbers(text: str, flag: str, counts: tuple[int, ...]) -> tuple[float, ...]:
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise UsageError(f"{PROG}: {flag} {text!r} must be numbers separated by commas") from None
    if len(values) not in counts:
        want = " or ".join(str(c) for c in counts)
        raise UsageError(f"{PROG}: {flag} {text!r} needs {want} numbers, got {len(values)}")
    if not all(abs(v) < float("inf") for v in values):
        raise UsageError(f"{PROG}: {flag} {text!r} must be finite numbers")
    return values


class TerminalProgress:
    """A one-line progress bar, redrawn at most ten times a second, on a TTY only."""

    def __init__(self, total: int, stream: TextIO | None = None, *, label: str = "frames") -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = max(total, 1)
        self.label = label
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._drawn = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = round(width * done / self.total)
        rate = done / max(now - self._t0, 1e-9)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} {self.label}  {rate:5.1f}/s ")
        self.stream.flush()
        self._drawn = True

    def note(self, text: str) -> None:
        """Add ``text`` after the bar (e.g. what happens after the last frame)."""
        if self.enabled:
            self.update(self.total)
            self.stream.write(f"- {text}")
            self.stream.flush()
            self._drawn = True

    def finish(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def run(args: argparse.Namespace) -> int:
    from gdviz.export.plan import ExportError, ExportPlan, OutputPathError, parse_size

    cli_data_options.check(args, PROG)
    if not 0 <= args.steps <= MAX_STEPS:
        raise UsageError(f"{PROG}: --steps {args.steps} must be between 0 and {MAX_STEPS}")
    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise UsageError(f"{PROG}: --size: {exc}") from None
    try:
        plan = ExportPlan.create(
            args.out,
            last_step=args.steps,
            size=size,
            fps=args.fps,
            every=args.every,
            panels=args.panels,
            theme=args.theme,
            force=args.force,
            caption=args.caption,
        )
    except OutputPathError as exc:
        raise UsageError(f"{PROG}: --out: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"{PROG}: {_flag_for(str(exc))}{exc}") from None

    from gdviz.export.offscreen import ensure_offscreen_platform

    ensure_offscreen_platform()
    # Compiling the loss mostly waits for the compile worker process; import
    # Qt, pyqtgraph and the scene meanwhile (about a second saved).
    computing = _Background(_compute, args)
    from gdviz.export.render import ExportCancelled, check_panels, export_animation

    inputs = computing.result()
    if args.height_3d != ViewSettings().height_3d:
        view = inputs.view if inputs.view is not None else ViewSettings()
        inputs = dataclasses.replace(
            inputs, view=dataclasses.replace(view, height_3d=args.height_3d)
        )
    try:
        check_panels(plan.panels, inputs.loss.dim)
    except ExportError as exc:
        raise UsageError(f"{PROG}: --panels: {exc}") from None

    progress = TerminalProgress(plan.n_frames)
    try:
        with _StopOnSignals() as stop:
            export_animation(
                plan,
                inputs,
                progress=progress.update,
                cancelled=stop.is_set,
                finishing=lambda: progress.note(f"writing {plan.out.name or plan.out}…"),
            )
    except ExportCancelled:
        progress.finish()
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return 130
    except OutputPathError as exc:
        progress.finish()
        raise UsageError(f"{PROG}: --out: {exc}") from None
    except ExportError as exc:
        progress.finish()
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except BaseException:
        progress.finish()
        raise
    progress.finish()
    return 0


class _StopOnSignals:
    """Turn Ctrl-C (SIGINT) and SIGTERM into a flag while frames are drawn.

    Python raises KeyboardInterrupt wherever the main thread happens to be,
    which while exporting is usually inside a pyqtgraph ``paint`` that logs
    and swallows it, so the export would go on. The flag is polled between
    frames instead, and the export stops cleanly, removing partial output.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._old: dict[int, object] = {}

    def is_set(self) -> bool:
        return self._event.is_set()

    def __enter__(self) -> _StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, lambda *_: self._event.set())
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


class _Background:
    """Run ``fn(*args)`` on a daemon thread; :meth:`result` joins and re-raises."""

    def __init__(self, fn, *args) -> None:
        self._value = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, *args), daemon=True)
        self._thread.start()

    def _run(self, fn, *args) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _flag_for(message: str) -> str:
    for word, flag in (("fps", "--fps"), ("size", "--size"), ("every", "--every")):
        if message.startswith(word):
            return f"{flag}: "
    return ""


def _points_to_frame(trajectory, start: tuple[float, ...]):
    """The points the default view must hold: the start and every run that did
    not diverge. A diverged run may have flown to 1e8; framing it would shrink
    everything else to a dot, so it is left to leave the picture."""
    import numpy as np

    positions = np.asarray(trajectory.positions, dtype=np.float64)
    keep = [k for k, s in enumerate(trajectory.status) if s != "diverged"]
    return np.concatenate([positions[:, keep].reshape(-1, positions.shape[2]), [start]])


def _compute(args: argparse.Namespace):
    """Compile the loss and run the optimizers: everything the scene draws."""
    from gdviz.core.engine import run as run_engine
    from gdviz.core.expression import ExpressionError
    from gdviz.core.loss import compile_loss
    from gdviz.core.specs import SpecError, parse_optimizer_spec, parse_schedule_spec
    from gdviz.export.plan import SceneInputs, auto_domain

    if args.data is not None:
        # Dataset mode: the surface is the full-data loss, runs take mini-batch steps.
        n_runs = len(args.optimizer or ["gd"])
        loss = cli_data_options.prepare(args, PROG, n_runs, (MAX_STEPS + 1) * n_runs).objective
    else:
        try:
            loss = compile_loss(args.function, timeout=10.0)
        except ExpressionError as exc:
            raise UsageError(f"{PROG}: --function: {exc}") from None
    start = _numbers(args.start, "--start", (loss.dim,))
    specs = args.optimizer or ["gd"]
    schedule = None
    if args.schedule is not None:
        try:
            schedule = parse_schedule_spec(args.schedule)
        except SpecError as exc:
            raise UsageError(f"{PROG}: --schedule: {exc}") from None
    try:
        configs = [parse_optimizer_spec(text, start=start, schedule=schedule) for text in specs]
    except SpecError as exc:
        raise UsageError(f"{PROG}: --optimizer: {exc}") from None
    trajectory = run_engine(loss, configs, args.steps)
    if args.domain is not None:
        values = _numbers(args.domain, "--domain", (2 * loss.dim,))
        domain = tuple(zip(values[::2], values[1::2], strict=True))
        from gdviz.core.surface import normalize_domain

        try:
            domain = normalize_domain(domain, loss.dim)
        except ValueError as exc:
            raise UsageError(f"{PROG}: --domain: {exc}") from None
    else:
        domain = auto_domain(_points_to_frame(trajectory, start))
    return SceneInputs(loss=loss, domain=domain, trajectory=trajectory, labels=specs, start=start)
