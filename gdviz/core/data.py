"""Datasets for dataset mode: named float64 columns, built-in generators, CSV import.

A :class:`Dataset` is a small table of samples: equally long, finite float64
columns with names a loss can use (``x``, ``y`` …). gdviz makes three kinds
itself, seeded so that the same seed gives the same samples::

    make_builtin("line")       # y = 1.5 x + 0.5 + noise
    make_builtin("outliers")   # the same line, with a tenth of the points far off
    make_builtin("classes")    # two classes (y = -1 or +1) along x, for logistic regression

and :func:`load_csv` reads a CSV file with a header row, keeping the columns a
person picks. Every problem with a file (missing, a folder, too large, empty,
a cell that is not a number, a missing value, a column that does not exist …)
is a :class:`DataError` whose message says what and where; nothing is returned
half-read.

:class:`BatchSampler` decides which samples each step of gradient descent
sees: all of them (batch), one (stochastic) or ``b`` (mini-batch), in a fresh
seeded shuffle each epoch, with an independent stream for every run.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BUILTINS",
    "MAX_CSV_BYTES",
    "MAX_CSV_ROWS",
    "MAX_VALUE",
    "BatchSampler",
    "BuiltinSpec",
    "DataError",
    "Dataset",
    "load_csv",
    "load_data",
    "make_builtin",
    "parse_columns",
]

#: Largest CSV file gdviz reads, in bytes.
MAX_CSV_BYTES = 64 * 1024 * 1024
#: Most data rows gdviz reads from a CSV file.
MAX_CSV_ROWS = 1_000_000
#: Most columns gdviz reads from a CSV file.
MAX_CSV_COLUMNS = 1000
#: Largest magnitude of a sample value. Beyond it a square of one sample, or
#: the span of a column on the plot's axis, is near float64's limit (1.8e308)
#: or past it: losses overflow and the drawing's coordinates become inf.
MAX_VALUE = 1e100
#: Longest column name kept (longer names are not names, they are text).
MAX_NAME_LENGTH = 32
#: Text that means "no value here" in CSV files written by spreadsheets and pandas.
_MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "?", "#n/a", "nat"}
#: Characters of text the fast CSV path reads at a time (about 50,000 short rows):
#: each piece's work is a few milliseconds, so a window reading a file on another
#: thread gets the interpreter lock back that often.
_FAST_CHUNK = 1 << 20


class DataError(ValueError):
    """A dataset that cannot be made or read; ``str(err)`` is one clear line."""


# --------------------------------------------------------------------------- #
# Dataset
# --------------------------------------------------------------------------- #


def _is_name(name: str) -> bool:
    """A column name a formula can refer to (checked again by the parser)."""
    return (
        isinstance(name, str)
        and name.isascii()
        and name.isidentifier()
        and not name.startswith("_")
        and len(name) <= MAX_NAME_LENGTH
    )


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples as named float64 columns of equal length.

    Parameters
    ----------
    name
        A short name shown to people, e.g. ``"line"`` or a file name.
    columns
        Column name → values. Values are copied into read-only float64 arrays;
        every column must be 1-D, finite and as long as the others.
    source
        Where the data came from: ``"builtin:line"`` or a file path.
    description
        One sentence about the data.
    model
        The model the data panel draws, as text in the parameters and one
        column (e.g. ``"w*x + b"``), or None when gdviz should not guess.
    link
        ``"identity"`` (the model is a line through the samples) or
        ``"sigmoid"`` (the model gives a probability; labels are ±1 or 0/1).
    default_loss
        A per-sample loss that suits the data, e.g. ``"(w*x + b - y)^2"``.

    Raises
    ------
    DataError
        If a column is empty, not 1-D, not finite, not numeric, or the lengths differ.
    """

    name: str
    columns: Mapping[str, np.ndarray]
    source: str = ""
    description: str = ""
    model: str | None = None
    link: str = "identity"
    default_loss: str | None = None

    def __post_init__(self) -> None:
        if not self.columns:
            raise DataError(f"{self.name}: a dataset needs at least one column")
        cols: dict[str, np.ndarray] = {}
        n = None
        for key, values in self.columns.items():
            if not isinstance(key, str) or not key:
                raise DataError(f"{self.name}: column names must be non-empty text, not {key!r}")
            try:
                arr = np.array(values, dtype=np.float64)
            except (TypeError, ValueError):
                raise DataError(f"{self.name}: column '{key}' is not numeric") from None
            if arr.ndim != 1:
                raise DataError(f"{self.name}: column '{key}' must be 1-D, not shape {arr.shape}")
            if n is None:
                n = arr.size
            elif arr.size != n:
                raise DataError(
                    f"{self.name}: column '{key}' has {arr.size} values but the others have {n}"
                )
            if not np.isfinite(arr).all():
                row = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise DataError(
                    f"{self.name}: column '{key}' has a value that is not a finite number "
                    f"(sample {row + 1}: {arr[row]})"
                )
            if arr.size and float(np.abs(arr).max()) > MAX_VALUE:
                row = int(np.argmax(np.abs(arr)))
                raise DataError(
                    f"{self.name}: column '{key}' has a value too large to use "
                    f"(sample {row + 1}: {arr[row]}); values must lie within "
                    f"±{MAX_VALUE:g}: rescale the column"
                )
            arr.setflags(write=False)
            cols[key] = arr
        if not n:
            raise DataError(f"{self.name}: the dataset has no samples")
        if self.link not in ("identity", "sigmoid"):
            raise DataError(f"link must be 'identity' or 'sigmoid', not {self.link!r}")
        object.__setattr__(self, "columns", cols)

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(next(iter(self.columns.values())).size)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(self.columns)

    def column(self, name: str) -> np.ndarray:
        """One column (read-only); raises :class:`DataError` naming the columns there are."""
        try:
            return self.columns[name]
        except KeyError:
            raise DataError(_unknown_column(name, self.names, self.name)) from None

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, n={self.n}, columns={self.names!r})"


def _unknown_column(name: str, names: Sequence[str], where: str) -> str:
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    return f"{where}: no column '{name}' (the columns are {', '.join(names)}){hint}"


# --------------------------------------------------------------------------- #
# Built-in datasets
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class BuiltinSpec:
    """A built-in generated dataset.

    Attributes
    ----------
    name
        The name used in ``--data builtin:NAME``.
    label
        A short title.
    description
        What the samples are.
    default_n
        Samples made unless ``n`` is given.
    """

    name: str
    label: str
    description: str
    default_n: int


#: Built-in datasets by name.
BUILTINS: dict[str, BuiltinSpec] = {
    spec.name: spec
    for spec in (
        BuiltinSpec(
            "line",
            "Noisy line",
            "y = 1.5 x + 0.5 plus Gaussian noise (σ = 0.5), x uniform in [-2, 2]",
            100,
        ),
        BuiltinSpec(
            "outliers",
            "Noisy line with outliers",
            "the noisy line, with one sample in ten moved 4 to 8 units up",
            100,
        ),
        BuiltinSpec(
            "classes",
            "Two classes",
            "labels y = -1 (x around -1) and y = +1 (x around 1.5), overlapping",
            100,
        ),
    )
}
_ALIASES = {"two-class": "classes", "twoclass": "classes", "logistic": "classes"}

#: Largest n a built-in generator makes.
MAX_BUILTIN_N = 10_000_000


def make_builtin(name: str, n: int | None = None, seed: int = 0) -> Dataset:
    """Generate a built-in dataset.

    Parameters
    ----------
    name
        One of :data:`BUILTINS` (``line``, ``outliers``, ``classes``).
    n
        Number of samples (default: the dataset's own).
    seed
        Seed of the generator: the same seed gives the same samples.

    Raises
    ------
    DataError
        For an unknown name, or ``n`` / ``seed`` out of range.
    """
    key = _ALIASES.get(name, name)
    spec = BUILTINS.get(key)
    if spec is None:
        close = difflib.get_close_matches(name, list(BUILTINS), n=1, cutoff=0.5)
        hint = f" — did you mean {close[0]}?" if close else ""
        raise DataError(f"no built-in dataset '{name}' (choose from {', '.join(BUILTINS)}){hint}")
    n = spec.default_n if n is None else n
    if isinstance(n, bool) or int(n) != n or not 1 <= n <= MAX_BUILTIN_N:
        raise DataError(f"builtin:{key}: n must be a whole number from 1 to {MAX_BUILTIN_N:,}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise DataError(f"builtin:{key}: seed must be a whole number >= 0, not {seed!r}")
    n, seed = int(n), int(seed)
    rng = np.random.default_rng(seed)
    common = {"source": f"builtin:{key}", "description": spec.description, "model": "w*x + b"}
    if key in ("line", "outliers"):
        x = rng.uniform(-2.0, 2.0, n)
        y = 1.5 * x + 0.5 + rng.normal(0.0, 0.5, n)
        if key == "outliers":
            k = max(1, n // 10) if n >= 5 else 0
            which = rng.choice(n, size=k, replace=False)
            y[which] += rng.uniform(4.0, 8.0, k)
        return Dataset(key, {"x": x, "y": y}, default_loss="(w*x + b - y)^2", **common)
    # Two overlapping classes; labels ±1 so the logistic loss reads log(1 + exp(-y·z)).
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    x = np.where(y > 0, rng.normal(1.5, 0.9, n), rng.normal(-1.0, 0.9, n))
    return Dataset(
        key,
        {"x": x, "y": y},
        link="sigmoid",
        default_loss="log(1 + exp(-y*(w*x + b)))",
        **common,
    )


# --------------------------------------------------------------------------- #
# CSV
# --------------------------------------------------------------------------- #


def parse_columns(text: str | Sequence[str] | None) -> list[tuple[str, str]] | None:
    """Parse a choice of columns: ``"x,y"`` or ``"x=Sepal Length,y=label"``.

    Returns ``[(name, header), ...]``: the name the loss uses and the CSV
    header it comes from (equal when not renamed); None for all columns.
    """
    if text is None:
        return None
    items = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    if not items or any(not p for p in items):
        raise DataError(f"columns {text!r}: give names separated by commas, e.g. x,y")
    out: list[tuple[str, str]] = []
    for item in items:
        name, eq, header = item.partition("=")
        name, header = name.strip(), header.strip() if eq else name.strip()
        if not name or not header:
            raise DataError(f"columns: {item!r} must be NAME or NAME=HEADER")
        if not _is_name(name):
            raise DataError(
                f"columns: '{name}' cannot name a column in a formula "
                "(use letters, digits and _, starting with a letter)"
            )
        out.append((name, header))
    names = [n for n, _ in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise DataError(f"columns: '{sorted(dup)[0]}' is chosen twice")
    return out


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a CSV file")
    if st.st_size > max_bytes:
        raise DataError(
            f"{path}: the file is {st.st_size / 1e6:.1f} MB; gdviz reads CSV files up to "
            f"{max_bytes / 1e6:.0f} MB"
        )
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:  # grew while we looked
        raise DataError(f"{path}: the file is larger than {max_bytes / 1e6:.0f} MB")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{path}: this is not a text file (it contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            raise DataError(f"{path}: not UTF-8 text (bad byte at position {exc.start})") from None


def _delimiter(first_line: str) -> str:
    """Comma, unless the header clearly uses semicolons or tabs instead."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    if counts[","]:
        return ","
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``io.StringIO(text, newline="")`` gives them.

    The first 64 KiB (to a newline) at once, the rest only when asked for:
    copying a big file into a StringIO holds the interpreter lock for tens of
    milliseconds, which a window reading on another thread would feel, and
    the fast path needs only the header. A newline always ends a line, so
    cutting after one changes no line.
    """
    cut = text.find("\n", 1 << 16) + 1
    if not cut:
        yield from io.StringIO(text, newline="")
        return
    yield from io.StringIO(text[:cut], newline="")
    yield from io.StringIO(text[cut:], newline="")


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


#: 10**k as floats, exactly (every one up to 10**22 is a double).
_POW10 = np.array([float(10**k) for k in range(23)])
#: Largest significand divided exactly (2**53: every integer up to it is a double).
_MAX_EXACT = 2**53


def _plain_decimals(raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """Cells ``raw[starts[i]:ends[i]]`` of the form ``-?digits[.digits]``, as float64; else None.

    All at once with NumPy, and exactly what :class:`float` gives: with the
    digits as an integer ``m <= 2**53`` and ``f <= 22`` digits after the
    point, ``m`` and ``10**f`` are exact doubles and IEEE division rounds
    ``m / 10**f`` correctly, as ``float`` does (Clinger's fast path).
    Anything else (an exponent, ``+``, spaces, more digits, nan …) gives None
    and the cells go to ``float``.
    """
    n = starts.size
    lengths = ends - starts
    if n == 0 or lengths.min() < 1 or lengths.max() > 20:
        return None
    width = int(lengths.max())
    # Column p of `chars` holds each cell's p-th byte, 0 past its end (NUL is no cell's).
    at = starts[None, :] + np.arange(width)[:, None]
    chars = raw[np.minimum(at, raw.size - 1)]
    chars[at >= ends[None, :]] = 0
    neg = chars[0] == ord("-")
    m = np.zeros(n, np.int64)
    digits = np.zeros(n, np.int64)
    after = np.zeros(n, np.int64)
    point = np.zeros(n, bool)
    bad = np.zeros(n, bool)
    for p in range(width):
        c = chars[p]
        d = c - np.uint8(48)  # wraps around below "0": only digits are < 10
        is_digit = d < 10
        m = np.where(is_digit, m * 10 + d, m)  # wraps past 18 digits: refused below
        digits += is_digit
        after += is_digit & point
        is_point = c == ord(".")
        bad |= is_point & point
        point |= is_point
        other = ~is_digit & ~is_point & (c != 0)
        bad |= (other & ~neg) if p == 0 else other
    if bad.any() or digits.min() < 1 or digits.max() > 18 or m.max() > _MAX_EXACT:
        return None
    values = m.astype(np.float64) / _POW10[after]
    return np.where(neg, -values, values)


def _fast_columns(
    text: str, delimiter: str, width: int, wanted: Sequence[int], max_rows: int
) -> tuple[list[np.ndarray], int] | None:
    r"""The chosen columns of a plain CSV file, read fast; None when it is not plain.

    ``text`` is the whole file with its header on the first line (a physical
    line: the csv module read it as one); the header has been checked already.
    This reads the same numbers as the exact, cell-by-cell reader of
    :func:`load_csv` (bit for bit), or gives up and returns None, after which
    the exact reader runs and says what is wrong and where. Given up for:
    quotes or NUL in the data, ``\r`` other than in ``\r\n``, a row with
    another number of cells than the header (a blank line in the middle is
    one), a cell too long for the csv module, and any chosen cell that
    :class:`float` refuses or reads as nan or ±inf. More than ``max_rows``
    rows, all good up to there, give a row count above ``max_rows`` (the
    exact reader refuses the file at that row).

    Why the results are the same: without quotes and lone ``\r`` the csv
    module's rows are exactly the lines split at the delimiter, and every line
    is checked to have the header's number of cells (its delimiters and
    newline, found with NumPy in the UTF-8 bytes, where neither can be part of
    another character). Cells written ``-?digits[.digits]`` (most numbers in
    most files) are converted by :func:`_plain_decimals`, exactly as ``float``
    converts them. Other cells go to ``np.array(cells, dtype=float64)``, which
    calls Python's own ``float`` on each str (same rounding, same spellings:
    spaces around the number, ``1_000``, ``+3``, ``1e5``), and ``float(s) ==
    float(s.strip())`` as both strip the same whitespace. A row the exact
    reader skips as blank has only blank cells, which ``float`` refuses, so
    such a file goes to the exact reader. Trailing blank lines are skipped by
    both.
    """
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None  # a lone \r ends a row for the csv module, not for str.split
        text = text.replace("\r\n", "\n")
    # The data are text[start:stop], without trailing blank lines. Indices, not
    # copies: each copy of a big file holds the interpreter lock for milliseconds.
    start = text.find("\n") + 1
    stop = len(text)
    while stop > start and text[stop - 1] == "\n":
        stop -= 1
    # Quotes in the header are fine (it is read already), not in the data.
    if not start or stop <= start or text.find('"', start, stop) >= 0:
        return None
    if text.find("\x00", start, stop) >= 0:
        return None
    limit = csv.field_size_limit()
    dcode, ncode = ord(delimiter), ord("\n")
    pattern = np.full(width, dcode, dtype=np.uint8)
    pattern[-1] = ncode
    parts: list[list[np.ndarray]] = [[] for _ in wanted]
    n_rows = 0
    pos = start
    while pos < stop and n_rows <= max_rows:
        end = text.find("\n", min(pos + _FAST_CHUNK, stop), stop)
        end = stop if end < 0 else end
        chunk = text[pos:end] + "\n"
        pos = end + 1
        raw = np.frombuffer(chunk.encode("utf-8"), dtype=np.uint8)
        seps = np.flatnonzero((raw == dcode) | (raw == ncode))
        if seps.size % width or not (raw[seps].reshape(-1, width) == pattern).all():
            return None  # some line has another number of cells (or is blank)
        # The longest cell in bytes (at least its length in characters).
        if max(int(seps[0]), int(np.diff(seps).max(initial=1)) - 1) >= limit:
            return None
        rows = seps.size // width
        starts = np.concatenate(([0], seps[:-1] + 1))
        cells: list[str] | None = None  # split only when some column needs float()
        # Past max_rows only the rows up to it matter: the exact reader stops there.
        keep = min(rows, max_rows - n_rows)
        n_rows += rows
        for j, out in zip(wanted, parts, strict=True):
            pick = slice(j, keep * width, width)
            values = _plain_decimals(raw, starts[pick], seps[pick])
            if values is None:
                if cells is None:
                    cells = chunk[:-1].replace("\n", delimiter).split(delimiter)
                    if len(cells) != rows * width:  # cannot happen after the check above
                        return None
                try:
                    values = np.array(cells[pick], dtype=np.float64)
                except (ValueError, TypeError, OverflowError):
                    return None
                if not np.isfinite(values).all():
                    return None
            out.append(values)
        # The exact reader counts only rows with something in them: the row
        # after the first max_rows (all good) must not be blank.
        if n_rows > max_rows:
            row = chunk[:-1].split("\n")[keep].split(delimiter)
            if not any(c.strip() for c in row):
                return None
    return [np.concatenate(p) for p in parts], n_rows


def load_csv(
    path: str | os.PathLike[str],
    columns: str | Sequence[str] | None = None,
    *,
    max_bytes: int = MAX_CSV_BYTES,
    max_rows: int = MAX_CSV_ROWS,
) -> Dataset:
    """Read samples from a CSV file with a header row.

    Parameters
    ----------
    path
        The file. Comma-separated (semicolons or tabs are recognised from the
        header), UTF-8 (a BOM is fine), first row = column names.
    columns
        The columns to keep, as ``"x,y"``, ``"x=Sepal Length,y=label"`` or a
        list of such items; None keeps every column (then all must be numeric
        and named so a formula can use them).
    max_bytes, max_rows
        Limits: a larger file is refused with its size.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        With what and where: a missing file, a folder, too large, empty, no
        data rows, a row with the wrong number of cells, an unknown column, a
        cell that is not a number or is missing (with its line and column).
    """
    p = Path(os.fspath(path))
    text = _read_text(p, max_bytes)
    if not text or text.isspace():  # (not text.strip(), without copying a big file)
        raise DataError(f"{p}: the file is empty")
    lead = text.lstrip("\r\n")
    first = lead[: lead.find("\n")] if "\n" in lead else lead
    delimiter = _delimiter(first)
    reader = csv.reader(_lines(text), delimiter=delimiter)
    header: list[str] | None = None
    header_line = 0
    try:
        for row in reader:
            if any(c.strip() for c in row):
                header = [c.strip() for c in row]
                header_line = reader.line_num
                break
    except csv.Error as exc:
        raise DataError(f"{p}: line {reader.line_num}: {exc}") from None
    if header is None:
        raise DataError(f"{p}: the file is empty")
    if len(header) > MAX_CSV_COLUMNS:
        raise DataError(f"{p}: {len(header)} columns; gdviz reads up to {MAX_CSV_COLUMNS}")
    if all(_number(h) is not None for h in header if h):
        raise DataError(
            f"{p}: line {header_line} holds numbers, not column names — the first row "
            "must name the columns (e.g. x,y)"
        )
    for j, h in enumerate(header):
        if not h:
            raise DataError(f"{p}: column {j + 1} of the header has no name")
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise DataError(f"{p}: the header names column '{h}' twice")
        seen.add(h)

    chosen = parse_columns(columns)
    if chosen is None:
        bad = [h for h in header if not _is_name(h)]
        if bad:
            raise DataError(
                f"{p}: column '{bad[0]}' cannot be used in a formula as it is named; "
                f"choose columns and rename them, e.g. --columns x='{bad[0]}'"
            )
        chosen = [(h, h) for h in header]
    where: list[tuple[str, int]] = []
    for name, h in chosen:
        if h not in header:
            raise DataError(_unknown_column(h, header, str(p)))
        where.append((name, header.index(h)))

    width = len(header)
    if header_line == 1:
        # Most files are plain numbers: read those fast, the rest cell by cell.
        fast = _fast_columns(text, delimiter, width, [j for _, j in where], max_rows)
        if fast is not None:
            arrays, n_rows = fast
            if n_rows > max_rows:
                raise DataError(f"{p}: more than {max_rows:,} data rows; gdviz reads up to that")
            cols = {name: a for (name, _), a in zip(where, arrays, strict=True)}
            return Dataset(p.name, cols, source=str(p), description=f"{n_rows} rows from {p.name}")

    values: list[list[float]] = [[] for _ in where]
    n_rows = 0
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                continue  # blank lines (often the last one) are not samples
            line = reader.line_num
            n_rows += 1
            if n_rows > max_rows:
                raise DataError(f"{p}: more than {max_rows:,} data rows; gdviz reads up to that")
            if len(row) != width:
                raise DataError(f"{p}: line {line} has {len(row)} cells but the header has {width}")
            for (_name, j), out in zip(where, values, strict=True):
                cell = row[j].strip()
                v = _number(cell)
                label = f"column '{header[j]}'"
                if v is None:
                    if cell.lower() in _MISSING:
                        raise DataError(
                            f"{p}: line {line}, {label}: missing value"
                            + (f" ({cell!r})" if cell else "")
                            + " — remove the row or fill it in"
                        )
                    raise DataError(f"{p}: line {line}, {label}: {cell!r} is not a number")
                if not math.isfinite(v):
                    if math.isnan(v):
                        raise DataError(f"{p}: line {line}, {label}: missing value ({cell!r})")
                    raise DataError(f"{p}: line {line}, {label}: {cell!r} is not a finite number")
                out.append(v)
    except csv.Error as exc:
        raise DataError(f"{p}: line {reader.line_num}: {exc}") from None
    if n_rows == 0:
        raise DataError(f"{p}: the header is there but there are no data rows")
    cols = {
        name: np.array(vals, dtype=np.float64)
        for (name, _), vals in zip(where, values, strict=True)
    }
    return Dataset(p.name, cols, source=str(p), description=f"{n_rows} rows from {p.name}")


def load_data(
    spec: str,
    columns: str | Sequence[str] | None = None,
    *,
    max_bytes: int = MAX_CSV_BYTES,
    max_rows: int = MAX_CSV_ROWS,
) -> Dataset:
    """A dataset from ``builtin:NAME[:n=N,seed=S]`` or a CSV path.

    ``columns`` picks (and may rename) columns, for built-ins too.
    """
    if spec.startswith("builtin:"):
        rest = spec[len("builtin:") :]
        name, _, opts = rest.partition(":")
        kwargs: dict[str, int] = {}
        for item in filter(None, (o.strip() for o in opts.split(","))):
            key, eq, val = item.partition("=")
            key = key.strip()
            if not eq or key not in ("n", "seed"):
                raise DataError(f"{spec}: options are n=N and seed=S, not {item!r}")
            try:
                kwargs[key] = int(val)
            except ValueError:
                raise DataError(
                    f"{spec}: {key} must be a whole number, not {val.strip()!r}"
                ) from None
        data = make_builtin(name.strip(), **kwargs)
        chosen = parse_columns(columns)
        if chosen is None:
            return data
        cols = {new: data.column(old) for new, old in chosen}
        # The model and the suggested loss name the original columns x and y.
        same = all(new == old for new, old in chosen) and {"x", "y"} <= set(cols)
        return Dataset(
            data.name,
            cols,
            source=data.source,
            description=data.description,
            model=data.model if same else None,
            link=data.link,
            default_loss=data.default_loss if same else None,
        )
    return load_csv(spec, columns, max_bytes=max_bytes, max_rows=max_rows)


# --------------------------------------------------------------------------- #
# Mini-batches
# --------------------------------------------------------------------------- #


class BatchSampler:
    """Which samples each step uses, for runs that share one batch size.

    Every run has its own seeded stream (seed and the run's index), so a run's
    batches do not depend on which other runs race with it. Each epoch is a
    fresh shuffle of all n samples cut into ``ceil(n / b)`` batches in order;
    the last batch of an epoch is smaller when ``b`` does not divide ``n``
    (every sample is seen exactly once per epoch). With ``b >= n`` every step
    uses all samples (batch gradient descent) and nothing is shuffled.

    Parameters
    ----------
    n
        Number of samples.
    batch_size
        Samples per step ``b`` (1: stochastic; ``None`` or ``>= n``: batch).
    runs
        The run indices this sampler serves (each gets its own stream).
    seed
        The shuffle seed.
    """

    def __init__(self, n: int, batch_size: int | None, runs: Sequence[int], seed: int = 0):
        if n < 1:
            raise ValueError("a sampler needs at least one sample")
        if batch_size is not None and (int(batch_size) != batch_size or batch_size < 1):
            raise ValueError(f"batch size must be a whole number >= 1, not {batch_size!r}")
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, not {seed!r}")
        self.n = int(n)
        self.batch_size = self.n if batch_size is None else min(int(batch_size), self.n)
        self.full = self.batch_size >= self.n
        self.runs = tuple(int(r) for r in runs)
        self.seed = int(seed)
        self.steps_per_epoch = -(-self.n // self.batch_size)
        self._epoch = -1
        self._perms: np.ndarray | None = None
        self._all = np.arange(self.n)
        self._all.setflags(write=False)

    def epoch(self, step: int) -> int:
        """The epoch (from 0) that step ``step``'s batch belongs to."""
        return int(step) // self.steps_per_epoch

    def _bounds(self, step: int) -> tuple[int, int]:
        pos = int(step) % self.steps_per_epoch
        lo = pos * self.batch_size
        return lo, min(lo + self.batch_size, self.n)

    def permutation(self, run: int, epoch: int) -> np.ndarray:
        """The order of the samples in ``epoch`` for run ``run`` (its index, not position)."""
        if self.full:
            return self._all
        seq = np.random.SeedSequence(self.seed, spawn_key=(int(run), int(epoch)))
        return np.random.Generator(np.random.PCG64(seq)).permutation(self.n)

    def indices(self, step: int) -> np.ndarray:
        """Sample indices for ``step``, shape ``(len(runs), b)`` (``b`` smaller at an epoch's end).

        Fast for steps taken in order: one epoch's shuffles are kept.
        """
        if self.full:
            return np.broadcast_to(self._all, (len(self.runs), self.n))
        e = int(step) // self.steps_per_epoch
        if e != self._epoch:
            self._perms = np.stack([self.permutation(r, e) for r in self.runs])
            self._epoch = e
        lo, hi = self._bounds(step)
        assert self._perms is not None
        return self._perms[:, lo:hi]

    def first_run_indices(self, step: int) -> np.ndarray:
        """1-D indices of the first run for ``step``: the fast path for one run."""
        if self.full:
            return self._all
        e = step // self.steps_per_epoch
        if e != self._epoch:
            self._perms = np.stack([self.permutation(r, e) for r in self.runs])
            self._epoch = e
        lo = (step - e * self.steps_per_epoch) * self.batch_size
        return self._perms[0, lo : lo + self.batch_size]  # type: ignore[index]

    def run_indices(self, run: int, step: int) -> np.ndarray:
        """Sample indices run ``run`` (its index) used at ``step``; random access."""
        if self.full:
            return self._all
        lo, hi = self._bounds(step)
        return self.permutation(run, self.epoch(step))[lo:hi]
