"""A CSV file chosen in the window is read on the compile thread: the window keeps turning.

The data panel says it is reading the file, keeps its data meanwhile, and uses
the file when it arrives, unless something newer was chosen first (another
file, a built-in set, leaving dataset mode). A file that cannot be read shows
its message and changes nothing.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _ui_support import WAIT, Ticks, enter_dataset_mode, started_window
from _ui_support import ready as _ready
from PySide6.QtWidgets import QFileDialog

import gdviz.core.data as data_module
import gdviz.ui.data_panel as data_panel
import gdviz.ui.dataset_mode as dataset_mode
from gdviz.core.dataset_loss import DatasetLoss


@pytest.fixture
def window(qtbot):
    w = enter_dataset_mode(qtbot, started_window(qtbot))
    assert isinstance(w.loss, DatasetLoss)
    return w


def _csv(tmp_path, name, rows=3, cols=("a", "b")):
    p = tmp_path / name
    body = "".join(",".join(str(i * (k + 1)) for k in range(len(cols))) + "\n" for i in range(rows))
    p.write_text(",".join(cols) + "\n" + body)
    return str(p)


def _slow_reader(monkeypatch, seconds=1.5):
    """Make reading a file cost ``seconds`` of Python work holding the interpreter lock."""
    real = data_panel.load_csv

    def slow(path, columns=None, **kw):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
        return real(path, columns, **kw)

    monkeypatch.setattr(data_panel, "load_csv", slow)


@pytest.fixture
def gates():
    """Events that hold reads on the compile thread; all let go when the test ends."""
    made: list[threading.Event] = []
    yield made
    for gate in made:
        gate.set()


def _gated_reader(monkeypatch, gates, gated_name):
    """Reading the file called ``gated_name`` waits for the returned event."""
    real = data_panel.load_csv
    gate = threading.Event()
    gates.append(gate)

    def gated(path, columns=None, **kw):
        if path.endswith(gated_name):
            assert gate.wait(WAIT / 1000)
        return real(path, columns, **kw)

    monkeypatch.setattr(data_panel, "load_csv", gated)
    return gate


def _spy_datasets(monkeypatch, panel) -> list[str]:
    used: list[str] = []
    real = panel.set_dataset

    def spy(dataset):
        used.append(dataset.name)
        return real(dataset)

    monkeypatch.setattr(panel, "set_dataset", spy)
    return used


def test_a_slow_file_leaves_the_window_turning(qtbot, window, tmp_path, monkeypatch):
    panel = window.data_panel
    path = _csv(tmp_path, "slow.csv", rows=20)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (path, "CSV files"))
    _slow_reader(monkeypatch, 1.5)
    before = panel.dataset
    ticks = Ticks()
    qtbot.wait(50)
    panel.columns.setText("x=a,y=b")
    panel.open_button.click()  # Browse…
    assert panel.reading_csv and not panel.reading.isHidden()
    assert panel.reading.text() == "reading slow.csv…"
    assert panel.dataset is before  # the old data stays until the file is there
    qtbot.waitUntil(lambda: panel.dataset is not before, timeout=WAIT)
    gap = ticks.stop()
    # Read on this thread the window froze for the whole 1.5 s.
    assert gap < 0.5, f"the GUI thread stalled {gap:.2f} s"
    assert panel.dataset.name == "slow.csv" and panel.dataset.names == ("x", "y")
    assert panel.dataset.n == 20 and panel.reading.isHidden() and not panel.reading_csv
    assert panel.source.currentData() == "csv"
    # The window compiles the loss over the new data.
    qtbot.waitUntil(lambda: _ready(window) and window.loss.dataset is panel.dataset, timeout=WAIT)


def test_a_big_file_read_cell_by_cell_leaves_the_window_turning(
    qtbot, window, tmp_path, monkeypatch
):
    panel = window.data_panel
    path = tmp_path / "big.csv"
    xy = np.random.default_rng(1).normal(size=(300_000, 2))
    np.savetxt(path, xy, fmt="%.6f", delimiter=",", header="x,y", comments="")
    # The exact reader: pure Python, holding the interpreter lock between cells.
    monkeypatch.setattr(data_module, "_fast_columns", lambda *a, **k: None)
    before = panel.dataset
    ticks = Ticks()
    qtbot.wait(50)
    panel.choose_csv(str(path))
    qtbot.waitUntil(lambda: panel.dataset is not before, timeout=WAIT)
    gap = ticks.stop()
    assert gap < 0.5, f"the GUI thread stalled {gap:.2f} s"
    assert panel.dataset.n == 300_000
    np.testing.assert_array_equal(panel.dataset.column("y"), np.round(xy[:, 1], 6))


def test_a_newer_file_wins(qtbot, window, tmp_path, monkeypatch, gates):
    panel = window.data_panel
    first, second = _csv(tmp_path, "first.csv"), _csv(tmp_path, "second.csv", rows=5)
    gate = _gated_reader(monkeypatch, gates, "first.csv")
    used = _spy_datasets(monkeypatch, panel)
    panel.choose_csv(first, "x=a,y=b")
    panel.choose_csv(second, "x=a,y=b")
    assert panel.reading.text() == "reading second.csv…"
    gate.set()
    qtbot.waitUntil(lambda: panel.dataset.name == "second.csv", timeout=WAIT)
    qtbot.waitUntil(lambda: not window.computer.busy, timeout=WAIT)
    assert used == ["second.csv"]  # the first file was read, and dropped
    assert panel.reading.isHidden()


def test_a_builtin_chosen_meanwhile_wins(qtbot, window, tmp_path, monkeypatch, gates):
    panel = window.data_panel
    gate = _gated_reader(monkeypatch, gates, "late.csv")
    used = _spy_datasets(monkeypatch, panel)
    panel.choose_csv(_csv(tmp_path, "late.csv"), "x=a,y=b")
    panel.source.setCurrentIndex(panel.source.findData("classes"))
    panel.source.activated.emit(panel.source.currentIndex())
    assert panel.dataset.name == "classes" and not panel.reading_csv
    assert panel.reading.isHidden()
    gate.set()
    qtbot.waitUntil(lambda: not window.computer.busy, timeout=WAIT)
    qtbot.wait(100)
    assert used == ["classes"] and panel.dataset.name == "classes"
    assert panel.source.currentData() == "classes"


def test_leaving_dataset_mode_drops_the_file(qtbot, window, tmp_path, monkeypatch, gates):
    panel = window.data_panel
    gate = _gated_reader(monkeypatch, gates, "gone.csv")
    before = panel.dataset
    panel.choose_csv(_csv(tmp_path, "gone.csv"), "x=a,y=b")
    panel.set_enabled(False)
    assert not panel.reading_csv
    gate.set()
    qtbot.waitUntil(lambda: not window.computer.busy, timeout=WAIT)
    qtbot.wait(100)
    assert panel.dataset is before and not panel.enabled


def test_a_bad_file_shows_the_message_and_keeps_the_data(qtbot, window, tmp_path):
    panel = window.data_panel
    good = _csv(tmp_path, "good.csv", rows=4)
    panel.choose_csv(good, "x=a,y=b")
    qtbot.waitUntil(lambda: panel.dataset.name == "good.csv", timeout=WAIT)
    before = panel.dataset
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    panel.choose_csv(str(bad))
    assert panel.reading_csv
    qtbot.waitUntil(lambda: not panel.error.isHidden(), timeout=WAIT)
    assert panel.error.text() == f"{bad}: line 3, column 'y': 'oops' is not a number"
    assert panel.dataset is before and panel.reading.isHidden() and not panel.reading_csv
    # The columns box re-reads the file of the current data, not the bad one.
    panel.columns.setText("x=b,y=a")
    panel.columns.editingFinished.emit()
    assert panel.reading.text() == "reading good.csv…"
    qtbot.waitUntil(lambda: panel.dataset is not before, timeout=WAIT)
    np.testing.assert_array_equal(panel.dataset.column("x"), before.column("y"))
    assert panel.error.isHidden()


def test_a_failure_that_is_no_data_error_becomes_a_message(qtbot, window, tmp_path, monkeypatch):
    panel = window.data_panel

    def broken(path, columns=None, **kw):
        raise MemoryError("out of memory")

    # The window reads CSV files through dataset mode, on the compile thread.
    monkeypatch.setattr(dataset_mode, "load_csv", broken)
    before = panel.dataset
    path = _csv(tmp_path, "huge.csv")
    panel.choose_csv(path)
    qtbot.waitUntil(lambda: not panel.error.isHidden(), timeout=WAIT)
    assert panel.error.text() == f"{path}: cannot read it (out of memory)"
    assert panel.dataset is before


def test_without_a_reader_the_panel_reads_at_once(qtbot, tmp_path):
    from gdviz.ui.theme import get_theme

    panel = data_panel.DataPanel(get_theme("dark"))
    qtbot.addWidget(panel)
    panel.choose_csv(_csv(tmp_path, "now.csv"), "x=a,y=b")
    assert panel.dataset.name == "now.csv" and not panel.reading_csv
