"""Dataset mode in the window: the data panel, then switching the window over and back."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.engine import RunConfig, run
from gdviz.ui.data_panel import DataPanel, dataset_pretty
from gdviz.ui.theme import get_theme


@pytest.fixture
def panel(qtbot):
    p = DataPanel(get_theme("dark"))
    qtbot.addWidget(p)
    return p


def test_switch_shows_controls_and_signals(panel, qtbot):
    assert not panel.enabled and panel.controls.isHidden()
    with qtbot.waitSignal(panel.modeChanged) as sig:
        panel.set_enabled(True)
    assert sig.args == [True]
    assert not panel.controls.isHidden()


def test_compile_runs_and_draws_model_and_batch(panel):
    panel.set_enabled(True)
    panel.batches.setText("batch, 1, 4")
    loss = panel.compile("(w*x + b - y)^2")
    assert loss.variables == ("w", "b")
    panel.set_loss(loss)
    assert "data: x, y" in panel.roles.text()
    assert "model: y ≈ b + w*x" in panel.info.text()
    obj = panel.objective(3)
    assert [obj.variant(k) for k in range(3)] == ["batch", "stochastic", "mini-batch"]
    traj = run(obj, [RunConfig("gd", {"lr": 0.05}, (0.0, 0.0))] * 3, 20)
    panel.set_runs(traj, ["#ff0000", "#00ff00", "#0000ff"], ["a", "b", "c"], log_loss=False)
    assert panel.highlight.currentData() == 1  # the first run that samples
    panel.show_step(7)
    # Each model line is w·x + b at the run's parameters at step 7.
    xs, ys = panel.model_items[2].getData()
    w, b = traj.positions[7, 2]
    np.testing.assert_allclose(ys, w * xs + b, rtol=1e-12)
    # The ringed samples are run 1's batch at step 7.
    bx, by = panel.batch_marks.getData()
    idx = obj.batch_indices(1, 7)
    np.testing.assert_array_equal(bx, panel.dataset.column("x")[idx])
    np.testing.assert_array_equal(by, panel.dataset.column("y")[idx])
    # Steps and epochs: after 7 steps batch has seen 7 epochs, b=1 7/100, b=4 28/100.
    assert panel.epochs.text() == "epochs after step 7: 1: 7 · 2: 0.07 · 3: 0.28"
    panel.highlight.setCurrentIndex(0)
    panel.show_step(7)
    assert len(panel.batch_marks.getData()[0]) == 0  # batch run: nothing singled out
    pretty = dataset_pretty(loss)
    assert "ℓᵢ = " in pretty and "xᵢ" in pretty and "(1/100) Σᵢ" in pretty


def test_sigmoid_for_two_classes(panel):
    panel.set_enabled(True)
    assert panel.load_builtin("classes", 50)
    panel.set_loss(panel.compile("log(1 + exp(-y*(w*x + b)))"))
    assert panel.model.link == "sigmoid"
    _x, y = panel._xy()
    assert set(np.unique(y)) == {0.0, 1.0}  # labels ±1 drawn at 0 and 1


def test_big_non_polynomial_data_draws_its_surface_from_a_subset(panel):
    from gdviz.ui.data_panel import SURFACE_MAX_SAMPLES, surface_loss

    panel.set_enabled(True)
    assert panel.load_builtin("classes", 3 * SURFACE_MAX_SAMPLES)
    loss = panel.compile("log(1 + exp(-y*(w*x + b)))")
    panel.set_loss(loss)
    shown = surface_loss(loss)
    assert shown.n == SURFACE_MAX_SAMPLES and loss.n == 3 * SURFACE_MAX_SAMPLES
    assert "surface drawn from" in panel.info.text()
    assert panel.objective(1).loss is loss  # the runs use every sample
    squared = panel.compile("(w*x + b - y)^2")
    assert surface_loss(squared) is squared  # statistics: the whole data is cheap


def test_bad_csv_changes_nothing(panel, tmp_path):
    panel.set_enabled(True)
    before = panel.dataset
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n3,oops\n")
    assert not panel.load_csv(str(bad))
    assert panel.dataset is before
    assert "line 3, column 'y': 'oops' is not a number" in panel.error.text()
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,2\n3,5\n")
    assert panel.load_csv(str(good), "x=a,y=b")
    assert panel.dataset.names == ("x", "y") and panel.error.isHidden()


def test_bad_batch_sizes_are_explained(panel):
    panel.batches.setText("1, zero")
    with pytest.raises(ValueError, match="batch size 'zero'"):
        panel.batch_sizes(2)
    panel.batches.setText("1, 2")
    assert panel.batch_sizes(3) == [1, 2, 2]  # the last size holds for further runs
    assert panel.batch_sizes(1) == [1]
    panel.batches.setText("")
    assert panel.batch_sizes(2) == [None, None]


def test_builtin_choice_shows_in_the_controls(panel):
    assert panel.load_builtin("outliers", 40)
    assert panel.source.currentData() == "outliers" and panel.size.value() == 40
    assert panel.dataset.n == 40
    assert not panel.load_builtin("nope")
    assert panel.dataset.name == "outliers" and "no built-in dataset" in panel.error.text()


# --------------------------------------------------------------------------- the window

WAIT = 30_000  # ms; generous: only catches hangs, never measures speed


def _ready(w):
    return w.trajectory is not None and w.complete and not w.computer.busy


@pytest.fixture
def window(qtbot):
    from gdviz.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: _ready(w), timeout=WAIT)
    return w


def _wait_new(qtbot, w, old):
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)


def test_window_switches_to_dataset_mode_and_back(qtbot, window):
    from gdviz.core.dataset_loss import DatasetLoss

    plain_text, plain_loss, old = window.session.function, window.loss, window.trajectory
    plain_runs = window.session.runs
    window.data_panel.set_enabled(True)
    _wait_new(qtbot, window, old)
    # It opens on the race it is for: batch, stochastic and mini-batch descent.
    assert window.data_panel.batches.text() == "batch, 1, 16"
    assert [r.optimizer for r in window.session.runs] == ["gd"] * 3
    assert window.runs_panel.runs() == window.session.runs
    window.data_panel.batches.setText("batch, 1, 8")
    window.data_panel.batches.editingFinished.emit()
    old = window.trajectory
    _wait_new(qtbot, window, old)
    loss = window.loss
    assert isinstance(loss, DatasetLoss) and loss.variables == ("w", "b")
    assert window.editor.text() == "(w*x + b - y)^2"
    assert "ℓᵢ = " in window.editor.math.text() and "data: x, y" in window.editor.math.text()
    # The surface is L(w, b), the mean over the data, not the per-sample f typed.
    assert window.scene.colorbar.axis.labelText in ("L", "log₁₀(L − min)")
    traj = window.trajectory
    k = len(window.session.runs)
    assert traj.positions.shape[1:] == (k, 2)
    obj = window.data_panel._objective
    sizes = window.data_panel.batch_sizes(k)
    # Every run's gradient is the mean per-sample gradient of the batch it used.
    for r in range(k):
        assert obj.batch_sizes[r] == sizes[r]
        for t in (0, 5, traj.last_row(r)):
            idx = obj.batch_indices(r, t)
            expect = loss.sample_grads(traj.positions[t, r], idx).mean(axis=0)
            np.testing.assert_allclose(traj.grads[t, r], expect, rtol=1e-9, atol=1e-12)
    # The surface is the full-data loss; the loss plot has a dashed full-loss curve per run.
    rows, full = window.data_panel.full_losses()
    np.testing.assert_allclose(full, loss.value(traj.positions[rows]), rtol=1e-12)
    assert len(window.data_panel._full_items) == k
    assert all(item in window.scene.loss_plot.items for item in window.data_panel._full_items)
    # The table's loss is over all the data (the mini-batch loss of a
    # stochastic step would flatter it), the same as the dashed curves.
    window.player.seek(5)
    window.stats.show_step(5)
    for r in range(k):
        shown = float(window.stats.row_text(r)["loss"])
        assert shown == pytest.approx(float(loss.value(traj.positions[5, r])), rel=1e-3)
    assert sizes[1] == 1 and not np.isclose(traj.losses[5, 1], loss.value(traj.positions[5, 1]))
    # Stepping moves the model lines, and the dashed curves grow with the step.
    window.player.seek(3)
    assert len(window.data_panel._full_items[0].getData()[0]) == 4  # steps 0..3
    xs, ys = window.data_panel.model_items[0].getData()
    w, b = traj.positions[3, 0]
    np.testing.assert_allclose(ys, w * xs + b, rtol=1e-12)

    # A bad per-sample loss: message, the last good stays.
    window.editor.set_text("(w*x + b - z)^2")
    qtbot.waitUntil(window.editor.has_error, timeout=WAIT)
    assert "unknown name 'z'" in window.editor.error.text()
    assert window.loss is loss

    # Back: the plain function, its runs, no dataset items left in the loss plot.
    old = window.trajectory
    full_items = list(window.data_panel._full_items)
    window.data_panel.set_enabled(False)
    _wait_new(qtbot, window, old)
    assert window.loss is not loss and window.loss.text == plain_text
    assert window.loss.variables == plain_loss.variables
    assert window.editor.text() == plain_text
    assert window.session.runs == plain_runs
    assert not any(item in window.scene.loss_plot.items for item in full_items)
    assert window.data_panel.controls.isHidden()
    assert window.scene.colorbar.axis.labelText in ("f", "log₁₀(f − min)")


def test_window_dataset_settings_recompute(qtbot, window):
    window.data_panel.set_enabled(True)
    _wait_new(qtbot, window, None)
    first = window.trajectory
    window.data_panel.batches.setText("1")
    window.data_panel.batches.editingFinished.emit()
    _wait_new(qtbot, window, first)
    obj = window.data_panel._objective
    assert all(obj.batch_sizes[r] == 1 for r in range(len(window.session.runs)))
    second = window.trajectory
    window.data_panel.seed.setValue(5)
    _wait_new(qtbot, window, second)
    assert not np.array_equal(window.trajectory.positions, second.positions)
    # Another dataset recompiles; a preset leaves dataset mode.
    third = window.trajectory
    assert window.data_panel.load_builtin("classes", 60)  # the suggested loss follows the data
    _wait_new(qtbot, window, third)
    assert window.editor.text() == "log(1 + exp(-y*(w*x + b)))"
    assert window.loss.dataset.name == "classes" and window.data_panel.model.link == "sigmoid"
    fourth = window.trajectory
    window.load_preset("rosenbrock")
    _wait_new(qtbot, window, fourth)
    assert not window.data_panel.enabled and window.loss.variables == ("x", "y")


def test_samples_are_redrawn_only_when_they_change(panel, monkeypatch):
    # A new loss over the same data shows the same points: the scatter (slow to
    # restyle in pyqtgraph) is left alone; new data or a new theme redraw it.
    panel.set_enabled(True)
    calls = []
    real = panel.samples.setData

    def spy(*args, **kwargs):
        calls.append(len(args[0]) if args else 0)
        return real(*args, **kwargs)

    monkeypatch.setattr(panel.samples, "setData", spy)
    panel.set_loss(panel.compile("(w*x + b - y)^2"))
    first = len(calls)
    panel.set_loss(panel.compile("abs(w*x + b - y)"))
    assert len(calls) == first
    x, _ = panel.samples.getData()
    np.testing.assert_array_equal(x, panel.dataset.column("x"))
    panel.set_theme(get_theme("light"))
    assert len(calls) == first + 1
    assert panel.load_builtin("outliers", 150)
    panel.set_loss(panel.compile("abs(w*x + b - y)"))
    assert calls[-1] == 150
    x, _ = panel.samples.getData()
    np.testing.assert_array_equal(x, panel.dataset.column("x"))
