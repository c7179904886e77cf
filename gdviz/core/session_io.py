"""Session files (``.gdviz.toml``): save a :class:`~gdviz.core.session.Session`, open it again.

A session file is small, readable TOML that a teacher can keep next to the
slides and a student can open next week::

    format_version = 1
    function = "(1 - x)^2 + 100(y - x^2)^2"
    domain = [[-2.0, 2.0], [-1.0, 3.0]]
    start = [-1.5, 2.0]
    steps = 3000
    speed = 60.0
    step = 412
    theme = "light"

    [view]
    heatmap = true
    n_contours = 14

    [[runs]]
    optimizer = "adam"
    params = { lr = 0.05 }
    schedule = "constant"
    color = "#E69F00"
    visible = true

Saving is atomic: the text goes to a temporary file in the same directory,
is flushed to disk, and then replaces the old file with :func:`os.replace`, so
a crash or a full disk mid-save leaves the previous file whole.

Opening treats the file as untrusted data. It is size-limited before it is
parsed; every value is type-, finiteness- and range-checked; optimizer names,
hyper-parameters and schedules go through the optimizer registry's own
checks; and the function text goes through the same allow-list parser as typed
text (:func:`~gdviz.core.expression.parse_expression`), never through
``eval``. Anything wrong raises one :class:`SessionError` naming the file, the
key and the problem. Keys this version does not know are skipped with a
warning (a newer gdviz may have written them), so an older gdviz still opens
the rest.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gdviz.core.session import RunSpec, Session, ViewSettings

__all__ = [
    "FORMAT_VERSION",
    "KNOWN_THEMES",
    "MAX_FILE_BYTES",
    "SUFFIX",
    "LoadedSession",
    "SessionError",
    "dumps_session",
    "load_session",
    "loads_session",
    "save_session",
    "session_from_table",
]

#: The format written by this version; files with a larger number are refused.
FORMAT_VERSION = 1
#: File name ending of session files.
SUFFIX = ".gdviz.toml"
#: Largest file read, in bytes: a real session is a few KiB.
MAX_FILE_BYTES = 256 * 1024
#: Theme names a session may ask for; others fall back to the default with a warning.
KNOWN_THEMES = ("dark", "light", "projector")

MAX_RUNS = 16
MAX_STEPS = 100_000
MAX_TEXT = 500
#: Coordinates (view window, start points) must lie within ±this.
MAX_COORD = 1e6
MAX_NOISE = 1e6
MIN_SPEED, MAX_SPEED = 1.0, 1000.0
N_CONTOURS = (2, 60)

_TOP_KEYS = (
    "format_version",
    "function",
    "domain",
    "start",
    "steps",
    "speed",
    "step",
    "theme",
    "preset",
    "noise",
    "noise_seed",
    "view",
    "runs",
)
_RUN_KEYS = ("optimizer", "params", "schedule", "start", "color", "visible")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}\Z")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")


class SessionError(ValueError):
    """A session file that cannot be saved or opened.

    Attributes
    ----------
    message
        What is wrong, for a person (``"must be a number, got 'fast'"``).
    path
        The file, or None for text that did not come from a file.
    where
        The key it concerns (``"runs[2].params.lr"``), or None for the whole file.

    ``str(err)`` joins them: ``"lesson.gdviz.toml: runs[2].params.lr: must be a
    finite number, got nan"``.
    """

    def __init__(self, message: str, path: str | None = None, where: str | None = None) -> None:
        self.message = message
        self.path = path
        self.where = where
        super().__init__(": ".join(p for p in (path, where, message) if p))


@dataclass(frozen=True)
class LoadedSession:
    """An opened session file.

    Attributes
    ----------
    session
        The checked session.
    warnings
        One line per key that was skipped or value that was replaced (unknown
        keys, unknown theme); empty for a clean file.
    """

    session: Session
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- writing


def _toml_string(s: str, where: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04X}")
        elif 0xD800 <= o <= 0xDFFF:
            # A lone surrogate is not a Unicode scalar value: TOML (and UTF-8)
            # cannot carry it.
            raise SessionError(f"text contains an invalid character U+{o:04X}", where=where)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(k: str, where: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_string(k, where)


def _toml_value(v: Any, where: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise SessionError(f"cannot save a non-finite number ({v!r})", where=where)
        # repr is the shortest text that reads back to the same float, and
        # always has a '.' or an exponent, so TOML reads it as a float.
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v, where)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(e, f"{where}[{i}]") for i, e in enumerate(v)) + "]"
    if isinstance(v, Mapping):
        items = ", ".join(
            f"{_toml_key(str(k), where)} = {_toml_value(e, f'{where}.{k}')}" for k, e in v.items()
        )
        return "{ " + items + " }" if items else "{}"
    raise SessionError(f"cannot save a value of type {type(v).__name__}", where=where)


def _num(v: float | int | bool) -> float | bool:
    # Hyper-parameters are floats or booleans; a whole number typed as 1 is still a float.
    return v if isinstance(v, bool) else float(v)


def dumps_session(session: Session) -> str:
    """The TOML text of ``session`` (what :func:`save_session` writes).

    Raises
    ------
    SessionError
        For values TOML cannot carry faithfully (non-finite numbers, invalid
        characters).
    """
    lines = [
        "# gdviz session: open it with  gdviz FILE  or File → Open.",
        f"format_version = {FORMAT_VERSION}",
    ]

    def put(key: str, value: Any) -> None:
        lines.append(f"{key} = {_toml_value(value, key)}")

    put("function", session.function)
    put("domain", [[float(lo), float(hi)] for lo, hi in session.domain])
    put("start", [float(c) for c in session.start])
    put("steps", int(session.steps))
    put("speed", float(session.speed))
    put("step", int(session.step))
    put("theme", session.theme)
    if session.preset is not None:
        put("preset", session.preset)
    put("noise", float(session.noise))
    put("noise_seed", int(session.noise_seed))
    lines.append("")
    lines.append("[view]")
    for f in fields(ViewSettings):
        v = getattr(session.view, f.name)
        lines.append(f"{f.name} = {_toml_value(v, f'view.{f.name}')}")
    for i, run in enumerate(session.runs):
        where = f"runs[{i}]"
        lines.append("")
        lines.append("[[runs]]")
        lines.append(f"optimizer = {_toml_value(run.optimizer, where + '.optimizer')}")
        params = {k: _num(v) for k, v in run.params.items()}
        lines.append(f"params = {_toml_value(params, where + '.params')}")
        lines.append(f"schedule = {_toml_value(run.schedule, where + '.schedule')}")
        if run.start is not None:
            start = [float(c) for c in run.start]
            lines.append(f"start = {_toml_value(start, where + '.start')}")
        if run.color is not None:
            lines.append(f"color = {_toml_value(run.color, where + '.color')}")
        lines.append(f"visible = {_toml_value(bool(run.visible), where + '.visible')}")
    return "\n".join(lines) + "\n"


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write ``session`` to ``path`` atomically.

    The text is written to a temporary file in the same directory, flushed and
    synced, then renamed over ``path`` (:func:`os.replace` is atomic on one
    file system). If anything fails on the way the temporary file is removed
    and the old file at ``path``, if any, is untouched. An existing file keeps
    its permissions.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    SessionError
        If the session cannot be written as TOML, or the file cannot be written
        (the message carries the system's reason).
    """
    target = Path(path)
    text = dumps_session(session)  # fails before touching the disk
    data = text.encode("utf-8")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SessionError(f"cannot save: {reason}", path=str(target)) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target


# --------------------------------------------------------------------------- reading


class _Reader:
    """Checks one parsed document; collects warnings; raises SessionError on the first error."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.warnings: list[str] = []

    def fail(self, where: str | None, message: str) -> SessionError:
        return SessionError(message, self.source, where)

    def warn_unknown(self, table: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
        for key in table:
            if key not in known:
                where = f"{prefix}{key}" if prefix else key
                self.warnings.append(f"{where}: unknown key, skipped")

    # ---- scalars
    def number(self, v: Any, where: str, lo: float, hi: float) -> float:
        # bool is an int subclass in Python; true is not a number here.
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(where, f"must be a number, got {_show(v)}")
        f = float(v)
        if not math.isfinite(f):
            raise self.fail(where, f"must be a finite number, got {_show(v)}")
        if not lo <= f <= hi:
            raise self.fail(where, f"must be between {lo:g} and {hi:g}, got {f:g}")
        return f

    def integer(self, v: Any, where: str, lo: int, hi: int) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(where, f"must be a whole number, got {_show(v)}")
        if not lo <= v <= hi:
            raise self.fail(where, f"must be a whole number {lo}…{hi}, got {v}")
        return int(v)

    def boolean(self, v: Any, where: str) -> bool:
        if not isinstance(v, bool):
            raise self.fail(where, f"must be true or false, got {_show(v)}")
        return v

    def text(self, v: Any, where: str, limit: int = MAX_TEXT) -> str:
        if not isinstance(v, str):
            raise self.fail(where, f"must be text, got {_show(v)}")
        if len(v) > limit:
            raise self.fail(where, f"is longer than {limit} characters")
        if any((ord(c) < 32 and c != "\t") or ord(c) == 0x7F for c in v):
            raise self.fail(where, "contains control characters")
        return v

    def table(self, v: Any, where: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(where, f"must be a table, got {_show(v)}")
        return v

    def point(self, v: Any, dim: int, where: str) -> tuple[float, ...]:
        if not isinstance(v, list) or len(v) != dim:
            raise self.fail(where, f"must be a list of {dim} number(s), got {_show(v)}")
        return tuple(
            self.number(e, f"{where}[{i}]", -MAX_COORD, MAX_COORD) for i, e in enumerate(v)
        )

    # ---- parts
    def function(self, v: Any) -> tuple[str, int]:
        from gdviz.core.expression import ExpressionError, parse_expression

        text = self.text(v, "function", limit=2000)
        try:
            parsed = parse_expression(text, max_variables=2)
        except ExpressionError as exc:
            raise self.fail("function", f"not a valid function: {exc}") from None
        except RecursionError:
            raise self.fail("function", "not a valid function: nested too deeply") from None
        return text, len(parsed.variables)

    def domain(self, v: Any, dim: int) -> tuple[tuple[float, float], ...]:
        if not isinstance(v, list) or len(v) != dim:
            raise self.fail(
                "domain", f"must be a list of {dim} [low, high] pair(s) (one per variable)"
            )
        out = []
        for i, pair in enumerate(v):
            where = f"domain[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(where, f"must be [low, high], got {_show(pair)}")
            lo, hi = (
                self.number(e, f"{where}[{j}]", -MAX_COORD, MAX_COORD) for j, e in enumerate(pair)
            )
            if not lo < hi:
                raise self.fail(where, f"must go from low to high, got [{lo:g}, {hi:g}]")
            out.append((lo, hi))
        return tuple(out)

    def view(self, v: Any) -> ViewSettings:
        table = self.table(v, "view")
        self.warn_unknown(table, tuple(f.name for f in fields(ViewSettings)), "view.")
        values: dict[str, Any] = {}
        for f in fields(ViewSettings):
            if f.name not in table:
                continue
            where = f"view.{f.name}"
            if f.name == "n_contours":
                values[f.name] = self.integer(table[f.name], where, *N_CONTOURS)
            else:
                values[f.name] = self.boolean(table[f.name], where)
        return ViewSettings(**values)

    def run(self, v: Any, i: int, dim: int) -> RunSpec:
        from gdviz.core.optimizers import OPTIMIZERS
        from gdviz.core.schedules import parse_schedule
        from gdviz.core.specs import SpecError

        where = f"runs[{i}]"
        d = self.table(v, where)
        self.warn_unknown(d, _RUN_KEYS, f"{where}.")
        if "optimizer" not in d:
            raise self.fail(where, "missing 'optimizer'")
        name = self.text(d["optimizer"], f"{where}.optimizer", limit=40)
        spec = OPTIMIZERS.get(name)
        if spec is None:
            raise self.fail(
                f"{where}.optimizer",
                f"unknown optimizer {name!r} (known: {', '.join(OPTIMIZERS)})",
            )
        raw = self.table(d.get("params", {}), f"{where}.params")
        known = {hp.name for hp in spec.hyperparams}
        given: dict[str, float | bool] = {}
        for k, val in raw.items():
            pw = f"{where}.params.{k}"
            if k not in known:
                self.warnings.append(f"{pw}: {name} has no setting {k!r}, skipped")
                continue
            if isinstance(val, bool):
                given[k] = val
            else:
                given[k] = self.number(val, pw, -math.inf, math.inf)
        try:
            params = spec.resolve(given, fill_defaults=False)
        except SpecError as exc:
            raise self.fail(f"{where}.params", str(exc)) from None
        schedule = "constant"
        if "schedule" in d:
            schedule = self.text(d["schedule"], f"{where}.schedule", limit=200)
            try:
                parse_schedule(schedule)
            except SpecError as exc:
                raise self.fail(f"{where}.schedule", str(exc)) from None
        start = self.point(d["start"], dim, f"{where}.start") if "start" in d else None
        color = None
        if "color" in d:
            color = self.text(d["color"], f"{where}.color", limit=7)
            if not _COLOR.match(color):
                raise self.fail(f"{where}.color", f"must look like #rrggbb, got {color!r}")
        visible = self.boolean(d["visible"], f"{where}.visible") if "visible" in d else True
        return RunSpec(
            optimizer=name,
            params=params,
            schedule=schedule,
            start=start,
            color=color,
            visible=visible,
        )

    def session(self, doc: dict[str, Any]) -> Session:
        if "format_version" not in doc:
            raise self.fail(None, "not a gdviz session file (no 'format_version')")
        version = doc["format_version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise self.fail("format_version", f"must be a whole number >= 1, got {_show(version)}")
        if version > FORMAT_VERSION:
            raise self.fail(
                "format_version",
                f"written by a newer gdviz (format {version}); this one reads format "
                f"{FORMAT_VERSION} — update gdviz to open it",
            )
        self.warn_unknown(doc, _TOP_KEYS, "")
        for key in ("function", "domain", "start", "runs"):
            if key not in doc:
                raise self.fail(None, f"missing '{key}'")
        function, dim = self.function(doc["function"])
        domain = self.domain(doc["domain"], dim)
        start = self.point(doc["start"], dim, "start")
        steps = self.integer(doc.get("steps", 500), "steps", 1, MAX_STEPS)
        speed = self.number(doc.get("speed", 30.0), "speed", MIN_SPEED, MAX_SPEED)
        step = self.integer(doc.get("step", 0), "step", 0, steps)
        theme = "dark"
        if "theme" in doc:
            t = self.text(doc["theme"], "theme", limit=40)
            if t in KNOWN_THEMES:
                theme = t
            else:
                self.warnings.append(f"theme: unknown theme {t!r}, using 'dark'")
        preset = None
        if "preset" in doc:
            preset = self.text(doc["preset"], "preset", limit=64)
            if not _NAME.match(preset):
                raise self.fail("preset", f"must be a short name, got {preset!r}")
        noise = self.number(doc.get("noise", 0.0), "noise", 0.0, MAX_NOISE)
        noise_seed = self.integer(doc.get("noise_seed", 0), "noise_seed", 0, 2**63 - 1)
        view = self.view(doc["view"]) if "view" in doc else ViewSettings()
        runs_in = doc["runs"]
        if not isinstance(runs_in, list) or not runs_in:
            raise self.fail("runs", "needs at least one [[runs]] table")
        if len(runs_in) > MAX_RUNS:
            raise self.fail("runs", f"at most {MAX_RUNS} runs, got {len(runs_in)}")
        runs = tuple(self.run(r, i, dim) for i, r in enumerate(runs_in))
        return Session(
            function=function,
            domain=domain,
            start=start,
            runs=runs,
            steps=steps,
            view=view,
            speed=speed,
            step=step,
            theme=theme,
            preset=preset,
            noise=noise,
            noise_seed=noise_seed,
        )


def _show(v: Any) -> str:
    """A short, safe description of a value for a message."""
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "…"


def loads_session(text: str, source: str | None = None) -> LoadedSession:
    """Read a session from TOML text.

    Parameters
    ----------
    text
        The file's contents.
    source
        How to name the file in messages (None: no name).

    Raises
    ------
    SessionError
        Too large, not TOML (with TOML's line and column), nested too deeply,
        a missing key, a value of the wrong type, non-finite or out of range,
        an unknown optimizer or setting, a bad schedule, or a function the
        expression parser rejects.
    """
    reader = _Reader(source)
    if len(text) > MAX_FILE_BYTES:
        raise reader.fail(None, f"too large for a session file (over {MAX_FILE_BYTES // 1024} KiB)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise reader.fail(None, f"not valid TOML ({exc})") from None
    except RecursionError:
        raise reader.fail(None, "nested too deeply to be a session file") from None
    return session_from_table(doc, source)


def session_from_table(doc: Mapping[str, Any], source: str | None = None) -> LoadedSession:
    """Check an already parsed TOML table and build the session it describes.

    This is :func:`loads_session` after the TOML parsing, for readers of other
    files that embed a session (lessons); ``source`` names the file in messages.

    Raises
    ------
    SessionError
        As :func:`loads_session`.
    """
    reader = _Reader(source)
    try:
        session = reader.session(dict(doc))
    except RecursionError:
        raise reader.fail(None, "nested too deeply to be a session file") from None
    return LoadedSession(session, tuple(reader.warnings))


def load_session(path: str | os.PathLike[str]) -> LoadedSession:
    """Open a session file.

    The file is read only up to :data:`MAX_FILE_BYTES` (+1, to know it is
    larger), must be UTF-8, and is then checked by :func:`loads_session`.

    Raises
    ------
    SessionError
        For a file that cannot be read, is too large, is not UTF-8 text, or
        does not pass :func:`loads_session`'s checks.
    """
    p = Path(path)
    source = str(p)
    try:
        with open(p, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SessionError(f"cannot open: {exc.strerror or exc}", source) from None
    if len(data) > MAX_FILE_BYTES:
        raise SessionError(
            f"too large for a session file (over {MAX_FILE_BYTES // 1024} KiB)", source
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SessionError(f"not a text file (invalid UTF-8 at byte {exc.start})", source) from None
    return loads_session(text, source)
