"""The window's "3D" tab: linked to the 2-D view's step, problem and runs.

Offscreen (the default run) the tab holds the one-line note; under Xvfb (tests
marked ``gl``) it draws.
"""

import numpy as np
import pytest
from _ui_support import WAIT, ready, shown_window
from PySide6.QtCore import Qt

from gdviz.ui.gl import probe_gl


@pytest.fixture
def window(qtbot):
    return shown_window(qtbot)


def test_the_3d_tab_is_there_and_follows_the_step(qtbot, window):
    tabs = window.surface_tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["2D", "3D"]
    assert tabs.currentIndex() == 0  # 2-D first
    tabs.setCurrentIndex(1)
    window.player.seek(123)
    assert window.view3d.step == window.scene.step == 123
    if not probe_gl():
        note = window.view3d.note.text()
        assert window.view3d.note.isVisible() and "3D view off" in note and "\n" not in note
    tabs.setCurrentIndex(0)
    window.player.seek(7)
    assert window.view3d.step == 7


@pytest.mark.gl
def test_the_3d_tab_draws_the_same_runs(qtbot, window):
    support = probe_gl()
    if not support:
        pytest.skip(f"needs OpenGL ({support.reason}); run under xvfb-run with QT_QPA_PLATFORM=xcb")
    tabs = window.surface_tabs
    tabs.setCurrentIndex(1)
    qtbot.waitExposed(window.view3d)
    v = window.view3d
    assert v.available
    k = window.trajectory.positions.shape[1]
    window.player.seek(200)
    assert len(v.drawn_paths) == k
    assert all(len(p) == 2 * v._path_ends[i][200] for i, p in enumerate(v.drawn_paths))
    # A new function reaches the 3-D view too.
    edit = window.editor.edit
    old = window.trajectory
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, "x^2 + 3y^2")
    qtbot.waitUntil(lambda: window.trajectory is not old and ready(window), timeout=WAIT)
    assert v._loss is window.loss
    assert v._traj is window.trajectory


@pytest.mark.gl
def test_the_window_holds_no_gl_widget_and_the_3d_tab_draws_what_it_missed(qtbot, window):
    """A QOpenGLWidget would make Qt composite the whole window through OpenGL.

    Before the 3-D tab is first shown there is no GL view at all; once it is,
    the GL view is a native window of its own (a QOpenGLWindow in a container),
    so the main window never holds a QOpenGLWidget, before, during or after.
    """
    support = probe_gl()
    if not support:
        pytest.skip(f"needs OpenGL ({support.reason}); run under xvfb-run with QT_QPA_PLATFORM=xcb")
    from PySide6.QtGui import QOpenGLContext
    from PySide6.QtOpenGL import QOpenGLWindow
    from PySide6.QtOpenGLWidgets import QOpenGLWidget

    v = window.view3d
    tabs = window.surface_tabs
    assert v.available and v.glview is None and v.gl_frame is None
    assert window.findChildren(QOpenGLWidget) == []
    assert window.findChildren(QOpenGLWindow) == []
    assert window.findChildren(QOpenGLContext) == []
    # Told while it does not exist yet: the step, the height mode, the theme.
    window.player.seek(200)
    v.set_height_mode("log")
    tabs.setCurrentIndex(1)
    qtbot.waitExposed(v)
    assert isinstance(v.glview, QOpenGLWindow)
    qtbot.waitUntil(lambda: v.glview.isExposed(), timeout=WAIT)
    assert window.findChildren(QOpenGLWidget) == []
    k = window.trajectory.positions.shape[1]
    assert v.step == 200 and len(v.drawn_paths) == k
    assert all(len(p) > 0 for p in v.drawn_paths)
    assert v.height_box.currentData() == "log"
    assert v.glview.opts["bgcolor"][:3] == pytest.approx(
        tuple(int(window.theme.background[i : i + 2], 16) / 255 for i in (1, 3, 5)), abs=0.01
    )
    at_200 = v.render_rgb()
    assert at_200.shape[:2] == (v.gl_frame.height(), v.gl_frame.width())
    window.player.seek(0)
    at_0 = v.render_rgb()
    # The runs' paths (and moved balls) are what differ between the two steps.
    changed = np.any(at_200.astype(int) != at_0.astype(int), axis=2)
    assert changed.sum() > 500
    # Back to 2-D: the GL window is hidden, and the main window still holds no GL widget.
    tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not v.glview.isExposed(), timeout=WAIT)
    assert not v.gl_frame.isVisible()
    assert window.findChildren(QOpenGLWidget) == []
    window.player.seek(300)  # drawn when the tab is shown again
    tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: v.glview.isExposed(), timeout=WAIT)
    assert v.step == 300
    assert all(len(p) == 2 * v._path_ends[i][300] for i, p in enumerate(v.drawn_paths))
