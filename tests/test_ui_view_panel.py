"""The view panel accepts only what a session file can hold, and says why not."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from gdviz.core.session import ViewSettings
from gdviz.ui.view_panel import ViewPanel


@pytest.fixture
def panel(qtbot):
    p = ViewPanel()
    qtbot.addWidget(p)
    p.set_values(((-3.0, 3.0), (-2.0, 2.0)), (1.0, 1.0), 100, ViewSettings())
    p.show()
    return p


def _type(qtbot, field, text):
    field.setText(text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("-1e308, 1e308", "outside ±1e6"),
        ("-2e6, 2e6", "outside ±1e6"),
        ("nan, 1", "not a finite number"),
        ("-inf, inf", "not a finite number"),
        ("1e308, -1e308", "outside ±1e6"),
        ("0, 0", "low must be below high"),
        ("-0, 0", "low must be below high"),
        ("5, 5.000000000001", "too narrow to draw"),
        ("1, 2, 3", "expected 2 numbers"),
        ("abc", "expected 2 numbers"),
        ("a b", "'a' is not a number"),
    ],
)
def test_a_range_a_session_cannot_hold_is_refused_at_the_field(qtbot, panel, text, why):
    emitted = []
    panel.domainChanged.connect(emitted.append)
    _type(qtbot, panel.y_range, text)
    assert emitted == []  # the last good range stays in force
    assert panel.error.isVisibleTo(panel)
    assert panel.error.text().startswith("y range: ") and why in panel.error.text()
    assert panel.y_range.property("invalid") == "true"
    _type(qtbot, panel.y_range, "-1e6, 1e6")  # the limits themselves are fine
    assert emitted == [((-3.0, 3.0), (-1e6, 1e6))]
    assert not panel.error.isVisibleTo(panel) and panel.y_range.property("invalid") == "false"


@pytest.mark.parametrize("text", ["1e308, 0", "0, -2e6", "nan, 0", "0", "0, 0, 0"])
def test_a_start_a_session_cannot_hold_is_refused(qtbot, panel, text):
    emitted = []
    panel.startChanged.connect(emitted.append)
    _type(qtbot, panel.start, text)
    assert emitted == [] and panel.error.text().startswith("start: ")
    _type(qtbot, panel.start, "−1e6, -0")  # a typographic minus and a negative zero
    assert emitted == [(-1e6, 0.0)] and str(emitted[0][1]) == "0.0"


def test_the_field_just_edited_is_the_one_blamed(qtbot, panel):
    _type(qtbot, panel.x_range, "3, 1")
    assert panel.error.text().startswith("x range")
    # The x field still holds its bad text; a bad y is what the person just typed.
    _type(qtbot, panel.y_range, "0, banana")
    assert panel.error.text() == "y range: 'banana' is not a number"
    # A good y now: the x field's problem is named, and marked there.
    _type(qtbot, panel.y_range, "0, 1")
    assert panel.error.text().startswith("x range: low must be below high")
    assert panel.x_range.property("invalid") == "true"
    emitted = []
    panel.domainChanged.connect(emitted.append)
    _type(qtbot, panel.x_range, "1, 3")
    assert emitted == [((1.0, 3.0), (0.0, 1.0))]
    assert panel.x_range.property("invalid") == panel.y_range.property("invalid") == "false"


def test_one_variable_names_its_range_and_ignores_y(qtbot, panel):
    panel.set_values(((-3.0, 3.0),), (1.0,), 100, ViewSettings(), ("w",))
    emitted = []
    panel.domainChanged.connect(emitted.append)
    panel.y_range.setText("rubbish")
    _type(qtbot, panel.x_range, "1e7, 2e7")
    assert panel.error.text().startswith("w range: 1e7 is outside")
    _type(qtbot, panel.x_range, "-1, 1")
    assert emitted == [((-1.0, 1.0),)]
