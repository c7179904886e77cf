"""File → Export animation…: settings, overwrite question, progress and cancel."""

from __future__ import annotations

import pytest
from _export_support import decode, listing
from PySide6.QtWidgets import QMessageBox, QPushButton

from gdviz.core.engine import RunConfig, run
from gdviz.core.loss import compile_loss
from gdviz.export.plan import OutputKind
from gdviz.export.render import SceneInputs
from gdviz.ui.export_dialog import ExportDialog, open_export_dialog

STEPS = 30


@pytest.fixture(scope="module")
def inputs() -> SceneInputs:
    loss = compile_loss("x^2 + 3y^2")
    traj = run(loss, [RunConfig("gd", {"lr": 0.05}, (-2.0, 1.5))], STEPS)
    return SceneInputs(loss, ((-2.5, 2.5), (-2.0, 2.0)), traj, labels=["gd"])


@pytest.fixture
def dialog(qtbot, inputs, tmp_path) -> ExportDialog:
    d = ExportDialog(inputs, theme="dark", panels="surface", directory=tmp_path, name="anim")
    qtbot.addWidget(d)
    return d


def small(d: ExportDialog) -> None:
    d.size_preset.setCurrentIndex(d.size_preset.findData(None))  # Custom
    d.width.setValue(160)
    d.height.setValue(120)


def test_defaults_follow_the_window(dialog, tmp_path):
    assert dialog.kind is OutputKind.MP4
    assert dialog.out.text() == str(tmp_path / "anim.mp4")
    assert dialog.size() == (1280, 720)
    assert not dialog.width.isEnabled()
    assert (dialog.first.value(), dialog.last.value(), dialog.every.value()) == (0, STEPS, 1)
    assert dialog.theme.currentData() == "dark" and dialog.panels.currentData() == "surface"
    assert dialog.summary.text() == "31 frames of 1280×720, 1.0 s at 30 fps"
    assert dialog.export_button.isEnabled()


def test_format_switch_rewrites_the_target(dialog, tmp_path):
    dialog.format.setCurrentIndex(dialog.format.findData(OutputKind.PNG))
    assert dialog.out.text() == f"{tmp_path / 'anim'}/"
    assert not dialog.fps.isEnabled()
    dialog.format.setCurrentIndex(dialog.format.findData(OutputKind.GIF))
    assert dialog.out.text() == str(tmp_path / "anim.gif")
    assert dialog.fps.maximum() == 50  # GIF delays are hundredths of a second
    dialog.every.setValue(10)
    assert dialog.summary.text().startswith("4 frames")  # steps 0, 10, 20, 30


def test_bad_settings_disable_export_with_a_message(dialog, tmp_path):
    small(dialog)
    dialog.width.setValue(161)
    assert "even width and height" in dialog.error.text()
    assert not dialog.export_button.isEnabled()
    dialog.width.setValue(160)
    assert dialog.error.text() == "" and dialog.export_button.isEnabled()
    dialog.first.setValue(20)
    dialog.last.setValue(10)
    assert "first step is after the last" in dialog.error.text()
    dialog.last.setValue(30)
    dialog.out.setText(str(tmp_path / "anim.avi"))
    assert dialog.error.text() == "a MP4 (H.264) file name must end in .mp4"
    dialog.out.setText("")
    assert "choose where to save" in dialog.error.text()


def test_export_runs_and_reports_the_file(qtbot, dialog, tmp_path):
    small(dialog)
    dialog.every.setValue(3)
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as blocker:
        dialog.start_export()
        assert dialog.progress is not None and dialog.progress.maximum() == 11
    assert blocker.args[0] == tmp_path / "anim.mp4"
    assert decode(tmp_path / "anim.mp4").shape == (11, 120, 160, 3)
    assert dialog.job is None and dialog.progress is None


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
def test_asks_before_overwriting(qtbot, dialog, tmp_path, monkeypatch, answer):
    target = tmp_path / "anim.mp4"
    target.write_bytes(b"keep me")
    asked = []

    def question(*args, **kwargs):
        asked.append(args[2])
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    small(dialog)
    if answer == QMessageBox.StandardButton.No:
        dialog.start_export()
        assert dialog.job is None
        assert target.read_bytes() == b"keep me"
    else:
        with qtbot.waitSignal(dialog.exported, timeout=60_000):
            dialog.start_export()
        assert decode(target).shape[0] == STEPS + 1
    assert asked == ["anim.mp4 already exists. Replace it?"]


def test_png_folder_with_frames_asks_too(qtbot, dialog, tmp_path, monkeypatch):
    folder = tmp_path / "anim"
    folder.mkdir()
    (folder / "frame_00000.png").write_bytes(b"old")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    dialog.format.setCurrentIndex(dialog.format.findData(OutputKind.PNG))
    dialog.start_export()
    assert dialog.job is None and listing(folder) == ["frame_00000.png"]


def test_cancel_keeps_the_window_usable_and_writes_nothing(qtbot, dialog, tmp_path):
    small(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData(OutputKind.GIF))
    dialog.start_export()
    job = dialog.job
    assert job is not None
    job.slice_ms = 1
    button = dialog.progress.findChild(QPushButton)
    assert button.text() == "Cancel"
    # Press Cancel once two frames are written.
    job.progressed.connect(lambda done, total: button.click() if done >= 2 else None)
    with qtbot.waitSignal(job.cancelled, timeout=30_000):
        pass
    assert "cancelled" in dialog.error.text()
    assert listing(tmp_path) == []
    assert dialog.export_button.isEnabled()  # can try again


def test_failure_is_shown_in_the_dialog(qtbot, dialog, tmp_path):
    (tmp_path / "file").write_text("x")
    small(dialog)
    dialog.out.setText(str(tmp_path / "file" / "anim.mp4"))
    assert "is not a directory" in dialog.error.text()
    assert not dialog.export_button.isEnabled()


def test_open_export_dialog_shows_it(qtbot, inputs, tmp_path):
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    d = open_export_dialog(parent, inputs, theme="light", directory=tmp_path)
    assert d.isVisible() and d.theme.currentData() == "light"
    d.reject()
