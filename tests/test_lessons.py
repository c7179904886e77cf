"""Lessons: each shipped lesson loads, runs, and shows what its commentary says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gdviz.core.lessons import (
    MAX_LESSONS,
    LessonError,
    lesson,
    load_lessons,
    parse_lesson,
    run_session,
)

LESSONS = load_lessons()
ALL_NAMES = [les.name for les in LESSONS]


def test_gallery_is_numbered_and_complete() -> None:
    numbers = [les.number for les in LESSONS]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == 1 and numbers[-1] <= MAX_LESSONS
    assert len(LESSONS) >= 7
    for les in LESSONS:
        assert les.title and 100 < len(les.commentary) <= 1500
        assert lesson(les.number) is not None and lesson(les.name).number == les.number
    with pytest.raises(KeyError, match="lessons are"):
        lesson(42)


@pytest.fixture(scope="module")
def results() -> dict[str, tuple]:
    return {les.name: run_session(les.session) for les in LESSONS}


@pytest.mark.parametrize("name", ALL_NAMES)
def test_each_lesson_runs_to_its_end(results, name: str) -> None:
    les = lesson(name)
    _loss, traj = results[name]
    assert traj.n_steps == les.session.steps
    assert traj.n_runs == len(les.session.runs)
    assert np.isfinite(traj.positions).all()
    # The start is inside the view window, so the class sees where runs begin.
    for i in range(traj.n_runs):
        for c, (lo, hi) in zip(les.session.run_start(i), les.session.domain, strict=True):
            assert lo <= c <= hi


def _dist(traj, row, k, point) -> float:
    return float(np.linalg.norm(traj.positions[row, k] - np.asarray(point)))


def test_learning_rate_lesson(results) -> None:
    _loss, t = results["1_learning_rate"]
    small, right, large = 0, 1, 2
    assert t.status[right] == "converged" and t.stop_step[right] < t.n_steps
    # Too small: still visibly far from the minimum at the end.
    assert t.status[small] == "max_steps" and t.losses[-1, small] > 0.5
    # Too large: the loss went up and the y coordinate flips sign every step.
    assert t.losses[-1, large] > 10 * t.losses[0, large]
    y = t.positions[:20, large, 1]
    assert (np.sign(y[1:]) != np.sign(y[:-1])).all()


def test_momentum_ravine_lesson(results) -> None:
    _loss, t = results["2_momentum_ravine"]
    gd, mom, nest = 0, 1, 2
    # GD zig-zags across the valley: y changes sign step after step at first.
    y = t.positions[:20, gd, 1]
    assert (np.sign(y[1:]) != np.sign(y[:-1])).sum() >= 15
    # Momentum (and Nesterov) reach a far lower loss in the same 100 steps.
    assert t.losses[100, mom] < t.losses[100, gd] / 50
    assert t.losses[100, nest] < t.losses[100, gd] / 50


def test_saddle_lesson(results) -> None:
    _loss, t = results["3_saddle"]
    gd, adam = 0, 1
    # GD ends within 0.01 of the saddle at the origin, loss still about 0.
    assert _dist(t, -1, gd, (0, 0)) < 0.01
    assert abs(t.losses[-1, gd]) < 1e-4
    # Adam left it: it sits in one of the minima (0, ±1) where f = -1/4.
    assert min(_dist(t, -1, adam, (0, 1)), _dist(t, -1, adam, (0, -1))) < 0.05
    assert t.losses[-1, adam] < -0.24


def test_local_minima_lesson(results) -> None:
    loss, t = results["4_local_minima"]
    ends = t.positions[-1]
    assert all(s == "converged" for s in t.status)
    # Runs 1 and 2 start 0.55 apart and end in different valleys.
    assert ends[0, 0] > 0.5 and ends[1, 0] < -0.5
    # Both are minima (zero gradient, positive-definite Hessian), one lower.
    for k in range(3):
        assert np.linalg.norm(loss.grad(ends[k])) < 1e-6
        assert (np.linalg.eigvalsh(loss.hess(ends[k])) > 0).all()
    assert t.losses[-1, 1] < t.losses[-1, 0] - 0.5


def test_rosenbrock_lesson(results) -> None:
    _loss, t = results["5_rosenbrock"]
    gd, mom, adam = 0, 1, 2
    # Every run drops onto the valley floor fast ...
    assert (t.losses[60] < t.losses[0] / 2).all()
    # ... but GD is still far from (1, 1) at the end, the others are there.
    assert _dist(t, -1, gd, (1, 1)) > 0.5
    assert _dist(t, -1, mom, (1, 1)) < 0.02
    assert _dist(t, -1, adam, (1, 1)) < 0.02


def test_newton_lesson(results) -> None:
    _loss, t = results["6_newton"]
    newton, gd = 0, 1
    # One Newton step lands on the minimum (0, 0) of the quadratic.
    assert _dist(t, 1, newton, (0, 0)) < 1e-12
    assert t.status[newton] == "converged" and t.stop_step[newton] == 1
    assert _dist(t, 1, gd, (0, 0)) > 1.0
    assert _dist(t, -1, gd, (0, 0)) > 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_noisy_gradients_lesson(seed: int) -> None:
    les = lesson("7_noisy_gradients")
    assert les.session.noise > 0
    # The claim must not hang on one lucky seed.
    _loss, t = run_session(replace(les.session, noise_seed=seed))
    const, decay = 0, 1
    d = np.linalg.norm(t.positions[-100:], axis=2).mean(axis=0)
    assert d[decay] < d[const] / 2
    # The noise really is there: the constant-rate run never settles.
    assert d[const] > 0.2


GOOD = """
number = 5
title = "T"
commentary = "words"
function = "x^2 + y^2"
domain = [[-1.0, 1.0], [-1.0, 1.0]]
start = [0.5, 0.5]

[[runs]]
optimizer = "gd"
params = { lr = 0.1 }
"""


def test_parse_good_text() -> None:
    les = parse_lesson(GOOD, "t")
    assert les.number == 5 and les.session.runs[0].params == {"lr": 0.1}


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("number = 5", "number = 10", "number"),
        ("number = 5", "number = true", "number"),
        ('title = "T"', "", "missing 'title'"),
        ('title = "T"', 'title = ""', "non-empty"),
        ('commentary = "words"', 'commentary = "' + "w" * 2000 + '"', "longer"),
        ('commentary = "words"', 'commentary = "a\\u0007"', "control"),
        ('commentary = "words"', 'commentary = "words"\nextra = 1', "unknown key"),
        ('"x^2 + y^2"', '"exec(1)"', "function"),
        ('"gd"', '"warp"', "unknown optimizer"),
        ("number = 5", "number = 5\nformat_version = 1", "format_version"),
        ("[[runs]]", "[[runs]", "not valid TOML"),
    ],
)
def test_bad_lessons(old: str, new: str, fragment: str) -> None:
    with pytest.raises(LessonError, match=fragment) as info:
        parse_lesson(GOOD.replace(old, new), "bad", "bad.toml")
    assert "bad.toml" in str(info.value)


def test_scale_lesson(results) -> None:
    _loss, t = results["8_scale"]
    gd, rms, adam = 0, 1, 2
    # GD is held back by the steep direction: still far away after 100 steps.
    assert _dist(t, 100, gd, (0, 0)) > 2.5
    assert _dist(t, 100, rms, (0, 0)) < 0.05
    assert _dist(t, 100, adam, (0, 0)) < 0.05
    # Adam's per-coordinate step sizes differ by far more than 10× (x gentle, y steep).
    eff = t.state["effective_lr"][20, adam]
    assert eff[0] / eff[1] > 10


def test_lesson_range_reads_as_a_person_writes_it() -> None:
    from gdviz.core.lessons import lesson_range

    assert lesson_range([1, 2, 3, 4, 5, 6, 7, 8]) == "1–8"
    assert lesson_range([3, 1, 2, 5]) == "1–3, 5"
    assert lesson_range([1, 2, 4]) == "1, 2, 4"
    assert lesson_range([4]) == "4" and lesson_range([]) == ""


def test_the_readme_advertises_the_lessons_that_exist() -> None:
    import re
    from pathlib import Path

    from gdviz.core.lessons import lesson_range

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    advertised = re.findall(r"\*\*Lessons\*\* \(menu, or keys ([^)]*)\)", readme)
    assert advertised == [lesson_range(les.number for les in LESSONS)]
