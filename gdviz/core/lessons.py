"""Lessons: one-click teaching set-ups with a title and a paragraph of commentary.

A lesson is a session (function, view window, runs, speed …) that shows one
idea, plus the words a teacher would say about it. Each lives in a TOML file in
``gdviz/resources/lessons/`` (``resources/lessons/`` in a checkout), found with
:mod:`importlib.resources` like the presets. The file is a session file without
``format_version`` and with three more keys::

    number = 3                      # its place in the gallery and its digit key
    title = "Saddle point: gradient descent stalls, Adam escapes"
    commentary = "At the origin the surface curves up along x and down …"
    function = "x^2 + y^4/4 - y^2/2"
    domain = [[-2.5, 2.5], [-2.0, 2.0]]
    start = [-2.2, 0.000001]
    steps = 150

    [[runs]]
    optimizer = "gd"
    params = { lr = 0.05 }

Everything except those three keys is checked by the session reader
(:func:`gdviz.core.session_io.session_from_table`): the function goes through
the safe expression parser, optimizers and schedules through their registries.
Lessons ship with gdviz, so they are read strictly: an unknown key is an error
here, not a warning. What each lesson claims in its commentary is checked by
running it in the tests.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from gdviz.core.session import Session
from gdviz.core.session_io import FORMAT_VERSION, SessionError, session_from_table

__all__ = [
    "MAX_LESSONS",
    "Lesson",
    "LessonError",
    "lesson",
    "lesson_range",
    "load_lessons",
    "parse_lesson",
    "run_session",
]

#: Lessons are numbered 1 … MAX_LESSONS (the number keys).
MAX_LESSONS = 9
MAX_FILE_BYTES = 64 * 1024
MAX_TITLE = 100
MAX_COMMENTARY = 1500


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Lesson:
    """One lesson.

    Attributes
    ----------
    name
        File stem (``"3_saddle"``), an identifier.
    number
        1 … 9: its place in the gallery and its number key.
    title
        One line.
    commentary
        A short paragraph saying what to watch and why it happens (plain text).
    session
        What it opens.
    """

    name: str
    number: int
    title: str
    commentary: str
    session: Session


def _text(doc: dict[str, Any], key: str, limit: int, source: str) -> str:
    if key not in doc:
        raise LessonError(f"lesson {source}: missing '{key}'")
    v = doc[key]
    if not isinstance(v, str) or not v.strip():
        raise LessonError(f"lesson {source}: '{key}' must be non-empty text")
    if len(v) > limit:
        raise LessonError(f"lesson {source}: '{key}' is longer than {limit} characters")
    if any(ord(c) < 32 for c in v):
        raise LessonError(f"lesson {source}: '{key}' contains control characters")
    return v


def parse_lesson(text: str, name: str, source: str | None = None) -> Lesson:
    """Read one lesson from TOML text.

    Parameters
    ----------
    text
        The file's contents.
    name
        Identifier (the file stem).
    source
        How to name the file in messages (defaults to ``name``).

    Raises
    ------
    LessonError
        For TOML errors, a missing or bad title/number/commentary, any problem
        the session reader finds, and unknown keys.
    """
    source = source or name
    if len(text) > MAX_FILE_BYTES:
        raise LessonError(f"lesson {source}: file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"lesson {source}: not valid TOML ({exc})") from None
    except RecursionError:
        raise LessonError(f"lesson {source}: nested too deeply") from None
    if "format_version" in doc:
        raise LessonError(f"lesson {source}: 'format_version' belongs in session files")
    title = _text(doc, "title", MAX_TITLE, source)
    commentary = _text(doc, "commentary", MAX_COMMENTARY, source)
    number = doc.get("number")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_LESSONS:
        raise LessonError(f"lesson {source}: 'number' must be a whole number 1…{MAX_LESSONS}")
    rest = {k: v for k, v in doc.items() if k not in ("title", "commentary", "number")}
    rest["format_version"] = FORMAT_VERSION
    try:
        loaded = session_from_table(rest, f"lesson {source}")
    except SessionError as exc:
        raise LessonError(str(exc)) from None
    if loaded.warnings:
        raise LessonError(f"lesson {source}: {'; '.join(loaded.warnings)}")
    return Lesson(
        name=name, number=number, title=title, commentary=commentary, session=loaded.session
    )


def _lesson_files() -> Iterable[Any]:
    folder = resources.files("gdviz.resources").joinpath("lessons")
    return sorted(
        (f for f in folder.iterdir() if f.name.endswith(".toml") and f.is_file()),
        key=lambda f: f.name,
    )


def load_lessons() -> list[Lesson]:
    """Every shipped lesson, by number.

    Raises
    ------
    LessonError
        If a shipped file is broken or two lessons share a number (packaging
        bugs: the tests load them all).
    """
    out: dict[int, Lesson] = {}
    for f in _lesson_files():
        name = f.name.removesuffix(".toml")
        les = parse_lesson(f.read_text(encoding="utf-8"), name, f.name)
        if les.number in out:
            raise LessonError(
                f"lessons {out[les.number].name} and {name} both have number {les.number}"
            )
        out[les.number] = les
    return [out[n] for n in sorted(out)]


def lesson_range(numbers: Sequence[int] | Iterable[int]) -> str:
    """The lesson numbers as a person reads them: ``"1–8"``, ``"1–3, 5"``, ``"4"`` ("" for none).

    What the window, its key list and the README advertise is derived from
    the lessons that exist, never from :data:`MAX_LESSONS`.
    """
    nums = sorted(set(int(n) for n in numbers))
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{nums[i]}–{nums[j]}")
        else:
            parts.extend(str(n) for n in nums[i : j + 1])
        i = j + 1
    return ", ".join(parts)


def lesson(key: int | str) -> Lesson:
    """One shipped lesson by number (``3``) or name (``"3_saddle"``).

    Raises
    ------
    KeyError
        If there is none (the message lists what exists).
    """
    lessons = load_lessons()
    for les in lessons:
        if les.number == key or les.name == key:
            return les
    known = ", ".join(f"{les.number} ({les.name})" for les in lessons)
    raise KeyError(f"no lesson {key!r}; lessons are: {known}")


def run_session(session: Session, loss: Any = None) -> tuple[Any, Any]:
    """Compile a session's function and run its runs as the window does.

    Parameters
    ----------
    session
        What to run: function, runs (their starts and schedules), steps, noise.
    loss
        An already compiled loss for ``session.function`` (compiled here if None).

    Returns
    -------
    (Loss, Trajectory)

    Raises
    ------
    ExpressionError, SpecError
        For a function or a run that cannot be used.
    """
    from gdviz.core.engine import GradientNoise, StopRules, run
    from gdviz.core.loss import compile_loss
    from gdviz.core.session import run_configs

    if loss is None:
        loss = compile_loss(session.function)
    configs = run_configs(session, check=False)
    noise = GradientNoise(session.noise, session.noise_seed) if session.noise > 0 else None
    traj = run(loss, configs, session.steps, StopRules(max_steps=session.steps), noise)
    return loss, traj
