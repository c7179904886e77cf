"""The numbers: per run, the step, loss, gradient norm, position and a status badge."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

__all__ = ["StatsTable", "status_text"]

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


class StatsTable(QTableWidget):
    """One row per run; :meth:`show_step` fills in the numbers for a step."""

    BADGE_COLORS: ClassVar[dict[str, str]] = {
        "converged": "#009E73",
        "diverged": "#D55E00",
        "stopped": "#808080",
    }

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        h = self.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        self._traj: Any = None
        self._labels: list[str] = []
        self._colors: list[str] = []

    def set_runs(self, trajectory: Any, colors: list[str], labels: list[str]) -> None:
        self._traj = trajectory
        self._colors = list(colors)
        self._labels = list(labels)
        k = 0 if trajectory is None else trajectory.positions.shape[1]
        if self.rowCount() != k:
            self.setRowCount(k)
            for r in range(k):
                for c in range(len(COLUMNS)):
                    item = QTableWidgetItem()
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                    self.setItem(r, c, item)

    def row_text(self, run: int) -> dict[str, str]:
        """The cells of one row, by column name (what a person reads)."""
        return {name: self.item(run, c).text() for c, name in enumerate(COLUMNS)}

    def show_step(self, i: int) -> None:
        tr = self._traj
        if tr is None:
            return
        n = tr.positions.shape[0] - 1
        i = max(0, min(int(i), n))
        status = list(getattr(tr, "status", []))
        stop = np.asarray(getattr(tr, "stop_step", np.full(self.rowCount(), -1)))
        for k in range(self.rowCount()):
            pos = tr.positions[i, k]
            g = tr.grads[i, k]
            loss = float(tr.losses[i, k])
            with np.errstate(all="ignore"):
                gn = float(np.linalg.norm(g))
            badge = status_text(status[k] if k < len(status) else "running", int(stop[k]), i)
            cells = (
                self._labels[k] if k < len(self._labels) else str(k + 1),
                _num(loss),
                _num(gn),
                "(" + ", ".join(_num(float(v)) for v in pos) + ")",
                badge,
            )
            for c, text in enumerate(cells):
                item = self.item(k, c)
                if item.text() != text:
                    item.setText(text)
            self.item(k, 0).setForeground(QBrush(QColor(self._colors[k])))
            word = badge.split(" ")[0]
            color = self.BADGE_COLORS.get(word)
            badge_item = self.item(k, len(COLUMNS) - 1)
            badge_item.setBackground(QBrush(QColor(color)) if color else QBrush())
            badge_item.setForeground(QBrush(QColor("#ffffff")) if color else QBrush())
