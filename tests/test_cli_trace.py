"""``gdviz trace``: CSV and JSON output, stop rules in the output, and bad input."""

import csv
import io
import json
import subprocess
import sys

import pytest

from gdviz import cli


def trace(capsys, *args):
    code = cli.main(["trace", *args])
    out, err = capsys.readouterr()
    return code, out, err


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_gradient_descent_on_a_parabola(capsys):
    code, out, err = trace(
        capsys, "--function", "x^2", "--optimizer", "gd:lr=0.1", "--start", "1", "--steps", "3"
    )
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "run,optimizer,step,lr,loss,x,grad_x"
    table = rows(out)
    assert [r["step"] for r in table] == ["0", "1", "2", "3"]
    assert {r["run"] for r in table} == {"0"} and {r["optimizer"] for r in table} == {"gd"}
    x = [1.0, 0.8, 0.64, 0.512]
    for r, xt in zip(table, x, strict=True):
        assert float(r["x"]) == pytest.approx(xt, rel=1e-15)
        assert float(r["loss"]) == pytest.approx(xt**2, rel=1e-15)
        assert float(r["grad_x"]) == pytest.approx(2 * xt, rel=1e-15)
    # lr of the update from t to t+1; the last row has no update after it
    assert [float(r["lr"]) for r in table] == [0.1, 0.1, 0.1, 0.0]


def test_csv_races_several_optimizers_in_2d(capsys):
    code, out, _ = trace(
        capsys,
        "--function", "(1-x)^2 + 100(y-x^2)^2",
        "--optimizer", "adam:lr=0.05,beta1=0.8,amsgrad=true",
        "--optimizer", "momentum:lr=0.001,momentum=0.95",
        "--start", "-1.5,2",
        "--steps", "4",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == "run,optimizer,step,lr,loss,x,y,grad_x,grad_y"
    table = rows(out)
    assert [(r["run"], r["optimizer"]) for r in table] == [("0", "adam")] * 5 + [
        ("1", "momentum")
    ] * 5
    start = table[0]
    assert (float(start["x"]), float(start["y"])) == (-1.5, 2.0)
    # Rosenbrock at (−1.5, 2): loss 2.5² + 100·0.25² = 12.5, gradient (−155, −50)
    assert float(start["loss"]) == 12.5
    assert (float(start["grad_x"]), float(start["grad_y"])) == (-155.0, -50.0)
    # momentum's first step is −lr·g
    m1 = table[6]
    assert float(m1["x"]) == pytest.approx(-1.5 + 0.001 * 155, rel=1e-14)
    assert float(m1["y"]) == pytest.approx(2.0 + 0.001 * 50, rel=1e-14)


def test_rows_end_where_a_run_stops(capsys):
    # lr 0.5 on x²: at 0 after one step, gradient 0 → converged at step 1.
    _, out, _ = trace(capsys, "--function", "x^2", "--optimizer", "gd:lr=0.5", "--start", "1")
    assert [r["step"] for r in rows(out)] == ["0", "1"]
    # --tol 0 never stops early
    _, out, _ = trace(
        capsys, "--function", "x^2", "--optimizer", "gd:lr=0.5", "--start", "1", "--tol", "0",
        "--steps", "5",
    )  # fmt: skip
    assert len(rows(out)) == 6


def test_json_groups_per_run_with_settings_status_and_stop_step(capsys):
    code, out, _ = trace(
        capsys,
        "--function", "x^2",
        "--optimizer", "gd:lr=1.5",
        "--optimizer", "adam",
        "--start", "1",
        "--steps", "30",
        "--format", "json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["function"] == "x^2" and doc["variables"] == ["x"] and doc["noise"] is None
    wild, adam = doc["runs"]
    # x_t = (−2)^t: the loss 4^t leaves the bound 1e8 at t = 14
    assert wild["status"] == "diverged" and wild["stop_step"] == 14
    assert wild["step"] == list(range(14))
    assert wild["x"][-1] == (-2.0) ** 13
    assert wild["hyperparams"] == {"lr": 1.5, "weight_decay": 0.0}
    assert wild["spec"] == "gd:lr=1.5"
    assert adam["status"] == "max_steps" and adam["stop_step"] == 30
    assert adam["hyperparams"]["beta2"] == 0.999 and adam["hyperparams"]["amsgrad"] is False
    assert len(adam["loss"]) == len(adam["x"]) == len(adam["grad_x"]) == len(adam["lr"]) == 31


def test_schedule_shapes_the_lr_column(capsys):
    _, out, _ = trace(
        capsys, "--function", "x^2", "--optimizer", "gd:lr=0.1", "--start", "1", "--steps", "3",
        "--schedule", "step:step_size=1,gamma=0.5",
    )  # fmt: skip
    assert [float(r["lr"]) for r in rows(out)] == [0.1, 0.05, 0.025, 0.0]


def test_noise_is_seeded(capsys):
    args = ["--function", "x^2+y^2", "--start", "1,1", "--steps", "5", "--noise", "0.3"]
    _, a, _ = trace(capsys, *args, "--seed", "4")
    _, b, _ = trace(capsys, *args, "--seed", "4")
    _, c, _ = trace(capsys, *args, "--seed", "5")
    assert a == b and a != c
    _, j, _ = trace(capsys, *args, "--seed", "4", "--format", "json")
    doc = json.loads(j)
    assert doc["noise"] == {"sigma": 0.3, "seed": 4, "label": "noisy gradient"}
    assert "exact_grad_x" in doc["runs"][0]


def test_other_variable_names_name_the_columns(capsys):
    _, out, _ = trace(capsys, "--function", "(w-1)^2 + b^2", "--start", "0,0", "--steps", "1")
    assert out.splitlines()[0] == "run,optimizer,step,lr,loss,b,w,grad_b,grad_w"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "adamm"], "unknown optimizer 'adamm' — did you mean adam?"),
        (["--optimizer", "adam:lr=0.1,betas=0.9"], "adam has no setting 'betas'"),
        (["--optimizer", "adam:beta2=1.5"], "beta2=1.5 is out of range"),
        (["--optimizer", "adam:amsgrad=maybe"], "amsgrad must be true or false"),
        (["--optimizer", "gd:lr"], "'lr' is not key=value"),
        (["--optimizer", "gd:lr=0.1,lr=0.2"], "lr is given twice"),
        (["--start", "1"], "has 1 number(s) but the function has 2 variable(s) (x, y)"),
        (["--start", "1,two"], "must be numbers separated by commas"),
        (["--start", "1,inf"], "must be finite numbers"),
        (["--steps", "-1"], "--steps must be >= 0"),
        (["--steps", "ten"], "--steps needs a whole number"),
        (["--tol", "-1"], "--tol must be >= 0"),
        (["--schedule", "cosine:t_max=0"], "t_max=0 is out of range"),
        (["--seed", "3"], "--seed only applies with --noise"),
        (["--noise", "-1"], "--noise must be >= 0"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    base = {"--function": "x^2 + y^2", "--start": "1,1"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [a for pair in base.items() for a in pair]
    code, out, err = trace(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("gdviz trace")
    assert message in err


def test_bad_function_text_is_reported_with_its_column(capsys):
    code, _, err = trace(capsys, "--function", "sine(x)", "--start", "1")
    assert code == 2
    assert err.startswith("gdviz trace: --function:") and "sin" in err and "column" in err


def test_negative_start_numbers_need_no_equals_sign(capsys):
    code, out, _ = trace(capsys, "--function", "x^2+y^2", "--start", "-1.5,-2", "--steps", "1")
    assert code == 0
    first = rows(out)[0]
    assert (float(first["x"]), float(first["y"])) == (-1.5, -2.0)


def test_command_line_exit_status_and_stderr():
    proc = subprocess.run(
        [sys.executable, "-m", "gdviz", "trace", "--function", "x^2", "--optimizer", "nope",
         "--start", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "unknown optimizer 'nope'" in proc.stderr
