"""Presets: ready-made problems (function, view window, start, runs) read from data files.

Each preset is one TOML file in ``gdviz/resources/presets/`` (the top-level
``resources/`` folder of a checkout, shipped in the wheel as ``gdviz.resources``)
and is found through :mod:`importlib.resources`, so an installed gdviz and a
checkout behave the same. A preset file looks like::

    title = "Rosenbrock"
    order = 4
    function = "(1 - x)^2 + 100(y - x^2)^2"
    teaches = "A curved valley with a flat floor: easy to find, slow to follow."
    x = [-2.0, 2.0]
    y = [-1.0, 3.0]
    start = [-1.5, 2.0]
    steps = 3000
    log_levels = true

    [[runs]]
    optimizer = "gd"
    params = { lr = 0.0008 }

Files are data, never code: every field is type- and range-checked here, and the
function stays text until the safe expression parser reads it. Bad files raise
:class:`PresetError` naming the file and the field.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from gdviz.core.session import RunSpec, Session, ViewSettings

__all__ = ["Preset", "PresetError", "load_preset", "load_presets", "parse_preset", "preset_names"]

#: Largest preset file read, in bytes; anything bigger is not a preset.
MAX_FILE_BYTES = 64 * 1024
MAX_TEXT = 500
MAX_RUNS = 16
MAX_STEPS = 100_000

_TOP_KEYS = {
    "title",
    "order",
    "function",
    "teaches",
    "x",
    "y",
    "start",
    "steps",
    "log_levels",
    "runs",
    "speed",
}
_RUN_KEYS = {"optimizer", "params", "schedule", "start", "color"}


class PresetError(ValueError):
    """A preset file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Preset:
    """One preset problem.

    Attributes
    ----------
    name
        File stem, used as an identifier (``"rosenbrock"``).
    title
        Human title (``"Rosenbrock"``).
    teaches
        One line saying what it shows.
    order
        Position in menus (1 first).
    session
        The session it opens: function, domain, start, runs, steps, view.
    """

    name: str
    title: str
    teaches: str
    order: int
    session: Session


def _fail(source: str, msg: str) -> PresetError:
    return PresetError(f"preset {source}: {msg}")


def _text(d: dict[str, Any], key: str, source: str, *, required: bool = True) -> str | None:
    if key not in d:
        if required:
            raise _fail(source, f"missing '{key}'")
        return None
    v = d[key]
    if not isinstance(v, str):
        raise _fail(source, f"'{key}' must be text, got {type(v).__name__}")
    if len(v) > MAX_TEXT:
        raise _fail(source, f"'{key}' is longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 for c in v):
        raise _fail(source, f"'{key}' contains control characters")
    return v


def _number(v: Any, where: str, source: str) -> float:
    # bool is an int subclass in Python; "true" is not a number here.
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _fail(source, f"{where} must be a number, got {v!r}")
    f = float(v)
    if not math.isfinite(f):
        raise _fail(source, f"{where} must be finite, got {v!r}")
    return f


def _pair(d: dict[str, Any], key: str, source: str) -> tuple[float, float]:
    v = d[key]
    if not isinstance(v, list) or len(v) != 2:
        raise _fail(source, f"'{key}' must be [low, high]")
    lo, hi = (_number(e, f"'{key}'", source) for e in v)
    if not lo < hi:
        raise _fail(source, f"'{key}' must go from low to high, got [{lo:g}, {hi:g}]")
    return lo, hi


def _point(v: Any, dim: int, where: str, source: str) -> tuple[float, ...]:
    if not isinstance(v, list) or len(v) != dim:
        raise _fail(source, f"{where} must be a list of {dim} number(s)")
    return tuple(_number(e, where, source) for e in v)


def _run(d: Any, i: int, dim: int, source: str) -> RunSpec:
    where = f"runs[{i}]"
    if not isinstance(d, dict):
        raise _fail(source, f"{where} must be a table")
    unknown = set(d) - _RUN_KEYS
    if unknown:
        raise _fail(source, f"{where} has unknown key(s) {sorted(unknown)}")
    opt = _text(d, "optimizer", f"{source} {where}")
    assert opt is not None
    params_in = d.get("params", {})
    if not isinstance(params_in, dict):
        raise _fail(source, f"{where}.params must be a table")
    params: dict[str, float | bool] = {}
    for k, v in params_in.items():
        if not k.isidentifier() or len(k) > 40:
            raise _fail(source, f"{where}.params has a bad name {k!r}")
        params[k] = v if isinstance(v, bool) else _number(v, f"{where}.params.{k}", source)
    schedule = _text(d, "schedule", f"{source} {where}", required=False) or "constant"
    start = _point(d["start"], dim, f"{where}.start", source) if "start" in d else None
    color = _text(d, "color", f"{source} {where}", required=False)
    if color is not None and not (
        len(color) == 7
        and color[0] == "#"
        and all(c in "0123456789abcdefABCDEF" for c in color[1:])
    ):
        raise _fail(source, f"{where}.color must look like #rrggbb, got {color!r}")
    return RunSpec(
        optimizer=opt, params=params, schedule=schedule, start=start, color=color, visible=True
    )


def parse_preset(text: str, name: str, source: str | None = None) -> Preset:
    """Read one preset from TOML text.

    Parameters
    ----------
    text
        The file's contents.
    name
        Identifier for the preset (the file stem).
    source
        How to name the file in messages (defaults to ``name``).

    Raises
    ------
    PresetError
        For TOML syntax errors, missing or unknown keys, wrong types, non-finite
        or out-of-range numbers.
    """
    source = source or name
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise _fail(source, f"file is larger than {MAX_FILE_BYTES // 1024} KiB")
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise _fail(source, "nested too deeply") from None
    unknown = set(d) - _TOP_KEYS
    if unknown:
        raise _fail(source, f"unknown key(s) {sorted(unknown)}")
    title = _text(d, "title", source)
    function = _text(d, "function", source)
    teaches = _text(d, "teaches", source)
    assert title is not None and function is not None and teaches is not None
    if "x" not in d:
        raise _fail(source, "missing 'x' (the view's x range)")
    domain = [_pair(d, "x", source)]
    if "y" in d:
        domain.append(_pair(d, "y", source))
    dim = len(domain)
    if "start" not in d:
        raise _fail(source, "missing 'start'")
    start = _point(d["start"], dim, "'start'", source)
    order = d.get("order", 99)
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= 999:
        raise _fail(source, "'order' must be a whole number 0…999")
    steps = d.get("steps", 500)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise _fail(source, f"'steps' must be a whole number 1…{MAX_STEPS}")
    log_levels = d.get("log_levels", False)
    if not isinstance(log_levels, bool):
        raise _fail(source, "'log_levels' must be true or false")
    speed = _number(d.get("speed", 60), "'speed'", source)
    if not 1 <= speed <= 1000:
        raise _fail(source, "'speed' must be 1…1000 steps per second")
    runs_in = d.get("runs", [])
    if not isinstance(runs_in, list) or not runs_in:
        raise _fail(source, "needs at least one [[runs]] table")
    if len(runs_in) > MAX_RUNS:
        raise _fail(source, f"at most {MAX_RUNS} runs")
    runs = tuple(_run(r, i, dim, source) for i, r in enumerate(runs_in))
    session = Session(
        function=function,
        domain=tuple(domain),
        start=start,
        runs=runs,
        steps=steps,
        view=ViewSettings(log_levels=log_levels, log_loss=log_levels),
        speed=speed,
        preset=name,
    )
    return Preset(name=name, title=title, teaches=teaches, order=order, session=session)


def _preset_files() -> Iterable[Any]:
    folder = resources.files("gdviz.resources").joinpath("presets")
    return sorted(
        (f for f in folder.iterdir() if f.name.endswith(".toml") and f.is_file()),
        key=lambda f: f.name,
    )


def preset_names() -> list[str]:
    """Names of the shipped presets, in menu order."""
    return [p.name for p in load_presets()]


def load_presets() -> list[Preset]:
    """All shipped presets, sorted by their ``order`` (then title).

    Raises
    ------
    PresetError
        If a shipped file is broken (a packaging bug: the tests load them all).
    """
    out = []
    for f in _preset_files():
        name = f.name.removesuffix(".toml")
        out.append(parse_preset(f.read_text(encoding="utf-8"), name, f"{name}.toml"))
    return sorted(out, key=lambda p: (p.order, p.title))


def load_preset(name: str) -> Preset:
    """One shipped preset by name (``"rosenbrock"``).

    Raises
    ------
    KeyError
        If there is no such preset (the message lists the names that exist).
    """
    presets = {p.name: p for p in load_presets()}
    if name not in presets:
        raise KeyError(f"no preset {name!r}; presets are: {', '.join(sorted(presets))}")
    return presets[name]
