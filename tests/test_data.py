"""Datasets: built-in generators, CSV import and its refusals, mini-batch sampling."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.data import (
    BUILTINS,
    MAX_VALUE,
    BatchSampler,
    DataError,
    Dataset,
    load_csv,
    load_data,
    make_builtin,
    parse_columns,
)

# --------------------------------------------------------------------------- built-ins


@pytest.mark.parametrize("name", list(BUILTINS))
def test_builtin_is_seeded_and_well_formed(name):
    a = make_builtin(name, seed=3)
    b = make_builtin(name, seed=3)
    c = make_builtin(name, seed=4)
    assert a.names == ("x", "y")
    assert a.n == BUILTINS[name].default_n
    for col in a.names:
        np.testing.assert_array_equal(a.column(col), b.column(col))
        assert np.isfinite(a.column(col)).all()
    assert not np.array_equal(a.column("y"), c.column("y"))
    assert a.default_loss and a.model == "w*x + b"
    with pytest.raises(ValueError):
        a.column("x")[0] = 1.0  # read-only: nobody changes a dataset behind its loss


def test_builtin_shapes_of_data():
    line = make_builtin("line", n=5000, seed=1)
    slope, intercept = np.polyfit(line.column("x"), line.column("y"), 1)
    assert slope == pytest.approx(1.5, abs=0.05) and intercept == pytest.approx(0.5, abs=0.05)
    out = make_builtin("outliers", n=1000, seed=1)
    resid = out.column("y") - (1.5 * out.column("x") + 0.5)
    assert (resid > 3.0).sum() == pytest.approx(100, abs=5)  # a tenth, moved up
    cls = make_builtin("classes", n=1000, seed=1)
    assert set(np.unique(cls.column("y"))) == {-1.0, 1.0}
    assert cls.link == "sigmoid"
    x, y = cls.column("x"), cls.column("y")
    assert x[y > 0].mean() > x[y < 0].mean() + 1.5


def test_builtin_errors():
    with pytest.raises(DataError, match="did you mean line"):
        make_builtin("lines")
    with pytest.raises(DataError, match="n must be"):
        make_builtin("line", n=0)
    with pytest.raises(DataError, match="seed"):
        make_builtin("line", seed=-1)
    assert make_builtin("two-class").name == "classes"


def test_load_data_builtin_options_and_columns():
    d = load_data("builtin:line:n=7,seed=2")
    assert d.n == 7
    np.testing.assert_array_equal(d.column("y"), make_builtin("line", 7, 2).column("y"))
    r = load_data("builtin:classes", "u=x,label=y")
    assert r.names == ("u", "label") and r.model is None and r.default_loss is None
    with pytest.raises(DataError, match="options are"):
        load_data("builtin:line:size=3")
    with pytest.raises(DataError, match="no column 'z'"):
        load_data("builtin:line", "z")


# --------------------------------------------------------------------------- Dataset


def test_dataset_checks_its_columns():
    with pytest.raises(DataError, match="has 2 values but the others have 3"):
        Dataset("d", {"x": [1, 2, 3], "y": [1, 2]})
    with pytest.raises(DataError, match="not a finite number"):
        Dataset("d", {"x": [1, np.nan]})
    with pytest.raises(DataError, match="no samples"):
        Dataset("d", {"x": []})
    with pytest.raises(DataError, match="1-D"):
        Dataset("d", {"x": [[1, 2]]})
    with pytest.raises(DataError, match="not numeric"):
        Dataset("d", {"x": ["a"]})
    with pytest.raises(DataError, match="did you mean 'y1'"):
        Dataset("d", {"x": [1.0], "y1": [2.0]}).column("y2")


def test_dataset_refuses_values_too_large_to_draw_or_square():
    # ±1e308 is finite, but its square and the plot's span overflow to inf.
    with pytest.raises(DataError, match=r"column 'y' has a value too large.*sample 2"):
        Dataset("d", {"x": [1.0, 2.0], "y": [0.0, -1e308]})
    edge = Dataset("d", {"x": [MAX_VALUE, -MAX_VALUE]})  # the limit itself is fine
    assert edge.n == 2


def test_parse_columns():
    assert parse_columns("x, y") == [("x", "x"), ("y", "y")]
    assert parse_columns("x=Sepal Length,y") == [("x", "Sepal Length"), ("y", "y")]
    assert parse_columns(None) is None
    for bad, msg in [
        ("x,,y", "separated"),
        ("x,x", "twice"),
        ("2x=a", "cannot name"),
        ("=a", "NAME or NAME=HEADER"),
    ]:
        with pytest.raises(DataError, match=msg):
            parse_columns(bad)


# --------------------------------------------------------------------------- CSV


def _write(tmp_path, text, name="data.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_text(text, encoding=encoding)
    return p


def test_csv_reads_chosen_columns(tmp_path):
    p = _write(
        tmp_path,
        '\ufeffid,species,"Sepal Length",y\n'
        "1,setosa,5.1,0\n2,virginica,6.3,1e0\n\n3,setosa,4.9,-0\n",
    )
    d = load_csv(p, "x=Sepal Length,y")
    assert d.names == ("x", "y") and d.n == 3
    np.testing.assert_array_equal(d.column("x"), [5.1, 6.3, 4.9])
    np.testing.assert_array_equal(d.column("y"), [0.0, 1.0, 0.0])
    assert d.source == str(p)


def test_csv_semicolons_and_all_columns(tmp_path):
    d = load_csv(_write(tmp_path, "x;y\n1;2\n3;4\n"))
    assert d.names == ("x", "y")
    np.testing.assert_array_equal(d.column("y"), [2.0, 4.0])


@pytest.mark.parametrize(
    ("text", "columns", "message"),
    [
        ("x,y\n1,2\n3,abc\n", None, r"line 3, column 'y': 'abc' is not a number"),
        ("x,y\n1,2\n3,\n", None, r"line 3, column 'y': missing value"),
        ("x,y\n1,NA\n", None, r"line 2, column 'y': missing value \('NA'\)"),
        ("x,y\n1,nan\n", None, r"line 2, column 'y': missing value"),
        ("x,y\n1,inf\n", None, r"line 2, column 'y': 'inf' is not a finite number"),
        ("", None, "the file is empty"),
        ("\n \n", None, "the file is empty"),
        ("x,y\n", None, "no data rows"),
        ("x,y\n1,2\n", "x,z", r"no column 'z' .*the columns are x, y"),
        ("x,yy\n1,2\n", "x,y", r"did you mean 'yy'"),
        ("1,2\n3,4\n", None, "first row must name the columns"),
        ("x,y\n1,2,3\n", None, "line 2 has 3 cells but the header has 2"),
        ("x,x\n1,2\n", None, "names column 'x' twice"),
        ("x,\n1,2\n", None, "column 2 of the header has no name"),
        ("x,Sepal Length\n1,2\n", None, r"--columns x='Sepal Length'"),
        ("x,label\n1,cat\n", None, r"'cat' is not a number"),
    ],
)
def test_csv_refusals_say_what_and_where(tmp_path, text, columns, message):
    p = _write(tmp_path, text)
    before = p.read_bytes()
    with pytest.raises(DataError, match=message) as info:
        load_csv(p, columns)
    assert str(p) in str(info.value)
    assert p.read_bytes() == before


def test_csv_text_column_not_chosen_is_fine(tmp_path):
    d = load_csv(_write(tmp_path, "x,label,y\n1,cat,2\n"), "x,y")
    assert d.n == 1


def test_csv_missing_file_folder_binary(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_csv(tmp_path)
    p = tmp_path / "bin.csv"
    p.write_bytes(b"x,y\n1,\x00\n")
    with pytest.raises(DataError, match="not a text file"):
        load_csv(p)


def test_csv_too_large(tmp_path):
    p = _write(tmp_path, "x,y\n" + "1,2\n" * 1000)
    with pytest.raises(DataError, match=r"the file is 0\.0 MB; gdviz reads CSV files up to"):
        load_csv(p, max_bytes=1000)
    with pytest.raises(DataError, match="more than 999 data rows"):
        load_csv(p, max_rows=999)
    assert load_csv(p, max_rows=1000).n == 1000


def test_load_data_routes_paths(tmp_path):
    p = _write(tmp_path, "a,b\n1,2\n")
    assert load_data(str(p), "x=a").names == ("x",)


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize(("n", "b"), [(10, 3), (12, 4), (7, 1), (5, 5), (5, 9)])
def test_each_epoch_sees_every_sample_once(n, b):
    s = BatchSampler(n, b, [0, 1, 2], seed=5)
    assert s.steps_per_epoch == -(-n // min(b, n))
    for epoch in range(3):
        rows = [s.indices(epoch * s.steps_per_epoch + i) for i in range(s.steps_per_epoch)]
        assert all(r.shape[0] == 3 for r in rows)
        for k in range(3):
            seen = np.concatenate([r[k] for r in rows])
            assert sorted(seen.tolist()) == list(range(n))
        assert s.epoch(epoch * s.steps_per_epoch) == epoch


def test_shuffles_are_seeded_fresh_each_epoch_and_independent_per_run():
    n, b = 50, 5
    s = BatchSampler(n, b, [0, 1], seed=1)
    e0 = np.concatenate([s.indices(t) for t in range(10)], axis=1)
    e1 = np.concatenate([s.indices(t) for t in range(10, 20)], axis=1)
    assert not np.array_equal(e0, e1)  # a new order every epoch
    assert not np.array_equal(e0[0], e0[1])  # each run its own order
    alone = BatchSampler(n, b, [1], seed=1)  # run 1 without run 0
    for t in (0, 3, 12, 27):
        np.testing.assert_array_equal(alone.indices(t)[0], s.indices(t)[1])
        np.testing.assert_array_equal(alone.first_run_indices(t), s.indices(t)[1])
        np.testing.assert_array_equal(s.run_indices(1, t), s.indices(t)[1])
    again = BatchSampler(n, b, [0, 1], seed=1)
    np.testing.assert_array_equal(again.indices(7), s.indices(7))
    other = BatchSampler(n, b, [0, 1], seed=2)
    assert not np.array_equal(other.indices(0), BatchSampler(n, b, [0, 1], seed=1).indices(0))


def test_full_batch_uses_everything_in_order():
    s = BatchSampler(6, None, [0, 3])
    assert s.full and s.steps_per_epoch == 1
    np.testing.assert_array_equal(s.indices(4), [np.arange(6)] * 2)
    np.testing.assert_array_equal(s.run_indices(3, 9), np.arange(6))
    assert s.epoch(9) == 9


def test_sampler_rejects_bad_settings():
    with pytest.raises(ValueError, match="batch size"):
        BatchSampler(5, 0, [0])
    with pytest.raises(ValueError, match="seed"):
        BatchSampler(5, 2, [0], seed=-1)
