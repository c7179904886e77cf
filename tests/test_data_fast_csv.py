"""The fast CSV path reads exactly what the cell-by-cell reader reads, or steps aside.

``load_csv`` tries ``_fast_columns`` (vectorised) first and falls back to the
exact reader whenever a file is not plain. Every file here is read twice, with
the fast path and with it switched off, and the outcomes must be identical: the
same columns bit for bit, the same description, or the same error message.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gdviz.core.data as data
from gdviz.core.data import DataError, load_csv


@contextlib.contextmanager
def _spy():
    """Count the fast path's results: how often it read a file, how often it stepped aside."""
    calls = {"read": 0, "declined": 0}
    real = data._fast_columns

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["read" if out is not None else "declined"] += 1
        return out

    with mock.patch.object(data, "_fast_columns", spy):
        yield calls


def _outcome(path: Path, columns, max_rows: int) -> tuple:
    try:
        d = load_csv(path, columns, max_rows=max_rows)
    except DataError as exc:
        return ("error", str(exc))
    cols = tuple((k, v.dtype.str, v.tobytes()) for k, v in d.columns.items())
    return ("data", d.name, d.source, d.description, cols)


def _both(path: Path, columns=None, max_rows: int = data.MAX_CSV_ROWS) -> tuple[tuple, bool]:
    """(outcome, whether the fast path read it), after checking the exact reader agrees."""
    with _spy() as calls:
        fast = _outcome(path, columns, max_rows)
    with mock.patch.object(data, "_fast_columns", lambda *a, **k: None):
        exact = _outcome(path, columns, max_rows)
    assert fast == exact
    return fast, calls["read"] == 1


def _write(tmp: Path, text: str, encoding: str = "utf-8") -> Path:
    p = tmp / "data.csv"
    p.write_bytes(text.encode(encoding))
    return p


# --------------------------------------------------------------------------- plain files


PLAIN = [
    "x,y\n1,2\n3,4\n",
    "x,y\n1,2\n3,4",  # no final newline
    "x,y\n1,2\n3,4\n\n\n",  # trailing blank lines
    "x,y\r\n1,2\r\n3,4\r\n",  # Windows line ends
    "\ufeffx,y\n1,2\n",  # BOM
    '"x","Sepal Length"\n1,2\n',  # quotes in the header only
    "x;y\n1;2\n-3.5e-2;+4\n",
    "x\ty\n1\t2\n",
    "x\n1\n2\n3\n",
    "x,y\n 1 ,2  \n",  # spaces around cells
    "x,y\n1_000,2\n",  # Python's float reads underscores; so does the exact reader
    "x,y\n1e5,.5\n5.,-0\n",
    "x,y\n1e-400,0.1\n",  # underflows to 0 in both
    "x,y\n0.30000000000000004,9.999999999999999e99\n",  # 16 digits, near the largest value
    "x,label,y\n1,cat,2\n3,dog,4\n",  # a text column not chosen (columns x,y below)
    "x,label,y\n1,caf\u00e9,2\n",  # non-ASCII in a column not chosen
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_files_take_the_fast_path(tmp_path, text):
    columns = "x,y" if "label" in text else None
    if "Sepal" in text:
        columns = "x,y=Sepal Length"
    out, fast = _both(_write(tmp_path, text), columns)
    assert out[0] == "data", out
    assert fast


def test_a_value_too_large_is_refused_alike_by_both_readers(tmp_path):
    # float64's largest: a square of it overflows, and so does the plot's span.
    out, _fast = _both(_write(tmp_path, "x,y\n0.5,1.7976931348623157e308\n"))
    assert out[0] == "error" and "too large" in out[1] and "sample 1" in out[1], out


# --------------------------------------------------------------------------- not plain


NOT_PLAIN = [
    # Every refusal of test_data.py's list …
    ("x,y\n1,2\n3,abc\n", None, r"line 3, column 'y': 'abc' is not a number"),
    ("x,y\n1,2\n3,\n", None, r"line 3, column 'y': missing value"),
    ("x,y\n1,NA\n", None, r"line 2, column 'y': missing value \('NA'\)"),
    ("x,y\n1,nan\n", None, r"line 2, column 'y': missing value"),
    ("x,y\n1,inf\n", None, r"line 2, column 'y': 'inf' is not a finite number"),
    ("x,y\n", None, "no data rows"),
    ("x,y\n1,2,3\n", None, "line 2 has 3 cells but the header has 2"),
    ("x,label\n1,cat\n", None, r"'cat' is not a number"),
    # … and what only the fast path could get wrong.
    ("x,y\n1,2\n3\n", None, "line 3 has 1 cells but the header has 2"),
    ("x,y\n1,2\n3,4,5\n6\n", None, "line 3 has 3 cells"),  # same cell count in total
    ("x,y\n1,2\n\n3,x\n", None, r"line 4, column 'y': 'x' is not a number"),  # blank line
    ("x,y\r\n1,2\r\n3,x\r\n", None, r"line 3, column 'y': 'x'"),
    ("x,y\r1,2\r3,x\r", None, r"line 3, column 'y': 'x'"),  # old Mac line ends
    ("x,y\n1,2\r3,x\n", None, r"line 3, column 'y': 'x'"),  # a lone \r
    ("x,y\n1\r,2\n", None, "line 2 has 1 cells but the header has 2"),  # \r ends the row
    ("x,y\n\r1,2\n", None, None),
    ('x,y\n1,"2\n3"\n', None, r"line 3, column 'y': '2\\n3' is not a number"),
    ('x,y\n1,"2"\n', None, None),  # quoted numbers are numbers
    ("x,y\n1,1e999\n", None, r"'1e999' is not a finite number"),
    ("x,y\n1,-inf\n", None, r"'-inf' is not a finite number"),
    ("x,y\n1,NaN\n", None, r"missing value \('NaN'\)"),
    ("x,y\n1,0x10\n", None, r"'0x10' is not a number"),
    ("x,y\n1,1__0\n", None, r"'1__0' is not a number"),
    ("x,y\n1,\u0661\u0662\n", None, None),  # float reads Arabic-Indic digits: both do
    ("x,y\n1,\u20032\u2003\n", None, None),  # Unicode spaces: stripped by both
    ("x;y\n1,5;2\n", None, r"'1,5' is not a number"),  # a decimal comma
    ("x,y\n,\n1,2\n", None, None),  # a row of empty cells is skipped
    ("x,y\n1,2\n , \n", None, None),
    ("x,y,z\n1,,3\n", "x,z", None),  # a missing value in a column not chosen
    ("\nx,y\n1,2\n", None, None),  # header not on the first line
    ("x,y\n1,2\n  \n3,4\n", None, None),  # a line of spaces is a blank row
    ("x,y\n1,1.2.3\n", None, r"'1.2.3' is not a number"),
    ("x,y\n1,-\n", None, r"missing value \('-'\)"),
    ("x,y\n1,.\n", None, r"'\.' is not a number"),
    ("x,y\n1,1-2\n", None, r"'1-2' is not a number"),
    ("x,y\n1,--1\n", None, r"'--1' is not a number"),
    ("x,y\n1,-.5\n5.,-0.000\n", None, None),
    ("x,y\n9007199254740993,0.1234567890123456789\n", None, None),  # past 2**53, 19 digits
]


@pytest.mark.parametrize(("text", "columns", "message"), NOT_PLAIN)
def test_other_files_read_as_before(tmp_path, text, columns, message):
    out, _fast = _both(_write(tmp_path, text), columns)
    if message is None:
        assert out[0] == "data", out
    else:
        assert out[0] == "error"
        assert re.search(message, out[1]), out[1]


def test_too_many_rows_same_refusal_and_blank_rows_do_not_count(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_FAST_CHUNK", 16)  # many pieces, the limit inside one
    body = "".join(f"{i},{i * 0.5}\n" for i in range(40))
    p = _write(tmp_path, "x,y\n" + body)
    out, fast = _both(p, max_rows=39)
    assert out == ("error", f"{p}: more than 39 data rows; gdviz reads up to that") and fast
    out, fast = _both(p, max_rows=40)
    assert out[0] == "data" and fast
    # A blank row after the limit is not a row: the file is fine (read cell by cell).
    p = _write(tmp_path, "x,y\n" + body + ",\n")
    out, _ = _both(p, max_rows=40)
    assert out[0] == "data"
    # A bad cell before the limit is reported as such, not as too many rows.
    p = _write(tmp_path, "x,y\n" + body.replace("3,1.5", "3,oops"))
    out, fast = _both(p, max_rows=10)
    assert out[0] == "error" and "line 5, column 'y': 'oops'" in out[1] and not fast


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_numbers_far_into_a_big_file(tmp_path, eol):
    rows = [f"{i},{i / 7}" for i in range(20_000)]  # about 400 KB: read in pieces
    rows[15_000] = "1,oops"
    p = _write(tmp_path, eol.join(["x,y", *rows]) + eol)
    out, fast = _both(p)
    assert out == ("error", f"{p}: line 15002, column 'y': 'oops' is not a number")
    assert not fast


@pytest.mark.parametrize("columns", [None, "x"])
def test_cell_longer_than_the_csv_limit_is_refused_as_before(tmp_path, columns):
    import csv

    long = "0" * csv.field_size_limit() + "1"  # float reads it (1.0); the csv module does not
    p = _write(tmp_path, f"x,y\n1,{long}\n")
    out, fast = _both(p, columns)
    assert out[0] == "error" and "field larger than field limit" in out[1] and not fast


# --------------------------------------------------------------------------- generated

#: Plain decimals as people and programs write them: the fast path converts these itself.
_DECIMAL = st.builds(
    lambda sign, whole, point, frac: sign + whole + point + frac,
    st.sampled_from(["", "-"]),
    st.text("0123456789", min_size=1, max_size=12),
    st.sampled_from(["", "."]),
    st.text("0123456789", max_size=10),
) | st.builds(
    lambda sign, frac: sign + "." + frac,
    st.sampled_from(["", "-"]),
    st.text("0123456789", min_size=1, max_size=20),
)
_NUMBER = st.one_of(
    # (Values past data.MAX_VALUE are refused, alike by both readers.)
    st.floats(-data.MAX_VALUE, data.MAX_VALUE).map(repr),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda v: f"{v:g}"),
    st.floats(-1e6, 1e6).map(lambda v: f"{v:.6f}"),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["+3", "1e5", "-0", ".5", "5.", "1_000", " 2 ", "\t7", "1E-3", "007"]),
    _DECIMAL,
)
_ODD = st.sampled_from(
    [
        *("", " ", "nan", "inf", "-Infinity", "NA", "abc", '"1"', "1e999", "1__0", "0x1"),
        *("\u0663", "1.2.3", "-", ".", "1-2", "--1", "-.", "1..2"),
    ]
)


@st.composite
def _files(draw):
    width = draw(st.integers(1, 4))
    delim = draw(st.sampled_from([",", ";", "\t"]))
    n = draw(st.integers(1, 25))
    odd = draw(st.booleans())
    cell = st.one_of(_NUMBER, _ODD) if odd else _NUMBER
    rows = [[draw(cell) for _ in range(width)] for _ in range(n)]
    if odd and draw(st.booleans()):
        r = draw(st.integers(0, n - 1))
        rows[r] = rows[r][: draw(st.integers(0, width))] + draw(st.lists(_NUMBER, max_size=2))
    if delim == "\t":  # a tab is both a delimiter and whitespace: keep cells tab-free
        rows = [[c.replace("\t", " ") for c in row] for row in rows]
    if delim == ",":
        rows = [[c.replace(",", ".") for c in row] for row in rows]
    names = [f"c{j}" for j in range(width)]
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"] if odd else ["\n", "\r\n"]))
    lines = [delim.join(names)] + [delim.join(row) for row in rows]
    if odd and draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), "")
    text = eol.join(lines) + draw(st.sampled_from(["", eol, eol * 3]))
    picked = draw(st.lists(st.sampled_from(names), unique=True, max_size=width))
    columns = ",".join(picked) or None
    return text, columns, odd


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_files(), st.sampled_from([8, 64, 1 << 20]))
def test_generated_files_read_the_same_both_ways(case, chunk):
    text, columns, odd = case
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(data, "_FAST_CHUNK", chunk):
        out, fast = _both(_write(Path(tmp), text), columns)
    if not odd:
        assert fast and out[0] == "data", (text, out)


@settings(max_examples=300, deadline=None)
@given(st.lists(_DECIMAL, min_size=1, max_size=40))
def test_plain_decimals_are_float_bit_for_bit(cells):
    text = ",".join(cells) + ","
    raw = np.frombuffer(text.encode(), np.uint8)
    ends = np.flatnonzero(raw == ord(","))
    starts = np.concatenate(([0], ends[:-1] + 1))
    got = data._plain_decimals(raw, starts, ends)
    digits = ["".join(ch for ch in c if ch.isdigit()) for c in cells]
    if all(
        len(d) <= 18 and int(d) <= 2**53 and len(c) <= 20
        for c, d in zip(cells, digits, strict=True)
    ):
        expected = np.array([float(c) for c in cells])
        assert got is not None and got.tobytes() == expected.tobytes(), cells
    else:
        assert got is None  # too many digits for one exact division: float() reads them


def test_plain_decimals_refuse_what_they_cannot_read():
    for cell in ["1.2.3", "-", ".", "1-2", "--1", "+1", " 1", "1e5", "nan", "1_0", "1,5"]:
        raw = np.frombuffer((cell + "\n").encode(), np.uint8)
        got = data._plain_decimals(raw, np.array([0]), np.array([len(cell)]))
        assert got is None, cell


def test_big_file_same_both_ways(tmp_path):
    rng = np.random.default_rng(7)
    a = rng.normal(size=(300_000, 3)) * np.array([1.0, 1e-5, 1e9])
    p = tmp_path / "big.csv"
    with open(p, "w") as fh:
        fh.write("a,b,c\n")
        for fmt in ("%.6f", "%r", "%.17g"):  # short, shortest-exact and 17-digit spellings
            np.savetxt(fh, a[:100_000], delimiter=",", fmt=fmt if fmt != "%r" else "%s")
            a = a[100_000:]
    out, fast = _both(p, "x=a,b,c")
    assert fast and out[0] == "data" and out[3] == f"300000 rows from {p.name}"
