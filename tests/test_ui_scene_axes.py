"""The scene's axes: real tick values, distinct labels, separate titles, whole curves."""

import numpy as np
import pytest
from PySide6.QtGui import QFont, QFontMetricsF, QImage, QPainter

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.session import ViewSettings
from gdviz.ui.scene import Scene
from gdviz.ui.theme import DARK, LIGHT

CAMEL = "(4 - 2.1x^2 + x^4/3) x^2 + x y + (-4 + 4y^2) y^2"


def make_traj(text, starts, lrs, steps):
    loss = compile_loss(text)
    configs = [RunConfig("gd", {"lr": lr}, s) for s, lr in zip(starts, lrs, strict=True)]
    return loss, run(loss, configs, steps, stop=StopRules(max_steps=steps, grad_tol=None))


def make_scene(qtbot, theme=DARK, size=(1024, 600), panels="both"):
    s = Scene(panels, theme)
    qtbot.addWidget(s)
    s.resize(*size)
    s.show()
    qtbot.waitExposed(s)
    return s


def settle(qtbot, widget):
    """Let posted layout requests run and paint once (axes size themselves while painting)."""
    for _ in range(3):
        qtbot.wait(20)
        widget.grab()


def tick_labels(axis):
    """The tick label strings the axis draws now."""
    image = QImage(10, 10, QImage.Format.Format_RGB32)  # kept alive while painted on
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    assert specs is not None, "the axis has a size and a range"
    _axis_spec, _tick_specs, text_specs = specs
    return [text for _rect, _flags, text in text_specs]


def all_axes(s):
    plots = (s.surface, s.loss_plot, s.gnorm_plot, s.lr_plot)
    named = {f"{name} of {p}": p.getAxis(name) for p in plots for name in ("left", "bottom")}
    named["colour bar"] = s.colorbar.axis
    return named


def shown_axes(qtbot, s):
    """Every axis a person can bring on screen, each while it is shown.

    With the loss column's plots in tabs, each tab is chosen in turn; every
    chosen plot's axes are checked.
    """
    tabs = s.column.tabs
    seen = {}
    for index in range(tabs.count()) if tabs.isVisible() else [None]:
        if index is not None:
            tabs.setCurrentIndex(index)
            settle(qtbot, s)
        for name, axis in all_axes(s).items():
            if axis.isVisible():
                seen[id(axis)] = axis
                yield name, axis
    chosen = [p for p in (s.loss_plot, s.gnorm_plot, s.lr_plot) if p in s.column.plots()]
    assert all(id(p.getAxis("left")) in seen for p in chosen), "every chosen plot was shown"


def assert_real_values(name, axis):
    """The axis is not SI-scaled, and its linear tick labels lie in its range."""
    assert axis.autoSIPrefixScale == 1.0, name
    assert "(x" not in axis.labelString(), (name, axis.labelString())
    if axis.logMode:
        return
    labels = tick_labels(axis)
    assert labels, f"{name} shows tick labels"
    lo, hi = sorted(axis.range)
    span = hi - lo
    for text in labels:
        value = float(text.replace("−", "-"))
        assert lo - 1e-9 * span <= value <= hi + 1e-9 * span, (name, text, (lo, hi))


@pytest.mark.parametrize(
    ("text", "domain", "lr", "start"),
    [
        # Six-hump camel: the loss axis read "loss (x0.001)" with ticks −200…500.
        (CAMEL, ((-2, 2), (-1.2, 1.2)), 0.01, (-1.6, 1.0)),
        # Small values: colour bar and loss axis both read "(x0.001)".
        ("0.001(x^2 + y^2)", ((-3, 3), (-3, 3)), 100.0, (2.0, 1.0)),
        # A tiny view window and learning rate: the surface's x and y axes and
        # the learning-rate axis.
        ("x^2 + y^2", ((-0.002, 0.002), (-0.001, 0.001)), 0.0005, (0.001, 0.0005)),
    ],
)
def test_every_axis_shows_the_real_values(qtbot, text, domain, lr, start):
    s = make_scene(qtbot)
    s.set_view(ViewSettings(show_grad_norm=True, show_lr=True))
    loss, traj = make_traj(text, [start], [lr], 60)
    s.set_problem(loss, domain)
    s.set_runs(traj, ["#ff0000"], ["a"])
    s.set_step(60)
    settle(qtbot, s)
    for name, axis in shown_axes(qtbot, s):
        assert_real_values(name, axis)
    if text == CAMEL:
        # What the numbers table shows (−0.215 at the end) is on the loss axis' scale.
        lo, hi = s.loss_plot.getAxis("left").range
        assert lo < float(traj.losses[-1, 0]) < 0 < hi < 1


def test_a_new_theme_over_small_values_keeps_the_real_values(qtbot):
    # pyqtgraph sets the SI scale from the current range even while turning
    # it off: restyling a view of tiny values must not leave its ticks scaled.
    s = make_scene(qtbot)
    loss, traj = make_traj("x^2 + y^2", [(0.001, 0.0005)], [0.0005], 30)
    s.set_view(ViewSettings(show_grad_norm=True, show_lr=True))
    s.set_problem(loss, ((-0.002, 0.002), (-0.001, 0.001)))
    s.set_runs(traj, ["#ff0000"], ["a"])
    settle(qtbot, s)
    s.set_theme(LIGHT.scaled(2.0))
    settle(qtbot, s)
    for name, axis in shown_axes(qtbot, s):
        assert_real_values(name, axis)


def distinct_labels(axis):
    labels = tick_labels(axis)
    assert len(labels) >= 2, labels
    assert len(set(labels)) == len(labels), labels
    return labels


@pytest.mark.parametrize("log_loss", [False, True])
@pytest.mark.parametrize(
    ("text", "lr", "start"),
    [
        # Every run diverges at once: one finite loss, 1.07e+06.
        ("20000(x^2 + y^2) + 1000000", 0.05, (-1.6, 1.0)),
        # Converges, but the loss changes by 5e-9 of itself.
        ("1000000 + 0.001(x^2 + y^2)", 100.0, (1.0, 2.0)),
        # Tiny values changing by 2e-9 of themselves.
        ("0.0000001 + 0.0000000000000001(x^2 + y^2)", 0.1, (1.0, 1.0)),
    ],
)
def test_a_flat_loss_curve_gets_distinct_tick_labels(qtbot, text, lr, start, log_loss):
    s = make_scene(qtbot)
    s.set_view(ViewSettings(log_loss=log_loss))
    loss, traj = make_traj(text, [start], [lr], 40)
    s.set_problem(loss, ((-3, 3), (-3, 3)))
    s.set_runs(traj, ["#ff0000"], ["a"])
    s.set_step(40)
    settle(qtbot, s)
    finite = traj.losses[np.isfinite(traj.losses)]
    assert finite.max() - finite.min() <= 1e-8 * finite.max()  # as flat as meant
    distinct_labels(s.loss_plot.getAxis("left"))
    # The curve is still inside the plot.
    lo, hi = s.loss_plot.getViewBox().viewRange()[1]
    shown = np.log10(finite) if log_loss else finite
    assert lo < shown.min() and shown.max() < hi


def test_a_varying_loss_keeps_its_tight_range(qtbot):
    # Only ranges too narrow to label are widened.
    s = make_scene(qtbot)
    # The loss falls by 5000 of 1005000: half a percent.
    loss, traj = make_traj("1000000 + 1000(x^2 + y^2)", [(2.0, 1.0)], [0.0001], 40)
    s.set_problem(loss, ((-3, 3), (-3, 3)))
    s.set_runs(traj, ["#ff0000"], ["a"])
    lo, hi = s.loss_plot.getViewBox().viewRange()[1]
    span = traj.losses.max() - traj.losses.min()
    assert hi - lo == pytest.approx(1.1 * span, rel=1e-6)  # 5 % padding each side
    settle(qtbot, s)
    distinct_labels(s.loss_plot.getAxis("left"))


def test_a_flat_one_variable_curve_gets_distinct_tick_labels(qtbot):
    s = make_scene(qtbot)
    s.set_problem(compile_loss("1000000 + 0.000000001 x"), ((-1, 1),))
    settle(qtbot, s)
    distinct_labels(s.surface.getAxis("left"))


def glyph_columns(axis, view):
    """Left and right edge, in scene pixels, of an axis title's glyph box."""
    label = axis.label
    box = view.mapFromScene(label.mapRectToScene(label.boundingRect())).boundingRect()
    margin = label.document().documentMargin()
    left = view.mapTo(view.window(), box.topLeft()).x()
    right = view.mapTo(view.window(), box.topRight()).x()
    return left + margin, right - margin


@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
@pytest.mark.parametrize("size", [(1280, 560), (1024, 700)])
def test_colour_bar_and_loss_titles_stand_apart(qtbot, scale, size):
    # Both titles are drawn rotated at the border between the two views; close
    # together they read as one label ("f loss").
    theme = LIGHT.scaled(scale)
    s = make_scene(qtbot, theme, size)
    s.set_problem(compile_loss("x^2 + y^2"), ((-2, 2), (-2, 2)))
    settle(qtbot, s)
    _left, bar_right = glyph_columns(s.colorbar.axis, s.surface_view)
    loss_left, _right = glyph_columns(s.loss_plot.getAxis("left"), s.loss_view)
    font = QFont()
    font.setPointSizeF(theme.font_pt)
    line = QFontMetricsF(font).height()
    assert loss_left - bar_right >= 1.25 * line, (loss_left - bar_right, line)
    # The room is for the two titles only: one view alone keeps its edges.
    for panels in ("surface", "loss"):
        one = make_scene(qtbot, theme, size, panels)
        view = one.surface_view if panels == "surface" else one.loss_view
        assert view.ci.layout.getContentsMargins() == (4, 4, 4, 4)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_the_gap_does_not_move_with_the_function(qtbot, scale):
    s = make_scene(qtbot, DARK.scaled(scale))
    sizes = []
    for text in ("1000000(x^2 + y^2)", "x^2 + y^2", "0.001(x^2 + y^2)"):
        s.set_view(ViewSettings(log_levels=text == "x^2 + y^2"))
        s.set_problem(compile_loss(text), ((-2, 2), (-2, 2)))
        settle(qtbot, s)
        margins = s.loss_view.ci.layout.getContentsMargins()
        sizes.append((s.surface_view.size(), s.loss_view.size(), margins))
    assert sizes[1:] == sizes[:-1]


def curve_top(s):
    return s.surface.getViewBox().viewRange()[1][1]


def test_the_whole_double_well_curve_fits(qtbot):
    s = make_scene(qtbot)
    loss = compile_loss("x^4 - 2x^2 + 0.3x")
    s.set_problem(loss, ((-2, 2),))
    (y0, y1) = s.surface.getViewBox().viewRange()[1]
    xs = np.linspace(-2, 2, 4001)
    top, bottom = 16 - 8 + 0.6, float(np.min(loss.value(xs[:, None])))
    assert y1 > top  # f(2) = 8.6 was cut off
    assert y0 < bottom
    assert y1 - top < 0.15 * (top - bottom)  # with a little padding, not a lot


@pytest.mark.parametrize(
    ("text", "domain"), [("exp(3x)", (-2, 2)), ("-x^2", (-1, 1)), ("x", (-1000, 1000))]
)
def test_bounded_steep_curves_fit_whole(qtbot, text, domain):
    s = make_scene(qtbot)
    loss = compile_loss(text)
    s.set_problem(loss, (domain,))
    xs = np.linspace(*domain, 4001)
    top = float(np.max(np.broadcast_to(loss.value(xs[:, None]), xs.shape)))
    assert curve_top(s) >= top


@pytest.mark.parametrize(
    ("text", "domain"),
    [("1/x", (-1, 1)), ("1/x^2", (-1, 1)), ("tan(x)", (-5, 5)), ("-log(x)", (-1, 1))],
)
def test_a_pole_does_not_squash_the_curve(qtbot, text, domain):
    # Unbounded on the view window: the top samples leave the plot, as before.
    s = make_scene(qtbot)
    loss = compile_loss(text)
    s.set_problem(loss, (domain,))
    xs = np.linspace(*domain, 800)
    with np.errstate(all="ignore"):
        z = np.asarray(loss.value(xs[:, None]), dtype=np.float64)
    f = z[np.isfinite(z)]
    cap = float(np.quantile(f, 0.98))
    y0, y1 = s.surface.getViewBox().viewRange()[1]
    assert y1 < f.max()
    assert (y0, y1) == pytest.approx(
        (f.min() - 0.08 * (cap - f.min()), cap + 0.08 * (cap - f.min()))
    )


def test_a_nearly_flat_surface_gets_distinct_colour_bar_labels(qtbot):
    # The heat-map keeps its colours (the levels are the surface's own range);
    # the labels get the digits that tell them apart instead of "1e+06" each.
    s = make_scene(qtbot)
    s.set_problem(compile_loss("1000000 + 0.001(x^2 + y^2)"), ((-3, 3), (-3, 3)))
    settle(qtbot, s)
    axis = s.colorbar.axis
    lo, hi = (float(v) for v in s.colorbar.levels())
    assert hi - lo < 1e-7 * hi  # not widened
    for text in distinct_labels(axis):
        assert lo - 1e-9 <= float(text) <= hi + 1e-9, text
    assert_real_values("colour bar", axis)


def test_a_view_window_far_from_zero_gets_distinct_labels(qtbot):
    s = make_scene(qtbot)
    s.set_problem(compile_loss("x + y"), ((1000000, 1000000.01), (-1, 1)))
    settle(qtbot, s)
    distinct_labels(s.surface.getAxis("bottom"))
    assert_real_values("x", s.surface.getAxis("bottom"))


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_colour_bar_ends_where_the_plot_area_ends(qtbot, scale):
    # The x axis grows once its title is set and its labels measured; the bar
    # used to keep the margin of the bare axis and reach below the plot.
    s = make_scene(qtbot, DARK.scaled(scale))
    s.set_problem(compile_loss("x^2 + y^2"), ((-2, 2), (-2, 2)))
    settle(qtbot, s)
    bar = s.colorbar.vb.sceneBoundingRect()
    plot = s.surface.getViewBox().sceneBoundingRect()
    assert bar.bottom() == pytest.approx(plot.bottom(), abs=1.0)
    assert bar.top() == pytest.approx(plot.top(), abs=1.0)


def _units_per_pixel(s):
    vb = s.surface.getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    return (x1 - x0) / vb.width(), (y1 - y0) / vb.height()


@pytest.mark.parametrize(
    "domain", [((-6.0, 6.0), (-3.0, 3.0)), ((-2.0, 2.0), (-5.0, 5.0)), ((-3, 3), (-3, 3))]
)
def test_the_surface_keeps_one_unit_as_long_on_x_as_on_y(qtbot, domain):
    # A round bowl is drawn round, a 2:1 ravine twice as long as it is wide,
    # and −∇f meets the contour lines at right angles on screen.
    s = make_scene(qtbot)
    s.set_problem(compile_loss("0.5x^2 + 10y^2"), domain)
    settle(qtbot, s)
    ux, uy = _units_per_pixel(s)
    assert ux == pytest.approx(uy, rel=0.01)
    (x0, x1), (y0, y1) = s.surface.getViewBox().viewRange()
    # Exactly the view window, the room left over around it.
    assert (x0, x1) == pytest.approx(domain[0], abs=0.02 * (domain[0][1] - domain[0][0]))
    assert (y0, y1) == pytest.approx(domain[1], abs=0.02 * (domain[1][1] - domain[1][0]))
    # Zooming by the wheel or by a drag keeps it so.
    s.surface.getViewBox().scaleBy((0.5, 0.8))
    settle(qtbot, s)
    ux, uy = _units_per_pixel(s)
    assert ux == pytest.approx(uy, rel=0.01)


def test_a_very_long_window_and_a_curve_fill_their_area(qtbot):
    s = make_scene(qtbot)
    s.set_problem(compile_loss("x + y"), ((0.0, 0.01), (-1.0, 1.0)))  # 200 times taller
    settle(qtbot, s)
    vb = s.surface.getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    assert (x0, x1) == pytest.approx((0.0, 0.01), abs=1e-4) and (y0, y1) == pytest.approx((-1, 1))
    assert vb.width() > 200 and vb.height() > 200  # not a sliver
    s.set_problem(compile_loss("x^2"), ((-2.0, 2.0),))
    settle(qtbot, s)
    assert not vb.state["aspectLocked"] and vb.width() > 300


def test_equal_scale_can_be_turned_off(qtbot):
    from dataclasses import replace

    s = make_scene(qtbot)
    domain = ((-6.0, 6.0), (-3.0, 3.0))
    s.set_problem(compile_loss("0.5x^2 + 10y^2"), domain)
    settle(qtbot, s)
    vb = s.surface.getViewBox()
    equal = vb.size()
    s.set_view(replace(s.view, equal_axes=False))
    settle(qtbot, s)
    # The whole area, the same view window, stretched to fill it.
    assert vb.height() > equal.height() + 50 and not vb.state["aspectLocked"]
    (x0, x1), (y0, y1) = vb.viewRange()
    assert (x0, x1) == pytest.approx(domain[0], abs=0.1)
    assert (y0, y1) == pytest.approx(domain[1], abs=0.1)
    s.set_view(replace(s.view, equal_axes=True))
    settle(qtbot, s)
    ux, uy = _units_per_pixel(s)
    assert ux == pytest.approx(uy, rel=0.01)
