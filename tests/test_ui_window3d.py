"""The window's "3D" tab: linked to the 2-D view's step, problem and runs.

Offscreen (the default run) the tab holds the one-line note; under Xvfb (tests
marked ``gl``) it draws.
"""

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
