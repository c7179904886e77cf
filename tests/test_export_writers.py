"""Frame writers: each format read back, all-or-nothing on every failure."""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from _export_support import decode, gif_delays, listing, probe, read_png
from PIL import Image

from gdviz.export import writers
from gdviz.export.plan import ExportError, OutputKind, OutputPathError
from gdviz.export.writers import GifWriter, Mp4Writer, PngSequenceWriter, make_writer

W, H = 160, 96


def frames(n: int = 12, size: tuple[int, int] = (W, H)) -> list[np.ndarray]:
    """A soft gradient background with a red square that moves right."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([60 + xx * 120 // w, 80 + yy * 120 // h, np.full_like(xx, 140)], -1)
    out = []
    for i in range(n):
        f = base.astype(np.uint8)
        x0 = 8 + i * (w - 32) // max(n - 1, 1)
        f[h // 2 - 8 : h // 2 + 8, x0 : x0 + 16] = (230, 20, 20)
        out.append(f)
    return out


def red_column(frame: np.ndarray) -> float:
    """Mean x of strongly red pixels."""
    f = frame.astype(int)
    mask = (f[..., 0] > 180) & (f[..., 1] < 90) & (f[..., 2] < 90)
    assert mask.any(), "no red square found"
    return float(np.nonzero(mask)[1].mean())


def write_all(writer, items) -> Path:
    with writer:
        for f in items:
            writer.write(f)
    return writer.path


# -- each format, read back ------------------------------------------------------------


def test_png_sequence_round_trip(tmp_path):
    src = frames(12)
    out = write_all(PngSequenceWriter(tmp_path / "frames", (W, H), n_frames=12), src)
    names = sorted(os.listdir(out))
    assert names == [f"frame_{i:05d}.png" for i in range(12)]
    for name, f in zip(names, src, strict=True):
        assert np.array_equal(read_png(out / name), f)  # PNG is lossless
    assert listing(tmp_path) == ["frames", *[f"frames/{n}" for n in names]]


def test_png_sequence_is_byte_identical_across_runs(tmp_path):
    src = frames(4)
    a = write_all(PngSequenceWriter(tmp_path / "a", (W, H)), src)
    b = write_all(PngSequenceWriter(tmp_path / "b", (W, H)), src)
    for name in os.listdir(a):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_mp4_round_trip(tmp_path):
    src = frames(15)
    out = write_all(Mp4Writer(tmp_path / "anim.mp4", (W, H), fps=25), src)
    video = decode(out)
    assert video.shape == (15, H, W, 3)
    info = probe(out)
    assert (info.codec, info.pix_fmt, info.size) == ("h264", "yuv420p", (W, H))
    assert info.fps == pytest.approx(25)
    # Colours converted and tagged as BT.709 (matrix, primaries, transfer), as
    # players assume for HD; "bt709" alone means all three agree.
    assert info.color.startswith("tv, bt709,")
    assert not np.array_equal(video[0], video[-1])
    # Lossy, but colours and the square's position survive.
    assert np.abs(video[0].astype(int) - src[0].astype(int)).mean() < 4
    assert red_column(video[0]) == pytest.approx(red_column(src[0]), abs=2)
    assert red_column(video[-1]) == pytest.approx(red_column(src[-1]), abs=2)
    assert listing(tmp_path) == ["anim.mp4"]


def test_mp4_keeps_1080_rows(tmp_path):
    # 1080 is not a multiple of 16: the size must not be padded or rescaled.
    src = frames(2, (1920, 1080))
    out = write_all(Mp4Writer(tmp_path / "hd.mp4", (1920, 1080)), src)
    assert decode(out).shape == (2, 1080, 1920, 3)


def test_gif_round_trip(tmp_path):
    src = frames(12)
    out = write_all(GifWriter(tmp_path / "anim.gif", (W, H), fps=20), src)
    gif = decode(out)
    assert gif.shape == (12, H, W, 3)
    assert not np.array_equal(gif[0], gif[-1])
    assert red_column(gif[0]) == pytest.approx(red_column(src[0]), abs=1)
    assert red_column(gif[-1]) == pytest.approx(red_column(src[-1]), abs=1)
    delays, loop = gif_delays(out)
    assert loop == 0  # loops forever
    assert sum(delays) == pytest.approx(12 * 1000 / 20, abs=10)
    assert listing(tmp_path) == ["anim.gif"]


def test_gif_delays_average_to_the_frame_rate(tmp_path):
    # 30 fps is 3.33 hundredths of a second per frame: delays must alternate.
    out = write_all(GifWriter(tmp_path / "a.gif", (W, H), fps=30), frames(30))
    delays, _ = gif_delays(out)
    assert set(delays) <= {30, 40}
    assert sum(delays) == pytest.approx(1000, abs=10)


def test_make_writer_picks_the_class(tmp_path):
    assert isinstance(make_writer(OutputKind.PNG, tmp_path / "f", (W, H)), PngSequenceWriter)
    assert isinstance(make_writer(OutputKind.GIF, tmp_path / "a.gif", (W, H)), GifWriter)
    assert isinstance(make_writer(OutputKind.MP4, tmp_path / "a.mp4", (W, H)), Mp4Writer)


def test_png_names_widen_for_long_sequences(tmp_path):
    w = PngSequenceWriter(tmp_path / "f", (W, H), n_frames=123_456)
    assert w.frame_name(7) == "frame_000007.png"


# -- existing outputs ------------------------------------------------------------------


@pytest.mark.parametrize("cls, name", [(Mp4Writer, "a.mp4"), (GifWriter, "a.gif")])
def test_existing_file_needs_force(tmp_path, cls, name):
    target = tmp_path / name
    target.write_bytes(b"old contents")
    with pytest.raises(OutputPathError, match="already exists; use --force"):
        cls(target, (W, H)).open()
    assert target.read_bytes() == b"old contents"
    assert listing(tmp_path) == [name]
    write_all(cls(target, (W, H), force=True), frames(3))
    assert target.read_bytes() != b"old contents"
    assert len(decode(target)) == 3
    assert listing(tmp_path) == [name]


def test_png_directory_with_frames_needs_force(tmp_path):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "frame_00000.png").write_bytes(b"old")
    (out / "frame_00099.png").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="already holds frame_"):
        PngSequenceWriter(out, (W, H)).open()
    assert listing(out) == ["frame_00000.png", "frame_00099.png", "notes.txt"]
    write_all(PngSequenceWriter(out, (W, H), force=True), frames(2))
    # Old frames replaced (none left over from the longer old sequence); other files kept.
    assert listing(out) == ["frame_00000.png", "frame_00001.png", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
    assert read_png(out / "frame_00000.png").shape == (H, W, 3)


def test_png_into_existing_empty_directory(tmp_path):
    out = tmp_path / "frames"
    out.mkdir()
    write_all(PngSequenceWriter(out, (W, H)), frames(2))
    assert listing(out) == ["frame_00000.png", "frame_00001.png"]


def test_directory_in_place_of_a_file(tmp_path):
    (tmp_path / "a.mp4").mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        Mp4Writer(tmp_path / "a.mp4", (W, H), force=True).open()


# -- unwritable places -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.mp4", "a.gif", "frames"])
def test_parent_is_a_file(tmp_path, name):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    kind = {"a.mp4": OutputKind.MP4, "a.gif": OutputKind.GIF, "frames": OutputKind.PNG}[name]
    with pytest.raises(OutputPathError, match="is not a directory"):
        make_writer(kind, blocker / name, (W, H)).open()


def test_missing_directory(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        Mp4Writer(tmp_path / "nope" / "a.mp4", (W, H)).open()


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind root"
)
@pytest.mark.parametrize("name", ["a.mp4", "frames"])
def test_read_only_directory(tmp_path, name):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        kind = OutputKind.MP4 if name.endswith("mp4") else OutputKind.PNG
        with pytest.raises(OutputPathError, match=r"cannot write in .*ermission denied"):
            make_writer(kind, ro / name, (W, H)).open()
    finally:
        ro.chmod(stat.S_IRWXU)
    assert listing(ro) == []


@pytest.mark.parametrize("kind", list(OutputKind))
def test_refused_temporary_is_a_clear_error(tmp_path, monkeypatch, kind):
    # What an unwritable directory looks like when permission checks do not
    # apply (root): creating the temporary fails.
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(writers.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(writers.tempfile, "mkdtemp", refuse)
    name = {"png": "frames", "gif": "a.gif", "mp4": "a.mp4"}[kind.value]
    with pytest.raises(OutputPathError) as info:
        make_writer(kind, tmp_path / name, (W, H)).open()
    assert str(info.value) == f"cannot write in {str(tmp_path)!r}: Permission denied"
    assert listing(tmp_path) == []


# -- failures while writing ------------------------------------------------------------


def test_full_disk_while_writing_png(tmp_path, monkeypatch):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "frame_00000.png").write_bytes(b"old")
    real_save = Image.Image.save
    calls = []

    def save(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    writer = PngSequenceWriter(out, (W, H), force=True)
    writer.open()
    src = frames(5)
    writer.write(src[0])
    writer.write(src[1])
    with pytest.raises(ExportError, match="no space left on the device"):
        writer.write(src[2])
    assert not writer.is_open
    assert listing(out) == ["frame_00000.png"]  # untouched, no temporaries
    assert (out / "frame_00000.png").read_bytes() == b"old"


FAKE_FFMPEG = """#!/bin/sh
# Reads a little, then fails the way ffmpeg does on a full disk.
head -c 1000 > /dev/null
echo "[out#0/mp4 @ 0x1] Error writing trailer: No space left on device" >&2
exit 1
"""


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stands in for ffmpeg")
@pytest.mark.parametrize("cls, name", [(Mp4Writer, "a.mp4"), (GifWriter, "a.gif")])
def test_ffmpeg_failure_is_reported_and_cleaned(tmp_path, monkeypatch, cls, name):
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(FAKE_FFMPEG)
    fake.chmod(0o755)
    monkeypatch.setattr(writers, "ffmpeg_exe", lambda: str(fake))
    work = tmp_path / "out"
    work.mkdir()
    target = work / name
    target.write_bytes(b"old contents")
    writer = cls(target, (W, H), force=True)
    with pytest.raises(ExportError) as info:
        with writer:
            for f in frames(200):
                writer.write(f)
    assert str(info.value).endswith("no space left on the device")
    assert str(target) in str(info.value)
    assert listing(work) == [name]
    assert target.read_bytes() == b"old contents"


def test_abort_removes_everything(tmp_path):
    for kind, name in [(OutputKind.PNG, "f"), (OutputKind.GIF, "a.gif"), (OutputKind.MP4, "a.mp4")]:
        writer = make_writer(kind, tmp_path / name, (W, H))
        writer.open()
        for f in frames(5):
            writer.write(f)
        assert listing(tmp_path) != []  # temporaries exist while writing
        writer.abort()
        writer.abort()  # twice is fine
        assert listing(tmp_path) == [], kind


def test_exception_inside_with_block_aborts(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with Mp4Writer(tmp_path / "a.mp4", (W, H)) as writer:
            writer.write(frames(1)[0])
            raise KeyboardInterrupt
    assert listing(tmp_path) == []


def test_wrong_frame_shape_is_refused(tmp_path):
    with Mp4Writer(tmp_path / "a.mp4", (W, H)) as writer:
        with pytest.raises(ValueError, match=r"uint8 of shape \(96, 160, 3\)"):
            writer.write(np.zeros((H, W, 4), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            writer.write(np.zeros((H, W, 3), np.float64))
        writer.write(frames(1)[0])  # still usable
    assert len(decode(tmp_path / "a.mp4")) == 1


def test_no_frames_writes_nothing(tmp_path):
    writer = GifWriter(tmp_path / "a.gif", (W, H))
    writer.open()
    with pytest.raises(ExportError, match="no frames"):
        writer.close()
    assert listing(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize("kind, name", [(OutputKind.MP4, "a.mp4"), (OutputKind.PNG, "f")])
def test_outputs_get_the_usual_permissions(tmp_path, kind, name):
    # Temporaries are owner-only; the finished output follows the umask.
    old = os.umask(0o022)
    try:
        out = write_all(make_writer(kind, tmp_path / name, (W, H)), frames(2))
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == (0o755 if kind is OutputKind.PNG else 0o644)
    if kind is OutputKind.PNG:
        assert stat.S_IMODE((out / "frame_00000.png").stat().st_mode) == 0o644


# -- the background writer ---------------------------------------------------------------


def test_background_writer_keeps_order(tmp_path):
    src = frames(20)
    writer = PngSequenceWriter(tmp_path / "f", (W, H))
    writer.open()
    bg = writers.BackgroundWriter(writer, max_queue=2)
    for f in src:
        bg.write(f)
    out = bg.close()
    for i, f in enumerate(src):
        assert np.array_equal(read_png(out / f"frame_{i:05d}.png"), f)


def test_background_writer_reports_worker_errors(tmp_path, monkeypatch):
    calls = []
    real = PngSequenceWriter._write

    def write(self, frame):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, frame)

    monkeypatch.setattr(PngSequenceWriter, "_write", write)
    writer = PngSequenceWriter(tmp_path / "f", (W, H))
    writer.open()
    bg = writers.BackgroundWriter(writer)
    with pytest.raises(ExportError, match="no space left"):
        for f in frames(50):
            bg.write(f)
        bg.close()
    bg.abort()
    assert listing(tmp_path) == []


STALLED_FFMPEG = """#!/bin/sh
# Never reads its input: the pipe fills up and writes block.
sleep 60
"""


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stands in for ffmpeg")
def test_abort_unblocks_a_stalled_encoder(tmp_path, monkeypatch):
    import threading
    import time

    fake = tmp_path / "ffmpeg"
    fake.write_text(STALLED_FFMPEG)
    fake.chmod(0o755)
    monkeypatch.setattr(writers, "ffmpeg_exe", lambda: str(fake))
    out = tmp_path / "out"
    out.mkdir()
    writer = Mp4Writer(out / "a.mp4", (W, H))
    writer.open()
    bg = writers.BackgroundWriter(writer, max_queue=1)
    raised = []

    def feed():
        try:
            for f in frames(200):
                bg.write(f)
        except (ExportError, RuntimeError) as exc:
            raised.append(exc)

    stuck = threading.Thread(target=feed, daemon=True)
    stuck.start()
    time.sleep(0.5)
    assert stuck.is_alive()  # the pipe is full and the queue too
    t0 = time.perf_counter()
    bg.abort()
    assert time.perf_counter() - t0 < 10
    stuck.join(10)
    assert raised  # the feeding thread learnt that the writer is gone
    assert listing(out) == []
