"""The window survives any sequence of actions a person can take.

A seeded random walk through real user actions: typing functions (good, bad,
hostile, one and two variables, per-sample losses), keys, clicks and drags on
the surface, the run list, the view fields (absurd numbers too), dataset mode
with built-in and CSV data (files lacking a column among them), themes and
text sizes, presentation mode, presets, lessons, the maps, the timeline, the
export dialog, saving and reopening. Every widget is driven through its public
face: text set and ``editingFinished`` / Return, clicks, ``QAction.trigger``.

Any uncaught exception fails the test with the seed and the last actions, so a
failure can be replayed (``GDVIZ_RANDOM_SEED=<seed>``). Whatever the window
accepts must also save and open again.

``GDVIZ_RANDOM_SECONDS`` sets how long each seed runs (default 60); see the
other ``GDVIZ_RANDOM_*`` settings below for replaying and cornering a failure.
"""

from __future__ import annotations

import collections
import os
import random
import sys
import threading
import time
import traceback

import pytest
from _ui_support import WAIT, ready
from hostile_inputs import HOSTILE
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QLineEdit, QMenu

SECONDS = float(os.environ.get("GDVIZ_RANDOM_SECONDS", "60"))
SEEDS = [int(os.environ["GDVIZ_RANDOM_SEED"])] if os.environ.get("GDVIZ_RANDOM_SEED") else [1, 2, 3]
#: How many of the last actions a failure prints.
SHOWN_ACTIONS = 25
#: ``GDVIZ_RANDOM_KEEP_GOING=1``: run the whole time and report every exception
#: (to count them), instead of stopping at the first.
KEEP_GOING = os.environ.get("GDVIZ_RANDOM_KEEP_GOING") == "1"
#: ``GDVIZ_RANDOM_TRACE=1``: print each action as it starts (to find a crash).
TRACE = os.environ.get("GDVIZ_RANDOM_TRACE") == "1"

FUNCTIONS_2D = [
    "(1-x)^2 + 100(y-x^2)^2",
    "x^2 + 3y^2",
    "sin(x) cos(y)",
    "x^2 - y^2",
    "abs(x) + abs(y)",
    "exp(x^2 + y^2)",
    "log(x^2 + y^2)",
    "1/(x^2 + y^2)",
    "x^4 - 3x^2 + y^2",
    "sqrt(x^2 + y^2)",
    "max(x, y)^2",
    "tanh(x) tanh(y)",
    "x^2 + y^2 + 1e300",
    "1e308 x^2 + y^2",
    "x",
    "0 x + 0 y",
]
FUNCTIONS_1D = ["x^2", "x^4 - 2x^2", "sin(3x) + x^2/4", "exp(x)", "abs(x)", "1/x", "log(x)"]
FUNCTIONS_DATA = [
    "(w*x + b - y)^2",
    "abs(w x + b - y)",
    "log(1 + exp(-y (w x + b)))",
    "(w x - y)^2",
    "(w*x + b - z)^2",
    "(a x + c - y)^2",
    "w^2 + b^2",
]
FUNCTIONS_BAD = [
    "",
    "   ",
    "sine(x)",
    "x +",
    "(x",
    "x^2 + y^2 + z^2",
    "sqrt(-1)",
    "log(0) + x",
    "acos(2) + x",
    "x y z w",
    "(x+y+1)^100",
    "x" * 600,
    "((((((((((x))))))))))" * 3,
    "π x + y",
    "∞",
    "−x^2 + y^2",
]
RANGES = [
    "-3, 3",
    "-1e6, 1e6",
    "-1e308, 1e308",
    "1e308, -1e308",
    "-0, 0",
    "0, 0",
    "nan, 1",
    "nan nan",
    "inf, -inf",
    "-inf inf",
    "1, 2, 3",
    "abc",
    "",
    "−2, 2",
    "1e-300, 2e-300",
    "-1e-12, 1e-12",
    "5, 5.000000001",
    "-2e6, 2e6",
    "100, 200",
    "-0.5 0.5",
]
STARTS = [
    "0, 0",
    "1, 1",
    "-2.5, 2.5",
    "1e308, 1e308",
    "nan, 0",
    "inf, inf",
    "-1e6, 1e6",
    "2e6, 0",
    "1",
    "1, 2, 3",
    "x, y",
    "",
    "0.5",
    "-0, -0",
]
SCHEDULES = [
    "constant",
    "step:step_size=100,gamma=0.5",
    "cosine:t_max=500",
    "exp:gamma=0.99",
    "bogus",
    "step:step_size=0",
    "cosine:t_max=-1",
    "",
    "step:gamma=nan",
]
LRS = ["0.1", "1e-3", "0", "-1", "nan", "inf", "1e308", "abc", "", "10", "1e-12", "3"]
BATCHES = ["batch", "1", "16", "batch, 1, 16", "0", "-3", "abc", "", "100000", "1, 2, 3, 4, 5"]
COLUMNS = ["", "x,y", "y,x", "x", "x=a,y=b", "q,r", "x,y,z", "label", "x=x,y=y"]
KEYS = [
    Qt.Key.Key_Space,
    Qt.Key.Key_Left,
    Qt.Key.Key_Right,
    Qt.Key.Key_R,
    Qt.Key.Key_Plus,
    Qt.Key.Key_Minus,
    Qt.Key.Key_E,
    Qt.Key.Key_C,
    Qt.Key.Key_F5,
    Qt.Key.Key_Escape,
    Qt.Key.Key_Return,
    Qt.Key.Key_Question,
    Qt.Key.Key_F1,
    *(getattr(Qt.Key, f"Key_{n}") for n in range(1, 10)),
]


def _csv_files(tmp_path) -> list[str]:
    """CSV files a person might pick: good ones, and ones that cannot be used."""
    rng = random.Random(0)
    files = {
        "line.csv": "x,y\n" + "".join(f"{i / 10},{2 * i / 10 + rng.random()}\n" for i in range(40)),
        "no_y.csv": "x,z\n" + "".join(f"{i},{i * 3}\n" for i in range(20)),
        "named.csv": "a,b,label\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(25)),
        "text.csv": "x,y\n1,2\nthree,4\n5,6\n",
        "empty.csv": "",
        "header_only.csv": "x,y\n",
        "one_row.csv": "x,y\n1,2\n",
        "nan.csv": "x,y\n1,nan\n2,3\ninf,4\n",
        "wide.csv": "x,y,z\n" + "".join(f"{i},{i * i},{-i}\n" for i in range(30)),
        "huge_values.csv": "x,y\n1e308,1e308\n-1e308,2\n3,4\n",
        "binary.csv": "x,y\n\x00\x01\x02,\xff\n",
    }
    paths = []
    for name, text in files.items():
        p = tmp_path / name
        p.write_text(text, encoding="utf-8", errors="surrogateescape")
        paths.append(str(p))
    paths.append(str(tmp_path / "missing.csv"))
    return paths


class Walk:
    """One seeded random walk through the window's actions."""

    def __init__(self, qtbot, window, rng: random.Random, tmp_path) -> None:
        self.qtbot = qtbot
        self.w = window
        self.rng = rng
        self.tmp = tmp_path
        self.csvs = _csv_files(tmp_path)
        self.saved = 0
        self.failures: list[str] = []  # broken promises other than exceptions
        self.actions = [
            (8, self.type_function),
            (10, self.press_key),
            (4, self.click_surface),
            (2, self.drag_surface),
            (2, self.wheel_surface),
            (6, self.runs_buttons),
            (6, self.edit_run),
            (7, self.view_field),
            (3, self.view_checks),
            (3, self.toggle_dataset),
            (6, self.data_controls),
            (2, self.theme),
            (2, self.presentation),
            (3, self.preset),
            (2, self.maps),
            (4, self.timeline),
            (1, self.export_dialog),
            (1, self.save_and_reopen),
            (1, self.menu_action),
            (5, self.wait),
        ]
        # ``GDVIZ_RANDOM_ONLY=toggle_dataset,runs_buttons``: only these actions
        # (to corner a failure the whole walk finds rarely).
        only = [n for n in os.environ.get("GDVIZ_RANDOM_ONLY", "").split(",") if n]
        if only:
            self.actions = [a for a in self.actions if a[1].__name__ in only]
        self.weights = [a[0] for a in self.actions]

    # --------------------------------------------------------------- helpers
    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def edit(self, field: QLineEdit, text: str) -> None:
        """Type ``text`` into ``field`` as a person finishing with Return or leaving it."""
        field.setText(text)
        if self.rng.random() < 0.5:
            QTest.keyClick(field, Qt.Key.Key_Return)
        else:
            field.editingFinished.emit()

    def choose(self, combo, index: int | None = None) -> str:
        """Pick an entry of a combo box as a person does (``activated`` follows)."""
        if combo.count() == 0:
            return "(empty)"
        i = self.rng.randrange(combo.count()) if index is None else index
        combo.setCurrentIndex(i)
        combo.activated.emit(i)
        return combo.itemText(i)

    # --------------------------------------------------------------- actions
    def type_function(self) -> str:
        kind = self.rng.random()
        if kind < 0.3:
            text = self.pick(FUNCTIONS_2D)
        elif kind < 0.45:
            text = self.pick(FUNCTIONS_1D)
        elif kind < 0.65:
            text = self.pick(FUNCTIONS_DATA)
        elif kind < 0.8:
            text = self.pick(FUNCTIONS_BAD)
        else:
            text = self.pick(HOSTILE)[0].replace("MARKER", str(self.tmp / "marker"))
        edit = self.w.editor.edit
        # QTest types ASCII only (other characters abort in Qt's key table).
        if self.rng.random() < 0.3 and len(text) < 40 and text.isascii():
            edit.selectAll()
            QTest.keyClick(edit, Qt.Key.Key_Delete)
            QTest.keyClicks(edit, text)  # the debounce timer compiles it
            if self.rng.random() < 0.5:
                QTest.keyClick(edit, Qt.Key.Key_Return)
        else:
            edit.setText(text)
            QTest.keyClick(edit, Qt.Key.Key_Return)
        return f"type function {text[:60]!r}"

    def press_key(self) -> str:
        key = self.pick(KEYS)
        targets = [self.w.scene, self.w, self.w.editor.edit, self.w.runs_panel.list]
        target = self.pick(targets)
        QTest.keyClick(target, key)
        return f"key {key.name} on {type(target).__name__}"

    def _surface_point(self) -> QPoint:
        view = self.w.scene.surface_view
        r = view.viewport().rect()
        return QPoint(self.rng.randrange(max(r.width(), 1)), self.rng.randrange(max(r.height(), 1)))

    def click_surface(self) -> str:
        view = self.w.scene.surface_view
        pos = self._surface_point()
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        return f"click surface at {pos.x()},{pos.y()}"

    def drag_surface(self) -> str:
        view = self.w.scene.surface_view
        a, b = self._surface_point(), self._surface_point()
        vp = view.viewport()
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
        for k in range(1, 4):
            QTest.mouseMove(vp, a + (b - a) * (k / 3))
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
        return f"drag surface {a.x()},{a.y()} → {b.x()},{b.y()}"

    def wheel_surface(self) -> str:
        view = self.w.scene.surface_view
        pos = QPointF(self._surface_point())
        delta = self.pick([120, -120, 1200, -1200, 6000, -6000])
        event = QWheelEvent(
            pos,
            QPointF(view.viewport().mapToGlobal(pos.toPoint())),
            QPoint(0, 0),
            QPoint(0, delta),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(view.viewport(), event)
        return f"wheel {delta} on surface"

    def runs_buttons(self) -> str:
        panel = self.w.runs_panel
        button = self.pick([panel.add_button, panel.dup_button, panel.remove_button])
        if panel.list.count() and self.rng.random() < 0.5:
            panel.list.setCurrentRow(self.rng.randrange(panel.list.count()))
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        return f"click {button.text()} (row {panel.list.currentRow()})"

    def edit_run(self) -> str:
        panel = self.w.runs_panel
        if panel.list.count() == 0:
            return "edit run: none"
        row = self.rng.randrange(panel.list.count())
        panel.list.setCurrentRow(row)
        QApplication.processEvents()  # the run's fields are shown on the next turn
        what = self.rng.random()
        if what < 0.25:
            return f"run {row}: optimizer {self.choose(panel.optimizer)}"
        if what < 0.5:
            fields = [f for f in panel.params_box.findChildren(QLineEdit) if f.isVisibleTo(panel)]
            if not fields:
                return f"run {row}: no number fields"
            field = self.pick(fields)
            text = self.pick(LRS)
            self.edit(field, text)
            return f"run {row}: {field.accessibleName()} = {text!r}"
        if what < 0.65:
            text = self.pick(SCHEDULES)
            self.edit(panel.schedule, text)
            return f"run {row}: schedule {text!r}"
        if what < 0.8:
            return f"run {row}: colour {self.choose(panel.color)}"
        item = panel.list.item(row)
        checked = item.checkState() == Qt.CheckState.Checked
        item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)
        return f"run {row}: visible {not checked}"

    def view_field(self) -> str:
        vp = self.w.view_panel
        what = self.rng.random()
        if what < 0.55:
            field = self.pick([vp.x_range, vp.y_range])
            text = self.pick(RANGES)
            self.edit(field, text)
            return f"view {field.accessibleName()} {text!r}"
        if what < 0.8:
            text = self.pick(STARTS)
            self.edit(vp.start, text)
            return f"view start {text!r}"
        if what < 0.92:
            value = self.pick([1, 2, 10, 100, 500, 3000, 100_000, 0, -5])
            vp.steps.setValue(value)
            return f"view steps {value}"
        value = self.rng.randrange(0, 80)
        vp.n_contours.setValue(value)
        return f"view contour lines {value}"

    def view_checks(self) -> str:
        vp = self.w.view_panel
        if self.rng.random() < 0.15:
            QTest.mouseClick(vp.reset_view, Qt.MouseButton.LeftButton)
            return "reset zoom"
        name, box = self.pick(list(vp.checks.items()))
        box.click()
        return f"view check {name} → {box.isChecked()}"

    def toggle_dataset(self) -> str:
        box = self.w.data_panel.enable
        box.click()
        return f"dataset mode → {box.isChecked()}"

    def data_controls(self) -> str:
        dp = self.w.data_panel
        what = self.rng.random()
        if what < 0.25:
            path = self.pick(self.csvs)
            self._next_csv = path
            return f"data source {self.choose(dp.source)} (file {os.path.basename(path)})"
        if what < 0.35:
            n = self.pick([2, 3, 10, 200, 5000])
            dp.size.setValue(n)
            return f"data size {n}"
        if what < 0.5:
            text = self.pick(COLUMNS)
            self.edit(dp.columns, text)
            return f"data columns {text!r}"
        if what < 0.65:
            text = self.pick(BATCHES)
            self.edit(dp.batches, text)
            return f"data batches {text!r}"
        if what < 0.72:
            seed = self.rng.randrange(0, 100)
            dp.seed.setValue(seed)
            return f"data seed {seed}"
        if what < 0.8:
            return f"data penalty {self.choose(dp.penalty)}"
        if what < 0.87:
            lam = self.pick([0.0, 0.01, 1.0, 100.0])
            dp.lam.setValue(lam)
            return f"data lambda {lam}"
        if what < 0.94:
            return f"data ring {self.choose(dp.highlight)}"
        path = self.pick(self.csvs)
        self._next_csv = path
        QTest.mouseClick(dp.open_button, Qt.MouseButton.LeftButton)
        return f"data CSV… {os.path.basename(path)}"

    def theme(self) -> str:
        w = self.w
        group = w.theme_actions if self.rng.random() < 0.5 else w.scale_actions
        act = self.pick(group.actions())
        act.trigger()
        return f"menu {act.text()}"

    def presentation(self) -> str:
        cls = self.w.classroom
        if self.rng.random() < 0.6:
            cls.present_action.trigger()
            return f"presentation → {cls.present_action.isChecked()}"
        act = self.pick(cls.present_scale_actions.actions())
        act.trigger()
        return f"presentation size {act.text()}"

    def preset(self) -> str:
        w = self.w
        if self.rng.random() < 0.5:
            return f"preset box {self.choose(w.preset_box)}"
        act = self.pick(w.classroom.lesson_actions)
        act.trigger()
        return f"lesson {act.text()}"

    def maps(self) -> str:
        m = self.w.maps
        what = self.rng.random()
        if what < 0.4:
            act = self.pick(m.menu_actions())
            act.trigger()
            return f"maps {act.text()}"
        panel = m.panel
        if what < 0.7:
            QTest.mouseClick(panel.compute_button, Qt.MouseButton.LeftButton)
            return "maps compute"
        if what < 0.8:
            QTest.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
            return "maps cancel"
        view = panel.view.glw
        r = view.viewport().rect()
        pos = QPoint(self.rng.randrange(max(r.width(), 1)), self.rng.randrange(max(r.height(), 1)))
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
        return f"maps click {pos.x()},{pos.y()}"

    def timeline(self) -> str:
        t = self.w.transport
        what = self.rng.random()
        if what < 0.5:
            value = self.rng.randrange(t.timeline.minimum(), t.timeline.maximum() + 1)
            t.timeline.setValue(value)
            return f"timeline {value}"
        if what < 0.7:
            value = self.rng.randrange(t.speed.minimum(), t.speed.maximum() + 1)
            t.speed.setValue(value)
            return f"speed slider {value}"
        button = self.pick([t.play_button, t.back_button, t.forward_button, t.reset_button])
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        return f"click {button.text()}"

    def export_dialog(self) -> str:
        self.w.export_action.trigger()
        self.qtbot.wait(50)
        dialogs = [d for d in self.w.findChildren(QDialog) if d.isVisible()]
        for d in dialogs:
            d.reject()
        return f"export dialog opened and closed ({len(dialogs)})"

    def save_and_reopen(self) -> str:
        self.saved += 1
        path = self.tmp / f"walk-{self.saved}.gdviz.toml"
        cls = self.w.classroom
        if not cls.save_to(str(path)):
            return f"save {path.name}: refused (message shown)"
        if not self.w.open_session(str(path)):
            self.failures.append(f"{path.name} was saved but does not open again")
            return f"save {path.name}: DOES NOT REOPEN"
        return f"save and reopen {path.name}"

    def menu_action(self) -> str:
        # Every menu entry that opens no modal file dialog.
        skip = ("Open session", "Save session", "Quit", "Open recent")
        acts = [
            a
            for menu in self.w.menuBar().findChildren(QMenu)
            for a in menu.actions()
            if a.text()
            and not a.isSeparator()
            and a.menu() is None
            and not any(s in a.text().replace("&", "") for s in skip)
        ]
        act = self.pick(acts)
        act.trigger()
        return f"menu {act.text()}"

    def wait(self) -> str:
        ms = self.pick([0, 10, 50, 200, 600])
        self.qtbot.wait(ms)
        return f"wait {ms} ms"

    def step(self) -> str:
        _, act = self.rng.choices(self.actions, weights=self.weights)[0]
        return act()


@pytest.mark.slow
@pytest.mark.qt_no_exception_capture
@pytest.mark.timeout(SECONDS * 3 + 120)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_actions_raise_nothing(qtbot, tmp_path, monkeypatch, seed):
    from gdviz.ui.main_window import MainWindow

    errors: list[str] = []
    log: collections.deque[str] = collections.deque(maxlen=SHOWN_ACTIONS)
    current = ["(start)"]

    def hook(kind, value, tb) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        errors.append(f"during {current[0]}:\n{text}")

    monkeypatch.setattr(sys, "excepthook", hook)
    # Errors in Python threads (the compile process's reader) count too.
    monkeypatch.setattr(
        threading, "excepthook", lambda a: hook(a.exc_type, a.exc_value, a.exc_traceback)
    )
    walk_box: list[Walk] = []

    # A person's choice in the file dialogs: a CSV from the list, a file to save.
    def chosen_csv(*_a, **_k):
        return getattr(walk_box[0], "_next_csv", ""), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(chosen_csv))
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        staticmethod(lambda *_a, **_k: (str(tmp_path / "dialog.gdviz.toml"), "")),
    )

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: ready(window), timeout=WAIT)
    window.activateWindow()

    walk = Walk(qtbot, window, random.Random(seed), tmp_path)
    walk_box.append(walk)
    end = time.monotonic() + SECONDS
    count = 0
    try:
        while time.monotonic() < end and (KEEP_GOING or not (errors or walk.failures)):
            current[0] = f"#{count}"
            if TRACE:  # (a crash then shows which action it was in)
                print(f"#{count} starts", file=sys.__stderr__, flush=True)
            try:
                what = walk.step()
            except Exception:  # raised straight out of a public call: the same failure
                kind, value, tb = sys.exc_info()
                hook(kind, value, tb)
                what = "(raised)"
            log.append(f"#{count} {what}")
            if TRACE:
                print(f"#{count} {what}", file=sys.__stderr__, flush=True)
            current[0] = f"#{count} {what}"
            count += 1
            QApplication.processEvents()
    finally:
        window.close()
        qtbot.wait(50)

    if errors or walk.failures:
        lines = "\n".join(log)
        problem = errors[0] if errors else walk.failures[0]
        if KEEP_GOING:
            problem = "\n\n".join(errors + walk.failures)
        pytest.fail(
            f"seed {seed}: after {count} actions, {len(errors)} uncaught exception(s)"
            f" and {len(walk.failures)} other failure(s). Replay with "
            f"GDVIZ_RANDOM_SEED={seed}.\nLast actions:\n{lines}\n\nFirst problem {problem}",
            pytrace=False,
        )
    print(f"seed {seed}: {count} actions in {SECONDS:g} s, no uncaught exception")
