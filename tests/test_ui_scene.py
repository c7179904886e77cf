"""The shared scene: every step is drawn, masked regions stay empty, panels, 1-D."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.session import ViewSettings
from gdviz.ui.scene import Scene
from gdviz.ui.theme import DARK, LIGHT


def make_traj(text, starts, lrs, steps):
    loss = compile_loss(text)
    configs = [RunConfig("gd", {"lr": lr}, s) for s, lr in zip(starts, lrs, strict=True)]
    return loss, run(loss, configs, steps, stop=StopRules(max_steps=steps, grad_tol=None))


@pytest.fixture
def scene(qtbot):
    s = Scene("both", DARK)
    qtbot.addWidget(s)
    s.resize(900, 500)
    s.show()
    qtbot.waitExposed(s)
    return s


def test_trails_hold_every_step_up_to_the_index(scene):
    loss, traj = make_traj("x^2 + 10y^2", [(-2.0, 1.0)] * 3, [0.01, 0.05, 0.09], 400)
    scene.set_problem(loss, ((-3, 3), (-2, 2)))
    scene.set_runs(traj, ["#ff0000", "#00ff00", "#0000ff"], ["a", "b", "c"])
    for i in (0, 1, 17, 399, 400):
        scene.set_step(i)
        for k, items in enumerate(scene._run_items):
            x, y = items.trail.data()
            assert len(x) == i + 1
            assert np.array_equal(x, traj.positions[: i + 1, k, 0])
            assert np.array_equal(y, traj.positions[: i + 1, k, 1])
        assert np.allclose(scene.points.data["x"], traj.positions[i, :, 0])
        lx, _ly = scene._loss_items[0].data()
        assert len(lx) == i + 1
    scene.set_step(10_000)  # past the end: clamped, not an error
    assert scene.step == 400


def test_step_arrow_is_the_next_update(scene):
    loss, traj = make_traj("x^2 + y^2", [(2.0, 1.0)], [0.1], 20)
    scene.set_problem(loss, ((-3, 3), (-3, 3)))
    scene.set_runs(traj, ["#ff0000"], ["a"])
    scene.set_step(3)
    x, y = scene._run_items[0].step.getData()
    assert (x[0], y[0]) == pytest.approx(tuple(traj.positions[3, 0]))
    assert (x[1], y[1]) == pytest.approx(tuple(traj.positions[4, 0]))


def test_gradient_arrow_points_downhill(scene):
    scene.set_view(ViewSettings(grad_arrows=True))
    loss, traj = make_traj("x^2 + y^2", [(2.0, 1.0)], [0.1], 5)
    scene.set_problem(loss, ((-3, 3), (-3, 3)))
    scene.set_runs(traj, ["#ff0000"], ["a"])
    scene.set_step(0)
    x, y = scene._run_items[0].grad.getData()
    d = np.array([x[1] - x[0], y[1] - y[0]])
    assert d @ np.array([4.0, 2.0]) < 0


def test_masked_region_is_transparent(scene):
    loss = compile_loss("log(x) + y^2")
    scene.set_problem(loss, ((-1, 1), (-1, 1)))
    img = scene.image.image
    assert img.shape[2] == 4
    left = img[:, : img.shape[1] // 2 - 2, 3]
    right = img[:, img.shape[1] // 2 + 2 :, 3]
    assert np.all(left == 0)
    assert np.all(right > 0)


def test_log_levels_change_the_colour_scale(scene):
    loss = compile_loss("(1-x)^2 + 100(y-x^2)^2")
    scene.set_problem(loss, ((-2, 2), (-1, 3)))
    lin = scene.image.image.copy()
    scene.set_view(ViewSettings(log_levels=True))
    assert not np.array_equal(lin, scene.image.image)
    assert "log" in scene.colorbar.axis.labelText


def test_one_variable_draws_curve_and_balls_on_it(scene):
    loss, traj = make_traj("x^4 - 2x^2", [(1.8,), (0.3,)], [0.01, 0.02], 50)
    scene.set_problem(loss, ((-2, 2),))
    scene.set_runs(traj, ["#ff0000", "#00ff00"], ["a", "b"])
    scene.set_step(25)
    assert scene.curve.isVisible() and not scene.image.isVisible()
    xs = traj.positions[25, :, 0]
    assert np.allclose(scene.points.data["y"], xs**4 - 2 * xs**2)


@pytest.mark.parametrize("panels", ["surface", "loss", "both"])
def test_panels_and_grab_size(qtbot, panels):
    s = Scene(panels, LIGHT)
    qtbot.addWidget(s)
    s.resize(640, 360)
    s.show()
    loss, traj = make_traj("x^2 + y^2", [(1.0, 1.0)], [0.1], 10)
    s.set_problem(loss, ((-2, 2), (-2, 2)))
    s.set_runs(traj, ["#ff0000"], ["a"])
    s.set_step(5)
    assert s.surface_view.isVisibleTo(s) == (panels != "loss")
    assert s.loss_view.isVisibleTo(s) == (panels != "surface")
    img = s.grab().toImage()
    assert (img.width(), img.height()) == (640, 360)


def test_bad_panels_and_mismatched_runs_are_refused(qtbot):
    with pytest.raises(ValueError, match="panels"):
        Scene("everything")
    s = Scene()
    qtbot.addWidget(s)
    loss, traj = make_traj("x^2 + y^2", [(1.0, 1.0)] * 2, [0.1, 0.2], 5)
    s.set_problem(loss, ((-2, 2), (-2, 2)))
    with pytest.raises(ValueError, match="colours and labels"):
        s.set_runs(traj, ["#ff0000"], ["a"])


def test_runs_can_shrink_and_clear(scene):
    loss, traj3 = make_traj("x^2 + y^2", [(1.0, 1.0)] * 3, [0.1, 0.2, 0.3], 5)
    _, traj1 = make_traj("x^2 + y^2", [(1.0, 1.0)], [0.1], 5)
    scene.set_problem(loss, ((-2, 2), (-2, 2)))
    scene.set_runs(traj3, ["#ff0000"] * 3, ["a", "b", "c"])
    scene.set_runs(traj1, ["#ff0000"], ["a"])
    assert len(scene._run_items) == 1
    scene.set_runs(None, [], [])
    assert scene.n_steps == 0


def test_click_emits_the_data_point(qtbot, scene):
    loss = compile_loss("x^2 + y^2")
    scene.set_problem(loss, ((-2, 2), (-2, 2)))
    vb = scene.surface.getViewBox()
    pos = scene.surface_view.mapFromScene(vb.mapViewToScene(QPointF(-1.0, 0.5)))
    from PySide6.QtCore import Qt

    with qtbot.waitSignal(scene.startPicked, timeout=5000) as sig:
        qtbot.mouseClick(scene.surface_view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    x, y = sig.args[0]
    px = vb.viewPixelSize()
    assert x == pytest.approx(-1.0, abs=2 * px[0]) and y == pytest.approx(0.5, abs=2 * px[1])
