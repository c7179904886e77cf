"""The run list: add, remove, duplicate runs; edit each run's optimizer and settings.

The editor is generated from the optimizer registry (:data:`OPTIMIZERS`): every
hyper-parameter of the chosen optimizer gets a widget of its kind (a check box
for a flag, a spin box for a count, a text box for a number) and the learning
rate gets a log-scale slider next to its text box, so any value, not just
powers of ten, can be set. A value that is not valid keeps the old one, marks
the field and says why next to it.

The panel emits the whole list of :class:`RunSpec` on every change (one value,
not field-by-field mutation), so the window can decide what to recompute.

Each run's line in the list says what tells it apart: its optimizer and its
learning rate. When the list is too narrow for the optimizers' full names
(large text), the lines use their short names (``gd``, ``momentum`` …, as the
legend does) and, narrower still, put the rate on a second line, so it is
never cut; the whole line is in the tooltip.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.colors import RUN_COLOR_NAMES, RUN_PALETTE, assign_colors, next_color
from gdviz.core.session import RunSpec
from gdviz.ui.theme import DARK, Theme
from gdviz.ui.widgets import ColumnsLayout

__all__ = ["LogSlider", "RunsPanel"]

MAX_RUNS = 16
_SLIDER_STEPS = 1000


def _registry() -> dict[str, Any]:
    from gdviz.core.optimizers import OPTIMIZERS

    return OPTIMIZERS


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _swatch(color: str, size: int = 14) -> QIcon:
    """A square of the run's colour, the same when its row is selected.

    Qt draws an icon's selected mode tinted with the selection colour by
    default: the selected run's swatch no longer matched its line.
    """
    pix = QPixmap(size, size)
    pix.fill(QColor(color))
    icon = QIcon(pix)
    icon.addPixmap(pix, QIcon.Mode.Selected)
    return icon


def _mark(widget: QWidget, bad: bool) -> None:
    widget.setProperty("invalid", "true" if bad else "false")
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class LogSlider(QWidget):
    """A log-scale slider with a text box: the slider for feel, the box for any value.

    Signals
    -------
    valueChanged(float)
        A new valid value (from either the slider or the text box).
    invalid(str)
        The text box holds something that is not valid; the message says why.
    """

    valueChanged = Signal(float)
    invalid = Signal(str)

    def __init__(self, hp: Any, parent: QWidget | None = None, box_width: int = 90) -> None:
        super().__init__(parent)
        self.hp = hp
        lo = hp.ui_low if hp.ui_low is not None else hp.low
        hi = hp.ui_high if hp.ui_high is not None else hp.high
        lo = lo if (math.isfinite(lo) and lo > 0) else 1e-6
        hi = hi if (math.isfinite(hi) and hi > lo) else max(10.0, lo * 1e6)
        self._llo, self._lhi = math.log10(lo), math.log10(hi)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, _SLIDER_STEPS)
        self.slider.setAccessibleName(f"{hp.name} slider")
        self.text = QLineEdit()
        self.text.setMaximumWidth(box_width)
        self.text.setAccessibleName(hp.name)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.text)
        self._value = float(hp.default)
        self.slider.valueChanged.connect(self._from_slider)
        self.text.editingFinished.connect(self._from_text)

    def value(self) -> float:
        return self._value

    def set_value(self, v: float) -> None:
        """Show ``v`` without emitting (model → widget)."""
        self._value = float(v)
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(v))
        self.slider.blockSignals(False)
        self.text.setText(_fmt(v))
        _mark(self.text, False)

    def _to_slider(self, v: float) -> int:
        if v <= 0:
            return 0
        f = (math.log10(v) - self._llo) / (self._lhi - self._llo)
        return round(min(1.0, max(0.0, f)) * _SLIDER_STEPS)

    def _from_slider(self, pos: int) -> None:
        raw = 10 ** (self._llo + (self._lhi - self._llo) * pos / _SLIDER_STEPS)
        # Three significant digits: slider values read like numbers people choose.
        v = float(f"{raw:.3g}")
        try:
            v = float(self.hp.check(v))
        except ValueError:
            return
        self._value = v
        self.text.setText(_fmt(v))
        _mark(self.text, False)
        self.valueChanged.emit(v)

    def _from_text(self) -> None:
        try:
            v = float(self.hp.check(self.text.text()))
        except ValueError as exc:
            _mark(self.text, True)
            self.invalid.emit(str(exc))
            return
        if v == self._value:
            _mark(self.text, False)
            return
        self.set_value(v)
        self.valueChanged.emit(v)


class _RunList(QListWidget):
    """The list of runs: tells its panel when its width changes (lines are re-worded).

    Its preferred width is that of the runs' full lines, whatever form they
    are shown in, so re-wording a line never changes how the side panel is
    laid out.
    """

    def __init__(self, on_width: Any) -> None:
        super().__init__()
        self._on_width = on_width
        self._width = -1
        self.full_width = 0  # pixels the longest full line needs (set by the panel)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.viewport().width() != self._width:
            self._width = self.viewport().width()
            self._on_width()

    def sizeHint(self) -> Any:
        hint = super().sizeHint()
        if self.full_width:
            bar = self.verticalScrollBar()
            extra = bar.sizeHint().width() if bar.isVisible() else 0
            hint.setWidth(self.full_width + 2 * self.frameWidth() + extra)
        return hint


class RunsPanel(QWidget):
    """List of runs plus an editor for the selected one.

    Signals
    -------
    runsChanged(tuple)
        The full new tuple of :class:`RunSpec`.
    """

    runsChanged = Signal(tuple)

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self._runs: list[RunSpec] = []
        self._param_widgets: dict[str, QWidget] = {}
        self._form = 0  # which of line_forms() the list shows

        self.list = _RunList(self._reword)
        self.list.setAccessibleName("runs")
        # Long labels are cut with "…" rather than scrolled sideways, and the
        # list always shows at least four runs.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setMinimumHeight(int(self.list.fontMetrics().height() * 5.2) + 8)
        # Its preferred height is its rows' (never less than the minimum), not a
        # fixed 192 px: the side panel lays out at preferred heights.
        self.list.setSizeAdjustPolicy(QListWidget.SizeAdjustPolicy.AdjustToContents)
        self.add_button = QPushButton("Add")
        self.dup_button = QPushButton("Duplicate")
        self.remove_button = QPushButton("Remove")
        for b, tip in (
            (self.add_button, "Add a gradient-descent run"),
            (self.dup_button, "Copy the selected run"),
            (self.remove_button, "Remove the selected run"),
        ):
            b.setToolTip(tip)
        # One row of three buttons while it fits; with larger text they wrap
        # onto a second row rather than running past the panel's edge.
        self.buttons = QWidget()
        buttons = ColumnsLayout(max_columns=3, uniform=False, parent=self.buttons)
        for b in (self.add_button, self.dup_button, self.remove_button):
            buttons.addWidget(b)

        self.optimizer = QComboBox()
        self.optimizer.setAccessibleName("optimizer")
        for name, spec in _registry().items():
            self.optimizer.addItem(getattr(spec, "label", name) or name, name)
        self.color = QComboBox()
        self.color.setAccessibleName("colour")
        for combo in (self.optimizer, self.color):
            # Sized for a short name, not the longest one: the panel stays narrow
            # at large text, the field still grows with the panel and the
            # drop-down list shows every name whole.
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(9)
        self.schedule = QLineEdit()
        self.schedule.setAccessibleName("schedule")
        self.schedule.setPlaceholderText(
            "constant · step:step_size=100,gamma=0.5 · cosine:t_max=500"
        )
        self.error = QLabel()
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setProperty("role", "error")
        self.error.setWordWrap(True)
        self.error.hide()

        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        self.params_box = QWidget()
        self.params_form = QFormLayout(self.params_box)
        self.params_form.setContentsMargins(0, 0, 0, 0)
        for form in (self.form, self.params_form):
            # A field too wide to sit beside its label goes under it.
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form.addRow("optimizer", self.optimizer)
        self.form.addRow(self.params_box)
        self.form.addRow("schedule", self.schedule)
        self.form.addRow("colour", self.color)
        self.editor = QWidget()
        ed = QVBoxLayout(self.editor)
        ed.setContentsMargins(0, 0, 0, 0)
        ed.addLayout(self.form)
        ed.addWidget(self.error)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.list)
        lay.addWidget(self.buttons)
        lay.addWidget(self.editor)

        self.list.currentRowChanged.connect(self._select)
        self.list.itemChanged.connect(self._item_changed)
        self.add_button.clicked.connect(self.add_run)
        self.dup_button.clicked.connect(self.duplicate_run)
        self.remove_button.clicked.connect(self.remove_run)
        self.optimizer.activated.connect(self._optimizer_chosen)
        self.schedule.editingFinished.connect(self._schedule_edited)
        self.color.activated.connect(self._color_chosen)
        self._fill_colors()
        self._update_buttons()

    # ------------------------------------------------------------ model
    def runs(self) -> tuple[RunSpec, ...]:
        return tuple(self._runs)

    def color_of(self, index: int) -> str:
        """The colour run ``index`` is drawn in: its own, the same in every theme."""
        return self._colors[index]

    def current(self) -> int:
        return self.list.currentRow()

    def set_runs(self, runs: tuple[RunSpec, ...] | list[RunSpec], select: int = 0) -> None:
        """Show ``runs`` (model → widget: emits nothing).

        A run without a colour is shown in the one :meth:`Session.run_colors
        <gdviz.core.session.Session.run_colors>` gives it, and holds it from
        now on: the next change the panel emits carries it, so removing
        another run later does not shift it.
        """
        runs = list(runs)[:MAX_RUNS]
        colors = assign_colors([r.color for r in runs])
        self._runs = [replace(r, color=c) for r, c in zip(runs, colors, strict=True)]
        self._rebuild_list(select)

    def sync_runs(self, runs: tuple[RunSpec, ...] | list[RunSpec]) -> None:
        """Show the model's runs unless they are what the panel shows (emits nothing).

        Edits made here come back from the model unchanged and leave the list,
        its selection and the field being typed in alone; a run added
        elsewhere (a map cell) is selected.
        """
        runs = tuple(runs)[:MAX_RUNS]
        if runs == tuple(self._runs):
            return
        if len(runs) == len(self._runs) and all(
            replace(a, color=None) == replace(b, color=None)
            for a, b in zip(runs, self._runs, strict=True)
        ):
            # Only colours the session gave runs that had none: no new list.
            self._runs = list(runs)
            for i in range(len(runs)):
                self._refresh_item(i)
            return
        grew = len(runs) == len(self._runs) + 1
        self.set_runs(runs, select=len(runs) - 1 if grew else max(self.current(), 0))

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        font = QFont(self.list.font())
        font.setPointSizeF(theme.font_pt)  # the size the style sheet gives the list
        rows = QFontMetrics(font).height() + 4
        self.list.setMinimumHeight(int(rows * 4.5) + 8)
        self._rebuild_list(self.current())

    def _emit(self) -> None:
        self.runsChanged.emit(tuple(self._runs))

    def _replace(self, index: int, run: RunSpec) -> None:
        self._runs[index] = run
        self._reword()  # a longer rate may need a shorter form for every run
        self._emit()

    # ------------------------------------------------------------ list
    def _rebuild_list(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        self._note_full_width()
        self._choose_form()
        for i in range(len(self._runs)):
            item = QListWidgetItem()
            item.setFlags(
                Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsUserCheckable
            )
            self.list.addItem(item)
            self._refresh_item(i)
        self.list.blockSignals(False)
        if self._runs:
            self.list.setCurrentRow(max(0, min(select, len(self._runs) - 1)))
            self._select(self.list.currentRow())
        else:
            self._select(-1)
        self._update_buttons()

    def _refresh_item(self, i: int) -> None:
        item = self.list.item(i)
        if item is None:
            return
        run = self._runs[i]
        self.list.blockSignals(True)
        forms = self.line_forms(i)
        item.setText(forms[min(self._form, len(forms) - 1)])
        item.setIcon(_swatch(self.color_of(i)))
        item.setCheckState(Qt.CheckState.Checked if run.visible else Qt.CheckState.Unchecked)
        # The whole line too: a narrow panel (large text) shortens or cuts it.
        item.setToolTip(f"{forms[0]}\ntick to show, untick to hide this run")
        self.list.blockSignals(False)

    def line_forms(self, i: int) -> list[str]:
        """Run ``i``'s line in the list in every form, longest first.

        The optimizer's full name, then its short name (as in the legend and
        the numbers table), then single spaces, and last two lines: the
        number and short name above the rate (and schedule). Every run uses
        the same form: the first in which every run's text fits the list.
        """
        run = self._runs[i]
        spec = _registry().get(run.optimizer)
        label = (getattr(spec, "label", None) or run.optimizer) if spec else run.optimizer
        lr = run.params.get("lr")
        rate = f"lr={_fmt(lr)}" if isinstance(lr, int | float) else ""
        sched = run.schedule.split(":")[0] if run.schedule and run.schedule != "constant" else ""
        forms = []
        for name, gap in ((label, "  "), (run.optimizer, "  "), (run.optimizer, " ")):
            parts = [f"{i + 1}. {name}", rate, f"({sched})" if sched else ""]
            forms.append(gap.join(p for p in parts if p))
        second = " ".join(p for p in (rate, f"({sched})" if sched else "") if p)
        forms.append(f"{i + 1}. {run.optimizer}" + (f"\n{second}" if second else ""))
        return forms

    def line_form(self) -> int:
        """Which of :meth:`line_forms` the list shows now (0: the full one)."""
        return self._form

    def _choose_form(self) -> None:
        """The first form in which every run's line fits (each line of it)."""
        room, fm = self.text_room(), self._list_metrics()
        forms = [self.line_forms(i) for i in range(len(self._runs))]
        n = len(forms[0]) if forms else 1
        self._form = next(
            (
                level
                for level in range(n)
                if all(
                    fm.horizontalAdvance(line) <= room
                    for f in forms
                    for line in f[level].split("\n")
                )
            ),
            n - 1,
        )

    def _list_metrics(self) -> QFontMetrics:
        font = QFont(self.list.font())
        font.setPointSizeF(self.theme.font_pt)  # the size the style sheet gives the list
        return QFontMetrics(font)

    def _text_span(self) -> tuple[int, int]:
        """Where a line's text starts in the list and the pixels it has (style-measured)."""
        opt = QStyleOptionViewItem()
        opt.features = (
            QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
            | QStyleOptionViewItem.ViewItemFeature.HasDecoration
            | QStyleOptionViewItem.ViewItemFeature.HasDisplay
        )
        opt.decorationSize = self.list.iconSize()
        if not opt.decorationSize.isValid():
            side = self.list.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
            opt.decorationSize.setWidth(side)
            opt.decorationSize.setHeight(side)
        opt.font = self.list.font()
        opt.fontMetrics = self._list_metrics()
        opt.rect = QRect(0, 0, self.list.viewport().width(), opt.fontMetrics.height() + 4)
        style = self.list.style()
        text = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, self.list)
        # The item delegate keeps a margin each side of the text.
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.list) + 1
        return text.left() + margin, text.width() - 2 * margin

    def text_room(self) -> int:
        """Pixels a line's text has in the list (after the tick box and the swatch)."""
        return self._text_span()[1]

    def _note_full_width(self) -> None:
        # The list asks for the width of its longest full line (see _RunList).
        left, _room = self._text_span()
        fm = self._list_metrics()
        longest = max(
            (fm.horizontalAdvance(self.line_forms(i)[0]) for i in range(len(self._runs))), default=0
        )
        self.list.full_width = left + longest + 4 if self._runs else 0
        self.list.updateGeometry()

    def _reword(self) -> None:
        """The runs, the list's width or the text size changed: choose the lines' form again."""
        self._note_full_width()
        self._choose_form()
        for i in range(min(self.list.count(), len(self._runs))):
            self._refresh_item(i)

    def _item_changed(self, item: QListWidgetItem) -> None:
        i = self.list.row(item)
        if 0 <= i < len(self._runs):
            vis = item.checkState() == Qt.CheckState.Checked
            if vis != self._runs[i].visible:
                self._replace(i, replace(self._runs[i], visible=vis))

    def _update_buttons(self) -> None:
        has = self.current() >= 0
        self.add_button.setEnabled(len(self._runs) < MAX_RUNS)
        self.dup_button.setEnabled(has and len(self._runs) < MAX_RUNS)
        self.remove_button.setEnabled(has and len(self._runs) > 1)
        self.editor.setEnabled(has)

    def add_run(self) -> None:
        """Add a plain gradient-descent run with the default learning rate."""
        if len(self._runs) >= MAX_RUNS:
            return
        spec = _registry().get("gd")
        lr = (
            next((hp.default for hp in spec.hyperparams if hp.name == "lr"), 0.01) if spec else 0.01
        )
        self._runs.append(RunSpec("gd", {"lr": lr}, color=next_color(self._colors)))
        self._rebuild_list(len(self._runs) - 1)
        self._emit()

    def duplicate_run(self) -> None:
        i = self.current()
        if i < 0 or len(self._runs) >= MAX_RUNS:
            return
        # The copy gets the first free palette colour, not the original's own.
        self._runs.insert(i + 1, replace(self._runs[i], color=next_color(self._colors)))
        self._rebuild_list(i + 1)
        self._emit()

    def remove_run(self) -> None:
        i = self.current()
        if i < 0 or len(self._runs) <= 1:
            return
        del self._runs[i]
        self._rebuild_list(min(i, len(self._runs) - 1))
        self._emit()

    # ----------------------------------------------------------- editor
    @property
    def _colors(self) -> list[str]:
        # Every run holds its colour once set_runs has given one to those without.
        return assign_colors([r.color for r in self._runs])

    def _fill_colors(self) -> None:
        self.color.clear()
        for c in RUN_PALETTE:
            self.color.addItem(_swatch(c), RUN_COLOR_NAMES[c], c)

    def _color_index(self, color: str) -> int:
        """The colour's entry in the combo box (added if a session file chose another)."""
        idx = self.color.findData(color.upper())
        if idx < 0:
            self.color.addItem(_swatch(color), color.upper(), color.upper())
            idx = self.color.count() - 1
        return idx

    def _select(self, i: int) -> None:
        self._update_buttons()
        self._show_error("")
        if not 0 <= i < len(self._runs):
            return
        run = self._runs[i]
        idx = self.optimizer.findData(run.optimizer)
        self.optimizer.setCurrentIndex(max(idx, 0))
        self.schedule.setText("" if run.schedule == "constant" else run.schedule)
        _mark(self.schedule, False)
        self.color.setCurrentIndex(self._color_index(self.color_of(i)))
        self._build_params(run)

    def _build_params(self, run: RunSpec) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self._param_widgets.clear()
        spec = _registry().get(run.optimizer)
        if spec is None:
            self._show_error(f"unknown optimizer {run.optimizer!r}")
            return
        for hp in spec.hyperparams:
            value = run.params.get(hp.name, hp.default)
            w: QWidget
            if hp.kind == "bool":
                w = QCheckBox()
                w.setChecked(bool(value))
                w.toggled.connect(lambda v, n=hp.name: self._param_set(n, bool(v)))
            elif hp.kind == "int":
                w = QSpinBox()
                lo = int(hp.low) if math.isfinite(hp.low) else -(10**9)
                hi = int(hp.high) if math.isfinite(hp.high) else 10**9
                w.setRange(lo, hi)
                w.setValue(int(value))
                w.valueChanged.connect(lambda v, n=hp.name: self._param_set(n, int(v)))
            elif hp.log or hp.name == "lr":
                w = LogSlider(hp, box_width=self._box_width())
                w.set_value(float(value))
                w.valueChanged.connect(lambda v, n=hp.name: self._param_set(n, v))
                w.invalid.connect(self._show_error)
            else:
                w = QLineEdit(_fmt(float(value)))
                w.setMaximumWidth(self._box_width(extra=2))
                w.editingFinished.connect(lambda n=hp.name, e=w, h=hp: self._param_text(n, e, h))
            w.setToolTip(f"{hp.label or hp.name} ({hp.name}): {hp.range_text()}")
            w.setAccessibleName(hp.name)
            self._param_widgets[hp.name] = w
            self.params_form.addRow(hp.label or hp.name, w)

    def _box_width(self, extra: int = 0) -> int:
        """Width of a number box: a value such as 0.000125 at the theme's text size.

        Never less than the 90 (110 with ``extra``) pixels it has at 1× text.
        """
        font = QFont(self.font())
        font.setPointSizeF(self.theme.font_pt)
        fm = QFontMetrics(font)
        # The style sheet's padding and border, and the text margins of a QLineEdit.
        need = fm.horizontalAdvance("0" * (8 + extra)) + fm.averageCharWidth() + 16
        return max(need, 90 + 10 * extra)

    def param_widget(self, name: str) -> QWidget | None:
        """The widget editing hyper-parameter ``name`` of the selected run."""
        return self._param_widgets.get(name)

    def _param_text(self, name: str, edit: QLineEdit, hp: Any) -> None:
        try:
            v = hp.check(edit.text())
        except ValueError as exc:
            _mark(edit, True)
            self._show_error(str(exc))
            return
        _mark(edit, False)
        self._param_set(name, v)

    def _param_set(self, name: str, value: float | bool) -> None:
        i = self.current()
        if i < 0:
            return
        self._show_error("")
        if self._runs[i].params.get(name) == value:
            return
        self._replace(i, self._runs[i].with_param(name, value))

    def _optimizer_chosen(self, index: int) -> None:
        i = self.current()
        name = self.optimizer.itemData(index)
        if i < 0 or name == self._runs[i].optimizer:
            return
        spec = _registry()[name]
        # Keep the learning rate when switching optimizers (a person compares
        # methods at the same rate); everything else starts at its default.
        old_lr = self._runs[i].params.get("lr")
        params: dict[str, float | bool] = {}
        for hp in spec.hyperparams:
            if hp.name == "lr" and old_lr is not None:
                try:
                    params["lr"] = hp.check(old_lr)
                    continue
                except ValueError:
                    pass
            params[hp.name] = hp.default
        run = replace(self._runs[i], optimizer=name, params=params)
        self._replace(i, run)
        self._build_params(run)

    def _schedule_edited(self) -> None:
        i = self.current()
        if i < 0:
            return
        text = self.schedule.text().strip() or "constant"
        from gdviz.core.schedules import parse_schedule

        try:
            parse_schedule(text)
        except ValueError as exc:
            _mark(self.schedule, True)
            self._show_error(f"schedule: {exc}")
            return
        _mark(self.schedule, False)
        self._show_error("")
        if text != self._runs[i].schedule:
            self._replace(i, replace(self._runs[i], schedule=text))

    def _color_chosen(self, index: int) -> None:
        i = self.current()
        if i >= 0:
            self._replace(i, replace(self._runs[i], color=self.color.itemData(index)))

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
