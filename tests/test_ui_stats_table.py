"""The numbers table on its own: growing runs, readable colours, columns by priority."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from gdviz.core.colors import RUN_PALETTE, run_color
from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.lessons import lesson, run_session
from gdviz.core.loss import compile_loss
from gdviz.ui.stats_table import (
    BADGE_COLORS,
    COLUMNS,
    DIGITS,
    MIN_CONTRAST,
    StatsTable,
    contrast_ratio,
    is_growing,
    readable,
    status_text,
)
from gdviz.ui.theme import DARK, LIGHT, PROJECTOR, stylesheet


# ------------------------------------------------------------- is_growing
def bowl_runs(lrs, steps=200, start=(-2.5, 2.0), function="x^2 + y^2"):
    loss = compile_loss(function)
    configs = [RunConfig("gd", {"lr": lr}, start) for lr in lrs]
    return run(loss, configs, steps, StopRules(max_steps=steps))


def history(traj, k):
    return traj.losses[: int(traj.stop_step[k]) + 1, k]


def test_lesson_one_too_large_rate_is_growing_the_others_are_not():
    les = lesson(1)
    _loss, traj = run_session(les.session)
    lrs = [r.params["lr"] for r in les.session.runs]
    big = lrs.index(0.34)
    # The engine's bound (1e8) is far away: it says only "max_steps".
    assert traj.status[big] == "max_steps" and traj.losses[-1, big] < 1e5
    assert is_growing(history(traj, big))
    for k in range(len(lrs)):
        if k != big:  # too small (still descending) and about right (converged)
            assert not is_growing(history(traj, k)), lrs[k]


def test_bowl_gd_just_past_two_is_growing_not_below():
    traj = bowl_runs([1.02, 0.98, 0.5, 0.01, 1.0])
    assert traj.status[0] == "max_steps" and traj.losses[-1, 0] < 1e8
    assert is_growing(history(traj, 0))
    # 0.98 zig-zags inwards (still descending), 0.5 converges, 0.01 crawls
    # down, 1.0 bounces between two points forever: none is growing.
    for k in (1, 2, 3, 4):
        assert not is_growing(history(traj, k)), traj.status[k]


@pytest.mark.parametrize(
    "loss",
    [
        np.geomspace(50.0, 1e-9, 300),  # converged
        50.0 / (1.0 + np.arange(300)),  # still descending, slowly
        50.0 - 1e-3 * np.arange(300),  # barely descending
        np.r_[np.geomspace(5.0, 200.0, 30), np.geomspace(200.0, 1e-3, 70)],  # spike, then down
        np.r_[5.0, np.full(99, 60.0)],  # one jump then flat: not rising now
        1.0 + 0.3 * np.random.default_rng(1).standard_normal(500),  # noise around the start
        -5.0 - np.arange(100.0),  # a negative loss going further down
        np.r_[1.0, 2.0, np.inf],  # non-finite: the engine's "diverged"
        np.array([3.0]),
    ],
    ids=[
        "converged",
        "descending",
        "barely",
        "spike",
        "jump",
        "noise",
        "negative",
        "inf",
        "one",
    ],
)
def test_not_growing(loss):
    assert not is_growing(loss)


@pytest.mark.parametrize(
    "loss",
    [
        2.0 * 1.0816 ** np.arange(201),  # gd lr=1.02 on x², monotone
        # Momentum-like: swings through the minimum while its envelope grows.
        3.0 + 4.0 * (1.05 ** np.arange(150) * np.cos(0.7 * np.arange(150))) ** 2,
        np.r_[np.full(60, 2.0), 2.0 * 1.3 ** np.arange(1, 21)],  # flat, then takes off
        np.r_[17.0, 14.0, 13.0, 13.0 * 1.09 ** np.arange(1, 78)],  # dips first (lesson 1)
        -5.0 + 10.0 * 1.1 ** np.arange(60),  # a negative start
    ],
    ids=["geometric", "oscillating", "late", "dip-first", "negative-start"],
)
def test_growing(loss):
    assert is_growing(loss)


def test_status_text_words():
    assert status_text("max_steps", 80, 80, growing=True) == "growing at 80"
    assert status_text("max_steps", 80, 80) == "stopped at 80"
    assert status_text("max_steps", 80, 79, growing=True) == "running"
    # A real divergence keeps its word whatever the flag says.
    assert status_text("diverged", 12, 80, growing=True) == "diverged at 12"


# ----------------------------------------------------------------- colour
def test_contrast_ratio_matches_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#E69F00", "#ffffff") == pytest.approx(2.25, abs=0.01)


@pytest.mark.parametrize("theme", [DARK, LIGHT, PROJECTOR], ids=lambda t: t.name)
def test_readable_keeps_the_hue_and_reaches_the_ratio(theme):
    for bg in (theme.panel, theme.background):
        for color in RUN_PALETTE:
            out = readable(color, bg)
            assert contrast_ratio(out, bg) >= MIN_CONTRAST, (color, bg, out)
            if contrast_ratio(color, bg) >= MIN_CONTRAST:
                assert out == QColor(color).name()  # untouched when already readable
            a, b = QColor(color), QColor(out)
            if a.hsvSaturation() > 40 and b.hsvSaturation() > 40:
                hue = abs(a.hsvHue() - b.hsvHue())
                assert min(hue, 360 - hue) <= 6, (color, out)


def test_badge_fills_take_white_text():
    for name, fill in BADGE_COLORS.items():
        assert contrast_ratio("#ffffff", fill) >= MIN_CONTRAST, name
    # "growing" is of the divergence family: orange-red, unlike converged or stopped.
    grow, div = QColor(BADGE_COLORS["growing"]), QColor(BADGE_COLORS["diverged"])
    assert grow.name() != div.name()
    assert 0 <= div.hsvHue() <= 45 and 0 <= grow.hsvHue() <= 45
    assert grow.hsvSaturation() > 150 and QColor(BADGE_COLORS["stopped"]).hsvSaturation() < 20


# -------------------------------------------------------------- the table
def table_for(qtbot, theme, traj, labels, width=900):
    t = StatsTable()
    qtbot.addWidget(t)
    t.setStyleSheet(stylesheet(theme))
    t.set_font_size(theme.font_pt)
    t.resize(width, 200)
    t.show()
    qtbot.waitExposed(t)
    colors = [run_color(k) for k in range(len(labels))]
    t.set_runs(traj, colors, labels)
    t.show_step(traj.positions.shape[0] - 1)
    return t


def cell(t, r, c, role):
    return t.model_.data(t.model_.index(r, c), role)


def lesson_one():
    les = lesson(1)
    _loss, traj = run_session(les.session)
    labels = [f"{i + 1}. {r.label()}" for i, r in enumerate(les.session.runs)]
    return traj, labels


@pytest.mark.parametrize("theme", [DARK, LIGHT, PROJECTOR], ids=lambda t: t.name)
def test_every_text_in_the_table_reads_at_4_5_to_1(qtbot, theme):
    traj, labels = lesson_one()
    t = table_for(qtbot, theme, traj, labels)
    base = t.viewport().palette().color(QPalette.ColorRole.Base)
    assert base == QColor(theme.panel)  # what the style sheet paints the cells on
    for r in range(t.run_count()):
        for c in range(len(COLUMNS)):
            fill = cell(t, r, c, Qt.ItemDataRole.BackgroundRole)
            fg = cell(t, r, c, Qt.ItemDataRole.ForegroundRole)
            bg = fill.color() if fill is not None else base
            text = fg.color() if fg is not None else QColor(theme.panel_text)
            ratio = contrast_ratio(text, bg)
            assert ratio >= MIN_CONTRAST, (theme.name, t.row_text(r), c, text.name(), ratio)
    # The name keeps its run's hue: the list and the plots use the same colour.
    for r in range(t.run_count()):
        own, shown = QColor(run_color(r)), cell(t, r, 0, Qt.ItemDataRole.ForegroundRole)
        hue = abs(own.hsvHue() - shown.color().hsvHue())
        assert min(hue, 360 - hue) <= 6


def test_a_theme_switch_recolours_the_names(qtbot):
    traj, labels = lesson_one()
    t = table_for(qtbot, DARK, traj, labels)
    dark = cell(t, 0, 0, Qt.ItemDataRole.ForegroundRole).color()
    t.setStyleSheet(stylesheet(LIGHT))  # no set_runs: the palette change alone
    light = cell(t, 0, 0, Qt.ItemDataRole.ForegroundRole).color()
    assert dark != light
    assert contrast_ratio(light, LIGHT.panel) >= MIN_CONTRAST


def test_the_badge_says_growing_only_once_the_run_stops(qtbot):
    traj, labels = lesson_one()
    t = table_for(qtbot, LIGHT, traj, labels)
    statuses = [t.row_text(k)["status"] for k in range(t.run_count())]
    n = traj.positions.shape[0] - 1
    assert statuses == [f"stopped at {n}", "converged at 57", f"growing at {n}"]
    fill = cell(t, 2, 4, Qt.ItemDataRole.BackgroundRole).color()
    assert fill == QColor(BADGE_COLORS["growing"])
    t.show_step(n - 1)
    assert t.row_text(2)["status"] == "running"
    assert cell(t, 2, 4, Qt.ItemDataRole.BackgroundRole) is None


def test_a_new_trajectory_forgets_growing(qtbot):
    traj, labels = lesson_one()
    t = table_for(qtbot, DARK, traj, labels)
    calm = bowl_runs([0.005, 0.01, 0.02], steps=traj.positions.shape[0] - 1)
    t.set_runs(calm, [run_color(k) for k in range(3)], labels)
    t.show_step(calm.positions.shape[0] - 1)
    assert not any(t.row_text(k)["status"].startswith("growing") for k in range(3))


def fits(t, r, c):
    fm = t._metrics()
    return fm.horizontalAdvance(t.row_text(r)[COLUMNS[c]]) + 8 <= t.columnWidth(c)


@pytest.mark.parametrize("width", [1000, 920])
def test_names_and_status_stay_whole_at_large_text(qtbot, width):
    theme = DARK.scaled(2.0)
    traj, _ = lesson_one()
    labels = ["1. momentum  lr=0.0005", "2. nesterov  lr=0.0005", "3. adam  lr=0.05"]
    t = table_for(qtbot, theme, traj, labels, width=width)
    assert not t.horizontalScrollBar().isVisible()
    assert t.horizontalHeader().length() <= t.viewport().width()
    for r in range(t.run_count()):
        assert fits(t, r, 0), t.row_text(r)["run"]
        assert fits(t, r, 4), t.row_text(r)["status"]
        for c in (1, 2, 3):
            if not t.isColumnHidden(c):
                assert fits(t, r, c), t.row_text(r)[COLUMNS[c]]
    # The position goes first: the loss and ‖∇f‖ are always there.
    assert not t.isColumnHidden(1) and not t.isColumnHidden(2)
    dn, dp = t.digits()
    assert dp <= dn and dn >= 3
    # A cut or hidden number is whole in the row's tooltip.
    tip = cell(t, 2, 0, Qt.ItemDataRole.ToolTipRole)
    assert "position (" in tip and labels[2] in tip


def test_wider_gives_the_digits_back(qtbot):
    theme = DARK.scaled(2.0)
    traj, labels = lesson_one()
    t = table_for(qtbot, theme, traj, labels, width=600)
    narrow = t.digits()
    assert narrow != DIGITS[0] or not t.position_shown()
    t.resize(1800, 200)
    qtbot.waitUntil(lambda: t.viewport().width() > 1500, timeout=5000)
    assert t.digits() == DIGITS[0] and t.position_shown()
    assert t.row_text(2)["loss"] == f"{traj.losses[-1, 2]:.5g}"


def test_at_base_text_the_loss_keeps_five_digits(qtbot):
    traj, labels = lesson_one()
    t = table_for(qtbot, DARK, traj, labels, width=420)
    assert t.digits()[0] == 5
    assert t.row_text(2)["loss"] == f"{traj.losses[-1, 2]:.5g}"


def test_the_gradient_norm_goes_before_a_name_is_cut(qtbot):
    # Dataset mode at 2×: the names say what tells the runs apart (the batch).
    theme = DARK.scaled(2.0)
    traj, _ = lesson_one()
    labels = [
        "1. gd  lr=0.05 · full batch",
        "2. gd  lr=0.05 · batch 1",
        "3. gd  lr=0.05 · batch 16",
    ]
    t = table_for(qtbot, theme, traj, labels, width=808)
    assert t.shown_columns() == ["run", "loss", "status"]
    for r in range(t.run_count()):
        assert fits(t, r, 0) and fits(t, r, 1) and fits(t, r, 4), t.row_text(r)
    tip = cell(t, 0, 4, Qt.ItemDataRole.ToolTipRole)
    assert "‖∇f‖ " in tip and "position (" in tip


def test_too_narrow_for_everything_cuts_the_name_last(qtbot):
    theme = DARK.scaled(2.0)
    traj, _ = lesson_one()
    labels = ["1. momentum  lr=0.0005", "2. nesterov  lr=0.0005", "3. adam  lr=0.05"]
    t = table_for(qtbot, theme, traj, labels, width=700)
    assert not t.horizontalScrollBar().isVisible()
    assert t.digits() == DIGITS[-1]
    assert t.shown_columns() == ["run", "loss", "status"]
    for r in range(t.run_count()):
        assert fits(t, r, 4) and fits(t, r, 1)
    fm = t._metrics()
    assert t.columnWidth(0) >= fm.horizontalAdvance("8. mom")
