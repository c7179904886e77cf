"""View settings: ranges, start point, steps, and what is drawn.

Ranges and the start point are typed as ``low, high`` / ``x, y``; a bad entry
marks the field and says why underneath, and the old value stays in force.
What is accepted is what a session file holds (finite, within ±1e6, low
below high, wide enough to draw), so whatever the window shows it can save
and open again.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.session import ViewSettings
from gdviz.core.session_io import MAX_COORD
from gdviz.core.surface import normalize_domain
from gdviz.ui.widgets import ColumnsLayout

__all__ = ["ViewPanel", "parse_coordinates", "parse_numbers", "parse_range"]

MAX_STEPS = 100_000

_CHECKS = (
    ("heatmap", "heat-map"),
    ("contours", "contours"),
    ("log_levels", "log levels"),
    ("gradient_field", "gradient field"),
    ("grad_arrows", "−∇f arrows"),
    ("step_arrows", "next-step arrows"),
    ("log_loss", "log loss axis"),
    ("show_grad_norm", "‖∇f‖ plot"),
    ("show_lr", "learning-rate plot"),
    ("equal_axes", "equal x/y scale"),
)


def parse_numbers(text: str, count: int, what: str) -> tuple[float, ...]:
    """Parse ``count`` comma- or space-separated finite numbers.

    Raises
    ------
    ValueError
        Naming ``what`` and the offending entry.
    """
    parts = [p for p in text.replace(",", " ").replace(";", " ").split() if p]
    if len(parts) != count:
        raise ValueError(f"{what}: expected {count} number{'s' if count > 1 else ''}, got {text!r}")
    out = []
    for p in parts:
        try:
            v = float(p.replace("−", "-"))
        except ValueError:
            raise ValueError(f"{what}: {p!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"{what}: {p!r} is not a finite number")
        out.append(v)
    return tuple(out)


def _short(v: float) -> str:
    """``v`` as people write it: 1e6, not 1e+06."""
    return f"{v:g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def parse_coordinates(text: str, count: int, what: str) -> tuple[float, ...]:
    """Parse ``count`` numbers that are coordinates: finite and within ±:data:`MAX_COORD`.

    ``-0`` reads as 0.

    Raises
    ------
    ValueError
        Naming ``what`` and the offending entry.
    """
    values = parse_numbers(text, count, what)
    for v in values:
        if abs(v) > MAX_COORD:
            raise ValueError(
                f"{what}: {_short(v)} is outside ±{_short(MAX_COORD)}, the most a view holds"
            )
    return tuple(v + 0.0 for v in values)  # -0.0 + 0.0 is 0.0


def parse_range(text: str, what: str) -> tuple[float, float]:
    """Parse a ``low, high`` view range: coordinates, low below high, wide enough to draw.

    Raises
    ------
    ValueError
        Naming ``what`` and what is wrong.
    """
    lo, hi = parse_coordinates(text, 2, what)
    if not lo < hi:
        raise ValueError(f"{what}: low must be below high, got {lo:g}, {hi:g}")
    try:
        normalize_domain([(lo, hi)])  # the surface's own rules
    except ValueError:
        raise ValueError(f"{what}: {lo:.10g} to {hi:.10g} is too narrow to draw") from None
    return lo, hi


def _mark(widget: QWidget, bad: bool) -> None:
    widget.setProperty("invalid", "true" if bad else "false")
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class ViewPanel(QWidget):
    """Edits the domain, start, number of steps and :class:`ViewSettings`.

    Signals
    -------
    domainChanged(tuple)
        New ``((xlo, xhi), (ylo, yhi))`` (or one pair for 1-D).
    startChanged(tuple)
        New start point.
    stepsChanged(int)
        New number of steps to compute.
    viewChanged(object)
        New :class:`ViewSettings`.
    resetViewRequested()
        Undo mouse zoom and pan.
    """

    domainChanged = Signal(tuple)
    startChanged = Signal(tuple)
    stepsChanged = Signal(int)
    viewChanged = Signal(object)
    resetViewRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dim = 2
        self._view = ViewSettings()
        self.x_range = QLineEdit()
        self.y_range = QLineEdit()
        self.start = QLineEdit()
        for w, name in (
            (self.x_range, "x range"),
            (self.y_range, "y range"),
            (self.start, "start"),
        ):
            w.setAccessibleName(name)
            w.editingFinished.connect(self._edited)
        self.steps = QSpinBox()
        self.steps.setRange(1, MAX_STEPS)
        self.steps.setAccessibleName("steps")
        self.steps.setKeyboardTracking(False)  # one recompute when typing stops, not per digit
        self.steps.valueChanged.connect(self.stepsChanged.emit)
        self.reset_view = QPushButton("Reset zoom")
        self.reset_view.clicked.connect(self.resetViewRequested.emit)
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()
        self.checks: dict[str, QCheckBox] = {}
        # Two columns of check boxes while they fit, one when the text is large.
        self.checks_box = QWidget()
        grid = ColumnsLayout(max_columns=2, parent=self.checks_box)
        for key, label in _CHECKS:
            cb = QCheckBox(label)
            cb.setAccessibleName(key)
            cb.toggled.connect(lambda v, k=key: self._toggled(k, v))
            self.checks[key] = cb
            grid.addWidget(cb)
        self.n_contours = QSpinBox()
        self.n_contours.setRange(2, 60)
        self.n_contours.setKeyboardTracking(False)
        self.n_contours.valueChanged.connect(lambda v: self._set_view(n_contours=int(v)))

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        # A field too wide to sit beside its label goes under it.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.x_label = QLabel("x range")
        self.y_label = QLabel("y range")
        form.addRow(self.x_label, self.x_range)
        form.addRow(self.y_label, self.y_range)
        form.addRow("start", self.start)
        form.addRow("steps", self.steps)
        form.addRow("contour lines", self.n_contours)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.checks_box)
        lay.addWidget(self.reset_view)

    # model → widgets (emit nothing)
    def set_values(
        self,
        domain: tuple[tuple[float, float], ...],
        start: tuple[float, ...],
        steps: int,
        view: ViewSettings,
        variables: tuple[str, ...] = ("x", "y"),
    ) -> None:
        self._dim = len(start)
        self._view = view
        self.blockSignals(True)
        self.set_domain(domain)
        self.set_start(start)
        self.steps.setValue(int(steps))
        for f in fields(ViewSettings):
            if f.name in self.checks:
                self.checks[f.name].setChecked(bool(getattr(view, f.name)))
        self.n_contours.setValue(view.n_contours)
        self.blockSignals(False)
        self.set_variables(variables)
        self._show_error("")

    def set_variables(self, names: tuple[str, ...]) -> None:
        self._dim = len(names)
        self.x_label.setText(f"{names[0]} range")
        two = len(names) > 1
        self.y_label.setText(f"{names[1]} range" if two else "")
        self.y_range.setVisible(two)
        self.y_label.setVisible(two)
        for key in (
            "heatmap",
            "contours",
            "log_levels",
            "gradient_field",
            "grad_arrows",
            "equal_axes",
        ):
            self.checks[key].setEnabled(two)
        self.n_contours.setEnabled(two)  # a curve has no contour lines either

    def set_domain(self, domain: tuple[tuple[float, float], ...]) -> None:
        self.x_range.setText(f"{domain[0][0]:.4g}, {domain[0][1]:.4g}")
        if len(domain) > 1:
            self.y_range.setText(f"{domain[1][0]:.4g}, {domain[1][1]:.4g}")
        _mark(self.x_range, False)
        _mark(self.y_range, False)

    def set_start(self, start: tuple[float, ...]) -> None:
        self.start.setText(", ".join(f"{v:.4g}" for v in start))
        _mark(self.start, False)

    def show_steps(self, steps: int) -> None:
        """Show how many steps are computed (model → widget: emits nothing)."""
        self.steps.blockSignals(True)
        self.steps.setValue(int(steps))
        self.steps.blockSignals(False)

    def view(self) -> ViewSettings:
        return self._view

    def set_view(self, view: ViewSettings) -> None:
        """Take settings changed elsewhere (the 3-D view's height menu); emits nothing.

        The next edit here then builds on them instead of undoing them.
        """
        self._view = view

    # widgets → model
    def _edited(self) -> None:
        w = self.sender()
        try:
            if w is self.start:
                self.startChanged.emit(parse_coordinates(self.start.text(), self._dim, "start"))
            else:
                fields = [(self.x_range, self.x_label), (self.y_range, self.y_label)]
                fields = fields[: self._dim]
                # The field just edited first: its problem is the one to name.
                order = sorted(fields, key=lambda f: f[0] is not w)
                pairs = {}
                for field, label in order:
                    w = field
                    pairs[field] = parse_range(field.text(), label.text())
                self.domainChanged.emit(tuple(pairs[f] for f, _ in fields))
                for field, _label in fields:
                    _mark(field, False)
        except ValueError as exc:
            _mark(w, True)
            self._show_error(str(exc))
            return
        _mark(w, False)
        self._show_error("")

    def _toggled(self, key: str, value: bool) -> None:
        self._set_view(**{key: bool(value)})

    def _set_view(self, **changes: object) -> None:
        self._view = replace(self._view, **changes)
        self.viewChanged.emit(self._view)

    def show_error(self, message: str) -> None:
        self._show_error(message)

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
