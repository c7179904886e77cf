"""The step caption: "step 12 · f = …" on exported frames (unless turned off), in
presentation mode on the I key, plain text, and one line whatever was typed."""

from __future__ import annotations

import numpy as np
import pytest
from _export_support import read_png
from PySide6.QtCore import QCoreApplication, QRectF, QSettings, Qt

from gdviz import cli
from gdviz.core.engine import RunConfig, run
from gdviz.core.loss import compile_loss
from gdviz.export.plan import SceneInputs
from gdviz.export.render import SceneRenderer
from gdviz.ui.items.step_caption import StepCaption, caption_text, function_label

WAIT = 30_000


@pytest.fixture(scope="module")
def inputs() -> SceneInputs:
    loss = compile_loss("x^2 + 3y^2")
    traj = run(loss, [RunConfig("gd", {"lr": 0.05}, (-2.0, 1.5))], 20)
    return SceneInputs(loss, ((-2.5, 2.5), (-2.0, 2.0)), traj, labels=["gd"], start=(-2.0, 1.5))


def caption_rect(scene) -> tuple[int, int, int, int]:
    """Where the scene's caption is, in the scene widget's pixels (x0, y0, x1, y1)."""
    item = scene.caption
    view = item.scene().views()[0]
    rect = view.mapFromScene(item.mapRectToScene(item.boundingRect())).boundingRect()
    top_left = view.mapTo(scene, rect.topLeft())
    return top_left.x(), top_left.y(), top_left.x() + rect.width(), top_left.y() + rect.height()


# ------------------------------------------------------------------ text


def test_caption_text_names_the_step_and_the_function() -> None:
    assert caption_text(12, function_label("x^2 + 3y^2")) == "step 12 · f = x^2 + 3y^2"
    assert caption_text(0, function_label("(w*x + b - y)^2", "L")) == (
        "step 0 · L = mean of (w*x + b - y)^2"
    )
    # One line whatever was typed: breaks and tabs become spaces, controls go.
    assert function_label("x^2 +\n\t 3y^2\x07") == "f = x^2 + 3y^2"


def test_a_thumbnail_gets_no_caption(inputs) -> None:
    with SceneRenderer(inputs, (320, 180), "both", "light") as renderer:
        with_caption = renderer.frame(5)
        assert renderer.scene.caption.text() == "step 5 · f = x^2 + 3y^2"
        assert renderer.scene.caption.shown_text() == ""
    with SceneRenderer(inputs, (320, 180), "both", "light", caption=False) as renderer:
        assert np.array_equal(renderer.frame(5), with_caption)


def test_markup_is_drawn_as_the_characters_typed(qtbot) -> None:
    cap = StepCaption()
    cap.set_function("<b>x</b> &amp; y")
    cap.set_step(3)
    assert cap.text() == "step 3 · f = <b>x</b> &amp; y"
    assert cap.shown_text() == cap.text()


def test_a_long_function_is_elided_but_the_step_stays(qtbot, inputs) -> None:
    long = " + ".join(f"{k}x^2" for k in range(1, 50))
    with SceneRenderer(inputs, (640, 480), "surface", "light") as renderer:
        scene = renderer.scene
        scene.caption.set_function(long)
        renderer.frame(7)
        assert scene.caption.text() == f"step 7 · f = {long}"
        shown = scene.caption.shown_text()
        assert shown.startswith("step 7 · f = 1x^2") and "…" in shown
        x0, _y0, x1, _y1 = caption_rect(scene)
        assert 0 <= x0 and x1 <= 640  # inside the frame


# ------------------------------------------------------------------ export


def test_exported_frame_has_the_caption_and_no_caption_removes_it(inputs) -> None:
    with SceneRenderer(inputs, (640, 360), "both", "light") as renderer:
        on = renderer.frame(12)
        assert renderer.scene.caption.isVisible()
        assert renderer.scene.caption.text() == "step 12 · f = x^2 + 3y^2"
        x0, y0, x1, y1 = caption_rect(renderer.scene)
    with SceneRenderer(inputs, (640, 360), "both", "light", caption=False) as renderer:
        off = renderer.frame(12)
        assert not renderer.scene.caption.isVisible()
    assert x1 - x0 > 60 and y1 - y0 > 10
    changed = np.any(on != off, axis=-1)
    # Text pixels in the caption's box, and nothing changed anywhere else.
    assert changed[y0:y1, x0:x1].sum() > 100
    changed[y0:y1, x0:x1] = False
    assert not changed.any()


def test_caption_follows_the_step_on_the_loss_panel(inputs) -> None:
    with SceneRenderer(inputs, (480, 270), "loss", "dark") as renderer:
        first = renderer.frame(1)
        assert renderer.scene.caption.isVisible()
        assert renderer.scene.caption.text() == "step 1 · f = x^2 + 3y^2"
        last = renderer.frame(20)
        assert renderer.scene.caption.text() == "step 20 · f = x^2 + 3y^2"
        x0, y0, x1, y1 = caption_rect(renderer.scene)
    assert x1 > 480 * 0.6 and y0 < 270 * 0.4  # top right: the loss curve falls away from it
    assert np.any(first[y0:y1, x0:x1] != last[y0:y1, x0:x1])


BASE = ["export", "--function", "x^2 + 3y^2", "--start", "-2,1.5", "--size", "640x360"]


def test_cli_caption_on_by_default_and_no_caption_removes_it(capsys, qapp, tmp_path) -> None:
    for name, extra in (("on", []), ("off", ["--no-caption"]), ("again", ["--caption"])):
        code = cli.main([*BASE, "--steps", "6", "--out", f"{tmp_path}/{name}/", *extra])
        assert (code, capsys.readouterr().err) == (0, "")
    on, off, again = (read_png(tmp_path / n / "frame_00006.png") for n in ("on", "off", "again"))
    assert np.array_equal(on, again)
    changed = np.any(on != off, axis=-1)
    rows, cols = np.nonzero(changed)
    # Only the bottom-left corner of the surface differs: the caption.
    assert rows.size > 50
    assert rows.min() > 360 * 0.5 and cols.max() < 640 * 0.6


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--no-caption=yes", "ignored explicit argument 'yes'"),
        ("--caption=off", "ignored explicit argument 'off'"),
    ],
)
def test_cli_bad_caption_flag_is_one_line_exit_2(capsys, tmp_path, flag, message) -> None:
    code = cli.main([*BASE, "--steps", "3", "--out", f"{tmp_path}/f/", flag])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("gdviz export: "), err
    assert message in err
    assert not (tmp_path / "f").exists()


def test_export_dialog_box_sets_the_plan(qtbot, inputs, tmp_path) -> None:
    from gdviz.ui.export_dialog import ExportDialog

    d = ExportDialog(inputs, theme="light", panels="surface", directory=tmp_path, name="a")
    qtbot.addWidget(d)
    assert d.caption.isChecked() and d.plan().caption
    d.caption.setChecked(False)
    assert d.plan().caption is False


# ------------------------------------------------------------------ presentation


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory):
    """Keep QSettings (geometry, recent files) out of the person's home folder."""
    folder = tmp_path_factory.mktemp("settings")
    QCoreApplication.setOrganizationName("gdviz-test")
    QCoreApplication.setApplicationName("gdviz-test")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


def test_presentation_toggles_the_caption_with_i(qtbot) -> None:
    from gdviz.ui.main_window import MainWindow

    w = MainWindow(theme="dark")
    qtbot.addWidget(w)
    w.resize(1024, 768)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.trajectory is not None and w.complete, timeout=WAIT)
    w.activateWindow()
    caption = w.scene.caption
    presentation = w.classroom.presentation

    def press_i() -> None:
        w.scene.setFocus()
        qtbot.keyClick(w.scene, Qt.Key.Key_I)

    assert not caption.isVisible()
    presentation.enter(fullscreen=False)
    assert not caption.isVisible()  # the transport and the heading say it already
    press_i()
    assert caption.isVisible()
    w.player.seek(7)
    assert caption.text() == f"step 7 · f = {w.session.function}"
    r = caption.mapRectToScene(caption.boundingRect())
    assert w.scene.surface.getViewBox().sceneBoundingRect().contains(QRectF(r))
    presentation.leave()
    assert not caption.isVisible()  # the desk never shows it
    presentation.enter(fullscreen=False)
    assert caption.isVisible()  # remembered while the window lives
    press_i()
    assert not caption.isVisible()
    presentation.leave()
