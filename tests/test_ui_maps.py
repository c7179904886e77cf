"""The maps panel: drawing, clicking cells, the worker thread, progress and Cancel."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from gdviz.core.engine import RunConfig
from gdviz.core.loss import compile_loss
from gdviz.core.sweep import DIVERGED, BasinMap, SweepMap, basin_map, lr_grid, sweep_map
from gdviz.ui.maps import (
    DIVERGED_COLOR,
    NOT_CONVERGED_COLOR,
    BasinLayer,
    MapsPanel,
    MapView,
    basin_colors,
    render_map,
    sweep_colors,
)

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"


@pytest.fixture(scope="module")
def quadratic():
    return compile_loss("2x^2 + y^2/2")


@pytest.fixture(scope="module")
def himmelblau():
    return compile_loss(HIMMELBLAU)


@pytest.fixture(scope="module")
def momentum_sweep(quadratic):
    return sweep_map(
        quadratic,
        RunConfig("momentum", {}, (1.0, 1.0)),
        lr_grid(0.01, 3.0, 20),
        y_param="momentum",
        y_values=[0.0, 0.5, 0.9],
        steps=2000,
    )


def click(view: MapView, point: QPointF) -> None:
    """Left-click the map at a point in data coordinates."""
    vb = view.plot.getViewBox()
    scene_pt = vb.mapViewToScene(point)
    widget_pt = view.glw.mapFromScene(scene_pt)
    QTest.mouseClick(view.glw.viewport(), Qt.MouseButton.LeftButton, pos=widget_pt)


def rgb(color: str) -> tuple[int, int, int]:
    c = QColor(color)
    return c.red(), c.green(), c.blue()


def test_sweep_colours_mark_diverged_cells(momentum_sweep):
    col = sweep_colors(momentum_sweep, "steps")
    div = momentum_sweep.status == DIVERGED
    assert div.any() and (~div).any()
    assert (col.rgba[div][:, :3] == rgb(DIVERGED_COLOR)).all()
    assert not (col.rgba[~div][:, :3] == rgb(DIVERGED_COLOR)).all(axis=1).any()
    assert ("#e8202a", "diverged") in col.legend
    assert col.bar is not None and col.bar[2] == "steps to converge"
    # Fewer steps are brighter: compare the fastest and slowest converged cells.
    steps = np.where(momentum_sweep.status == 2, momentum_sweep.stop_step, -1)
    fast = np.unravel_index(np.argmin(np.where(steps < 0, 10**9, steps)), steps.shape)
    slow = np.unravel_index(np.argmax(steps), steps.shape)
    assert col.rgba[fast][:3].sum() > col.rgba[slow][:3].sum()
    loss_col = sweep_colors(momentum_sweep, "loss")
    assert loss_col.bar[2] in ("final loss", "log₁₀ final loss")
    with pytest.raises(ValueError):
        sweep_colors(momentum_sweep, "speed")


def test_basin_colours_and_legend(himmelblau):
    m = basin_map(himmelblau, RunConfig("gd", {"lr": 0.01}), ((-5, 5), (-5, 5)), 30, steps=20)
    col = basin_colors(m)
    texts = [t for _, t in col.legend]
    assert any(t.startswith("not converged in 20 steps") for t in texts)
    assert (col.rgba[m.labels == -1][:, :3] == rgb(NOT_CONVERGED_COLOR)).all()
    for i in range(len(m.minima)):
        assert texts[i].startswith(f"{i + 1}: (")


def test_clicking_a_sweep_cell_emits_its_row_and_column(qtbot, momentum_sweep):
    view = MapView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    view.set_map(momentum_sweep)
    qtbot.waitExposed(view)
    for row, col in [(0, 0), (2, 19), (1, 7)]:
        with qtbot.waitSignal(view.cellClicked, timeout=2000) as sig:
            click(view, view.cell_center(row, col))
        assert sig.args == [row, col]
    # Outside the cells: nothing.
    with qtbot.assertNotEmitted(view.cellClicked):
        click(view, QPointF(view.cell_center(0, 0).x(), -3.0))


def test_hovering_a_cell_reads_it_out(qtbot, momentum_sweep, himmelblau):
    view = MapView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    view.set_map(momentum_sweep)
    qtbot.waitExposed(view)
    vb = view.plot.getViewBox()
    view._moved(vb.mapViewToScene(view.cell_center(2, 19)))
    assert view.readout.text() == (
        f"lr = {momentum_sweep.lrs[19]:.3g}, momentum = 0.9: diverged at step "
        f"{momentum_sweep.stop_step[2, 19]}"
    )
    view._moved(vb.mapViewToScene(view.cell_center(0, 0)))
    assert view.readout.text().startswith("lr = 0.01, momentum = 0: converged in ")
    m = basin_map(himmelblau, RunConfig("gd", {"lr": 0.01}), ((-5, 5), (-5, 5)), 10, steps=300)
    view.set_map(m)
    view._moved(vb.mapViewToScene(QPointF(3.2, 2.2)))
    assert view.readout.text().startswith("start (3.5, 2.5) → minimum ")
    view._moved(vb.mapViewToScene(QPointF(30, 2.2)))  # off the map
    assert view.readout.text() == " "


def test_panel_sweep_click_adds_the_right_run(qtbot, quadratic):
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    panel.set_problem(quadratic, (1.0, -1.0), ((-2, 2), (-2, 2)))
    lrs = lr_grid(0.05, 2.0, 12)
    with qtbot.waitSignal(panel.computeEnded, timeout=30_000):
        panel.request_sweep(RunConfig("momentum", {"dampening": 0.0}), lrs, "momentum", [0.2, 0.8])
    assert not panel.busy
    m = panel.view.map
    assert isinstance(m, SweepMap) and m.shape == (2, 12)
    assert m.start == (1.0, -1.0)  # the panel's start fills in a config without one
    assert "converged" in panel.message.text()
    with qtbot.waitSignal(panel.addRun, timeout=2000) as sig:
        click(panel.view, panel.view.cell_center(1, 3))
    cfg = sig.args[0]
    assert isinstance(cfg, RunConfig)
    assert cfg == m.config(1, 3)
    assert cfg.optimizer == "momentum"
    assert cfg.params["lr"] == pytest.approx(lrs[3])
    assert cfg.params["momentum"] == 0.8 and cfg.params["dampening"] == 0.0
    assert cfg.start == (1.0, -1.0)


def test_panel_basins_click_sets_the_start_and_feeds_the_layer(qtbot, himmelblau):
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 700)
    panel.show()
    panel.set_problem(himmelblau, (0.0, 0.0), ((-5, 5), (-5, 5)))
    with qtbot.waitSignal(panel.basinMapReady, timeout=30_000) as ready:
        panel.request_basins(RunConfig("gd", {"lr": 0.01}), n=40, steps=400)
    m = ready.args[0]
    assert isinstance(m, BasinMap) and len(m.minima) == 4
    assert "4 minima" in panel.message.text()
    with qtbot.waitSignal(panel.setStart, timeout=2000) as sig:
        click(panel.view, QPointF(3.1, 2.1))
    row, col = m.cell_at((3.1, 2.1))
    assert sig.args[0] == m.start(row, col)
    assert sig.args[0] == pytest.approx((3.125, 2.125))

    layer = BasinLayer()
    layer.set_map(m)
    assert layer.isVisible() and layer.image.shape == (40, 40, 4)
    rect = layer.mapRectToParent(layer.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == pytest.approx((-5, -5, 10, 10))
    layer.set_map(None)
    assert not layer.isVisible()


def test_one_variable_basins_draw_the_graph_and_click_to_a_start(qtbot):
    loss = compile_loss("x^4 - 2x^2 + 0.3x")
    m = basin_map(loss, RunConfig("gd", {"lr": 0.02}), ((-2, 2),), 40, steps=3000)
    view = MapView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    view.set_map(m, loss=loss)
    qtbot.waitExposed(view)
    xs, ys = view.graph.getData()
    assert len(xs) == 800 and np.nanmin(ys) == pytest.approx(m.minima[0].loss, abs=1e-3)
    # The stars sit on the graph, at the minima.
    marks = view.marks.getData()
    np.testing.assert_allclose(
        sorted(zip(*marks, strict=True)), sorted((mn.position[0], mn.loss) for mn in m.minima)
    )
    with qtbot.waitSignal(view.cellClicked, timeout=2000) as sig:
        click(view, view.cell_center(0, 30))
    assert sig.args == [0, 30]
    assert m.start(0, 30) == pytest.approx((0.05 + 0.1 * 10,))

    layer = BasinLayer()
    layer.set_map(m)  # no height for the bands: stays hidden
    assert not layer.isVisible()
    layer.set_map(m, y_range=(-2.0, 8.0))
    rect = layer.mapRectToParent(layer.boundingRect())
    assert (rect.left(), rect.top(), rect.width(), rect.height()) == pytest.approx((-2, -2, 4, 10))


def test_cancel_stops_the_worker_and_keeps_the_window_responsive(qtbot, himmelblau):
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.set_problem(himmelblau, (0.0, 0.0), ((-5, 5), (-5, 5)))
    # About a minute of work if it ran to the end: nothing converges at this lr.
    gen = panel.request_basins(RunConfig("gd", {"lr": 1e-7}), n=400, steps=20_000)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=20_000)
    assert panel.busy and panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.computeEnded, timeout=10_000) as sig:
        panel.cancel()
        assert not panel.busy  # at once, before the worker noticed
    assert sig.args == [gen, "cancelled"]
    assert panel.message.text() == "cancelled"
    assert panel.compute_button.isEnabled() and not panel.cancel_button.isEnabled()
    # The worker is free again: a small map comes back quickly.
    with qtbot.waitSignal(panel.basinMapReady, timeout=20_000):
        panel.request_basins(RunConfig("gd", {"lr": 0.01}), n=10, steps=100)


def test_a_new_request_replaces_a_running_one(qtbot, himmelblau):
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.set_problem(himmelblau, (0.0, 0.0), ((-5, 5), (-5, 5)))
    ends = []
    panel.computeEnded.connect(lambda gen, how: ends.append((gen, how)))
    first = panel.request_basins(RunConfig("gd", {"lr": 1e-7}), n=400, steps=20_000)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=20_000)
    with qtbot.waitSignal(panel.basinMapReady, timeout=30_000) as sig:
        second = panel.request_basins(RunConfig("gd", {"lr": 0.01}), n=12, steps=200)
    assert sig.args[0].shape == (12, 12)
    assert ends == [(first, "cancelled"), (second, "finished")]  # the first stopped early


def test_deleting_the_panel_stops_its_thread(qtbot, himmelblau):
    panel = MapsPanel()
    panel.set_problem(himmelblau, (0.0, 0.0), ((-5, 5), (-5, 5)))
    thread = panel._thread
    panel.request_basins(RunConfig("gd", {"lr": 1e-7}), n=400, steps=20_000)
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=20_000)
    assert thread.isRunning()
    panel.deleteLater()
    qtbot.waitUntil(thread.isFinished, timeout=20_000)


def test_compute_from_the_controls_and_bad_settings(qtbot, quadratic):
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.set_problem(quadratic, (1.0, 1.0), ((-2, 2), (-2, 2)))
    i = panel.optimizer.findData("adam")
    panel.optimizer.setCurrentIndex(i)
    names = [panel.y_axis.itemData(k) for k in range(panel.y_axis.count())]
    assert names == [None, "beta1", "beta2", "eps", "weight_decay", "optimizer"]
    panel.y_axis.setCurrentIndex(names.index("beta1"))
    panel.lr_range.setText("1e-3:0.5:7")
    panel.y_values.setText("0:0.9:4")
    panel.sweep_steps.setValue(300)
    with qtbot.waitSignal(panel.computeEnded, timeout=30_000):
        assert panel.compute() > 0
    m = panel.sweep_result
    assert m.optimizer == "adam" and m.y_param == "beta1" and m.shape == (4, 7)
    assert m.y_values == pytest.approx((0.0, 0.3, 0.6, 0.9))

    panel.lr_range.setText("fast")
    assert panel.compute() == -1
    assert "learning rates 'fast'" in panel.message.text() and not panel.busy
    panel.lr_range.setText("1e-3:0.5:7")
    panel.y_values.setText("0,2")
    with qtbot.waitSignal(panel.computeEnded, timeout=10_000) as sig:
        panel.compute()
    assert sig.args[1] == "failed"
    assert "out of range" in panel.message.text()
    assert not panel.busy

    panel.tabs.setCurrentIndex(1)
    panel.basin_spec.setText("gd:lr=oops")
    assert panel.compute() == -1
    assert "lr must be a number" in panel.message.text()


def test_a_new_function_clears_the_old_map(qtbot, quadratic, himmelblau, momentum_sweep):
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.set_problem(quadratic, (1.0, 1.0), ((-2, 2), (-2, 2)))
    panel.view.set_map(momentum_sweep)
    with qtbot.waitSignal(panel.basinMapReady) as sig:
        panel.set_problem(himmelblau, (0.0, 0.0), ((-5, 5), (-5, 5)))
    assert sig.args == [None] and panel.view.map is None
    # Same function, new start: the map stays.
    panel.view.set_map(momentum_sweep)
    panel.set_problem(himmelblau, (1.0, 0.0), ((-5, 5), (-5, 5)))
    assert panel.view.map is momentum_sweep


def test_set_base_run_prefills_the_settings(qtbot):
    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.set_base_run(RunConfig("nesterov", {"lr": 0.02, "momentum": 0.8}, (0.0, 0.0)))
    assert panel.optimizer.currentData() == "nesterov"
    assert panel.basin_spec.text() == "nesterov:lr=0.02,momentum=0.8"


def test_render_map_draws_at_the_asked_size(qapp, momentum_sweep):
    img = render_map(momentum_sweep, (640, 400))
    assert (img.width(), img.height()) == (640, 400)
    colours = {img.pixel(x, y) for x in range(0, 640, 4) for y in range(0, 400, 4)}
    assert QColor(DIVERGED_COLOR).rgb() in colours


def test_maps_dock_wires_panel_layer_and_menu(qtbot, himmelblau, quadratic):
    import pyqtgraph as pg
    from PySide6.QtWidgets import QMainWindow

    from gdviz.ui.maps import MapsDock

    win = QMainWindow()
    qtbot.addWidget(win)
    surface = pg.PlotItem()
    selected = RunConfig("momentum", {"lr": 0.003, "momentum": 0.8}, (0.0, 0.0))
    dock = MapsDock(win, current_run=lambda: selected)
    win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    dock.attach_surface(surface)
    assert dock.layer in surface.items and not dock.layer.isVisible()
    sweep_act, basins_act, layer_act = dock.menu_actions()
    assert not layer_act.isEnabled()
    win.show()
    assert not dock.isVisible()

    dock.set_problem(himmelblau, (0.0, 0.0), ((-5, 5), (-5, 5)))
    basins_act.trigger()
    assert dock.isVisible() and dock.panel.tabs.currentIndex() == 1
    # The selected run of the race fills in the settings.
    assert dock.panel.basin_spec.text() == "momentum:lr=0.003,momentum=0.8"
    assert dock.panel.optimizer.currentData() == "momentum"
    with qtbot.waitSignal(dock.panel.basinMapReady, timeout=30_000):
        dock.panel.request_basins(RunConfig("gd", {"lr": 0.01}), n=20, steps=300)
    assert dock.layer.isVisible() and layer_act.isEnabled()
    layer_act.setChecked(False)
    assert not dock.layer.isVisible()
    layer_act.setChecked(True)
    assert dock.layer.isVisible()
    with qtbot.waitSignal(dock.setStart, timeout=2000) as sig:
        dock.panel.view.cellClicked.emit(0, 0)
    assert sig.args[0] == pytest.approx((-4.75, -4.75))

    # A new function: the old basins leave the surface.
    dock.set_problem(quadratic, (1.0, 1.0), ((-2, 2), (-2, 2)))
    assert not dock.layer.isVisible() and not layer_act.isEnabled()
    sweep_act.trigger()
    assert dock.panel.tabs.currentIndex() == 0
    with qtbot.waitSignal(dock.panel.computeEnded, timeout=30_000):
        dock.panel.request_sweep(RunConfig("gd", {}), [0.1, 0.2])
    with qtbot.waitSignal(dock.addRun, timeout=2000) as sig:
        dock.panel.view.cellClicked.emit(0, 1)
    assert sig.args[0] == RunConfig("gd", {"lr": 0.2}, (1.0, 1.0))


def test_second_axis_offers_valid_values_for_every_setting(qtbot):
    from gdviz.core.optimizers import OPTIMIZERS
    from gdviz.core.sweep import parse_values

    panel = MapsPanel()
    qtbot.addWidget(panel)
    for k in range(panel.optimizer.count()):
        panel.optimizer.setCurrentIndex(k)
        spec = OPTIMIZERS[panel.optimizer.currentData()]
        for j in range(panel.y_axis.count()):
            panel.y_axis.setCurrentIndex(j)
            y = panel.y_axis.currentData()
            text = panel.y_values.text()
            if y is None:
                assert not panel.y_values.isEnabled()
            elif y == "optimizer":
                assert all(n in OPTIMIZERS for n in text.split(","))
            else:
                values = parse_values(text)
                assert len(values) >= 5
                for v in values:
                    spec.hyperparam(y).check(v)  # raises if out of range


def test_the_prefilled_runs_schedule_is_kept(qtbot, quadratic):
    from gdviz.core.schedules import parse_schedule

    panel = MapsPanel()
    qtbot.addWidget(panel)
    panel.set_problem(quadratic, (1.0, 1.0), ((-2, 2), (-2, 2)))
    cosine = parse_schedule("cosine:t_max=50")
    panel.set_base_run(RunConfig("gd", {"lr": 0.1}, (1.0, 1.0), cosine))
    panel.lr_range.setText("0.01:0.1:3")
    with qtbot.waitSignal(panel.computeEnded, timeout=30_000):
        panel.compute()
    assert panel.sweep_result.schedule == cosine
    assert panel.sweep_result.config(0, 2).schedule == cosine
    panel.tabs.setCurrentIndex(1)
    with qtbot.waitSignal(panel.computeEnded, timeout=30_000):
        panel.compute()
    assert panel.basin_result.schedule == cosine
    # Another optimizer than the pre-filled run's: a constant rate.
    panel.basin_spec.setText("adam:lr=0.1")
    with qtbot.waitSignal(panel.computeEnded, timeout=30_000):
        panel.compute()
    assert panel.basin_result.schedule == parse_schedule("constant")


def test_main_window_offers_maps_and_takes_their_clicks(qtbot):
    from gdviz.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.trajectory is not None and w.complete, timeout=30_000)
    titles = [a.text() for a in w.menuBar().actions()]
    assert "&Maps" in titles
    menu = w.menuBar().actions()[titles.index("&Maps")].menu()
    names = [a.text() for a in menu.actions()]
    assert names == [
        "Learning-rate sweep…",
        "Basins of attraction…",
        "Show basins on the surface",
    ]
    menu.actions()[0].trigger()
    assert w.maps.isVisible()
    # The selected run of the race pre-fills the sweep.
    assert w.maps.panel.optimizer.currentData() == w.session.runs[0].optimizer

    n_runs = len(w.session.runs)
    with qtbot.waitSignal(w.maps.panel.computeEnded, timeout=30_000):
        w.maps.panel.request_sweep(RunConfig("momentum", {"momentum": 0.5}), [1e-4, 2e-4])
    old = w.trajectory
    w.maps.panel.view.cellClicked.emit(0, 1)
    assert len(w.session.runs) == n_runs + 1
    added = w.session.runs[-1]
    assert added.optimizer == "momentum" and added.params == {"momentum": 0.5, "lr": 2e-4}
    assert added.start is None  # the sweep ran from the window's start
    assert w.runs_panel.current() == n_runs
    qtbot.waitUntil(
        lambda: w.trajectory is not old and w.complete and w.trajectory.n_runs == n_runs + 1,
        timeout=30_000,
    )

    menu.actions()[1].trigger()
    assert w.maps.panel.tabs.currentIndex() == 1
    with qtbot.waitSignal(w.maps.panel.basinMapReady, timeout=30_000):
        w.maps.panel.request_basins(RunConfig("gd", {"lr": 1e-3}), n=16, steps=50)
    assert w.maps.layer in w.scene.surface.items and w.maps.layer.isVisible()
    m = w.maps.panel.basin_result
    w.maps.panel.view.cellClicked.emit(3, 5)
    assert w.session.start == m.start(3, 5)
