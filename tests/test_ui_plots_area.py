"""The plot area's rule: the surface is the largest thing on screen, every plot stays readable."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _ui_support import WAIT, ready

from gdviz.ui.main_window import MainWindow


def box(plot) -> tuple[float, float]:
    """A plot's area in window pixels (width, height)."""
    vb = plot.getViewBox()
    view = plot.scene().views()[0]
    r = view.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    return r.width(), r.height()


def settled(qtbot, w) -> None:
    """Wait until fitting the split again changes nothing."""

    def fixed() -> bool:
        before = w.plots.body.sizes()
        w.plots.fit()
        return w.plots.body.sizes() == before

    qtbot.wait(100)
    qtbot.waitUntil(fixed, timeout=WAIT)
    qtbot.wait(100)


@pytest.fixture
def window(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: ready(w), timeout=WAIT)
    return w


@pytest.mark.parametrize("extras", [False, True])
def test_at_the_desk_the_surface_gets_its_share_and_every_plot_its_room(qtbot, window, extras):
    if extras:
        window.model.set_view(replace(window.session.view, show_grad_norm=True, show_lr=True))
    settled(qtbot, window)
    s = window.scene
    sw, sh = box(s.surface)
    assert sw * sh >= 0.30 * window.width() * window.height()
    plots = [s.loss_plot, s.gnorm_plot, s.lr_plot] if extras else [s.loss_plot]
    for p in plots:
        w, h = box(p)
        assert w >= 150 and h >= 100, (p, w, h)
    # The largest thing on screen.
    assert all(sw * sh > box(p)[0] * box(p)[1] for p in plots)


def test_the_split_is_a_fixed_point_and_follows_the_window(qtbot, window):
    settled(qtbot, window)
    first = window.plots.body.sizes()
    window.plots.fit()
    assert window.plots.body.sizes() == first
    window.resize(1920, 1080)
    settled(qtbot, window)
    sw, sh = box(window.scene.surface)
    assert sw * sh >= 0.35 * window.width() * window.height()
    assert window.plots.body.sizes()[0] > first[0]


def test_presenting_at_1024_with_the_card_keeps_surface_and_loss_plot(qtbot, window):
    c = window.classroom
    c.set_presentation_scale(2.0)
    c.presentation.enter(fullscreen=False)
    window.resize(1024, 768)
    c.toggle_explain()
    settled(qtbot, window)
    assert c.explain_card.isVisible()
    sw, sh = box(window.scene.surface)
    assert sw * sh >= 0.35 * window.width() * window.height()
    w, h = box(window.scene.loss_plot)
    assert w >= 150 and h >= 100
    c.presentation.leave()


def test_large_text_puts_the_numbers_under_everything(qtbot, window):
    settled(qtbot, window)
    assert not window.plots.numbers_below()
    window.set_font_scale(2.0)
    settled(qtbot, window)
    assert window.plots.numbers_below()
    window.set_font_scale(1.0)
    settled(qtbot, window)
    assert not window.plots.numbers_below()
