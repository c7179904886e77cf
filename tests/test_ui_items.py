"""The scene's graphics items, each on its own (gdviz/ui/items, one section per module)."""

import gc

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, Qt

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.session import ViewSettings
from gdviz.core.surface import sample_grid
from gdviz.ui.items import drawing
from gdviz.ui.items.colorbar import ColourBar
from gdviz.ui.items.fast_curve import FastCurve
from gdviz.ui.items.legend import RunLegend
from gdviz.ui.items.run_markers import RunMarkers
from gdviz.ui.items.series_plot import (
    LOSS_DECADES,
    SeriesPlot,
    loss_series,
    loss_y_range,
    run_series,
)
from gdviz.ui.items.surface_layer import SURFACE_SAMPLES, SurfaceLayer, value_name
from gdviz.ui.items.surface_view import MAX_EQUAL_ASPECT, SurfaceView, equal_aspect
from gdviz.ui.items.trail import ChunkedCurve
from gdviz.ui.theme import DARK, LIGHT


def make_traj(text, starts, lrs, steps):
    loss = compile_loss(text)
    configs = [RunConfig("gd", {"lr": lr}, s) for s, lr in zip(starts, lrs, strict=True)]
    return loss, run(loss, configs, steps, stop=StopRules(max_steps=steps, grad_tol=None))


@pytest.fixture
def plot_view(qtbot):
    """A shown 400×300 view with one plot, its range (0, 10) × (0, 5)."""
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    plot = view.addPlot()
    plot.getViewBox().setRange(xRange=(0, 10), yRange=(0, 5), padding=0)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    return view, plot


# ------------------------------------------------------------------ drawing
def test_readable_range_widens_only_what_is_too_narrow_to_label():
    assert drawing.readable_range(0.0, 5.0) == (0.0, 5.0)
    lo, hi = drawing.readable_range(1e6, 1e6 + 1.0)
    assert hi - lo == pytest.approx(drawing.MIN_RELATIVE_SPAN * 1e6)
    assert (lo + hi) / 2 == pytest.approx(1e6 + 0.5)
    assert drawing.readable_range(0.0, 0.0) == (-0.5, 0.5)
    lo, hi = drawing.readable_range(-3.2, -3.0, log=True)
    assert hi - lo == pytest.approx(drawing.MIN_DECADES)


def test_arrow_heads_are_measured_in_pixels_whatever_the_scales():
    px = (0.01, 2.0)  # a pixel is 0.01 wide and 2 tall in data units
    segs = drawing.arrow_segments(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), px, 9.0)
    assert segs.shape == (6, 2)
    assert segs[0] == pytest.approx([0, 0]) and segs[1] == pytest.approx([1, 0])
    for j in (3, 5):  # the two head strokes end 9 px from the tip
        dx, dy = (segs[j] - segs[1]) / np.array(px)
        assert np.hypot(dx, dy) == pytest.approx(9.0, rel=1e-3)
        assert dx < 0  # pointing back along the shaft


def test_visible_points_keep_the_ends_and_drop_points_within_a_cell():
    x = np.array([0.0, 0.1, 0.2, 5.0, 5.1, 9.0])
    y = np.zeros_like(x)
    kx, _ky = drawing.visible_points(x, y, (1.0, 1.0))
    assert list(kx) == [0.0, 5.0, 9.0]
    assert drawing.visible_points(x, y, None)[0] is x  # no pixel size: all kept


def test_cached_pixel_size_follows_zoom_and_forgets_the_view(qtbot, plot_view):
    _view, plot = plot_view
    vb = plot.getViewBox()
    first = drawing.cached_pixel_size(vb)
    assert first == pytest.approx(drawing.pixel_size(vb))
    vb.setRange(xRange=(0, 20), yRange=(0, 5), padding=0)
    second = drawing.cached_pixel_size(vb)
    assert second[0] == pytest.approx(2 * first[0]) and second == drawing.pixel_size(vb)
    n = len(drawing._PIXEL_SIZES)
    probe = pg.ViewBox()
    drawing._PIXEL_SIZES[probe] = ((), None)
    del probe
    gc.collect()
    assert len(drawing._PIXEL_SIZES) == n  # a view box that is gone takes its entry


def test_title_height_follows_the_theme():
    assert drawing.title_height(LIGHT.scaled(2.0)) > 1.5 * drawing.title_height(LIGHT)


# --------------------------------------------------------------- fast curve
def test_fast_curve_bounds_follow_a_new_pen(qtbot, plot_view):
    _view, plot = plot_view
    vb = plot.getViewBox()
    x, y = np.linspace(1, 9, 50), np.linspace(1, 4, 50)
    fast, ref = FastCurve(pen=pg.mkPen("r", width=1)), pg.PlotCurveItem(pen=pg.mkPen("r", width=1))
    for item in (fast, ref):
        item.setData(x, y)
        vb.addItem(item, ignoreBounds=True)
    thin = fast.boundingRect()
    for item in (fast, ref):
        item.setPen(pg.mkPen("r", width=12))  # pyqtgraph invalidates the bounds
    wide = fast.boundingRect()
    assert wide.width() > thin.width()
    assert wide.width() == pytest.approx(ref.boundingRect().width(), rel=1e-9)
    assert fast.dataBounds(0) == (1.0, 9.0)


# -------------------------------------------------------------------- trail
def test_trail_shows_every_point_and_keeps_chunks_of_unchanged_data(qtbot, plot_view):
    _view, plot = plot_view
    n = 3 * ChunkedCurve.CHUNK + 7
    x, y = np.linspace(0, 10, n), np.sin(np.linspace(0, 10, n)) + 2
    trail = ChunkedCurve(plot, 10)
    trail.set_style(drawing.pen("#ff0000", 2.0), drawing.pen("#000000", 4.0))
    trail.set_series(x, y)
    trail.show_upto(n - 1, [10])
    assert len(trail.chunks) == 3 and trail.settled()
    dx, dy = trail.data()
    assert np.array_equal(dx, x) and np.array_equal(dy, y)
    kept = list(trail.chunks)
    y2 = y.copy()
    y2[2 * ChunkedCurve.CHUNK + 3] += 1  # a change in the third chunk only
    trail.set_series(x, y2)
    assert trail.chunks == kept[:2]
    trail.set_visible(False)
    assert not trail.isVisible()
    trail.remove()
    assert not [i for i in plot.getViewBox().addedItems if isinstance(i, FastCurve)]


# ------------------------------------------------------------------- legend
def test_legend_lists_visible_runs_with_notes(qtbot):
    legend = RunLegend()
    legend.resize(400, 10)
    legend.show_runs(DARK, ["#ff0000", "#00ff00"], ["a", "<b>b</b>"], [True, True], [], 100)
    assert legend.entries() == ["a", "<b>b</b>"] and legend.notes() == []
    one_line = legend.minimumHeight()
    legend.show_runs(DARK, ["#ff0000", "#00ff00"], ["a", "b"], [False, True], ["x", "y"], 100)
    assert legend.entries() == ["b"] and legend.notes() == ["y"]
    legend.resize(60, 10)  # too narrow for a note beside the name: it goes below
    assert legend.minimumHeight() > one_line


# -------------------------------------------------------------- series plot
def test_loss_series_logs_a_loss_that_reaches_zero_as_loss_minus_min():
    losses = np.array([[4.0], [1.0], [0.0]])
    shown, label = loss_series(losses, log=True)
    assert label == "loss − min" and np.all(np.isfinite(shown))
    shown, label = loss_series(losses + 1.0, log=True)
    assert label == "loss" and shown[0, 0] == pytest.approx(np.log10(5.0))
    assert loss_series(losses, log=False)[0] is losses


def test_loss_range_caps_runaway_and_machine_precision_runs():
    start = np.log10(2.0)
    shown = np.array([[start, start], [start + 5, start - 30]])  # one diverges, one converges
    lo, hi = loss_y_range(shown, log=True)
    assert hi == pytest.approx(start + 1.0) and lo == pytest.approx(start - LOSS_DECADES)
    assert loss_y_range(np.full((3, 2), np.nan), log=False) is None


def test_run_series_gives_each_plot_its_arrays_and_range():
    _loss, traj = make_traj("x^2 + y^2", [(1.0, 1.0), (2.0, 0.0)], [0.1, 0.2], 30)
    data = run_series(traj, log_loss=False)
    assert len(data.runs) == 2 and len(data.steps) == 31
    assert np.array_equal(data.runs[1]["x"], traj.positions[:, 1, 0])
    assert np.array_equal(data.runs[0]["lr"], traj.lrs[:, 0])
    (llo, lhi), (glo, ghi), (rlo, rhi) = data.ranges
    assert llo <= traj.losses.min() and lhi >= traj.losses[0].max()
    assert ghi >= glo + 1.0 and rlo == 0.0 and rhi == pytest.approx(0.2)


def test_series_plot_keeps_one_curve_per_run(qtbot):
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    plot = SeriesPlot("loss")
    view.addItem(plot)
    other = pg.PlotCurveItem([0, 1], [1, 0])  # as dataset mode adds its full-data curve
    plot.addItem(other)
    plot.set_count(3)
    assert len(plot.run_curves) == 3
    plot.set_count(0)
    assert plot.run_curves == [] and other in plot.items  # someone else's item stays
    plot.set_count(1)
    plot.set_theme(LIGHT)
    plot.set_title("loss − min", True, LIGHT)
    assert plot.getAxis("left").logMode and "loss − min" in plot.getAxis("left").labelText
    plot.set_step(7)
    assert plot.marker.value() == 7


# ------------------------------------------------------------ surface layer
def test_surface_layer_draws_a_2d_grid_and_a_1d_curve(qtbot):
    view = SurfaceView()
    qtbot.addWidget(view)
    layer = SurfaceLayer(view.plot, view.colorbar, lambda: True)
    layer.set_theme(DARK)
    loss = compile_loss("x^2 + 3y^2")
    layer.draw(loss, ((-2.0, 2.0), (-1.0, 1.0)), ViewSettings(log_levels=False))
    assert layer.settled() and layer.image.isVisible() and not layer.curve.isVisible()
    assert layer.image.image.shape[:2] == (SURFACE_SAMPLES, SURFACE_SAMPLES)
    ref = sample_grid(loss, ((-2.0, 2.0), (-1.0, 1.0)), SURFACE_SAMPLES)
    assert np.array_equal(layer.grid.z, ref.z, equal_nan=True)
    assert view.colorbar.axis.labelText == "f"
    one = compile_loss("x^4 - x^2")
    layer.draw(one, ((-2.0, 2.0),), ViewSettings())
    assert layer.grid is None and layer.curve.isVisible() and not layer.image.isVisible()
    assert not view.colorbar.isVisible()
    lo, hi = layer.curve_yrange
    assert lo < -0.25 and hi > 12.0  # the whole curve (min −0.25, 12 at the ends) fits


def test_value_name_is_f_unless_the_loss_names_it():
    class Named:
        value_name = "L"

    assert value_name(Named()) == "L" and value_name(object()) == "f" and value_name(None) == "f"


# ---------------------------------------------------------------- colour bar
def test_colour_bar_axis_fits_its_labels_and_only_grows_within_a_theme(qtbot):
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    bar = ColourBar()
    view.addItem(bar)
    view.resize(200, 500)
    view.show()
    qtbot.waitExposed(view)

    def width():
        qtbot.wait(10)  # laid out
        return bar.axis.width()

    bar.set_theme(DARK)
    bar.show_levels(pg.colormap.get("viridis"), 0.0, 1.0, "f")
    narrow = width()
    bar.show_levels(pg.colormap.get("viridis"), 123456.0, 123457.5, "f")
    wide = width()
    assert wide > narrow
    bar.show_levels(pg.colormap.get("viridis"), 0.0, 1.0, "f")
    assert width() == wide  # never shrinks: a resize re-renders every trail
    bar.set_theme(LIGHT.scaled(1.0001))  # a new theme measures afresh
    assert width() < wide
    bar.set_title("log₁₀(f − min)")
    assert bar.axis.labelText == "log₁₀(f − min)"


# -------------------------------------------------------------- surface view
def test_surface_view_gives_one_unit_the_same_length_on_x_and_y(qtbot):
    view = SurfaceView()
    qtbot.addWidget(view)
    view.set_theme(DARK)
    view.resize(700, 400)
    view.show()
    qtbot.waitExposed(view)
    view.set_aspect(equal_aspect(((-1.0, 1.0), (-2.0, 2.0))))  # twice as tall as wide
    qtbot.waitUntil(
        lambda: abs(view.plot.getViewBox().height() / view.plot.getViewBox().width() - 2) < 0.02
    )
    view.set_aspect(None)  # fills again
    vb = view.plot.getViewBox()
    qtbot.waitUntil(lambda: vb.width() > vb.height())
    assert equal_aspect(((0, 1),)) is None
    assert equal_aspect(((0, MAX_EQUAL_ASPECT * 2), (0, 1))) is None


def test_surface_view_reports_clicks_inside_the_plot_only(qtbot):
    view = SurfaceView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    vb = view.plot.getViewBox()
    vb.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
    picked = []
    view.picked.connect(picked.append)
    inside = view.mapFromScene(vb.mapViewToScene(QPointF(3.0, 7.0)))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=inside)
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=inside * 0 + QPointF(2, 2).toPoint()
    )
    assert len(picked) == 1
    assert (picked[0].x(), picked[0].y()) == pytest.approx((3.0, 7.0), abs=0.1)


# -------------------------------------------------------------- run markers
def test_run_markers_mark_diverged_runs_and_hide_hidden_ones(qtbot, plot_view):
    _view, plot = plot_view
    _loss, traj = make_traj("x^2 + y^2", [(1.0, 1.0), (2.0, 1.0)], [0.1, 1.5], 40)
    assert traj.status[1] == "diverged"
    markers = RunMarkers(plot)
    markers.set_count(2)
    markers.set_style(DARK, ["#ff0000", "#00ff00"])
    data = run_series(traj, log_loss=False)
    px = drawing.cached_pixel_size(plot.getViewBox())
    view = ViewSettings(step_arrows=True)
    markers.draw(40, traj, data.runs, [True, True], view, DARK, px)
    assert list(markers.points.data["symbol"]) == ["o", "x"]
    markers.draw(3, traj, data.runs, [True, False], view, DARK, px)
    assert len(markers.points.data) == 1 and not markers.runs[1].step.isVisible()
    x, _y = markers.runs[0].step.getData()
    assert x[0] == pytest.approx(traj.positions[3, 0, 0])
    markers.set_start(None)
    assert not markers.target.isVisible()
    markers.set_start((0.5, 0.25))
    assert markers.target.isVisible() and markers.target.pos() == QPointF(0.5, 0.25)
    markers.set_count(0)
    assert markers.runs == []


def test_a_curve_view_as_narrow_as_floats_allow_still_draws():
    # The neighbours of the top sample were closer than a view may be: the
    # check for a pole failed instead of drawing.
    from gdviz.core.loss import compile_loss
    from gdviz.core.surface import sample_curve
    from gdviz.ui.items.surface_layer import top_is_bounded

    loss = compile_loss("1/(x - 4)")  # highest at the left edge, a pole beyond it
    curve = sample_curve(loss, ((5.0, 5.000000001),), 800)  # as the layer samples it
    assert top_is_bounded(loss, curve) is True
