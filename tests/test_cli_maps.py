"""``gdviz sweep`` and ``gdviz basins``: CSV, PNG, summaries and bad input."""

from __future__ import annotations

import csv
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from gdviz.cli import main

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_sweep_csv_diverges_above_two_over_L(tmp_path, capsys):
    out = tmp_path / "sweep.csv"
    # f = 2x² + y²/2 has L = 4: GD converges for lr < 0.5 and diverges above.
    rc = main(
        [
            "sweep",
            "--function",
            "2x^2 + y^2/2",
            "--start",
            "1,-1",
            "--lr",
            "0.3:0.8:11",
            "--steps",
            "3000",
            "--csv",
            str(out),
        ]
    )
    assert rc == 0
    rows = read_csv(out)
    assert len(rows) == 11
    assert list(rows[0]) == [
        "lr",
        "optimizer",
        "status",
        "steps",
        "final_loss",
        "final_x",
        "final_y",
    ]
    for r in rows:
        lr = float(r["lr"])
        assert r["status"] == ("converged" if lr < 0.5 else "diverged"), r
        assert r["optimizer"] == "gd"
    summary = capsys.readouterr().out
    assert "11 runs: 6 converged, 5 diverged" in summary
    assert "diverges from lr 0.54" in summary  # the first lr above 0.5


def test_sweep_against_a_setting_and_against_optimizers(tmp_path, capsys):
    out = tmp_path / "m.csv"
    rc = main(
        [
            "sweep",
            "--function",
            "x^2 + 10y^2",
            "--start",
            "-1.5,1",
            "--optimizer",
            "momentum",
            "--vs",
            "momentum",
            "--values",
            "0,0.5,0.9",
            "--lr",
            "1e-3:0.3:5",
            "--csv",
            str(out),
        ]
    )
    assert rc == 0
    rows = read_csv(out)
    assert len(rows) == 15
    assert [r["momentum"] for r in rows[::5]] == ["0", "0.5", "0.9"]
    rc = main(
        [
            "sweep",
            "--function",
            "x^2 + 10y^2",
            "--start",
            "-1.5,1",
            "--vs",
            "optimizer",
            "--values",
            "gd,adam,nesterov",
            "--lr",
            "0.01:0.1:2",
            "--csv",
            str(out),
        ]
    )
    assert rc == 0
    assert [r["optimizer"] for r in read_csv(out)] == [
        "gd",
        "gd",
        "adam",
        "adam",
        "nesterov",
        "nesterov",
    ]
    assert "adam:" in capsys.readouterr().out


def test_basins_csv_and_summary_report_himmelblau_minima(tmp_path, capsys):
    out = tmp_path / "b.csv"
    rc = main(["basins", "--function", HIMMELBLAU, "--grid", "24x20", "--csv", str(out)])
    assert rc == 0
    rows = read_csv(out)
    assert len(rows) == 24 * 20
    assert {r["basin"] for r in rows} == {"1", "2", "3", "4"}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "480 starts, 4 minima found:"
    found = []
    for line in lines[1:5]:
        parts = line.split()
        found.append((float(parts[3].rstrip(",")), float(parts[6])))
    want = [(-3.77931, -3.28319), (-2.80512, 3.13131), (3.0, 2.0), (3.58443, -1.84813)]
    assert [v for pair in sorted(found) for v in pair] == pytest.approx(
        [v for pair in sorted(want) for v in pair], abs=1e-5
    )
    # Each row's basin agrees with where its run ended.
    by_basin = {}
    for r in rows:
        by_basin.setdefault(r["basin"], set()).add(
            (round(float(r["final_x"]), 3), round(float(r["final_y"]), 3))
        )
    assert all(len(ends) == 1 for ends in by_basin.values())


def test_one_variable_basins(tmp_path, capsys):
    out = tmp_path / "b1.csv"
    rc = main(
        [
            "basins",
            "--function",
            "x^4 - 2x^2",
            "--x",
            "-2,2",
            "--grid",
            "8",
            "--optimizer",
            "gd:lr=0.05",
            "--steps",
            "2000",
            "--csv",
            str(out),
        ]
    )
    assert rc == 0
    rows = read_csv(out)
    assert list(rows[0])[:3] == ["start_x", "status", "steps"]
    assert [r["basin"] for r in rows] == ["1"] * 4 + ["2"] * 4
    assert "2 minima found" in capsys.readouterr().out


def test_csv_to_stdout_moves_the_summary_to_stderr(capsys):
    rc = main(["basins", "--function", "x^2 + y^2", "--grid", "2", "--steps", "3000", "--csv", "-"])
    assert rc == 0
    cap = capsys.readouterr()
    assert cap.out.splitlines()[0].startswith("start_x,start_y,status")
    assert len(cap.out.splitlines()) == 5
    assert "1 minimum found" in cap.err


def test_existing_csv_is_replaced_whole(tmp_path):
    out = tmp_path / "again.csv"
    out.write_text("old\n" * 1000)
    assert main(["basins", "--function", "x^2+y^2", "--grid", "2", "--csv", str(out)]) == 0
    assert out.read_text().startswith("start_x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.csv"]  # no temp file left


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "--function", "x^2", "--start", "1"], "nothing to write"),
        (
            ["sweep", "--function", "x^2", "--start", "1", "--lr", "1:0.1", "--csv", "-"],
            "LOW < HIGH",
        ),
        (["sweep", "--function", "x^2", "--start", "1", "--lr", "a:b", "--csv", "-"], "--lr"),
        (["sweep", "--function", "x^2", "--start", "1", "--vs", "beta9", "--csv", "-"], "beta9"),
        (["sweep", "--function", "x^2", "--start", "1", "--vs", "momentum", "--csv", "-"], None),
        (
            [
                "sweep",
                "--function",
                "x^2",
                "--start",
                "1",
                "--optimizer",
                "momentum",
                "--vs",
                "momentum",
                "--csv",
                "-",
            ],
            "needs --values",
        ),
        (
            [
                "sweep",
                "--function",
                "x^2",
                "--start",
                "1",
                "--optimizer",
                "adam",
                "--vs",
                "beta1",
                "--values",
                "0,1.5",
                "--csv",
                "-",
            ],
            "out of range",
        ),
        (["sweep", "--function", "x^2", "--start", "1", "--values", "1,2", "--csv", "-"], "--vs"),
        (
            [
                "sweep",
                "--function",
                "x^2",
                "--start",
                "1",
                "--optimizer",
                "gd:lr=0.1",
                "--csv",
                "-",
            ],
            "use --lr",
        ),
        (["sweep", "--function", "sine(x)", "--start", "1", "--csv", "-"], "--function"),
        (["sweep", "--function", "x^2 + y^2", "--start", "1", "--csv", "-"], "--start"),
        (
            ["sweep", "--function", "x^2", "--start", "1", "--optimizer", "adum", "--csv", "-"],
            "adam",
        ),
        (["sweep", "--function", "x^2", "--start", "1", "--steps", "-3", "--csv", "-"], "--steps"),
        (["basins", "--function", "x^2+y^2", "--grid", "0", "--csv", "-"], "--grid"),
        (["basins", "--function", "x^2+y^2", "--grid", "ax3", "--csv", "-"], "--grid"),
        (["basins", "--function", "x^2+y^2", "--x", "3,1", "--csv", "-"], "--x"),
        (["basins", "--function", "x^2", "--y", "0,1", "--csv", "-"], "one variable"),
        (["basins", "--function", "x^2+y^2", "--merge-tol", "0", "--csv", "-"], "--merge-tol"),
        (["basins", "--function", "x^2+y^2", "--png", "-"], "--png"),
        (["basins", "--function", "x^2+y^2", "--png", "a.png", "--size", "10x10"], "--size"),
        (["basins", "--function", "x^2+y^2", "--csv", "/no/such/dir/b.csv"], "does not exist"),
        (["basins", "--function", "x^2+y^2", "--schedule", "cosine:t_max=-1", "--csv", "-"], None),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"gdviz {argv[0]}")
    if message:
        assert message in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_directory_as_output_is_refused(tmp_path, capsys):
    assert main(["basins", "--function", "x^2+y^2", "--csv", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "gdviz", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def test_png_is_written_headless_at_the_asked_size(tmp_path, qapp):
    """No display and no QT_QPA_PLATFORM: the command picks offscreen by itself."""
    from PySide6.QtGui import QColor, QImage

    from gdviz.ui.maps import DIVERGED_COLOR, MINIMA_COLORS

    proc = _run_cli(
        "sweep", "--function", "2x^2 + y^2/2", "--start", "1,1", "--optimizer", "momentum",
        "--vs", "momentum", "--values", "0:0.9:4", "--lr", "0.05:3:30", "--steps", "800",
        "--png", "s.png", "--size", "900x600", "--font-scale", "1.5",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert png_size(tmp_path / "s.png") == (900, 600)
    img = QImage(str(tmp_path / "s.png"))
    red = QColor(DIVERGED_COLOR).rgb()
    colours = {img.pixel(x, y) for x in range(0, 900, 7) for y in range(0, 600, 7)}
    assert red in colours  # the diverged side is drawn in its colour
    assert len(colours) > 20  # and the converged side on the colour map

    proc = _run_cli(
        "basins", "--function", HIMMELBLAU, "--grid", "60", "--png", "b.png", "--csv", "b.csv",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert png_size(tmp_path / "b.png") == (1280, 800)
    img = QImage(str(tmp_path / "b.png"))
    colours = {img.pixel(x, y) for x in range(0, 1280, 5) for y in range(0, 800, 5)}
    for c in MINIMA_COLORS[:4]:
        assert QColor(c).rgb() in colours
    assert "4 minima found" in proc.stdout
