"""The numbers: per run, the loss, gradient norm, position and a status badge at a step.

A table *model* computes every cell for a step at once and tells the view with
one ``dataChanged`` signal; setting cell items one by one cost several
milliseconds a frame.

The table asks for the height of its rows (up to :data:`MAX_VISIBLE_ROWS`) and
fits its columns to its width by priority: the run's name and its status come
first (they are what a person reads first, and say what tells runs apart);
when the width runs short
the numbers show fewer significant digits, the position first, and when even
three digits do not fit the position column goes, then the gradient norm's
(the plot shows where each run is, and every cell's tooltip gives all the
numbers in full). The table never scrolls sideways.

Text stays readable in either theme: a run's colour used as text is darkened
(light background) or lightened (dark background), keeping its hue, until it
has a WCAG contrast of at least 4.5:1, and the badges are filled dark enough
for white text.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPalette, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableView

from gdviz.ui.theme import DARK

__all__ = [
    "BADGE_COLORS",
    "COLUMNS",
    "MAX_VISIBLE_ROWS",
    "MIN_CONTRAST",
    "StatsTable",
    "contrast_ratio",
    "is_growing",
    "readable",
    "status_text",
]

COLUMNS = ("run", "loss", "‖∇f‖", "position", "status")
#: The table is tall enough for this many runs; more scroll.
MAX_VISIBLE_ROWS = 4
#: The run column is never cut below this (only when not even the status fits).
_RUN_MIN = "8. mom"
#: Typical widest cells (five significant digits), for the width the table asks for.
_TYPICAL = ("", "0.0012346", "0.0012346", "(−0.12346, −0.12346)", "converged at 1000")
#: The typical position at three significant digits (see StatsTable.needed_width).
_TYPICAL_COMPACT_POSITION = "(−0.123, −0.123)"
_PAD = 16  # cell padding and grid line
#: Significant digits of (loss and ‖∇f‖, position), most first: the table takes
#: the first that fits its width. The position gives up digits first; the loss
#: and ‖∇f‖ only at text larger than the themes' base size (at the base size
#: a narrow window cuts the name, whole in the runs list, before a number).
DIGITS: tuple[tuple[int, int], ...] = ((5, 5), (5, 4), (5, 3), (4, 3), (3, 3))
_BASE_PT = DARK.font_size
#: Columns hidden, in this order, when the width is too short for them whole.
_DROP_ORDER = (3, 2)
#: WCAG 2 contrast every text in the table has against what is behind it (AA).
MIN_CONTRAST = 4.5

#: How far above its start a run's loss must be to be called growing.
GROWTH_FACTOR = 10.0


def status_text(status: str, stop_step: int, step: int, growing: bool = False) -> str:
    """The badge for a run at ``step``: a stop shows only once playback reaches it.

    A run stopped by the step limit while its loss was still climbing far
    above its start (``growing``, see :func:`is_growing`) is not "stopped":
    it was on its way out and only the limit ended it.

    >>> status_text("diverged", 12, 20)
    'diverged at 12'
    >>> status_text("converged", 153, 100)
    'running'
    >>> status_text("max_steps", 80, 80, growing=True)
    'growing at 80'
    """
    if stop_step < 0 or step < stop_step or status == "running":
        return "running"
    if status == "max_steps":
        return f"{'growing' if growing else 'stopped'} at {stop_step}"
    return f"{status} at {stop_step}"


def is_growing(losses: np.ndarray) -> bool:
    """True if a loss history (start … last step) ends clearly climbing away.

    The engine calls a run diverged only once it passes a fixed bound (1e8);
    a run that climbs from 17 to 6,000 in 80 steps is diverging just as
    surely, but the step limit ends it first. Three things must all hold,
    with ``P`` the highest loss of the last tenth of the steps (a peak, so a
    loss that swings up and down while it grows is judged by its swings):

    1. far above the start: ``P − L₀ > (GROWTH_FACTOR − 1)·|L₀|`` (for a
       positive start loss: ``P`` is more than ten times ``L₀``);
    2. at its worst now: ``P`` is higher than every loss before the last
       tenth, so the loss is still rising at the end, not a spike that
       settled again;
    3. sustained: ``P − L₀`` is more than four times the largest rise in the
       first half of the steps, so a loss that only wanders (noise around a
       minimum it started at) is not called growing. A loss that grows
       geometrically from the start meets this whenever it meets 1.

    A run that converged, or is still going down, fails 1 or 2: its loss ends
    below its start or below an earlier value. Non-finite values mean the
    engine's own "diverged"; they make this False.

    >>> bool(is_growing(np.array([17.0, 14.0, 30.0, 90.0, 400.0, 2000.0])))
    True
    >>> bool(is_growing(np.array([17.0, 5.0, 1.0, 0.1, 0.01])))
    False
    """
    loss = np.asarray(losses, dtype=float).ravel()
    if loss.size < 2 or not np.all(np.isfinite(loss)):
        return False
    s = loss.size - 1  # the last step
    w = max(1, s // 10)
    recent, before = loss[s - w + 1 :], loss[: s - w + 1]
    start, peak = loss[0], float(recent.max())
    rise = peak - start
    first_half = float(loss[: s // 2 + 1].max()) - start
    return bool(
        rise > (GROWTH_FACTOR - 1.0) * abs(start)
        and peak > before.max()
        and rise > 2.0 * first_half
    )


def _num(v: float, digits: int = 5) -> str:
    if not np.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def _position(pos: np.ndarray, digits: int = 5) -> str:
    return "(" + ", ".join(_num(float(v), digits) for v in pos) + ")"


# ------------------------------------------------------------------ colour
def _linear(c: QColor) -> float:
    """Relative luminance (WCAG 2) of an opaque colour."""
    out = 0.0
    for v, weight in ((c.redF(), 0.2126), (c.greenF(), 0.7152), (c.blueF(), 0.0722)):
        out += weight * (v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4)
    return out


def contrast_ratio(a: str | QColor, b: str | QColor) -> float:
    """The WCAG 2 contrast ratio of two colours, 1 (same) … 21 (black on white)."""
    la, lb = _linear(QColor(a)), _linear(QColor(b))
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


@lru_cache(maxsize=256)
def readable(color: str, background: str, ratio: float = MIN_CONTRAST) -> str:
    """``color`` made just dark (or light) enough to read on ``background``.

    Against a light background the colour is scaled towards black (which
    keeps its hue and saturation), against a dark one it is mixed towards
    white (which keeps its hue), by the least amount that reaches ``ratio``.
    A colour that already reads well is returned unchanged (as ``#rrggbb``).
    """
    c, bg = QColor(color), QColor(background)
    if not c.isValid() or not bg.isValid():
        return color
    if contrast_ratio(c, bg) >= ratio:
        return c.name()
    toward_black = contrast_ratio("#000000", bg) >= contrast_ratio("#ffffff", bg)
    rgb = np.array([c.red(), c.green(), c.blue()], dtype=float)

    def mix(t: float) -> QColor:
        v = rgb * (1.0 - t) if toward_black else rgb + (255.0 - rgb) * t
        r, g, b = (int(x) for x in np.clip(np.round(v), 0, 255))
        return QColor(r, g, b)

    lo, hi = 0.0, 1.0  # binary search for the least change that reaches the ratio
    for _ in range(20):
        mid = (lo + hi) / 2
        if contrast_ratio(mix(mid), bg) >= ratio:
            hi = mid
        else:
            lo = mid
    return mix(hi).name()


#: Badge fills: the Okabe–Ito colours of each meaning, darkened just enough for
#: white text (4.5:1). "growing" is the orange of the divergence family.
BADGE_COLORS: dict[str, str] = {
    "converged": readable("#009E73", "#ffffff"),
    "diverged": readable("#D55E00", "#ffffff"),
    "growing": readable("#E69F00", "#ffffff"),
    "stopped": readable("#808080", "#ffffff"),
}
_BADGE_TEXT = "#ffffff"


_Index = QModelIndex | QPersistentModelIndex


class _StatsModel(QAbstractTableModel):
    BADGE_COLORS: ClassVar[dict[str, str]] = BADGE_COLORS

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, ...]] = []
        self.colors: list[str] = []
        #: The values behind each row (label, loss, ‖∇f‖, position, badge): the
        #: tooltip gives them in full (a narrow table drops columns), made
        #: only when asked for.
        self.values: list[tuple[str, float, float, np.ndarray, str]] = []
        #: What the cells are drawn on: run colours are made readable against it.
        self.background = "#202329"

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def text_color(self, row: int) -> str:
        """The colour run ``row``'s name is written in: its own, readable on the table."""
        return readable(self.colors[row], self.background)

    def badge(self, row: int) -> str | None:
        """The fill of row ``row``'s status badge (None: no badge, e.g. running)."""
        return self.BADGE_COLORS.get(self.rows[row][-1].split(" ")[0])

    def data(self, index: _Index, role: int = 0) -> Any:
        r, c = index.row(), index.column()
        if not (0 <= r < len(self.rows)):
            return None
        text = self.rows[r][c]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == Qt.ItemDataRole.ToolTipRole:
            if r >= len(self.values):
                return None
            label, loss, g, pos, badge = self.values[r]
            return (
                f"{label}\nloss {_num(loss, 8)}  ‖∇f‖ {_num(g, 8)}\n"
                f"position {_position(pos, 8)}\n{badge}"
            )
        if role == Qt.ItemDataRole.ForegroundRole:
            if c == 0 and r < len(self.colors):
                return QBrush(QColor(self.text_color(r)))
            if c == len(COLUMNS) - 1 and self.badge(r):
                return QBrush(QColor(_BADGE_TEXT))
        if role == Qt.ItemDataRole.BackgroundRole and c == len(COLUMNS) - 1:
            color = self.badge(r)
            return QBrush(QColor(color)) if color else None
        return None

    def set_background(self, color: str) -> None:
        if color != self.background:
            self.background = color
            if self.rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, 0))

    def set_rows(self, rows: list[tuple[str, ...]], colors: list[str], values: list[Any]) -> None:
        self.colors = colors
        self.values = values
        if len(rows) != len(self.rows):
            self.beginResetModel()
            self.rows = rows
            self.endResetModel()
        elif rows != self.rows:
            self.rows = rows
            self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(COLUMNS) - 1))


class StatsTable(QTableView):
    """One row per run; :meth:`show_step` fills in the numbers for a step."""

    def __init__(self) -> None:
        super().__init__()
        self._loss_at: Callable[[int], np.ndarray | None] | None = None
        self.model_ = _StatsModel()
        self.setModel(self.model_)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        h = self.horizontalHeader()
        for c in range(len(COLUMNS) - 1):
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        # The columns are fitted to the width (fit_columns): a sideways scroll
        # bar would only take the height of a row.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # As tall as its rows ask for (the plots take the rest), shorter if it must.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self._traj: Any = None
        self._labels: list[str] = []
        self._colors: list[str] = []
        #: Per run: stopped by the step limit while its loss was climbing.
        self._growing: list[bool] = []
        #: Per run: every text its badge can show (for the status column's width).
        self._badges: list[str] = []
        #: The values behind the current rows: (label, loss, ‖∇f‖, position, badge).
        self._values: list[tuple[str, float, float, np.ndarray, str]] = []
        self._pt = self.font().pointSizeF()
        #: Index into DIGITS: how many significant digits the numbers show now.
        self._level = 0
        # The widest text each column has shown for these runs at this number
        # of digits: columns grow to fit what they show (never cutting a
        # number) and do not shrink back and forth while playing.
        self._seen = [0] * len(COLUMNS)
        self.set_font_size(self._pt)

    # --------------------------------------------------------------- sizes
    def _metrics(self) -> QFontMetrics:
        font = QFont(self.font())
        font.setPointSizeF(self._pt)
        return QFontMetrics(font)

    def set_font_size(self, pt: float) -> None:
        """Size rows and columns for text of ``pt`` points (the theme's size)."""
        self._pt = float(pt)
        self.verticalHeader().setDefaultSectionSize(self._metrics().height() + 8)
        self.fit_columns()
        self.updateGeometry()

    def digits(self) -> tuple[int, int]:
        """Significant digits shown now: (loss and ‖∇f‖, position)."""
        return DIGITS[self._level]

    def position_shown(self) -> bool:
        """False when the table is too narrow for the position (it is in the tooltips)."""
        return not self.isColumnHidden(3)

    def shown_columns(self) -> list[str]:
        """The columns on screen now, by name."""
        return [name for c, name in enumerate(COLUMNS) if not self.isColumnHidden(c)]

    def _last_level(self) -> int:
        """The fewest digits allowed (an index into DIGITS) at this text size."""
        if self._pt > 1.05 * _BASE_PT:
            return len(DIGITS) - 1
        return max(lv for lv, (dn, _dp) in enumerate(DIGITS) if dn == DIGITS[0][0])

    def _format(self, level: int) -> list[tuple[str, ...]]:
        dn, dp = DIGITS[level]
        return [
            (label, _num(loss, dn), _num(g, dn), _position(pos, dp), badge)
            for label, loss, g, pos, badge in self._values
        ]

    def _widths(self, fm: QFontMetrics, rows: list[tuple[str, ...]]) -> list[int]:
        """Each column's widest text in ``rows`` (and its header)."""
        out = [fm.horizontalAdvance(name) for name in COLUMNS]
        for row in rows:
            for c, text in enumerate(row):
                out[c] = max(out[c], fm.horizontalAdvance(text))
        return out

    def _fixed(self, fm: QFontMetrics) -> tuple[int, int]:
        """Pixels the run's name and the status need whole (padding included)."""
        run = max([fm.horizontalAdvance(COLUMNS[0]), *map(fm.horizontalAdvance, self._labels)])
        status = max([fm.horizontalAdvance(COLUMNS[-1]), *map(fm.horizontalAdvance, self._badges)])
        return run + _PAD, status + _PAD

    def fit_columns(self) -> None:
        """Share the width out by priority.

        The run's name and the status get what they need to be whole; the
        numbers get the most significant digits (5, then fewer: the position
        first, then the loss and ‖∇f‖, down to 3) that fit in the rest. When
        not even three digits fit, the position's column goes, then the
        gradient norm's (a hidden number is in the row's tooltip; a number is
        never cut). Only when the name, the status and the loss cannot all be
        whole is the name cut (to no less than a few letters).
        """
        fm = self._metrics()
        avail = self.viewport().width()
        run, status = self._fixed(fm)
        level, seen = self._last_level(), [0] * len(COLUMNS)
        for lv in range(self._last_level() + 1):
            seen = self._widths(fm, self._format(lv))
            if run + status + sum(seen[1:4]) + 3 * _PAD <= avail:
                level = lv
                break
        self._apply(level, seen, fm)

    def _apply(self, level: int, seen: list[int], fm: QFontMetrics) -> None:
        """Set the digits and the sections' widths for ``seen`` text widths."""
        changed = level != self._level
        self._level, self._seen = level, seen
        h = self.horizontalHeader()
        avail = self.viewport().width()
        run, status = self._fixed(fm)
        width = {c: seen[c] + _PAD for c in (1, 2, 3)}
        # Columns go whole, least needed first: the position, then ‖∇f‖.
        hidden: set[int] = set()
        for c in _DROP_ORDER:
            if run + status + sum(w for k, w in width.items() if k not in hidden) <= avail:
                break
            hidden.add(c)
        for c, w in width.items():
            self.setColumnHidden(c, c in hidden)
            if c not in hidden:
                h.resizeSection(c, w)
        rest = avail - sum(w for k, w in width.items() if k not in hidden)
        # The status stretches into what is left after the name (last section).
        low = fm.horizontalAdvance(_RUN_MIN) + _PAD
        h.resizeSection(0, max(low, min(run, rest - status)))
        if changed and self._values:
            self._set_rows(self._format(level))

    def needed_width(self, *, compact: bool = False) -> int:
        """Pixels the table needs to show typical numbers whole, without sideways scrolling.

        ``compact``: with the position at three significant digits (the first
        digits the table gives up when narrower), the least a layout should give it.
        """
        fm = self._metrics()
        typical = list(_TYPICAL)
        if compact:
            typical[3] = _TYPICAL_COMPACT_POSITION
        cells = [
            max(fm.horizontalAdvance(COLUMNS[c]), fm.horizontalAdvance(typical[c])) + _PAD
            for c in range(1, len(COLUMNS))
        ]
        run = fm.horizontalAdvance(_RUN_MIN) + _PAD
        bar = self.verticalScrollBar().sizeHint().width()
        return run + sum(cells) + bar + 2 * self.frameWidth()

    def _row_height(self) -> int:
        return self.verticalHeader().defaultSectionSize()

    def sizeHint(self) -> QSize:
        rows = min(max(self.model_.rowCount(), len(self._labels), 1), MAX_VISIBLE_ROWS)
        header = self.horizontalHeader().sizeHint().height()
        height = header + rows * self._row_height() + 2 * self.frameWidth()
        return QSize(super().sizeHint().width(), height)

    def minimumSizeHint(self) -> QSize:
        header = self.horizontalHeader().sizeHint().height()
        height = header + self._row_height() + 2 * self.frameWidth()
        return QSize(super().minimumSizeHint().width(), height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._follow_background()

    def _follow_background(self) -> None:
        # The theme's style sheet sets the palette the cells are painted on.
        self.model_.set_background(self.viewport().palette().color(QPalette.ColorRole.Base).name())

    # ---------------------------------------------------------------- runs
    def set_runs(self, trajectory: Any, colors: list[str], labels: list[str]) -> None:
        self._traj = trajectory
        self._colors = list(colors)
        self._follow_background()
        if list(labels) != self._labels:
            self._labels = list(labels)
            self.updateGeometry()  # another number of runs: another height
        self._growing, self._badges = [], []
        if trajectory is not None:
            n = trajectory.positions.shape[0] - 1
            k_runs = trajectory.positions.shape[1]
            status = list(getattr(trajectory, "status", []))
            stop = np.asarray(getattr(trajectory, "stop_step", np.full(k_runs, -1)))
            for k in range(k_runs):
                st = status[k] if k < len(status) else "running"
                s = int(stop[k])
                grow = (
                    st == "max_steps" and 0 < s <= n and is_growing(trajectory.losses[: s + 1, k])
                )
                self._growing.append(grow)
                self._badges += ["running", status_text(st, s, max(s, 0), grow)]
        self.fit_columns()
        if trajectory is None:
            self._values = []
            self.model_.set_rows([], [], [])

    def run_count(self) -> int:
        """Rows shown (one per run)."""
        return self.model_.rowCount()

    def row_text(self, run: int) -> dict[str, str]:
        """The cells of one row, by column name (what a person reads)."""
        return dict(zip(COLUMNS, self.model_.rows[run], strict=True))

    def _set_rows(self, rows: list[tuple[str, ...]]) -> None:
        self.model_.set_rows(rows, self._colors, self._values)

    def set_loss_source(self, loss_at: Callable[[int], np.ndarray | None] | None) -> None:
        """Where the loss column's numbers come from.

        ``loss_at(i)`` gives every run's loss at step ``i`` (in dataset mode,
        over all the data); None, or a call that returns None, means the
        trajectory's own losses.
        """
        self._loss_at = loss_at

    def badges_at(self, i: int) -> list[str]:
        """Each run's status badge at step ``i`` ("running", "diverged at 12", …)."""
        tr = self._traj
        if tr is None:
            return []
        i = max(0, min(int(i), tr.positions.shape[0] - 1))
        k_runs = tr.positions.shape[1]
        status = list(getattr(tr, "status", []))
        stop = np.asarray(getattr(tr, "stop_step", np.full(k_runs, -1)))
        return [
            status_text(
                status[k] if k < len(status) else "running",
                int(stop[k]),
                i,
                self._growing[k] if k < len(self._growing) else False,
            )
            for k in range(k_runs)
        ]

    def show_step(self, i: int) -> None:
        tr = self._traj
        if tr is None:
            return
        n = tr.positions.shape[0] - 1
        i = max(0, min(int(i), n))
        with np.errstate(all="ignore"):
            gnorm = np.linalg.norm(tr.grads[i], axis=-1)
        losses = tr.losses[i]
        if self._loss_at is not None:
            other = self._loss_at(i)
            if other is not None and np.shape(other) == np.shape(losses):
                losses = other
        values = []
        for k, badge in enumerate(self.badges_at(i)):
            values.append(
                (
                    self._labels[k] if k < len(self._labels) else str(k + 1),
                    float(losses[k]),
                    float(gnorm[k]),
                    np.array(tr.positions[i, k], dtype=float),
                    badge,
                )
            )
        self._values = values
        rows = self._format(self._level)
        fm = self._metrics()
        wide = self._widths(fm, rows)
        if any(w > s for w, s in zip(wide, self._seen, strict=True)):
            # A wider number: grow its column, or (no room) show fewer digits.
            seen = [max(w, s) for w, s in zip(wide, self._seen, strict=True)]
            run, status_w = self._fixed(fm)
            avail = self.viewport().width()
            level = self._level
            while run + status_w + sum(seen[1:4]) + 3 * _PAD > avail and level < self._last_level():
                level += 1
                rows = self._format(level)
                seen = self._widths(fm, rows)  # fewer digits: widths start again
            self._level = level  # rows are formatted at it already
            self._apply(level, seen, fm)
        self._set_rows(rows)
