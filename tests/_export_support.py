"""Reading exports back for the export tests.

Videos are decoded with the same ffmpeg the writers use, through a plain
``subprocess.run``: imageio's ffmpeg reader leaves its pipes open, which the
test suite (warnings are errors) would report as ResourceWarnings.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gdviz.export.writers import ffmpeg_exe


@dataclass
class VideoInfo:
    codec: str
    pix_fmt: str
    size: tuple[int, int]
    fps: float
    color: str  # e.g. "tv, bt709, progressive"


_STREAM = re.compile(
    r"Video: (?P<codec>\w+).*?, (?P<pix>\w+)(?:\((?P<color>[^)]*)\))?, (?P<w>\d+)x(?P<h>\d+).*?"
    r"(?P<fps>[\d.]+) fps"
)


def probe(path: Path) -> VideoInfo:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    )
    match = _STREAM.search(proc.stderr)
    assert match, proc.stderr
    return VideoInfo(
        match["codec"],
        match["pix"],
        (int(match["w"]), int(match["h"])),
        float(match["fps"]),
        match["color"] or "",
    )


def decode(path: Path) -> np.ndarray:
    """All frames of a video or GIF as RGB ``uint8`` ``(n, h, w, 3)``."""
    width, height = probe(path).size
    # passthrough: one output frame per stored frame, whatever the GIF delays.
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-fps_mode", "passthrough"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=True)
    data = np.frombuffer(proc.stdout, np.uint8)
    assert data.size % (width * height * 3) == 0
    return data.reshape(-1, height, width, 3)


def gif_delays(path: Path) -> tuple[list[int], int | None]:
    """Per-frame delays in milliseconds and the loop count of a GIF."""
    with Image.open(path) as im:
        delays = []
        for i in range(im.n_frames):
            im.seek(i)
            delays.append(im.info["duration"])
        return delays, im.info.get("loop")


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def listing(path: Path) -> list[str]:
    """Every file and directory under ``path`` (hidden ones included), sorted."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))
