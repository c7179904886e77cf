"""The 3-D surface view: OpenGL probe, fallback note, height and path maths, GL drawing.

Tests marked ``gl`` need a real X server with OpenGL and skip without one (the
default offscreen run). Run them with::

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x1024x24" \\
        python -m pytest tests/test_view3d.py -m gl
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gdviz.core.colors import run_color
from gdviz.core.engine import RunConfig, run
from gdviz.core.loss import compile_loss
from gdviz.core.surface import sample_grid
from gdviz.ui.gl import UNSUPPORTED_PLATFORMS, context_is_recent_enough, gl_available, probe_gl
from gdviz.ui.theme import DARK
from gdviz.ui.view3d import (
    BOX_HEIGHT,
    GHOST_ALPHA,
    HEIGHT_MODES,
    LIFT,
    HeightScale,
    Surface3DView,
    drape_path,
    export_scene,
    mesh_height,
    path_segments,
    surface_mesh,
)

ROSENBROCK = "(1 - x)^2 + 100(y - x^2)^2"
ROSEN_DOMAIN = ((-2.0, 2.0), (-1.0, 3.0))


@pytest.fixture(scope="module")
def rosenbrock():
    return compile_loss(ROSENBROCK)


@pytest.fixture(scope="module")
def rosen_runs(rosenbrock):
    start = (-1.5, 2.0)
    configs = [
        RunConfig("gd", {"lr": 0.0008}, start),
        RunConfig("momentum", {"lr": 0.0005, "momentum": 0.9}, start),
        RunConfig("adam", {"lr": 0.05}, start),
        RunConfig("rmsprop", {"lr": 0.005}, start),
    ]
    return run(rosenbrock, configs, 300)


# ------------------------------------------------------------------ the probe
def test_probe_needs_an_application_and_does_not_cache_that():
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is not None:
        pytest.skip("a QApplication already exists in this process")
    first = probe_gl(refresh=True)
    assert not first and "no Qt application" in first.reason


def test_probe_says_no_on_platforms_without_opengl(qapp):
    platform = qapp.platformName()
    if platform not in UNSUPPORTED_PLATFORMS:
        pytest.skip(f"running on {platform!r}, which may have OpenGL")
    support = probe_gl(refresh=True)
    assert not support.available
    assert platform in support.reason


def test_old_desktop_opengl_is_refused_but_any_es_is_tried():
    assert not context_is_recent_enough((2, 0), is_es=False)
    assert not context_is_recent_enough((1, 5), is_es=False)
    assert context_is_recent_enough((2, 1), is_es=False)
    assert context_is_recent_enough((4, 5), is_es=False)
    assert context_is_recent_enough((2, 0), is_es=True)


def test_probe_answer_is_cached(qapp):
    a = probe_gl(refresh=True)
    assert probe_gl() is a
    assert probe_gl() is probe_gl()
    assert gl_available() is a.available


def test_environment_switch_turns_3d_off(qapp, monkeypatch):
    monkeypatch.setenv("GDVIZ_NO_GL", "1")
    try:
        support = probe_gl(refresh=True)
        assert not support and "GDVIZ_NO_GL" in support.reason
        view = Surface3DView(DARK)
        assert not view.available and "GDVIZ_NO_GL" in view.note.text()
        view.deleteLater()
    finally:
        monkeypatch.delenv("GDVIZ_NO_GL")
        probe_gl(refresh=True)


def test_offscreen_process_gets_the_note_and_never_crashes():
    """In a fresh offscreen process (GL there segfaults): a note, every call a no-op."""
    code = textwrap.dedent(
        """
        import numpy as np
        from PySide6.QtWidgets import QApplication
        from gdviz.ui.gl import probe_gl
        print("before app:", probe_gl().reason)
        app = QApplication([])
        from gdviz.core.engine import RunConfig, run
        from gdviz.core.loss import compile_loss
        from gdviz.ui.view3d import Surface3DView
        loss = compile_loss("x^2 + 3*y^2")
        traj = run(loss, [RunConfig("gd", {"lr": 0.1}, (1.0, 1.0))], 20)
        v = Surface3DView()
        v.resize(400, 300)
        v.show()
        v.set_problem(loss, ((-2, 2), (-2, 2)))
        v.set_runs(traj, ["#E69F00"], ["gd"])
        v.set_start((1.0, 1.0))
        v.set_step(7)
        v.set_height_mode("log")
        v.reset_camera()
        app.processEvents()
        img = v.grab()
        assert not img.isNull()
        try:
            v.render_rgb()
        except RuntimeError as exc:
            print("render_rgb:", exc)
        print("available:", v.available, "step:", v.step)
        print("note:", v.note.text())
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("GDVIZ_NO_GL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "available: False step: 7" in out.stdout
    note = next(line for line in out.stdout.splitlines() if line.startswith("note:"))
    assert "offscreen" in note and "2D" in note
    assert "\n" not in note
    assert "render_rgb: 3D view off" in out.stdout
    # Asked before the application existed, the probe said so and did not
    # cache it: the later answer names the platform.
    assert "before app: 3D view off: no Qt application yet" in out.stdout


def test_fallback_widget_is_a_one_line_note(qtbot, qapp, rosenbrock, rosen_runs):
    if probe_gl():
        pytest.skip("OpenGL is available here; the fallback is tested offscreen")
    view = Surface3DView(DARK)
    qtbot.addWidget(view)
    assert not view.available and view.glview is None
    assert view.note.text() and "\n" not in view.note.text()
    # Every call is harmless; the step index is still tracked (same index as 2-D).
    view.set_problem(rosenbrock, ROSEN_DOMAIN)
    view.set_runs(rosen_runs, ["#ff0000"] * 4)
    view.set_step(10_000)
    assert view.step == rosen_runs.n_steps
    view.set_height_mode("log")
    assert view.height_mode == "log"
    view.reset_camera()
    assert view.camera() == {}
    with pytest.raises(RuntimeError, match="3D view off"):
        view.render_rgb()
    with pytest.raises(RuntimeError, match="3D view off"):
        export_scene(theme=DARK)


def test_bad_input_is_refused_with_a_message_with_or_without_gl(qtbot, rosenbrock, rosen_runs):
    view = Surface3DView(DARK)
    qtbot.addWidget(view)
    with pytest.raises(ValueError, match="y range must go from low to high"):
        view.set_problem(rosenbrock, ((-1, 1), (2, 1)))
    with pytest.raises(ValueError, match="height mode must be one of clamp, linear, log"):
        view.set_height_mode("cubic")
    with pytest.raises(ValueError, match="need 4 colours"):
        view.set_runs(rosen_runs, ["#ff0000"])
    with pytest.raises(ValueError, match="height mode"):
        Surface3DView(DARK, height_mode="flat")


# ------------------------------------------------------------ height maths
def test_linear_scale_maps_min_to_floor_and_max_to_top():
    z = np.array([[2.0, 4.0], [6.0, 10.0]])
    s = HeightScale.from_values(z, "linear")
    np.testing.assert_allclose(s(z), [[0.0, 0.25], [0.5, 1.0]])


def test_clamp_cuts_off_the_top_one_percent():
    rng = np.random.default_rng(1)
    z = rng.uniform(0, 1, 10_000)
    z[:5] = 1e6  # a pole
    s = HeightScale.from_values(z, "clamp")
    h = s(z)
    assert np.all(h[:5] == 1.0)
    # Without the clamp the pole would squash everything else below 1e-6.
    assert np.median(h[5:]) == pytest.approx(0.5, abs=0.03)
    assert HeightScale.from_values(z, "linear")(z)[5:].max() < 1e-5


def test_log_scale_lifts_the_valley_floor(rosenbrock):
    """Rosenbrock on its usual window: linear heights flatten most of it, log does not."""
    g = sample_grid(rosenbrock, ROSEN_DOMAIN, 150)
    lin = HeightScale.from_values(g.z, "linear")(g.z)
    log = HeightScale.from_values(g.z, "log")(g.z)
    assert np.mean(lin < 0.05) > 0.4
    assert np.mean(log < 0.05) < 0.02
    # Along the valley floor y = x², the loss falls from 6.25 to 0: log heights
    # show that descent clearly, linear ones barely.
    xs = np.linspace(-1.5, 1.0, 50)
    floor = np.asarray(rosenbrock.value(np.stack([xs, xs**2], axis=1)))
    s_log = HeightScale.from_values(g.z, "log")
    s_lin = HeightScale.from_values(g.z, "linear")
    assert s_log(floor)[0] - s_log(floor)[-1] > 0.3
    assert s_lin(floor)[0] - s_lin(floor)[-1] < 0.01


def test_log_scale_is_monotone_and_floors_values_below_the_minimum():
    z = np.linspace(0, 100, 101)
    s = HeightScale.from_values(z, "log")
    h = s(z)
    assert h[0] == 0.0 and np.all(np.diff(h) >= 0) and h[-1] == 1.0
    assert s(np.array([-5.0]))[0] == 0.0


@pytest.mark.parametrize("mode", list(HEIGHT_MODES))
def test_non_finite_values_have_no_height_and_flat_functions_sit_mid_box(mode):
    s = HeightScale.from_values(np.array([1.0, np.nan, 3.0, np.inf]), mode)
    h = s(np.array([np.nan, np.inf, -np.inf, 2.0]))
    assert np.all(np.isnan(h[:3])) and 0.0 <= h[3] <= 1.0
    flat = HeightScale.from_values(np.full((4, 4), 7.0), mode)
    assert flat(np.array([7.0]))[0] == pytest.approx(0.5)
    empty = HeightScale.from_values(np.full(3, np.nan), mode)
    assert np.isnan(empty(np.array([np.nan]))[0])


def test_unknown_height_mode_is_refused():
    with pytest.raises(ValueError, match="height mode must be one of clamp, linear, log"):
        HeightScale.from_values(np.ones(3), "sqrt")


# -------------------------------------------------------------- mesh maths
def _plane_grid(nx=5, ny=4):
    xs = np.linspace(0.0, 1.0, nx)
    ys = np.linspace(-2.0, 2.0, ny)
    z = xs[None, :] + 10 * ys[:, None]  # row j is y = ys[j], as sample_grid makes it
    return xs, ys, z


def test_mesh_puts_vertex_i_j_at_x_i_y_j_with_the_grid_value():
    xs, ys, z = _plane_grid()
    s = HeightScale.from_values(z, "linear")
    m = surface_mesh(xs, ys, z, s)
    nx, ny = len(xs), len(ys)
    assert m.vertexes.shape == (nx * ny, 3) and m.vertexes.dtype == np.float32
    v = m.vertexes.reshape(nx, ny, 3)
    np.testing.assert_allclose(v[:, 0, 0], np.linspace(-1, 1, nx), atol=1e-6)
    np.testing.assert_allclose(v[0, :, 1], np.linspace(-1, 1, ny), atol=1e-6)
    for i in range(nx):
        for j in range(ny):
            assert v[i, j, 2] == pytest.approx(BOX_HEIGHT * s(np.array([z[j, i]]))[0], abs=1e-6)
    assert len(m.faces) == 2 * (nx - 1) * (ny - 1)
    assert m.faces.max() < nx * ny


def test_mesh_normals_are_unit_and_tilt_against_the_slope():
    xs, ys, _ = _plane_grid()
    z = np.broadcast_to(3 * xs[None, :], (len(ys), len(xs)))  # rises along x only
    m = surface_mesh(xs, ys, z, HeightScale.from_values(z, "linear"))
    np.testing.assert_allclose(np.linalg.norm(m.normals, axis=1), 1.0, atol=1e-6)
    assert np.all(m.normals[:, 0] < 0) and np.all(m.normals[:, 2] > 0)
    np.testing.assert_allclose(m.normals[:, 1], 0.0, atol=1e-6)


def test_mesh_leaves_a_hole_where_the_loss_is_not_finite():
    xs, ys, z = _plane_grid(6, 6)
    z = z.copy()
    z[2, 3] = np.nan  # one interior sample: its four cells go
    m = surface_mesh(xs, ys, z, HeightScale.from_values(z, "linear"))
    assert len(m.faces) == 2 * 5 * 5 - 8
    hole = 3 * 6 + 2  # vertex (i=3, j=2)
    assert hole not in m.faces
    assert np.isnan(m.heights[hole]) and m.vertexes[hole, 2] == 0.0


def test_mesh_refuses_a_transposed_grid():
    xs, ys, z = _plane_grid(5, 4)
    with pytest.raises(ValueError, match=r"shape \(ny, nx\) = \(4, 5\)"):
        surface_mesh(xs, ys, z.T, HeightScale.from_values(z, "linear"))


def test_mesh_height_is_exact_on_vertices_and_planes():
    rng = np.random.default_rng(2)
    hz = rng.uniform(0, 1, (7, 5))
    gx, gy = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-1, 1, 5), indexing="ij")
    np.testing.assert_allclose(mesh_height(hz, np.stack([gx, gy], -1).reshape(-1, 2)), hz.ravel())
    plane = 0.3 + 0.2 * gx - 0.5 * gy
    pts = rng.uniform(-1, 1, (200, 2))
    np.testing.assert_allclose(mesh_height(plane, pts), 0.3 + 0.2 * pts[:, 0] - 0.5 * pts[:, 1])


def test_mesh_height_follows_the_drawn_triangles_not_bilinear():
    # One cell, only corner c = (i+1, j+1) raised. The mesh splits the cell
    # along a-c: at (s, t) = (0.75, 0.25) the triangle a-b-c gives 0.25,
    # bilinear interpolation would give 0.1875.
    hz = np.array([[0.0, 0.0], [0.0, 1.0]])
    pts = np.array([[0.5, -0.5], [-0.5, 0.5], [0.0, 0.0]])  # (s,t) = (.75,.25), (.25,.75), (.5,.5)
    np.testing.assert_allclose(mesh_height(hz, pts), [0.25, 0.25, 0.5])


def test_mesh_height_is_nan_outside_and_in_holes():
    hz = np.zeros((4, 4))
    hz[1, 1] = np.nan
    pts = np.array([[1.5, 0.0], [0.0, -1.01], [np.nan, 0.0], [-0.5, -0.5], [0.9, 0.9]])
    h = mesh_height(hz, pts)
    assert np.all(np.isnan(h[:4])) and h[4] == 0.0


# -------------------------------------------------------------- path maths
def test_long_steps_are_split_to_follow_the_surface():
    pos = np.array([[-1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])  # across the box, then frozen
    p = drape_path(pos, ((-1, 1), (-1, 1)), cell=0.1, max_substeps=8)
    assert list(p.starts) == [0, 8, 9]
    assert len(p.xy) == 10
    np.testing.assert_allclose(p.xy[:9, 0], np.linspace(-1, 1, 9))
    np.testing.assert_allclose(p.xy[:, 1], 0.0)


def test_short_steps_are_not_split_and_budget_caps_long_runs():
    pos = np.stack([np.linspace(-0.5, 0.5, 11), np.zeros(11)], axis=1)
    p = drape_path(pos, ((-1, 1), (-1, 1)), cell=1.0, min_gap=0)
    assert list(p.starts) == list(range(11))
    zigzag = np.tile([[-0.9, 0.0], [0.9, 0.0]], (500, 1))
    capped = drape_path(zigzag, ((-1, 1), (-1, 1)), cell=0.01, budget=1000)
    assert len(capped.xy) == len(zigzag)


def test_creeping_steps_are_merged_but_zigzags_and_gaps_stay():
    creep = np.stack([np.linspace(-0.5, 0.5, 10_001), np.zeros(10_001)], axis=1)
    p = drape_path(creep, ((-1, 1), (-1, 1)), cell=0.04)  # kept every 0.01
    assert 95 <= len(p.xy) <= 105
    np.testing.assert_allclose(p.xy[[0, -1]], creep[[0, -1]])
    assert np.all(np.diff(p.starts) >= 0) and p.starts[-1] == len(p.xy) - 1
    # Every step's drawn path ends within one gap of where the step is.
    end_points = p.xy[p.starts]
    assert np.abs(end_points[:, 0] - creep[:, 0]).max() <= 0.01 + 1e-9
    # A zig-zag of the same extent travels far more path length: it keeps more.
    zig = creep.copy()
    zig[1::2, 1] = 0.02
    assert len(drape_path(zig, ((-1, 1), (-1, 1)), cell=0.04).xy) > 10 * len(p.xy)
    # A non-finite point (a diverged step) is never merged away.
    gap = creep[:1001].copy()
    gap[500] = np.nan
    q = drape_path(gap, ((-1, 1), (-1, 1)), cell=0.04)
    assert np.isnan(q.xy[:, 0]).sum() == 1


def test_drape_path_maps_the_domain_to_the_unit_box():
    pos = np.array([[0.0, 10.0], [4.0, 30.0]])
    p = drape_path(pos, ((0, 4), (10, 30)), cell=10.0)
    np.testing.assert_allclose(p.xy[[0, -1]], [[-1, -1], [1, 1]])
    with pytest.raises(ValueError, match=r"shape \(T\+1, 2\)"):
        drape_path(np.zeros((3, 3)), ((0, 1), (0, 1)), cell=0.1)


def test_path_segments_break_at_gaps_and_end_where_each_step_ends():
    pos = np.array([[-0.5, 0.0], [0.0, 0.0], [0.5, 0.0], [0.7, 0.0], [0.7, 0.0]])
    p = drape_path(pos, ((-1, 1), (-1, 1)), cell=10.0, min_gap=0)
    h = np.array([0.1, 0.2, np.nan, 0.4, 0.4])  # step 2 is over a hole
    verts, ends = path_segments(p, h)
    assert list(ends) == [0, 1, 1, 1, 1]  # only the piece 0→1 is drawable
    np.testing.assert_allclose(verts, [[-0.5, 0, 0.1], [0.0, 0, 0.2]], atol=1e-6)
    h2 = np.array([0.1, 0.2, 0.3, 0.4, 0.4])
    verts, ends = path_segments(p, h2)
    assert list(ends) == [0, 1, 2, 3, 3]  # the frozen last row adds nothing
    assert verts.shape == (6, 3)


# -------------------------------------------------------------- GL drawing
@pytest.fixture
def gl_ok(qapp):
    support = probe_gl()
    if not support:
        pytest.skip(
            f"needs OpenGL ({support.reason}); run under "
            "QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1280x1024x24'"
        )
    return support


def _shown(qtbot, view, size=(640, 480)):
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def _project(view, xyz):
    """Pixel (column, row) of a box point in the GL view's framebuffer."""
    from PySide6.QtGui import QVector3D

    gv = view.glview
    w, h = gv.width(), gv.height()
    region = (0, 0, w, h)
    m = gv.projectionMatrix(region, region) * gv.viewMatrix()
    p = m.map(QVector3D(*(float(v) for v in xyz)))
    return round((p.x() + 1) / 2 * w), round((1 - p.y()) / 2 * h)


def _pixel(rgb, col_row):
    c, r = col_row
    return rgb[r, c].astype(int)


@pytest.mark.gl
def test_view_draws_the_surface_paths_and_balls(qtbot, gl_ok, rosenbrock, rosen_runs):
    view = _shown(qtbot, Surface3DView(DARK))
    assert view.available and view.glview is not None
    colors = ["#ff0000", "#00ff00", "#0000ff", "#ffff00"]
    view.set_problem(rosenbrock, ROSEN_DOMAIN)
    view.set_runs(rosen_runs, colors, ["a", "b", "c", "d"])
    view.set_step(0)
    items = (view.path_shadow, view.path_line, view.path_ghost)
    assert not any(it.visible() for it in items)  # no path yet at step 0
    view.set_step(150)
    assert all(it.visible() for it in items)
    for k in range(4):
        assert len(view.drawn_paths[k]) == 2 * view._path_ends[k][150] > 0
    # One line item holds every run, each in its own colour.
    np.testing.assert_array_equal(view.path_line.pos, np.concatenate(view.drawn_paths))
    np.testing.assert_array_equal(view.path_shadow.pos, view.path_line.pos)
    starts = np.cumsum([0] + [len(p) for p in view.drawn_paths[:-1]])
    for k, first in enumerate(starts):
        want = [int(colors[k][i : i + 2], 16) / 255 for i in (1, 3, 5)]
        np.testing.assert_allclose(view.path_line.color[first, :3], want)
        assert view.path_ghost.color[first, 3] == pytest.approx(GHOST_ALPHA)
    lengths = [len(view.drawn_paths[0])]
    for i in (200, 250, 300):
        view.set_step(i)
        lengths.append(len(view.drawn_paths[0]))
    assert lengths == sorted(lengths) and lengths[-1] > lengths[0]
    view.set_step(10**6)
    assert view.step == rosen_runs.n_steps
    assert len(view.balls.pos) == 4


@pytest.mark.gl
def test_balls_sit_on_the_surface_at_the_shown_step(qtbot, gl_ok):
    loss = compile_loss("x^2 + 3*y^2")
    traj = run(loss, [RunConfig("gd", {"lr": 0.05}, (1.6, -1.2))], 40)
    view = _shown(qtbot, Surface3DView(DARK, controls=False))
    view.set_problem(loss, ((-2, 2), (-2, 2)))
    view.set_runs(traj, ["#ff2020"], ["gd"])
    for step in (0, 12, 40):
        view.set_step(step)
        qtbot.wait(20)
        rgb = view.render_rgb()
        ball = view._ball_xyz[step, 0]
        x, y = traj.positions[step, 0]
        assert ball[0] == pytest.approx(x / 2) and ball[1] == pytest.approx(y / 2)
        assert ball[2] >= LIFT  # never under the floor
        r, g, b = _pixel(rgb, _project(view, ball))
        assert r > 200 and g < 90 and b < 90, (step, (r, g, b))
    # The ball moved: the old position is no longer red.
    r, g, b = _pixel(rgb, _project(view, view._ball_xyz[0, 0]))
    assert not (r > 200 and g < 90 and b < 90)


@pytest.mark.gl
def test_render_rgb_is_rgb_not_bgra(qtbot, gl_ok):
    theme = dataclasses.replace(DARK, background="#c03010")
    view = _shown(qtbot, Surface3DView(theme, controls=False), (320, 240))
    view.set_problem(compile_loss("x^2 + y^2"), ((-1, 1), (-1, 1)))
    for rgb in (view.render_rgb(), view.render_rgb((300, 200))):
        assert rgb.dtype == np.uint8 and rgb.shape[2] == 3
        np.testing.assert_allclose(rgb[2, 2], [0xC0, 0x30, 0x10], atol=2)
    assert view.render_rgb((300, 200)).shape == (200, 300, 3)
    # The surface is drawn in the middle, in the colour map's colours.
    mid = view.render_rgb()[120, 160].astype(int)
    assert np.abs(mid - [0xC0, 0x30, 0x10]).sum() > 60


@pytest.mark.gl
def test_two_views_in_one_process_both_draw(qtbot, gl_ok, rosenbrock, rosen_runs):
    """pyqtgraph caches shader programs per class; a second GL context must not reuse them."""
    views = []
    for _ in range(2):
        v = _shown(qtbot, Surface3DView(DARK, controls=False), (320, 240))
        v.set_problem(rosenbrock, ROSEN_DOMAIN)
        v.set_runs(rosen_runs, [run_color(k) for k in range(4)])
        v.set_step(100)
        views.append(v)
    bg = np.array([0x15, 0x17, 0x1C])
    for _ in range(2):
        for v in views:
            rgb = v.render_rgb()
            covered = np.mean(np.abs(rgb.astype(int) - bg).sum(axis=2) > 30)
            assert covered > 0.2, covered


@pytest.mark.gl
def test_reset_camera_button_undoes_turning_and_zooming(qtbot, gl_ok):
    from PySide6.QtCore import Qt

    view = _shown(qtbot, Surface3DView(DARK))
    view.set_problem(compile_loss("x^2 - y^2"), ((-1, 1), (-1, 1)))
    home = view.camera()
    view.glview.orbit(70, -20)
    view.glview.setCameraParams(distance=home["distance"] * 3)
    assert view.camera() != home
    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    assert view.camera() == pytest.approx(home)


@pytest.mark.gl
def test_mouse_drag_turns_and_wheel_zooms(qtbot, gl_ok):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    view = _shown(qtbot, Surface3DView(DARK))
    view.set_problem(compile_loss("x^2 + y^2"), ((-1, 1), (-1, 1)))
    home = view.camera()
    gv = view.glview
    qtbot.mousePress(gv, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(gv, QPoint(160, 120))
    qtbot.mouseRelease(gv, Qt.MouseButton.LeftButton, pos=QPoint(160, 120))
    assert view.camera()["azimuth"] != home["azimuth"]
    centre = QPointF(gv.width() / 2, gv.height() / 2)
    wheel = QWheelEvent(
        centre,
        gv.mapToGlobal(centre),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(gv, wheel)
    assert view.camera()["distance"] < home["distance"]


@pytest.mark.gl
def test_height_menu_switches_to_log_heights(qtbot, gl_ok, rosenbrock):
    view = _shown(qtbot, Surface3DView(DARK))
    view.set_problem(rosenbrock, ROSEN_DOMAIN)
    before = view._mesh.heights.copy()
    with qtbot.waitSignal(view.heightModeChanged) as blocker:
        view.height_box.setCurrentIndex(list(HEIGHT_MODES).index("log"))
        view.height_box.activated.emit(view.height_box.currentIndex())
    assert blocker.args == ["log"] and view.height_mode == "log"
    after = view._mesh.heights
    assert np.nanmedian(after) > np.nanmedian(before) + 0.2
    assert view.labels.entries["f"][1] == "log f"


@pytest.mark.gl
def test_paths_stay_on_the_surface_through_a_masked_region(qtbot, gl_ok):
    loss = compile_loss("log(x) + y^2")  # not finite for x <= 0
    pos = np.array([[[0.5, 0.0]], [[-0.5, 0.0]], [[-0.5, 0.5]], [[0.5, 0.5]]])
    traj = dataclasses.replace(
        run(loss, [RunConfig("gd", {"lr": 0.01}, (0.5, 0.0))], 3),
        positions=pos,
        losses=np.asarray(loss.value(pos[:, 0]))[:, None],
    )
    view = _shown(qtbot, Surface3DView(DARK))
    view.set_problem(loss, ((-1, 1), (-1, 1)))
    assert len(view._mesh.faces) < 2 * 149 * 149
    view.set_runs(traj, ["#ffffff"])
    view.set_step(3)
    verts = view.path_line.pos
    assert len(verts) > 0 and np.all(verts[:, 0] > -1e-6)  # nothing drawn over the hole
    assert np.all(np.isfinite(verts))
    h = mesh_height(view._hz, verts[:, :2].astype(np.float64))
    np.testing.assert_allclose(verts[:, 2], h + LIFT, atol=1e-5)


@pytest.mark.gl
def test_one_variable_functions_get_a_note(qtbot, gl_ok):
    view = _shown(qtbot, Surface3DView(DARK))
    view.set_problem(compile_loss("x^2"), ((-1, 1),))
    assert view.stack.currentWidget() is view.note
    assert "two variables" in view.note.text()
    view.set_problem(compile_loss("x^2 + y^2"), ((-1, 1), (-1, 1)))
    assert view.stack.currentWidget() is view.glview


@pytest.mark.gl
def test_snapshot_has_axis_names_and_theme_switch_recolours(qtbot, gl_ok):
    from gdviz.ui.theme import LIGHT

    view = _shown(qtbot, Surface3DView(DARK, controls=False), (400, 300))
    view.set_problem(compile_loss("x^2 + y^2"), ((-1, 1), (-1, 1)))
    qtbot.wait(20)
    dark = view.snapshot()
    assert dark.size() == view.size()
    # The axis name "x" is painted in the foreground colour below the box.
    col, row = _project(view, (0.0, -1.15, 0.0))
    bright = [
        dark.pixelColor(c, r).lightness()
        for c in range(col - 12, col + 12)
        for r in range(row - 12, row + 12)
    ]
    assert max(bright) > 180
    view.set_theme(LIGHT)
    qtbot.wait(20)
    light = view.snapshot()
    assert light.pixelColor(3, 3).lightness() > 240 > dark.pixelColor(3, 3).lightness()


@pytest.mark.gl
def test_exporter_renders_3d_frames(qtbot, gl_ok, rosenbrock, rosen_runs):
    from gdviz.export.render import SceneInputs, SceneRenderer

    inputs = SceneInputs(loss=rosenbrock, domain=ROSEN_DOMAIN, trajectory=rosen_runs)
    with SceneRenderer(inputs, (320, 240), "3d", "dark", scene_factory=export_scene) as r:
        first = r.frame(0)
        last = r.frame(rosen_runs.n_steps)
        again = r.frame(0)
    assert first.shape == (240, 320, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, again)  # same step, same pixels
    assert np.abs(first.astype(int) - last.astype(int)).sum() > 1000


@pytest.mark.gl
def test_exporter_renders_3d_beside_the_loss_curve(qtbot, gl_ok, rosenbrock, rosen_runs):
    from gdviz.export.render import SceneInputs, SceneRenderer

    inputs = SceneInputs(loss=rosenbrock, domain=ROSEN_DOMAIN, trajectory=rosen_runs)
    with SceneRenderer(inputs, (480, 240), "3d+loss", "light", scene_factory=export_scene) as r:
        scene = r.scene
        assert scene.view3d.width() > scene.loss_scene.width() > 0
        early, late = r.frame(10), r.frame(rosen_runs.n_steps)
    split = scene.loss_scene.x()
    # Both halves change as the runs go on: the 3-D paths and the loss curves.
    for part in (slice(0, split), slice(split, None)):
        assert np.abs(early[:, part].astype(int) - late[:, part].astype(int)).sum() > 1000
    with pytest.raises(ValueError, match="3D panels must be one of 3d, 3d\\+loss"):
        export_scene("both", DARK)


@pytest.mark.gl
def test_still_surface_is_cached_and_redrawn_when_it_or_the_camera_changes(qtbot, gl_ok):
    view = _shown(qtbot, Surface3DView(DARK, controls=False), (320, 240))
    view.set_problem(compile_loss("x^2 + 3*y^2"), ((-2, 2), (-2, 2)))
    home = view.render_rgb()
    assert view.glview._bg_key is not None  # the cached path drew this frame
    # The same picture as drawing everything every frame.
    view.glview.cache_static = False
    np.testing.assert_array_equal(view.render_rgb(), home)
    view.glview.cache_static = True
    view.glview.orbit(40, 10)
    turned = view.render_rgb()
    assert np.abs(turned.astype(int) - home.astype(int)).sum() > 10_000
    view.reset_camera()
    np.testing.assert_array_equal(view.render_rgb(), home)
    view.set_problem(compile_loss("-x^2 - 3*y^2"), ((-2, 2), (-2, 2)))
    assert np.abs(view.render_rgb().astype(int) - home.astype(int)).sum() > 10_000
    view.set_height_mode("log")
    view.set_problem(compile_loss("x^2 + 3*y^2"), ((-2, 2), (-2, 2)))
    assert np.abs(view.render_rgb().astype(int) - home.astype(int)).sum() > 10_000


@pytest.mark.gl
def test_colours_follow_the_2d_view_and_heights_stay_the_3d_choice(qtbot, gl_ok, rosenbrock):
    from gdviz.core.session import ViewSettings

    view = _shown(qtbot, Surface3DView(DARK, controls=False), (320, 240))
    view.set_problem(rosenbrock, ROSEN_DOMAIN)
    heights = view._mesh.heights.copy()
    linear_colours = view.surface_item._arrays[3].copy()
    view.set_view(ViewSettings(log_levels=True))
    assert view.log_colors and view.height_mode == "clamp"
    np.testing.assert_array_equal(view._mesh.heights, heights)
    log_colours = view.surface_item._arrays[3]
    # Log colours spread the valley floor over the colour map; linear ones
    # leave it all in the map's first colour.
    low = np.nan_to_num(heights) < np.nanquantile(heights, 0.1)

    def spread(colours):
        return float(np.linalg.norm(colours[low, :3] - colours[low, :3].mean(0), axis=1).mean())

    assert spread(log_colours) > 0.05 > 5 * spread(linear_colours), (
        spread(log_colours),
        spread(linear_colours),
    )
    # The same colours as the 2-D heat-map: vertex (i, j) has the colour the
    # 2-D view gives z[j, i] (min → first colour of the map).
    import pyqtgraph as pg

    g = view._grid
    i, j = np.unravel_index(np.nanargmin(g.z.T), g.z.T.shape)
    first = pg.colormap.get(DARK.colormap).map([0.0], mode="float")[0][:3]
    np.testing.assert_allclose(log_colours[i * len(g.ys) + j, :3], first, atol=1e-6)


@pytest.mark.gl
def test_a_coarse_surface_stands_in_while_the_mouse_moves_the_camera(qtbot, gl_ok, rosenbrock):
    from PySide6.QtCore import QPoint, Qt

    view = _shown(qtbot, Surface3DView(DARK))
    view.set_problem(rosenbrock, ROSEN_DOMAIN)
    full = len(view.surface_item._arrays[2])
    draft = len(view.draft_item._arrays[2])
    assert 0 < draft < full / 5
    # The draft has the same corners and heights where it has samples.
    np.testing.assert_array_equal(
        view.draft_item._arrays[0][[0, -1]], view.surface_item._arrays[0][[0, -1]]
    )
    gv = view.glview
    assert view.surface_item.visible() and not view.draft_item.visible()
    qtbot.mousePress(gv, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert view.draft_item.visible() and not view.surface_item.visible()
    qtbot.mouseMove(gv, QPoint(150, 110))
    qtbot.mouseRelease(gv, Qt.MouseButton.LeftButton, pos=QPoint(150, 110))
    assert view.surface_item.visible() and not view.draft_item.visible()
    home = view.render_rgb()
    gv._set_moving(True)
    draft_picture = view.render_rgb()
    gv._set_moving(False)
    np.testing.assert_array_equal(view.render_rgb(), home)
    assert np.abs(draft_picture.astype(int) - home.astype(int)).sum() > 0


@pytest.mark.gl
def test_a_hidden_view_defers_the_surface_until_it_is_shown(qtbot, gl_ok, rosenbrock, rosen_runs):
    view = Surface3DView(DARK)
    qtbot.addWidget(view)
    view.set_problem(rosenbrock, ROSEN_DOMAIN)
    view.set_runs(rosen_runs, [run_color(k) for k in range(4)])
    view.set_step(120)
    assert view._grid is None and view.step == 120  # nothing sampled yet
    with pytest.raises(ValueError, match="x range"):
        view.set_problem(rosenbrock, ((1, 1), (0, 1)))  # still checked at once
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    assert view._grid is not None and view._mesh is not None
    assert view.path_line.visible()
    assert len(view.drawn_paths[0]) == 2 * view._path_ends[0][120] > 0
    view.hide()
    view.set_step(250)  # a background tab: remembered, drawn when shown again
    assert len(view.drawn_paths[0]) == 2 * view._path_ends[0][120]
    view.show()
    qtbot.waitExposed(view)
    assert len(view.drawn_paths[0]) == 2 * view._path_ends[0][250]
    view.hide()
    view.set_problem(compile_loss("x^2 + y^2"), ((-1, 1), (-1, 1)))
    old_grid = view._grid
    view.show()
    qtbot.waitExposed(view)
    assert view._grid is not old_grid and view._grid.xs[0] == -1.0


@pytest.mark.gl
def test_hidden_runs_and_runs_that_leave_the_window(qtbot, gl_ok):
    loss = compile_loss("x^2 + y^2")
    configs = [
        RunConfig("gd", {"lr": 0.1}, (0.8, 0.8)),
        RunConfig("gd", {"lr": 0.1}, (-0.8, 0.8)),
        RunConfig("gd", {"lr": 1.5}, (0.5, -0.5)),  # |1 - 2·1.5| = 2: doubles every step
    ]
    traj = run(loss, configs, 30)
    view = _shown(qtbot, Surface3DView(DARK))
    view.set_problem(loss, ((-1, 1), (-1, 1)))
    view.set_runs(traj, ["#ff0000", "#00ff00", "#0000ff"], visible=[True, False, True])
    view.set_step(0)
    assert len(view.balls.pos) == 2  # the hidden run has no ball
    view.set_step(30)
    assert len(view.drawn_paths[1]) == 0
    # The diverging run left the window after a step or two: no ball, and its
    # drawn path stops at the window's edge.
    assert len(view.balls.pos) == 1
    verts = view.drawn_paths[2]
    assert len(verts) > 0 and np.all(np.abs(verts[:, :2]) <= 1 + 1e-6)
    view.set_runs(None, [])  # cleared
    assert view.n_steps == 0 and not view.balls.visible() and not view.path_line.visible()


@pytest.mark.gl
def test_a_function_with_no_finite_values_gets_a_note(qtbot, gl_ok):
    view = _shown(qtbot, Surface3DView(DARK))
    loss = compile_loss("log(-x^2 - 1) + y")
    view.set_problem(loss, ((-1, 1), (-1, 1)))
    assert view.stack.currentWidget() is view.note
    assert "no finite values" in view.note.text()
    assert len(view._mesh.faces) == 0
    traj = run(loss, [RunConfig("gd", {"lr": 0.1}, (0.5, 0.5))], 5)
    view.set_runs(traj, ["#ffffff"])
    view.set_step(5)
    view.render_rgb()  # draws nothing, raises nothing


@pytest.mark.gl
def test_moving_the_view_to_another_window_keeps_drawing(qtbot, gl_ok):
    """Qt makes a new GL context when a shown GL widget changes window; this crashed."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    loss = compile_loss("x^2 + 3*y^2")
    traj = run(loss, [RunConfig("gd", {"lr": 0.05}, (1.6, -1.2))], 40)
    first, second = QWidget(), QWidget()
    for w in (first, second):
        qtbot.addWidget(w)
        QVBoxLayout(w)
        w.resize(400, 300)
    view = Surface3DView(DARK, controls=False)
    first.layout().addWidget(view)
    first.show()
    qtbot.waitExposed(first)
    view.set_problem(loss, ((-2, 2), (-2, 2)))
    view.set_runs(traj, ["#ff0000"])
    view.set_step(20)
    before = view.render_rgb()
    second.layout().addWidget(view)
    second.show()
    qtbot.waitExposed(second)
    first.hide()
    view.set_step(20)
    after = view.render_rgb()
    assert after.shape == before.shape
    np.testing.assert_array_equal(after, before)


@pytest.mark.gl
def test_missing_gl_internals_mean_a_note_not_a_crash(qtbot, gl_ok, monkeypatch):
    import gdviz.ui.view3d as v3

    def broken():
        raise ImportError("cannot import name 'DirtyFlag'")

    monkeypatch.setattr(v3, "_gl", broken)
    view = v3.Surface3DView(DARK)
    qtbot.addWidget(view)
    assert not view.available
    assert "3D view off" in view.note.text() and "DirtyFlag" in view.note.text()


@pytest.mark.gl
def test_own_window_draws_the_same_picture_and_keeps_gl_out_of_the_widgets(
    qtbot, gl_ok, rosenbrock, rosen_runs
):
    """``own_window``: the GL view is a native window in a container, the same picture."""
    from PySide6.QtOpenGL import QOpenGLWindow
    from PySide6.QtOpenGLWidgets import QOpenGLWidget
    from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

    pictures = []
    for own in (False, True):
        holder = QWidget()
        qtbot.addWidget(holder)
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        view = Surface3DView(DARK, controls=False, own_window=own)
        row.addWidget(view)
        row.addWidget(QLabel("a plain widget beside it"))
        # Everything told before the view is shown is drawn when it is.
        view.set_problem(rosenbrock, ROSEN_DOMAIN)
        view.set_runs(rosen_runs, [run_color(k) for k in range(4)])
        view.set_start((-1.5, 2.0))
        view.set_step(150)
        assert view.glview is None and holder.findChildren(QOpenGLWidget) == []
        holder.resize(700, 400)
        holder.show()
        qtbot.waitExposed(holder)
        assert view.glview is not None
        assert isinstance(view.glview, QOpenGLWindow) is own
        qtbot.waitUntil(view.glview.isValid)  # a GL window gets its context when exposed
        assert (holder.findChildren(QOpenGLWidget) == []) is own
        assert len(view.drawn_paths[0]) == 2 * view._path_ends[0][150] > 0
        pictures.append(view.render_rgb((320, 240)))
        assert view.snapshot().size() == view.size()
    np.testing.assert_array_equal(pictures[0], pictures[1])
    assert pictures[1].std() > 10  # a picture, not an empty frame


def test_a_view_never_shown_has_no_gl_view_and_says_why_it_cannot_render(qtbot, qapp):
    view = Surface3DView(DARK)
    qtbot.addWidget(view)
    assert view.glview is None
    view.reset_camera()
    # The camera is kept for when the GL view exists (nothing to turn without OpenGL).
    expected = {"distance": 4.5, "elevation": 45.0, "azimuth": -100.0} if probe_gl() else {}
    assert view.camera() == expected
    with pytest.raises(RuntimeError, match="3D view"):
        view.render_rgb()
