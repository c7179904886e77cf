"""Dataset mode compiles on the compile thread: the window keeps turning.

A per-sample loss is compiled with :meth:`gdviz.ui.compute.Computer.request_call`
under the same generations as a plain loss: only the newest compile of either
kind is shown, a stale one never lands, and a hostile one is stopped with a
message while the GUI thread goes on handling events.
"""

from __future__ import annotations

import threading

import pytest
from _ui_support import SLOW, WAIT, Ticks, enter_dataset_mode, started_window
from _ui_support import ready as _ready

from gdviz.core.dataset_loss import DatasetLoss


@pytest.fixture
def computer(qtbot):
    from gdviz.ui.compute import Computer

    c = Computer()
    yield c
    c.shutdown()


@pytest.fixture
def window(qtbot):
    return started_window(qtbot)


@pytest.fixture
def dataset_window(qtbot, window):
    enter_dataset_mode(qtbot, window)
    assert isinstance(window.loss, DatasetLoss)
    return window


def _spy_set_loss(monkeypatch, panel) -> list[str]:
    """Record the text of every loss the panel is given."""
    shown: list[str] = []
    real = panel.set_loss

    def spy(loss, *args):
        shown.append(loss.text)
        return real(loss, *args)

    monkeypatch.setattr(panel, "set_loss", spy)
    return shown


# --------------------------------------------------------------------------- the computer


def test_a_call_runs_on_the_compile_thread_and_reports_back(qtbot, computer):
    names = []

    def job():
        names.append(threading.current_thread().name)
        return 42

    with qtbot.waitSignal(computer.called, timeout=WAIT) as sig:
        gen = computer.request_call(job)
        assert computer.busy_compiling
    assert sig.args == [gen, 42]
    assert not computer.busy_compiling
    assert names and names[0] != threading.main_thread().name

    def broken():
        raise RuntimeError("boom")

    with qtbot.waitSignal(computer.callFailed, timeout=WAIT) as sig:
        gen = computer.request_call(broken)
    assert sig.args[0] == gen and isinstance(sig.args[1], RuntimeError)
    assert str(sig.args[1]) == "boom" and not computer.busy_compiling


def test_plain_and_called_compiles_share_one_order(qtbot, computer):
    """Whichever kind was asked for last is the only one delivered."""
    got = []
    computer.compiled.connect(lambda gen, loss, _p: got.append(("compiled", gen, loss.text)))
    computer.called.connect(lambda gen, result: got.append(("called", gen, result)))
    release = threading.Event()

    # A call, then a plain compile: the call's result is stale when it arrives.
    computer.request_call(lambda: release.wait(WAIT / 1000) and "old call")
    plain = computer.request_compile("x^2 + y^2", timeout=None)
    release.set()
    qtbot.waitUntil(lambda: not computer.busy_compiling, timeout=WAIT)
    qtbot.wait(100)
    assert got == [("compiled", plain, "x^2 + y^2")]

    # A plain compile, then a call: the plain loss never lands.
    got.clear()
    release.clear()
    first = computer.request_call(lambda: release.wait(WAIT / 1000) and "blocker")
    computer.request_compile("x^4", timeout=None)  # queued behind the blocker
    call = computer.request_call(lambda: "newest")
    assert call > first and computer.busy_compiling
    release.set()
    qtbot.waitUntil(lambda: not computer.busy_compiling, timeout=WAIT)
    qtbot.wait(100)
    assert got == [("called", call, "newest")]


def test_a_call_that_is_no_compile_is_always_delivered(qtbot, computer):
    """Checking a file is no compile: a later compile neither cancels it nor is cancelled."""
    got = []
    computer.compiled.connect(lambda gen, loss, _p: got.append(("compiled", gen, loss.text)))
    computer.called.connect(lambda gen, result: got.append(("called", gen, result)))
    release = threading.Event()
    check = computer.request_call(lambda: release.wait(WAIT / 1000) and "file", compile=False)
    assert computer.busy and not computer.busy_compiling
    plain = computer.request_compile("x^2 + y^2", timeout=None)
    release.set()
    qtbot.waitUntil(lambda: not computer.busy, timeout=WAIT)
    qtbot.wait(100)
    # In the order asked for: the compile thread runs one thing at a time.
    assert got == [("called", check, "file"), ("compiled", plain, "x^2 + y^2")]


# --------------------------------------------------------------------------- the window


def test_hostile_dataset_loss_leaves_the_window_turning(qtbot, dataset_window, monkeypatch):
    import gdviz.ui.compute as compute

    w = dataset_window
    good, good_traj = w.loss, w.trajectory
    monkeypatch.setattr(compute, "COMPILE_TIMEOUT", 1.5)
    ticks = Ticks()
    qtbot.wait(50)
    w.editor.set_text(SLOW)
    assert w.computer.busy_compiling  # on its way, not done in set_text
    qtbot.waitUntil(w.editor.has_error, timeout=WAIT)
    gap = ticks.stop()
    # Compiled in this thread the window froze for the whole 1.5 s time limit;
    # 0.5 s is generous for a slow machine (a few ms were measured).
    assert gap < 0.5, f"the GUI thread stalled {gap:.2f} s"
    assert "took longer than 1.5 s and was stopped" in w.editor.error.text()
    assert w.loss is good and w.data_panel.loss is good
    assert not w.computer.busy_compiling
    qtbot.wait(200)
    assert w.trajectory is good_traj  # nothing recomputed behind the message


def test_only_the_last_of_two_quick_dataset_losses_is_shown(qtbot, dataset_window, monkeypatch):
    w = dataset_window
    shown = _spy_set_loss(monkeypatch, w.data_panel)
    old = w.trajectory
    w.editor.set_text("abs(w*x + b - y)")
    w.editor.set_text("(w*x + b - y)^4")
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    qtbot.wait(200)  # the first one's result, had it come, would be here by now
    assert shown == ["(w*x + b - y)^4"]
    assert w.loss.text == "(w*x + b - y)^4" and w.data_panel.loss is w.loss
    assert w.session.function == "(w*x + b - y)^4"
    assert "ℓᵢ = " in w.editor.math.text() and "⁴" in w.editor.math.text()


def test_switching_off_drops_a_dataset_compile_on_its_way(qtbot, window, monkeypatch):
    w = window
    plain_text, plain_runs = w.session.function, w.session.runs
    old = w.trajectory
    w.data_panel.set_enabled(True)
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    shown = _spy_set_loss(monkeypatch, w.data_panel)
    w.editor.set_text("abs(w*x + b - y)")
    assert w.computer.busy_compiling
    old = w.trajectory
    w.data_panel.set_enabled(False)
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    qtbot.wait(200)
    assert shown == []
    assert not isinstance(w.loss, DatasetLoss) and w.loss.text == plain_text
    assert w.data_panel.loss is None and w.editor.text() == plain_text
    assert w.session.runs == plain_runs and w.editor.prompt.text() != "ℓᵢ ="


def test_a_plain_compile_never_lands_after_a_newer_dataset_one(qtbot, window, monkeypatch):
    w = window
    compiled = []
    w.computer.compiled.connect(lambda _g, loss, _p: compiled.append(loss.text))
    # A typed plain function goes to the compile process; dataset mode is
    # switched on before it is back.
    w.editor.set_text("x^2 + 3y^2 + sin(x)")
    assert w.computer.busy_compiling
    old = w.trajectory
    w.data_panel.set_enabled(True)
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    qtbot.wait(200)
    assert compiled == []
    assert isinstance(w.loss, DatasetLoss) and w.loss.text == "(w*x + b - y)^2"
    assert w.session.function == "(w*x + b - y)^2"


def test_a_failure_that_is_no_expression_error_becomes_a_message(
    qtbot, dataset_window, monkeypatch
):
    from gdviz.core import dataset_loss

    w = dataset_window
    good, good_traj = w.loss, w.trajectory

    def broken(*_a, **_k):
        raise RuntimeError("the data went away")

    monkeypatch.setattr(dataset_loss, "compile_dataset_loss", broken)
    w.editor.set_text("abs(w*x + b - y)")
    qtbot.waitUntil(w.editor.has_error, timeout=WAIT)
    assert "could not compile: the data went away" in w.editor.error.text()
    assert w.loss is good and w.data_panel.loss is good and w.trajectory is good_traj
    assert not w.computer.busy_compiling
