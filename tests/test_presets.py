"""Presets: every shipped file loads, compiles, runs; bad files get clear messages."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.loss import compile_loss
from gdviz.core.optimizers import OPTIMIZERS
from gdviz.core.presets import PresetError, load_preset, load_presets, parse_preset
from gdviz.core.schedules import parse_schedule

EXPECTED = {
    "bowl",
    "ravine",
    "saddle",
    "rosenbrock",
    "himmelblau",
    "rastrigin",
    "ackley",
    "beale",
    "camel",
    "parabola",
    "double_well",
}

GOOD = """
title = "T"
function = "x^2 + y^2"
teaches = "one line"
x = [-1.0, 1.0]
y = [-2.0, 2.0]
start = [0.5, 0.5]

[[runs]]
optimizer = "gd"
params = { lr = 0.1 }
"""


def test_all_presets_are_shipped_in_menu_order():
    presets = load_presets()
    assert {p.name for p in presets} == EXPECTED
    orders = [p.order for p in presets]
    assert orders == sorted(orders)
    assert len(set(orders)) == len(orders)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_compiles_and_runs(name):
    p = load_preset(name)
    s = p.session
    assert p.teaches and "\n" not in p.teaches and len(p.teaches) < 200
    loss = compile_loss(s.function)
    assert loss.dim == len(s.domain) == len(s.start)
    for (lo, hi), v in zip(s.domain, s.start, strict=True):
        assert lo < v < hi, f"{name}: start outside the view"
    configs = []
    for i, r in enumerate(s.runs):
        spec = OPTIMIZERS[r.optimizer]
        configs.append(
            RunConfig(
                r.optimizer,
                spec.resolve(dict(r.params)),
                s.run_start(i),
                parse_schedule(r.schedule),
            )
        )
    traj = run(loss, configs, 50, stop=StopRules(max_steps=50))
    assert np.all(np.isfinite(traj.losses[0]))
    # Something happens in the first 50 steps of every run (no frozen demo).
    moved = np.linalg.norm(traj.positions[-1] - traj.positions[0], axis=-1)
    assert np.all(moved > 0)


def test_presets_teach_what_they_say_about_divergence():
    # The parabola preset shows a learning rate above 1 diverging, the others not.
    s = load_preset("parabola").session
    loss = compile_loss(s.function)
    configs = [RunConfig(r.optimizer, dict(r.params), s.run_start(i)) for i, r in enumerate(s.runs)]
    traj = run(loss, configs, s.steps, stop=StopRules(max_steps=s.steps))
    assert traj.status[-1] == "diverged"
    assert all(st != "diverged" for st in traj.status[:-1])


def test_good_text_parses():
    p = parse_preset(GOOD, "t")
    assert p.session.domain == ((-1.0, 1.0), (-2.0, 2.0))
    assert p.session.runs[0].params == {"lr": 0.1}
    assert p.session.preset == "t"


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.replace('title = "T"', ""), "missing 'title'"),
        (lambda t: "surprise = 1\n" + t, "unknown key\\(s\\) \\['surprise'\\]"),
        (lambda t: t.replace("[-1.0, 1.0]", "[1.0, -1.0]"), "'x' must go from low to high"),
        (lambda t: t.replace("[-1.0, 1.0]", "[nan, 1.0]"), "must be finite"),
        (lambda t: t.replace("start = [0.5, 0.5]", "start = [0.5]"), "'start' must be a list of 2"),
        (lambda t: t.replace("lr = 0.1", "lr = inf"), "runs\\[0\\].params.lr must be finite"),
        (lambda t: t.replace("lr = 0.1", 'lr = "fast"'), "must be a number"),
        (lambda t: t.replace('"x^2 + y^2"', "42"), "'function' must be text"),
        (lambda t: t.replace("[[runs]]", "[[nope]]"), "unknown key"),
        (lambda t: "steps = 0\n" + t, "'steps' must be a whole number"),
        (lambda t: t.replace('"one line"', '"a\\u0007b"'), "control characters"),
        (lambda t: "x = 3\n" + t, "not valid TOML"),
        (lambda t: "[[[", "not valid TOML"),
        (lambda t: t.replace('optimizer = "gd"', 'optimizer = "gd"\ncolor = "red"'), "#rrggbb"),
    ],
)
def test_bad_files_get_a_message_naming_file_and_field(edit, words):
    with pytest.raises(PresetError, match=words) as info:
        parse_preset(edit(GOOD), "t", "t.toml")
    assert str(info.value).startswith("preset t.toml:")


def test_huge_file_is_refused_before_parsing():
    with pytest.raises(PresetError, match="larger than"):
        parse_preset(GOOD + "#" * 70_000, "t")


def test_deep_nesting_is_a_message_not_a_crash():
    text = GOOD + "deep = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(PresetError):
        parse_preset(text, "t")


def test_function_text_stays_text_until_the_safe_parser_reads_it():
    hostile = GOOD.replace('"x^2 + y^2"', '"__import__(\\"os\\").system(\\"echo hi\\")"')
    p = parse_preset(hostile, "t")  # loading does nothing with the text
    from gdviz.core.expression import ExpressionError

    with pytest.raises(ExpressionError):
        compile_loss(p.session.function)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(KeyError, match="rosenbrock"):
        load_preset("nope")


@pytest.mark.slow
def test_presets_are_inside_the_built_wheel(tmp_path):
    # Build from a copy: setuptools writes build/ next to the sources.
    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    for name in ("gdviz", "resources"):
        shutil.copytree(root / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    # With build isolation pip brings the build backend pyproject.toml asks for;
    # a fresh venv's own setuptools may be too old to build wheels.
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
    proc = subprocess.run(
        [*pip, "-w", str(out), str(src)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"cannot build a wheel: {proc.stderr.strip()[-400:]}"
    wheel = next(out.glob("gdviz-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in EXPECTED:
        assert f"gdviz/resources/presets/{name}.toml" in names
