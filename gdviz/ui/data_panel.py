"""Dataset mode in the window: the switch, the data, the batches, and the samples with the model.

:class:`DataPanel` holds everything dataset mode adds:

* a switch (*Dataset mode*): the typed text becomes the loss of one sample and
  the surface shows the mean over the data;
* the data: a built-in set (noisy line, line with outliers, two classes) with
  its size, or a CSV file with a choice of columns. In the window a chosen file
  is read on the compile thread while the window keeps turning; a file that
  cannot be read gets a message and changes nothing: the last good data stays;
* the batch size of each run (``batch, 1, 16`` races batch, stochastic and
  mini-batch descent side by side), the shuffle seed and an L2/L1 penalty;
* a plot of the samples with each run's current model (the line, or the
  sigmoid for two classes) moving as the runs step, and the samples of the
  current mini-batch of the chosen run ringed;
* the full-data loss of every run, drawn dashed in the scene's loss plot next
  to the mini-batch loss.

The panel never runs the engine: the window asks it for the objective
(:meth:`DataPanel.objective`) and hands it the trajectory and the step.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.data import BUILTINS, DataError, Dataset, load_csv, make_builtin
from gdviz.core.session import DataSpec, RunSpec
from gdviz.ui.theme import Theme

__all__ = [
    "DataPanel",
    "DatasetCompile",
    "dataset_pretty",
    "model_of",
    "suggest_view",
    "surface_loss",
]

#: Points on each drawn model curve.
MODEL_POINTS = 160
#: Most samples drawn in the data plot (a large CSV is thinned evenly for the picture only).
MAX_DRAWN = 5000
#: A loss without sufficient statistics is drawn as a surface from at most this
#: many samples (a 200×200 grid then costs about 8·10⁷ per-sample evaluations);
#: runs, their gradients and the full-loss curves always use every sample.
SURFACE_MAX_SAMPLES = 2000
#: What dataset mode races when it is switched on: one optimizer, three batch sizes.
RACE_RUNS = (
    RunSpec("gd", {"lr": 0.05}),
    RunSpec("gd", {"lr": 0.05}),
    RunSpec("gd", {"lr": 0.05}),
)
RACE_BATCHES = "batch, 1, 16"
RACE_STEPS = 500
#: Most points of each drawn dashed full-loss curve.
MAX_FULL_POINTS = 4000
#: Per-sample evaluations spent on the dashed full-loss curves per redraw
#: (rows are thinned evenly beyond it; losses with statistics show every row).
FULL_LOSS_BUDGET = 5e6


def _color(c: str, alpha: int | None = None) -> QColor:
    q = QColor(c[:7])
    if len(c) == 9:
        q.setAlpha(int(c[7:], 16))
    if alpha is not None:
        q.setAlpha(alpha)
    return q


def _pen(c: str, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(_color(c))
    pen.setWidthF(width)
    pen.setStyle(style)
    pen.setCosmetic(True)
    return pen


def _plain(role: str = "") -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)  # file names and column names are data
    label.setWordWrap(True)
    if role:
        label.setProperty("role", role)
    return label


_UNSET: Any = object()


def model_of(loss: Any) -> Any:
    """The model line of ``loss``, or None."""
    from gdviz.core.dataset_loss import compile_model

    try:
        return compile_model(loss)
    except Exception:  # the picture is optional: never fail a compile over it
        return None


def dataset_pretty(loss: Any) -> str:
    """The dataset loss as plain Unicode lines: total, per-sample loss, gradient, roles."""
    import sympy

    from gdviz.core.mathtext import unicode_math

    names = tuple(loss.variables)
    sub = {
        s: sympy.Symbol(f"{s.name}ᵢ", real=True)
        for s in loss.expr.free_symbols
        if s.name in loss.data_names
    }
    pen = loss.penalty
    pen_text = ""
    if pen.active:
        terms = " + ".join(f"{v}²" if pen.kind == "l2" else f"|{v}|" for v in names)
        pen_text = f" + {pen.strength:g}·({terms})"
    lines = [
        f"L({', '.join(names)}) = (1/{loss.n}) Σᵢ ℓᵢ{pen_text}",
        f"ℓᵢ = {unicode_math(loss.expr.xreplace(sub))}",
    ]
    lines += [
        f"∂ℓᵢ/∂{n} = {unicode_math(g.xreplace(sub))}"
        for n, g in zip(names, loss.grad_exprs, strict=True)
    ]
    lines.append(loss.roles())
    return "\n".join(lines)


@dataclass(frozen=True)
class DatasetCompile:
    """One compile of a per-sample loss over a dataset, as the controls set it.

    Calling it compiles (in the killable compile process when ``timeout`` is
    given) and returns the :class:`~gdviz.core.dataset_loss.DatasetLoss`. It
    touches no widget, so it may run on any thread.
    """

    text: str
    dataset: Dataset
    parameters: tuple[str, ...] | None
    penalty: Any
    timeout: float | None

    def __call__(self) -> Any:
        from gdviz.core.dataset_loss import compile_dataset_loss

        return compile_dataset_loss(
            self.text,
            self.dataset,
            parameters=self.parameters,
            penalty=self.penalty,
            timeout=self.timeout,
        )


class DataPanel(QWidget):
    """Controls and picture of dataset mode.

    Signals
    -------
    modeChanged(bool)
        The switch was turned on or off.
    dataChanged()
        A new dataset or penalty: the loss must be compiled again.
    batchesChanged()
        Batch sizes or the seed changed: the runs must be computed again.
    """

    modeChanged = Signal(bool)
    dataChanged = Signal()
    batchesChanged = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.dataset: Dataset = make_builtin("line")
        self.loss: Any = None
        self.model: Any = None
        self._objective: Any = None  # the newest, handed to the engine
        self._traj_objective: Any = None  # the one the runs drawn were computed on
        self._traj: Any = None
        self._colors: list[str] = []
        self._full: tuple[np.ndarray, np.ndarray] | None = None
        self._full_shown: tuple[np.ndarray, np.ndarray] | None = None
        self._step = 0
        self._loss_plot: Any = None
        self._full_items: list[pg.PlotCurveItem] = []
        self._build()
        self.set_theme(theme)
        self._show_samples()
        self._set_controls_enabled(False)

    # ---------------------------------------------------------------- build
    def _build(self) -> None:
        self.enable = QCheckBox("Dataset mode")
        self.enable.setToolTip(
            "The typed loss is the loss of one sample; the surface shows its mean over the data"
        )
        self.enable.setAccessibleName("dataset mode")
        self.source = QComboBox()
        self.source.setAccessibleName("dataset")
        for spec in BUILTINS.values():
            self.source.addItem(spec.label, spec.name)
        self.source.addItem("CSV file…", "csv")
        self.size = QSpinBox()
        self.size.setRange(2, 1_000_000)
        self.size.setValue(BUILTINS["line"].default_n)
        self.size.setAccessibleName("samples")
        self.size.setKeyboardTracking(False)
        self.open_button = QPushButton("CSV…")
        self.open_button.setToolTip("Open a CSV file with a header row")
        self.columns = QLineEdit()
        self.columns.setPlaceholderText("x,y  or  x=Header,y=Header")
        self.columns.setAccessibleName("columns")
        self.batches = QLineEdit("batch")
        self.batches.setAccessibleName("batch sizes")
        self.batches.setToolTip(
            "Samples per step for each run, in order: a number, 1 (stochastic) or batch "
            "(all samples), e.g. 'batch, 1, 16'. The last value holds for further runs."
        )
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setAccessibleName("shuffle seed")
        self.seed.setKeyboardTracking(False)
        self.penalty = QComboBox()
        for label, kind in (("no penalty", "none"), ("L2: λ‖θ‖²", "l2"), ("L1: λ‖θ‖₁", "l1")):
            self.penalty.addItem(label, kind)
        self.lam = QDoubleSpinBox()
        self.lam.setDecimals(4)
        self.lam.setRange(0.0, 100.0)
        self.lam.setSingleStep(0.01)
        self.lam.setValue(0.01)
        self.lam.setKeyboardTracking(False)
        self.highlight = QComboBox()
        self.highlight.setAccessibleName("highlighted run")
        self.roles = _plain("hint")
        self.info = _plain("hint")
        self.epochs = _plain("hint")
        self.epochs.setAccessibleName("epochs")
        self.error = _plain("error")
        self.error.hide()
        self.reading = _plain("hint")
        self.reading.setAccessibleName("reading")
        self.reading.hide()

        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setMinimumHeight(180)
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.samples = pg.ScatterPlotItem(pxMode=True)
        self._samples_drawn: tuple[np.ndarray, np.ndarray, tuple] | None = None
        self._full_cache: Any = None  # a FullLossCache once runs are drawn
        self.batch_marks = pg.ScatterPlotItem(pxMode=True)
        self.batch_marks.setZValue(5)
        self.plot.addItem(self.samples)
        self.plot.addItem(self.batch_marks)
        self.model_items: list[pg.PlotCurveItem] = []

        # Narrow rows: the panel lives in the side bar.
        for combo in (self.source, self.penalty, self.highlight):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(6)
        self.size.setMaximumWidth(90)
        self.lam.setMaximumWidth(80)
        self.lam.setDecimals(3)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        src = QHBoxLayout()
        src.addWidget(self.source, 1)
        src.addWidget(self.size)
        form.addRow("data", src)
        cols = QHBoxLayout()
        cols.addWidget(self.columns, 1)
        cols.addWidget(self.open_button)
        form.addRow("columns", cols)
        form.addRow("batch sizes", self.batches)
        form.addRow("seed", self.seed)
        row = QHBoxLayout()
        row.addWidget(self.penalty, 1)
        row.addWidget(self.lam)
        form.addRow("penalty", row)
        form.addRow("ring batch", self.highlight)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.enable)
        self.controls = QWidget()
        c_lay = QVBoxLayout(self.controls)
        c_lay.setContentsMargins(0, 0, 0, 0)
        c_lay.addLayout(form)
        c_lay.addWidget(self.error)
        c_lay.addWidget(self.reading)
        c_lay.addWidget(self.roles)
        c_lay.addWidget(self.info)
        c_lay.addWidget(self.epochs)
        c_lay.addWidget(self.plot_widget, 1)
        lay.addWidget(self.controls, 1)

        self.enable.toggled.connect(self._mode_toggled)
        self.source.activated.connect(self._source_chosen)
        self.size.valueChanged.connect(lambda _v: self._source_chosen())
        self.open_button.clicked.connect(self._browse)
        self.columns.editingFinished.connect(self._columns_edited)
        self.batches.editingFinished.connect(self._batches_edited)
        self.seed.valueChanged.connect(lambda _v: self.batchesChanged.emit())
        self.penalty.activated.connect(lambda _i: self.dataChanged.emit())
        self.lam.valueChanged.connect(self._lam_changed)
        self.highlight.activated.connect(lambda _i: self.show_step(self._step))
        self._csv_path: str | None = None
        # The columns that made the current data (the box may hold a rejected edit).
        self._columns_used: str | None = None
        # λ as given: the box shows it rounded to its decimals, a session file may not be.
        self._lam = self.lam.value()
        #: Seed of the built-in data's generator (0 unless a session file says otherwise).
        self.data_seed = 0
        #: Reads a chosen CSV file elsewhere (the window's compile thread):
        #: ``csv_reader(path, columns)`` starts the read and returns a token; the
        #: result comes back through :meth:`csv_read` or :meth:`csv_failed` with
        #: it. None: a chosen file is read at once, on this thread.
        self.csv_reader: Callable[[str, str | None], object] | None = None
        # The read on its way: (token, path, columns), or None.
        self._reading: tuple[object, str, str | None] | None = None

    def _set_controls_enabled(self, on: bool) -> None:
        self.controls.setVisible(on)

    def _lam_changed(self, value: float) -> None:
        self._lam = float(value)
        if self.penalty.currentData() != "none":
            self.dataChanged.emit()

    # ----------------------------------------------------------------- mode
    @property
    def enabled(self) -> bool:
        """Whether dataset mode is on."""
        return self.enable.isChecked()

    def set_enabled(self, on: bool) -> None:
        """Turn dataset mode on or off (emits :attr:`modeChanged` when it changes)."""
        self.enable.setChecked(bool(on))

    def _mode_toggled(self, on: bool) -> None:
        self._set_controls_enabled(on)
        if not on:
            self._stop_reading()  # a file still being read is no longer wanted
            self.clear_runs()
        self.modeChanged.emit(on)

    # ----------------------------------------------------------------- data
    def set_dataset(self, dataset: Dataset) -> None:
        """Use ``dataset`` (emits :attr:`dataChanged`); a file still being read is dropped."""
        self._stop_reading()
        self.dataset = dataset
        self.clear_runs()  # computed on other samples: new runs follow the new loss
        self._objective = None
        self.hide_error()
        self._show_samples()
        self.dataChanged.emit()

    def load_builtin(self, name: str, n: int | None = None) -> bool:
        """Generate a built-in dataset; False (message shown, nothing changed) if it fails."""
        try:
            data = make_builtin(name, n=n, seed=self.data_seed)
        except DataError as exc:
            self.show_error(str(exc))
            return False
        self._csv_path = None
        self._columns_used = None
        self.columns.clear()
        for w in (self.source, self.size):
            w.blockSignals(True)
        self.source.setCurrentIndex(max(self.source.findData(data.name), 0))
        self.size.setValue(data.n)
        for w in (self.source, self.size):
            w.blockSignals(False)
        self.set_dataset(data)
        return True

    def load_csv(self, path: str, columns: str | None = None) -> bool:
        """Read a CSV file now; False (message shown, last good data kept) if it cannot be used."""
        try:
            data = load_csv(path, columns or None)
        except DataError as exc:
            self.show_error(str(exc))
            return False
        self._use_csv(path, columns, data)
        return True

    def _use_csv(self, path: str, columns: str | None, data: Dataset) -> None:
        self._csv_path = path
        self._columns_used = columns or None
        idx = self.source.findData("csv")
        self.source.setCurrentIndex(idx)
        self.set_dataset(data)

    def choose_csv(self, path: str, columns: str | None = None) -> None:
        """Use a CSV file a person chose, read by :attr:`csv_reader` if there is one.

        Meanwhile the panel says it is reading the file and keeps its data; the
        data arrives with :meth:`csv_read` unless something newer was chosen
        first (another file, a built-in set, a session file) or dataset mode was
        left. Without a reader the file is read at once (:meth:`load_csv`).
        """
        columns = columns or None
        if self.csv_reader is None:
            self.load_csv(path, columns)
            return
        self.hide_error()
        self._reading = (self.csv_reader(path, columns), path, columns)
        self.reading.setText(f"reading {os.path.basename(path)}…")
        self.reading.show()

    @property
    def reading_csv(self) -> bool:
        """Whether a chosen CSV file is still being read."""
        return self._reading is not None

    def csv_read(self, token: object, dataset: object) -> bool:
        """The read ``token`` gave ``dataset``: use it if it is the newest choice.

        Returns whether it was used (other tokens are ignored, so this may
        listen to every result of the compile thread).
        """
        reading = self._reading
        if reading is None or reading[0] != token or not isinstance(dataset, Dataset):
            return False
        self._use_csv(reading[1], reading[2], dataset)
        return True

    def csv_failed(self, token: object, exc: object) -> bool:
        """The read ``token`` failed: show why, change nothing (if it is the newest choice)."""
        reading = self._reading
        if reading is None or reading[0] != token:
            return False
        self._stop_reading()
        if isinstance(exc, DataError):
            self.show_error(str(exc))
        else:  # never let one file take the window down
            self.show_error(f"{reading[1]}: cannot read it ({exc})")
        return True

    def _stop_reading(self) -> None:
        self._reading = None
        self.reading.hide()
        self.reading.setText("")

    def _source_chosen(self, _index: int | None = None) -> None:
        name = self.source.currentData()
        if name == "csv":
            self._browse()
            return
        self.load_builtin(name, self.size.value())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open samples", "", "CSV files (*.csv *.txt);;All files (*)"
        )
        if path:
            self.choose_csv(path, self.columns.text().strip() or None)

    def _columns_edited(self) -> None:
        text = self.columns.text().strip()
        # The file being read, if any, else the file of the current data.
        path = self._reading[1] if self._reading is not None else self._csv_path
        if path is not None:
            self.choose_csv(path, text or None)
            return
        if not text:
            return
        from gdviz.core.data import load_data

        spec = f"builtin:{self.source.currentData()}:n={self.size.value()},seed={self.data_seed}"
        try:
            data = load_data(spec, text)
        except DataError as exc:
            self.show_error(str(exc))
            return
        self._columns_used = text
        self.set_dataset(data)

    # ------------------------------------------------------- session files
    def data_spec(self, n_runs: int, parameters: tuple[str, ...]) -> DataSpec:
        """What a session file keeps of this panel, for ``n_runs`` runs.

        Raises
        ------
        ValueError
            For batch sizes that do not parse.
        """
        data = self.dataset
        if self._csv_path is not None:
            source, n, seed = os.path.abspath(self._csv_path), None, 0
        else:
            source, n, seed = data.source or f"builtin:{data.name}", data.n, self.data_seed
        return DataSpec(
            source=source,
            n=n,
            seed=seed,
            columns=self._columns_used,
            batch_sizes=tuple(self.batch_sizes(n_runs)),
            shuffle_seed=self.seed.value(),
            penalty=self.penalty.currentData(),
            strength=self._lam,
            parameters=tuple(parameters),
        )

    def apply(self, spec: DataSpec, dataset: Dataset) -> None:
        """Show a session file's data settings and use ``dataset`` (read from ``spec``).

        Emits nothing: the caller compiles and computes once everything is set.
        """
        widgets = (self.source, self.size, self.columns, self.batches, self.seed)
        widgets += (self.penalty, self.lam)
        for w in widgets:
            w.blockSignals(True)
        try:
            if spec.builtin is None:
                self._csv_path = spec.source
                self.source.setCurrentIndex(self.source.findData("csv"))
            else:
                self._csv_path = None
                self.data_seed = int(spec.seed)
                self.source.setCurrentIndex(max(self.source.findData(dataset.name), 0))
                self.size.setValue(dataset.n)
            self.columns.setText(spec.columns or "")
            self._columns_used = spec.columns
            self.batches.setText(
                ", ".join("batch" if b is None else str(b) for b in spec.batch_sizes)
            )
            self.seed.setValue(int(spec.shuffle_seed))
            self.penalty.setCurrentIndex(max(self.penalty.findData(spec.penalty), 0))
            self.lam.setValue(float(spec.strength))
            self._lam = float(spec.strength)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._stop_reading()
        self.dataset = dataset
        self.clear_runs()
        self._objective = None
        self.hide_error()
        self._show_samples()

    # -------------------------------------------------------------- batches
    def batch_sizes(self, n_runs: int) -> list[int | None]:
        """Batch size of each of ``n_runs`` runs (``None`` = all samples).

        The sizes are typed in run order; the last one holds for any runs
        beyond them (so one size applies to every run).

        Raises
        ------
        ValueError
            For an entry that is not a batch size.
        """
        from gdviz.core.dataset_loss import parse_batch_size

        parts = [p.strip() for p in self.batches.text().replace(";", ",").split(",") if p.strip()]
        if not parts:
            parts = ["batch"]
        sizes = [parse_batch_size(p, self.dataset.n) for p in parts]
        # Runs come and go in the run list: the last size holds for runs beyond the list.
        return (sizes + [sizes[-1]] * n_runs)[:n_runs]

    def _batches_edited(self) -> None:
        try:
            self.batch_sizes(1)
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.hide_error()
        self.batchesChanged.emit()

    def penalty_value(self) -> Any:
        from gdviz.core.dataset_loss import Penalty

        kind = self.penalty.currentData()
        return Penalty() if kind == "none" else Penalty(kind, self._lam)

    # -------------------------------------------------------------- compile
    def compile(self, text: str, parameters: tuple[str, ...] | None = None) -> Any:
        """Compile ``text`` as a per-sample loss over the current data, in this thread.

        ``parameters`` names the parameters in axis order (default: ``w, b``
        when the text uses both, else the parser's order). The window compiles
        on its compile thread instead, with :meth:`compile_job`.

        Raises :class:`gdviz.core.expression.ExpressionError` for bad text.
        """
        return self.compile_job(text, parameters)()

    def compile_job(self, text: str, parameters: tuple[str, ...] | None = None) -> DatasetCompile:
        """What compiling ``text`` over the current data needs, read from the controls now.

        The returned job touches no widget, so it can run on another thread.
        """
        from gdviz.ui.compute import COMPILE_TIMEOUT  # read at call time (tests shorten it)

        # The usual names of a line's slope and intercept: slope on the horizontal axis.
        usual = {"w", "b"} <= set(_names(text)) and not {"w", "b"} & set(self.dataset.names)
        params = parameters if parameters is not None else (("w", "b") if usual else None)
        return DatasetCompile(text, self.dataset, params, self.penalty_value(), COMPILE_TIMEOUT)

    def set_loss(self, loss: Any, model: Any = _UNSET) -> None:
        """The compiled dataset loss now in use: show roles and prepare the model.

        ``model`` is the loss's :func:`~gdviz.core.dataset_loss.compile_model`
        (None for none) when it was found elsewhere, e.g. on the compile thread.
        """
        self.loss = loss
        self.roles.setText(loss.roles())
        self.model = model_of(loss) if model is _UNSET else model
        if self.model is None:
            text = "no model line for this loss: only the samples are drawn"
        else:
            shown = f"σ({self.model.text})" if self.model.link == "sigmoid" else self.model.text
            text = f"model: {self.model.target or 'prediction'} ≈ {shown}"
        text += "\nloss plot: solid = mini-batch loss, dashed = loss on all samples"
        if not loss.uses_statistics and loss.n > SURFACE_MAX_SAMPLES:
            text += (
                f"\nsurface drawn from {SURFACE_MAX_SAMPLES:,} random samples of {loss.n:,}; "
                "runs and dashed full losses use all"
            )
        self.info.setText(text)
        self._show_samples()

    @property
    def objective_ready(self) -> bool:
        """Whether a compiled loss over the data is there to draw runs against."""
        return self._objective is not None

    def objective(self, n_runs: int) -> Any:
        """The mini-batch objective for ``n_runs`` runs (raises ValueError for bad sizes)."""
        if self.loss is None:
            raise ValueError("no dataset loss compiled yet")
        if self.loss.dataset is not self.dataset:
            # The new data's loss is compiling, or did not compile (a column it
            # uses is missing): runs over the old samples would be drawn on these.
            raise ValueError(
                f"the per-sample loss is not compiled for {self.dataset.name} "
                "(see the message under the formula)"
            )
        obj = self.loss.sampled(self.batch_sizes(n_runs), seed=self.seed.value())
        self._objective = obj
        return obj

    def key(self, n_runs: int) -> Any:
        """What decides the runs besides the session: batch sizes and seed."""
        try:
            sizes = tuple(self.batch_sizes(n_runs))
        except ValueError:
            sizes = ()
        return (sizes, self.seed.value())

    # --------------------------------------------------------------- runs
    def set_loss_plot(self, plot: Any) -> None:
        """The scene's loss plot, where the full-data losses are drawn dashed."""
        self._loss_plot = plot

    def clear_runs(self) -> None:
        self._traj = None
        self._full = None
        self._full_shown = None
        self._traj_objective = None
        for item in self.model_items:
            self.plot.removeItem(item)
        self.model_items = []
        self.batch_marks.setData([], [])
        self._clear_full_items()

    def _clear_full_items(self) -> None:
        if self._loss_plot is not None:
            for item in self._full_items:
                self._loss_plot.removeItem(item)
        self._full_items = []

    def set_runs(self, traj: Any, colors: list[str], labels: list[str], log_loss: bool) -> None:
        """A (new part of a) trajectory computed on :meth:`objective`.

        The window keeps showing its last runs until new ones arrive: runs
        that do not fit the newest objective (computed before a run was added,
        or over another loss) are not drawn here; theirs are on the way.
        """
        obj = self._objective
        if obj is None or obj.loss.dataset is not self.dataset or not obj.fits(traj):
            self.clear_runs()
            return
        self._traj = traj
        # The objective these runs were computed on: a newer one (a run added)
        # may be asked for before their own runs arrive.
        self._traj_objective = obj
        self._colors = list(colors)
        k = traj.positions.shape[1]
        while len(self.model_items) < k:
            item = pg.PlotCurveItem()
            item.setZValue(3)
            self.plot.addItem(item)
            self.model_items.append(item)
        while len(self.model_items) > k:
            self.plot.removeItem(self.model_items.pop())
        for i, item in enumerate(self.model_items):
            item.setPen(_pen(colors[i], max(1.5, self.theme.line_px * 0.8)))
        current = self.highlight.currentIndex()
        self.highlight.clear()
        for i, label in enumerate(labels):
            variant = obj.variant(i)
            self.highlight.addItem(f"{label} ({variant})", i)
        pick = current if 0 <= current < k else self._first_sampled()
        self.highlight.setCurrentIndex(max(pick, 0))
        self._draw_full(log_loss)

    def _first_sampled(self) -> int:
        obj = self._traj_objective
        if obj is None or self._traj is None:
            return 0
        for i in range(self._traj.positions.shape[1]):
            if obj.batch_sizes[i] is not None:
                return i
        return 0

    def _draw_full(self, log_loss: bool) -> None:
        """Full-data loss of every run, dashed in the scene's loss plot."""
        self._clear_full_items()
        obj, traj = self._traj_objective, self._traj
        if obj is None or traj is None or self._loss_plot is None:
            return
        # Redrawn at every delivery on the GUI thread: a few million evaluations at
        # most, and the rows an earlier delivery computed come from the cache.
        if self._full_cache is None:
            from gdviz.core.dataset_loss import FullLossCache  # SymPy: not at start-up

            self._full_cache = FullLossCache()
        rows, full = obj.full_loss_curve(traj, FULL_LOSS_BUDGET, self._full_cache)
        self._full = (rows, full)
        # Drawn up to the current step each frame: keep the drawn curve short.
        pick = np.unique(np.linspace(0, rows.size - 1, min(rows.size, MAX_FULL_POINTS)).astype(int))
        with np.errstate(all="ignore"):
            shown = np.log10(np.where(full > 0, full, np.nan)) if log_loss else full
        self._full_shown = (rows[pick].astype(np.float64) + traj.start_step, shown[pick])
        for k in range(full.shape[1]):
            item = pg.PlotCurveItem(
                pen=_pen(self._colors[k], max(1.5, self.theme.line_px), Qt.PenStyle.DashLine),
            )
            # Over the noisy mini-batch losses: the full loss is what descent lowers.
            item.setZValue(20)
            self._loss_plot.addItem(item)
            self._full_items.append(item)
        self._reveal_full(self._step)

    def _reveal_full(self, step: int) -> None:
        """Show the dashed full losses up to ``step`` (the curve grows with the animation)."""
        if not self._full_items or self._full_shown is None:
            return
        x, y = self._full_shown
        cut = int(np.searchsorted(x, step, side="right"))
        for k, item in enumerate(self._full_items):
            item.setData(x[:cut], y[:cut, k], connect="finite")

    def full_loss_at(self, step: int) -> np.ndarray | None:
        """Every run's loss over all the data at ``step`` (None outside dataset mode).

        The trajectory's own losses are those of the mini-batch each step
        used: a stochastic run's look lower than a full-batch run's that is
        in fact closer to the minimum.
        """
        # The loss the runs drawn were computed on: a newer one (another
        # formula, other parameters) may have compiled before their runs came.
        traj, obj = self._traj, self._traj_objective
        if traj is None or obj is None or not self.enabled:
            return None
        loss = obj.loss
        row = max(0, min(int(step) - traj.start_step, traj.positions.shape[0] - 1))
        with np.errstate(all="ignore"):
            return np.asarray(loss.value(traj.positions[row]), dtype=float)

    def full_losses(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(rows, losses)`` of the full-data loss curve drawn, or None."""
        return self._full

    def show_step(self, i: int) -> None:
        """Draw every run's model at step ``i`` and ring the chosen run's batch."""
        self._step = int(i)
        traj = self._traj
        if traj is None or not self.enabled:
            return
        row = max(0, min(int(i) - traj.start_step, traj.positions.shape[0] - 1))
        theta = traj.positions[row]
        self._reveal_full(traj.start_step + row)
        self.epochs.setText(self.epoch_text(traj.start_step + row))
        if self.model is not None:
            xs = self._xs
            ys = self.model.predict(theta, xs)
            for k, item in enumerate(self.model_items):
                item.setData(xs, ys[k], connect="finite")
        k = self.highlight.currentData()
        obj = self._traj_objective
        if obj is None or k is None or k >= theta.shape[0]:
            return
        if obj.batch_sizes[k] is None:
            self.batch_marks.setData([], [])  # batch: every sample, nothing to single out
            return
        last = traj.last_row(k)
        idx = obj.batch_indices(k, traj.start_step + min(row, last))
        x, y = self._xy()
        self.batch_marks.setData(
            x[idx],
            y[idx],
            symbol="o",
            size=self.theme.marker_px * 1.1,
            pen=_pen(self._colors[k] if k < len(self._colors) else self.theme.accent, 2.5),
            brush=pg.mkBrush(0, 0, 0, 0),
        )

    def epoch_text(self, step: int) -> str:
        """Epochs done by each run after ``step`` steps: samples seen / n (one line)."""
        obj, traj = self._traj_objective, self._traj
        if obj is None or traj is None:
            return ""
        n = self.dataset.n
        parts = []
        for k in range(traj.positions.shape[1]):
            stop = traj.last_row(k) + traj.start_step
            seen = min(step, stop) * obj.batch_size(k)
            parts.append(f"{k + 1}: {seen / n:.3g}")
        return f"epochs after step {step}: " + " · ".join(parts)

    # -------------------------------------------------------------- picture
    def _axes(self) -> tuple[str, str | None]:
        """The columns on the plot's axes: the model's, else the loss's, else the first two.

        The loss (and its model) may still be that of the last data while new
        data waits for its compile, or for good when the new data lacks a
        column the loss uses: only columns the data has are drawn.
        """
        names = self.dataset.names
        model = self.model
        if model is not None and model.column in names and model.target in (None, *names):
            return model.column, model.target
        used = tuple(self.loss.data_names) if self.loss is not None else ()
        if used and set(used) <= set(names):
            return used[0], (used[1] if len(used) > 1 else None)
        return names[0], (names[1] if len(names) > 1 else None)

    def _xy(self) -> tuple[np.ndarray, np.ndarray]:
        cx, cy = self._axes()
        x = self.dataset.column(cx)
        y = self.dataset.column(cy) if cy is not None else np.zeros_like(x)
        if self.model is not None and self.model.link == "sigmoid" and cy is not None:
            # Labels ±1 are drawn at 0 and 1, where the sigmoid's probability lives.
            lo, hi = float(y.min()), float(y.max())
            if hi > lo:
                y = (y - lo) / (hi - lo)
        return x, y

    def _show_samples(self) -> None:
        x, y = self._xy()
        step = max(1, x.size // MAX_DRAWN)
        t = self.theme
        xs, ys = x[::step], y[::step]
        style = (max(4.0, t.marker_px * 0.45), t.foreground)
        last = self._samples_drawn
        if (
            last is None
            or last[2] != style
            or not (np.array_equal(last[0], xs) and np.array_equal(last[1], ys))
        ):
            # A new loss over the same data shows the same points: pyqtgraph
            # spends milliseconds per thousand points styling a scatter, so
            # it is only handed points that changed.
            self.samples.setData(
                xs,
                ys,
                symbol="o",
                size=style[0],
                pen=pg.mkPen(None),
                brush=pg.mkBrush(_color(t.foreground, 150)),
            )
            self._samples_drawn = (xs, ys, style)
        pad = 0.05 * (float(x.max() - x.min()) or 1.0)
        self._xs = np.linspace(float(x.min()) - pad, float(x.max()) + pad, MODEL_POINTS)
        cx, cy = self._axes()
        style = {"color": t.foreground, "font-size": f"{t.font_pt * 0.9:.1f}pt"}
        self.plot.setLabel("bottom", html.escape(cx), **style)
        self.plot.setLabel("left", html.escape(cy or ""), **style)
        self.plot.enableAutoRange()
        self.batch_marks.setData([], [])
        n = self.dataset.n
        shown = f" (every {step}th drawn)" if step > 1 else ""
        self.plot_widget.setToolTip(f"{self.dataset.name}: {n:,} samples{shown}")
        if self.loss is None or self.loss.dataset is not self.dataset:
            self.roles.setText(
                f"{self.dataset.name}: {n:,} samples, columns {', '.join(self.dataset.names)}"
            )

    # ---------------------------------------------------------------- look
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plot_widget.setBackground(_color(theme.background))
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(_color(theme.foreground))
            axis.setTextPen(_color(theme.foreground))
        self._show_samples()
        width = max(1.5, theme.line_px * 0.8)
        for k, item in enumerate(self.model_items):
            if k < len(self._colors):
                item.setPen(_pen(self._colors[k], width))
        self.show_step(self._step)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def hide_error(self) -> None:
        self.error.hide()
        self.error.setText("")


def _names(text: str) -> list[str]:
    """Identifier-like words in ``text`` (to spot the usual w and b)."""
    import re

    return re.findall(r"[A-Za-z_]\w*", text)


def surface_loss(loss: Any) -> Any:
    """The loss the scene draws: ``loss``, or for a big dataset without sufficient
    statistics the same loss over an evenly seeded random subset of its samples."""
    if loss.uses_statistics or loss.n <= SURFACE_MAX_SAMPLES:
        return loss
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(loss.n, SURFACE_MAX_SAMPLES, replace=False))
    return loss.subset(idx)


def suggest_view(loss: Any) -> tuple[tuple[tuple[float, float], ...], tuple[float, ...]]:
    """A view window around the full-data minimum, and a start point off to one side.

    The minimum is found with a few damped Newton steps on the full-data loss
    (exact Hessian); if that fails, the window is centred on 0.
    """
    from gdviz.core.engine import RunConfig, StopRules, run

    d = loss.dim
    centre = np.zeros(d)
    try:
        traj = run(loss, [RunConfig("newton", {"lr": 1.0}, tuple(centre))], 60, StopRules(60))
        k = traj.last_row(0)
        p = traj.positions[k, 0]
        if traj.status[0] != "diverged" and np.isfinite(p).all() and np.abs(p).max() < 1e6:
            centre = p
    except Exception:  # a view suggestion must never fail a compile
        pass
    half = np.maximum(2.0, 0.75 * np.abs(centre))
    domain = tuple((float(c - h), float(c + h)) for c, h in zip(centre, half, strict=True))
    start = tuple(float(c - 0.7 * h) for c, h in zip(centre, half, strict=True))
    return domain, start
