"""The numbers: per run, the loss, gradient norm, position and a status badge at a step.

A table *model* computes every cell for a step at once and tells the view with
one ``dataChanged`` signal; setting cell items one by one cost several
milliseconds a frame.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

__all__ = ["COLUMNS", "StatsTable", "status_text"]

COLUMNS = ("run", "loss", "‖∇f‖", "position", "status")


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
        self.set_font_size(self.font().pointSizeF())
        self._traj: Any = None
        self._labels: list[str] = []
        self._colors: list[str] = []

    def set_font_size(self, pt: float) -> None:
        """Size the columns for text of ``pt`` points (the theme's size)."""
        font = QFont(self.font())
        font.setPointSizeF(pt)
        fm = QFontMetrics(font)
        h = self.horizontalHeader()
        for c, sample in enumerate(("8. momentum  lr=0.0005", "−1.2346e+08", "1.2346e+08")):
            h.resizeSection(c, fm.horizontalAdvance(sample) + 16)
        h.resizeSection(3, fm.horizontalAdvance("(−1.2346, −0.12346)") + 16)
        self.verticalHeader().setDefaultSectionSize(fm.height() + 8)

    def set_runs(self, trajectory: Any, colors: list[str], labels: list[str]) -> None:
        self._traj = trajectory
        self._colors = list(colors)
        self._labels = list(labels)
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
        self.model_.set_rows(rows, self._colors)
