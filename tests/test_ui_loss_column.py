"""The loss column: extra plots share it and never go below a readable size."""

import pytest
from _ui_support import WAIT, shown_window
from PySide6.QtCore import QCoreApplication

from gdviz.ui.items.loss_column import MIN_PLOT_SIZE, LossColumn, min_plot_height
from gdviz.ui.theme import DARK, LIGHT

MIN_W, MIN_H = MIN_PLOT_SIZE


def plot_area(plot):
    """The plot area (view box) of ``plot`` in its view's pixels."""
    return plot.getViewBox().sceneBoundingRect()


def assert_readable(plots):
    for p in plots:
        r = plot_area(p)
        assert r.width() >= MIN_W and r.height() >= MIN_H, (p.title, r.width(), r.height())


def settle(qtbot, widget):
    for _ in range(3):
        qtbot.wait(20)
        widget.grab()


@pytest.fixture
def column(qtbot):
    c = LossColumn()
    qtbot.addWidget(c)
    c.set_theme(DARK)
    c.legend.show_runs(DARK, ["#ff0000", "#00ff00"], ["a", "b"], [True, True], [], 100)
    c.show()
    qtbot.waitExposed(c)
    return c


def test_extra_plots_stack_while_each_keeps_a_readable_area(qtbot, column):
    column.resize(420, 900)
    column.set_extra(True, True)
    settle(qtbot, column)
    assert column.stacked and not column.tabs.isVisible()
    assert column.shown_plots() == [column.loss, column.gnorm, column.lr]
    assert_readable(column.shown_plots())
    tops = [plot_area(p).top() for p in column.shown_plots()]
    assert tops == sorted(tops)  # loss on top, then ‖∇f‖, then learning rate


def test_in_less_room_the_plots_become_tabs_and_the_chosen_one_fills(qtbot, column):
    column.resize(420, 360)
    column.set_extra(True, True)
    settle(qtbot, column)
    assert not column.stacked and column.tabs.isVisible()
    assert [column.tabs.tabText(i) for i in range(column.tabs.count())] == [
        "loss",
        "‖∇f‖",
        "learning rate",
    ]
    for i, plot in enumerate((column.loss, column.gnorm, column.lr)):
        column.tabs.setCurrentIndex(i)
        settle(qtbot, column)
        assert column.shown_plots() == [plot] and plot.isVisible()
        assert_readable([plot])
    # Room again: stacked, no tabs.
    column.resize(420, 900)
    settle(qtbot, column)
    assert column.stacked and not column.tabs.isVisible()
    assert_readable(column.shown_plots())


def test_the_threshold_follows_the_font(qtbot, column):
    assert min_plot_height(DARK) >= MIN_H
    assert min_plot_height(LIGHT.scaled(2.0)) > 1.5 * min_plot_height(DARK)
    column.resize(420, 640)
    column.set_extra(True, True)
    settle(qtbot, column)
    assert column.stacked
    column.set_theme(LIGHT.scaled(2.5))  # projector fonts need taller plots
    settle(qtbot, column)
    assert not column.stacked


def test_only_the_loss_plot_needs_no_tabs(qtbot, column):
    column.resize(420, 200)
    settle(qtbot, column)
    assert column.plots() == [column.loss] and not column.tabs.isVisible()


def _tick_extra_plots(window, on):
    vp = window.view_panel
    vp.checks["show_grad_norm"].setChecked(on)
    vp.checks["show_lr"].setChecked(on)


def test_window_at_1280x800_with_both_extra_plots_keeps_every_plot_readable(qtbot):
    window = shown_window(qtbot)
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=WAIT)
    loss_alone = plot_area(window.scene.loss_plot).height()
    _tick_extra_plots(window, True)
    settle(qtbot, window)
    scene = window.scene
    plots = [scene.loss_plot, scene.gnorm_plot, scene.lr_plot]
    assert scene.column.shown_plots() == plots  # all three at once on a desk
    assert_readable(plots)
    assert not window.grab().isNull()  # painted without error
    _tick_extra_plots(window, False)  # and the loss plot gets its room back
    settle(qtbot, window)
    assert plot_area(scene.loss_plot).height() == pytest.approx(loss_alone, abs=2)


def test_presentation_at_1024x768_with_both_extra_plots_keeps_every_plot_readable(qtbot):
    window = shown_window(qtbot)
    _tick_extra_plots(window, True)
    window.classroom.presentation.enter(fullscreen=False)
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=WAIT)
    QCoreApplication.processEvents()
    settle(qtbot, window)
    column = window.scene.column
    chosen = column.plots()
    assert len(chosen) == 3
    seen = set()
    for i in range(column.tabs.count()) if column.tabs.isVisible() else [None]:
        if i is not None:
            column.tabs.setCurrentIndex(i)
            settle(qtbot, window)
        assert_readable(column.shown_plots())
        seen.update(id(p) for p in column.shown_plots())
    assert seen == {id(p) for p in chosen}  # each plot can be brought on screen
    window.classroom.presentation.leave()
