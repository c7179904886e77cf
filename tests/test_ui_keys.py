"""The window's keys: Space, arrows, R … drive the player unless a text field has the cursor.

Every key here is a real key event sent to whatever widget has the focus, as
a person's keyboard would.
"""

import pytest
from _ui_support import WAIT, ready, shown_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from gdviz.core.lessons import lesson_range, load_lessons
from gdviz.ui.keys import KEY_MAP, LESSON_ACTION, is_text_field, shortcut_rows


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot)
    w.activateWindow()
    return w


def focused():
    return QApplication.focusWidget()


def press(qtbot, key):
    """Press ``key`` on the widget with the focus (the window's, if none)."""
    qtbot.keyClick(focused(), key)


def type_in_editor(qtbot, window, text):
    edit = window.editor.edit
    edit.setFocus()
    assert focused() is edit
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)
    return edit


def test_enter_applies_the_function_and_gives_the_keys_to_the_player(qtbot, window):
    edit = type_in_editor(qtbot, window, "x^2 + 10y^2")
    press(qtbot, Qt.Key.Key_Return)
    assert focused() is not edit and not is_text_field(focused())
    qtbot.waitUntil(lambda: window.loss.text == "x^2 + 10y^2" and ready(window), timeout=WAIT)
    press(qtbot, Qt.Key.Key_Space)
    assert window.player.playing
    press(qtbot, Qt.Key.Key_Space)
    assert not window.player.playing
    press(qtbot, Qt.Key.Key_Right)
    press(qtbot, Qt.Key.Key_Right)
    step = window.player.step
    press(qtbot, Qt.Key.Key_Left)
    assert window.player.step == step - 1
    press(qtbot, Qt.Key.Key_R)
    assert window.player.step == 0
    # Not one of those keys reached the function.
    assert edit.text() == "x^2 + 10y^2"
    assert window.session.function == "x^2 + 10y^2"


def test_esc_leaves_the_field(qtbot, window):
    edit = type_in_editor(qtbot, window, "x^2 + y^2")
    press(qtbot, Qt.Key.Key_Escape)
    assert focused() is not edit
    press(qtbot, Qt.Key.Key_Space)
    assert window.player.playing
    assert edit.text() == "x^2 + y^2"


def test_a_number_field_is_applied_by_enter_and_then_r_resets(qtbot, window):
    steps = window.view_panel.steps
    steps.setFocus()
    assert is_text_field(focused())
    steps.selectAll()
    qtbot.keyClicks(focused(), "120")
    press(qtbot, Qt.Key.Key_Return)
    assert window.session.steps == 120
    assert not is_text_field(focused())
    qtbot.waitUntil(lambda: ready(window) and window.trajectory.n_steps == 120, timeout=WAIT)
    press(qtbot, Qt.Key.Key_Right)
    assert window.player.step == 1
    press(qtbot, Qt.Key.Key_R)
    assert window.player.step == 0
    assert steps.value() == 120


def test_clicking_play_gives_the_keys_back(qtbot, window):
    edit = type_in_editor(qtbot, window, "x^2 + y^2")
    qtbot.mouseClick(window.transport.play_button, Qt.MouseButton.LeftButton)
    assert window.player.playing
    assert focused() is not edit
    press(qtbot, Qt.Key.Key_Space)
    assert not window.player.playing
    assert edit.text() == "x^2 + y^2"


def test_clicking_the_timeline_gives_the_keys_back(qtbot, window):
    edit = type_in_editor(qtbot, window, "x^2 + y^2")
    timeline = window.transport.timeline
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=timeline.rect().center())
    assert focused() is not edit
    press(qtbot, Qt.Key.Key_Space)
    assert window.player.playing


def test_clicking_the_plot_gives_the_keys_back(qtbot, window):
    edit = type_in_editor(qtbot, window, "x^2 + y^2")
    view = window.scene.loss_view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.rect().center())
    assert focused() is not edit
    press(qtbot, Qt.Key.Key_Space)
    assert window.player.playing
    assert edit.text() == "x^2 + y^2"


def test_in_a_text_field_the_keys_type(qtbot, window):
    edit = type_in_editor(qtbot, window, "x^2")
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Plus, Qt.Key.Key_R):
        press(qtbot, key)
    assert edit.text() == "x^2 +r"
    assert focused() is edit and edit.cursorPosition() == len("x^2 +r")
    assert not window.player.playing and window.player.step == 0
    # The arrows move the cursor, not the player.
    press(qtbot, Qt.Key.Key_Left)
    assert edit.cursorPosition() == len("x^2 +")
    assert window.player.step == 0


def test_a_combo_box_with_the_focus_leaves_the_player_its_keys(qtbot, window):
    box = window.preset_box
    box.setFocus()
    assert focused() is box and not is_text_field(box)
    index = box.currentIndex()
    press(qtbot, Qt.Key.Key_Right)
    assert window.player.step == 1 and box.currentIndex() == index


def test_the_key_map_lists_each_key_once_and_only_existing_lessons():
    keys = [k for b in KEY_MAP for k in b.keys]
    assert len(keys) == len(set(keys))
    lessons = [les.number for les in load_lessons()]
    rows = dict(shortcut_rows(lessons))
    assert rows[f"1–{max(lessons)}"] == f"open lesson 1–{max(lessons)}"
    assert not any("9" in k for k in rows) or 9 in lessons
    assert LESSON_ACTION not in rows and "" not in rows
    assert all(r[0] != "" for r in shortcut_rows([]))


def test_a_digit_with_no_lesson_is_a_short_note_not_an_error(qtbot, window):
    numbers = [les.number for les in load_lessons()]
    missing = next(n for n in range(1, 10) if n not in numbers)
    window.scene.surface_view.setFocus()
    before = window.session
    press(qtbot, getattr(Qt.Key, f"Key_{missing}"))
    assert window.session == before
    assert window.message.isVisible() and not window.has_error_message()
    assert window.message.text() == f"Lessons are {lesson_range(numbers)}."


def test_the_window_advertises_only_the_lessons_that_exist(window):
    numbers = [les.number for les in load_lessons()]
    span = lesson_range(numbers)
    overlay = window.classroom.presentation.overlay
    keys = [lab.text() for lab in overlay.key_labels]
    texts = [lab.text() for lab in overlay.text_labels]
    assert span in keys and f"open lesson {span}" in texts
    assert not any("9" in t for t in keys + texts) or 9 in numbers
    menu = [a.text() for a in window.classroom.lessons_menu.actions()]
    assert [int(t.split()[0]) for t in menu] == numbers


def test_enter_in_a_runs_setting_applies_it_and_gives_the_keys_back(qtbot, window):
    from PySide6.QtWidgets import QLineEdit

    fields = window.runs_panel.params_box.findChildren(QLineEdit)
    decay = next(f for f in fields if f.accessibleName() == "weight_decay")
    decay.setFocus()
    decay.selectAll()
    qtbot.keyClicks(focused(), "0.01")
    press(qtbot, Qt.Key.Key_Return)
    run = window.session.runs[window.runs_panel.current()]
    assert run.params["weight_decay"] == pytest.approx(0.01)
    assert not is_text_field(focused())
    press(qtbot, Qt.Key.Key_Right)
    assert window.player.step == 1
