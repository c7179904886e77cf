"""Session files: save → open round-trips every field; every kind of bad file is refused clearly."""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdviz.core import session_io
from gdviz.core.session import DataSpec, RunSpec, Session, ViewSettings
from gdviz.core.session_io import (
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    PLAIN_FORMAT_VERSION,
    SessionError,
    dumps_session,
    load_session,
    loads_session,
    save_session,
)

#: A session in which every field differs from its default.
FULL = Session(
    function="(1 - x)^2 + 100(y - x^2)^2 + 0.1·sin(3x)",
    domain=((-2.5, 2.25), (-1.0, 3.5)),
    start=(-1.5, 2.0),
    runs=(
        RunSpec("gd", {"lr": 0.0008}, "constant", None, None, True),
        RunSpec(
            "adam",
            {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "amsgrad": True},
            "cosine:t_max=500,eta_min=0.001",
            (1.25, -0.5),
            "#E69F00",
            False,
        ),
        RunSpec("momentum", {"lr": 1e-5, "momentum": 0.95}, "step:step_size=50,gamma=0.5"),
    ),
    steps=3000,
    view=ViewSettings(
        heatmap=False,
        contours=False,
        n_contours=33,
        log_levels=True,
        gradient_field=True,
        grad_arrows=True,
        step_arrows=False,
        log_loss=True,
        show_grad_norm=True,
        show_lr=True,
        height_3d="log",
        equal_axes=False,
    ),
    speed=123.5,
    step=412,
    theme="light",
    preset="rosenbrock",
    noise=0.25,
    noise_seed=7,
)


def _good_text(**changes: str) -> str:
    """A valid file with some top-level lines replaced (key → full line, or '' to drop)."""
    lines = {
        "format_version": f"format_version = {FORMAT_VERSION}",
        "function": 'function = "x^2 + 3y^2"',
        "domain": "domain = [[-3.0, 3.0], [-3.0, 3.0]]",
        "start": "start = [-2.5, 2.0]",
        "steps": "steps = 200",
        "speed": "speed = 30.0",
        "step": "step = 10",
        "theme": 'theme = "dark"',
    }
    lines.update(changes)
    top = "\n".join(v for v in lines.values() if v)
    return top + '\n\n[[runs]]\noptimizer = "gd"\nparams = { lr = 0.1 }\n'


# ----------------------------------------------------------------------------- round trip


def test_full_session_round_trips_every_field(tmp_path: Path) -> None:
    # Guard: FULL really sets every field away from its default, so a field the
    # writer forgets cannot slip through by matching the default. (The data
    # table has its own round trip below.)
    for f in fields(Session):
        if f.name != "data":
            assert getattr(FULL, f.name) != getattr(Session(), f.name), f.name
    for f in fields(ViewSettings):
        assert getattr(FULL.view, f.name) != getattr(ViewSettings(), f.name), f.name
    path = save_session(FULL, tmp_path / "lesson.gdviz.toml")
    loaded = load_session(path)
    assert loaded.warnings == ()
    assert loaded.session == FULL
    # Twice: saving what was opened gives the same bytes.
    again = save_session(loaded.session, tmp_path / "again.gdviz.toml")
    assert again.read_bytes() == path.read_bytes()


def test_written_file_is_plain_toml_with_a_version(tmp_path: Path) -> None:
    path = save_session(FULL, tmp_path / "s.gdviz.toml")
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    # Without data the file is format 1, as before dataset mode: older gdviz opens it.
    assert doc["format_version"] == PLAIN_FORMAT_VERSION == 1
    assert "data" not in doc
    assert doc["runs"][1]["params"] == {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "amsgrad": True}
    assert doc["view"]["n_contours"] == 33


def test_one_variable_session_round_trips() -> None:
    s = Session(function="x^4 - 3x^2 + x", domain=((-2.0, 2.0),), start=(1.9,), runs=(RunSpec(),))
    assert loads_session(dumps_session(s)).session == s


_awkward_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=30
)


@settings(max_examples=150, deadline=None)
@given(text=_awkward_text)
def test_any_text_is_escaped_and_reads_back(text: str) -> None:
    # The writer must escape quotes, backslashes, control characters and DEL
    # so that tomllib reads back exactly what was written.
    out = session_io._toml_string(text, "t")
    assert tomllib.loads(f"v = {out}")["v"] == text


@settings(max_examples=150, deadline=None)
@given(
    x=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    lr=st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False),
)
def test_floats_round_trip_exactly(x: float, lr: float) -> None:
    s = replace(FULL, start=(x, 0.0), runs=(RunSpec("gd", {"lr": lr}),))
    back = loads_session(dumps_session(s)).session
    assert back.start == (x, 0.0)
    assert back.runs[0].params["lr"] == lr


def test_text_that_toml_cannot_carry_is_refused_on_save() -> None:
    with pytest.raises(SessionError, match="invalid character") as info:
        dumps_session(replace(FULL, function="x\ud800"))
    assert info.value.where == "function"


def test_non_finite_numbers_are_not_saved() -> None:
    with pytest.raises(SessionError, match="non-finite") as info:
        dumps_session(replace(FULL, start=(float("nan"), 0.0)))
    assert info.value.where == "start[0]"


# ----------------------------------------------------------------------------- atomic save


def test_save_replaces_atomically_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "s.gdviz.toml"
    save_session(FULL, path)
    os.chmod(path, 0o640)
    save_session(replace(FULL, step=5), path)
    assert load_session(path).session.step == 5
    assert (os.stat(path).st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["s.gdviz.toml"]  # no temp files left


def test_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.gdviz.toml"
    save_session(FULL, path)
    before = path.read_bytes()

    def crash(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session_io.os, "fsync", crash)
    with pytest.raises(SessionError, match="No space left") as info:
        save_session(replace(FULL, step=1), path)
    assert info.value.path == str(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.gdviz.toml"]


def test_save_bad_session_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.gdviz.toml"
    save_session(FULL, path)
    before = path.read_bytes()
    with pytest.raises(SessionError):
        save_session(replace(FULL, speed=float("inf")), path)
    assert path.read_bytes() == before


def test_save_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="cannot save"):
        save_session(FULL, tmp_path / "nope" / "s.gdviz.toml")


# ----------------------------------------------------------------------------- bad files


def test_the_helper_file_is_good() -> None:
    s = loads_session(_good_text()).session
    assert s.function == "x^2 + 3y^2" and s.steps == 200 and s.step == 10


@pytest.mark.parametrize(
    ("changes", "where", "fragment"),
    [
        ({"format_version": ""}, None, "not a gdviz session"),
        ({"format_version": "format_version = 99"}, "format_version", "newer gdviz"),
        ({"format_version": 'format_version = "1"'}, "format_version", "whole number"),
        ({"function": ""}, None, "missing 'function'"),
        ({"function": "function = 3"}, "function", "must be text"),
        ({"function": "function = \"__import__('os').system('true')\""}, "function", "valid"),
        ({"function": 'function = "x.__class__"'}, "function", "not a valid function"),
        ({"function": 'function = "x + y + z"'}, "function", "variables"),
        ({"function": 'function = "' + "(" * 500 + "x" + ")" * 500 + '"'}, "function", "valid"),
        ({"domain": "domain = [[-3.0, 3.0]]"}, "domain", "2 [low, high]"),
        ({"domain": "domain = [[3.0, -3.0], [-3.0, 3.0]]"}, "domain[0]", "low to high"),
        ({"domain": "domain = [[-3.0, nan], [-3.0, 3.0]]"}, "domain[0][1]", "finite"),
        ({"domain": "domain = [[-3.0, 3.0], [-inf, 3.0]]"}, "domain[1][0]", "finite"),
        ({"domain": "domain = [[-3.0, 1e300], [-3.0, 3.0]]"}, "domain[0][1]", "between"),
        ({"start": "start = [1.0]"}, "start", "2 number"),
        ({"start": 'start = [1.0, "2"]'}, "start[1]", "number"),
        ({"start": "start = [1.0, true]"}, "start[1]", "number"),
        ({"steps": "steps = 0"}, "steps", "1…"),
        ({"steps": "steps = 10000000000"}, "steps", "whole number"),
        ({"steps": "steps = 2.5"}, "steps", "whole number"),
        ({"step": "step = 500"}, "step", "0…200"),
        ({"step": "step = -1"}, "step", "whole number"),
        ({"speed": "speed = 0.0"}, "speed", "between"),
        ({"speed": "speed = nan"}, "speed", "finite"),
        ({"theme": "theme = 1"}, "theme", "text"),
        ({"theme": 'theme = "a\\u0000b"'}, "theme", "control"),
    ],
)
def test_bad_values_name_the_key(changes: dict[str, str], where: str | None, fragment: str) -> None:
    with pytest.raises(SessionError) as info:
        loads_session(_good_text(**changes), "bad.gdviz.toml")
    err = info.value
    assert err.where == where
    assert fragment in err.message
    assert str(err).startswith("bad.gdviz.toml: ")


RUN_HEAD = _good_text().split("[[runs]]")[0]


@pytest.mark.parametrize(
    ("run", "where", "fragment"),
    [
        ('optimizer = "sgd9000"', "runs[0].optimizer", "unknown optimizer"),
        ("params = { lr = 0.1 }", "runs[0]", "missing 'optimizer'"),
        ('optimizer = "gd"\nparams = { lr = -1.0 }', "runs[0].params", "lr"),
        ('optimizer = "gd"\nparams = { lr = nan }', "runs[0].params.lr", "finite"),
        ('optimizer = "gd"\nparams = { lr = "fast" }', "runs[0].params.lr", "number"),
        ('optimizer = "adam"\nparams = { beta1 = 1.0 }', "runs[0].params", "beta1"),
        ('optimizer = "gd"\nparams = 3', "runs[0].params", "table"),
        ('optimizer = "gd"\nschedule = "warp:factor=9"', "runs[0].schedule", "schedule"),
        ('optimizer = "gd"\nstart = [1.0, 2.0, 3.0]', "runs[0].start", "2 number"),
        ('optimizer = "gd"\ncolor = "red"', "runs[0].color", "#rrggbb"),
        ('optimizer = "gd"\ncolor = "#12345g"', "runs[0].color", "#rrggbb"),
        ('optimizer = "gd"\nvisible = "yes"', "runs[0].visible", "true or false"),
    ],
)
def test_bad_runs_name_the_run(run: str, where: str, fragment: str) -> None:
    with pytest.raises(SessionError) as info:
        loads_session(RUN_HEAD + "\n[[runs]]\n" + run + "\n")
    assert info.value.where == where
    assert fragment in info.value.message


def test_runs_missing_empty_or_too_many() -> None:
    with pytest.raises(SessionError, match="missing 'runs'"):
        loads_session(RUN_HEAD)
    with pytest.raises(SessionError, match="at least one"):
        loads_session(RUN_HEAD + "runs = []\n")
    many = RUN_HEAD + '\n[[runs]]\noptimizer = "gd"\n' * 17
    with pytest.raises(SessionError, match="at most 16"):
        loads_session(many)


def test_bad_view_values() -> None:
    with pytest.raises(SessionError) as info:
        loads_session(_good_text() + "\n[view]\nheatmap = 1\n")
    assert info.value.where == "view.heatmap"
    with pytest.raises(SessionError) as info:
        loads_session(_good_text() + "\n[view]\nn_contours = 100000\n")
    assert info.value.where == "view.n_contours"
    for bad, words in (('"sideways"', "clamp, linear, log"), ("3", "must be text")):
        with pytest.raises(SessionError, match=words) as info:
            loads_session(_good_text() + f"\n[view]\nheight_3d = {bad}\n")
        assert info.value.where == "view.height_3d"
    # A file without the key (older files) keeps the default height mode.
    assert loads_session(_good_text()).session.view.height_3d == "clamp"
    loaded = loads_session(_good_text() + '\n[view]\nheight_3d = "log"\n')
    assert loaded.session.view.height_3d == "log"


def test_view_settings_refuse_an_unknown_height_mode() -> None:
    with pytest.raises(ValueError, match="height_3d"):
        ViewSettings(height_3d="tall")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("function = ", "not valid TOML"),
        ('function = "x^2', "not valid TOML"),
        ("[[runs]\n", "not valid TOML"),
        ("a = 1\na = 2\n", "not valid TOML"),  # duplicate keys are an error, not "last wins"
        ("a = " + "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("", "not a gdviz session"),
    ],
)
def test_malformed_toml(text: str, fragment: str) -> None:
    with pytest.raises(SessionError) as info:
        loads_session(text, "x.gdviz.toml")
    assert fragment in str(info.value)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    full = dumps_session(FULL)
    seen = set()
    # Cut the file at many places: each cut is either refused with a
    # SessionError or (when cut at a line boundary late enough) still a valid
    # session — never another exception.
    for cut in range(0, len(full), 7):
        try:
            loads_session(full[:cut])
        except SessionError as exc:
            seen.add(exc.message.split(" ")[0])
    assert "not" in seen  # "not valid TOML" happened


def test_too_large_file_is_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.gdviz.toml"
    path.write_bytes(_good_text().encode() + b"#" * MAX_FILE_BYTES)
    with pytest.raises(SessionError, match="too large"):
        load_session(path)
    with pytest.raises(SessionError, match="too large"):
        loads_session("#" * (MAX_FILE_BYTES + 1))


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="cannot open") as info:
        load_session(tmp_path / "missing.gdviz.toml")
    assert info.value.path == str(tmp_path / "missing.gdviz.toml")
    with pytest.raises(SessionError, match="cannot open"):
        load_session(tmp_path)  # a folder
    binary = tmp_path / "b.gdviz.toml"
    binary.write_bytes(b'format_version = 1\nfunction = "\xff\xfe"\n')
    with pytest.raises(SessionError, match="UTF-8"):
        load_session(binary)


def test_unknown_keys_warn_but_load() -> None:
    text = _good_text(extra="colour_scheme = 'neon'") + ("future = 3\n\n[view]\nsparkles = true\n")
    # "future" sits inside the [[runs]] table above [view]: a run-level unknown key.
    loaded = loads_session(text)
    assert loaded.session.function == "x^2 + 3y^2"
    joined = "\n".join(loaded.warnings)
    assert "colour_scheme: unknown key" in joined
    assert "runs[0].future: unknown key" in joined
    assert "view.sparkles: unknown key" in joined


def test_unknown_hyperparameter_and_theme_warn() -> None:
    text = RUN_HEAD.replace('theme = "dark"', 'theme = "neon"') + (
        '\n[[runs]]\noptimizer = "gd"\nparams = { lr = 0.1, warp = 9.0 }\n'
    )
    loaded = loads_session(text)
    assert loaded.session.theme == "dark"
    assert loaded.session.runs[0].params == {"lr": 0.1}
    assert any("warp" in w for w in loaded.warnings)
    assert any("neon" in w for w in loaded.warnings)


def test_hostile_function_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    text = _good_text(function=f"function = {session_io._toml_string(payload, 'f')}")
    with pytest.raises(SessionError) as info:
        loads_session(text)
    assert info.value.where == "function"
    assert not marker.exists()


def test_every_hostile_function_is_refused_and_never_runs(tmp_path: Path) -> None:
    """Each hostile text is refused on open, or at the latest when compiled; none runs."""
    import sys

    from gdviz.core.expression import ExpressionError
    from gdviz.core.loss import compile_loss

    sys.path.insert(0, str(Path(__file__).parent))
    from hostile_inputs import HOSTILE

    marker = tmp_path / "marker"
    refused_on_open = 0
    for text, _fragment in HOSTILE:
        payload = text.replace("MARKER", str(marker))
        line = f"function = {session_io._toml_string(payload, 'f')}"
        try:
            loaded = loads_session(_good_text(function=line))
        except SessionError as exc:
            # Refused by the parser (or, for one-variable text, by the
            # two-variable view window that follows it).
            assert exc.where in ("function", "domain"), payload
            refused_on_open += 1
            continue
        with pytest.raises(ExpressionError):
            compile_loss(loaded.session.function)
    assert refused_on_open >= len(HOSTILE) - 5
    assert not marker.exists()


# ----------------------------------------------------------------------------- dataset mode

#: A dataset-mode session in which every data field differs from its default.
FULL_DATA = replace(
    FULL,
    function="log(1 + exp(-y*(w*x + b)))",
    runs=FULL.runs[:3],
    data=DataSpec(
        source="builtin:classes",
        n=60,
        seed=5,
        columns="x,y",
        batch_sizes=(None, 1, 16),
        shuffle_seed=9,
        penalty="l1",
        strength=0.0005,
        parameters=("b", "w"),
    ),
)

CSV_TEXT = "height,weight,note\n1.0,2.0,3\n2.0,4.5,3\n3.0,5.5,3\n4.0,8.5,3\n"


def _data_text(data: str, function: str = "(w*x + b - y)^2", version: int = 2) -> str:
    """A dataset-mode file with the given [data] table body."""
    return (
        f'format_version = {version}\nfunction = "{function}"\n'
        "domain = [[-3.0, 3.0], [-3.0, 3.0]]\nstart = [0.0, 0.0]\n"
        f'\n[data]\n{data}\n\n[[runs]]\noptimizer = "gd"\n'
    )


GOOD_DATA = 'source = "builtin:line"\nbatch_sizes = [1]\nparameters = ["w", "b"]'


def test_data_session_round_trips_every_field(tmp_path: Path) -> None:
    from gdviz.core.data import make_builtin

    for f in fields(Session):
        assert getattr(FULL_DATA, f.name) != getattr(Session(), f.name), f.name
    for f in fields(DataSpec):
        assert getattr(FULL_DATA.data, f.name) != getattr(DataSpec(), f.name), f.name
    path = save_session(FULL_DATA, tmp_path / "data.gdviz.toml")
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert doc["format_version"] == FORMAT_VERSION == 2
    assert doc["data"]["batch_sizes"] == ["batch", 1, 16]
    assert doc["data"]["lambda"] == 0.0005 and doc["data"]["parameters"] == ["b", "w"]
    loaded = load_session(path)
    assert loaded.warnings == ()
    assert loaded.session == FULL_DATA
    # The samples come with it: the same generator, size and seed.
    want = make_builtin("classes", 60, seed=5)
    assert loaded.dataset.names == ("x", "y") and loaded.dataset.n == 60
    for c in want.names:
        assert (loaded.dataset.column(c) == want.column(c)).all()
    again = save_session(loaded.session, tmp_path / "again.gdviz.toml")
    assert again.read_bytes() == path.read_bytes()


def test_csv_round_trip_is_stored_relative_and_read_from_the_sessions_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = tmp_path / "course"
    (course / "data").mkdir(parents=True)
    csv = course / "data" / "people.csv"
    csv.write_text(CSV_TEXT, encoding="utf-8")
    spec = DataSpec(
        source=str(csv),
        columns="x=height,y=weight",
        batch_sizes=(None, 2),
        shuffle_seed=3,
        penalty="l2",
        strength=0.01,
    )
    s = replace(FULL_DATA, function="(w*x + b - y)^2", runs=FULL.runs[:2], data=spec)
    path = save_session(s, course / "fit.gdviz.toml")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["data"]["source"] == "data/people.csv"
    assert "n" not in tomllib.loads(path.read_text(encoding="utf-8"))["data"]
    # Opened from elsewhere, the relative path is still found beside the session.
    monkeypatch.chdir(tmp_path)
    loaded = load_session(path)
    assert loaded.session == s
    assert list(loaded.dataset.column("y")) == [2.0, 4.5, 5.5, 8.5]
    assert loaded.dataset.names == ("x", "y")
    # The folder moves as a whole: the session still opens, on the moved data.
    moved = tmp_path / "moved"
    course.rename(moved)
    again = load_session(moved / "fit.gdviz.toml")
    assert again.session.data.source == str(moved / "data" / "people.csv")
    assert list(again.dataset.column("x")) == [1.0, 2.0, 3.0, 4.0]


def test_csv_outside_the_sessions_folder_is_stored_by_full_path(tmp_path: Path) -> None:
    csv = tmp_path / "shared" / "pts.csv"
    csv.parent.mkdir()
    csv.write_text("x,y\n0,1\n1,3\n", encoding="utf-8")
    (tmp_path / "sessions").mkdir()
    s = replace(
        FULL_DATA,
        function="(w*x + b - y)^2",
        data=replace(FULL_DATA.data, source=str(csv), columns=None, n=None, seed=0),
    )
    path = save_session(s, tmp_path / "sessions" / "s.gdviz.toml")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["data"]["source"] == str(csv)
    assert load_session(path).session == s


def test_relative_csv_in_text_uses_base_dir(tmp_path: Path) -> None:
    (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n2,5\n", encoding="utf-8")
    text = _data_text('source = "pts.csv"\nparameters = ["w", "b"]')
    loaded = loads_session(text, "t.gdviz.toml", base_dir=tmp_path)
    assert loaded.session.data.source == str(tmp_path / "pts.csv")
    assert loaded.session.data.batch_sizes == (None,)  # defaults: batch, no penalty
    assert loaded.session.data.penalty == "none" and loaded.dataset.n == 3


def test_plain_files_are_unchanged_and_version_one_still_reads() -> None:
    text = dumps_session(FULL)
    assert text.splitlines()[1] == "format_version = 1" and "[data]" not in text
    # A version-1 file (as gdviz wrote before dataset mode) opens as before.
    assert loads_session(text).session == FULL
    assert loads_session(_good_text(format_version="format_version = 1")).session.data is None
    with pytest.raises(SessionError, match="newer gdviz"):
        loads_session(_good_text(format_version="format_version = 3"))


def test_the_data_helper_file_is_good() -> None:
    loaded = loads_session(_data_text(GOOD_DATA))
    assert loaded.session.data.batch_sizes == (1,) and loaded.dataset.name == "line"
    assert loaded.session.data.source == "builtin:line"


@pytest.mark.parametrize(
    ("csv", "fragment"),
    [
        (None, "no such file"),
        ("x,y\n1,2\n3,oops\n", "line 3, column 'y': 'oops' is not a number"),
        ("x,y\n1,2\n3,\n", "missing value"),
        ("", "the file is empty"),
        ("a,b\n1,2\n", "no column 'x'"),
    ],
)
def test_missing_or_bad_csv_names_the_session_and_the_problem(
    tmp_path: Path, csv: str | None, fragment: str
) -> None:
    data = tmp_path / "pts.csv"
    if csv is not None:
        data.write_text(csv, encoding="utf-8")
    path = tmp_path / "fit.gdviz.toml"
    path.write_text(
        _data_text('source = "pts.csv"\ncolumns = "x,y"\nparameters = ["w", "b"]'),
        encoding="utf-8",
    )
    with pytest.raises(SessionError) as info:
        load_session(path)
    err = info.value
    assert err.path == str(path) and err.where == "data.source"
    assert fragment in err.message and "pts.csv" in err.message
    assert str(err).startswith(f"{path}: data.source: cannot use the data: ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_csv_that_is_a_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    # Opening a pipe for reading would wait for a writer for ever.
    os.mkfifo(tmp_path / "pts.csv")
    with pytest.raises(SessionError, match="not a regular file"):
        loads_session(_data_text('source = "pts.csv"\nparameters = ["w"]'), base_dir=tmp_path)


def test_csv_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "pts.csv").mkdir()
    with pytest.raises(SessionError, match="is a folder"):
        loads_session(_data_text('source = "pts.csv"\nparameters = ["w"]'), base_dir=tmp_path)


@pytest.mark.parametrize(
    ("data", "where", "fragment"),
    [
        ('parameters = ["w", "b"]', "data", "missing 'source'"),
        ('source = ""\nparameters = ["w", "b"]', "data.source", "is empty"),
        ('source = 3\nparameters = ["w", "b"]', "data.source", "must be text"),
        ('source = "builtin:nope"\nparameters = ["w", "b"]', "data.source", "no built-in dataset"),
        ('source = "builtin:line:n=5"\nparameters = ["w", "b"]', "data.source", "n = … and seed"),
        ('source = "builtin:line"\nn = 1\nparameters = ["w", "b"]', "data.n", "2…1000000"),
        ('source = "builtin:line"\nn = 2.5\nparameters = ["w", "b"]', "data.n", "whole number"),
        ('source = "builtin:line"\nseed = -1\nparameters = ["w", "b"]', "data.seed", "whole"),
        ('source = "builtin:line"\ncolumns = "x,,y"\nparameters = ["w"]', "data.columns", "comma"),
        (
            'source = "builtin:line"\ncolumns = "x,z"\nparameters = ["w"]',
            "data.source",
            "no column 'z'",
        ),
        ('source = "builtin:line"', "data", "missing 'parameters'"),
        ('source = "builtin:line"\nparameters = []', "data.parameters", "one or two"),
        ('source = "builtin:line"\nparameters = ["a", "b", "c"]', "data.parameters", "one or two"),
        ('source = "builtin:line"\nparameters = ["w", "w"]', "data.parameters", "repeat"),
        (
            'source = "builtin:line"\nparameters = ["__class__"]',
            "data.parameters[0]",
            "cannot name",
        ),
        (
            'source = "builtin:line"\nparameters = ["x", "b"]',
            "data.parameters",
            "column of the data",
        ),
        ('source = "builtin:line"\nparameters = "w"', "data.parameters", "one or two"),
        (
            "source = 'builtin:line'\nparameters = ['w']\nshuffle_seed = 1e3",
            "data.shuffle_seed",
            "whole",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nshuffle_seed = 4294967296",
            "data.shuffle_seed",
            "whole number 0…",
        ),
        (
            'source = "builtin:line"\nparameters = ["w"]\npenalty = "l3"',
            "data.penalty",
            '"l2" or "l1"',
        ),
        ('source = "builtin:line"\nparameters = ["w"]\npenalty = 2', "data.penalty", "text"),
        (
            'source = "builtin:line"\nparameters = ["w"]\nlambda = -0.1',
            "data.lambda",
            "between 0 and 100",
        ),
        ('source = "builtin:line"\nparameters = ["w"]\nlambda = nan', "data.lambda", "finite"),
        ('source = "builtin:line"\nparameters = ["w"]\nlambda = "big"', "data.lambda", "number"),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = []",
            "data.batch_sizes",
            "1 to 16",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = 16",
            "data.batch_sizes",
            "list",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = [0]",
            "data.batch_sizes[0]",
            "at least 1",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = [1, -4]",
            "data.batch_sizes[1]",
            "at least 1",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = ['fast']",
            "data.batch_sizes[0]",
            "batch size 'fast'",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = [2.5]",
            "data.batch_sizes[0]",
            "whole number",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = [true]",
            "data.batch_sizes[0]",
            "whole number",
        ),
        (
            "source = 'builtin:line'\nparameters = ['w']\nbatch_sizes = [{}]",
            "data.batch_sizes[0]",
            "whole number",
        ),
        ('parameters = ["w"]\nsource = ' + '"' + "a" * 5000 + '"', "data.source", "longer than"),
    ],
)
def test_bad_data_tables_name_the_key(data: str, where: str, fragment: str) -> None:
    with pytest.raises(SessionError) as info:
        loads_session(_data_text(data), "fit.gdviz.toml")
    err = info.value
    assert err.where == where, err
    assert fragment in err.message, err
    assert str(err).startswith("fit.gdviz.toml: ")


def test_bad_data_table_type() -> None:
    text = _good_text() + "\n"
    text = text.replace("[[runs]]", 'data = "line"\n\n[[runs]]')
    with pytest.raises(SessionError) as info:
        loads_session(text)
    assert info.value.where == "data" and "table" in info.value.message


@pytest.mark.parametrize(
    ("function", "params", "fragment"),
    [
        ("(w*x + b - z)^2", '["w", "b"]', "unknown name 'z'"),
        ("(w*x + b - y)^2", '["w"]', "unknown name 'b'"),
        ("w^2 + b^2", '["w", "b"]', "must use a data column"),
        ("__import__('os')", '["w"]', "not a valid function"),
    ],
)
def test_data_function_is_checked_with_the_columns(
    function: str, params: str, fragment: str
) -> None:
    text = _data_text(f'source = "builtin:line"\nparameters = {params}', function=function)
    with pytest.raises(SessionError) as info:
        loads_session(text)
    assert info.value.where == "function" and fragment in info.value.message


def test_data_dimension_follows_the_parameters() -> None:
    # One parameter: the domain and start have one entry each.
    text = _data_text('source = "builtin:line"\nparameters = ["w"]', function="(w*x - y)^2")
    with pytest.raises(SessionError) as info:
        loads_session(text)
    assert info.value.where == "domain" and "1 [low, high]" in info.value.message
    one = text.replace("[[-3.0, 3.0], [-3.0, 3.0]]", "[[-3.0, 3.0]]").replace("[0.0, 0.0]", "[0.5]")
    s = loads_session(one).session
    assert s.domain == ((-3.0, 3.0),) and s.start == (0.5,) and s.data.parameters == ("w",)


def test_csv_keys_that_only_builtins_have_warn(tmp_path: Path) -> None:
    (tmp_path / "pts.csv").write_text("x,y\n0,1\n1,3\n", encoding="utf-8")
    text = _data_text('source = "pts.csv"\nn = 50\nseed = 2\nparameters = ["w", "b"]\nspeed = 1')
    loaded = loads_session(text, base_dir=tmp_path)
    assert loaded.warnings == (
        "data.speed: unknown key, skipped",
        "data.n: only built-in data has it, skipped",
        "data.seed: only built-in data has it, skipped",
    )
    assert loaded.session.data.n is None and loaded.dataset.n == 2


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        (((-3.0, 3.0), (-2.0, 1.0)), ((-3.0, 3.0), (-2.0, 1.0))),  # inside: unchanged
        (((-1e9, 1e9),), ((-1e6, 1e6),)),  # too wide: the widest a file holds
        (((-1e308, 1e308),), ((-1e6, 1e6),)),  # the width overflows
        (((999_990.0, 1_000_010.0),), ((999_980.0, 1e6),)),  # past the edge: slides back
        (((-2e6, -1.5e6),), ((-1e6, -5e5),)),
    ],
)
def test_clamp_domain_keeps_a_view_window_a_file_can_hold(domain, expected):
    out = session_io.clamp_domain(domain)
    assert out == expected  # (exact: all are sums of numbers a float holds exactly)
    function = "x^2" if len(out) == 1 else "x^2 + y^2"
    session = replace(Session(), function=function, domain=out, start=tuple(a for a, _ in out))
    assert session_io.loads_session(session_io.dumps_session(session)).session.domain == out


@pytest.mark.parametrize("pair", [(1.0, 1.0), (2.0, 1.0), (float("nan"), 1.0), (0.0, float("inf"))])
def test_clamp_domain_refuses_what_is_no_range(pair):
    with pytest.raises(ValueError, match="view range"):
        session_io.clamp_domain([pair])
