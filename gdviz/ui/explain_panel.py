"""The explain panel: one run's update rule with the current step's numbers, and badges.

The panel draws what :func:`gdviz.core.explain.explain_step` returns; it
computes nothing itself. The window hands it the trajectory and the runs once
per computation and the step index on every frame; while the animation plays
it refreshes at most :data:`PLAY_INTERVAL` seconds apart (reading 10 numbers
changing 60 times a second helps nobody), and always shows the exact step when
paused or scrubbed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QTextDocument
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from gdviz.core.explain import Explanation, explain_step, lowest_loss
from gdviz.core.session import RunSpec
from gdviz.ui.theme import DARK, Theme

__all__ = ["PLAY_INTERVAL", "ExplainPanel"]

#: While playing, the panel is redrawn at most this often (seconds).
PLAY_INTERVAL = 0.25


class ExplainPanel(QWidget):
    """Shows :class:`~gdviz.core.explain.Explanation` for a chosen run at the current step.

    Signals
    -------
    runChosen(int)
        The person picked another run in the panel's list.
    rendered()
        The text was redrawn (its height may have changed).
    """

    runChosen = Signal(int)
    rendered = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self._traj: Any = None
        self._runs: tuple[RunSpec, ...] = ()
        self._labels: list[str] = []
        self._loss: Any = None
        self._best: float | None = None
        self._grad_name = "∇f"
        self._run = 0
        self._step = 0
        self._last = 0.0
        self.explanation: Explanation | None = None

        self.run_box = QComboBox()
        self.run_box.setAccessibleName("explained run")
        self.run_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the player
        self.run_box.activated.connect(self._chosen)
        # Long run labels must not make the panel (and the window) wider.
        self.run_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.run_box.setMinimumContentsLength(8)
        self.body = QLabel()
        # Rich text is safe here: Explanation.html() escapes every piece of text
        # (run labels come from session files) and adds only its own tags.
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # Wrap between numbers rather than scroll sideways: on a projector the
        # panel is narrow and the text large.
        self.body.setWordWrap(True)
        self.body.setAccessibleName("explanation")
        scroll = QScrollArea()
        scroll.setWidget(self.body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(120)
        self.scroll = scroll

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Run")
        top.addWidget(title)
        top.addWidget(self.run_box, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(top)
        lay.addWidget(scroll, 1)
        self.set_theme(theme)

    # ------------------------------------------------------------------ inputs
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(theme.font_pt)
        self.body.setFont(font)
        self._render(force=True)

    def set_runs(
        self,
        trajectory: Any,
        runs: Sequence[RunSpec],
        labels: Sequence[str],
        loss: Any = None,
        grad_name: str = "∇f",
    ) -> None:
        """A new computation: the trajectory, the runs it holds (in order) and their labels.

        ``grad_name`` is how the gradient is written (``"∇f_batch"`` for mini-batches).
        """
        self._grad_name = grad_name
        self._traj = trajectory
        self._runs = tuple(runs)
        self._labels = list(labels)
        self._loss = loss
        # Once per computation, not per frame: it scans every row of every run.
        self._best = lowest_loss(trajectory) if trajectory is not None else None
        self.run_box.blockSignals(True)
        self.run_box.clear()
        for label in self._labels:
            self.run_box.addItem(label)
        self._run = min(self._run, max(len(self._runs) - 1, 0))
        self.run_box.setCurrentIndex(self._run)
        self.run_box.blockSignals(False)
        self._render(force=True)

    def select_run(self, index: int) -> None:
        """Explain run ``index`` (model → widget: emits nothing)."""
        if 0 <= index < len(self._runs) and index != self._run:
            self._run = index
            self.run_box.blockSignals(True)
            self.run_box.setCurrentIndex(index)
            self.run_box.blockSignals(False)
            self._render(force=True)

    def set_step(self, step: int, playing: bool = False) -> None:
        """Show ``step``; while ``playing``, redraw at most every :data:`PLAY_INTERVAL` s.

        A hidden panel only remembers the step (it is drawn when shown).
        """
        self._step = int(step)
        if self.isVisible():
            self._render(force=not playing)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._render(force=True)

    @property
    def run(self) -> int:
        return self._run

    def preferred_height(self, width: int) -> int:
        """Height that shows the whole explanation at ``width`` pixels (no scrolling)."""
        m = self.layout().contentsMargins()
        # Leave room for a scroll bar: the label may be laid out next to one.
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        inner = max(50, width - m.left() - m.right() - bar)
        # Lay the rich text out as the label will (QLabel.heightForWidth
        # underestimates tables with wrapped cells).
        doc = QTextDocument()
        doc.setDefaultFont(self.body.font())
        doc.setDocumentMargin(0)
        doc.setHtml(self.body.text())
        doc.setTextWidth(inner)
        body = int(doc.size().height() + 0.999)
        top = self.run_box.sizeHint().height()
        # QLabel lays rich text out with its own margins: one more line of slack.
        slack = self.body.fontMetrics().lineSpacing() + 8
        return top + self.layout().spacing() + body + m.top() + m.bottom() + slack

    # ------------------------------------------------------------------ drawing
    def _chosen(self, index: int) -> None:
        self._run = index
        self._render(force=True)
        self.runChosen.emit(index)

    def _render(self, force: bool) -> None:
        now = time.perf_counter()
        if not force and now - self._last < PLAY_INTERVAL:
            return
        self._last = now
        traj = self._traj
        if traj is None or not self._runs or traj.n_runs != len(self._runs):
            self.explanation = None
            self.body.setText("<i>No runs computed yet.</i>")
            return
        k = self._run
        step = min(max(self._step, traj.start_step), traj.end_step)
        run = self._runs[k]
        try:
            ex = explain_step(
                traj,
                k,
                step,
                run.optimizer,
                dict(run.params),
                loss=self._loss,
                label=self._labels[k] if k < len(self._labels) else None,
                best_loss=self._best,
                grad_name=self._grad_name,
            )
        except (IndexError, KeyError, ValueError) as exc:
            self.explanation = None
            self.body.setText("")
            self.body.setToolTip(str(exc))
            return
        self.explanation = ex
        t = self.theme
        colors = {
            "diverging": t.error,
            "overshooting": "#D55E00",
            "oscillating": "#CC79A7",
            "saddle": "#0072B2",
            "crawling": "#7a6a00" if t.name != "dark" else "#8a7a10",
            "converged": "#009E73",
        }
        self.body.setText(ex.html(colors))
        self.rendered.emit()
