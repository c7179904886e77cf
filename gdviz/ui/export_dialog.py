"""File → Export animation…: choose format, size, frames and look, then render.

The dialog only collects settings into an :class:`~gdviz.export.plan.ExportPlan`
(the same checks as ``gdviz export``) and asks before replacing an existing
output. The rendering itself is an :class:`~gdviz.export.render.ExportJob`:
it draws a fresh offscreen copy of the window's scene in short slices on the
GUI thread, so the window stays responsive, a progress dialog shows how far
it got, and Cancel removes whatever was partly written.

The window calls :func:`open_export_dialog` with what its scene shows, e.g.::

    inputs = SceneInputs(
        loss=self.loss,
        domain=self.scene.view_range(),  # what is on screen, after zoom
        trajectory=self.trajectory,
        colors=colors, labels=labels, visible=[r.visible for r in runs],
        view=self.session.view, start=self.session.start,
        font_scale=self.theme.font_scale,
    )
    dialog = open_export_dialog(self, inputs, theme=self.theme.name)
    dialog.exported.connect(lambda path: self.show_message(f"saved {path}"))
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gdviz.export.plan import (
    GIF_MAX_FPS,
    MAX_FPS,
    MAX_SIZE,
    MIN_SIZE,
    PANELS,
    PANELS_3D,
    SIZE_PRESETS,
    THEMES,
    ExportPlan,
    OutputKind,
    OutputPathError,
    output_exists,
)
from gdviz.export.render import ExportJob, SceneInputs

__all__ = ["ExportDialog", "open_export_dialog"]

_PANEL_LABELS = {
    "both": "Surface and loss curve",
    "surface": "Surface only",
    "loss": "Loss curve only",
    "3d": "3D surface only",
    "3d+loss": "3D surface and loss curve",
}


def _offered_panels(inputs: SceneInputs) -> list[str]:
    """The panels this export can draw: 3-D only with OpenGL and a surface to show."""
    from gdviz.ui.gl import probe_gl

    with_3d = getattr(inputs.loss, "dim", None) == 2 and probe_gl().available
    return [p for p in PANELS if with_3d or p not in PANELS_3D]


_SUFFIX = {OutputKind.MP4: ".mp4", OutputKind.GIF: ".gif", OutputKind.PNG: ""}


class ExportDialog(QDialog):
    """Settings for an animation export, and the export itself.

    Parameters
    ----------
    inputs
        What to draw (the window's loss, view window, trajectory, colours …).
    parent
        The window; the progress dialog is modal to it.
    theme, panels
        Initial choices (the window's current ones).
    directory
        Where the output goes by default (the videos folder, else home).
    name
        Default file name without extension.

    Signals
    -------
    exported(object)
        The :class:`~pathlib.Path` written, after a successful export.
    """

    exported = Signal(object)

    def __init__(
        self,
        inputs: SceneInputs,
        parent: QWidget | None = None,
        *,
        theme: str = "light",
        panels: str = "both",
        directory: str | Path | None = None,
        name: str = "gdviz-animation",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.inputs = inputs
        self.job: ExportJob | None = None
        self.progress: QProgressDialog | None = None
        self._directory = Path(directory) if directory is not None else _default_directory()
        self._name = name
        n = inputs.n_steps

        self.format = QComboBox()
        for kind in (OutputKind.MP4, OutputKind.GIF, OutputKind.PNG):
            self.format.addItem(kind.label, kind)
        self.out = QLineEdit()
        self.browse = QPushButton("Browse…")
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(self.browse)

        self.size_preset = QComboBox()
        for label, w, h in SIZE_PRESETS:
            self.size_preset.addItem(label, (w, h))
        self.size_preset.addItem("Custom", None)
        self.width = QSpinBox()
        self.height = QSpinBox()
        for box in (self.width, self.height):
            box.setRange(MIN_SIZE, MAX_SIZE)
            box.setSuffix(" px")
        self.width.setValue(SIZE_PRESETS[0][1])
        self.height.setValue(SIZE_PRESETS[0][2])
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_preset, 1)
        size_row.addWidget(self.width)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height)

        self.fps = QDoubleSpinBox()
        self.fps.setRange(1.0, MAX_FPS)
        self.fps.setDecimals(1)
        self.fps.setValue(30.0)
        self.fps.setSuffix(" frames/s")

        self.first = QSpinBox()
        self.last = QSpinBox()
        for box in (self.first, self.last):
            box.setRange(0, n)
        self.last.setValue(n)
        self.every = QSpinBox()
        self.every.setRange(1, max(n, 1))
        self.every.setPrefix("every ")
        self.every.setSuffix(" step(s)")
        steps_row = QHBoxLayout()
        steps_row.addWidget(QLabel("from"))
        steps_row.addWidget(self.first)
        steps_row.addWidget(QLabel("to"))
        steps_row.addWidget(self.last)
        steps_row.addWidget(self.every)

        self.panels = QComboBox()
        for p in _offered_panels(inputs):
            self.panels.addItem(_PANEL_LABELS[p], p)
        self.panels.setCurrentIndex(max(self.panels.findData(panels), 0))
        self.theme = QComboBox()
        for t in THEMES:
            self.theme.addItem(t.capitalize(), t)
        self.theme.setCurrentIndex(max(self.theme.findData(theme), 0))
        self.caption = QCheckBox("Step and function on each frame")
        self.caption.setToolTip("'step 12 · f = …' in a corner: a paused clip says where it is")
        self.caption.setChecked(True)

        self.summary = QLabel()
        self.summary.setProperty("role", "hint")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.error = QLabel()
        self.error.setProperty("role", "error")
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # messages quote file names
        self.error.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Save to", out_row)
        form.addRow("Size", size_row)
        form.addRow("Frame rate", self.fps)
        form.addRow("Steps", steps_row)
        form.addRow("Panels", self.panels)
        form.addRow("Theme", self.theme)
        form.addRow("Caption", self.caption)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.export_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.export_button.setText("Export")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.summary)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)

        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        self.browse.clicked.connect(self._browse)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.size_preset.currentIndexChanged.connect(self._preset_changed)
        for box in (self.width, self.height, self.first, self.last, self.every):
            box.valueChanged.connect(self._validate)
        self.fps.valueChanged.connect(self._validate)
        self.out.textChanged.connect(self._validate)
        self._preset_changed()
        self._format_changed()

    # ---------------------------------------------------------------- settings
    @property
    def kind(self) -> OutputKind:
        return self.format.currentData()

    def size(self) -> tuple[int, int]:
        return self.width.value(), self.height.value()

    def plan(self, *, force: bool = False) -> ExportPlan:
        """The export these settings describe.

        Raises
        ------
        ValueError, OutputPathError
            With a message for the first thing that is wrong.
        """
        text = self.out.text().strip()
        if not text:
            raise OutputPathError("choose where to save the animation")
        kind = self.kind
        if kind is not OutputKind.PNG and Path(text).suffix.lower() != _SUFFIX[kind]:
            raise OutputPathError(f"a {kind.label} file name must end in {_SUFFIX[kind]}")
        if self.first.value() > self.last.value():
            raise ValueError("the first step is after the last step")
        return ExportPlan.create(
            Path(text).expanduser(),
            kind=kind,
            last_step=self.last.value(),
            first_step=self.first.value(),
            every=self.every.value(),
            size=self.size(),
            fps=self.fps.value(),
            panels=self.panels.currentData(),
            theme=self.theme.currentData(),
            force=force,
            caption=self.caption.isChecked(),
        )

    def _format_changed(self) -> None:
        kind = self.kind
        # H.264 in 4:2:0 needs even sides; GIF delays are 1/100 s.
        step = 2 if kind is OutputKind.MP4 else 1
        for box in (self.width, self.height):
            box.setSingleStep(step)
        self.fps.setMaximum(GIF_MAX_FPS if kind is OutputKind.GIF else MAX_FPS)
        self.fps.setEnabled(kind is not OutputKind.PNG)
        text = self.out.text().strip()
        base = Path(text) if text else self._directory / self._name
        if kind is OutputKind.PNG:
            stem = base.with_suffix("") if base.suffix.lower() in (".mp4", ".gif") else base
            self.out.setText(str(stem) + "/")
        else:
            stem = Path(str(base).rstrip("/"))
            if stem.suffix.lower() in (".mp4", ".gif"):
                stem = stem.with_suffix("")
            self.out.setText(str(stem) + _SUFFIX[kind])
        self._validate()

    def _preset_changed(self) -> None:
        size = self.size_preset.currentData()
        custom = size is None
        for box in (self.width, self.height):
            box.setEnabled(custom)
        if not custom:
            self.width.setValue(size[0])
            self.height.setValue(size[1])
        self._validate()

    def _browse(self) -> None:
        current = self.out.text().strip() or str(self._directory)
        if self.kind is OutputKind.PNG:
            chosen = QFileDialog.getExistingDirectory(self, "Folder for the PNG frames", current)
            if chosen:
                self.out.setText(chosen.rstrip("/") + "/")
            return
        suffix = _SUFFIX[self.kind]
        chosen, _ = QFileDialog.getSaveFileName(
            self,
            "Save animation",
            current,
            f"{self.kind.label} (*{suffix})",
            options=QFileDialog.Option.DontConfirmOverwrite,  # asked on Export instead
        )
        if chosen:
            if not chosen.lower().endswith(suffix):
                chosen += suffix
            self.out.setText(chosen)

    def _validate(self) -> bool:
        """Show the first problem (or a summary) and enable Export accordingly."""
        try:
            plan = self.plan(force=True)
        except (ValueError, OutputPathError) as exc:
            self.error.setText(str(exc))
            self.summary.setText("")
            self.export_button.setEnabled(False)
            return False
        self.error.setText("")
        n = plan.n_frames
        if plan.kind is OutputKind.PNG:
            self.summary.setText(f"{n} frames of {plan.size[0]}×{plan.size[1]} as PNG files")
        else:
            seconds = n / plan.fps
            self.summary.setText(
                f"{n} frames of {plan.size[0]}×{plan.size[1]}, {seconds:.1f} s at {plan.fps:g} fps"
            )
        self.export_button.setEnabled(self.job is None)
        return True

    # ------------------------------------------------------------------ export
    def start_export(self) -> None:
        """Check the settings, ask before overwriting, and start rendering."""
        if self.job is not None:
            return
        try:
            plan = self.plan(force=True)
        except (ValueError, OutputPathError) as exc:
            self.error.setText(str(exc))
            return
        exists = output_exists(plan.out, plan.kind)
        if exists and not self._confirm_overwrite(plan):
            return
        # Replace only what the person agreed to replace.
        self._run(replace(plan, force=exists))

    def _confirm_overwrite(self, plan: ExportPlan) -> bool:
        what = (
            f"The folder {plan.out} already holds PNG frames. Replace them?"
            if plan.kind is OutputKind.PNG
            else f"{plan.out.name} already exists. Replace it?"
        )
        answer = QMessageBox.question(
            self,
            "Replace existing export?",
            what,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _run(self, plan: ExportPlan) -> None:
        self.error.setText("")
        self.job = ExportJob(plan, self.inputs, parent=self)
        self.progress = QProgressDialog(
            f"Rendering {plan.n_frames} frames to {plan.out.name or plan.out}…",
            "Cancel",
            0,
            plan.n_frames,
            self,
        )
        self.progress.setWindowTitle("Exporting")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.setValue(0)
        self.progress.canceled.connect(self.job.cancel)
        self.job.progressed.connect(self._progressed)
        self.job.finishing.connect(self._finishing)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(self._cancelled)
        self.export_button.setEnabled(False)
        self.job.start()

    def _progressed(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress.setValue(done)

    def _finishing(self) -> None:
        if self.progress is not None and self.job is not None:
            out = self.job.plan.out
            self.progress.setLabelText(f"Writing {out.name or out}…")

    def _end_job(self) -> None:
        if self.progress is not None:
            self.progress.canceled.disconnect()
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        if self.job is not None:
            self.job.deleteLater()
            self.job = None
        self._validate()

    def _finished(self, path: Path) -> None:
        self._end_job()
        self.exported.emit(path)
        self.accept()

    def _failed(self, message: str) -> None:
        self._end_job()
        self.error.setText(message)

    def _cancelled(self) -> None:
        self._end_job()
        self.error.setText("Export cancelled; nothing was written.")

    def reject(self) -> None:
        """Close the dialog; a running export is cancelled first."""
        if self.job is not None:
            self.job.cancel()
        super().reject()


def _default_directory() -> Path:
    """The person's videos folder if it exists, else their home directory."""
    movies = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
    return Path(movies) if movies and Path(movies).is_dir() else Path.home()


def open_export_dialog(
    parent: QWidget | None,
    inputs: SceneInputs,
    *,
    theme: str = "light",
    panels: str = "both",
    directory: str | Path | None = None,
    name: str = "gdviz-animation",
) -> ExportDialog:
    """Show the export dialog (window-modal, returns at once) and return it.

    Connect to its ``exported`` signal to learn where the animation went.
    See :class:`ExportDialog` for the parameters.
    """
    dialog = ExportDialog(
        inputs, parent, theme=theme, panels=panels, directory=directory, name=name
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dialog.open()
    return dialog
