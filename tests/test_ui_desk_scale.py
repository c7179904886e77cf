"""The desk window at larger text (1×, 1.5×, 2×) in a 1280×800 window.

Nothing in the side panel may be cut at its right edge (it scrolls up and
down, never sideways), the plots keep room, the header stays compact, the
numbers table fits its width, and whatever is cut with "…" is whole somewhere.
"""

import html
import re

import pytest
from _ui_support import enter_dataset_mode
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSlider,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)

from gdviz.core.presets import load_presets
from gdviz.ui.function_editor import pack_lines
from gdviz.ui.main_window import DEFAULT_PRESET, SIDE_PANEL_WIDTH, MainWindow
from gdviz.ui.widgets import ColumnsLayout, ElidedLabel

WAIT = 30_000  # ms; generous: only catches hangs, never measures speed
SCALES = (1.0, 1.5, 2.0)
CONTROLS = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QSlider, QListWidget)


def ready(window):
    return window.trajectory is not None and window.complete and not window.computer.busy


def settle(qtbot, ms=150):
    # Layout requests are posted events: let them (and a relayout) run.
    qtbot.wait(ms)


def open_window(qtbot, scale):
    w = MainWindow(font_scale=scale)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: ready(w), timeout=WAIT)
    settle(qtbot)
    return w


@pytest.fixture(params=SCALES, ids=lambda s: f"{s:g}x")
def window(request, qtbot):
    return open_window(qtbot, request.param)


def cut_controls(window):
    """Visible side-panel controls not wholly inside the scroll area's viewport (x)."""
    viewport = window.side_scroll.viewport()
    side = window.side_scroll.widget()
    bad = []
    for c in side.findChildren(QWidget):
        if not isinstance(c, CONTROLS) or not c.isVisibleTo(side):
            continue
        left = c.mapTo(viewport, QPoint(0, 0)).x()
        right = left + c.width()
        if left < 0 or right > viewport.width():
            name = c.accessibleName() or getattr(c, "text", lambda: "")() or type(c).__name__
            bad.append(f"{name}: {left}..{right} in 0..{viewport.width()}")
    return bad


def test_every_side_panel_control_is_inside_the_viewport(window):
    assert window.size().width() == 1280
    assert cut_controls(window) == []
    # Sanity: the check looked at the controls that used to be cut.
    names = {"optimizer", "runs", "x range", "steps"}
    found = {
        c.accessibleName()
        for c in window.side_scroll.widget().findChildren(QWidget)
        if isinstance(c, CONTROLS) and c.isVisibleTo(window.side_scroll.widget())
    }
    assert names <= found
    assert window.runs_panel.remove_button.isVisibleTo(window.side_scroll.widget())


def test_every_optimizer_and_dataset_mode_fit_at_2x(qtbot):
    w = open_window(qtbot, 2.0)
    combo = w.runs_panel.optimizer
    for i in range(combo.count()):
        combo.setCurrentIndex(i)
        combo.activated.emit(i)
        settle(qtbot, 60)
        assert cut_controls(w) == [], combo.itemData(i)
    buttons = w.data_panel.findChildren(QAbstractButton)
    toggle = next(c for c in buttons if c.accessibleName() == "dataset mode")
    toggle.click()
    qtbot.waitUntil(lambda: w.dataset_mode.enabled and ready(w), timeout=WAIT)
    settle(qtbot)
    assert cut_controls(w) == []


def list_text_room(lst, row):
    """Pixels the style gives row ``row``'s text in a list (measured as the delegate does)."""
    item = lst.item(row)
    opt = QStyleOptionViewItem()
    lst.initViewItemOption(opt)  # the view's part: icon size, font
    lst.itemDelegate().initStyleOption(opt, lst.indexFromItem(item))
    opt.rect = QRect(0, 0, lst.viewport().width(), lst.visualItemRect(item).height())
    rect = lst.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, lst)
    margin = lst.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, lst) + 1
    return rect.width() - 2 * margin


def test_every_run_line_shows_its_rate_whole(window):
    # At 2× the list read "1. Gradient …": the learning rates were cut off.
    panel = window.runs_panel
    lst = panel.list
    fm = lst.fontMetrics()
    for row, run in enumerate(window.session.runs):
        text = lst.item(row).text()
        assert f"lr={run.params['lr']:g}" in text, text
        assert text.startswith(f"{row + 1}. ")
        room = list_text_room(lst, row)
        for line in text.split("\n"):
            assert fm.horizontalAdvance(line) <= room, (line, room)
        # Each optimizer is named (short or long) and the tooltip has the whole line.
        assert run.optimizer in text or panel.line_forms(row)[0] == text
        assert panel.line_forms(row)[0] in lst.item(row).toolTip()
    if window.theme.font_scale == 1.0:
        assert panel.line_form() <= 1  # one line per run at desk text
    # All runs take the same form.
    assert len({lst.item(r).text().count("\n") for r in range(lst.count())}) == 1


def test_a_longer_rate_rewords_every_line(qtbot):
    w = open_window(qtbot, 1.5)
    panel = w.runs_panel
    before = panel.line_form()
    panel.list.setCurrentRow(0)
    rate = panel.param_widget("lr")
    rate.text.setText("0.000123456")
    rate.text.editingFinished.emit()
    settle(qtbot)
    assert w.session.runs[0].params["lr"] == 0.000123456
    assert panel.line_form() >= before
    lst, fm = panel.list, panel.list.fontMetrics()
    for row in range(lst.count()):
        for line in lst.item(row).text().split("\n"):
            assert fm.horizontalAdvance(line) <= list_text_room(lst, row), line
    assert "lr=0.000123456" in lst.item(0).text()


def test_changing_the_text_size_refits_the_side_panel(qtbot):
    w = open_window(qtbot, 1.0)
    assert w.splitter.sizes()[1] == SIDE_PANEL_WIDTH
    for scale in (2.0, 1.5):
        w.set_font_scale(scale)
        settle(qtbot)
        assert cut_controls(w) == [], scale
    w.set_font_scale(1.0)
    settle(qtbot)
    # Back at 1×, the panel is back at its 1× width: the plots get the rest.
    assert w.splitter.sizes()[1] == SIDE_PANEL_WIDTH
    assert cut_controls(w) == []


def test_a_theme_switch_keeps_a_dragged_splitter(qtbot):
    w = open_window(qtbot, 1.0)
    total = sum(w.splitter.sizes())
    w.splitter.setSizes([total - 420, 420])
    settle(qtbot)
    w.set_theme("light")
    settle(qtbot)
    assert w.splitter.sizes()[1] == 420
    w.set_font_scale(2.0)  # a new text size splits again
    settle(qtbot)
    assert w.splitter.sizes()[1] != 420
    assert cut_controls(w) == []


def test_the_side_panel_cannot_be_dragged_over_its_controls(qtbot):
    w = open_window(qtbot, 2.0)
    total = sum(w.splitter.sizes())
    w.splitter.setSizes([total - 50, 50])  # as far as a drag could try
    settle(qtbot)
    assert w.splitter.sizes()[1] >= w.side_scroll.minimumSizeHint().width()
    assert cut_controls(w) == []


def test_the_surface_keeps_room(window):
    view = window.scene.surface_view
    box = window.scene.surface.getViewBox().size()
    # The old layout gave the surface 261 px (2×) of height; the header and
    # side panel now leave it ~310 px. The plot area has the shape of the
    # view window (Rosenbrock's is square: one unit as long on x as on y)
    # and is as large as that shape allows.
    assert view.height() >= 290, view.size()
    assert view.width() >= 480, view.size()
    assert box.width() == pytest.approx(box.height(), abs=2.0), box
    assert min(box.width(), box.height()) >= 270, box


def test_the_header_is_compact_and_the_formulas_whole(window):
    view = window.editor.math
    assert "∂f/∂x" in view.text() and "∂f/∂y" in view.text()
    lines = view.lines()
    assert len(lines) == 3
    assert not any(label.is_elided() for label in lines)
    # Function and gradient beside each other: at most two rows of formulas.
    rows = max(len(c) for c in view.columns())
    assert rows <= 2, view.columns()
    line_h = lines[0].height()
    # Formulas plus the one-line description: never more than three text lines.
    assert view.height() <= 3 * line_h + 2, (view.height(), line_h)


def test_the_description_is_one_line_and_whole_in_its_tooltip(window, qtbot):
    preset = next(p for p in load_presets() if p.name == DEFAULT_PRESET)
    note = window.teaches
    assert isinstance(note, ElidedLabel) and note.isVisible()
    assert note.text() == preset.teaches
    assert note.textFormat() == Qt.TextFormat.PlainText
    assert note.height() <= 1.5 * note.fontMetrics().height()
    if window.theme.font_scale >= 2.0:
        assert note.is_elided()  # too long for one line at 2× in 1280 px
    if note.is_elided():
        tip = html.unescape(re.sub(r"<[^>]+>", "", note.toolTip()))
        assert tip == preset.teaches
        # A click unfolds the whole text over as many lines as it needs…
        before = window.editor.math.height()
        qtbot.mouseClick(note, Qt.MouseButton.LeftButton)
        settle(qtbot)
        assert note.is_expanded() and not note.is_elided()
        assert window.editor.math.height() > before
        # …and a second click folds it back.
        qtbot.mouseClick(note, Qt.MouseButton.LeftButton)
        settle(qtbot)
        assert not note.is_expanded() and window.editor.math.height() == before


def test_a_typo_message_is_whole_at_every_text_size(window, qtbot):
    editor, view = window.editor, window.editor.math
    height, plots = view.height(), window.body.size()
    editor.edit.setText("(1-x)^2 + 100(y - sine(x^2))^2")
    editor._settle()
    qtbot.waitUntil(editor.has_error, timeout=WAIT)
    settle(qtbot)
    err = editor.error
    assert "did you mean sin" in err.text()
    assert err.isVisible() and not err.is_elided(), err.text()
    assert view.rect().contains(err.geometry())
    # Where it needs the room, the gradient lines beside it make way (they
    # come back with the next good function); nothing overlaps it.
    for label in view.lines():
        if label.isVisible():
            assert not label.geometry().intersects(err.geometry()), label.text()
    assert (view.height(), window.body.size()) == (height, plots)  # nothing moved
    editor.edit.setText("(1-x)^2 + 100(y - sin(x^2))^2")
    editor._settle()
    qtbot.waitUntil(lambda: not editor.has_error(), timeout=WAIT)
    settle(qtbot)
    assert all(label.isVisible() for label in view.lines())
    assert (view.height(), window.body.size()) == (height, plots)


def test_the_numbers_table_fits_its_width_and_shows_every_run(window):
    table = window.stats
    n = table.run_count()
    assert n == len(window.session.runs) == 4
    assert not table.horizontalScrollBar().isVisible()
    header = table.horizontalHeader()
    assert header.length() <= table.viewport().width()
    last = table.rowViewportPosition(n - 1) + table.rowHeight(n - 1)
    assert last <= table.viewport().height(), (last, table.viewport().height())
    # No number is cut: each numeric cell is narrower than its column.
    fm = table.fontMetrics()
    for k in range(n):
        row = table.row_text(k)
        for c, key in ((1, "loss"), (2, "‖∇f‖"), (3, "position")):
            assert fm.horizontalAdvance(row[key]) < header.sectionSize(c), (key, row[key])


def table_cuts(table):
    """Cells of the numbers table whose text is wider than its column (hidden columns aside)."""
    header, fm = table.horizontalHeader(), table.fontMetrics()
    bad = []
    for k in range(table.run_count()):
        for c, (key, text) in enumerate(table.row_text(k).items()):
            if not table.isColumnHidden(c) and fm.horizontalAdvance(text) >= header.sectionSize(c):
                bad.append((key, text, header.sectionSize(c)))
    return bad


def test_at_the_last_step_names_status_and_numbers_are_whole(window):
    # At 2× the names read "2. …" and the status "stopped at …" while the
    # position kept its room: names and status come first now.
    window.player.seek(window.player.limit)
    table = window.stats
    assert table.row_text(0)["status"].startswith("stopped at ")
    assert table_cuts(table) == []
    assert not table.horizontalScrollBar().isVisible()
    assert table.horizontalHeader().length() <= table.viewport().width()
    # The loss and ‖∇f‖ are always shown; only the position may go, when the
    # table has less than the width it asks for (the surface comes first).
    assert not table.isColumnHidden(1) and not table.isColumnHidden(2)
    if window.theme.font_scale == 1.0:
        # Beside the loss plots (the surface takes the width it needs) the
        # position may give way to whole names and statuses, never the loss.
        assert table.digits()[0] == 5


def test_dataset_mode_table_at_2x_shows_every_row_whole(qtbot):
    w = open_window(qtbot, 2.0)
    enter_dataset_mode(qtbot, w)
    settle(qtbot)
    w.player.seek(w.player.limit)
    settle(qtbot)
    table = w.stats
    n = table.run_count()
    assert n == len(w.session.runs) >= 3
    assert not table.horizontalScrollBar().isVisible()
    assert table_cuts(table) == []
    last = table.rowViewportPosition(n - 1) + table.rowHeight(n - 1)
    assert last <= table.viewport().height(), (last, table.viewport().height())


def test_no_number_is_cut_after_the_text_size_changes_in_place(qtbot):
    # The table measured its numbers again only at the next step: right after
    # a larger text size (at step 0, paused) a gradient norm showed "16…".
    w = open_window(qtbot, 1.0)
    w.set_font_scale(2.0)
    settle(qtbot)
    table, header = w.stats, w.stats.horizontalHeader()
    fm = table.fontMetrics()
    for k in range(table.run_count()):
        row = table.row_text(k)
        for c, key in ((1, "loss"), (2, "‖∇f‖"), (3, "position")):
            assert fm.horizontalAdvance(row[key]) < header.sectionSize(c), (key, row[key])


def test_a_long_function_does_not_widen_the_window(window, qtbot):
    old = window.trajectory
    terms = " + ".join(f"sin({k}*x)*cos({k}*y)/{k}" for k in range(1, 16))
    window.editor.set_text(terms)
    qtbot.waitUntil(lambda: window.trajectory is not old and ready(window), timeout=WAIT)
    settle(qtbot)
    assert window.minimumSizeHint().width() <= 1280
    assert window.width() == 1280
    lines = window.editor.math.lines()
    assert any(label.is_elided() for label in lines)
    cut = next(label for label in lines if label.is_elided())
    assert cut.text().strip() in html.unescape(re.sub(r"<[^>]+>", "", cut.toolTip()))
    assert cut_controls(window) == []


# ----------------------------------------------------------------- pieces
def test_pack_lines_prefers_one_row_then_two_columns_then_one():
    assert pack_lines([100, 120, 80], 400, 20) == [[0], [1], [2]]
    assert pack_lines([100, 120, 80], 300, 20) == [[0], [1, 2]]
    assert pack_lines([100, 120, 80], 200, 20) == [[0, 1, 2]]
    # Five lines (a dataset loss): two columns of the fewest rows, first column short.
    assert pack_lines([100, 100, 120, 120, 90], 300, 20) == [[0, 1], [2, 3, 4]]
    assert pack_lines([50], 10, 20) == [[0]]
    assert pack_lines([], 100, 20) == [[]]


def test_elided_label_keeps_the_whole_text(qtbot):
    label = ElidedLabel("a <b>long</b> line of plain text that will not fit", expandable=True)
    qtbot.addWidget(label)
    label.resize(80, 30)
    label.show()
    qtbot.waitExposed(label)
    assert label.text() == "a <b>long</b> line of plain text that will not fit"
    assert label.is_elided()
    assert "&lt;b&gt;" in label.toolTip()  # shown as typed, never as markup
    label.resize(2000, 30)
    assert not label.is_elided() and label.toolTip() == ""
    assert label.minimumSizeHint().width() < label.sizeHint().width()


def test_columns_layout_wraps_to_the_width(qtbot):
    box = QWidget()
    qtbot.addWidget(box)
    lay = ColumnsLayout(max_columns=3, uniform=False, parent=box)
    buttons = [QPushButton(t) for t in ("Add", "Duplicate", "Remove")]
    for b in buttons:
        lay.addWidget(b)
    need = sum(b.sizeHint().width() for b in buttons)
    box.show()
    for width, cols in ((need + 40, 3), (need - 10, 2), (buttons[1].sizeHint().width(), 1)):
        box.resize(width, lay.heightForWidth(width))
        settle(qtbot, 20)
        assert lay.columns_for(width) == cols
        for b in buttons:
            g = b.geometry()
            assert g.left() >= 0 and g.right() < width, (width, b.text(), g)
        rows = len({b.geometry().top() for b in buttons})
        assert rows == -(-3 // cols)
    assert lay.minimumSize().width() <= buttons[1].sizeHint().width()
