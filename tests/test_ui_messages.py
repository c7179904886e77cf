"""Messages over the plots: a close button, errors that stay, notes that go, long ones cut."""

from dataclasses import replace

import pytest
from _ui_support import WAIT, ready, shown_window
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QPlainTextEdit

from gdviz.core.session_io import save_session
from gdviz.ui.main_window import MainWindow
from gdviz.ui.messages import cut_text


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot)
    w.resize(1280, 800)
    qtbot.wait(20)
    w.activateWindow()  # focus (a field's, a button's) needs the active window
    qtbot.waitUntil(w.isActiveWindow, timeout=WAIT)
    yield w
    # The window remembers its size for the next one (QSettings): leave the usual.
    w.classroom.presentation.leave()
    w.resize(1280, 800)


def rect_in(widget, host):
    return QRect(widget.mapTo(host, QPoint(0, 0)), widget.size())


def lines_shown(banner):
    label = banner.label
    return label.heightForWidth(label.contentsRect().width()) // label.fontMetrics().lineSpacing()


def test_every_message_has_a_close_button_the_keyboard_reaches(qtbot, window):
    banner = window.message
    for error in (True, False):
        window.show_message("could not compute the runs: overflow", error=error)
        button = banner.close_button
        assert button.isVisible() and button.accessibleName() == "close message"
        assert button.focusPolicy() & Qt.FocusPolicy.TabFocus
        button.setFocus()
        assert button.hasFocus()
        # Space presses the focused button: it closes the message, it does not play.
        qtbot.keyClick(button, Qt.Key.Key_Space)
        assert not banner.isVisible() and not window.player.playing
    window.show_message("could not compute the runs")
    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible()


def test_errors_stay_notes_go(qtbot, window, monkeypatch):
    monkeypatch.setattr("gdviz.ui.main_window.NOTE_SHOWN_MS", 50)
    window.show_message("Saved the animation to out.gif", error=False)
    assert window.message.isVisible() and not window.has_error_message()
    qtbot.waitUntil(lambda: not window.message.isVisible(), timeout=WAIT)
    window.show_message("could not compute the runs")
    qtbot.wait(300)
    assert window.has_error_message()


@pytest.mark.parametrize("presenting", [False, True])
def test_the_banner_never_covers_the_tabs(qtbot, window, presenting):
    if presenting:
        pres = window.classroom.presentation
        pres.enter(fullscreen=False)
        window.resize(1024, 768)
        qtbot.wait(50)
    long = "Could not open the session: " + "/very/long/folder" * 30 + "/week3.gdviz.toml"
    window.show_message(long, about="file")
    qtbot.wait(20)
    banner, host = window.message, window.message.parentWidget()
    tabs = window.surface_tabs.tabBar()
    box = banner.geometry()
    assert box.top() > rect_in(tabs, host).bottom()  # under the 2D/3D tabs
    assert rect_in(window.surface_tabs, host).contains(box)  # over the plots, nowhere else
    assert lines_shown(banner) <= 2 and banner.is_cut()
    window.resize(window.width() - 200, window.height())
    qtbot.waitUntil(lambda: banner.width() == window.surface_tabs.width(), timeout=WAIT)
    assert banner.geometry().top() > rect_in(tabs, host).bottom()


def test_a_file_that_fails_at_start_keeps_its_message(qtbot, tmp_path):
    # As `gdviz FILE` does: the file is opened before the window is shown; the
    # start-up compile of the default function finishes after the file failed.
    bad = tmp_path / "bad.gdviz.toml"
    bad.write_text('format_version = 1\nfunction = "x^2"\nsteps = "many"\n', encoding="utf-8")
    w = MainWindow()
    qtbot.addWidget(w)
    w.open_session(str(bad))
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: "Could not open the session" in w.message.text(), timeout=WAIT)
    qtbot.waitUntil(lambda: ready(w), timeout=WAIT)
    qtbot.wait(300)
    assert w.has_error_message() and "bad.gdviz.toml" in w.message.text()
    # A function that compiles does not fix a file: the message stays.
    w.editor.set_text("x^2 + y^2")
    qtbot.waitUntil(lambda: w.loss.text == "x^2 + y^2" and ready(w), timeout=WAIT)
    assert w.has_error_message()
    # An error about the function's runs does go when a function compiles.
    w.show_message("could not compute the runs: overflow")
    w.editor.set_text("x^2 + 2y^2")
    qtbot.waitUntil(lambda: w.loss.text == "x^2 + 2y^2", timeout=WAIT)
    assert not w.has_error_message()


def test_five_thousand_unknown_keys_are_cut_with_the_whole_in_details(qtbot, window, tmp_path):
    keys = "".join(f"extra_{i} = {i}\n" for i in range(5000))
    path = save_session(replace(window.session, steps=77), tmp_path / "big.gdviz.toml")
    text = path.read_text(encoding="utf-8")
    head = "format_version = 1\n"
    # 5,000 keys this gdviz does not know, and one with a line break in it.
    text = text.replace(head, head + '"a\\nb" = 1\n' + keys, 1)
    path.write_text(text, encoding="utf-8")
    old = window.trajectory
    window.open_session(str(path))
    qtbot.waitUntil(lambda: window.trajectory is not old and ready(window), timeout=WAIT)
    banner = window.message
    full = banner.text()
    assert "extra_4999: unknown key, skipped" in full and "a\nb" in full
    assert banner.isVisible() and banner.is_cut()
    assert lines_shown(banner) <= 2 and "\n" not in banner.shown_text()
    assert banner.height() < 5 * banner.fontMetrics().lineSpacing()
    assert banner.shown_text().endswith("…")
    qtbot.mouseClick(banner.details_button, Qt.MouseButton.LeftButton)
    dialog = banner.details_dialog
    assert dialog is not None and dialog.isVisible()
    view = dialog.findChild(QPlainTextEdit)
    assert view.isReadOnly() and view.toPlainText() == full
    assert view.verticalScrollBar().maximum() > 0  # it scrolls
    dialog.close()


def test_a_short_message_is_not_cut(window):
    window.show_message("could not compute the runs")
    assert window.message.shown_text() == "could not compute the runs"
    assert not window.message.is_cut()


def test_cut_text_keeps_lines_and_markup_as_typed(qtbot):
    from PySide6.QtGui import QFont, QFontMetrics

    font = QFont()
    fm = QFontMetrics(font)
    text = "<b>bold</b>\n" + "word " * 200
    cut = cut_text(text, font, 300)
    assert cut.startswith("<b>bold</b> word") and cut.endswith("…") and "\n" not in cut
    assert fm.horizontalAdvance(cut) <= 2 * 300 + fm.horizontalAdvance("MM")
    assert cut_text("short", font, 300) == "short"
