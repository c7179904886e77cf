"""Per-sample losses compiled in the killable compile worker.

``compile_dataset_loss(..., timeout=...)`` sends only the text and the
dataset's name and column names to the same worker process that compiles plain
losses. It must give the very same loss as compiling here, the same messages,
and stop a hostile loss without freezing anything.
"""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
from _ui_support import SLOW, WAIT
from _ui_support import ready as _ready

import gdviz.core.dataset_loss as dataset_loss
import gdviz.core.loss as loss_module
from gdviz.core.data import Dataset, make_builtin
from gdviz.core.dataset_loss import DatasetLoss, Penalty, compile_dataset_loss
from gdviz.core.expression import ExpressionError
from gdviz.core.loss import compile_loss, shutdown_worker, warm_up

LINE = make_builtin("line", n=80, seed=3)
CLS = make_builtin("classes", n=80, seed=3)
# Weird headers: one column no expression can name, one named like a parameter.
ODD = Dataset(
    "odd.csv",
    {
        "x": np.linspace(-1.0, 1.0, 50),
        "price ($)": np.linspace(2.0, 3.0, 50),
        "y": np.cos(np.linspace(0.0, 3.0, 50)),
    },
)


@pytest.fixture
def worker():
    warm_up()
    yield
    shutdown_worker()


def _forbid_in_process(monkeypatch) -> None:
    """Make compiling in this process fail, so a passing test proves the worker compiled.

    The worker is a separate interpreter: the patch does not reach it.
    """

    def refuse(*_args):
        raise AssertionError("compiled in-process, not in the worker")

    monkeypatch.setattr(dataset_loss, "_compile_blob", refuse)


def _points(k: int = 7) -> np.ndarray:
    rng = np.random.default_rng(5)
    return rng.uniform(-2.0, 2.0, size=(k, 2))


# --------------------------------------------------------------------------- #
# Same loss as in-process
# --------------------------------------------------------------------------- #

SAME = {
    # statistics path, affine path, chunked path, one parameter, a penalty
    "squared": ("(w*x + b - y)^2", LINE, {"parameters": ("w", "b")}),
    "logistic": ("log(1 + exp(-y*(w*x + b)))", CLS, {"penalty": Penalty("l2", 0.1)}),
    "chunked": ("cosh(w*x - b) * y^2 + abs(b)", LINE, {"penalty": Penalty("l1", 0.05)}),
    "swapped": ("(w*x + b - y)^2", LINE, {"parameters": ["b", "w"]}),
    "one": ("(w*x - y)^2 + sin(w)", ODD, {}),
}


@pytest.mark.parametrize("case", SAME)
def test_worker_gives_the_same_dataset_loss(worker, monkeypatch, case):
    text, data, kw = SAME[case]
    here = compile_dataset_loss(text, data, **kw)
    assert isinstance(here._blob["exprs"], tuple)
    _forbid_in_process(monkeypatch)
    there = compile_dataset_loss(text, data, timeout=60, **kw)
    assert isinstance(there, DatasetLoss)
    # The worker's expressions arrive pickled and are only rebuilt on demand.
    assert isinstance(there._blob["exprs"], bytes)
    assert there.sources == here.sources
    assert there.variables == here.variables and there.data_names == here.data_names
    assert there.dataset is data and there.n == here.n
    assert (there.uses_statistics, there.uses_affine) == (here.uses_statistics, here.uses_affine)
    for attr in ("latex", "grad_latex", "hess_latex", "sample_latex"):
        assert getattr(there, attr) == getattr(here, attr)
    p = _points()[:, : here.dim]
    np.testing.assert_array_equal(there.value(p), here.value(p))
    np.testing.assert_array_equal(there.grad(p), here.grad(p))
    np.testing.assert_array_equal(there.hess(p), here.hess(p))
    np.testing.assert_array_equal(there.sample_grads(p[0]), here.sample_grads(p[0]))
    idx = np.arange(0, data.n, 3)
    for a, b in zip(
        there.batch_value_and_grad(p[:2], idx), here.batch_value_and_grad(p[:2], idx), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert there.expr == here.expr
    assert there.grad_exprs == here.grad_exprs and there.hess_exprs == here.hess_exprs
    # A subset shares the blob and still finds the expressions.
    assert there.subset([0, 1, 2]).expr == here.expr


def test_only_names_travel_to_the_worker(worker, monkeypatch):
    _forbid_in_process(monkeypatch)
    big = make_builtin("line", n=200_000, seed=1)
    sent = []
    real_send = loss_module._Worker.send

    def spy(self, message):
        sent.append(message)
        return real_send(self, message)

    monkeypatch.setattr(loss_module._Worker, "send", spy)
    loss = compile_dataset_loss("(w*x + b - y)^2", big, timeout=60)
    assert loss.n == 200_000
    assert sent == [("dataset", ("(w*x + b - y)^2", big.name, ("x", "y"), None))]
    assert len(pickle.dumps(sent[0])) < 1000  # the 3.2 MB of data stay here


# --------------------------------------------------------------------------- #
# Errors: same message from the worker as in-process
# --------------------------------------------------------------------------- #

ERRORS = {
    "unknown column": ("(w*x + b - z)^2", LINE, ("w", "b"), "unknown name 'z'"),
    "no parameters": ("(x - y)^2", LINE, None, "no parameters to fit"),
    "bad syntax": ("(w*x + b - y", LINE, None, "never closed"),
    "no data": ("w^2 + b", LINE, None, "the columns of line are x, y"),
    "clash": ("(x - y)^2", LINE, ("x",), "'x' is a data column"),
    "three": ("(w*x + b*c - y)^2", LINE, None, "3 variables"),
    "unusable header": ("w^2 + b", ODD, None, "the columns of odd.csv are x, price ($), y"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_worker_errors_read_as_in_process(worker, monkeypatch, case):
    text, data, params, expect = ERRORS[case]
    with pytest.raises(ExpressionError) as here:
        compile_dataset_loss(text, data, parameters=params)
    assert expect in str(here.value)
    _forbid_in_process(monkeypatch)
    with pytest.raises(ExpressionError) as there:
        compile_dataset_loss(text, data, parameters=params, timeout=60)
    assert str(there.value) == str(here.value)
    assert there.value.column == here.value.column and there.value.hint == here.value.hint


def test_bad_timeouts_are_refused():
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="timeout must be a positive"):
            compile_dataset_loss("(w*x + b - y)^2", LINE, timeout=bad)


def test_unknown_request_kind_is_refused():
    with pytest.raises(ValueError, match="unknown compile kind 'model'"):
        loss_module._compile_in_worker("model", ("x",), 1.0)


# --------------------------------------------------------------------------- #
# A hostile per-sample loss is stopped; the worker recovers for both kinds
# --------------------------------------------------------------------------- #


def test_hostile_dataset_loss_is_stopped_and_both_kinds_recover(worker):
    compile_dataset_loss("(w*x + b - y)^2", LINE, timeout=60)  # the worker is warm
    start = time.perf_counter()
    with pytest.raises(ExpressionError, match=r"took longer than 0\.5 s and was stopped") as err:
        compile_dataset_loss(SLOW, LINE, timeout=0.5)
    assert time.perf_counter() - start < 10.0  # generous: the kill is immediate
    assert err.value.hint == "try a simpler expression"
    again = compile_dataset_loss("abs(w*x + b - y)", LINE, parameters=("w", "b"), timeout=60)
    assert isinstance(again._blob["exprs"], bytes)  # from the restarted worker
    expect = np.mean(np.abs(0.5 * LINE.column("x") - 1.0 - LINE.column("y")))
    assert again.value_at((0.5, -1.0)) == pytest.approx(expect, rel=1e-12)
    plain = compile_loss("x^2 + y^2", timeout=60)
    assert plain.value_at((3.0, 4.0)) == 25.0


def test_dataset_compile_falls_back_when_no_worker_can_run(monkeypatch):
    shutdown_worker()
    monkeypatch.setattr(loss_module.sys, "executable", "/nonexistent/python")
    monkeypatch.setattr(loss_module, "_worker_unavailable", False)
    loss = compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("w", "b"), timeout=5)
    assert isinstance(loss._blob["exprs"], tuple)  # compiled here
    assert loss_module._worker_unavailable and loss_module._worker is None
    expect = np.mean((LINE.column("x") + 2.0 - LINE.column("y")) ** 2)
    assert loss.value_at((1.0, 2.0)) == pytest.approx(expect, rel=1e-12)
    shutdown_worker()


# --------------------------------------------------------------------------- #
# The protocol, answered in this process
# --------------------------------------------------------------------------- #


class _FakeConn:
    def __init__(self, requests):
        self.requests = list(requests)
        self.replies = []

    def recv(self):
        if not self.requests:
            raise EOFError
        return self.requests.pop(0)

    def send(self, message):
        # Replies cross a pipe as pickles: check that each one survives it.
        self.replies.append(pickle.loads(pickle.dumps(message)))


def test_serve_answers_both_kinds_and_refuses_others(monkeypatch):
    from gdviz.core import _compile_worker

    # No address-space cap on the test process itself.
    monkeypatch.setattr(_compile_worker, "_limit_memory", lambda: None)
    conn = _FakeConn(
        [
            ("loss", ("x^2 + y", None)),
            ("dataset", ("(w*x + b - y)^2", "line", ("x", "y"), ("b", "w"))),
            ("dataset", ("(w*x + b - y)^2", "line", ("x", "y"), ("x",))),
            ("model", ("x",)),
            "not a request",
            None,
            ("loss", ("never read", None)),
        ]
    )
    _compile_worker.serve(conn)
    assert conn.requests == [("loss", ("never read", None))]  # None ends the loop
    ready, plain, data, clash, unknown, garbage = conn.replies
    assert ready == ("ready", None)
    assert plain[0] == "ok" and plain[1]["variables"] == ("x", "y")
    assert isinstance(plain[1]["exprs"], bytes)
    assert data[0] == "ok" and data[1]["params"] == ("b", "w")
    loss = DatasetLoss(data[1], LINE, Penalty())
    assert (
        loss.sources == compile_dataset_loss("(w*x + b - y)^2", LINE, parameters=("b", "w")).sources
    )
    assert clash[0] == "error" and "'x' is a data column" in str(clash[1])
    for reply in (unknown, garbage):
        assert reply[0] == "error" and isinstance(reply[1], ExpressionError)
        assert "could not compile" in str(reply[1])


# --------------------------------------------------------------------------- #
# The window: a hostile per-sample loss leaves the last good one in place
# --------------------------------------------------------------------------- #


def test_hostile_loss_typed_in_dataset_mode_keeps_the_last_good_one(worker, qtbot, monkeypatch):
    import gdviz.ui.compute as compute
    from gdviz.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: _ready(w), timeout=WAIT)
    old = w.trajectory
    w.data_panel.set_enabled(True)
    qtbot.waitUntil(lambda: w.trajectory is not old and _ready(w), timeout=WAIT)
    good = w.loss
    assert isinstance(good, DatasetLoss) and good.text == "(w*x + b - y)^2"
    good_traj = w.trajectory

    monkeypatch.setattr(compute, "COMPILE_TIMEOUT", 0.5)
    start = time.perf_counter()
    w.editor.set_text(SLOW)
    qtbot.waitUntil(w.editor.has_error, timeout=WAIT)
    assert time.perf_counter() - start < 20.0  # generous: stopped after 0.5 s
    assert "took longer than 0.5 s and was stopped" in w.editor.error.text()
    assert w.loss is good and w.data_panel.loss is good
    qtbot.wait(200)  # nothing recomputes behind the message
    assert w.trajectory is good_traj

    # The next per-sample loss compiles in the restarted worker.
    w.editor.set_text("abs(w*x + b - y)")
    qtbot.waitUntil(lambda: w.loss is not good and _ready(w), timeout=WAIT)
    assert isinstance(w.data_panel.loss, DatasetLoss)
    assert w.data_panel.loss.text == "abs(w*x + b - y)" and not w.editor.has_error()
