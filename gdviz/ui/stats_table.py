"""The numbers: per run, the loss, gradient norm, position and a status badge at a step.

A table *model* computes every cell for a step at once and tells the view with
one ``dataChanged`` signal; setting cell items one by one cost several
milliseconds a frame.

The table asks for the height of its rows (up to :data:`MAX_VISIBLE_ROWS`) and
fits its columns to its width: the numbers keep the room their longest values
need and the run's name (which the list beside the plots shows whole, in the
same colour) is cut first, so the table needs no sideways scrolling at large
text sizes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableView

__all__ = ["COLUMNS", "MAX_VISIBLE_ROWS", "StatsTable", "status_text"]

COLUMNS = ("run", "loss", "‖∇f‖", "position", "status")
#: The table is tall enough for this many runs; more scroll.
MAX_VISIBLE_ROWS = 4
#: The run column is never cut below this.
_RUN_MIN = "8. mom"
#: Typical widest cells (five significant digits), for the width the table asks for.
_TYPICAL = ("", "0.0012346", "0.0012346", "(−0.12346, −0.12346)", "converged at 1000")
_PAD = 16  # cell padding and grid line


def status_text(status: str, stop_step: int, step: int) -> str:
    """The badge for a run at ``step``: a stop shows only once playback reaches it.

    >>> status_text("diverged", 12, 20)
    'diverged at 12'
    >>> status_text("converged", 153, 100)
    'running'
    """
    if stop_step < 0 or step < stop_step or status == "running":
        return "running"
    if status == "max_steps":
        return f"stopped at {stop_step}"
    return f"{status} at {stop_step}"


def _num(v: float) -> str:
    if not np.isfinite(v):
        return str(v)
    return f"{v:.5g}"


_Index = QModelIndex | QPersistentModelIndex


class _StatsModel(QAbstractTableModel):
    BADGE_COLORS: ClassVar[dict[str, str]] = {
        "converged": "#009E73",
        "diverged": "#D55E00",
        "stopped": "#808080",
    }

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, ...]] = []
        self.colors: list[str] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = 0) -> Any:
        r, c = index.row(), index.column()
        if not (0 <= r < len(self.rows)):
            return None
        text = self.rows[r][c]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == Qt.ItemDataRole.ForegroundRole:
            if c == 0 and r < len(self.colors):
                return QBrush(QColor(self.colors[r]))
            if c == len(COLUMNS) - 1 and text.split(" ")[0] in self.BADGE_COLORS:
                return QBrush(QColor("#ffffff"))
        if role == Qt.ItemDataRole.BackgroundRole and c == len(COLUMNS) - 1:
            color = self.BADGE_COLORS.get(text.split(" ")[0])
            return QBrush(QColor(color)) if color else None
        return None

    def set_rows(self, rows: list[tuple[str, ...]], colors: list[str]) -> None:
        self.colors = colors
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
        # As tall as its rows ask for (the plots take the rest), shorter if it must.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self._traj: Any = None
        self._labels: list[str] = []
        self._colors: list[str] = []
        self._pt = self.font().pointSizeF()
        # The widest text each column has shown for these runs: columns grow to
        # fit what they show (never cutting a number) and do not shrink back
        # and forth while playing.
        self._seen = [0] * len(COLUMNS)
        self.set_font_size(self._pt)

    def _metrics(self) -> QFontMetrics:
        font = QFont(self.font())
        font.setPointSizeF(self._pt)
        return QFontMetrics(font)

    def set_font_size(self, pt: float) -> None:
        """Size rows and columns for text of ``pt`` points (the theme's size)."""
        self._pt = float(pt)
        self.verticalHeader().setDefaultSectionSize(self._metrics().height() + 8)
        self._seen = [0] * len(COLUMNS)
        self._see(self.model_.rows)
        self.fit_columns()
        self.updateGeometry()

    def _see(self, rows: list[tuple[str, ...]]) -> bool:
        """Note the widths of ``rows``' cells; True if a column needs more room."""
        fm = self._metrics()
        grew = False
        for row in rows:
            for c, text in enumerate(row):
                w = fm.horizontalAdvance(text)
                if w > self._seen[c]:
                    self._seen[c] = w
                    grew = True
        return grew

    def fit_columns(self) -> None:
        """Share the width out: the numbers and status first, the run's name gets the rest.

        A name cut with "…" is the least loss: the runs list shows it whole,
        in the same colour.
        """
        fm = self._metrics()
        h = self.horizontalHeader()
        widths = [max(fm.horizontalAdvance(COLUMNS[c]), self._seen[c]) + _PAD for c in range(5)]
        for c in (1, 2, 3):
            h.resizeSection(c, widths[c])
        names = [fm.horizontalAdvance(t) for t in self._labels]
        run = max([*names, widths[0] - _PAD]) + _PAD
        room = self.viewport().width() - sum(widths[1:])
        low = fm.horizontalAdvance(_RUN_MIN) + _PAD
        h.resizeSection(0, max(low, min(run, room)))

    def needed_width(self) -> int:
        """Pixels the table needs to show typical numbers whole, without sideways scrolling."""
        fm = self._metrics()
        cells = [
            max(fm.horizontalAdvance(COLUMNS[c]), fm.horizontalAdvance(_TYPICAL[c])) + _PAD
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

    def set_runs(self, trajectory: Any, colors: list[str], labels: list[str]) -> None:
        self._traj = trajectory
        self._colors = list(colors)
        self._seen = [0] * len(COLUMNS)  # new runs: their own numbers
        if list(labels) != self._labels:
            self._labels = list(labels)
            self.updateGeometry()  # another number of runs: another height
        self.fit_columns()
        if trajectory is None:
            self.model_.set_rows([], [])

    def run_count(self) -> int:
        """Rows shown (one per run)."""
        return self.model_.rowCount()

    def row_text(self, run: int) -> dict[str, str]:
        """The cells of one row, by column name (what a person reads)."""
        return dict(zip(COLUMNS, self.model_.rows[run], strict=True))

    def show_step(self, i: int) -> None:
        tr = self._traj
        if tr is None:
            return
        n = tr.positions.shape[0] - 1
        i = max(0, min(int(i), n))
        k_runs = tr.positions.shape[1]
        status = list(getattr(tr, "status", []))
        stop = np.asarray(getattr(tr, "stop_step", np.full(k_runs, -1)))
        with np.errstate(all="ignore"):
            gnorm = np.linalg.norm(tr.grads[i], axis=-1)
        rows = []
        for k in range(k_runs):
            pos = tr.positions[i, k]
            badge = status_text(status[k] if k < len(status) else "running", int(stop[k]), i)
            rows.append(
                (
                    self._labels[k] if k < len(self._labels) else str(k + 1),
                    _num(float(tr.losses[i, k])),
                    _num(float(gnorm[k])),
                    "(" + ", ".join(_num(float(v)) for v in pos) + ")",
                    badge,
                )
            )
        if self._see(rows):
            self.fit_columns()
        self.model_.set_rows(rows, self._colors)
