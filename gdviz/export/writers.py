"""Frame sinks: a PNG sequence, a GIF or an MP4, written all-or-nothing.

A writer takes RGB frames (``uint8`` arrays of shape ``(height, width, 3)``)
one at a time and produces its output under a temporary name in the target
directory; only :meth:`FrameWriter.close` renames it into place. On an error or
:meth:`FrameWriter.abort` whatever was partly written is removed, and an
existing output is never touched unless the writer was created with
``force=True`` (and even then only once the new output is complete).

GIF and MP4 are encoded by the static ffmpeg that the ``imageio-ffmpeg`` wheel
ships (:func:`imageio_ffmpeg.get_ffmpeg_exe`), so no system ffmpeg is needed.
ffmpeg is driven directly rather than through ``imageio_ffmpeg.write_frames``
because that generator never looks at ffmpeg's exit status: a full disk would
leave a truncated video that looks like success.

Writers are plain Python and NumPy; they know nothing about Qt.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import numpy as np

from gdviz.export.plan import ExportError, OutputKind, OutputPathError, check_output

__all__ = [
    "BackgroundWriter",
    "FrameWriter",
    "GifWriter",
    "Mp4Writer",
    "PngSequenceWriter",
    "ffmpeg_exe",
    "make_writer",
]

#: PNG zlib level. Level 1 is ~3× faster than the default 6 on gdviz frames
#: (flat colours, thin lines) for files about 10 % larger.
PNG_COMPRESS_LEVEL = 1
#: x264 settings. CRF 18 keeps thin path lines and small text sharp. On gdviz
#: frames "veryfast" needs 27 % less CPU than "faster" for a file no larger
#: (mostly still pictures), leaving the second core to drawing.
MP4_CRF = 18
MP4_PRESET = "veryfast"


def ffmpeg_exe() -> str:
    """Path of the ffmpeg executable shipped by imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _describe_os_error(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return exc.strerror or str(exc)


class FrameWriter(ABC):
    """Base of all frame sinks.

    Use as a context manager (``with writer: writer.write(frame) ...``) or
    call :meth:`open`, :meth:`write` for each frame, then :meth:`close` (or
    :meth:`abort`). Leaving the ``with`` block by an exception aborts.

    Parameters
    ----------
    path : Path
        The final output (a file, or a directory for PNG frames).
    size : tuple[int, int]
        ``(width, height)`` of every frame.
    fps : float
        Frames per second (ignored by the PNG sequence).
    force : bool
        Replace an existing output once the new one is complete.
    n_frames : int, optional
        How many frames will come, if known (sets the PNG name width).
    """

    kind: OutputKind

    def __init__(
        self,
        path: str | os.PathLike[str],
        size: tuple[int, int],
        fps: float = 30.0,
        *,
        force: bool = False,
        n_frames: int | None = None,
    ) -> None:
        self.path = Path(os.fspath(path))
        self.size = (int(size[0]), int(size[1]))
        self.fps = float(fps)
        self.force = force
        self.n_frames = n_frames
        self.frames_written = 0
        self._state = "new"  # new -> open -> closed | aborted
        self._interrupted = False

    # -- public protocol -----------------------------------------------------

    def open(self) -> None:
        """Check the target and create the temporaries.

        Raises
        ------
        OutputPathError
            The output exists (without ``force``) or its directory cannot be
            written; nothing was created.
        """
        if self._state != "new":
            raise RuntimeError(f"writer is {self._state}, cannot open it again")
        check_output(self.path, self.kind, force=self.force)
        try:
            self._open()
        except OSError as exc:
            self._cleanup()
            raise OutputPathError(
                f"cannot write in {str(self.path.parent)!r}: {_describe_os_error(exc)}"
            ) from exc
        self._state = "open"

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB frame, ``uint8`` of shape ``(height, width, 3)``.

        Raises
        ------
        ValueError
            Wrong shape or dtype (the writer stays open).
        ExportError
            Writing failed; partial output has been removed.
        """
        if self._state != "open":
            raise RuntimeError(f"writer is {self._state}, cannot write")
        width, height = self.size
        if frame.dtype != np.uint8 or frame.shape != (height, width, 3):
            raise ValueError(
                f"frame must be uint8 of shape ({height}, {width}, 3), "
                f"not {frame.dtype} {frame.shape}"
            )
        with self._aborting_on_error():
            self._write(np.ascontiguousarray(frame))
        self.frames_written += 1

    @contextlib.contextmanager
    def _aborting_on_error(self) -> Iterator[None]:
        """Any failure removes the partial output; OS errors become ExportError."""
        try:
            yield
        except ExportError:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise ExportError(
                f"could not write {str(self.path)!r}: {_describe_os_error(exc)}"
            ) from exc
        except BaseException:
            self.abort()
            raise

    def close(self) -> Path:
        """Finish the output and move it into place; returns its path.

        Raises
        ------
        ExportError
            Finishing failed; partial output has been removed and an
            existing output is untouched.
        """
        if self._state != "open":
            raise RuntimeError(f"writer is {self._state}, cannot close")
        if self.frames_written == 0:
            self.abort()
            raise ExportError("no frames were drawn, nothing was written")
        with self._aborting_on_error():
            self._finish()
        self._state = "closed"
        return self.path

    def abort(self) -> None:
        """Stop and remove everything partly written. Safe to call twice."""
        if self._state in ("closed", "aborted"):
            return
        self._state = "aborted"
        self._cleanup()

    @property
    def is_open(self) -> bool:
        return self._state == "open"

    def interrupt(self) -> None:
        """Make a write or close running in another thread stop soon.

        The only method that may be called from another thread; follow it
        with :meth:`abort` once that thread is done. An interrupted writer
        never moves its output into place.
        """
        self._interrupted = True

    def _check_interrupted(self) -> None:
        if self._interrupted:
            raise ExportError("export interrupted; nothing was written")

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.close()

    # -- for subclasses ------------------------------------------------------

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _write(self, frame: np.ndarray) -> None: ...

    @abstractmethod
    def _finish(self) -> None: ...

    @abstractmethod
    def _cleanup(self) -> None:
        """Remove temporaries; must not raise and must work from any state."""

    def _temp_file(self, suffix: str) -> Path:
        """A new empty file next to the output, hidden, that ends in ``suffix``."""
        fd, name = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=f".part{suffix}"
        )
        os.close(fd)
        return Path(name)

    def _replace_into_place(self, temp: Path) -> None:
        self._check_interrupted()
        # Re-checked here because the output may have appeared while rendering.
        if not self.force and self.path.exists():
            raise OutputPathError(f"{str(self.path)!r} appeared while exporting; not replaced")
        _fsync_file(temp)
        # mkstemp makes owner-only files; the output gets the usual permissions.
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, self.path)
        _fsync_dir(self.path.parent)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; not every file system allows it.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass


class PngSequenceWriter(FrameWriter):
    """``frame_00000.png``, ``frame_00001.png``, … in a directory.

    Frames go into a hidden temporary directory: beside the target when the
    target does not exist yet (renamed into place at the end, all at once), or
    inside it when it does (files moved in at the end). With ``force`` the
    old ``frame_*.png`` files are removed then, so the directory holds exactly
    the new sequence; files with other names are never touched.

    PNG bytes depend only on the pixels (no timestamps), so the same frames
    give byte-identical files.
    """

    kind = OutputKind.PNG

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._tempdir: Path | None = None
        digits = len(str(max((self.n_frames or 1) - 1, 0)))
        self._digits = max(5, digits)

    def frame_name(self, index: int) -> str:
        return f"frame_{index:0{self._digits}d}.png"

    def _open(self) -> None:
        from PIL import Image  # noqa: F401  (fail here, not mid-export, if missing)

        if self.path.is_dir():
            self._tempdir = Path(tempfile.mkdtemp(dir=self.path, prefix=".gdviz-part-"))
        else:
            self._tempdir = Path(
                tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}.part-")
            )

    def _write(self, frame: np.ndarray) -> None:
        from PIL import Image

        assert self._tempdir is not None
        target = self._tempdir / self.frame_name(self.frames_written)
        # Pillow is imageio's PNG plugin; it is called directly to choose the
        # zlib level. Its PNGs carry no time stamp, so bytes follow pixels.
        Image.fromarray(frame, mode="RGB").save(
            target, format="PNG", compress_level=PNG_COMPRESS_LEVEL
        )

    def _finish(self) -> None:
        assert self._tempdir is not None
        self._check_interrupted()
        temp = self._tempdir
        for name in os.listdir(temp):
            _fsync_file(temp / name)
        if temp.parent != self.path:
            if self.path.exists():
                raise OutputPathError(f"{str(self.path)!r} appeared while exporting; not replaced")
            os.chmod(temp, 0o777 & ~_umask())  # mkdtemp makes it owner-only
            os.rename(temp, self.path)
            self._tempdir = None
            _fsync_dir(self.path.parent)
            return
        if self.force:
            for old in self.path.glob("frame_*.png"):
                if old.is_file():
                    old.unlink()
        elif any(self.path.glob("frame_*.png")):
            raise OutputPathError(f"{str(self.path)!r} got frame files while exporting; kept them")
        for name in sorted(os.listdir(temp)):
            os.replace(temp / name, self.path / name)
        temp.rmdir()
        self._tempdir = None
        _fsync_dir(self.path)

    def _cleanup(self) -> None:
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill an encoder and anything it started (it leads its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()


class _FfmpegWriter(FrameWriter):
    """Feeds raw RGB frames to an ffmpeg process through its standard input."""

    suffix = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._temps: list[Path] = []
        self._encoded: Path | None = None

    def _input_args(self) -> list[str]:
        width, height = self.size
        rate = Fraction(self.fps).limit_denominator(1001)
        return [
            "-f", "rawvideo",
            "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}",
            "-r", str(rate),
            "-i", "pipe:0",
        ]  # fmt: skip

    @abstractmethod
    def _first_pass_args(self) -> list[str]:
        """ffmpeg arguments after the input: what to make of the frames."""

    def _start(self, args: list[str]) -> subprocess.Popen[bytes]:
        # One file collects ffmpeg's messages; each pass starts it afresh so a
        # failure reports its own last line.
        if self._stderr is None:
            self._stderr = tempfile.TemporaryFile()
        self._stderr.seek(0)
        self._stderr.truncate()
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
        # The ffmpeg process gets a new session so a Ctrl-C in the terminal
        # reaches gdviz only, which then stops ffmpeg and removes the output.
        return subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if "pipe:0" in args else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
        )

    def _open(self) -> None:
        self._encoded = self._temp_file(self.suffix)
        self._temps.append(self._encoded)
        self._prepare()
        self._proc = self._start(self._input_args() + self._first_pass_args())

    def _prepare(self) -> None:
        """Create further temporaries before ffmpeg starts (for subclasses)."""

    def _write(self, frame: np.ndarray) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(memoryview(frame).cast("B"))
        except BrokenPipeError:
            # ffmpeg stopped reading: it failed, and its own words say why.
            self._proc.wait()
            raise ExportError(self._failure("ffmpeg stopped")) from None

    def _stop_and_check(self, proc: subprocess.Popen[bytes], what: str) -> None:
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        proc.wait()
        if proc.returncode != 0:
            raise ExportError(self._failure(f"{what} failed (exit status {proc.returncode})"))

    def _failure(self, what: str) -> str:
        detail = ""
        if self._stderr is not None:
            try:
                self._stderr.seek(0)
                lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
                detail = lines[-1].strip() if lines else ""
            except OSError:
                pass
        if "No space left" in detail:
            detail = "no space left on the device"
        message = f"could not write {str(self.path)!r}: {what}"
        return f"{message}: {detail}" if detail else message

    def _finish(self) -> None:
        assert self._proc is not None and self._encoded is not None
        self._stop_and_check(self._proc, "ffmpeg")
        self._proc = None
        self._second_pass()
        self._replace_into_place(self._encoded)
        self._temps.remove(self._encoded)
        self._cleanup()

    def _second_pass(self) -> None:
        """Run after the frames are in (for subclasses)."""

    def _run_to_end(self, args: list[str]) -> None:
        self._check_interrupted()
        self._proc = self._start(args)
        self._stop_and_check(self._proc, "ffmpeg")
        self._proc = None

    def interrupt(self) -> None:
        # Killing ffmpeg turns a write blocked on its full pipe into a
        # BrokenPipeError and ends a running second pass.
        super().interrupt()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            _kill(proc)

    def _cleanup(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                _kill(proc)
            if proc.stdin is not None:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            proc.wait()
        for temp in self._temps:
            _unlink_quietly(temp)
        self._temps.clear()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


class Mp4Writer(_FfmpegWriter):
    """H.264 video in an MP4 container.

    ``yuv420p`` (4:2:0) so every player, browser and slide program decodes it;
    that needs an even width and height (see
    :func:`gdviz.export.plan.check_size`). Colours are converted with the
    BT.709 matrix and tagged as such, which is what players assume for HD
    video, so the heat-map's colours survive. ``+faststart`` puts the index
    first so a video starts playing before it is fully loaded.
    """

    kind = OutputKind.MP4
    suffix = ".mp4"

    def _first_pass_args(self) -> list[str]:
        assert self._encoded is not None
        return [
            "-an",
            # setparams tags the frames: the encoder takes colour tags from
            # them, and -color_primaries alone ends up "unknown".
            "-vf", "scale=out_color_matrix=bt709:out_range=tv:flags=bicubic,"
            "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
            "-c:v", "libx264",
            "-preset", MP4_PRESET,
            "-crf", str(MP4_CRF),
            "-pix_fmt", "yuv420p",
            "-movflags", "+faststart",
            "-f", "mp4",
            str(self._encoded),
        ]  # fmt: skip


class GifWriter(_FfmpegWriter):
    """An endlessly looping GIF with one palette fitted to the whole animation.

    Two passes, so memory does not grow with the number of frames: the first
    stores the frames losslessly (PNG in Matroska: on gdviz frames as small as
    FFV1 and half the CPU) while ``palettegen`` gathers colour statistics over
    all of them; the second maps every frame to that palette
    (``paletteuse``) and stores only the rectangle that changed since the
    previous frame (``diff_mode=rectangle``), which keeps the file small
    because most of a gdviz frame stands still. GIF delays are whole
    hundredths of a second; ffmpeg alternates them (3, 3, 4 for 30 fps) so
    the average rate is right.
    """

    kind = OutputKind.GIF
    suffix = ".gif"

    def _prepare(self) -> None:
        self._palette = self._temp_file(".png")
        self._frames = self._temp_file(".mkv")
        self._temps += [self._palette, self._frames]

    def _first_pass_args(self) -> list[str]:
        return [
            "-filter_complex", "[0:v]split[keep][stats];"
            "[stats]palettegen=max_colors=256:reserve_transparent=0:stats_mode=full[pal]",
            "-map", "[pal]", "-frames:v", "1", "-update", "1", "-f", "image2",
            str(self._palette),
            "-map", "[keep]", "-c:v", "png", "-compression_level", "1",
            "-f", "matroska", str(self._frames),
        ]  # fmt: skip

    def _second_pass(self) -> None:
        assert self._encoded is not None
        self._run_to_end(
            [
                "-i", str(self._frames),
                "-i", str(self._palette),
                "-lavfi", "[0:v][1:v]paletteuse=dither=sierra2_4a:diff_mode=rectangle",
                "-loop", "0",
                "-f", "gif",
                str(self._encoded),
            ]
        )  # fmt: skip


class BackgroundWriter:
    """Runs a writer's :meth:`~FrameWriter.write` and :meth:`~FrameWriter.close`
    on a worker thread, so drawing the next frame overlaps encoding this one.

    Frames are handed over through a short queue (``max_queue`` frames); when
    the encoder falls behind, :meth:`write` waits, so memory stays bounded and
    no frame is dropped. Frames are written in order by one thread, so the
    output is the same as writing them directly. Errors from the worker are
    raised by the next :meth:`write` or by :meth:`result`.

    Parameters
    ----------
    writer : FrameWriter
        An opened writer; from now on only this object touches it.
    max_queue : int
        Frames waiting at most.
    """

    _DONE = object()

    def __init__(self, writer: FrameWriter, max_queue: int = 4) -> None:
        if not writer.is_open:
            raise RuntimeError("open the writer before handing it to BackgroundWriter")
        self.writer = writer
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._error: BaseException | None = None
        self._result: Path | None = None
        self._stop = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="gdviz-export-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if self._stop.is_set():
                return
            try:
                if item is self._DONE:
                    self._result = self.writer.close()
                    return
                self.writer.write(item)  # type: ignore[arg-type]
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc
                return

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, frame: np.ndarray) -> None:
        """Queue one frame (copied by the caller if it will be reused)."""
        if self._stop.is_set():
            raise RuntimeError("writer was aborted, cannot write")
        if self._closing:
            raise RuntimeError("writer is closing, cannot write")
        self._raise_error()
        while True:
            try:
                self._queue.put(frame, timeout=0.05)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    self._raise_error()
                    raise RuntimeError("the writer thread stopped") from None

    def close_async(self) -> None:
        """Ask the worker to finish the output after the queued frames."""
        if not self._closing:
            self._closing = True
            self._put_done()

    def _put_done(self) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(self._DONE, timeout=0.05)
                return
            except queue.Full:
                continue

    @property
    def done(self) -> bool:
        """True once the worker has finished (closed the output or failed)."""
        return not self._thread.is_alive()

    @property
    def completed(self) -> bool:
        """True once the output is complete and in place."""
        return self._result is not None

    def result(self) -> Path:
        """Wait for the worker and return the written path (or raise its error)."""
        self.close_async()
        self._thread.join()
        self._raise_error()
        assert self._result is not None
        return self._result

    def close(self) -> Path:
        """Finish the output (blocks) and return its path."""
        try:
            return self.result()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop the worker at once and remove everything partly written."""
        self._stop.set()
        self.writer.interrupt()
        # Unblock a worker waiting for a frame, and empty the queue.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        try:
            self._queue.put_nowait(self._DONE)
        except queue.Full:
            pass
        self._thread.join()
        self.writer.abort()


_WRITERS: dict[OutputKind, type[FrameWriter]] = {
    OutputKind.PNG: PngSequenceWriter,
    OutputKind.GIF: GifWriter,
    OutputKind.MP4: Mp4Writer,
}


def make_writer(
    kind: OutputKind,
    path: str | os.PathLike[str],
    size: tuple[int, int],
    fps: float = 30.0,
    *,
    force: bool = False,
    n_frames: int | None = None,
) -> FrameWriter:
    """The writer for ``kind`` (not yet opened)."""
    return _WRITERS[kind](path, size, fps, force=force, n_frames=n_frames)
