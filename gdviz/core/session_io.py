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
    color = "#0072B2"
    visible = true

A session in dataset mode has a ``[data]`` table as well; its ``function`` is
then the loss of one sample and its domain and start are in the parameters::

    format_version = 2
    function = "(w*x + b - y)^2"
    domain = [[-1.0, 3.5], [-1.5, 2.5]]
    start = [-0.5, -1.0]

    [data]
    source = "samples.csv"        # or "builtin:line" with n and seed
    columns = "x=height,y=weight"
    batch_sizes = ["batch", 1, 16]  # one per run: all samples, one, sixteen
    shuffle_seed = 0
    penalty = "l2"                # "none", "l2" or "l1"
    lambda = 0.01
    parameters = ["w", "b"]

A CSV file inside the session file's folder is stored relative to it (the
folder can move as a whole) and read relative to the session file, whatever
the working directory; a file elsewhere is stored by its absolute path.
Opening a session reads its data too: a missing or bad CSV file is a
:class:`SessionError` that names the session file and what is wrong with the
data. Files without ``[data]`` are written as format 1, exactly as before, so
older gdviz versions still open them; files with it are format 2, which an
older gdviz refuses with "update gdviz" instead of misreading the per-sample
loss as a function of four variables.

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
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdviz.core.colors import is_color, normalize_color
from gdviz.core.session import HEIGHT_MODES_3D, DataSpec, RunSpec, Session, ViewSettings

if TYPE_CHECKING:
    from gdviz.core.data import Dataset

__all__ = [
    "FORMAT_VERSION",
    "KNOWN_THEMES",
    "MAX_FILE_BYTES",
    "PLAIN_FORMAT_VERSION",
    "SUFFIX",
    "LoadedSession",
    "SessionError",
    "clamp_domain",
    "dumps_session",
    "load_session",
    "loads_session",
    "save_session",
    "session_from_table",
]

#: The newest format: written for sessions in dataset mode; larger numbers are refused.
FORMAT_VERSION = 2
#: The format of sessions without data (what gdviz wrote before dataset mode).
PLAIN_FORMAT_VERSION = 1
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
#: Sizes of built-in datasets a session may ask for (the window's range).
DATA_N = (2, 1_000_000)
#: Largest seed (the window's seed boxes hold 31-bit numbers).
MAX_SEED = 2**31 - 1
#: Largest penalty strength λ (the window's range).
MAX_LAMBDA = 100.0
MAX_PATH = 4096

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
    "data",
    "runs",
)
_DATA_KEYS = (
    "source",
    "n",
    "seed",
    "columns",
    "batch_sizes",
    "shuffle_seed",
    "penalty",
    "lambda",
    "parameters",
)
_RUN_KEYS = ("optimizer", "params", "schedule", "start", "color", "visible")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
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
    dataset
        The samples of a session in dataset mode, already read and checked
        (None for a plain function).
    """

    session: Session
    warnings: tuple[str, ...] = ()
    dataset: Dataset | None = None


def clamp_domain(domain: Any) -> tuple[tuple[float, float], ...]:
    """``domain`` moved, and narrowed if need be, to lie within ±:data:`MAX_COORD`.

    A view window zoomed or panned past what a session file holds is kept as
    wide as it can be and as near to where it was: a window 1e9 wide becomes
    ±1e6, one past the edge slides back inside.

    Raises
    ------
    ValueError
        For a pair that is not two finite numbers, low below high.
    """
    out = []
    for lo, hi in domain:
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"a view range must be finite numbers, low to high, got {lo}, {hi}")
        width = min(hi - lo, 2 * MAX_COORD)  # (hi - lo may overflow to inf)
        lo = min(max(lo, -MAX_COORD), MAX_COORD - width)
        out.append((lo, min(lo + width, MAX_COORD)))
    return tuple(out)


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


def _stored_source(source: str, base_dir: str | os.PathLike[str] | None) -> str:
    """A CSV path as a session file stores it: relative to ``base_dir`` when inside it."""
    if source.startswith("builtin:") or base_dir is None:
        return source
    path = Path(os.path.abspath(source))
    try:
        return path.relative_to(os.path.abspath(base_dir)).as_posix()
    except ValueError:  # elsewhere (or another drive): only the full path finds it
        return str(path)


def _data_lines(data: DataSpec, base_dir: str | os.PathLike[str] | None) -> list[str]:
    lines = ["", "[data]"]

    def put(key: str, value: Any) -> None:
        lines.append(f"{key} = {_toml_value(value, f'data.{key}')}")

    put("source", _stored_source(data.source, base_dir))
    if data.builtin is not None:
        if data.n is not None:
            put("n", int(data.n))
        put("seed", int(data.seed))
    if data.columns is not None:
        put("columns", data.columns)
    put("batch_sizes", ["batch" if b is None else int(b) for b in data.batch_sizes])
    put("shuffle_seed", int(data.shuffle_seed))
    put("penalty", data.penalty)
    put("lambda", float(data.strength))
    put("parameters", list(data.parameters))
    return lines


def dumps_session(session: Session, base_dir: str | os.PathLike[str] | None = None) -> str:
    """The TOML text of ``session`` (what :func:`save_session` writes).

    Parameters
    ----------
    session
        The session.
    base_dir
        The folder the file will be in: a CSV file of dataset mode inside it is
        written relative to it. None writes the path as it is.

    Raises
    ------
    SessionError
        For values TOML cannot carry faithfully (non-finite numbers, invalid
        characters).
    """
    version = PLAIN_FORMAT_VERSION if session.data is None else FORMAT_VERSION
    lines = [
        "# gdviz session: open it with  gdviz FILE  or File → Open.",
        f"format_version = {version}",
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
    if session.data is not None:
        lines += _data_lines(session.data, base_dir)
    # Every run holds its colour (a Session gives one to a run without), so
    # the file reopens with the same colours whatever the palette becomes.
    colors = session.run_colors()
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
        lines.append(f"color = {_toml_value(colors[i], where + '.color')}")
        lines.append(f"visible = {_toml_value(bool(run.visible), where + '.visible')}")
    return "\n".join(lines) + "\n"


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write ``session`` to ``path`` atomically.

    A CSV file of dataset mode inside the file's folder is stored relative to
    it (see :func:`dumps_session`).

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
    # Fails before touching the disk.
    text = dumps_session(session, base_dir=target.parent if str(target.parent) else ".")
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

    def __init__(self, source: str | None, base_dir: str | os.PathLike[str] | None = None) -> None:
        self.source = source
        # Relative data paths are read from the session file's folder, not the
        # working directory (a file opened from the recent-files menu works too).
        if base_dir is None:
            base_dir = Path(source).parent if source else Path(".")
        self.base_dir = Path(base_dir)
        self.warnings: list[str] = []
        self.dataset: Dataset | None = None

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
    def function(self, v: Any, data: DataSpec | None = None) -> tuple[str, int]:
        from gdviz.core.expression import ExpressionError, parse_expression

        text = self.text(v, "function", limit=2000)
        if data is None:
            variables, columns = None, ()
        else:
            # A per-sample loss: the data's columns are data, the parameters the variables.
            assert self.dataset is not None
            variables, columns = data.parameters, self.dataset.names
        try:
            parsed = parse_expression(text, variables=variables, data=columns, max_variables=2)
        except ExpressionError as exc:
            raise self.fail("function", f"not a valid function: {exc}") from None
        except RecursionError:
            raise self.fail("function", "not a valid function: nested too deeply") from None
        if data is not None:
            used = {sym.name for sym in parsed.expr.free_symbols}
            if not used & set(columns):
                raise self.fail(
                    "function",
                    "a loss over data must use a data column (the columns are "
                    f"{', '.join(columns)}), e.g. (w*x + b - y)^2",
                )
        return text, len(parsed.variables)

    def data(self, v: Any) -> DataSpec:
        """The ``[data]`` table; reads the samples into :attr:`dataset`."""
        from gdviz.core.data import DataError, load_csv, load_data, parse_columns
        from gdviz.core.dataset_loss import parse_batch_size
        from gdviz.core.expression import _valid_name

        table = self.table(v, "data")
        self.warn_unknown(table, _DATA_KEYS, "data.")
        if "source" not in table:
            raise self.fail("data", "missing 'source' (builtin:NAME or the path of a CSV file)")
        source = self.text(table["source"], "data.source", limit=MAX_PATH)
        if not source.strip():
            raise self.fail("data.source", "is empty (builtin:NAME or the path of a CSV file)")
        builtin = source[len("builtin:") :] if source.startswith("builtin:") else None
        n = None
        seed = 0
        if builtin is not None:
            if "n" in table:
                n = self.integer(table["n"], "data.n", *DATA_N)
            seed = self.integer(table.get("seed", 0), "data.seed", 0, MAX_SEED)
        else:
            for key in ("n", "seed"):
                if key in table:
                    self.warnings.append(f"data.{key}: only built-in data has it, skipped")
        columns = None
        if "columns" in table:
            columns = self.text(table["columns"], "data.columns")
            try:
                parse_columns(columns)
            except DataError as exc:
                raise self.fail("data.columns", str(exc)) from None
        sizes_in = table.get("batch_sizes", ["batch"])
        if not isinstance(sizes_in, list) or not 1 <= len(sizes_in) <= MAX_RUNS:
            raise self.fail(
                "data.batch_sizes",
                f'must be a list of 1 to {MAX_RUNS} batch sizes, e.g. ["batch", 1, 16], '
                f"got {_show(sizes_in)}",
            )
        sizes: list[int | None] = []
        for i, b in enumerate(sizes_in):
            where = f"data.batch_sizes[{i}]"
            if isinstance(b, bool) or not isinstance(b, int | str):
                raise self.fail(where, f'must be a whole number >= 1 or "batch", got {_show(b)}')
            try:
                sizes.append(parse_batch_size(self.text(b, where, 40) if isinstance(b, str) else b))
            except ValueError as exc:
                raise self.fail(where, str(exc)) from None
        shuffle_seed = self.integer(table.get("shuffle_seed", 0), "data.shuffle_seed", 0, MAX_SEED)
        penalty = self.text(table.get("penalty", "none"), "data.penalty", limit=40)
        if penalty not in ("none", "l2", "l1"):
            raise self.fail("data.penalty", f'must be "none", "l2" or "l1", got {penalty!r}')
        strength = self.number(table.get("lambda", 0.0), "data.lambda", 0.0, MAX_LAMBDA)
        params_in = table.get("parameters")
        if params_in is None:
            raise self.fail(
                "data", 'missing \'parameters\' (the names descent moves, e.g. ["w", "b"])'
            )
        if not isinstance(params_in, list) or not 1 <= len(params_in) <= 2:
            raise self.fail(
                "data.parameters", f"must be a list of one or two names, got {_show(params_in)}"
            )
        params = tuple(self.text(p, f"data.parameters[{i}]", 40) for i, p in enumerate(params_in))
        for i, name in enumerate(params):
            if not _valid_name(name):
                raise self.fail(f"data.parameters[{i}]", f"{name!r} cannot name a parameter")
        if len(set(params)) != len(params):
            raise self.fail("data.parameters", f"names repeat: {', '.join(params)}")

        # The samples themselves: a problem here names the session file and the data's.
        try:
            if builtin is not None:
                opts = ",".join(
                    f"{k}={val}" for k, val in (("n", n), ("seed", seed)) if val is not None
                )
                if ":" in builtin:
                    raise DataError(
                        f"{source}: give the size and seed as n = … and seed = … in [data]"
                    )
                dataset = load_data(f"builtin:{builtin}:{opts}", columns)
                source = dataset.source
            else:
                path = Path(source).expanduser()
                if not path.is_absolute():
                    path = self.base_dir / path
                path = Path(os.path.abspath(path))
                _regular_or_missing(path)
                dataset = load_csv(path, columns)
                source = str(path)
        except DataError as exc:
            raise self.fail("data.source", f"cannot use the data: {exc}") from None
        clash = [p for p in params if p in dataset.names]
        if clash:
            raise self.fail(
                "data.parameters",
                f"'{clash[0]}' is a column of the data, so it cannot be a parameter",
            )
        self.dataset = dataset
        return DataSpec(
            source=source,
            n=n,
            seed=seed,
            columns=columns,
            batch_sizes=tuple(sizes),
            shuffle_seed=shuffle_seed,
            penalty=penalty,
            strength=strength,
            parameters=params,
        )

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
            elif f.name == "height_3d":
                mode = self.text(table[f.name], where, limit=40)
                if mode not in HEIGHT_MODES_3D:
                    raise self.fail(
                        where, f"must be one of {', '.join(HEIGHT_MODES_3D)}, got {_show(mode)}"
                    )
                values[f.name] = mode
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
            if not is_color(color):
                raise self.fail(f"{where}.color", f"must look like #rrggbb, got {color!r}")
            color = normalize_color(color)
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
                f"written by a newer gdviz (format {version}); this one reads formats up to "
                f"{FORMAT_VERSION} — update gdviz to open it",
            )
        self.warn_unknown(doc, _TOP_KEYS, "")
        for key in ("function", "domain", "start", "runs"):
            if key not in doc:
                raise self.fail(None, f"missing '{key}'")
        # The data first: which names in the function are data depends on it.
        data = self.data(doc["data"]) if "data" in doc else None
        function, dim = self.function(doc["function"], data)
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
            data=data,
        )


def _regular_or_missing(path: Path) -> None:
    """Refuse devices, pipes and sockets: a file that names one must not hang the reader."""
    from gdviz.core.data import DataError

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # the CSV reader says what is wrong with a path that is not there
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise DataError(f"{path}: not a regular file")


def _show(v: Any) -> str:
    """A short, safe description of a value for a message."""
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "…"


def loads_session(
    text: str, source: str | None = None, *, base_dir: str | os.PathLike[str] | None = None
) -> LoadedSession:
    """Read a session from TOML text.

    Parameters
    ----------
    text
        The file's contents.
    source
        How to name the file in messages (None: no name).
    base_dir
        Where a relative CSV path in ``[data]`` is read from (default: the
        folder of ``source``, else the working directory).

    Raises
    ------
    SessionError
        Too large, not TOML (with TOML's line and column), nested too deeply,
        a missing key, a value of the wrong type, non-finite or out of range,
        an unknown optimizer or setting, a bad schedule, a function the
        expression parser rejects, or data that cannot be read (a missing or
        bad CSV file, a column that is not there).
    """
    reader = _Reader(source, base_dir)
    if len(text) > MAX_FILE_BYTES:
        raise reader.fail(None, f"too large for a session file (over {MAX_FILE_BYTES // 1024} KiB)")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise reader.fail(None, f"not valid TOML ({exc})") from None
    except RecursionError:
        raise reader.fail(None, "nested too deeply to be a session file") from None
    return session_from_table(doc, source, base_dir=base_dir)


def session_from_table(
    doc: Mapping[str, Any],
    source: str | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
) -> LoadedSession:
    """Check an already parsed TOML table and build the session it describes.

    This is :func:`loads_session` after the TOML parsing, for readers of other
    files that embed a session (lessons); ``source`` names the file in messages
    and ``base_dir`` is where relative data paths are read from.

    Raises
    ------
    SessionError
        As :func:`loads_session`.
    """
    reader = _Reader(source, base_dir)
    try:
        session = reader.session(dict(doc))
    except RecursionError:
        raise reader.fail(None, "nested too deeply to be a session file") from None
    return LoadedSession(session, tuple(reader.warnings), reader.dataset)


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
