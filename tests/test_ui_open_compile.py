"""Opening a session file reads it and compiles its function on the compile thread.

The file (and its data file) is read, and its function (plain, or a
per-sample loss over its data) compiled, on the window's compile thread
before anything changes, so a big or hostile file is refused with a message
while the window keeps turning, and only the last file asked for opens.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from _ui_support import SLOW, WAIT, Ticks, started_window
from _ui_support import ready as _ready

from gdviz.core.dataset_loss import DatasetLoss
from gdviz.core.session import DataSpec
from gdviz.core.session_io import save_session


@pytest.fixture
def window(qtbot):
    return started_window(qtbot)


def _dataset_file(w, tmp_path, function: str, name: str = "fit.gdviz.toml"):
    s = replace(
        w.session,
        function=function,
        preset=None,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(1.0, 1.0),
        data=DataSpec(batch_sizes=(None,), parameters=("w", "b")),
    )
    return save_session(s, tmp_path / name)


def test_hostile_file_is_refused_while_the_window_turns(qtbot, window, tmp_path, monkeypatch):
    import gdviz.ui.compute as compute

    w = window
    path = _dataset_file(w, tmp_path, SLOW)
    before, traj = w.session, w.trajectory
    monkeypatch.setattr(compute, "COMPILE_TIMEOUT", 1.5)
    ticks = Ticks()
    qtbot.wait(50)
    assert w.classroom.open_session(path)  # it reads; its loss is compiled next
    assert w.computer.busy
    qtbot.waitUntil(lambda: not w.computer.busy, timeout=WAIT)
    gap = ticks.stop()
    # Compiled in this thread the window froze for the whole 1.5 s time limit;
    # 0.5 s is generous for a slow machine.
    assert gap < 0.5, f"the GUI thread stalled {gap:.2f} s"
    text = w.message.text()
    assert "fit.gdviz.toml: function:" in text and "took longer than 1.5 s" in text
    assert w.session == before and w.trajectory is traj and not w.data_panel.enabled
    assert str(path.resolve()) not in w.classroom.recent_files()


def test_a_file_opened_before_the_first_paint_is_what_shows(qtbot, tmp_path):
    """As ``gdviz FILE`` does: the default preset's compile, held until the window
    is painted, must not cancel the file."""
    from gdviz.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    path = _dataset_file(w, tmp_path, "abs(w*x + b - y)")
    assert w.classroom.open_session(path)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: _ready(w) and isinstance(w.loss, DatasetLoss), timeout=WAIT)
    qtbot.wait(200)
    assert w.loss.text == "abs(w*x + b - y)" and w.data_panel.enabled
    assert w.session.function == "abs(w*x + b - y)"
    assert w.windowTitle().endswith("fit.gdviz.toml")


def test_only_the_last_of_two_files_opens(qtbot, window, tmp_path):
    w = window
    first = _dataset_file(w, tmp_path, "abs(w*x + b - y)", "first.gdviz.toml")
    second = save_session(
        replace(w.session, function="x^2 + 2y^2", preset=None, step=0),
        tmp_path / "second.gdviz.toml",
    )
    old = w.trajectory
    assert w.classroom.open_session(first)
    assert w.classroom.open_session(second)
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    qtbot.wait(200)
    assert w.loss.text == "x^2 + 2y^2" and not w.data_panel.enabled
    assert w.windowTitle().endswith("second.gdviz.toml")
    assert str(first.resolve()) not in w.classroom.recent_files()


def test_a_lesson_chosen_while_a_file_is_checked_stays(qtbot, window, tmp_path):
    w = window
    path = _dataset_file(w, tmp_path, "abs(w*x + b - y)")
    lesson = w.classroom.lessons[0]
    old = w.trajectory
    assert w.classroom.open_session(path)
    w.classroom.open_lesson(lesson.number)
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    qtbot.wait(200)
    assert w.session.function == lesson.session.function and not w.data_panel.enabled
    assert "lesson" in w.windowTitle()


def test_file_and_its_data_are_read_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    import gdviz.ui.classroom as classroom

    w = window
    csv = tmp_path / "people.csv"
    csv.write_text("height,weight\n1,2\n2,3.5\n3,5\n", encoding="utf-8")
    s = replace(
        w.session,
        function="(w*x + b - y)^2",
        preset=None,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        start=(1.0, 1.0),
        data=DataSpec(source=str(csv), columns="x=height,y=weight"),
    )
    path = save_session(s, tmp_path / "people.gdviz.toml")
    threads = []
    real = classroom.load_session

    def spy(p):
        threads.append(threading.current_thread())
        return real(p)

    monkeypatch.setattr(classroom, "load_session", spy)
    old = w.trajectory
    assert w.classroom.open_session(path)
    assert threads == [] or threads[0] is not threading.main_thread()
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert w.data_panel.enabled and isinstance(w.loss, DatasetLoss)
    assert w.classroom.path == path


def test_opening_a_file_does_not_move_the_plots(qtbot, window, tmp_path):
    # "Opening NAME…" must not take room from the plots: that relaid and
    # repainted the whole window.
    w = window
    path = save_session(replace(w.session, steps=77), tmp_path / "s.gdviz.toml")
    size = w.body.size()
    old = w.trajectory
    assert w.classroom.open_session(path)
    assert w.message.isVisible() and "Opening s.gdviz.toml" in w.message.text()
    qtbot.wait(20)
    assert w.body.size() == size
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    assert w.session.steps == 77 and w.body.size() == size
    # Opened: a note says so, and the compile of its function left it there.
    assert w.message.isVisible() and w.message.text() == "Opened s.gdviz.toml"
    assert not w.has_error_message()
