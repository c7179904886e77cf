"""A run is drawn in its own colour at the desk, in the light theme, on the projector
and in an export: the same twelve colours, pixel for pixel."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QPointF, QSettings

from gdviz.core.colors import RUN_PALETTE
from gdviz.core.session import RunSpec, Session
from gdviz.export.plan import SceneInputs
from gdviz.export.render import SceneRenderer, qimage_to_rgb
from gdviz.ui.main_window import MainWindow

WAIT = 30_000  # ms; only catches hangs
STEP = 40


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory):
    """Keep QSettings (geometry, recent files) out of the person's home folder."""
    folder = tmp_path_factory.mktemp("settings")
    QCoreApplication.setOrganizationName("gdviz-test")
    QCoreApplication.setApplicationName("gdviz-test")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


def twelve_runs() -> Session:
    """Twelve runs from twelve starts on a circle, so every path has its own stretch."""
    starts = [(2.6 * math.cos(k * math.pi / 6), 2.6 * math.sin(k * math.pi / 6)) for k in range(12)]
    runs = tuple(RunSpec("gd", {"lr": 0.02 + 0.005 * k}, start=s) for k, s in enumerate(starts))
    return Session(function="x^2 + 3y^2", domain=((-3.0, 3.0), (-3.0, 3.0)), runs=runs, steps=80)


def ready(window) -> bool:
    return window.trajectory is not None and window.complete and not window.computer.busy


def pixels_of(rgb: np.ndarray, color: str) -> int:
    """How many pixels of ``rgb`` are exactly ``#RRGGBB``."""
    want = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return int(np.all(rgb == want, axis=-1).sum())


def drawn_in(rgb: np.ndarray) -> list[str]:
    """The palette colours a picture shows (as a path or legend line: 15+ pixels)."""
    return [c for c in RUN_PALETTE if pixels_of(rgb, c) >= 15]


def path_colours(scene, rgb: np.ndarray, trajectory) -> list[str]:
    """The palette colour drawn on each run's first step (at its middle), run by run."""
    vb = scene.surface.getViewBox()
    out = []
    for k in range(trajectory.positions.shape[1]):
        x, y = (trajectory.positions[0, k] + trajectory.positions[1, k]) / 2
        at = vb.mapViewToScene(QPointF(float(x), float(y)))
        # Pixels of the scene widget (an export), or of the surface view itself
        # (the window, which lays the views out in its own layout).
        base = scene if scene.isAncestorOf(scene.surface_view) else scene.surface_view
        p = scene.surface_view.mapTo(base, scene.surface_view.mapFromScene(at))
        patch = rgb[max(p.y() - 3, 0) : p.y() + 4, max(p.x() - 3, 0) : p.x() + 4]
        out.append(next((c for c in RUN_PALETTE if pixels_of(patch, c)), "none"))
    return out


@pytest.fixture
def window(qtbot):
    w = MainWindow(theme="dark")
    qtbot.addWidget(w)
    w.resize(1024, 768)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: ready(w), timeout=WAIT)
    old = w.trajectory
    w.load_session(twelve_runs())
    qtbot.waitUntil(lambda: w.trajectory is not old and ready(w), timeout=WAIT)
    w.player.seek(STEP)
    return w


def scene_pixels(qtbot, window) -> np.ndarray:
    qtbot.wait(50)
    QCoreApplication.processEvents()
    # The surface view (the window lays the scene's views out itself).
    return qimage_to_rgb(window.scene.surface_view.grab().toImage())


def test_same_colours_in_every_theme_and_in_the_export(qtbot, window) -> None:
    expected = window.session.run_colors()
    assert expected == list(RUN_PALETTE)  # twelve runs, twelve colours

    traj = window.trajectory

    def look(scene, rgb: np.ndarray) -> tuple[list[str], list[str]]:
        # Now: the path's pixels move when the layout changes.
        return drawn_in(rgb), path_colours(scene, rgb, traj)

    seen = {}
    seen["dark"] = look(window.scene, scene_pixels(qtbot, window))
    window.set_theme("light")
    seen["light"] = look(window.scene, scene_pixels(qtbot, window))
    presentation = window.classroom.presentation
    presentation.enter(fullscreen=False)
    assert window.theme.name == "projector"
    seen["projector"] = look(window.scene, scene_pixels(qtbot, window))
    panel = [window.runs_panel.color_of(i) for i in range(12)]
    presentation.leave()
    assert panel == expected

    # The export draws what the command line gives it: no colours at all.
    inputs = SceneInputs(
        loss=window.loss, domain=window.session.domain, trajectory=traj, start=window.session.start
    )
    for theme in ("dark", "light", "projector"):
        with SceneRenderer(inputs, (1280, 720), "both", theme) as renderer:
            seen[f"export {theme}"] = look(renderer.scene, renderer.frame(STEP))

    for where, (legend_and_paths, run_by_run) in seen.items():
        assert legend_and_paths == expected, where
        assert run_by_run == expected, where


def test_removing_a_run_keeps_the_others_colours(qtbot, window) -> None:
    before = window.session.run_colors()
    window.runs_panel.list.setCurrentRow(1)
    old = window.trajectory
    window.runs_panel.remove_run()
    qtbot.waitUntil(lambda: window.trajectory is not old and ready(window), timeout=WAIT)
    after = [before[0], *before[2:]]
    assert window.session.run_colors() == after
    assert [window.runs_panel.color_of(i) for i in range(11)] == after
    # The next run added takes the freed colour.
    window.runs_panel.add_run()
    assert window.runs_panel.color_of(11) == before[1]
