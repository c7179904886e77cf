"""Exporting the 3-D surface view: offered and drawn only where OpenGL works.

The offscreen tests always run and check that the 3-D panels fail cleanly
without OpenGL. Tests marked ``gl`` need a real X server with OpenGL and skip
without one; run them with::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" \\
        python -m pytest tests/test_export_3d.py -m gl
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from _export_support import decode, listing, read_png

from gdviz import cli
from gdviz.core.engine import RunConfig, run
from gdviz.core.loss import compile_loss
from gdviz.export.plan import PANELS, PANELS_3D, ExportError, ExportPlan
from gdviz.export.render import SceneInputs, SceneRenderer, check_panels, export_animation
from gdviz.ui.gl import probe_gl

BASE = ["export", "--function", "x^2 + 3y^2", "--start", "-2,1.5", "--size", "160x120"]
RACE = ["--optimizer", "gd:lr=0.05", "--optimizer", "momentum:lr=0.02"]


@pytest.fixture(scope="module")
def inputs() -> SceneInputs:
    loss = compile_loss("x^2 + 3y^2")
    traj = run(loss, [RunConfig("gd", {"lr": 0.05}, (-2.0, 1.5))], 20)
    return SceneInputs(loss, ((-2.5, 2.5), (-2.0, 2.0)), traj, labels=["gd"])


@pytest.fixture
def no_gl(qapp):
    support = probe_gl()
    if support:
        pytest.skip(f"OpenGL is available here ({support.reason})")
    return support


@pytest.fixture
def gl_ok(qapp):
    support = probe_gl()
    if not support:
        pytest.skip(
            f"needs OpenGL ({support.reason}); run under "
            "QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1280x1024x24'"
        )
    return support


def test_plan_accepts_the_3d_panels_the_view_can_export(tmp_path):
    from gdviz.ui.view3d import EXPORT_PANELS

    assert PANELS_3D == EXPORT_PANELS
    assert PANELS[:3] == ("both", "surface", "loss") and set(PANELS_3D) < set(PANELS)
    for panels in PANELS_3D:
        assert ExportPlan.create(tmp_path / "a.mp4", last_step=5, panels=panels).panels == panels
    with pytest.raises(ValueError, match="panels '3D' is not one of"):
        ExportPlan.create(tmp_path / "a.mp4", last_step=5, panels="3D")


# -- without OpenGL (the default, offscreen) ----------------------------------------------


def _headless_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)  # the command chooses offscreen itself
    return env


@pytest.mark.parametrize("panels", PANELS_3D)
def test_cli_3d_without_a_display_is_one_line_exit_2_and_writes_nothing(tmp_path, panels):
    proc = subprocess.run(
        [sys.executable, "-m", "gdviz", *BASE, "--steps", "5", "--panels", panels,
         "--out", str(tmp_path / "a.mp4")],
        capture_output=True, text=True, env=_headless_env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr
    assert err.count("\n") == 1 and err.startswith("gdviz export: --panels: "), err
    assert "OpenGL" in err and "offscreen" in err and "xvfb-run" in err
    assert proc.stdout == ""
    assert listing(tmp_path) == []


def test_renderer_refuses_3d_without_opengl_instead_of_crashing(no_gl, inputs):
    with pytest.raises(ExportError, match="need a display with OpenGL") as info:
        SceneRenderer(inputs, (160, 120), "3d")
    assert no_gl.reason in str(info.value) and "\n" not in str(info.value)
    check_panels("both")  # 2-D panels never need OpenGL


def test_export_3d_without_opengl_removes_what_it_opened(no_gl, inputs, tmp_path):
    plan = ExportPlan.create(tmp_path / "a.gif", last_step=20, size=(160, 120), panels="3d+loss")
    with pytest.raises(ExportError, match="OpenGL"):
        export_animation(plan, inputs)
    assert listing(tmp_path) == []


def test_dialog_offers_no_3d_panels_without_opengl(qtbot, no_gl, inputs, tmp_path):
    from gdviz.ui.export_dialog import ExportDialog

    d = ExportDialog(inputs, panels="3d", directory=tmp_path)
    qtbot.addWidget(d)
    offered = [d.panels.itemData(i) for i in range(d.panels.count())]
    assert offered == ["both", "surface", "loss"]
    assert d.panels.currentData() == "both"  # an unavailable choice falls back


# -- with OpenGL (Xvfb) -------------------------------------------------------------------


@pytest.mark.gl
def test_dialog_offers_3d_panels_for_surfaces_only(qtbot, gl_ok, inputs, tmp_path):
    from gdviz.ui.export_dialog import ExportDialog

    d = ExportDialog(inputs, panels="3d+loss", directory=tmp_path)
    qtbot.addWidget(d)
    offered = [d.panels.itemData(i) for i in range(d.panels.count())]
    assert offered == list(PANELS)
    assert d.panels.currentData() == "3d+loss"
    assert d.panels.currentText() == "3D surface and loss curve"

    loss1 = compile_loss("x^2")
    traj1 = run(loss1, [RunConfig("gd", {"lr": 0.1}, (1.0,))], 5)
    d1 = ExportDialog(SceneInputs(loss1, ((-2.0, 2.0),), traj1), directory=tmp_path)
    qtbot.addWidget(d1)
    assert [d1.panels.itemData(i) for i in range(d1.panels.count())] == ["both", "surface", "loss"]


@pytest.mark.gl
def test_cli_3d_mp4_has_every_frame_at_the_size(capsys, gl_ok, tmp_path):
    out = tmp_path / "a.mp4"
    code = cli.main(
        [*BASE, *RACE, "--steps", "40", "--every", "5", "--panels", "3d", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert (code, err) == (0, "")
    frames = decode(out)
    assert frames.shape == (9, 120, 160, 3)  # steps 0, 5, ..., 40
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 1000
    assert listing(tmp_path) == ["a.mp4"]


@pytest.mark.gl
def test_cli_3d_beside_loss_png_frames(capsys, gl_ok, tmp_path):
    code = cli.main(
        [*BASE, *RACE, "--steps", "12", "--every", "4", "--panels", "3d+loss",
         "--theme", "dark", "--out", f"{tmp_path}/frames/"]
    )  # fmt: skip
    assert (code, capsys.readouterr().err) == (0, "")
    names = sorted(os.listdir(tmp_path / "frames"))
    assert names == [f"frame_{i:05d}.png" for i in range(4)]
    first, last = (read_png(tmp_path / "frames" / n) for n in (names[0], names[-1]))
    assert first.shape == last.shape == (120, 160, 3)
    assert np.abs(first.astype(int) - last.astype(int)).sum() > 1000


@pytest.mark.gl
def test_cli_height_3d_changes_the_3d_picture(capsys, gl_ok, tmp_path):
    # A log height scale flattens the bowl's steep walls: a different picture.
    frames = {}
    for mode in ("clamp", "log", "clamp"):
        out = tmp_path / f"{mode}-{len(frames)}/"
        code = cli.main(
            [*BASE, "--steps", "0", "--panels", "3d", "--height-3d", mode, "--out", f"{out}/"]
        )
        assert (code, capsys.readouterr().err) == (0, "")
        frames.setdefault(mode, []).append(read_png(out / "frame_00000.png"))
    clamp, again = frames["clamp"]
    np.testing.assert_array_equal(clamp, again)  # the same mode draws the same frame
    assert np.abs(clamp.astype(int) - frames["log"][0].astype(int)).sum() > 1000


@pytest.mark.gl
def test_cli_3d_needs_a_function_of_two_variables(capsys, gl_ok, tmp_path):
    code = cli.main(
        ["export", "--function", "x^2", "--start", "1", "--steps", "3", "--size", "160x120",
         "--panels", "3d", "--out", str(tmp_path / "a.gif")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "two variables" in err, err
    assert listing(tmp_path) == []
