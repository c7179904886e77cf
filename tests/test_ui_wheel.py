"""The wheel scrolls the side panel; it changes a field there only when that field has focus."""

import pytest
from _ui_support import WAIT, shown_window
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QSlider

from gdviz.ui.widgets import WheelGuard


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot)
    w.resize(1280, 560)  # short: the side panel has to scroll
    w.activateWindow()  # focus (a field's, a button's) needs the active window
    qtbot.waitUntil(w.isActiveWindow, timeout=WAIT)
    qtbot.waitUntil(lambda: w.side_scroll.verticalScrollBar().maximum() > 0)
    yield w
    # The window remembers its size for the next one (QSettings): leave the usual.
    w.resize(1280, 800)


def wheel(widget, notches=-1):
    """Turn the wheel ``notches`` (negative: towards the person) over ``widget``'s middle.

    A real turn over a spin box goes to its line edit first, which passes it
    on to the spin box; Qt does not pass on a turn sent by a program, so this
    one goes to the field itself.
    """
    target = widget
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(
        pos,
        QPointF(target.mapToGlobal(pos)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(target, event)


def test_the_wheel_over_a_number_field_scrolls_the_panel(window):
    bar = window.side_scroll.verticalScrollBar()
    steps = window.view_panel.steps
    window.side_scroll.ensureWidgetVisible(steps)
    bar.setValue(bar.minimum())
    value, top = steps.value(), bar.value()
    window.scene.setFocus()
    wheel(steps)
    assert steps.value() == value
    assert bar.value() > top
    # With the focus (clicked or tabbed into), the wheel changes it.
    steps.setFocus()
    wheel(steps, notches=1)
    assert steps.value() > value


def test_the_wheel_over_a_combo_box_scrolls_the_panel(window):
    bar = window.side_scroll.verticalScrollBar()
    combo = window.runs_panel.optimizer
    bar.setValue(bar.minimum())
    index, top = combo.currentIndex(), bar.value()
    window.scene.setFocus()
    wheel(combo)
    assert combo.currentIndex() == index and bar.value() > top
    combo.setFocus()
    wheel(combo)
    assert combo.currentIndex() != index


def test_fields_made_later_are_guarded_and_take_no_focus_from_the_wheel(qtbot, window):
    # A run's settings are made when the run is selected: its lr slider too.
    old = set(window.runs_panel.params_box.findChildren(QSlider))
    window.runs_panel.add_run()

    def new_sliders():
        found = window.runs_panel.params_box.findChildren(QSlider)
        return [s for s in found if s not in old and s.isVisible()]

    # Guarded when the panel lays them out, before they are on screen.
    qtbot.waitUntil(lambda: bool(new_sliders()), timeout=WAIT)
    sliders = new_sliders()
    for s in sliders:
        assert s.focusPolicy() == Qt.FocusPolicy.StrongFocus
        before = s.value()
        window.scene.setFocus()
        wheel(s)
        assert s.value() == before and not s.hasFocus()
    for field in (window.view_panel.steps, window.runs_panel.optimizer):
        assert field.focusPolicy() == Qt.FocusPolicy.StrongFocus


def test_a_guard_keeps_no_focus_fields_without_focus(qtbot):
    from PySide6.QtWidgets import QScrollArea, QSpinBox

    box = QSpinBox()
    qtbot.addWidget(box)
    box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    area = QScrollArea()
    qtbot.addWidget(area)
    WheelGuard(area).guard(box)
    assert box.focusPolicy() == Qt.FocusPolicy.NoFocus
