"""Run colours: one palette, readable on every theme's plot, chosen once per run."""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import replace

import pytest

from gdviz.core.colors import (
    RUN_COLOR_NAMES,
    RUN_PALETTE,
    assign_colors,
    contrast_ratio,
    next_color,
    normalize_color,
    run_color,
)
from gdviz.core.session import RunSpec, Session
from gdviz.core.session_io import SessionError, dumps_session, loads_session
from gdviz.ui.theme import THEMES


def test_twelve_runs_get_twelve_distinct_colours() -> None:
    colors = Session(runs=tuple(RunSpec("gd", {"lr": 0.01 * (k + 1)}) for k in range(12)))
    got = colors.run_colors()
    assert len(set(got)) == 12
    assert got == list(RUN_PALETTE[:12])
    assert [run_color(k) for k in range(12)] == got
    # Every colour has a name in the run editor, and names are distinct too.
    assert len(set(RUN_COLOR_NAMES[c] for c in got)) == 12


def _distance(a: str, b: str) -> float:
    """Euclidean distance in sRGB (0…441): a coarse check that two colours are not twins."""
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return sum((x - y) ** 2 for x, y in zip(ca, cb, strict=True)) ** 0.5


def test_palette_colours_are_far_apart() -> None:
    closest = min(_distance(a, b) for a, b in itertools.combinations(RUN_PALETTE, 2))
    assert closest > 60


@pytest.mark.parametrize("theme", list(THEMES.values()), ids=list(THEMES))
def test_every_run_colour_reads_on_every_theme_plot(theme) -> None:
    # WCAG 2's 3:1 for graphics, on the plot background and on the outline
    # every path is drawn on.
    for color in RUN_PALETTE:
        for bg in (theme.background, theme.path_shadow[:7]):
            assert contrast_ratio(color, bg) >= 3.0, (theme.name, color, bg)


def test_contrast_ratio_matches_wcag() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#0072B2", "#0072b2") == pytest.approx(1.0)


def test_removing_a_run_does_not_shift_the_others() -> None:
    s = Session(runs=tuple(RunSpec("gd", {"lr": 0.1 * (k + 1)}) for k in range(4)))
    before = s.run_colors()
    fewer = replace(s, runs=s.runs[:1] + s.runs[2:])
    assert fewer.run_colors() == [before[0], before[2], before[3]]
    # A run added now takes the colour that was freed, not a fifth one.
    more = replace(fewer, runs=(*fewer.runs, RunSpec("adam", {"lr": 0.05})))
    assert more.run_colors()[-1] == before[1]


def test_own_colours_are_kept_and_never_given_twice() -> None:
    got = assign_colors([None, RUN_PALETTE[0].lower(), None, "#123456"])
    assert got == [RUN_PALETTE[1], RUN_PALETTE[0], RUN_PALETTE[2], "#123456"]
    # All twelve taken: the least used comes next, the first of equals.
    assert next_color(RUN_PALETTE) == RUN_PALETTE[0]
    assert next_color([*RUN_PALETTE, RUN_PALETTE[0]]) == RUN_PALETTE[1]


def test_bad_colour_is_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="#rrggbb"):
        normalize_color("red")
    with pytest.raises(ValueError, match="#rrggbb"):
        Session(runs=(RunSpec(color="#12345"),))


def test_session_round_trip_keeps_colours() -> None:
    s = Session(
        runs=(
            RunSpec("gd", {"lr": 0.1}),
            RunSpec("adam", {"lr": 0.05}, color="#bb1199"),
            RunSpec("momentum", {"lr": 0.01}),
        )
    )
    text = dumps_session(s)
    assert text.count("color = ") == 3  # also the colours the palette gave
    back = loads_session(text).session
    assert back.run_colors() == s.run_colors() == [RUN_PALETTE[0], "#BB1199", RUN_PALETTE[1]]
    # Reopened and one run removed: the others keep theirs.
    fewer = replace(back, runs=back.runs[1:])
    assert fewer.run_colors() == ["#BB1199", RUN_PALETTE[1]]


def _two_runs_file() -> str:
    return dumps_session(Session(runs=(RunSpec("gd", {"lr": 0.1}), RunSpec("adam", {"lr": 0.05}))))


def test_old_session_file_without_colours_loads_with_the_palette() -> None:
    lines = _two_runs_file().splitlines()
    old = "\n".join(line for line in lines if not line.startswith("color = "))
    assert "color" not in old
    assert loads_session(old).session.run_colors() == list(RUN_PALETTE[:2])


@pytest.mark.parametrize("value", ['"blue"', '"#12345g"', "7", '"#0072B2FF"'])
def test_bad_colour_in_a_file_is_one_line(value: str) -> None:
    text = _two_runs_file().replace(f'color = "{RUN_PALETTE[0]}"', f"color = {value}")
    with pytest.raises(SessionError) as info:
        loads_session(text)
    assert info.value.where == "runs[0].color"
    assert "\n" not in str(info.value)


def test_core_colours_need_no_qt() -> None:
    code = "import sys, gdviz.core.colors, gdviz.core.session; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
