"""``gdviz trace --data``: the printed sample indices explain every gradient; bad input."""

from __future__ import annotations

import csv
import functools
import io
import json
import re

import numpy as np
import pytest

from gdviz import cli
from gdviz.core.data import load_data
from gdviz.core.dataset_loss import compile_dataset_loss


def trace(capsys, *args):
    code = cli.main(["trace", *args])
    out, err = capsys.readouterr()
    return code, out, err


@functools.cache
def _loss(loss_text, data_spec, params):
    return compile_dataset_loss(loss_text, load_data(data_spec), parameters=params)


def _sample_grads(loss_text, data_spec, params, point, idx):
    loss = _loss(loss_text, data_spec, None if params is None else tuple(params))
    return loss.sample_grads(point, idx), loss.sample_values(point, idx), loss.n


@pytest.mark.parametrize(
    ("data", "function", "params"),
    [
        ("builtin:line:n=17", "(w*x + b - y)^2", "w,b"),
        ("builtin:classes:n=13,seed=3", "log(1 + exp(-y*(w*x + b)))", "w,b"),
        ("builtin:outliers:n=11", "abs(w*x + b - y)", "b,w"),
    ],
)
def test_json_indices_explain_every_gradient(capsys, data, function, params):
    code, out, err = trace(
        capsys,
        "--data", data, "--function", function, "--params", params, "--start", "0.5,-0.5",
        "--optimizer", "gd:lr=0.1", "--optimizer", "adam:lr=0.05",
        "--optimizer", "momentum:lr=0.05",
        "--batch-size", "batch", "--batch-size", "1", "--batch-size", "4",
        "--steps", "25", "--seed", "3", "--tol", "0", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    names = params.split(",")
    assert doc["variables"] == names
    assert doc["dataset"]["parameters"] == names and doc["dataset"]["data"] == ["x", "y"]
    assert [r["variant"] for r in doc["runs"]] == ["batch", "stochastic", "mini-batch"]
    for run in doc["runs"]:
        assert len(run["step"]) == 26
        n = None
        for t in range(26):
            point = [run[v][t] for v in names]
            grad = [run[f"grad_{v}"][t] for v in names]
            idx = run["batch_indices"]
            if idx == "all":
                idx_t = None
            else:
                idx_t = idx[t]
                spe, b = run["steps_per_epoch"], run["batch_size"]
                last = t % spe == spe - 1  # an epoch's last batch holds what is left
                assert len(idx_t) == (b if not last else len(idx_t)) and 1 <= len(idx_t) <= b
            per, values, n = _sample_grads(function, data, names, point, idx_t)
            np.testing.assert_allclose(grad, per.mean(axis=0), rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(run["loss"][t], values.mean(), rtol=1e-10, atol=1e-13)
        assert run["epoch"] == [t // run["steps_per_epoch"] for t in range(26)]
        assert run["batch_size"] == {"batch": n, "stochastic": 1, "mini-batch": 4}[run["variant"]]
    batch = doc["runs"][0]
    assert batch["batch_indices"] == "all"
    np.testing.assert_allclose(batch["full_loss"], batch["loss"], rtol=1e-12)


def test_same_seed_same_output_other_seed_other_batches(capsys):
    args = ["--data", "builtin:line:n=20", "--function", "(w*x + b - y)^2", "--start", "0,0",
            "--batch-size", "3", "--steps", "10", "--format", "json"]  # fmt: skip
    _, a, _ = trace(capsys, *args, "--seed", "1")
    _, b, _ = trace(capsys, *args, "--seed", "1")
    _, c, _ = trace(capsys, *args, "--seed", "2")
    assert a == b
    assert json.loads(a)["runs"][0]["batch_indices"] != json.loads(c)["runs"][0]["batch_indices"]


def test_epochs_set_the_steps_and_penalty_shows(capsys):
    code, out, err = trace(
        capsys,
        "--data", "builtin:line:n=10", "--function", "(w*x + b - y)^2", "--start", "0,0",
        "--batch-size", "3", "--epochs", "2", "--l2", "0.5", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    run = doc["runs"][0]
    assert doc["steps"] == 8 and run["steps_per_epoch"] == 4  # ceil(10 / 3) = 4 steps an epoch
    assert run["epoch"] == [0, 0, 0, 0, 1, 1, 1, 1, 2]
    assert [len(i) for i in run["batch_indices"][:4]] == [3, 3, 3, 1]
    assert sorted(i for b in run["batch_indices"][:4] for i in b) == list(range(10))
    assert doc["dataset"]["penalty"] == "l2=0.5"
    assert r"0.5\left(" in doc["dataset"]["latex"]
    # The L2 penalty's gradient 2λθ is in every step's gradient.
    t = 5
    point = [run["b"][t], run["w"][t]]
    per, _, _ = _sample_grads("(w*x + b - y)^2", "builtin:line:n=10", None, point,
                              run["batch_indices"][t])  # fmt: skip
    expect = per.mean(axis=0) + 2 * 0.5 * np.array(point)
    np.testing.assert_allclose([run["grad_b"][t], run["grad_w"][t]], expect, rtol=1e-10)


def test_csv_output_from_a_csv_file(tmp_path, capsys):
    p = tmp_path / "iris.csv"
    p.write_text("species,Petal Length,width\nsetosa,1.4,0.2\nvirginica,5.1,1.8\nsetosa,1.3,0.3\n")
    code, out, err = trace(
        capsys,
        "--data", str(p), "--columns", "x=Petal Length,y=width", "--function", "(a*x - y)^2",
        "--start", "0", "--batch-size", "2", "--steps", "3", "--optimizer", "gd:lr=0.01",
    )  # fmt: skip
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert list(table[0]) == ["run", "optimizer", "step", "lr", "loss", "a", "grad_a",
                              "epoch", "full_loss", "batch"]  # fmt: skip
    x, y = np.array([1.4, 5.1, 1.3]), np.array([0.2, 1.8, 0.3])
    for row in table:
        idx = [int(i) for i in row["batch"].split()]
        a = float(row["a"])
        assert float(row["grad_a"]) == pytest.approx(np.mean(2 * x[idx] * (a * x[idx] - y[idx])))
        assert float(row["full_loss"]) == pytest.approx(np.mean((a * x - y) ** 2))
    assert [len(r["batch"].split()) for r in table] == [2, 1, 2, 1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "builtin:lines"], "--data: no built-in dataset 'lines'.*did you mean line"),
        (["--data", "nope.csv"], "--data: nope.csv: no such file"),
        (["--data", "builtin:line", "--columns", "x,z"], "no column 'z'"),
        (["--data", "builtin:line", "--batch-size", "0"], "--batch-size: batch size must be"),
        (["--data", "builtin:line", "--batch-size", "two"], "--batch-size: batch size 'two'"),
        (
            ["--data", "builtin:line", "--batch-size", "1", "--batch-size", "2"],
            "2 --batch-size values for 1 run",
        ),
        (["--data", "builtin:line", "--epochs", "x"], "--epochs needs a whole number"),
        (["--data", "builtin:line", "--l2", "1", "--l1", "1"], "--l2 or --l1, not both"),
        (["--data", "builtin:line", "--l2", "-1"], "--l2 must be a finite number >= 0"),
        (["--data", "builtin:line", "--seed", "-1"], "--seed must be >= 0"),
        (["--batch-size", "4"], "--batch-size only applies with --data"),
        (["--l2", "0.1"], "--l2 only applies with --data"),
        (["--data", "builtin:line", "--params", "w,b,c"], "one or two names"),
        (["--data", "builtin:line", "--batch-size", "3", "--steps", "9000000"], "indices"),
    ],
)
def test_bad_dataset_input_is_one_line_exit_2(capsys, args, message):
    function = ["--function", "(w*x + b - y)^2", "--start", "0,0"]
    code, out, err = trace(capsys, *function, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("gdviz trace: ")
    assert re.search(message, err), err


def test_bad_csv_cell_named_on_the_command_line(tmp_path, capsys):
    p = tmp_path / "d.csv"
    p.write_text("x,y\n1,2\n3,oops\n")
    code, _, err = trace(capsys, "--data", str(p), "--function", "(w*x - y)^2", "--start", "0")
    assert code == 2 and "line 3, column 'y': 'oops' is not a number" in err


def test_loss_without_data_or_parameters(capsys):
    code, _, err = trace(capsys, "--data", "builtin:line", "--function", "(x-y)^2", "--start", "0")
    assert code == 2 and "no parameters to fit" in err


def test_export_draws_a_dataset_run(capsys, qapp, tmp_path):
    out = tmp_path / "frames"
    code = cli.main(
        ["export", "--data", "builtin:classes:n=40", "--function", "log(1 + exp(-y*(w*x + b)))",
         "--params", "w,b", "--start", "0,0", "--steps", "4", "--batch-size", "8", "--seed", "2",
         "--optimizer", "adam:lr=0.2", "--out", str(out) + "/", "--size", "320x192"]
    )  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 0, err
    assert len(list(out.glob("*.png"))) == 5


def test_export_refuses_dataset_options_without_data(capsys, tmp_path):
    code = cli.main(
        ["export", "--function", "x^2", "--start", "1", "--steps", "3", "--batch-size", "4",
         "--out", str(tmp_path / "a.gif")]
    )  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 2 and "--batch-size only applies with --data" in err
    assert not (tmp_path / "a.gif").exists()
