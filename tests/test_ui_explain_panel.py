"""The explain panel shows the trajectory's own numbers for the chosen run and step."""

from __future__ import annotations

import numpy as np

from gdviz.core.engine import RunConfig, run
from gdviz.core.explain import fmt
from gdviz.core.loss import compile_loss
from gdviz.core.session import RunSpec
from gdviz.ui.explain_panel import ExplainPanel
from gdviz.ui.theme import LIGHT


def _setup(qtbot):
    loss = compile_loss("x^2 + 3y^2")
    runs = (RunSpec("gd", {"lr": 0.1}), RunSpec("adam", {"lr": 0.05}))
    configs = [RunConfig(r.optimizer, dict(r.params), (-1.5, 1.0)) for r in runs]
    traj = run(loss, configs, 50)
    panel = ExplainPanel(LIGHT)
    qtbot.addWidget(panel)
    panel.resize(420, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_runs(traj, runs, ["1. <b>gd</b>", "2. adam"], loss)
    return panel, traj


def test_panel_follows_step_and_run(qtbot) -> None:
    panel, traj = _setup(qtbot)
    panel.set_step(12)
    ex = panel.explanation
    assert ex.run == 0 and ex.step == 12
    assert np.array_equal(ex.values["theta_next"], traj.positions[12, 0])
    text = panel.body.text()
    for x in traj.positions[12, 0]:
        assert fmt(x) in text
    # The label is data: it is shown escaped, never as markup.
    assert "&lt;b&gt;gd&lt;/b&gt;" in text
    panel.run_box.setCurrentIndex(1)
    panel.run_box.activated.emit(1)
    ex = panel.explanation
    assert ex.run == 1 and "m̂₁₁" in [line.lhs for line in ex.lines]
    assert np.array_equal(ex.values["m_hat"], traj.state["m_hat"][11, 1])


def test_panel_throttles_while_playing_and_is_exact_when_paused(qtbot) -> None:
    panel, _traj = _setup(qtbot)
    panel.set_step(5)
    assert panel.explanation.step == 5
    panel.set_step(6, playing=True)  # within the interval: not redrawn yet
    assert panel.explanation.step == 5
    panel.set_step(7)
    assert panel.explanation.step == 7


def test_hidden_panel_draws_when_shown(qtbot) -> None:
    panel, _traj = _setup(qtbot)
    panel.hide()
    panel.set_step(9)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.explanation.step == 9


def test_no_runs(qtbot) -> None:
    panel = ExplainPanel(LIGHT)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_step(3)
    assert panel.explanation is None
    assert "No runs" in panel.body.text()
