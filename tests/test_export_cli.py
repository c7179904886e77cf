"""``gdviz export``: arguments, outputs, exit statuses, headless start-up."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _export_support import decode, listing, probe, read_png

from gdviz import cli
from gdviz.cli_export import TerminalProgress
from gdviz.export.writers import PngSequenceWriter

BASE = ["export", "--function", "x^2 + 3y^2", "--start", "-2,1.5", "--size", "160x120"]


def export(capsys, *args: str) -> tuple[int, str]:
    code = cli.main([*BASE, *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--steps", "5", "--out", "{d}/a.avi"], "--out: unknown extension '.avi'"),
        (["--steps", "5", "--out", "{d}/frames"], "has no extension"),
        (["--steps", "5", "--out", "{d}/missing/a.gif"], "does not exist"),
        (["--steps", "5", "--out", "{d}/a.gif", "--size", "10x10"], "--size: size 10x10"),
        (["--steps", "5", "--out", "{d}/a.gif", "--size", "big"], "not WIDTHxHEIGHT"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--size", "161x120"], "even width and height"),
        (["--steps", "5", "--out", "{d}/a.gif", "--fps", "60"], "--fps: fps 60 is too fast"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--fps", "0"], "--fps: fps 0 must be above 0"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--fps", "x"], "--fps needs a number"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--every", "0"], "--every"),
        (["--steps", "-1", "--out", "{d}/a.mp4"], "--steps -1 must be between"),
        (["--steps", "2.5", "--out", "{d}/a.mp4"], "--steps needs a whole number"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--panels", "side"], "invalid choice: 'side'"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--theme", "pink"], "invalid choice: 'pink'"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--height-3d", "up"], "invalid choice: 'up'"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--optimizer", "adan"], "did you mean adam?"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--optimizer", "gd:lr=-1"], "--optimizer: gd"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--schedule", "warp"], "--schedule: unknown"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--domain", "1,0,0,1"], "--domain: x range"),
        (["--steps", "5", "--out", "{d}/a.mp4", "--domain", "0,1"], "--domain '0,1' needs 4"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(capsys, tmp_path, args, message):
    args = [a.replace("{d}", str(tmp_path)) for a in args]
    code, err = export(capsys, *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("gdviz export: "), err
    assert message in err
    assert listing(tmp_path) == []


@pytest.mark.parametrize(
    "function, start, message",
    [
        ("sine(x)", "1", "--function: unknown function 'sine' at column 1"),
        ("x^2 + y^2", "1", "--start '1' needs 2 numbers, got 1"),
        ("x^2", "1,2", "--start '1,2' needs 1 numbers"),
        ("x^2 + y^2", "1,nan", "must be finite"),
        ("__import__('os')", "1", "--function:"),
    ],
)
def test_bad_function_or_start(capsys, tmp_path, function, start, message):
    code = cli.main(
        ["export", "--function", function, "--start", start, "--steps", "3",
         "--out", str(tmp_path / "a.gif")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert listing(tmp_path) == []


def test_existing_output_needs_force(capsys, qapp, tmp_path):
    target = tmp_path / "a.gif"
    target.write_bytes(b"mine")
    code, err = export(capsys, "--steps", "4", "--out", str(target))
    assert code == 2 and "already exists; use --force" in err
    assert target.read_bytes() == b"mine"
    code, err = export(capsys, "--steps", "4", "--out", str(target), "--force")
    assert code == 0 and err == ""
    assert decode(target).shape == (5, 120, 160, 3)


def test_png_frames_for_every_kth_step(capsys, qapp, tmp_path):
    code, err = export(
        capsys, "--steps", "9", "--every", "3", "--out", f"{tmp_path}/frames/", "--theme", "dark"
    )
    assert (code, err) == (0, "")
    names = sorted(os.listdir(tmp_path / "frames"))
    assert names == [f"frame_{i:05d}.png" for i in range(4)]  # steps 0, 3, 6, 9
    frames = [read_png(tmp_path / "frames" / n) for n in names]
    assert frames[0].shape == (120, 160, 3)
    assert not (frames[0] == frames[-1]).all()


def test_mp4_frame_count_follows_steps_and_every(capsys, qapp, tmp_path):
    out = tmp_path / "a.mp4"
    code, err = export(
        capsys,
        "--steps", "299", "--every", "10", "--out", str(out), "--fps", "24",
        "--optimizer", "gd:lr=0.05", "--optimizer", "adam:lr=0.1",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert decode(out).shape == (30, 120, 160, 3)  # steps 0, 10, ..., 290
    assert probe(out).fps == pytest.approx(24)
    assert listing(tmp_path) == ["a.mp4"]


def test_negative_start_needs_no_equals_sign(capsys, qapp, tmp_path):
    code = cli.main(
        ["export", "--function", "x^2", "--start", "-1.5", "--steps", "2",
         "--size", "160x120", "--out", str(tmp_path / "a.gif"), "--domain", "-2,2"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err


def test_full_disk_is_exit_1_with_one_line(capsys, qapp, tmp_path, monkeypatch):
    calls = []
    real = PngSequenceWriter._write

    def write(self, frame):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, frame)

    monkeypatch.setattr(PngSequenceWriter, "_write", write)
    code, err = export(capsys, "--steps", "9", "--out", f"{tmp_path}/f/")
    assert code == 1
    assert err == f"gdviz export: could not write '{tmp_path}/f': no space left on the device\n"
    assert listing(tmp_path) == []


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal():
    tty = _Tty()
    bar = TerminalProgress(30, tty)
    for i in range(1, 31):
        bar.update(i)
    bar.note("writing a.gif…")
    bar.finish()
    text = tty.getvalue()
    assert "[" + "#" * 30 + "] 30/30 frames" in text
    assert text.endswith("- writing a.gif…\n")
    pipe = io.StringIO()
    bar = TerminalProgress(30, pipe)
    for i in range(1, 31):
        bar.update(i)
    bar.finish()
    assert pipe.getvalue() == ""


# -- as a separate process, with no display ---------------------------------------------


def _headless_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)  # the command must choose offscreen itself
    return env


def _run_export(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gdviz", *BASE, "--steps", "12", "--every", "4",
         "--optimizer", "momentum:lr=0.02", "--panels", "both", "--out", f"{out}/"],
        capture_output=True, text=True, env=_headless_env(), timeout=120,
    )  # fmt: skip


def test_headless_processes_write_byte_identical_frames(tmp_path):
    a = _run_export(tmp_path / "a")
    b = _run_export(tmp_path / "b")
    for proc in (a, b):
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "" and proc.stdout == ""  # quiet when not on a terminal
    names = sorted(os.listdir(tmp_path / "a"))
    assert names == [f"frame_{i:05d}.png" for i in range(4)]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupt_stops_cleanly_and_leaves_nothing(tmp_path, sig):
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "gdviz", *BASE, "--steps", "20000", "--out", f"{tmp_path}/a.mp4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_headless_env(),
    )  # fmt: skip
    try:
        # Wait until frames are being written (the temporary file exists).
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".a.*.part.mp4")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "export never started"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert err == "gdviz export: interrupted; nothing was written\n"
    assert listing(tmp_path) == []


@pytest.mark.parametrize("mode", ["clamp", "log"])
def test_height_3d_reaches_the_scene_view(capsys, qapp, tmp_path, monkeypatch, mode):
    # The 3D panels need OpenGL; what the flag must do is hand the mode to the
    # scene's view settings, which the 3D view follows (as in the window).
    from gdviz.export import render

    seen = []
    monkeypatch.setattr(render, "export_animation", lambda plan, inputs, **kw: seen.append(inputs))
    code, err = export(capsys, "--steps", "3", "--out", f"{tmp_path}/a.gif", "--height-3d", mode)
    assert (code, err) == (0, "")
    view = seen[0].view
    assert (view.height_3d if view is not None else "clamp") == mode
