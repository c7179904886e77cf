"""What the window's random-action test found, each pinned down by a small test.

(The random walk itself is tests/test_ui_random_actions.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from _ui_support import WAIT, ready, shown_window
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from gdviz.core.data import Dataset
from gdviz.core.engine import RunConfig, run
from gdviz.core.loss import compile_loss
from gdviz.core.session_io import MAX_COORD
from gdviz.ui.data_panel import DataPanel
from gdviz.ui.scene import Scene
from gdviz.ui.theme import get_theme


def test_new_data_without_a_column_of_the_loss_is_still_drawn(qtbot):
    # The loss uses x and y; the next file has x and z only. Until a loss over
    # it compiles (and "(w x + b - y)^2" never will) the old loss stays: the
    # plot must draw the columns the new data has, not look for y there.
    panel = DataPanel(get_theme("dark", 1.0))
    qtbot.addWidget(panel)
    panel.set_enabled(True)
    panel.set_loss(panel.compile("(w*x + b - y)^2"))
    assert panel.model is not None and panel.model.target == "y"
    data = Dataset("no_y.csv", {"x": [0.0, 1.0, 2.0], "z": [5.0, 6.0, 7.0]})
    panel.set_dataset(data)
    xs, ys = panel.samples.getData()
    assert list(xs) == [0.0, 1.0, 2.0] and list(ys) == [5.0, 6.0, 7.0]
    panel.set_theme(get_theme("light", 1.5))  # redraws the samples again
    panel.show_step(0)
    panel.grab()


def test_a_run_whose_height_is_not_finite_draws_no_marker(qtbot):
    # 1/x at x = 0: the 1-D run's marker would sit at height inf, and a
    # scatter of only non-finite points makes pyqtgraph warn while painting.
    loss = compile_loss("1/x")
    traj = run(loss, [RunConfig("gd", {"lr": 0.1}, (0.0,))], 5)
    scene = Scene("both", get_theme("dark", 1.0))
    qtbot.addWidget(scene)
    scene.resize(800, 500)
    scene.show()
    scene.set_problem(loss, ((-3.0, 3.0),))
    scene.set_runs(traj, ["#ff0000"], ["1. gd"])
    with qtbot.capture_exceptions() as raised:
        scene.set_step(0)
        scene.grab()
    assert raised == []
    assert len(scene.points.getData()[0]) == 0


def _wheel(view, delta: int) -> None:
    vp = view.viewport()
    pos = QPointF(vp.rect().center())
    QApplication.sendEvent(
        vp,
        QWheelEvent(
            pos,
            QPointF(vp.mapToGlobal(pos.toPoint())),
            QPoint(0, 0),
            QPoint(0, delta),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        ),
    )


@pytest.mark.slow
def test_zooming_out_past_what_a_file_holds_stops_the_surface_there(qtbot, tmp_path):
    w = shown_window(qtbot)
    vb = w.scene.surface.getViewBox()
    for _ in range(40):  # each turn of the wheel zooms out further
        _wheel(w.scene.surface_view, -1200)
    (x0, x1), _ = vb.viewRange()
    assert x1 - x0 > 2 * MAX_COORD  # the picture is zoomed out that far …
    qtbot.waitUntil(lambda: w.session.domain[0][1] - w.session.domain[0][0] > 1e5, timeout=WAIT)
    dom = w.session.domain
    assert all(-MAX_COORD <= lo < hi <= MAX_COORD for lo, hi in dom)  # … the session not
    assert np.isfinite(w.scene.view_range()).all()
    path = tmp_path / "zoomed.gdviz.toml"
    assert w.classroom.save_to(str(path))
    assert w.open_session(str(path)) and w.session.domain == dom


@pytest.mark.parametrize("text", ["x^2 + y^2 + 1e300", "0 x + 0 y + 1e300"])
def test_a_surface_flat_beyond_its_precision_draws_in_one_colour(qtbot, text):
    # Every value is 1e300 (+ something below its precision): low + 1 == low,
    # so the colour scale had no span and divided 0 by 0.
    scene = Scene("both", get_theme("dark", 1.0))
    qtbot.addWidget(scene)
    scene.resize(800, 500)
    scene.show()
    scene.set_problem(compile_loss(text), ((-3.0, 3.0), (-3.0, 3.0)))
    scene.grab()
    assert scene.image.isVisible()


@pytest.mark.slow
def test_removing_a_run_while_a_preset_compiles_is_kept(qtbot):
    w = shown_window(qtbot)
    w.load_preset("himmelblau")  # compiles on the worker: its session is pending
    assert len(w.runs_panel.runs()) == 4
    w.runs_panel.list.setCurrentRow(0)
    qtbot.mouseClick(w.runs_panel.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ready(w) and w.session.function.startswith("(x^2 + y"), timeout=WAIT)
    qtbot.waitUntil(lambda: ready(w) and w.trajectory.positions.shape[1] == 3, timeout=WAIT)
    assert len(w.session.runs) == len(w.runs_panel.runs()) == 3


def _panel_with_runs(qtbot, k: int = 3):
    panel = DataPanel(get_theme("dark", 1.0))
    qtbot.addWidget(panel)
    panel.set_enabled(True)
    panel.batches.setText("batch, 1, 16")
    panel.set_loss(panel.compile("(w*x + b - y)^2"))
    obj = panel.objective(k)
    traj = run(obj, [RunConfig("gd", {"lr": 0.05}, (0.0, 0.0))] * k, 30)
    panel.set_runs(traj, ["#ff0000"] * k, [f"{i + 1}. gd" for i in range(k)], log_loss=False)
    panel.show_step(10)
    return panel, traj


def test_runs_from_before_dataset_mode_are_not_drawn_with_its_objective(qtbot):
    # A 1-D preset's four runs were still on screen when a run was duplicated
    # right after dataset mode came on: four runs, but not over (w, b).
    panel, _traj = _panel_with_runs(qtbot)
    panel.objective(4)
    plain = run(compile_loss("x^2"), [RunConfig("gd", {"lr": 0.1}, (1.0,))] * 4, 100)
    panel.set_runs(plain, ["#ff0000"] * 4, ["a", "b", "c", "d"], log_loss=False)
    panel.show_step(50)
    assert panel.model_items == [] and panel.full_losses() is None


def test_runs_that_outnumber_the_objective_are_not_drawn(qtbot):
    # Computed before a run was removed: 4 runs, an objective with 3 batch sizes.
    panel, _traj = _panel_with_runs(qtbot, 3)
    more = run(panel.loss.sampled(16), [RunConfig("gd", {"lr": 0.05}, (0.0, 0.0))] * 4, 30)
    panel.set_runs(more, ["#ff0000"] * 4, ["a", "b", "c", "d"], log_loss=False)
    panel.show_step(20)
    assert panel.model_items == [] and panel.full_losses() is None


def test_smaller_data_drops_the_runs_over_the_old_samples(qtbot):
    panel, _traj = _panel_with_runs(qtbot)
    assert len(panel.batch_marks.getData()[0]) == 1  # run 2's sample at step 10
    assert panel.load_builtin("line", 5)  # 100 samples → 5; the loss is the old data's
    panel.show_step(12)
    assert panel.model_items == [] and len(panel.batch_marks.getData()[0]) == 0
    with pytest.raises(ValueError, match="not compiled for line"):
        panel.objective(3)
    panel.set_loss(panel.compile("(w*x + b - y)^2"))  # compiled for the new samples
    assert panel.objective(3).loss.n == 5


def test_runs_over_the_last_data_are_not_drawn_on_the_new(qtbot):
    # The window still holds the runs over 100 samples when a redraw (a theme
    # switch, a penalty change) hands them over again after new, smaller data.
    panel, traj = _panel_with_runs(qtbot)
    assert panel.load_builtin("line", 20)
    panel.set_runs(traj, ["#ff0000"] * 3, ["a", "b", "c"], log_loss=False)
    panel.set_theme(get_theme("light", 1.5))
    panel.show_step(25)
    assert panel.model_items == [] and len(panel.batch_marks.getData()[0]) == 0


@pytest.mark.slow
def test_dataset_mode_switched_on_off_on_keeps_the_runs_in_step(qtbot):
    # On: the race's three runs; off: the plain session comes back (compiling);
    # on again before it has compiled: the race's runs again, not the plain ones.
    w = shown_window(qtbot)
    box = w.data_panel.enable
    for _ in range(3):
        box.click()
    assert w.data_panel.enabled and len(w.runs_panel.runs()) == 3
    qtbot.waitUntil(lambda: ready(w) and w.loss.variables == ("w", "b"), timeout=WAIT)
    qtbot.waitUntil(lambda: ready(w) and w.trajectory.positions.shape[1] == 3, timeout=WAIT)
    assert len(w.session.runs) == len(w.runs_panel.runs()) == 3


def test_a_curve_of_only_non_finite_points_paints(qtbot):
    # A 1-D run whose height is nan at every step drawn so far (log(x) at
    # x < 0) has no point on the curve. The trail's items are reused, and one
    # drew finite heights before: pyqtgraph then failed on every paint (with
    # lines wider than 1 px, as at 2× text and lines).
    from dataclasses import replace

    loss = compile_loss("x^2")
    scene = Scene("both", get_theme("dark", 2.0))
    qtbot.addWidget(scene)
    scene.resize(900, 500)
    scene.show()
    scene.set_problem(loss, ((-3.0, 3.0),))
    traj = run(loss, [RunConfig("gd", {"lr": 0.01}, (2.0,))] * 2, 20)
    with qtbot.capture_exceptions() as raised:
        for losses in (traj.losses, np.full_like(traj.losses, np.nan)):
            scene.set_runs(replace(traj, losses=losses), ["#ff0000", "#00ff00"], ["a", "b"])
            for i in (8, 3, 9):
                scene.set_step(i)
                scene.grab()
    assert raised == []


def test_runs_on_screen_keep_their_objective_while_a_newer_one_computes(qtbot):
    # A run was removed: the engine got an objective for 3 runs, while the 4
    # runs on screen keep stepping with the one they were computed on.
    panel, _traj = _panel_with_runs(qtbot, 4)
    before = panel.epochs.text()
    assert before == "epochs after step 10: 1: 10 · 2: 0.1 · 3: 1.6 · 4: 1.6"
    panel.objective(3)
    panel.show_step(10)
    assert panel.epochs.text() == before
    assert len(panel.model_items) == 4 and len(panel.batch_marks.getData()[0]) == 1


def test_the_table_loss_of_runs_on_screen_is_over_their_own_loss(qtbot):
    # A loss in w alone compiled while the runs in (w, b) are still shown:
    # the numbers table asks for their full-data loss at a step.
    panel, traj = _panel_with_runs(qtbot, 3)
    loss = panel.loss
    panel.set_loss(panel.compile("(w*x - y)^2"))
    np.testing.assert_allclose(panel.full_loss_at(7), loss.value(traj.positions[7]))


def test_a_start_or_range_set_while_a_file_loads_waits_for_its_function(qtbot):
    # A one-variable session was loading while the two-parameter dataset loss
    # was still on screen; a range edited meanwhile handed the views the new
    # session's one-number start against the old loss.
    from dataclasses import replace

    w = shown_window(qtbot)
    one_d = replace(w.session, function="x^4 - x^2", domain=((-2.0, 2.0),), start=(1.5,))
    old = w.trajectory
    with qtbot.captureExceptions() as errors:
        w.model.load_session(one_d)
        assert w.loss.dim == 2  # still the old function on screen
        w.model.set_domain(((-3.0, 3.0),))
        w.model.set_start((1.0,))
        qtbot.waitUntil(lambda: w.trajectory is not old and w.loss.dim == 1, timeout=WAIT)
    assert errors == []
    assert w.session.domain == ((-3.0, 3.0),) and w.session.start == (1.0,)
    assert w.scene.view_range()[0] == pytest.approx((-3.0, 3.0), abs=0.05)


def test_a_failed_text_typed_while_a_preset_loads_keeps_session_and_function_together(qtbot):
    # The preset's compile was replaced by a typed text that failed: the
    # preset's one-variable session stayed with the old two-variable function
    # on screen, and the next zoom handed the scene a one-number start.
    w = shown_window(qtbot)
    assert w.loss.dim == 2
    preset = next(p for p in w.model.presets if len(p.session.domain) == 1)
    with qtbot.captureExceptions() as errors:
        w.model.load_preset(preset.name)
        w.model.set_function("~x")  # typed before the preset compiled; does not parse
        qtbot.waitUntil(lambda: w.model.error is not None, timeout=WAIT)
        qtbot.wait(200)
        assert len(w.session.start) == w.loss.dim == len(w.session.domain)
        w.model.set_domain(w.session.domain, home=False)
        w.model.set_start(w.session.start)
        qtbot.wait(100)
    assert errors == []
