"""Export settings are checked before anything is drawn or written."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.export.plan import (
    ExportPlan,
    OutputKind,
    OutputPathError,
    auto_domain,
    check_fps,
    check_size,
    frame_steps,
    output_kind,
    parse_size,
)


def test_frame_steps_match_the_command_line_promise():
    assert len(frame_steps(299)) == 300
    steps = frame_steps(299, 10)
    assert len(steps) == 30
    assert list(steps)[:3] == [0, 10, 20] and steps[-1] == 290
    assert list(frame_steps(10, 5)) == [0, 5, 10]
    assert list(frame_steps(0)) == [0]
    assert list(frame_steps(20, 7, first_step=3)) == [3, 10, 17]


@pytest.mark.parametrize("args", [(10, 0), (10, -2), (-1, 1), (5, 1, 6)])
def test_frame_steps_refuses_empty_or_backwards(args):
    with pytest.raises(ValueError):
        frame_steps(*args)


@pytest.mark.parametrize(
    "text, size",
    [("1280x720", (1280, 720)), ("1920X1080", (1920, 1080)), (" 640 x 480 ", (640, 480)),
     ("800×600", (800, 600))],
)  # fmt: skip
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text, message",
    [
        ("1280", "not WIDTHxHEIGHT"),
        ("1280x", "not WIDTHxHEIGHT"),
        ("-5x10", "not WIDTHxHEIGHT"),
        ("12.5x10", "not WIDTHxHEIGHT"),
        ("10x10", "width must be between 64"),
        ("640x100000", "height must be between"),
    ],
)
def test_parse_size_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_size(text)


def test_mp4_needs_even_sides():
    check_size((1920, 1080), OutputKind.MP4)  # not a multiple of 16, and fine
    with pytest.raises(ValueError, match="even width and height; try 642x480"):
        check_size((641, 480), OutputKind.MP4)
    check_size((641, 481), OutputKind.GIF)
    check_size((641, 481), OutputKind.PNG)


def test_fps_limits():
    check_fps(60, OutputKind.MP4)
    check_fps(50, OutputKind.GIF)
    with pytest.raises(ValueError, match="too fast for a GIF"):
        check_fps(60, OutputKind.GIF)
    for bad in (0, -1, float("nan"), float("inf"), 1000):
        with pytest.raises(ValueError, match="fps"):
            check_fps(bad, OutputKind.MP4)


def test_output_kind(tmp_path):
    assert output_kind("anim.mp4") is OutputKind.MP4
    assert output_kind("ANIM.MP4") is OutputKind.MP4
    assert output_kind("a/b/anim.gif") is OutputKind.GIF
    assert output_kind("frames/") is OutputKind.PNG
    assert output_kind(tmp_path) is OutputKind.PNG  # an existing directory
    with pytest.raises(OutputPathError, match=r"unknown extension '\.avi'"):
        output_kind("anim.avi")
    with pytest.raises(OutputPathError, match="has no extension"):
        output_kind("frames")
    with pytest.raises(OutputPathError, match="empty"):
        output_kind("")


def test_plan_checks_everything(tmp_path):
    plan = ExportPlan.create(tmp_path / "a.mp4", last_step=299, every=10, fps=24)
    assert plan.kind is OutputKind.MP4 and plan.n_frames == 30 and plan.size == (1280, 720)
    with pytest.raises(ValueError, match="panels"):
        ExportPlan.create(tmp_path / "a.mp4", last_step=5, panels="side")
    with pytest.raises(ValueError, match="theme"):
        ExportPlan.create(tmp_path / "a.mp4", last_step=5, theme="pink")
    with pytest.raises(ValueError, match="even"):
        ExportPlan.create(tmp_path / "a.mp4", last_step=5, size=(641, 480))
    (tmp_path / "a.gif").write_bytes(b"x")
    with pytest.raises(OutputPathError, match="already exists"):
        ExportPlan.create(tmp_path / "a.gif", last_step=5)
    assert ExportPlan.create(tmp_path / "a.gif", last_step=5, force=True).force
    with pytest.raises(OutputPathError, match="does not exist"):
        ExportPlan.create(tmp_path / "missing" / "a.gif", last_step=5)


def test_auto_domain_holds_all_finite_points():
    pts = np.array(
        [[[0.0, 1.0], [2.0, -3.0]], [[np.nan, 5.0], [np.inf, 0.0]], [[1.0, 2.0], [4.0, 4.0]]]
    )
    (x0, x1), (y0, y1) = auto_domain(pts)
    assert x0 < 0 and x1 > 4 and y0 < -3 and y1 > 4
    assert np.isfinite([x0, x1, y0, y1]).all()
    # A run that never moves still gets a window of readable size.
    ((a, b),) = auto_domain(np.zeros((5, 1, 1)))
    assert (a, b) == (-1.0, 1.0)
    ((a, b),) = auto_domain(np.full((3, 1, 1), np.nan))
    assert a < b
