"""What an export will produce, checked before any frame is drawn.

Everything here is plain Python (no Qt, no ffmpeg): the command line and the
export dialog both turn what a person asked for into an :class:`ExportPlan`
and get one clear message for anything wrong with it, before the scene is
built or a single file is touched.
"""

from __future__ import annotations

import enum
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gdviz.ui.theme import THEMES as _UI_THEMES

__all__ = [
    "GIF_MAX_FPS",
    "MAX_FPS",
    "MAX_SIZE",
    "MIN_SIZE",
    "PANELS",
    "PANELS_3D",
    "SIZE_PRESETS",
    "THEMES",
    "ExportError",
    "ExportPlan",
    "OutputKind",
    "OutputPathError",
    "SceneInputs",
    "auto_domain",
    "check_fps",
    "check_output",
    "check_size",
    "frame_steps",
    "output_exists",
    "output_kind",
    "parse_size",
]

#: Panels the scene can show, in the order the dialog lists them. The last two
#: draw the 3-D surface view and need OpenGL (see :data:`PANELS_3D`).
PANELS: tuple[str, ...] = ("both", "surface", "loss", "3d", "3d+loss")
#: The panels drawn by the 3-D view: only where :func:`gdviz.ui.gl.probe_gl` says yes.
PANELS_3D: tuple[str, ...] = ("3d", "3d+loss")
#: Themes the scene knows (the window's themes: plain data, no Qt).
THEMES: tuple[str, ...] = tuple(_UI_THEMES)
#: Named sizes offered by the dialog (label, width, height).
SIZE_PRESETS: tuple[tuple[str, int, int], ...] = (
    ("1280×720 (HD)", 1280, 720),
    ("1920×1080 (Full HD)", 1920, 1080),
)
#: Smallest and largest side in pixels; beyond 8K a frame no longer fits a
#: sensible amount of memory per step.
MIN_SIZE = 64
MAX_SIZE = 7680
MAX_FPS = 120.0
#: GIF frame delays are stored in hundredths of a second and browsers slow any
#: delay below 2/100 s down to 10/100 s, so faster GIFs would play slower.
GIF_MAX_FPS = 50.0


class ExportError(Exception):
    """An export that could not be written (full disk, encoder failure, ...).

    ``str(err)`` is one line a person can act on.
    """


class OutputPathError(ExportError):
    """The requested output cannot be used as given (bad input, not a failure)."""


class OutputKind(enum.Enum):
    """The three things an export can write."""

    PNG = "png"  # a directory of frame_00000.png, frame_00001.png, ...
    GIF = "gif"
    MP4 = "mp4"

    @property
    def label(self) -> str:
        return {"png": "PNG sequence", "gif": "GIF", "mp4": "MP4 (H.264)"}[self.value]


_SIZE_RE = re.compile(r"^\s*(\d{1,6})\s*[x×X]\s*(\d{1,6})\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (e.g. ``"1280x720"``) into ``(width, height)``.

    Raises
    ------
    ValueError
        With a message saying what is wrong, for anything but two whole
        numbers in ``MIN_SIZE..MAX_SIZE`` separated by ``x``.
    """
    match = _SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    width, height = int(match.group(1)), int(match.group(2))
    check_size((width, height))
    return width, height


def check_size(size: tuple[int, int], kind: OutputKind | None = None) -> None:
    """Raise ``ValueError`` if ``size`` is out of range or unfit for ``kind``.

    MP4 is H.264 in 4:2:0 chroma (``yuv420p``, the only form every player
    decodes), which halves the colour resolution in both directions, so width
    and height must be even. Sides need not be multiples of 16: the encoder
    pads to whole macro-blocks internally and stores a crop, which is how
    1920×1080 video works everywhere.
    """
    width, height = size
    for name, value in (("width", width), ("height", height)):
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise ValueError(
                f"size {width}x{height}: {name} must be between {MIN_SIZE} and {MAX_SIZE} pixels"
            )
    if kind is OutputKind.MP4 and (width % 2 or height % 2):
        even = f"{width + width % 2}x{height + height % 2}"
        raise ValueError(
            f"size {width}x{height}: MP4 (H.264) needs an even width and height; try {even}"
        )


def check_fps(fps: float, kind: OutputKind | None = None) -> None:
    """Raise ``ValueError`` if ``fps`` is not a sensible frame rate for ``kind``."""
    if not math.isfinite(fps) or not 0 < fps <= MAX_FPS:
        raise ValueError(f"fps {fps:g} must be above 0 and at most {MAX_FPS:g}")
    if kind is OutputKind.GIF and fps > GIF_MAX_FPS:
        raise ValueError(
            f"fps {fps:g} is too fast for a GIF: its frame delays are in 1/100 s and "
            f"viewers slow down anything above {GIF_MAX_FPS:g} fps; use MP4 or a lower --fps"
        )


def frame_steps(last_step: int, every: int = 1, first_step: int = 0) -> range:
    """The steps that get a frame: ``first, first+every, ...`` up to ``last_step``.

    ``frame_steps(299)`` has 300 steps (0…299); ``frame_steps(299, 10)`` has 30
    (0, 10, …, 290).
    """
    if every < 1:
        raise ValueError(f"every must be at least 1, not {every}")
    if first_step < 0 or last_step < first_step:
        raise ValueError(f"step range {first_step}..{last_step} is empty")
    return range(first_step, last_step + 1, every)


def output_kind(out: str | os.PathLike[str]) -> OutputKind:
    """What ``out`` asks for: a directory (ends in ``/`` or exists) is a PNG
    sequence, ``.gif`` a GIF, ``.mp4`` an MP4.

    Raises
    ------
    OutputPathError
        For any other extension, or a name without one.
    """
    text = os.fspath(out)
    if not text.strip():
        raise OutputPathError("the output path is empty")
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return OutputKind.PNG
    suffix = Path(text).suffix.lower()
    if suffix == ".gif":
        return OutputKind.GIF
    if suffix == ".mp4":
        return OutputKind.MP4
    if not suffix:
        raise OutputPathError(
            f"{text!r} has no extension: use NAME.mp4, NAME.gif, or a directory "
            "ending in / for PNG frames"
        )
    raise OutputPathError(
        f"unknown extension {suffix!r} in {text!r}: use .mp4, .gif, or a directory "
        "ending in / for PNG frames"
    )


def output_exists(path: Path, kind: OutputKind) -> bool:
    """Whether writing ``kind`` to ``path`` would replace something.

    For a PNG sequence that means ``frame_*.png`` files in the directory.
    """
    if kind is OutputKind.PNG:
        return path.is_dir() and any(path.glob("frame_*.png"))
    return path.exists()


def check_output(path: Path, kind: OutputKind, *, force: bool = False) -> None:
    """Raise :class:`OutputPathError` if ``path`` cannot be written as ``kind``.

    Checks what can be known without writing: the parent directory exists and
    is a directory, and an existing output is only replaced with ``force``.
    A PNG sequence "exists" when its directory already holds ``frame_*.png``
    files; other files in it are never touched. Whether the directory is
    really writable is found out when the writer creates its temporary file,
    still before the first frame is drawn.
    """
    parent = path.parent
    if not parent.exists():
        raise OutputPathError(
            f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist"
        )
    if not parent.is_dir():
        raise OutputPathError(f"cannot write {str(path)!r}: {str(parent)!r} is not a directory")
    if kind is OutputKind.PNG:
        if path.exists() and not path.is_dir():
            raise OutputPathError(f"{str(path)!r} exists and is not a directory")
        if not force and output_exists(path, kind):
            raise OutputPathError(
                f"{str(path)!r} already holds frame_*.png files; use --force to replace them"
            )
        return
    if path.is_dir():
        raise OutputPathError(f"{str(path)!r} is a directory")
    if path.exists() and not force:
        raise OutputPathError(f"{str(path)!r} already exists; use --force to replace it")


@dataclass(frozen=True)
class ExportPlan:
    """Everything about an export except the data it draws.

    Attributes
    ----------
    out : Path
        The file (GIF, MP4) or directory (PNG sequence) to produce.
    kind : OutputKind
    size : tuple[int, int]
        Frame width and height in pixels.
    fps : float
    steps : range
        The step index drawn in each frame, in order.
    panels, theme : str
        Passed to the scene (see :data:`PANELS`, :data:`THEMES`); the 3-D
        panels (:data:`PANELS_3D`) are checked for OpenGL when rendering starts.
    force : bool
        Replace an existing output.
    caption : bool
        Draw "step 12 · f = …" in a corner of every frame, so a paused clip
        says where it is (:class:`gdviz.ui.items.step_caption.StepCaption`).
    """

    out: Path
    kind: OutputKind
    size: tuple[int, int]
    fps: float
    steps: range
    panels: str = "both"
    theme: str = "light"
    force: bool = False
    caption: bool = True

    @classmethod
    def create(
        cls,
        out: str | os.PathLike[str],
        *,
        last_step: int,
        size: tuple[int, int] = (1280, 720),
        fps: float = 30.0,
        every: int = 1,
        first_step: int = 0,
        panels: str = "both",
        theme: str = "light",
        force: bool = False,
        kind: OutputKind | None = None,
        caption: bool = True,
    ) -> ExportPlan:
        """Check every setting and build a plan.

        Raises
        ------
        OutputPathError
            For an unusable output path.
        ValueError
            For any other bad setting; the message names it.
        """
        kind = output_kind(out) if kind is None else kind
        check_size(size, kind)
        check_fps(fps, kind)
        if panels not in PANELS:
            raise ValueError(f"panels {panels!r} is not one of {', '.join(PANELS)}")
        if theme not in THEMES:
            raise ValueError(f"theme {theme!r} is not one of {', '.join(THEMES)}")
        steps = frame_steps(last_step, every, first_step)
        path = Path(os.fspath(out)).expanduser()
        check_output(path, kind, force=force)
        if not isinstance(caption, bool):
            raise ValueError(f"caption must be true or false, not {caption!r}")
        return cls(
            path,
            kind,
            (int(size[0]), int(size[1])),
            float(fps),
            steps,
            panels,
            theme,
            force,
            caption,
        )

    @property
    def n_frames(self) -> int:
        return len(self.steps)


def auto_domain(
    points: np.ndarray, *, margin: float = 0.25, min_half_width: float = 1.0
) -> tuple[tuple[float, float], ...]:
    """A view window that holds every finite point, with some room around.

    Parameters
    ----------
    points : ndarray, shape (..., d)
        Positions to show, e.g. a trajectory's ``positions``.
    margin : float
        Extra room on each side, as a fraction of the extent.
    min_half_width : float
        Each axis spans at least this much either side of its centre, so a
        run that never moves still sits in a readable window.

    Returns
    -------
    tuple of (low, high) per axis.
    """
    pts = np.asarray(points, dtype=np.float64)
    d = pts.shape[-1]
    pts = pts.reshape(-1, d)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    domain = []
    for axis in range(d):
        if pts.size:
            low, high = float(pts[:, axis].min()), float(pts[:, axis].max())
        else:
            low = high = 0.0
        centre, half = (low + high) / 2, (high - low) / 2
        half = max(half * (1 + 2 * margin), min_half_width)
        domain.append((centre - half, centre + half))
    return tuple(domain)


@dataclass(frozen=True)
class SceneInputs:
    """What the scene draws: the data of an export, apart from its settings.

    Attributes
    ----------
    loss
        A compiled :class:`gdviz.core.loss.Loss`.
    domain
        The view window, one ``(low, high)`` pair per variable.
    trajectory
        A computed :class:`gdviz.core.engine.Trajectory`.
    colors, labels, visible
        Per run; None gives the run palette's colours (the same in every
        theme, :mod:`gdviz.core.colors`), ``"run 1"``, … and all runs.
    view
        Drawing settings (:class:`gdviz.core.session.ViewSettings`); None is
        the default.
    start
        Where the start marker is drawn; None hides it.
    font_scale
        Scales fonts and lines (presentation mode: 1.5 or 2).
    """

    loss: Any
    domain: tuple[tuple[float, float], ...]
    trajectory: Any
    colors: Sequence[str] | None = None
    labels: Sequence[str] | None = None
    visible: Sequence[bool] | None = None
    view: Any = None
    start: tuple[float, ...] | None = None
    font_scale: float = 1.0

    @property
    def n_steps(self) -> int:
        """The last step the trajectory holds."""
        return int(np.asarray(self.trajectory.positions).shape[0] - 1)
