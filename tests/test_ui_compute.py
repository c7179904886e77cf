"""The computer's time slices: every slice moves the runs on, however late it starts."""

from __future__ import annotations

import gdviz.ui.compute as compute
from gdviz.core.engine import RunConfig
from gdviz.core.loss import compile_loss
from gdviz.ui.compute import Computer, RunRequest


def test_a_slice_that_starts_late_still_advances(qtbot, monkeypatch):
    # A loaded machine can hold the thread past the whole slice before its
    # first step; the slice must still take a step, not fail on an empty slice.
    monkeypatch.setattr(compute, "SLICE_SECONDS", 0.0)
    c = Computer()
    loss = compile_loss("x^2 + 3y^2")
    cfg = RunConfig("gd", {"lr": 0.01}, (2.0, 1.0))
    results = []
    c.computed.connect(lambda _g, traj, done: results.append((traj, done)))
    c.computeFailed.connect(lambda _g, msg: results.append((None, msg)))
    with qtbot.captureExceptions() as exceptions:
        c.request_run(RunRequest(loss, [cfg], 200))
        qtbot.waitUntil(lambda: bool(results) and results[-1][1] is True, timeout=20_000)
    c.shutdown()
    assert exceptions == []
    traj, _done = results[-1]
    assert traj.positions.shape[0] == 201
