"""Classroom in the window: presentation mode at 1024×768, keys, lessons, explain, session files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QPoint, QRect, QSettings, Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

from gdviz.core.lessons import load_lessons
from gdviz.core.session_io import load_session, save_session
from gdviz.ui.main_window import MainWindow

WAIT = 30_000  # ms; only catches hangs


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory):
    """Keep QSettings (geometry, recent files) out of the person's home folder."""
    folder = tmp_path_factory.mktemp("settings")
    QCoreApplication.setOrganizationName("gdviz-test")
    QCoreApplication.setApplicationName("gdviz-test")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


def ready(window) -> bool:
    return window.trajectory is not None and window.complete and not window.computer.busy


def wait_new(qtbot, window, old) -> None:
    qtbot.waitUntil(lambda: window.trajectory is not old and ready(window), timeout=WAIT)


@pytest.fixture
def window(qtbot):
    w = MainWindow(theme="light")
    qtbot.addWidget(w)
    w.resize(1024, 768)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: ready(w), timeout=WAIT)
    w.activateWindow()
    return w


def _visible_widgets(root: QWidget) -> list[QWidget]:
    return [w for w in root.findChildren(QWidget) if w.isVisible() and w.isWindow() is False]


def _check_fits(window, width: int, height: int) -> None:
    """Every visible widget lies inside the window, and no button or label is cut short."""
    frame = QRect(0, 0, width, height)
    for w in _visible_widgets(window):
        top_left = w.mapTo(window, QPoint(0, 0))
        rect = QRect(top_left, w.size())
        # Widgets inside scroll areas may extend beyond the viewport; they are
        # reachable by scrolling, so only widgets outside any scroll area count.
        if _in_scroll_area(w):
            continue
        assert frame.contains(rect), f"{type(w).__name__} {w.accessibleName()!r} at {rect}"
        if isinstance(w, QAbstractButton) and w.text():
            assert w.width() >= w.minimumSizeHint().width(), f"button {w.text()!r} cut"
        if isinstance(w, QLabel) and w.text() and not w.wordWrap():
            need = w.fontMetrics().horizontalAdvance(w.text().split("\n")[0])
            assert w.contentsRect().width() >= need - 1, f"label {w.text()!r} cut"


def _in_scroll_area(w: QWidget) -> bool:
    from PySide6.QtWidgets import QAbstractScrollArea

    p = w.parentWidget()
    while p is not None:
        if isinstance(p, QAbstractScrollArea):
            return True
        p = p.parentWidget()
    return False


@pytest.mark.parametrize("scale", [1.5, 2.0])
def test_presentation_mode_at_1024x768(qtbot, window, scale: float) -> None:
    pres = window.classroom.presentation
    window.classroom.set_presentation_scale(scale)
    base_pt = window.theme.font_pt
    editing = window.classroom.editing_widgets()
    pres.enter(fullscreen=False)
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.size().width() == 1024, timeout=WAIT)
    QCoreApplication.processEvents()
    assert pres.active
    assert window.theme.name == "projector"
    assert window.theme.font_scale == scale
    assert window.theme.font_pt >= base_pt * scale - 1e-9
    assert window.theme.line_px == pytest.approx(window.theme.line_width * scale)
    for w in editing:
        assert not w.isVisible()
    assert not window.menuBar().isVisible()
    assert window.transport.isVisible() and window.plots.isVisible()
    assert window.classroom.caption.isVisible()
    # The labels really use the bigger font.
    assert (
        window.transport.step_label.font().pointSizeF()
        == pytest.approx(window.theme.font_pt, rel=0.05)
        or window.transport.step_label.fontInfo().pointSizeF() >= base_pt * scale * 0.9
    )
    _check_fits(window, 1024, 768)
    # "step N / M" and "S steps/s" stay apart with the speed slider hidden.
    t = window.transport
    window.player.seek(window.player.limit)
    QCoreApplication.processEvents()
    step_end = t.step_label.x() + t.step_label.fontMetrics().horizontalAdvance(t.step_label.text())
    speed_start = t.speed_label.x() + t.speed_label.contentsRect().left()
    assert speed_start - step_end >= t.speed_label.fontMetrics().horizontalAdvance("  ")
    # The timeline is still long enough to scrub with.
    assert window.transport.timeline.width() >= 100
    # With the explain card open everything still fits, the card included.
    window.classroom.toggle_explain()
    window.player.seek(20)
    QCoreApplication.processEvents()
    card = window.classroom.explain_card
    assert card.isVisible() and card.explanation is not None
    _check_fits(window, 1024, 768)
    window.classroom.toggle_explain()
    # The overlay of shortcuts fits as well.
    pres.show_shortcuts()
    QCoreApplication.processEvents()
    box = pres.overlay.box
    rect = QRect(box.mapTo(window, QPoint(0, 0)), box.size())
    assert QRect(0, 0, 1024, 768).contains(rect), rect
    pres.overlay.hide()

    pres.leave()
    assert not pres.active
    assert window.theme.name == "light" and window.theme.font_scale == 1.0
    for w in ("editor", "side_scroll", "stats"):
        assert getattr(window, w).isVisible()
    assert window.menuBar().isVisible()
    assert not window.classroom.caption.isVisible()


def test_run_colours_in_presentation_are_the_desk_colours(window) -> None:
    def colours() -> list[str]:
        return [window.runs_panel.color_of(i) for i in range(len(window.session.runs))]

    desk = colours()
    window.classroom.presentation.enter(fullscreen=False)
    assert colours() == desk == window.session.run_colors()
    window.classroom.presentation.leave()


def _key(qtbot, window, key, text: str = "") -> None:
    target = window.scene
    target.setFocus()
    qtbot.keyClick(target, key) if not text else qtbot.keyClicks(target, text)


def test_keys(qtbot, window) -> None:
    player = window.player
    pres = window.classroom.presentation
    pres.fullscreen_on_enter = False
    _key(qtbot, window, Qt.Key.Key_F5)
    assert pres.active
    _key(qtbot, window, Qt.Key.Key_Right)
    _key(qtbot, window, Qt.Key.Key_Right)
    assert player.step == 2
    _key(qtbot, window, Qt.Key.Key_Left)
    assert player.step == 1
    _key(qtbot, window, Qt.Key.Key_Space)
    assert player.playing
    _key(qtbot, window, Qt.Key.Key_Space)
    assert not player.playing
    _key(qtbot, window, Qt.Key.Key_R)
    assert player.step == 0
    speed = player.speed
    _key(qtbot, window, Qt.Key.Key_Plus)
    assert player.speed == pytest.approx(2 * speed, rel=0.1)
    assert window.session.speed == player.speed  # the session follows
    _key(qtbot, window, Qt.Key.Key_Minus)
    _key(qtbot, window, Qt.Key.Key_Minus)
    assert player.speed == pytest.approx(speed / 2, rel=0.1)
    # ? shows the list, any key closes it.
    _key(qtbot, window, Qt.Key.Key_Question, "?")
    assert pres.overlay.isVisible()
    qtbot.keyClick(pres.overlay, Qt.Key.Key_A)
    assert not pres.overlay.isVisible()
    # E shows the explain panel (a card over the scene while presenting).
    card = window.classroom.explain_card
    _key(qtbot, window, Qt.Key.Key_E)
    assert card.isVisible() and not window.classroom.dock.isVisible()
    assert card.explanation is not None
    _key(qtbot, window, Qt.Key.Key_E)
    assert not card.isVisible()
    # C shows a lesson's commentary.
    old = window.trajectory
    _key(qtbot, window, Qt.Key.Key_1)
    wait_new(qtbot, window, old)
    assert window.classroom.caption.text().startswith("1. ")
    _key(qtbot, window, Qt.Key.Key_C)
    assert window.classroom.commentary.isVisible()
    _key(qtbot, window, Qt.Key.Key_C)
    assert not window.classroom.commentary.isVisible()
    # F11 toggles full screen; Esc leaves presentation mode.
    _key(qtbot, window, Qt.Key.Key_F11)
    assert window.isFullScreen()
    _key(qtbot, window, Qt.Key.Key_F11)
    assert not window.isFullScreen()
    _key(qtbot, window, Qt.Key.Key_Escape)
    assert not pres.active
    assert window.editor.isVisible()
    # Outside presentation mode E toggles the dock.
    _key(qtbot, window, Qt.Key.Key_E)
    assert window.classroom.dock.isVisible()


def test_number_keys_open_lessons(qtbot, window) -> None:
    lessons = {les.number: les for les in load_lessons()}
    old = window.trajectory
    _key(qtbot, window, Qt.Key.Key_3)
    wait_new(qtbot, window, old)
    les = lessons[3]
    assert window.session.function == les.session.function
    assert len(window.session.runs) == len(les.session.runs)
    assert les.title in window.teaches.text()
    assert window.trajectory.n_steps == les.session.steps
    # In the function editor a digit is a digit, not a lesson.
    window.editor.edit.setFocus()
    qtbot.keyClick(window.editor.edit, Qt.Key.Key_5)
    assert window.session.function == les.session.function
    assert window.editor.edit.text().endswith("5")
    # Nor in a number box, nor in the start field.
    for box in (window.view_panel.steps, window.view_panel.start):
        box.setFocus()
        qtbot.keyClick(box, Qt.Key.Key_4)
        assert window.classroom.lesson.number == 3


def fitted(window) -> list[int]:
    """The plot area's split once fitted again (what it is when nothing is left to fit)."""
    window.plots.fit()
    return window.plots.body.sizes()


def test_presenting_the_legend_tells_each_runs_fate(qtbot, window) -> None:
    # The numbers table (and its status badges) is hidden while presenting.
    old = window.trajectory
    window.classroom.open_lesson(1)
    wait_new(qtbot, window, old)
    legend = window.scene.legend
    window.classroom.presentation.enter(fullscreen=False)
    window.player.seek(window.player.limit)
    # The columns are fitted to presentation's sizes over the next turns.
    qtbot.waitUntil(lambda: window.plots.body.sizes() == fitted(window), timeout=WAIT)
    qtbot.wait(50)
    height = legend.size().height()
    assert legend.entries() == window.run_labels()
    notes = legend.notes()
    assert notes == window.stats.badges_at(window.player.limit)
    assert notes[2] == "growing at 80" and notes[1].startswith("converged at ")
    # Before a run stops it is "running"; the legend keeps its height.
    window.player.seek(1)
    qtbot.wait(20)
    assert legend.notes() == ["running"] * 3 and legend.size().height() == height
    # At the desk the table says it; the legend shows the names alone.
    window.classroom.presentation.leave()
    window.player.seek(window.player.limit - 1)
    assert legend.entries() == window.run_labels() and legend.notes() == []


def test_a_lesson_leaves_with_its_function(qtbot, window) -> None:
    # Its commentary and title described the lesson's function: over another
    # function they would tell the class something false.
    from gdviz.ui.main_window import OWN_FUNCTION_NOTE

    les = next(x for x in load_lessons() if x.number == 1)
    old = window.trajectory
    window.classroom.open_lesson(1)
    wait_new(qtbot, window, old)
    assert les.title in window.teaches.text() and les.title in window.windowTitle()
    window.classroom.presentation.toggle()
    assert window.classroom.caption.text().startswith("1. ")
    old = window.trajectory
    window.editor.edit.setText("x^4 + y^4")
    window.editor._settle()
    wait_new(qtbot, window, old)
    assert window.classroom.lesson is None
    assert window.teaches.text() == OWN_FUNCTION_NOTE
    assert window.windowTitle() == "gdviz"
    # The caption shows the function as the formulas print it.
    assert window.classroom.caption.text() == "f(x, y) = x⁴ + y⁴"
    window.classroom.presentation.toggle()
    # A lesson opened again is current again.
    old = window.trajectory
    window.classroom.open_lesson(1)
    wait_new(qtbot, window, old)
    assert les.title in window.teaches.text() and les.title in window.windowTitle()


@pytest.mark.parametrize("number", [les.number for les in load_lessons()])
def test_each_lesson_plays_in_the_window(qtbot, window, number: int) -> None:
    old = window.trajectory
    window.classroom.open_lesson(number)
    wait_new(qtbot, window, old)
    les = next(x for x in load_lessons() if x.number == number)
    assert window.trajectory.n_runs == len(les.session.runs)
    window.player.seek(window.player.limit)
    assert window.scene.step == window.player.limit
    if les.session.noise > 0:
        # The window computes with the lesson's noise.
        assert window.trajectory.true_grads is not None


def test_lessons_menu_lists_every_lesson(window) -> None:
    texts = [a.text() for a in window.classroom.lessons_menu.actions()]
    assert len(texts) == len(load_lessons())
    assert texts[0].startswith("1  ")


def test_the_explain_dock_leaves_the_surface_its_width(qtbot, window) -> None:
    # Beside the plots it took 380 px of the width and left the surface a
    # sliver; below them it takes the height the explanation needs.
    c = window.classroom
    window.player.seek(7)
    qtbot.wait(50)
    width = window.scene.surface_view.width()
    c.toggle_explain()
    qtbot.waitUntil(lambda: c.explain.explanation is not None, timeout=WAIT)
    qtbot.wait(100)
    assert c.dock.isVisible()
    assert window.dockWidgetArea(c.dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    # The surface narrows only as much as its shape needs in the lower height.
    assert window.scene.surface_view.width() >= 0.85 * width
    assert c.dock.height() <= window.height() // 3 + 1
    assert window.scene.surface_view.height() >= 200
    c.toggle_explain()
    assert not c.dock.isVisible()


def test_explain_panel_shows_the_trajectorys_numbers(qtbot, window) -> None:
    c = window.classroom
    c.toggle_explain()
    assert c.dock.isVisible()
    window.runs_panel.list.setCurrentRow(len(window.session.runs) - 1)
    k = c.explain.run
    assert k == len(window.session.runs) - 1
    window.player.seek(7)
    ex = c.explain.explanation
    assert ex is not None and ex.run == k and ex.step == 7
    traj = window.trajectory
    assert np.array_equal(ex.values["theta"], traj.positions[6, k])
    assert np.array_equal(ex.values["theta_next"], traj.positions[7, k])
    text = c.explain.body.text()
    assert "θ₇" in text
    # While playing it keeps up (at its own pace); when paused it is exact.
    window.player.play()
    qtbot.waitUntil(lambda: window.player.step > 20, timeout=WAIT)
    window.player.pause()
    assert c.explain.explanation.step == window.player.step


def test_save_and_open_round_trip(qtbot, window, tmp_path: Path) -> None:
    c = window.classroom
    window.player.seek(42)
    path = tmp_path / "lesson.gdviz.toml"
    assert c.save_to(path)
    saved = load_session(path).session
    assert saved.step == 42 and saved.function == window.session.function
    assert saved.theme == "light"
    assert str(path.resolve()) in c.recent_files()
    # Change things, then open the file again: everything comes back.
    old = window.trajectory
    c.open_lesson(1)
    wait_new(qtbot, window, old)
    old = window.trajectory
    assert c.open_session(path)
    wait_new(qtbot, window, old)
    assert window.session.function == saved.function
    assert window.session.runs == saved.runs
    assert window.player.step == 42
    assert window.windowTitle().endswith("lesson.gdviz.toml")


@pytest.mark.parametrize(
    "content",
    [
        "this is not toml [",
        "format_version = 1\nfunction = \"__import__('os')\"\n",
        "format_version = 99\n",
        # Parses, but does not compile (asin(2)): refused before anything changes.
        'format_version = 1\nfunction = "asin(x - x + 2)"\ndomain = [[-1.0, 1.0]]'
        '\nstart = [0.0]\n[[runs]]\noptimizer = "gd"\n',
        "x = " + "[" * 20_000 + "]" * 20_000,
        # Dataset mode: a bad batch size, a penalty that does not exist, missing data.
        *(
            'format_version = 2\nfunction = "(w*x + b - y)^2"\ndomain = [[-1.0, 1.0], [-1.0, 1.0]]'
            '\nstart = [0.0, 0.0]\n[data]\nparameters = ["w", "b"]\n'
            + data
            + '\n[[runs]]\noptimizer = "gd"\n'
            for data in (
                'source = "builtin:line"\nbatch_sizes = [0]',
                'source = "builtin:line"\npenalty = "l7"',
                'source = "no-such-file.csv"',
            )
        ),
    ],
)
def test_bad_session_file_says_so_and_changes_nothing(qtbot, window, tmp_path, content) -> None:
    path = tmp_path / "bad.gdviz.toml"
    path.write_text(content, encoding="utf-8")
    before = window.session
    traj = window.trajectory
    # The file is read and its function compiled on the compile thread; the
    # refusal comes from there, and until then nothing changes either.
    assert window.classroom.open_session(path)
    assert not window.has_error_message() and window.session == before
    qtbot.waitUntil(lambda: not window.computer.busy, timeout=WAIT)
    assert window.has_error_message()
    assert "bad.gdviz.toml" in window.message.text()
    assert window.message.label.textFormat() == Qt.TextFormat.PlainText
    assert window.session == before
    assert window.trajectory is traj
    assert str(path.resolve()) not in window.classroom.recent_files()


def test_missing_session_file(qtbot, window, tmp_path) -> None:
    before = window.session
    window.open_session(str(tmp_path / "nope.gdviz.toml"))
    qtbot.waitUntil(lambda: "nope.gdviz.toml" in window.message.text(), timeout=WAIT)
    assert window.session == before


def test_session_theme_and_noise_are_applied(qtbot, window, tmp_path) -> None:
    s = replace(window.session, theme="dark", noise=0.5, noise_seed=3, step=0)
    path = save_session(s, tmp_path / "n.gdviz.toml")
    old = window.trajectory
    window.open_session(str(path))
    wait_new(qtbot, window, old)
    assert window.theme.name == "dark"
    assert window.trajectory.true_grads is not None


def test_geometry_is_remembered(qtbot, private_settings) -> None:
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(700, 560)  # within the 800×800 offscreen screen
    w.show()
    qtbot.waitExposed(w)
    w.close()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert (w2.width(), w2.height()) == (700, 560)
    w2.close()


def test_gdviz_file_opens_the_session(tmp_path) -> None:
    """`gdviz FILE` (in its own process: one QApplication per process)."""
    import os
    import shutil
    import subprocess
    import sys

    from gdviz.core.lessons import lesson

    exe = shutil.which("gdviz") or str(Path(sys.executable).with_name("gdviz"))
    if not Path(exe).exists():
        pytest.skip("the gdviz command is not installed (pip install -e .)")
    s = replace(lesson(3).session, steps=120, step=30)
    path = save_session(s, tmp_path / "saddle.gdviz.toml")
    # Its own settings folder: the window saves its geometry on closing, and
    # other tests' gdviz processes must not start from it.
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        GDVIZ_QUIT_AFTER_MS="200",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    proc = subprocess.run([exe, str(path)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip().splitlines()[-1]
    assert f"runs={len(s.runs)} steps=120" in line
    # A broken file: the window still opens, on the default problem.
    bad = tmp_path / "bad.gdviz.toml"
    bad.write_text("format_version = 1\nfunction = \n", encoding="utf-8")
    proc = subprocess.run([exe, str(bad)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "preset=rosenbrock" in proc.stdout


def _dataset_state(window) -> dict:
    panel = window.data_panel
    k = len(window.session.runs)
    return {
        "function": window.session.function,
        "runs": window.session.runs,
        "domain": window.session.domain,
        "start": window.session.start,
        "steps": window.session.steps,
        "dataset": (panel.dataset.name, panel.dataset.n, panel.dataset.names),
        "columns": {c: panel.dataset.column(c).tolist() for c in panel.dataset.names},
        "batch_sizes": panel.batch_sizes(k),
        "seed": panel.seed.value(),
        "penalty": panel.penalty_value(),
        "variables": window.loss.variables,
    }


def test_dataset_mode_saves_and_reopens(qtbot, window, tmp_path) -> None:
    import tomllib

    from gdviz.core.dataset_loss import Penalty

    panel = window.data_panel
    old = window.trajectory
    panel.enable.setChecked(True)
    wait_new(qtbot, window, old)
    # Away from every default: other data, sizes, seed, penalty, step.
    old = window.trajectory
    assert panel.load_builtin("outliers", 40)
    wait_new(qtbot, window, old)
    panel.batches.setText("batch, 1, 8")
    panel.batches.editingFinished.emit()
    panel.seed.setValue(7)
    panel.penalty.setCurrentIndex(panel.penalty.findData("l2"))
    old = window.trajectory
    panel.lam.setValue(0.05)  # emits: the loss is compiled again with the penalty
    wait_new(qtbot, window, old)
    # A view and start of the person's own (not the ones suggested for the data).
    window.view_panel.domainChanged.emit(((-1.0, 3.0), (-2.0, 2.5)))
    old = window.trajectory
    window.view_panel.startChanged.emit((0.25, -0.5))
    wait_new(qtbot, window, old)
    window.player.seek(30)
    before = _dataset_state(window)
    assert before["domain"] == ((-1.0, 3.0), (-2.0, 2.5)) and before["start"] == (0.25, -0.5)
    assert before["penalty"] == Penalty("l2", 0.05) and before["batch_sizes"] == [None, 1, 8]
    positions = window.trajectory.positions.copy()
    path = tmp_path / "fit.gdviz.toml"
    assert window.classroom.save_to(path), window.message.text()
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert doc["data"]["source"] == "builtin:outliers" and doc["data"]["n"] == 40
    assert doc["data"]["batch_sizes"] == ["batch", 1, 8] and doc["data"]["shuffle_seed"] == 7
    assert "preset" not in doc  # the per-sample loss is no preset's function

    # Something else on screen, then the file again: the same data, runs and step.
    old = window.trajectory
    window.classroom.open_lesson(1)
    wait_new(qtbot, window, old)
    assert not panel.enabled
    old = window.trajectory
    assert window.classroom.open_session(path), window.message.text()
    wait_new(qtbot, window, old)
    assert panel.enabled and window.dataset_mode.enabled
    assert _dataset_state(window) == before
    assert window.player.step == 30
    np.testing.assert_array_equal(window.trajectory.positions, positions)
    assert window.windowTitle().endswith("fit.gdviz.toml")
    # Leaving dataset mode goes back to what was on screen before the file.
    old = window.trajectory
    panel.enable.setChecked(False)
    wait_new(qtbot, window, old)
    assert window.session.data is None and window.loss.variables == ("x", "y")


def test_dataset_csv_session_reopens_and_a_bad_csv_changes_nothing(qtbot, window, tmp_path) -> None:
    panel = window.data_panel
    folder = tmp_path / "course"
    folder.mkdir()
    csv = folder / "people.csv"
    csv.write_text("height,weight\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n5,10.1\n", encoding="utf-8")
    old = window.trajectory
    panel.enable.setChecked(True)
    wait_new(qtbot, window, old)
    old = window.trajectory
    assert panel.load_csv(str(csv), "x=height,y=weight")
    wait_new(qtbot, window, old)
    panel.batches.setText("2")
    old = window.trajectory
    panel.batches.editingFinished.emit()
    wait_new(qtbot, window, old)
    before = _dataset_state(window)
    path = folder / "people.gdviz.toml"
    assert window.classroom.save_to(path), window.message.text()
    assert 'source = "people.csv"' in path.read_text(encoding="utf-8")

    old = window.trajectory
    window.load_preset("rosenbrock")
    wait_new(qtbot, window, old)
    old = window.trajectory
    assert window.classroom.open_session(path)
    wait_new(qtbot, window, old)
    assert _dataset_state(window) == before and panel.columns.text() == "x=height,y=weight"
    assert panel.source.currentData() == "csv"
    # A λ finer than the box shows is kept exactly, and the loss uses it.
    from gdviz.core.dataset_loss import Penalty

    text = path.read_text(encoding="utf-8")
    text = text.replace('penalty = "none"', 'penalty = "l1"').replace(
        "lambda = 0.01", "lambda = 0.0005"
    )
    path.write_text(text, encoding="utf-8")
    old = window.trajectory
    assert window.classroom.open_session(path)
    wait_new(qtbot, window, old)
    assert panel.penalty_value() == Penalty("l1", 0.0005) == window.loss.penalty

    # The data file goes bad: opening says which session and what, and nothing changes.
    csv.write_text("height,weight\n1,2\n2,heavy\n", encoding="utf-8")
    session, traj = window.session, window.trajectory
    assert window.classroom.open_session(path)  # read on the compile thread
    qtbot.waitUntil(lambda: not window.computer.busy, timeout=WAIT)
    text = window.message.text()
    assert (
        "people.gdviz.toml" in text and "line 3, column 'weight': 'heavy' is not a number" in text
    )
    assert window.session == session and window.trajectory is traj and panel.enabled
    csv.unlink()
    assert window.classroom.open_session(path)
    qtbot.waitUntil(lambda: "people.csv: no such file" in window.message.text(), timeout=WAIT)
    assert window.session == session and window.trajectory is traj


def test_dataset_session_whose_loss_does_not_compile_changes_nothing(
    qtbot, window, tmp_path, monkeypatch
) -> None:
    from gdviz.core import dataset_loss
    from gdviz.core.expression import ExpressionError
    from gdviz.core.session import DataSpec

    s = replace(
        window.session,
        function="(w*x + b - y)^2",
        preset=None,
        data=DataSpec(batch_sizes=(None, 1)),
    )
    path = save_session(s, tmp_path / "fit.gdviz.toml")

    def refuse(*_a, **_k):
        raise ExpressionError("too much work to differentiate")

    # The file passes the reader's checks; the compile over the data is the last gate.
    monkeypatch.setattr(dataset_loss, "compile_dataset_loss", refuse)
    before, traj = window.session, window.trajectory
    assert window.classroom.open_session(path)  # it reads; its loss is compiled next
    qtbot.waitUntil(lambda: not window.computer.busy, timeout=WAIT)
    assert "fit.gdviz.toml: function: too much work" in window.message.text()
    assert window.session == before and window.trajectory is traj
    assert not window.data_panel.enabled


def test_dataset_save_with_bad_batch_sizes_says_why(qtbot, window, tmp_path) -> None:
    old = window.trajectory
    window.data_panel.enable.setChecked(True)
    wait_new(qtbot, window, old)
    window.data_panel.batches.setText("1, zero")
    path = tmp_path / "data.gdviz.toml"
    assert not window.classroom.save_to(path)
    assert not path.exists()
    assert "batch size 'zero'" in window.message.text()


def test_explain_in_dataset_mode_names_the_batch_gradient(qtbot, window) -> None:
    old = window.trajectory
    window.data_panel.enable.setChecked(True)
    qtbot.waitUntil(lambda: window.trajectory is not old and ready(window), timeout=WAIT)
    c = window.classroom
    c.toggle_explain()
    window.player.seek(3)
    ex = c.explain.explanation
    assert ex is not None
    assert "∇f_batch" in ex.text()
    k = ex.run
    assert np.array_equal(ex.values["theta_next"], window.trajectory.positions[3, k])


@pytest.mark.parametrize("scale", [1.5, 2.0])
def test_explain_card_leaves_the_loss_plot_in_view(qtbot, window, scale) -> None:
    # The card sits at the top of the loss column and the loss plot (legend
    # and curves) moves below it; closing the card gives the room back.
    c = window.classroom
    c.set_presentation_scale(scale)
    c.presentation.enter(fullscreen=False)
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.size().width() == 1024, timeout=WAIT)
    scene = window.scene
    plot = scene.loss_plot
    card_parent = scene.column  # the card lies over the top of the loss column

    def plot_rect() -> QRect:
        r = plot.sceneBoundingRect()
        top_left = scene.loss_view.mapTo(card_parent, scene.loss_view.mapFromScene(r.topLeft()))
        return QRect(top_left, r.size().toSize())

    QCoreApplication.processEvents()
    full = plot_rect()
    c.toggle_explain()
    window.player.seek(15)
    qtbot.waitUntil(lambda: plot_rect().top() > full.top() + 50, timeout=WAIT)
    card = c.explain_card
    card_rect = card.geometry()
    assert card.isVisible()
    assert not card_rect.intersects(plot_rect())
    assert not card_rect.intersects(
        scene.legend.sceneBoundingRect()
        .toRect()
        .translated(scene.loss_view.mapTo(card_parent, QPoint(0, 0)))
    )
    assert plot_rect().height() >= 60  # still a plot, not a sliver
    assert card_rect.height() <= 0.62 * card_parent.height() + 1
    c.toggle_explain()
    qtbot.waitUntil(lambda: plot_rect() == full, timeout=WAIT)
