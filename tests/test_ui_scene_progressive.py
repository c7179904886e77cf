"""An expensive surface is drawn coarse at once and refined over later turns.

The slow losses here sleep for every point they evaluate, so they are
expensive on any machine (a faster machine cannot make them cheap); what is
checked is counted (points per call), never timed.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gdviz.core.data import make_builtin
from gdviz.core.dataset_loss import compile_dataset_loss
from gdviz.core.engine import RunConfig, run
from gdviz.core.loss import compile_loss
from gdviz.core.session import ViewSettings
from gdviz.core.surface import (
    GridSampler,
    field_arrows,
    field_points,
    gradient_field,
    grid_axes,
    sample_grid,
    sample_grid_rows,
)
from gdviz.ui.data_panel import surface_loss
from gdviz.ui.scene import COARSE_SAMPLES, PROBE_SAMPLES, SURFACE_SAMPLES, Scene
from gdviz.ui.theme import DARK, LIGHT

WAIT = 30_000  # ms; generous: only catches hangs
FULL = SURFACE_SAMPLES**2
DOM = ((-2.0, 2.5), (-1.5, 2.0))


class SlowLoss:
    """A compiled loss that takes at least ``per_point`` seconds per point evaluated.

    Records the number of points of every ``value`` and ``grad`` call.
    """

    def __init__(self, text: str, per_point: float = 4e-6, grad_factor: float = 3.0) -> None:
        self.inner = compile_loss(text)
        self.per_point = per_point
        self.grad_factor = grad_factor
        self.dim = self.inner.dim
        self.variables = self.inner.variables
        self.calls: list[int] = []
        self.grad_calls: list[int] = []

    def value(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        n = p.size // p.shape[-1]
        self.calls.append(n)
        time.sleep(n * self.per_point)
        return self.inner.value(p)

    def grad(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        n = p.size // p.shape[-1]
        self.grad_calls.append(n)
        time.sleep(self.grad_factor * n * self.per_point)
        return self.inner.grad(p)


class Counted:
    """A cheap compiled loss that records the points of every ``value`` call."""

    def __init__(self, text: str) -> None:
        self.inner = compile_loss(text)
        self.dim = self.inner.dim
        self.variables = self.inner.variables
        self.calls: list[int] = []

    def value(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        self.calls.append(p.size // p.shape[-1])
        return self.inner.value(p)

    def grad(self, p: np.ndarray) -> np.ndarray:
        return self.inner.grad(p)


def _scene(qtbot, theme=DARK, progressive=True):
    s = Scene("surface", theme)
    s.progressive_surface = progressive
    qtbot.addWidget(s)
    s.resize(600, 450)
    s.show()
    qtbot.waitExposed(s)
    return s


@pytest.fixture
def scene(qtbot):
    return _scene(qtbot)


def one_pass(qtbot, loss, domain, theme=DARK, view=None):
    """What a scene sampling in one pass (as before) draws for ``loss``."""
    ref = _scene(qtbot, theme, progressive=False)
    if view is not None:
        ref.set_view(view)
    ref.set_problem(loss, domain)
    assert ref.settled()
    return ref


def assert_same_picture(a: Scene, b: Scene) -> None:
    assert np.array_equal(a.image.image, b.image.image)
    assert a.image.isVisible() == b.image.isVisible()
    assert np.array_equal(a.contours.xData, b.contours.xData, equal_nan=True)
    assert np.array_equal(a.contours.yData, b.contours.yData, equal_nan=True)
    assert a.colorbar.levels() == b.colorbar.levels()
    assert a.field.isVisible() == b.field.isVisible()
    if b.field.isVisible():
        assert np.array_equal(a.field.xData, b.field.xData, equal_nan=True)
        assert np.array_equal(a.field.yData, b.field.yData, equal_nan=True)


def assert_full_grid(scene: Scene, loss, domain) -> None:
    grid = scene.surface_grid
    ref = sample_grid(loss, domain, SURFACE_SAMPLES)
    assert np.array_equal(grid.xs, ref.xs) and np.array_equal(grid.ys, ref.ys)
    assert np.array_equal(grid.z, ref.z, equal_nan=True)


# ------------------------------------------------------------------ core helpers
def test_rows_of_a_grid_in_pieces_are_the_grid():
    loss = compile_loss("log(1 + x^2) * sin(3y) + sqrt(x)")  # NaN for x < 0
    ref = sample_grid(loss, DOM, 60)
    xs, ys = grid_axes(DOM, 60)
    for step in (1, 7, 60):
        z = np.vstack(
            [sample_grid_rows(loss, xs, ys, a, min(a + step, 60)) for a in range(0, 60, step)]
        )
        assert np.array_equal(z, ref.z, equal_nan=True)
    assert np.isnan(ref.z).any()
    assert sample_grid_rows(loss, xs, ys, 5, 5).shape == (0, 60)
    with pytest.raises(ValueError, match="rows 50:61"):
        sample_grid_rows(loss, xs, ys, 50, 61)
    with pytest.raises(ValueError, match="x range"):
        grid_axes(((1, 0), (0, 1)))


def test_arrow_field_from_gradients_computed_in_pieces():
    loss = compile_loss("(1-x)^2 + 10*(y-x^2)^2")
    pts = field_points(DOM, 18)
    g = np.vstack([loss.grad(pts[a : a + 18]) for a in range(0, len(pts), 18)])
    got = field_arrows(pts, g, DOM, 18)
    ref = gradient_field(loss.grad, DOM, 18)
    assert all(np.array_equal(a, b) for a, b in zip(got, ref, strict=True))
    assert len(ref[0]) > 300
    with pytest.raises(ValueError, match="at least 1 arrow"):
        field_points(DOM, 0)


def test_grid_sampler_measures_then_refines_in_whole_rows():
    slow = SlowLoss("x^2 - x*y + 2*y^2")
    sampler = GridSampler(slow, DOM, 80)
    coarse = sampler.first_pass(0.01, 0.004, probe=10, coarse_max=30)
    # 80² points at ≥ 4 µs each can never be sampled in 10 ms: coarse first.
    assert sampler.grid is None and slow.calls[0] == 100
    assert 10 <= len(coarse.xs) <= 30
    assert slow.calls[1:] in ([], [len(coarse.xs) ** 2])  # the probe is the coarse grid, or not
    assert sampler.cost >= 4e-6
    n = len(slow.calls)
    while not sampler.advance(0.004):
        pass
    rows = slow.calls[n:]
    assert len(rows) > 1 and all(r % 80 == 0 for r in rows) and sum(rows) == 80 * 80
    assert np.array_equal(sampler.grid.z, sample_grid(slow.inner, DOM, 80).z)
    assert sampler.advance(0.004) and len(slow.calls) == n + len(rows)  # nothing more to do
    # Known to be expensive (a zoom): no probe, the coarse grid straight away.
    again = GridSampler(slow, ((-1, 1), (-1, 1)), 80, cost=sampler.cost)
    n = len(slow.calls)
    again.first_pass(0.01, 0.004, probe=10, coarse_max=30)
    assert len(slow.calls) == n + 1 and again.grid is None
    # A cheap loss: the full grid at once.
    cheap = Counted("x^2 + y^2")
    quick = GridSampler(cheap, DOM, 80)
    grid = quick.first_pass(0.5, 0.004, probe=10, coarse_max=30)
    assert quick.grid is grid and cheap.calls[-1] == 80 * 80
    assert np.array_equal(grid.z, sample_grid(cheap.inner, DOM, 80).z)


# ------------------------------------------------------------------------ scene
def test_expensive_loss_is_coarse_at_once_then_exactly_the_full_grid(qtbot, scene):
    loss = SlowLoss("(x-1)^2 + 3*(y-0.5)^2 + sin(3*x)")
    scene.set_problem(loss, DOM)
    # One cheap pass: a probe and a coarse grid, far below the full grid.
    assert 1 <= len(loss.calls) <= 2
    assert loss.calls[0] == PROBE_SAMPLES**2
    assert sum(loss.calls) <= PROBE_SAMPLES**2 + COARSE_SAMPLES**2
    coarse = scene.surface_grid
    assert coarse.z.shape[0] < SURFACE_SAMPLES
    assert scene.image.image.shape[:2] == coarse.z.shape  # the coarse picture is drawn
    assert scene.image.isVisible() and scene.contours.isVisible()
    assert not scene.settled()
    first = len(loss.calls)
    qtbot.waitUntil(scene.settled, timeout=WAIT)
    refine = loss.calls[first:]
    # Whole rows a slice at a time, never the whole grid in one call.
    assert len(refine) >= 4
    assert all(n % SURFACE_SAMPLES == 0 for n in refine)
    assert sum(refine) == FULL and max(refine) <= FULL // 4
    assert_full_grid(scene, loss.inner, DOM)
    assert_same_picture(scene, one_pass(qtbot, loss.inner, DOM))


def test_a_real_dataset_loss_ends_bit_for_bit_as_one_pass(qtbot, scene):
    data = make_builtin("classes", n=20_000)
    loss = surface_loss(compile_dataset_loss("log(1 + exp(-y*(w*x + b)))", data))
    assert loss.n < data.n  # the surface uses a subset, as the window does
    view = ViewSettings(gradient_field=True)
    scene.set_view(view)
    dom = ((-4.0, 3.0), (-2.5, 2.0))
    scene.set_problem(loss, dom)
    qtbot.waitUntil(scene.settled, timeout=WAIT)
    assert_full_grid(scene, loss, dom)
    assert_same_picture(scene, one_pass(qtbot, loss, dom, view=view))


def test_a_newer_problem_wins_and_the_old_one_is_never_drawn(qtbot, scene):
    a = SlowLoss("x^2 + y^2")
    b = SlowLoss("(x-1)^2 + 3*y^2 + x*y")
    scene.set_problem(a, DOM)
    qtbot.waitUntil(lambda: len(a.calls) >= 4, timeout=WAIT)  # partly refined
    assert not scene.settled()
    scene.set_problem(b, DOM)
    a_calls = len(a.calls)
    assert not scene.settled()
    qtbot.waitUntil(scene.settled, timeout=WAIT)
    assert len(a.calls) == a_calls  # the old job stopped
    assert_full_grid(scene, b.inner, DOM)
    assert_same_picture(scene, one_pass(qtbot, b.inner, DOM))

    # A cheap function in the middle of a refinement: drawn at once, and stays.
    scene.set_problem(a, ((-1.0, 1.0), (-1.0, 1.0)))
    qtbot.waitUntil(lambda: len(a.calls) >= a_calls + 4, timeout=WAIT)
    cheap = compile_loss("sin(x) * cos(y)")
    scene.set_problem(cheap, DOM)
    assert scene.settled()
    n = len(a.calls)
    qtbot.wait(100)
    assert len(a.calls) == n
    assert_same_picture(scene, one_pass(qtbot, cheap, DOM))


def test_a_function_of_one_variable_cancels_the_refinement(qtbot, scene):
    slow = SlowLoss("x^2 + y^2")
    scene.set_problem(slow, DOM)
    scene.set_problem(compile_loss("x^3 - x"), ((-2.0, 2.0),))
    n = len(slow.calls)
    assert scene.settled() and scene.surface_grid is None
    qtbot.wait(100)
    assert len(slow.calls) == n
    assert scene.curve.isVisible() and not scene.image.isVisible()


def test_theme_and_view_changes_during_refinement_reach_the_final_picture(qtbot, scene):
    slow = SlowLoss("(1-x)^2 + 5*(y-x^2)^2", grad_factor=25.0)  # arrows: ~30 ms in all
    scene.set_problem(slow, DOM)
    qtbot.waitUntil(lambda: len(slow.calls) >= 4, timeout=WAIT)
    view = ViewSettings(log_levels=True, n_contours=9, gradient_field=True)
    scene.set_theme(LIGHT)
    scene.set_view(view)
    assert not scene.settled()
    assert scene.surface_grid.z.shape[0] < SURFACE_SAMPLES  # redrawn coarse, new style
    qtbot.waitUntil(scene.settled, timeout=WAIT)
    # The arrows were computed a few rows of arrows at a time too.
    assert slow.grad_calls[0] == 18 and max(slow.grad_calls) < len(field_points(DOM, 18))
    assert all(n % 18 == 0 for n in slow.grad_calls)
    assert sum(slow.grad_calls) == len(field_points(DOM, 18))
    assert_full_grid(scene, slow.inner, DOM)
    assert_same_picture(scene, one_pass(qtbot, slow.inner, DOM, LIGHT, view))
    # Arrows switched on after the surface is complete are computed the same way.
    scene.set_view(ViewSettings())
    scene.set_view(view)
    assert scene.settled()  # kept with the surface: nothing to compute again


def test_zoom_of_a_known_loss_skips_the_probe(qtbot, scene):
    slow = SlowLoss("x^2 + 2*y^2")
    scene.set_problem(slow, DOM)
    qtbot.waitUntil(scene.settled, timeout=WAIT)
    n = len(slow.calls)
    zoomed = ((-1.0, 1.0), (-0.5, 1.0))
    scene.set_problem(slow, zoomed, reset_view=False)
    assert len(slow.calls) == n + 1  # the coarse grid only: its cost is known
    side = math.isqrt(slow.calls[-1])
    assert side**2 == slow.calls[-1] and PROBE_SAMPLES <= side <= COARSE_SAMPLES
    assert not scene.settled()
    qtbot.waitUntil(scene.settled, timeout=WAIT)
    assert_full_grid(scene, slow.inner, zoomed)
    # The same problem again (a theme change, a repeated domain): nothing resampled.
    n = len(slow.calls)
    scene.set_problem(slow, zoomed, reset_view=False)
    scene.set_theme(LIGHT)
    assert scene.settled() and len(slow.calls) == n


def test_cheap_function_is_drawn_in_one_pass_as_before(qtbot, scene):
    loss = Counted("x^2 + 3y^2 + sin(2x)")
    scene.set_view(ViewSettings(gradient_field=True))
    scene.set_problem(loss, DOM)
    assert scene.settled()
    assert loss.calls[-1] == FULL and loss.calls.count(FULL) == 1
    assert scene.surface_grid.z.shape == (SURFACE_SAMPLES, SURFACE_SAMPLES)
    assert_full_grid(scene, loss.inner, DOM)
    assert_same_picture(
        scene, one_pass(qtbot, loss.inner, DOM, view=ViewSettings(gradient_field=True))
    )
    # A zoom of the same function: one call, the full grid (its cost is known).
    n = len(loss.calls)
    scene.set_problem(loss, ((-1.0, 1.0), (-1.0, 1.0)), reset_view=False)
    assert loss.calls[n:] == [FULL] and scene.settled()


def test_a_scene_never_shown_on_screen_samples_in_full(qtbot):
    s = Scene("surface", LIGHT)
    qtbot.addWidget(s)
    s.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    s.resize(320, 240)
    s.show()
    slow = SlowLoss("x^2 + y^2")
    s.set_view(ViewSettings(gradient_field=True))
    s.set_problem(slow, DOM)
    assert slow.calls == [FULL]  # no probe, no coarse grid
    assert slow.grad_calls == [len(field_points(DOM, 18))]
    assert s.settled()
    assert_full_grid(s, slow.inner, DOM)


def test_exported_frames_are_drawn_from_the_full_grid(qapp):
    from gdviz.export.render import SceneInputs, SceneRenderer

    slow = SlowLoss("(x-1)^2 + 2*y^2")
    traj = run(slow.inner, [RunConfig("gd", {"lr": 0.1}, (2.0, 1.5))], 10)
    inputs = SceneInputs(
        loss=slow, domain=DOM, trajectory=traj, colors=["#ff00ff"], labels=["gd"], start=(2.0, 1.5)
    )
    with SceneRenderer(inputs, (320, 240), "surface", "light") as r:
        assert slow.calls == [FULL]
        assert r.scene.settled()
        assert r.scene.image.image.shape[:2] == (SURFACE_SAMPLES, SURFACE_SAMPLES)
        assert_full_grid(r.scene, slow.inner, DOM)
        r.frame(5)
        assert slow.calls == [FULL]


# --------------------------------------------------------------------------- 3D
@pytest.fixture
def gl_ok(qapp):
    from gdviz.ui.gl import probe_gl

    support = probe_gl()
    if not support:
        pytest.skip(
            f"needs OpenGL ({support.reason}); run under "
            "QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1280x1024x24'"
        )
    return support


def _view3d(qtbot, progressive=True):
    from gdviz.ui.view3d import Surface3DView

    v = Surface3DView(DARK)
    v.progressive_surface = progressive
    qtbot.addWidget(v)
    v.resize(500, 400)
    v.show()
    qtbot.waitExposed(v)
    return v


@pytest.mark.gl
def test_3d_view_meshes_an_expensive_surface_coarse_first(qtbot, gl_ok):
    v = _view3d(qtbot)
    a = SlowLoss("x^2 + y^2")
    slow = SlowLoss("(x-1)^2 + 3*(y-0.5)^2 + sin(3*x)")
    traj = run(slow.inner, [RunConfig("gd", {"lr": 0.05}, (2.0, 1.5))], 60)
    v.set_runs(traj, ["#ff00ff"])
    v.set_problem(a, DOM)
    qtbot.waitUntil(lambda: len(a.calls) >= 4, timeout=WAIT)
    assert v.refining
    v.set_problem(slow, DOM)  # a newer problem while the first is refined
    n_a = len(a.calls)
    assert 1 <= len(slow.calls) <= 2 and slow.calls[0] == PROBE_SAMPLES**2
    assert v.refining and v._grid.z.shape[0] < v.grid_size  # coarse mesh on screen
    qtbot.waitUntil(lambda: not v.refining, timeout=WAIT)
    assert len(a.calls) == n_a
    refine = slow.calls[2:]
    assert all(n % v.grid_size == 0 for n in refine) and max(refine) <= v.grid_size**2 // 4
    ref = _view3d(qtbot, progressive=False)
    ref.set_runs(traj, ["#ff00ff"])
    ref.set_problem(slow.inner, DOM)
    assert np.array_equal(v._grid.z, ref._grid.z, equal_nan=True)
    assert np.array_equal(v._hz, ref._hz, equal_nan=True)
    # The path lies on the final mesh, not on the coarse one.
    assert all(
        np.array_equal(p, q, equal_nan=True)
        for p, q in zip(v._path_verts, ref._path_verts, strict=True)
    )
