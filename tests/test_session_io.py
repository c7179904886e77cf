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
from gdviz.core.session import RunSpec, Session, ViewSettings
from gdviz.core.session_io import (
    FORMAT_VERSION,
    MAX_FILE_BYTES,
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
    # writer forgets cannot slip through by matching the default.
    for f in fields(Session):
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
    assert doc["format_version"] == FORMAT_VERSION
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
