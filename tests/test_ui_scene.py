"""The shared scene: every step is drawn, masked regions stay empty, panels, 1-D."""

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage, QPainter

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
        for k, items in enumerate(scene.run_items):
            x, y = items.trail.data()
            assert len(x) == i + 1
            assert np.array_equal(x, traj.positions[: i + 1, k, 0])
            assert np.array_equal(y, traj.positions[: i + 1, k, 1])
        assert np.allclose(scene.points.data["x"], traj.positions[i, :, 0])
        lx, _ly = scene.loss_plot.run_curves[0].data()
        assert len(lx) == i + 1
    scene.set_step(10_000)  # past the end: clamped, not an error
    assert scene.step == 400


def test_step_arrow_is_the_next_update(scene):
    loss, traj = make_traj("x^2 + y^2", [(2.0, 1.0)], [0.1], 20)
    scene.set_problem(loss, ((-3, 3), (-3, 3)))
    scene.set_runs(traj, ["#ff0000"], ["a"])
    scene.set_step(3)
    x, y = scene.run_items[0].step.getData()
    assert (x[0], y[0]) == pytest.approx(tuple(traj.positions[3, 0]))
    assert (x[1], y[1]) == pytest.approx(tuple(traj.positions[4, 0]))


def test_gradient_arrow_points_downhill(scene):
    scene.set_view(ViewSettings(grad_arrows=True))
    loss, traj = make_traj("x^2 + y^2", [(2.0, 1.0)], [0.1], 5)
    scene.set_problem(loss, ((-3, 3), (-3, 3)))
    scene.set_runs(traj, ["#ff0000"], ["a"])
    scene.set_step(0)
    x, y = scene.run_items[0].grad.getData()
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
    assert len(scene.run_items) == 1
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


def _settle(qtbot, widget):
    """Let posted layout requests run and paint once (axes size themselves while painting)."""
    for _ in range(3):
        qtbot.wait(20)
        widget.grab()


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("log_levels", [False, True])
def test_colour_bar_title_clears_its_tick_labels(qtbot, scale, log_levels):
    s = Scene("both", LIGHT.scaled(scale))
    qtbot.addWidget(s)
    s.resize(1024, 600)
    s.show()
    qtbot.waitExposed(s)
    s.set_view(ViewSettings(log_levels=log_levels))
    s.set_problem(compile_loss("(1-x)^2 + 100(y-x^2)^2"), ((-2, 2), (-1, 3)))
    _settle(qtbot, s)
    axis = s.colorbar.axis
    image = QImage(10, 10, QImage.Format.Format_RGB32)  # kept alive while painted on
    painter = QPainter(image)
    try:
        _axis_spec, _tick_specs, text_specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert text_specs, "the colour bar shows tick labels"
    ticks_right = max(rect.right() for rect, _flags, _text in text_specs)
    # The title's glyphs start after the text item's document margin.
    label = axis.label
    title_box = label.mapRectToParent(label.boundingRect())
    title_left = title_box.left() + label.document().documentMargin()
    assert title_left >= ticks_right, (title_left, ticks_right)
    # ...and the title is inside the scene's picture, not cut off at the right.
    right_edge = axis.mapRectToScene(title_box).right() - label.document().documentMargin()
    assert right_edge <= s.surface_view.width()


def test_narrower_colour_bar_labels_do_not_resize_the_surface(qtbot):
    # A resized surface re-renders every cached trail chunk in one paint, so a
    # new function must not shrink the colour bar's axis (it may only grow).
    wide, narrow = "1000000(x^2 + y^2)", "x^2 + y^2"
    widths = {}
    for text in (wide, narrow):  # what each function alone needs
        s = Scene("both", LIGHT)
        qtbot.addWidget(s)
        s.resize(1024, 600)
        s.show()
        qtbot.waitExposed(s)
        s.set_problem(compile_loss(text), ((-2, 2), (-2, 2)))
        _settle(qtbot, s)
        widths[text] = s.colorbar.axis.width()
    assert widths[narrow] < widths[wide]  # else this test could not fail
    s = Scene("both", LIGHT)
    qtbot.addWidget(s)
    s.resize(1024, 600)
    s.show()
    qtbot.waitExposed(s)
    s.set_problem(compile_loss(wide), ((-2, 2), (-2, 2)))
    _settle(qtbot, s)
    before = s.surface.getViewBox().size()
    s.set_problem(compile_loss(narrow), ((-2, 2), (-2, 2)))
    _settle(qtbot, s)
    assert s.colorbar.axis.width() == widths[wide]
    assert s.surface.getViewBox().size() == before
    s.set_theme(LIGHT.scaled(1.0001))  # a new theme measures afresh
    _settle(qtbot, s)
    assert s.colorbar.axis.width() < widths[wide]


@pytest.mark.parametrize(("theme", "size"), [(DARK, (1280, 520)), (LIGHT.scaled(2.0), (1024, 640))])
def test_loss_legend_sits_outside_the_plot_area(qtbot, theme, size):
    s = Scene("both", theme)
    qtbot.addWidget(s)
    s.resize(*size)
    s.show()
    qtbot.waitExposed(s)
    labels = ["1. gd lr=0.0008", "2. momentum lr=0.0005", "3. adam <b>0.05</b>", "4. rmsprop"]
    loss, traj = make_traj("x^2 + 10y^2", [(-2.0, 1.0)] * 4, [0.001, 0.01, 0.05, 0.11], 300)
    s.set_problem(loss, ((-3, 3), (-2, 2)))
    s.set_runs(traj, ["#e69f00", "#56b4e9", "#009e73", "#f0e442"], labels)
    s.set_step(300)
    _settle(qtbot, s)
    legend = s.legend.sceneBoundingRect()
    plot_area = s.loss_plot.getViewBox().sceneBoundingRect()
    assert legend.height() > 0 and plot_area.height() > 0.5 * s.loss_view.height()
    assert not legend.intersects(plot_area)
    view = s.loss_view.viewport().rect()
    assert legend.left() >= 0 and legend.right() <= view.width()
    assert s.legend.entries() == labels  # plain text: the tag is shown, not applied
    # Hiding a run removes it from the legend.
    s.set_runs(
        traj, ["#e69f00", "#56b4e9", "#009e73", "#f0e442"], labels, [True, False, True, True]
    )
    assert s.legend.entries() == [labels[0], labels[2], labels[3]]


def test_arrows_wait_for_a_view_with_an_area(qtbot, scene):
    """A view not laid out yet has no pixel size: no arrows (and no 1/0), then arrows."""
    scene.set_view(ViewSettings(grad_arrows=True, step_arrows=True))
    loss, traj = make_traj("x^2 + y^2", [(2.0, 1.0)], [0.1], 5)
    scene.set_problem(loss, ((-3, 3), (-3, 3)))
    vb = scene.surface.getViewBox()
    vb.setGeometry(0, 0, 0, 0)  # as before the first layout
    assert vb.viewPixelSize() == (0.0, 0.0)
    scene.set_runs(traj, ["#ff0000"], ["a"])  # draws step 0: warnings are errors here
    scene.set_step(2)
    items = scene.run_items[0]
    assert items.grad.getData()[0] is None or len(items.grad.getData()[0]) == 0
    assert items.step.getData()[0] is None or len(items.step.getData()[0]) == 0
    scene.resize(901, 500)  # the layout gives the view its area back
    qtbot.waitUntil(
        lambda: items.step.getData()[0] is not None and len(items.step.getData()[0]) > 0
    )
    x, y = items.step.getData()
    assert (x[0], y[0]) == pytest.approx(tuple(traj.positions[2, 0]))
    assert (x[1], y[1]) == pytest.approx(tuple(traj.positions[3, 0]))
    assert len(items.grad.getData()[0]) > 0


def test_log_loss_axis_stops_ten_decades_below_the_start(scene):
    scene.set_view(ViewSettings(log_loss=True))
    # lr 0.4 on x² + y² multiplies the loss by 0.04 a step: 1e-28 after 20 steps.
    loss, traj = make_traj("x^2 + y^2", [(1.0, 1.0), (1.0, 0.0)], [0.4, 0.001], 40)
    scene.set_problem(loss, ((-2, 2), (-2, 2)))
    scene.set_runs(traj, ["#ff0000", "#00ff00"], ["fast", "slow"])
    (y0, y1) = scene.loss_plot.getViewBox().viewRange()[1]
    start = np.log10(2.0)
    assert np.nanmin(np.log10(traj.losses[traj.losses > 0])) < start - 20  # it did go that low
    assert start - 10.0 - 1.0 <= y0 <= start - 10.0
    assert y1 >= start
    # A run that stays within the ten decades is shown whole.
    _, slow = make_traj("x^2 + y^2", [(1.0, 1.0)], [0.01], 40)
    scene.set_runs(slow, ["#00ff00"], ["slow"])
    y0, _ = scene.loss_plot.getViewBox().viewRange()[1]
    assert y0 <= np.log10(np.min(slow.losses))


def _final_state(scene):
    """Every trail drawn by its full-quality cached chunks plus the tail, no stand-in."""
    for items in scene.run_items:
        trail = items.trail
        full = trail.upto // trail.CHUNK
        assert len(trail.chunks) == full
        assert not trail.roughing
        assert trail.rough is None or not trail.rough.isVisible()
        for line, shadow in trail.chunks:
            assert trail.is_shown(line) and line.opts["pen"] == trail.pen
            assert shadow is not None and trail.is_shown(shadow)
            assert shadow.opts["pen"] == trail.shadow
        assert trail.live.xData[0] == trail.x[full * trail.CHUNK]


def test_resize_recaches_trails_and_ends_in_full_quality(qtbot, scene):
    starts = [(-2.5, 1.5), (2.0, -1.5), (-1.0, -1.8)]
    loss, traj = make_traj("x^2 + 10y^2 + sin(3x)", starts, [0.001, 0.0005, 0.0008], 3000)
    scene.set_problem(loss, ((-3, 3), (-2, 2)))
    scene.set_runs(traj, ["#ff0000", "#00ff00", "#0000ff"], ["a", "b", "c"])
    scene.set_step(3000)
    qtbot.waitUntil(scene.settled, timeout=10_000)
    _settle(qtbot, scene)
    _final_state(scene)
    before = scene.grab().toImage()

    scene.resize(960, 540)
    qtbot.wait(1)
    # Just after the resize the chunks cached at the old scale are gone and a
    # cheap stand-in draws them until they are cached again.
    assert any(items.trail.roughing for items in scene.run_items)
    assert not scene.settled()
    qtbot.waitUntil(scene.settled, timeout=10_000)
    _final_state(scene)

    # Back at the first size the picture is the one from before, pixel for pixel.
    scene.resize(900, 500)
    qtbot.waitUntil(scene.settled, timeout=10_000)
    _settle(qtbot, scene)
    _final_state(scene)
    assert scene.grab().toImage() == before


def test_jump_draws_missing_chunks_roughly_then_ends_in_full_quality(qtbot, scene):
    # A jump to step 3,000 (or a recompute) leaves every trail and loss curve
    # with several chunks to cache. Until they are, the cheap stand-in draws
    # them and the full-quality tail starts at the last chunk boundary, so a
    # paint never strokes thousands of points with the wide pens.
    starts = [(-2.5, 1.5), (2.0, -1.5), (-1.0, -1.8)]
    loss, traj = make_traj("x^2 + 10y^2 + sin(3x)", starts, [0.001, 0.0005, 0.0008], 3000)
    _, other = make_traj("x^2 + 10y^2 + sin(3x)", starts, [0.0011, 0.0006, 0.0009], 3000)
    colors, labels = ["#ff0000", "#00ff00", "#0000ff"], ["a", "b", "c"]
    scene.set_problem(loss, ((-3, 3), (-2, 2)))
    # First the picture drawn without the stand-in (as an exporter draws it).
    scene.rough_catch_up = False
    scene.set_runs(traj, colors, labels)
    scene.set_step(3000)
    assert not any(c.roughing for c in scene.all_series())
    qtbot.waitUntil(scene.settled, timeout=10_000)
    _settle(qtbot, scene)
    before = scene.grab().toImage()

    # Every trail changes from step 1 on: all chunks go. Back at step 0 and
    # jumping to 3,000, they come back through the stand-in (the first run's
    # trail takes the first turn's budget).
    scene.rough_catch_up = True
    scene.set_step(0)
    scene.set_runs(other, colors, labels)
    scene.set_runs(traj, colors, labels)
    _settle(qtbot, scene)
    scene.set_step(3000)
    trail = scene.run_items[2].trail
    assert trail.roughing, "a jump over five chunks of a trail leaves some to the stand-in"
    full = 3000 // trail.CHUNK
    a, b = len(trail.chunks) * trail.CHUNK, full * trail.CHUNK
    assert a < b
    rx, ry = trail.rough.getData()
    assert trail.rough.isVisible()
    # The stand-in joins the cached chunks to the tail: nothing is missing.
    assert (rx[0], ry[0]) == (trail.x[a], trail.y[a])
    assert (rx[-1], ry[-1]) == (trail.x[b], trail.y[b])
    assert trail.live.xData[0] == trail.x[b] and len(trail.live.xData) <= trail.CHUNK + 1
    assert not scene.settled()

    # The next turn caches more chunks but sets neither the stand-in nor the
    # tail again (new data makes Qt stroke an item again; chunks cached since
    # cover the stand-in).
    def cached():
        return sum(len(c.chunks) for c in scene.all_series())

    rough_data, tail_data, before_turn = trail.rough.xData, trail.live.xData, cached()
    scene.set_step(3000)
    assert cached() > before_turn and trail.roughing
    assert trail.rough.xData is rough_data and trail.live.xData is tail_data
    qtbot.waitUntil(scene.settled, timeout=10_000)
    _settle(qtbot, scene)
    _final_state(scene)
    assert scene.grab().toImage() == before


def test_playback_across_a_chunk_boundary_never_shows_the_stand_in(qtbot, scene):
    # Four runs: eight trails and loss curves cross the boundary at step 1,024
    # in the same frame, more than one turn's budget of new chunks. The ones
    # left for the next turn are drawn by their full-quality tail meanwhile.
    starts = [(-2.5, 1.5), (2.0, -1.5), (-1.0, -1.8), (2.5, 1.0)]
    lrs = [0.001, 0.0005, 0.0008, 0.0007]
    loss, traj = make_traj("x^2 + 10y^2 + sin(3x)", starts, lrs, 3000)
    scene.set_problem(loss, ((-3, 3), (-2, 2)))
    scene.set_runs(traj, ["#ff0000", "#00ff00", "#0000ff", "#ffff00"], list("abcd"))
    scene.set_step(1020)
    qtbot.waitUntil(scene.settled, timeout=10_000)
    waiting = False
    for i in range(1021, 1060, 17):  # 1,000 steps/s: 17 a frame
        scene.set_step(i)
        assert not any(c.roughing for c in scene.all_series())
        waiting = waiting or any(c.pending() for c in scene.all_series())
    assert waiting, "some chunks must have waited for a later turn"
    qtbot.waitUntil(scene.settled, timeout=10_000)
    assert all(len(items.trail.chunks) == 2 for items in scene.run_items)


def test_scrubbing_back_and_forth_keeps_the_cached_chunks(qtbot, scene):
    # Qt drops the cached picture of a hidden item: chunks past the step on
    # screen are made transparent instead, so going back to step 0 and
    # forward again draws the same cached items (re-rendering every chunk of
    # 8 runs x 5,000 steps in one paint took 90 ms).
    starts = [(-2.5, 1.5), (2.0, -1.5)]
    loss, traj = make_traj("x^2 + 10y^2 + sin(3x)", starts, [0.001, 0.0005], 2000)
    scene.set_problem(loss, ((-3, 3), (-2, 2)))
    scene.set_runs(traj, ["#ff0000", "#00ff00"], ["a", "b"])
    scene.set_step(2000)
    qtbot.waitUntil(scene.settled, timeout=10_000)
    trail = scene.run_items[0].trail
    chunks = list(trail.chunks)
    assert len(chunks) == 2000 // trail.CHUNK

    scene.set_step(0)
    assert trail.chunks == chunks  # kept for the way back
    for line, shadow in chunks:
        assert line.isVisible() and shadow.isVisible()  # never hidden: the caches stay
        assert not trail.is_shown(line) and not trail.is_shown(shadow)
    scene.set_step(1100)  # two chunks on screen again, at once
    assert [trail.is_shown(line) for line, _ in chunks] == [True, True, False]
    assert trail.chunks == chunks and scene.settled()
    _settle(qtbot, scene)
    scene.set_step(2000)
    _final_state(scene)
    assert trail.chunks == chunks


def test_exporter_scene_never_shows_the_stand_in(qtbot):
    from gdviz.export.render import SceneInputs, SceneRenderer

    loss, traj = make_traj("x^2 + 3y^2 + sin(3x)", [(-2.0, 1.5)], [0.0005], 2000)
    inputs = SceneInputs(
        loss=loss, domain=((-2.5, 2.5), (-2.0, 2.0)), trajectory=traj, start=(-2.0, 1.5)
    )
    with SceneRenderer(inputs, (400, 300), "both", "dark") as r:
        r.frame(2000)
        qtbot.waitUntil(r.scene.settled, timeout=10_000)
        r.frame(2000)
        chunks = list(r.scene.run_items[0].trail.chunks)
        assert len(chunks) == 2000 // 512
        r.scene.surface.getViewBox().scaleBy((0.8, 0.8))  # what a wider colour-bar axis does
        qtbot.wait(1)
        r.frame(2000)
        trail = r.scene.run_items[0].trail
        assert not trail.roughing and trail.chunks == chunks  # the same cached items
        _final_state(r.scene)


def test_fast_curve_bounds_match_pyqtgraph_after_zoom_and_resize(qtbot, scene):
    # The chunk items answer their bounding box from cached data bounds and a
    # pixel size shared by the view box; it must be pyqtgraph's own answer
    # (padding for the wide pen included) after every change of scale.
    import pyqtgraph as pg

    from gdviz.ui.items.fast_curve import FastCurve as _FastCurve

    vb = scene.surface.getViewBox()
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 300), rng.normal(0, 0.5, 300)
    pen = pg.mkPen("#ff0000", width=6)
    fast, ref = _FastCurve(pen=pen), pg.PlotCurveItem(pen=pen)
    for item in (fast, ref):
        item.setData(x, y)
        vb.addItem(item, ignoreBounds=True)

    def same():
        a, b = fast.boundingRect(), ref.boundingRect()
        for u, v in ((a.left(), b.left()), (a.top(), b.top()), (a.width(), b.width())):
            assert u == pytest.approx(v, rel=1e-9, abs=1e-12)
        assert a.height() == pytest.approx(b.height(), rel=1e-9, abs=1e-12)
        return a

    first = same()
    vb.scaleBy((0.5, 0.5))
    qtbot.wait(5)  # the view applies its new range lazily, on the next paint
    zoomed = same()
    assert zoomed.width() < first.width()  # less padding in data units at higher zoom
    scene.resize(500, 700)
    qtbot.wait(5)
    same()
    fast.setData(x * 3, y)  # new data: new bounds, not the cached ones
    ref.setData(x * 3, y)
    assert same().width() > 2 * zoomed.width()


def _part(traj, rows):
    """The first ``rows`` rows of a trajectory, as the window delivers it while computing."""
    from dataclasses import replace

    cut = {k: v[:rows] for k, v in traj.state.items()}
    return replace(
        traj,
        positions=traj.positions[:rows],
        losses=traj.losses[:rows],
        grads=traj.grads[:rows],
        lrs=traj.lrs[:rows],
        updates=traj.updates[:rows],
        state=cut,
    )


def test_a_recompute_keeps_the_cached_chunks_of_runs_that_did_not_change(qtbot, scene):
    # Run 0 keeps its settings, run 1 gets another learning rate. The new
    # trajectory arrives in parts, first much shorter than the trails on
    # screen: run 0 gets its old cached chunks back, run 1's are redrawn, and
    # the final picture is the one a fresh scene draws.
    text, starts = "x^2 + 10y^2 + sin(3x)", [(-2.5, 1.5), (2.0, -1.5)]
    _, old = make_traj(text, starts, [0.001, 0.0005], 2000)
    loss, new = make_traj(text, starts, [0.001, 0.0007], 2000)
    colors, labels = ["#ff0000", "#0000ff"], ["a", "b"]
    scene.set_problem(loss, ((-3, 3), (-2, 2)))
    scene.set_runs(old, colors, labels)
    scene.set_step(2000)
    qtbot.waitUntil(scene.settled, timeout=10_000)
    kept = list(scene.run_items[0].trail.chunks)
    redrawn = list(scene.run_items[1].trail.chunks)
    assert len(kept) == len(redrawn) == 2000 // 512

    for rows in (201, 1201, 2001):
        scene.set_runs(_part(new, rows), colors, labels)
        scene.set_step(2000)
        for k, items in enumerate(scene.run_items):
            x, y = items.trail.data()
            np.testing.assert_array_equal(x, new.positions[:rows, k, 0])
            np.testing.assert_array_equal(y, new.positions[:rows, k, 1])
            # Chunks shown are never ahead of the data on screen.
            shown = [line for line, _ in items.trail.chunks if items.trail.is_shown(line)]
            assert len(shown) <= (rows - 1) // 512
        qtbot.wait(1)
    qtbot.waitUntil(scene.settled, timeout=10_000)
    assert scene.run_items[0].trail.chunks == kept  # the same cached items
    # Every chunk on screen holds exactly the new trajectory's points (drawn
    # in 512-step pieces sharing their end points), for both runs.
    for k, items in enumerate(scene.run_items):
        for i, (line, shadow) in enumerate(items.trail.chunks):
            piece = new.positions[i * 512 : (i + 1) * 512 + 1, k]
            for item in (line, shadow):
                np.testing.assert_array_equal(item.xData, piece[:, 0])
                np.testing.assert_array_equal(item.yData, piece[:, 1])
    _settle(qtbot, scene)
    _final_state(scene)


def test_loss_axis_does_not_shrink_when_its_labels_get_narrower(qtbot, scene):
    # Narrower tick labels used to shrink the axis, which resized the plot and
    # had every cached loss curve drawn again at each new function.
    loss, wide = make_traj("1000000*(x^2 + y^2) + 123456.789", [(1.0, 1.0)], [1e-7], 50)
    scene.set_problem(loss, ((-2, 2), (-2, 2)))
    scene.set_runs(wide, ["#ff0000"], ["a"])
    _settle(qtbot, scene)
    vb = scene.loss_plot.getViewBox()
    width = vb.width()
    loss2, narrow = make_traj("x^2 + y^2", [(1.0, 1.0)], [0.1], 50)
    scene.set_problem(loss2, ((-2, 2), (-2, 2)))
    scene.set_runs(narrow, ["#ff0000"], ["a"])
    _settle(qtbot, scene)
    assert vb.width() == width
