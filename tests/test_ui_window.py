"""Drive the main window as a person would: type, pick presets, edit runs, click, play."""

import html
import re

import numpy as np
import pytest
from _ui_support import WAIT, ready, shown_window
from PySide6.QtCore import QPoint, QPointF, QRect, Qt

from gdviz.core.presets import load_presets
from gdviz.ui.main_window import DEFAULT_PRESET


def wait_new(qtbot, window, old):
    """Wait until a trajectory other than ``old`` is complete on screen."""
    qtbot.waitUntil(lambda: window.trajectory is not old and ready(window), timeout=WAIT)


@pytest.fixture
def window(qtbot):
    return shown_window(qtbot)


def type_function(qtbot, window, text):
    edit = window.editor.edit
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def test_opens_on_the_default_preset_ready_to_play(window):
    s = window.session
    assert s.preset == DEFAULT_PRESET
    assert window.loss.text == s.function
    assert window.trajectory.positions.shape == (s.steps + 1, len(s.runs), 2)
    assert window.transport.timeline.maximum() == s.steps
    assert "∂f/∂x" in window.editor.math.text()
    assert window.teaches.text() and window.teaches.textFormat() == Qt.TextFormat.PlainText
    assert window.stats.run_count() == len(s.runs)


def test_typing_a_valid_function_recompiles_and_recomputes(qtbot, window):
    old = window.trajectory
    type_function(qtbot, window, "x^2 + 3y^2")
    wait_new(qtbot, window, old)
    assert window.loss.text == "x^2 + 3y^2"
    assert window.session.function == "x^2 + 3y^2"
    math = window.editor.math.text()
    assert "x² + 3·y²" in math and "∂f/∂y = 6·y" in math
    assert not window.editor.has_error()
    # The runs start where the session says, on the new function.
    traj = window.trajectory
    assert np.allclose(traj.positions[0, 0], window.session.start)
    assert traj.losses[0, 0] == pytest.approx(
        window.session.start[0] ** 2 + 3 * window.session.start[1] ** 2
    )


def test_an_invalid_function_shows_message_and_position_and_keeps_the_last_good(qtbot, window):
    editor = window.editor
    good_loss, good_math, good_traj = window.loss, editor.math.text(), window.trajectory
    note = window.teaches.text()
    scene_size = window.body.size()
    type_function(qtbot, window, "x^2 + sine(y)")
    qtbot.waitUntil(editor.has_error, timeout=WAIT)
    err = editor.error.text()
    assert err == "unknown function 'sine' (column 7) — did you mean sin?"
    # The column is marked in the line edit, under the first letter of "sine".
    assert editor.edit.mark() == "x^2 + sine(y)".index("sine")
    left, right = editor.edit.mark_span()
    fm = editor.edit.fontMetrics()
    assert right - left == fm.horizontalAdvance("s")
    # The whole message, the text and a caret under the column, in the tooltip.
    tip = editor.error.toolTip()
    assert "<pre>x^2 + sine(y)\n      ^\n" in tip  # spaces kept: the caret is under the s
    assert editor.edit.property("invalid") == "true"
    # The message has the note's line: the plots did not move.
    assert editor.error.isVisible() and not window.teaches.isVisible()
    qtbot.wait(50)
    assert window.body.size() == scene_size
    assert window.loss is good_loss
    assert window.trajectory is good_traj
    assert editor.math.text() == good_math
    # Fixing the typo clears the error, the mark, and brings the note back.
    type_function(qtbot, window, "x^2 + sin(y)")
    wait_new(qtbot, window, good_traj)
    assert not editor.has_error() and editor.edit.mark() is None
    assert editor.edit.property("invalid") == "false"
    assert window.teaches.isVisible() and not editor.error.isVisible()
    assert window.teaches.text() != note  # the preset's description is of its own function
    assert window.body.size() == scene_size


def test_hostile_text_is_an_error_not_code(qtbot, window, tmp_path):
    marker = tmp_path / "ran"
    type_function(qtbot, window, f"__import__('os').system('touch {marker}')")
    qtbot.waitUntil(window.editor.has_error, timeout=WAIT)
    assert not marker.exists()
    assert window.loss.text == window.session.function


def test_empty_function_says_what_to_type(qtbot, window):
    type_function(qtbot, window, "")
    qtbot.keyClick(window.editor.edit, Qt.Key.Key_Return)
    assert window.editor.has_error()
    assert "type a function" in window.editor.error.text()


@pytest.mark.parametrize("preset", [p.name for p in load_presets()])
def test_every_preset_loads_from_the_menu_box(qtbot, window, preset):
    box = window.preset_box
    old = window.trajectory
    idx = box.findData(preset)
    box.setCurrentIndex(idx)
    box.activated.emit(idx)
    if preset == DEFAULT_PRESET:
        old = None  # reloading the same preset may reuse nothing; just wait for it
    wait_new(qtbot, window, old)
    s = window.session
    assert s.preset == preset
    assert window.loss.dim == len(s.domain)
    assert window.trajectory.positions.shape[1] == len(s.runs)
    assert window.runs_panel.list.count() == len(s.runs)
    one_d = window.loss.dim == 1
    assert window.scene.curve.isVisible() == one_d
    assert window.scene.image.isVisible() == (not one_d)
    assert window.view_panel.y_range.isVisibleTo(window) == (not one_d)


def test_add_duplicate_remove_runs(qtbot, window):
    n = len(window.session.runs)
    old = window.trajectory
    qtbot.mouseClick(window.runs_panel.add_button, Qt.MouseButton.LeftButton)
    wait_new(qtbot, window, old)
    assert len(window.session.runs) == n + 1
    assert window.trajectory.positions.shape[1] == n + 1
    assert window.session.runs[-1].optimizer == "gd"
    assert window.stats.run_count() == n + 1

    window.runs_panel.list.setCurrentRow(0)
    old = window.trajectory
    qtbot.mouseClick(window.runs_panel.dup_button, Qt.MouseButton.LeftButton)
    wait_new(qtbot, window, old)
    runs = window.session.runs
    assert len(runs) == n + 2
    assert runs[1].optimizer == runs[0].optimizer and runs[1].params == runs[0].params
    assert np.array_equal(window.trajectory.positions[:, 0], window.trajectory.positions[:, 1])

    old = window.trajectory
    qtbot.mouseClick(window.runs_panel.remove_button, Qt.MouseButton.LeftButton)
    wait_new(qtbot, window, old)
    assert len(window.session.runs) == n + 1


def test_learning_rate_text_box_and_slider(qtbot, window):
    panel = window.runs_panel
    panel.list.setCurrentRow(0)
    lr = panel.param_widget("lr")
    old = window.trajectory
    lr.text.setText("0.000123")
    lr.text.editingFinished.emit()
    wait_new(qtbot, window, old)
    assert window.session.runs[0].params["lr"] == pytest.approx(0.000123)
    assert window.trajectory.lrs[0, 0] == pytest.approx(0.000123)
    # The slider moves on a log scale: its middle is the geometric mean of its ends.
    old = window.trajectory
    lr.slider.setValue(500)
    wait_new(qtbot, window, old)
    mid = window.session.runs[0].params["lr"]
    assert mid == pytest.approx(np.sqrt(1e-5 * 10.0), rel=0.01)
    assert lr.text.text() == f"{mid:.6g}"


def test_bad_hyperparameter_is_marked_and_changes_nothing(qtbot, window):
    panel = window.runs_panel
    panel.list.setCurrentRow(0)
    before = window.session.runs
    lr = panel.param_widget("lr")
    for bad in ("fast", "-1", "nan"):
        lr.text.setText(bad)
        lr.text.editingFinished.emit()
        assert panel.error.isVisibleTo(panel)
        assert "lr" in panel.error.text()
        assert lr.text.property("invalid") == "true"
    assert window.session.runs == before


def test_switching_optimizer_regenerates_its_settings(qtbot, window):
    panel = window.runs_panel
    panel.list.setCurrentRow(0)
    idx = panel.optimizer.findData("adam")
    old = window.trajectory
    panel.optimizer.setCurrentIndex(idx)
    panel.optimizer.activated.emit(idx)
    wait_new(qtbot, window, old)
    assert window.session.runs[0].optimizer == "adam"
    for name in ("lr", "beta1", "beta2", "eps", "amsgrad"):
        assert panel.param_widget(name) is not None, name
    assert panel.param_widget("momentum") is None


def test_bad_schedule_and_range_get_messages(qtbot, window):
    panel = window.runs_panel
    panel.list.setCurrentRow(0)
    panel.schedule.setText("cosine:t_max=oops")
    panel.schedule.editingFinished.emit()
    assert "schedule" in panel.error.text()
    assert window.session.runs[0].schedule == "constant"
    vp = window.view_panel
    domain = window.session.domain
    vp.x_range.setText("3, 1")
    vp.x_range.editingFinished.emit()
    assert vp.error.isVisibleTo(vp) and "low must be below high" in vp.error.text()
    vp.y_range.setText("0, banana")
    vp.y_range.editingFinished.emit()
    assert "'banana' is not a number" in vp.error.text()
    assert window.session.domain == domain


def test_editing_the_range_redraws_the_surface(qtbot, window):
    vp = window.view_panel
    vp.x_range.setText("-1, 1.5")
    vp.x_range.editingFinished.emit()
    assert window.session.domain[0] == (-1.0, 1.5)
    (x0, x1), _ = window.scene.surface.getViewBox().viewRange()
    assert x0 == pytest.approx(-1.0, abs=0.05) and x1 == pytest.approx(1.5, abs=0.05)


def test_click_on_the_surface_sets_the_start(qtbot, window):
    scene = window.scene
    vb = scene.surface.getViewBox()
    target = QPointF(0.5, 0.25)
    pos = scene.surface_view.mapFromScene(vb.mapViewToScene(target))
    old = window.trajectory
    qtbot.mouseClick(scene.surface_view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    wait_new(qtbot, window, old)
    sx, sy = window.session.start
    px = vb.viewPixelSize()
    assert sx == pytest.approx(0.5, abs=2 * px[0]) and sy == pytest.approx(0.25, abs=2 * px[1])
    assert np.allclose(window.trajectory.positions[0, :, 0], sx)
    assert window.view_panel.start.text() == f"{sx:.4g}, {sy:.4g}"
    assert window.player.step == 0


def test_typed_start_point(qtbot, window):
    old = window.trajectory
    window.view_panel.start.setText("-1, 2.5")
    window.view_panel.start.editingFinished.emit()
    wait_new(qtbot, window, old)
    assert np.allclose(window.trajectory.positions[0, :], [-1.0, 2.5])


def test_play_pause_step_scrub(qtbot, window):
    player = window.player
    transport = window.transport
    window.activateWindow()
    qtbot.mouseClick(transport.play_button, Qt.MouseButton.LeftButton)
    assert player.playing and transport.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: player.step > 5, timeout=WAIT)
    qtbot.mouseClick(transport.play_button, Qt.MouseButton.LeftButton)
    assert not player.playing
    i = player.step
    assert window.scene.step == i
    qtbot.mouseClick(transport.forward_button, Qt.MouseButton.LeftButton)
    assert player.step == i + 1 and window.scene.step == i + 1
    qtbot.mouseClick(transport.back_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(transport.back_button, Qt.MouseButton.LeftButton)
    assert player.step == i - 1
    transport.timeline.setValue(1234)
    assert player.step == 1234 and window.scene.step == 1234
    assert transport.step_label.text() == f"step 1234 / {window.session.steps}"
    # The trail holds every step up to the one shown, for every run.
    for items in window.scene.run_items:
        x, _y = items.trail.data()
        assert len(x) == 1235
    # The numbers are those of step 1234.
    row = window.stats.row_text(0)
    assert row["loss"] == f"{window.trajectory.losses[1234, 0]:.5g}"
    qtbot.mouseClick(transport.reset_button, Qt.MouseButton.LeftButton)
    assert player.step == 0


def test_keyboard_shortcuts(qtbot, window):
    window.activateWindow()
    window.scene.setFocus()
    qtbot.keyClick(window.scene, Qt.Key.Key_Right)
    qtbot.keyClick(window.scene, Qt.Key.Key_Right)
    assert window.player.step == 2
    qtbot.keyClick(window.scene, Qt.Key.Key_Left)
    assert window.player.step == 1
    qtbot.keyClick(window.scene, Qt.Key.Key_Space)
    assert window.player.playing
    qtbot.keyClick(window.scene, Qt.Key.Key_Space)
    assert not window.player.playing
    qtbot.keyClick(window.scene, Qt.Key.Key_R)
    assert window.player.step == 0
    # In the function editor, Space is a space, not play.
    window.editor.edit.setFocus()
    qtbot.keyClick(window.editor.edit, Qt.Key.Key_Space)
    assert not window.player.playing


def test_divergence_is_shown_and_the_view_stays_put(qtbot, window):
    old = window.trajectory
    window.load_preset("parabola")
    wait_new(qtbot, window, old)
    assert window.session.preset == "parabola"
    traj = window.trajectory
    k = window.session.runs.index(next(r for r in window.session.runs if r.params["lr"] > 1))
    assert traj.status[k] == "diverged"
    stop = int(traj.stop_step[k])
    view_before = window.scene.surface.getViewBox().viewRange()
    window.player.seek(stop - 1)
    assert window.stats.row_text(k)["status"] == "running"
    window.player.seek(window.player.limit)
    assert window.stats.row_text(k)["status"] == f"diverged at {stop}"
    assert window.scene.points.data["symbol"][k] == "x"
    assert window.scene.surface.getViewBox().viewRange() == view_before
    others = [window.stats.row_text(j)["status"] for j in range(len(window.session.runs)) if j != k]
    assert not any(s.startswith("diverged") for s in others)


def test_hiding_a_run_keeps_the_computation(qtbot, window):
    item = window.runs_panel.list.item(1)
    traj = window.trajectory
    item.setCheckState(Qt.CheckState.Unchecked)
    assert window.session.runs[1].visible is False
    qtbot.wait(100)
    assert window.trajectory is traj  # nothing recomputed
    assert not window.scene.run_items[1].trail.isVisible()
    assert window.scene.run_items[0].trail.isVisible()


def test_one_variable_function_gets_the_curve_view(qtbot, window):
    old = window.trajectory
    type_function(qtbot, window, "x^4 - 2x^2")
    wait_new(qtbot, window, old)
    assert window.loss.dim == 1
    assert len(window.session.domain) == 1 and len(window.session.start) == 1
    assert window.scene.curve.isVisible() and not window.scene.image.isVisible()
    # Surface-only settings are greyed out for a curve, the number of contour lines too.
    vp = window.view_panel
    assert not vp.checks["contours"].isEnabled() and not vp.n_contours.isEnabled()
    window.player.seek(10)
    # The ball sits on the curve: its height is the loss at its position.
    x = window.trajectory.positions[10, 0, 0]
    y = window.scene.points.data["y"][0]
    assert y == pytest.approx(x**4 - 2 * x**2)


def test_view_toggles_and_theme(qtbot, window):
    vp = window.view_panel
    vp.checks["gradient_field"].setChecked(True)
    assert window.scene.field.isVisible()
    vp.checks["show_grad_norm"].setChecked(True)
    vp.checks["show_lr"].setChecked(True)
    # Both join the loss column: stacked, or as tabs when it is too short for that.
    column = window.scene.column
    assert window.scene.gnorm_plot in column.plots() and window.scene.lr_plot in column.plots()
    extra = (window.scene.gnorm_plot, window.scene.lr_plot)
    if column.stacked:
        assert all(p.isVisible() for p in extra)
    else:  # one plot at a time, each behind a tab
        tabs = [column.tabs.tabText(i) for i in range(column.tabs.count())]
        assert column.tabs.isVisible() and all(p.title in tabs for p in extra)
    vp.checks["contours"].setChecked(False)
    assert not window.scene.contours.isVisible()
    window.set_theme("light")
    assert window.scene.surface_view.backgroundBrush().color().name() == "#ffffff"
    window.set_font_scale(2.0)
    assert window.theme.font_scale == 2.0
    window.set_theme("dark")
    assert window.theme.font_scale == 2.0  # the scale survives a theme switch


def test_mouse_zoom_resamples_the_surface_and_updates_the_ranges(qtbot, window):
    vb = window.scene.surface.getViewBox()
    before = window.scene.image.image.copy()
    vb.scaleBy((0.5, 0.5))  # what the mouse wheel does
    vb.sigRangeChangedManually.emit([True, True])
    qtbot.waitUntil(lambda: window.session.domain[0][1] < 1.5, timeout=WAIT)
    (x0, x1), (y0, y1) = window.session.domain
    assert x1 - x0 == pytest.approx(2.0, rel=0.05) and y1 - y0 == pytest.approx(2.0, rel=0.05)
    assert window.view_panel.x_range.text() == f"{x0:.4g}, {x1:.4g}"
    assert not np.array_equal(before, window.scene.image.image)  # sampled anew, sharper
    # "Reset zoom" goes back to the preset's window, not the zoomed one.
    window.view_panel.reset_view.click()
    home = next(p for p in load_presets() if p.name == DEFAULT_PRESET).session.domain
    assert window.session.domain == home
    (vx0, vx1), _ = vb.viewRange()
    assert (vx0, vx1) == pytest.approx(home[0], abs=0.01)
    assert window.view_panel.x_range.text() == f"{home[0][0]:.4g}, {home[0][1]:.4g}"


def test_dragging_the_start_marker_moves_the_start(qtbot, window):
    old = window.trajectory
    window.scene.target.setPos(0.25, -0.5)
    window.scene.target.sigPositionChangeFinished.emit(window.scene.target)
    wait_new(qtbot, window, old)
    assert window.session.start == pytest.approx((0.25, -0.5))
    assert np.allclose(window.trajectory.positions[0, :], [0.25, -0.5])


def test_3d_height_mode_is_part_of_the_session(qtbot, window, tmp_path):
    # Chosen in the 3D view's menu, the height mode goes into the session
    # (saved, exported); a later change in the view panel keeps it; a loaded
    # session sets it on the 3D view.
    from dataclasses import replace

    from gdviz.core.session_io import load_session, save_session

    window.view3d.set_height_mode("log")
    assert window.session.view.height_3d == "log"
    window.view_panel.checks["contours"].click()
    assert window.session.view.height_3d == "log"
    assert window.session.view.contours is False
    path = tmp_path / "s.gdviz.toml"
    save_session(window.session, path)
    assert load_session(path).session.view.height_3d == "log"
    other = replace(window.session, view=replace(window.session.view, height_3d="linear"))
    window.load_session(other)
    assert window.view3d.height_mode == "linear"
    assert window.view_panel.view().height_3d == "linear"


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_side_panel_titles_are_never_covered(qtbot, window, scale):
    # Each section's title is laid out above its content at any text size.
    from PySide6.QtWidgets import QGroupBox, QLabel

    window.set_font_scale(scale)
    qtbot.wait(10)
    boxes = window.side_scroll.widget().findChildren(QGroupBox)
    titles = []
    for box in boxes:
        header = next(w for w in box.findChildren(QLabel) if w.property("role") == "section")
        titles.append(header.text())
        content = box.layout().itemAt(1).widget()
        assert header.geometry().bottom() < content.geometry().top()
        assert header.height() >= header.fontMetrics().height()
        assert header.font().bold()
    assert titles == ["Data", "Runs", "View"]


def test_a_shorter_function_does_not_move_the_plots(qtbot, window):
    # Long formulas are cut to the rows short ones take (whole in their
    # tooltips): a header that changes height with the function moved the
    # plots and had the whole window laid out and every cached trail drawn
    # again at each change of function.
    window.resize(1280, 800)
    beale = "(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2"
    qtbot.wait(300)  # the columns are fitted to the new size a turn or two later
    sizes = [(window.editor.height(), window.body.size())]  # Rosenbrock's
    for text in (beale, "x^2 + y^2", beale, "x^4 - x^2", "x^2 + y^2"):
        old = window.trajectory
        type_function(qtbot, window, text)
        wait_new(qtbot, window, old)
        qtbot.wait(50)
        sizes.append((window.editor.height(), window.body.size()))
        if text == beale:
            cut = [lb for lb in window.editor.math.lines() if lb.is_elided()]
            assert cut, "Beale's gradient does not fit in 1280 px"
            for lb in cut:
                assert lb.text() in html.unescape(re.sub(r"<[^>]+>", "", lb.toolTip()))
    assert len({h for h, _ in sizes}) == 1, sizes  # the header never changed height
    two_d = [size for (h, size), t in zip(sizes, (1, 1, 1, 1, 0, 1), strict=True) if t]
    assert len(set(two_d)) == 1  # and the 2-D plots never moved


def test_a_window_message_lies_over_the_plots_and_moves_nothing(qtbot, window, monkeypatch):
    # A message line in the layout shrank the plots when it came and grew
    # them back when it went: the whole window laid out and painted twice.
    window.resize(1280, 800)
    qtbot.wait(300)  # the columns are fitted to the new size a turn or two later
    before = (window.body.geometry(), window.splitter.geometry(), window.editor.geometry())
    long = "Could not open the session: " + "/very/long/folder" * 12 + "/week3.gdviz.toml"
    window.show_message(long)
    qtbot.wait(50)
    banner = window.message
    assert banner.isVisible() and banner.text() == long
    assert (window.body.geometry(), window.splitter.geometry(), window.editor.geometry()) == before
    # Over the top of the plots (under their tabs), as wide as they are, wrapped.
    surface = window.surface_tabs  # the banner lies over the surface
    top = QRect(surface.mapTo(banner.parentWidget(), QPoint(0, 0)), surface.size())
    assert top.contains(banner.geometry()) and banner.width() == top.width()
    assert banner.label.height() >= 2 * banner.fontMetrics().height()  # wrapped
    assert banner.height() >= banner.layout().totalHeightForWidth(banner.width())
    # It follows the window's width.
    window.resize(1000, 800)
    qtbot.waitUntil(lambda: banner.width() == window.surface_tabs.width(), timeout=WAIT)
    # A click on the text closes it; the plots stay where they were.
    qtbot.mouseClick(banner.label, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()
    # A note goes by itself; an error stays.
    monkeypatch.setattr("gdviz.ui.main_window.NOTE_SHOWN_MS", 50)
    window.show_message("Saved the animation to out.gif", error=False)
    assert banner.isVisible()
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=WAIT)
    window.show_message("could not compute the runs")
    qtbot.wait(200)
    assert banner.isVisible()
