"""The 3-D surface view: the loss as a landscape a person can turn, with the runs on it.

:class:`Surface3DView` draws a loss of two variables as a shaded surface (each
point in the colour the 2-D heat-map gives it), every run's path draped over it
(slightly lifted so the surface does not hide it, and faintly through hills in
front of it) and each run's current point as a ball.
It shows the same step index as every other view: :meth:`Surface3DView.set_step`.
Drag to turn, scroll to zoom, middle-drag to pan; "Reset camera" goes back.

OpenGL is not everywhere (see :mod:`gdviz.ui.gl`). The view asks
:func:`~gdviz.ui.gl.probe_gl` before it creates any GL widget; without OpenGL it
is a one-line note and every method is a harmless no-op, so callers never need
to check.

Coordinates: the view window ``(x0, x1) × (y0, y1)`` is drawn as the square
``[-1, 1]²`` and heights as ``[0, BOX_HEIGHT]``, whatever the function's units.
How a loss value becomes a height is a :class:`HeightScale` (pure NumPy, no Qt):
linear, clamped at a high quantile (so one steep wall or a pole does not flatten
everything else), or logarithmic (Rosenbrock's curved valley floor becomes
visible).
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QMatrix4x4,
    QPainter,
    QSurfaceFormat,
    QWindow,
)
from PySide6.QtOpenGL import QOpenGLBuffer, QOpenGLFramebufferObject, QOpenGLWindow
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.surface import GridSampler, normalize_domain
from gdviz.ui.compute import SLICE_SECONDS
from gdviz.ui.gl import GLSupport, probe_gl
from gdviz.ui.pg_compat import model_view_pushed, set_shader_program, shader_program
from gdviz.ui.scene import COARSE_SAMPLES, COARSE_SECONDS, PROBE_SAMPLES, SURFACE_SYNC_SECONDS
from gdviz.ui.theme import DARK, Theme

__all__ = [
    "BOX_HEIGHT",
    "EXPORT_PANELS",
    "HEIGHT_MODES",
    "Export3DScene",
    "HeightScale",
    "Surface3DView",
    "drape_path",
    "export_scene",
    "mesh_height",
    "path_segments",
    "surface_mesh",
]

#: How loss values become heights; labels for the menu.
HEIGHT_MODES: dict[str, str] = {
    "clamp": "Clamped",
    "linear": "Linear",
    "log": "Log",
}
#: Height of the drawn box; the view window is 2 × 2.
BOX_HEIGHT = 1.1
#: Paths and balls float this far above the surface (in box units), so the
#: surface's own triangles never cover them.
LIFT = 0.012
#: Path width relative to the theme's line width (3-D lines read thinner than 2-D).
PATH_WIDTH = 1.5
#: Opacity of the copy of each path drawn through the hills in front of it.
GHOST_ALPHA = 0.45
#: Samples per axis of the surface mesh.
GRID_SIZE = 150
#: Samples per axis of the coarse surface drawn while the camera moves.
DRAFT_SIZE = 50
#: Upper quantile that "clamp" and "log" map to the top of the box: the same
#: choice as the 2-D heat-map's colour range, so both views colour alike.
TOP_QUANTILE = 0.99
#: A long step is split into at most this many pieces to follow the surface…
MAX_SUBSTEPS = 8
#: …unless the run would then have more than this many points (steps are not split).
MAX_PATH_SAMPLES = 60_000

_CAMERA = {"distance": 4.5, "elevation": 45.0, "azimuth": -100.0}


# --------------------------------------------------------------------------- maths
@dataclass(frozen=True)
class HeightScale:
    """Maps loss values to heights in ``[0, 1]`` (multiply by :data:`BOX_HEIGHT`).

    Built from the sampled surface with :meth:`from_values`. Paths and balls do
    not use it directly: they take the height of the drawn mesh under them
    (:func:`mesh_height`), so they lie exactly on what is on screen.

    Attributes
    ----------
    mode
        ``"linear"`` (minimum → 0, maximum → 1), ``"clamp"`` (minimum → 0, the
        :data:`TOP_QUANTILE` quantile → 1, higher values flattened at 1) or
        ``"log"`` (``log10(z − min + offset)``, then like clamp).
    zmin
        Smallest finite value of the surface.
    lo, hi
        Transformed values mapped to 0 and 1 (``lo < hi``).
    offset
        Log mode only: added to ``z − zmin`` before the logarithm (``span · 1e-4``,
        as the 2-D view's log colours), so the minimum itself is finite.
    """

    mode: str
    zmin: float
    lo: float
    hi: float
    offset: float = 0.0

    @classmethod
    def from_values(cls, z: np.ndarray, mode: str = "clamp") -> HeightScale:
        """The scale for surface values ``z`` (non-finite values are ignored).

        Raises
        ------
        ValueError
            For an unknown ``mode`` (the message lists the modes).
        """
        if mode not in HEIGHT_MODES:
            raise ValueError(f"height mode must be one of {', '.join(HEIGHT_MODES)}, got {mode!r}")
        f = np.asarray(z, dtype=np.float64)
        f = f[np.isfinite(f)]
        if f.size == 0:
            return cls(mode, 0.0, 0.0, 1.0, 1.0 if mode == "log" else 0.0)
        zmin, zmax = float(f.min()), float(f.max())
        offset = 0.0
        if mode == "log":
            offset = max(zmax - zmin, 1e-300) * 1e-4
            with np.errstate(all="ignore"):
                t = np.log10(f - zmin + offset)
        else:
            t = f
        lo = float(t.min())
        hi = float(t.max())
        if mode != "linear" and t.size > 10:
            hi = float(np.quantile(t, TOP_QUANTILE))
        if not hi > lo:
            hi = float(t.max())
        if not hi > lo:  # a flat function: put it half-way up
            lo, hi = lo - 1.0, lo + 1.0
        return cls(mode, zmin, lo, hi, offset)

    def transform(self, z: np.ndarray) -> np.ndarray:
        """Values on the scale's own axis (``z`` itself, or its logarithm)."""
        z = np.asarray(z, dtype=np.float64)
        if self.mode != "log":
            return z
        with np.errstate(all="ignore"):
            # Values below the sampled minimum (between grid points, or a run
            # outside the window) sit on the floor rather than turning into NaN.
            return np.log10(np.maximum(z - self.zmin, 0.0) + self.offset)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Heights in ``[0, 1]``; NaN where ``z`` is not finite."""
        z = np.asarray(z, dtype=np.float64)
        with np.errstate(all="ignore"):
            h = (self.transform(z) - self.lo) / (self.hi - self.lo)
        h = np.clip(h, 0.0, 1.0)
        h[~np.isfinite(z)] = np.nan
        return h


def _unit(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``[lo, hi]`` → ``[-1, 1]``."""
    return (np.asarray(v, dtype=np.float64) - lo) * (2.0 / (hi - lo)) - 1.0


@dataclass(frozen=True)
class SurfaceMesh:
    """Triangles of a sampled surface, ready for the GPU.

    Attributes
    ----------
    vertexes
        ``(nx·ny, 3)`` float32 in box coordinates; vertex ``i·ny + j`` is at
        ``(xs[i], ys[j])``. Masked samples sit at height 0 and belong to no face.
    faces
        ``(F, 3)`` uint32: two triangles per grid cell whose four corners are
        finite (cells touching a masked sample are left out, leaving a hole).
    normals
        ``(nx·ny, 3)`` float32 unit normals (from central differences).
    heights
        ``(nx·ny,)`` heights in ``[0, 1]`` (NaN where masked).
    """

    vertexes: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    heights: np.ndarray


def surface_mesh(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, scale: HeightScale) -> SurfaceMesh:
    """Build the mesh of ``z[j, i]`` at ``(xs[i], ys[j])`` (a :class:`~gdviz.core.surface.Grid`).

    Parameters
    ----------
    xs, ys
        Increasing sample coordinates, ``nx`` and ``ny`` of them.
    z
        Values of shape ``(ny, nx)`` (row-major, as the 2-D view uses).
    scale
        How values become heights.
    """
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    nx, ny = len(xs), len(ys)
    zz = np.asarray(z, dtype=np.float64)
    if zz.shape != (ny, nx):
        raise ValueError(f"z must have shape (ny, nx) = ({ny}, {nx}), got {zz.shape}")
    # The GL mesh wants vertex (i, j) at (xs[i], ys[j]): the transpose of the image.
    h = scale(zz.T)  # (nx, ny)
    finite = np.isfinite(h)
    hz = np.where(finite, h, 0.0) * BOX_HEIGHT
    ux = _unit(xs, xs[0], xs[-1])
    uy = _unit(ys, ys[0], ys[-1])
    verts = np.empty((nx, ny, 3), dtype=np.float32)
    verts[..., 0] = ux[:, None]
    verts[..., 1] = uy[None, :]
    verts[..., 2] = hz

    # Normal of a height field: (-∂h/∂x, -∂h/∂y, 1), normalised.
    gx = np.gradient(hz, ux, axis=0) if nx > 1 else np.zeros_like(hz)
    gy = np.gradient(hz, uy, axis=1) if ny > 1 else np.zeros_like(hz)
    n = np.stack([-gx, -gy, np.ones_like(hz)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)

    idx = np.arange(nx * ny, dtype=np.uint32).reshape(nx, ny)
    a, b = idx[:-1, :-1], idx[1:, :-1]
    c, d = idx[1:, 1:], idx[:-1, 1:]
    ok = (finite[:-1, :-1] & finite[1:, :-1] & finite[1:, 1:] & finite[:-1, 1:]).ravel()
    tri1 = np.stack([a.ravel(), b.ravel(), c.ravel()], axis=1)[ok]
    tri2 = np.stack([a.ravel(), c.ravel(), d.ravel()], axis=1)[ok]
    faces = np.ascontiguousarray(np.concatenate([tri1, tri2]), dtype=np.uint32)
    return SurfaceMesh(
        vertexes=verts.reshape(-1, 3),
        faces=faces,
        normals=n.reshape(-1, 3).astype(np.float32),
        heights=h.reshape(-1),
    )


@dataclass(frozen=True)
class DrapedPath:
    """One run's path in box coordinates, split into sub-steps once for every step.

    Attributes
    ----------
    xy
        ``(M + 1, 2)`` box coordinates of the sub-samples along the path, in order.
    starts
        ``(T + 1,)``: step ``i`` is sub-sample ``starts[i]``; the path up to step
        ``i`` is ``xy[: starts[i] + 1]``.
    """

    xy: np.ndarray
    starts: np.ndarray


def drape_path(
    positions: np.ndarray,
    domain: Sequence[Sequence[float]],
    cell: float,
    *,
    max_substeps: int = MAX_SUBSTEPS,
    budget: int = MAX_PATH_SAMPLES,
    min_gap: float | None = None,
) -> DrapedPath:
    """Split a path of points ``(T + 1, 2)`` into sub-steps that can follow the surface.

    A step that crosses several grid cells is split into sub-steps (two per
    ``cell`` of length, at most ``max_substeps``), so that, once each sub-sample
    gets the surface's height (:func:`path_segments`), the drawn path goes over
    hills and through valleys instead of cutting through them. Past ``budget``
    sub-samples (a very long run), steps are not split.

    Tiny steps are merged: a point is kept each time the length travelled along
    the path passes another multiple of ``min_gap`` (a quarter of a cell, about
    a pixel, by default). Ten thousand steps creeping along a valley floor then
    cost a few hundred vertices per frame, while every zig-zag stays (it adds
    length). Points next to a non-finite one are always kept.

    Parameters
    ----------
    positions
        The run's positions, one row per step.
    domain
        ``((x0, x1), (y0, y1))``, the view window (drawn as ``[-1, 1]²``).
    cell
        Grid spacing in box units.
    min_gap
        Path length in box units between kept points; 0 keeps every point.
    """
    (x0, x1), (y0, y1) = normalize_domain(domain, 2)
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
        raise ValueError(f"positions must have shape (T+1, 2), got {p.shape}")
    steps = p.shape[0] - 1
    u = np.stack([_unit(p[:, 0], x0, x1), _unit(p[:, 1], y0, y1)], axis=1)
    if steps == 0:
        return DrapedPath(xy=u, starts=np.zeros(1, dtype=np.int64))
    with np.errstate(all="ignore"):
        length = np.hypot(*(u[1:] - u[:-1]).T)
        m = np.ceil(2.0 * length / max(cell, 1e-12))
    m = np.where(np.isfinite(m), np.clip(m, 1, max_substeps), 1).astype(np.int64)
    if int(m.sum()) > budget:
        m[:] = 1
    starts = np.concatenate([[0], np.cumsum(m)])
    seg = np.repeat(np.arange(steps), m)
    frac = (np.arange(int(starts[-1])) - starts[seg]) / m[seg]
    xy = np.empty((len(seg) + 1, 2))
    xy[:-1] = u[seg]
    # Only true sub-samples move towards the next point: a step *to* a
    # non-finite point must leave its own (finite) start alone.
    mid = frac > 0
    with np.errstate(all="ignore"):
        xy[:-1][mid] += frac[mid, None] * (u[seg[mid] + 1] - u[seg[mid]])
    xy[-1] = u[-1]
    gap = cell / 4 if min_gap is None else float(min_gap)
    if gap > 0 and len(xy) > 2:
        with np.errstate(all="ignore"):
            d = np.hypot(*np.diff(xy, axis=0).T)
        # A jump to or from a non-finite point counts as long: both ends stay.
        d = np.where(np.isfinite(d), d, 10 * gap)
        quantum = np.floor(np.concatenate([[0.0], np.cumsum(d)]) / gap)
        keep = np.concatenate([[True], np.diff(quantum) > 0])
        keep[-1] = True
        kept = np.nonzero(keep)[0]
        # Step i now ends at the last kept point at or before its own.
        starts = np.searchsorted(kept, starts, side="right") - 1
        xy = xy[kept]
    return DrapedPath(xy=xy, starts=starts.astype(np.int64))


def mesh_height(hz: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Height of the drawn surface mesh at box points ``xy`` (``(N, 2)``).

    ``hz`` is ``(nx, ny)``: heights of the grid vertices spread evenly over
    ``[-1, 1]²`` (NaN where masked). The interpolation is the mesh's own: each
    cell is split into the triangles ``(i, j)–(i+1, j)–(i+1, j+1)`` and
    ``(i, j)–(i+1, j+1)–(i, j+1)``, as :func:`surface_mesh` draws them, so a
    point lies exactly on the triangles on screen. NaN outside ``[-1, 1]²``,
    for non-finite points, and in cells with a masked corner.
    """
    hz = np.asarray(hz, dtype=np.float64)
    nx, ny = hz.shape
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    out = np.full(len(pts), np.nan)
    with np.errstate(all="ignore"):
        gx = (pts[:, 0] + 1.0) * 0.5 * (nx - 1)
        gy = (pts[:, 1] + 1.0) * 0.5 * (ny - 1)
    eps = 1e-9
    ok = (
        np.isfinite(gx) & np.isfinite(gy) & (gx >= -eps) & (gx <= nx - 1 + eps)
        & (gy >= -eps) & (gy <= ny - 1 + eps)
    )  # fmt: skip
    gx, gy = np.clip(gx[ok], 0, nx - 1), np.clip(gy[ok], 0, ny - 1)
    i = np.minimum(gx.astype(np.int64), nx - 2)
    j = np.minimum(gy.astype(np.int64), ny - 2)
    s, t = gx - i, gy - j
    ha, hb = hz[i, j], hz[i + 1, j]
    hc, hd = hz[i + 1, j + 1], hz[i, j + 1]
    lower = s >= t  # triangle a-b-c
    h = np.where(lower, ha + s * (hb - ha) + t * (hc - hb), ha + t * (hd - ha) + s * (hc - hd))
    out[ok] = h
    return out


def path_segments(path: DrapedPath, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The drawable pieces of a path, as line pairs, and where each step ends.

    Parameters
    ----------
    path
        From :func:`drape_path`.
    heights
        ``(M + 1,)`` the height of each sub-sample (NaN where it cannot be drawn:
        outside the view window, over a hole).

    Returns
    -------
    (vertexes, ends)
        ``vertexes`` ``(2P, 3)`` float32, two per drawable sub-segment, in path
        order; the path up to step ``i`` is ``vertexes[: 2 * ends[i]]``.
        Zero-length pieces (a stopped run repeats its last point) are left out.
    """
    xy = path.xy
    h = np.asarray(heights, dtype=np.float64)
    ok = np.isfinite(h[:-1]) & np.isfinite(h[1:]) & np.any(xy[1:] != xy[:-1], axis=1)
    q = np.nonzero(ok)[0]
    v = np.empty((len(q), 2, 3), dtype=np.float32)
    v[:, 0, :2] = xy[q]
    v[:, 1, :2] = xy[q + 1]
    v[:, 0, 2] = h[q]
    v[:, 1, 2] = h[q + 1]
    counted = np.concatenate([[0], np.cumsum(ok)])
    return v.reshape(-1, 3), counted[path.starts].astype(np.int64)


def _rgba(color: str, alpha: float | None = None) -> tuple[float, float, float, float]:
    """``#rrggbb`` / ``#rrggbbaa`` (CSS order) to floats 0…1."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) / 255 for i in (0, 2, 4))
    a = int(c[6:8], 16) / 255 if len(c) == 8 else 1.0
    return (r, g, b, a if alpha is None else alpha)


# ---------------------------------------------------------------------- GL classes
_SURFACE_VERTEX = """
uniform mat4 u_mvp;
uniform mat3 u_normal;
attribute vec4 a_position;
attribute vec3 a_normal;
attribute vec4 a_color;
varying vec4 v_color;
varying vec3 v_normal;
void main() {
    v_normal = normalize(u_normal * a_normal);
    v_color = a_color;
    gl_Position = u_mvp * a_position;
}
"""
# Light from the viewer's upper left; the factor stays near 1 on ground facing
# the viewer, so colours read as the same colour map as the 2-D heat-map. The
# underside is drawn dark (triangles wind counter-clockwise seen from above, so
# gl_FrontFacing is false from below): a wall seen from below is clearly the
# back of the surface, not a valley.
_SURFACE_FRAGMENT = """
#ifdef GL_ES
precision mediump float;
#endif
varying vec4 v_color;
varying vec3 v_normal;
void main() {
    vec3 n = normalize(v_normal);
    float d = abs(dot(n, normalize(vec3(-0.35, 0.55, 1.0))));
    float k = gl_FrontFacing ? 0.5 + 0.55 * d : 0.25 + 0.2 * d;
    gl_FragColor = vec4(min(v_color.rgb * k, 1.0), v_color.a);
}
"""


@functools.cache
def _gl() -> Any:
    """Import pyqtgraph.opengl and define the GL classes (only once OpenGL is known to work)."""
    import pyqtgraph.opengl as gl
    from pyqtgraph.opengl import shaders
    from pyqtgraph.opengl.GLViewWidget import GLViewMixin
    from pyqtgraph.opengl.items.GLMeshItem import DirtyFlag

    shaders.ShaderProgram(
        "gdviz_surface",
        [shaders.VertexShader(_SURFACE_VERTEX), shaders.FragmentShader(_SURFACE_FRAGMENT)],
    )

    class SurfaceItem(gl.GLMeshItem):
        """A mesh whose vertexes, normals, faces and colours are given ready-made.

        ``GLSurfacePlotItem`` computes smooth normals with a Python loop over
        every vertex (seconds for 150 × 150) and cannot leave holes where the
        loss is not finite; a grid's normals are one ``np.gradient`` away.
        """

        def __init__(self) -> None:
            from OpenGL import GL

            # Pushed back a little in depth, so the paths lying on it win every tie.
            options = {
                GL.GL_DEPTH_TEST: True,
                GL.GL_BLEND: False,
                GL.GL_CULL_FACE: False,
                GL.GL_STENCIL_TEST: False,
                GL.GL_POLYGON_OFFSET_FILL: True,
                "glPolygonOffset": (4.0, 8.0),
            }
            super().__init__(shader="gdviz_surface", smooth=True, glOptions=options)
            self._arrays: tuple[np.ndarray, ...] | None = None

        def set_mesh(self, mesh: SurfaceMesh, colors: np.ndarray) -> None:
            self._arrays = (mesh.vertexes, mesh.normals, mesh.faces, colors)
            self.vertexes = None  # re-parse on the next paint
            self.meshDataChanged()

        def meshDataChanged(self) -> None:
            self.vertexes = None
            self.update()

        def parseMeshData(self) -> Any:
            if self.vertexes is not None or self._arrays is None:
                return DirtyFlag(0)
            self.vertexes, self.normals, self.faces, self.colors = self._arrays
            return DirtyFlag.POSITION | DirtyFlag.NORMAL | DirtyFlag.FACES | DirtyFlag.COLOR

    class Labels(gl.GLTextItem):
        """Axis names on plates of the background colour, readable over any colour.

        pyqtgraph's ``GLTextItem`` adds its text onto what is behind it, which
        vanishes over the yellow end of the colour map, and opens a ``QPainter``
        per text; here one painter draws every name, each at its 3-D point.
        """

        plate = QColor(0, 0, 0, 150)

        def __init__(self) -> None:
            super().__init__(text=" ")
            self.entries: dict[str, tuple[tuple[float, float, float], str]] = {}

        def set_label(self, key: str, pos: Sequence[float], text: str) -> None:
            self.entries[key] = ((float(pos[0]), float(pos[1]), float(pos[2])), text)
            self.update()

        def paint(self) -> None:
            if not self.entries:
                return
            self.setupGLState()
            project = self.compute_projection()
            metrics = QFontMetricsF(self.font)
            pad = 0.3 * metrics.height()
            painter = QPainter(self.view())
            painter.setRenderHints(
                QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
            )
            painter.setFont(self.font)
            for pos, text in self.entries.values():
                if not text:
                    continue
                rect = QRectF(
                    0, 0, metrics.horizontalAdvance(text) + 2 * pad, metrics.height() + pad
                )
                rect.moveCenter(project.map(_vector(*pos)).toPointF())
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(self.plate)
                painter.drawRoundedRect(rect, pad, pad)
                painter.setPen(self.color)
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            painter.end()

    class ViewMixin:
        """What gdviz adds to pyqtgraph's GL view: a still part drawn once, not every frame.

        While a run plays, only the paths and balls change; the surface (tens
        of thousands of triangles, most of a software renderer's frame) stays
        the same until the camera moves. Items in :attr:`static_items` are
        drawn into an offscreen framebuffer (colour and depth) when the camera,
        the size or :meth:`invalidate_static` says so; each frame copies it in
        and draws the other items on top, depth-tested against the copy.

        It also keeps pyqtgraph's shader programs per GL context: pyqtgraph
        caches compiled programs in class attributes shared by every view, and
        a program belongs to one context (share group). A second view — the
        exporter's, or the next test's — would draw with the first one's
        program ids and fail with ``GLError: invalid value``.

        The concrete classes declare ``movingChanged(bool)``: True while the
        mouse turns, pans or zooms the camera, False when it stops.
        """

        movingChanged: Any

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            #: pyqtgraph's shader programs compiled in this view's GL context.
            self.programs: dict[str, Any] = {}
            self.moving = False
            self._settle = QTimer(self)
            self._settle.setSingleShot(True)
            self._settle.setInterval(250)
            self._settle.timeout.connect(lambda: self._set_moving(False))
            self.static_items: list[Any] = []
            self.cache_static = True
            self._static_version = 0
            self._bg: Any = None
            self._bg_key: Any = None

        def _set_moving(self, moving: bool) -> None:
            if moving != self.moving:
                self.moving = moving
                self.movingChanged.emit(moving)

        def mousePressEvent(self, ev: Any) -> None:
            self._set_moving(True)
            super().mousePressEvent(ev)

        def mouseReleaseEvent(self, ev: Any) -> None:
            super().mouseReleaseEvent(ev)
            self._set_moving(False)

        def wheelEvent(self, ev: Any) -> None:
            self._set_moving(True)
            self._settle.start()
            super().wheelEvent(ev)

        def invalidate_static(self) -> None:
            """The still items changed: draw them again on the next frame."""
            self._static_version += 1
            self.update()

        def initializeGL(self) -> None:
            # A (re)created context: programs and framebuffers of the old one are gone.
            self.programs = {}
            self._bg = None
            if _ProgramSwap.owner is not None and _ProgramSwap.owner() is self:
                _ProgramSwap.load({})
            if getattr(self, "_had_context", False):
                self._forget_gpu_buffers()
            self._had_context = True
            super().initializeGL()

        def _forget_gpu_buffers(self) -> None:
            """Give every item new, empty GPU buffers and mark its data for upload.

            Qt destroys a QOpenGLWidget's context when the widget moves to
            another window; pyqtgraph's items keep the old buffer ids and would
            draw from them (a crash in glDrawElements). Keep the data, drop the
            buffers.
            """
            for item in self.items:
                for name, value in list(vars(item).items()):
                    if isinstance(value, QOpenGLBuffer):
                        setattr(item, name, QOpenGLBuffer(value.type()))
                if isinstance(item, gl.GLMeshItem):
                    item.vertexes = None  # re-parse and upload everything
                flags = getattr(item, "dirty_bits", None)
                if flags is not None:
                    kind = type(flags)
                    dirty = kind.POSITION if getattr(item, "pos", None) is not None else kind(0)
                    for member, attr in (("COLOR", "color"), ("SIZE", "size")):
                        if hasattr(kind, member) and isinstance(
                            getattr(item, attr, None), np.ndarray
                        ):
                            dirty |= kind[member]
                    item.dirty_bits = dirty

        def projectionMatrix(self, region: Any, viewport: Any) -> QMatrix4x4:
            # pyqtgraph clips at distance × (0.001, 1000): 20 bits of a 24-bit
            # depth buffer go to nothing. The box is about 3 units across, so
            # (0.02, 20) × distance keeps it all and lets a path lifted a hair
            # above the surface win the depth test.
            x0, y0, w, h = viewport
            near = self.opts["distance"] * 0.02
            far = self.opts["distance"] * 20.0
            r = near * math.tan(0.5 * math.radians(self.opts["fov"]))
            t = r * h / w
            left = r * ((region[0] - x0) * (2.0 / w) - 1)
            right = r * ((region[0] + region[2] - x0) * (2.0 / w) - 1)
            bottom = t * ((region[1] - y0) * (2.0 / h) - 1)
            top = t * ((region[1] + region[3] - y0) * (2.0 / h) - 1)
            m = QMatrix4x4()
            m.frustum(left, right, bottom, top, near, far)
            return m

        def _camera_key(self) -> tuple[Any, ...]:
            o = self.opts
            c = o["center"]
            return (
                self._static_version,
                c.x(), c.y(), c.z(),
                o["distance"], o["fov"], o.get("elevation"), o.get("azimuth"),
                str(o.get("rotation")), tuple(o["bgcolor"]),
                self.deviceWidth(), self.deviceHeight(),
            )  # fmt: skip

        def _draw(self, items: list[Any], use_names: bool) -> None:
            for item in sorted(items, key=lambda a: a.depthValue()):
                if not item.visible():
                    continue
                with model_view_pushed(self, self.currentModelView() * item.transform()):
                    self.drawItemTree(item, useItemNames=use_names)

        def paint(self, *, region: Any, viewport: Any, useItemNames: bool = False) -> None:
            from OpenGL import GL

            _ProgramSwap.activate(self)
            # glClear leaves the depth buffer alone while depth writes are off
            # (an outline item turns them off): turn them on before clearing.
            GL.glDepthMask(GL.GL_TRUE)
            GL.glStencilMask(0xFF)
            target = int(GL.glGetIntegerv(GL.GL_DRAW_FRAMEBUFFER_BINDING))
            whole = tuple(region) == tuple(viewport) == tuple(self.getViewport())
            # renderToArray paints tiles into its own framebuffer: no cache there.
            if not (
                self.cache_static
                and self.static_items
                and whole
                and target == self.defaultFramebufferObject()
            ):
                GL.glClearStencil(0)
                GL.glClear(GL.GL_STENCIL_BUFFER_BIT)
                super().paint(region=region, viewport=viewport, useItemNames=useItemNames)
                return
            try:
                self._paint_cached(region, viewport, target, useItemNames)
            except Exception:
                # A driver without framebuffer blits: draw everything every frame.
                self.cache_static = False
                GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)
                super().paint(region=region, viewport=viewport, useItemNames=useItemNames)

        def _paint_cached(self, region: Any, viewport: Any, target: int, names: bool) -> None:
            from OpenGL import GL

            w, h = self.deviceWidth(), self.deviceHeight()
            self.setProjection(region, viewport)
            self.setModelview()
            key = self._camera_key()
            if self._bg is None or (self._bg.width(), self._bg.height()) != (w, h):
                self._bg = QOpenGLFramebufferObject(
                    w, h, QOpenGLFramebufferObject.Attachment.CombinedDepthStencil
                )
                self._bg_key = None
            GL.glDisable(GL.GL_SCISSOR_TEST)
            if self._bg_key != key:
                GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._bg.handle())
                GL.glViewport(0, 0, w, h)
                GL.glClearColor(*self.opts["bgcolor"])
                GL.glClear(GL.GL_DEPTH_BUFFER_BIT | GL.GL_COLOR_BUFFER_BIT)
                self._draw(self.static_items, names)
                GL.glDepthMask(GL.GL_TRUE)
                self._bg_key = key
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._bg.handle())
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, target)
            GL.glBlitFramebuffer(
                0, 0, w, h, 0, 0, w, h,
                GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT, GL.GL_NEAREST,
            )  # fmt: skip
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)
            GL.glViewport(0, 0, w, h)
            GL.glClearStencil(0)
            GL.glClear(GL.GL_STENCIL_BUFFER_BIT)
            moving = [
                x for x in self.items if x.parentItem() is None and x not in self.static_items
            ]
            self._draw(moving, names)

    class View(ViewMixin, gl.GLViewWidget):
        """The GL view as a widget (a ``QOpenGLWidget``), laid out with the others."""

        movingChanged = Signal(bool)

    class WindowView(ViewMixin, GLViewMixin, QOpenGLWindow):
        """The GL view as a native window (a ``QOpenGLWindow``), to embed in a widget.

        Embedded with ``QWidget.createWindowContainer``, it draws straight to
        its own native window: the widget window around it stays a plain
        raster window (a ``QOpenGLWidget`` would make Qt composite that whole
        window through OpenGL on every frame, see :class:`Surface3DView`).
        """

        movingChanged = Signal(bool)

        def __init__(self, parent: QWindow) -> None:
            # Made with a parent, the window belongs to Qt, not to Python: the
            # container that embeds it deletes it, and Python must not delete
            # it a second time (or first, leaving the container a dangling
            # pointer that crashes the application's exit).
            super().__init__(parent=parent)
            fmt = QSurfaceFormat.defaultFormat()
            # A QOpenGLWidget's framebuffer has these; a window gets what it asks for.
            fmt.setDepthBufferSize(24)
            fmt.setStencilBufferSize(8)
            self.setFormat(fmt)
            # Clicks turn the camera; the keyboard stays with the surrounding window.
            self.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus, True)

        # pyqtgraph's GLViewMixin and text item ask for these by their widget names.
        def devicePixelRatioF(self) -> float:
            return float(self.devicePixelRatio())

        def rect(self) -> QRect:
            return QRect(0, 0, self.width(), self.height())

        def grabFramebuffer(self) -> QImage:
            """The view drawn now, as a ``QImage``.

            ``QOpenGLWindow.grabFramebuffer`` reads the back buffer as the last
            frame left it, before a pending update is drawn; this draws the
            current state into a framebuffer of the window's size and reads it.
            """
            from OpenGL import GL

            w, h = self.deviceWidth(), self.deviceHeight()
            if w <= 0 or h <= 0 or not self.isValid():
                return QImage()
            self.makeCurrent()
            fbo = QOpenGLFramebufferObject(
                w, h, QOpenGLFramebufferObject.Attachment.CombinedDepthStencil
            )
            try:
                fbo.bind()
                GL.glViewport(0, 0, w, h)
                region = (0, 0, self.width(), self.height())
                self.paint(region=region, viewport=region)
                return fbo.toImage()
            finally:
                fbo.release()

    class _ProgramSwap:
        """Swaps pyqtgraph's class-wide shader program caches to the painting view's own."""

        owner: weakref.ReferenceType[Any] | None = None
        classes = tuple(
            getattr(gl, name)
            for name in ("GLLinePlotItem", "GLScatterPlotItem", "GLImageItem", "GLVolumeItem")
            if hasattr(gl, name)
        )

        @classmethod
        def save(cls) -> dict[str, Any]:
            store: dict[str, Any] = {k.__name__: shader_program(k) for k in cls.classes}
            store["named"] = {n: p.prog for n, p in shaders.ShaderProgram.names.items()}
            return store

        @classmethod
        def load(cls, store: dict[str, Any]) -> None:
            for k in cls.classes:
                set_shader_program(k, store.get(k.__name__))
            named = store.get("named", {})
            for n, p in shaders.ShaderProgram.names.items():
                p.prog = named.get(n)

        @classmethod
        def activate(cls, view: Any) -> None:
            current = cls.owner() if cls.owner is not None else None
            if current is view:
                return
            if current is not None:
                current.programs = cls.save()
            cls.load(view.programs)
            cls.owner = weakref.ref(view)

    return gl, SurfaceItem, View, Labels, WindowView


# --------------------------------------------------------------------------- widget
class Surface3DView(QWidget):
    """A loss of two variables as a surface in 3-D, with runs on it, for one step.

    Parameters
    ----------
    theme
        Colours and sizes; change later with :meth:`set_theme`.
    height_mode
        ``"clamp"`` (default), ``"linear"`` or ``"log"``; see :class:`HeightScale`.
    controls
        Show the row with the height menu and the reset-camera button (the
        exporter hides it).
    grid_size
        Samples per axis of the surface.
    own_window
        Draw the GL view in a native window of its own, embedded here (see
        below). For a view inside a larger window that animates other things.

    Notes
    -----
    The GL view (:attr:`glview`) is created the first time this view is
    shown, not before: once a window holds a ``QOpenGLWidget``, Qt composites
    the *whole* window through OpenGL on every frame, and with a software
    renderer (Mesa llvmpipe) that halves the frame rate of everything else
    in it (a 2-D animation beside a 3-D tab nobody opened). Everything the
    view is told before then (problem, runs, step, start, theme, view
    settings, camera) is kept and drawn when it appears.

    Qt never switches a window back once it has composited through OpenGL
    (the flag is sticky, even when the GL widget is deleted). With
    ``own_window``, the GL view is a ``QOpenGLWindow``, a native window that
    draws itself, embedded in this widget with
    ``QWidget.createWindowContainer``: the surrounding window never holds a
    ``QOpenGLWidget`` and keeps its raster speed after the 3-D view was shown.
    A window never mapped on a screen (the exporter's) keeps the widget form.

    Attributes
    ----------
    gl_support
        The :func:`~gdviz.ui.gl.probe_gl` answer; when it is no, the widget is a
        one-line note (:attr:`note`) and every method does nothing.
    glview
        The GL view (a ``QOpenGLWidget``, or a ``QOpenGLWindow`` with
        ``own_window``), or None: before the view is first shown, or without OpenGL.
    gl_frame
        The widget showing :attr:`glview`: the GL widget itself, or the
        container of the GL window; None while :attr:`glview` is.
    log_colors
        Colour like the 2-D view's log colour levels (set by :meth:`set_view`).

    Signals
    -------
    heightModeChanged(str)
        The height mode was changed (from the menu or :meth:`set_height_mode`).
    """

    heightModeChanged = Signal(str)

    def __init__(
        self,
        theme: Theme = DARK,
        parent: QWidget | None = None,
        *,
        height_mode: str = "clamp",
        controls: bool = True,
        grid_size: int = GRID_SIZE,
        own_window: bool = False,
    ) -> None:
        super().__init__(parent)
        if height_mode not in HEIGHT_MODES:
            raise ValueError(
                f"height mode must be one of {', '.join(HEIGHT_MODES)}, got {height_mode!r}"
            )
        self.theme = theme
        self.height_mode = height_mode
        self.log_colors = False
        self.grid_size = int(grid_size)
        self.gl_support: GLSupport = probe_gl()
        if self.gl_support.available:
            try:
                _gl()
            except Exception as exc:  # e.g. a pyqtgraph without the GL internals used here
                self.gl_support = GLSupport(False, f"3D view off: {type(exc).__name__}: {exc}")
        self._loss: Any = None
        self._domain: tuple[tuple[float, float], ...] = ((-1.0, 1.0), (-1.0, 1.0))
        self._grid: Any = None
        self._scale: HeightScale | None = None
        self._traj: Any = None
        self._colors: list[str] = []
        self._visible: list[bool] = []
        self._mesh: SurfaceMesh | None = None
        self._draft: SurfaceMesh | None = None  # coarse copy shown while the camera moves
        self._draft_cells: tuple[np.ndarray, np.ndarray] = (np.zeros(0, int), np.zeros(0, int))
        self._hz: np.ndarray | None = None  # (nx, ny) drawn heights, NaN in holes
        self._paths: list[DrapedPath] = []
        self._path_verts: list[np.ndarray] = []
        self._path_ends: list[np.ndarray] = []
        self._ball_xyz: np.ndarray = np.empty((0, 0, 3))
        self._start: tuple[float, ...] | None = None
        self._names: tuple[str, ...] = ("x", "y")
        self._run_rgba = np.empty((0, 4), np.float32)
        self._step = 0
        self._stale = ""  # "problem" or "runs": work left for when the view is shown
        #: Whether an expensive surface is meshed from a coarse grid at once and
        #: refined over later turns (see :class:`~gdviz.core.surface.GridSampler`).
        #: Off, or in a window never shown on screen (the exporter's), every
        #: surface is sampled in full before it is drawn.
        self.progressive_surface = True
        self._sampler: GridSampler | None = None  # the full grid being sampled
        self._point_cost: tuple[Any, float] | None = None  # (loss, seconds per point)
        self._refine = QTimer(self)
        self._refine.setSingleShot(True)
        self._refine.setInterval(0)
        self._refine.timeout.connect(self._refine_surface)
        self.own_window = bool(own_window)
        self.glview: Any = None
        self.gl_frame: QWidget | None = None
        self._camera_opts: dict[str, Any] = {}  # the camera while glview does not exist
        self._build(controls)
        self.reset_camera()
        self.set_theme(theme)

    @property
    def available(self) -> bool:
        """Whether this widget draws in 3-D when shown (False: it shows :attr:`note`)."""
        return self.gl_support.available

    # ------------------------------------------------------------------ build
    def _build(self, controls: bool) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setProperty("role", "hint")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setWordWrap(True)
        if not self.gl_support.available:
            self.note.setText(f"{self.gl_support.reason} — the 2D view shows the same runs.")
            self.note.setToolTip(
                "The 3D view needs OpenGL: a desktop session or an X server "
                "(xvfb-run) with Mesa works; Qt's offscreen platform has none."
            )
            lay.addWidget(self.note)
            self.controls = None
            return

        self.height_box = QComboBox()
        self.height_box.setAccessibleName("surface height")
        self.height_box.setToolTip(
            "How loss values become heights: Clamped cuts off the top 1% "
            "(a pole or a steep wall does not flatten the rest); Log shows "
            "deep narrow valleys such as Rosenbrock's."
        )
        for key, label in HEIGHT_MODES.items():
            self.height_box.addItem(label, key)
        self.height_box.setCurrentIndex(list(HEIGHT_MODES).index(self.height_mode))
        self.height_box.activated.connect(
            lambda i: self.set_height_mode(self.height_box.itemData(i))
        )
        self.reset_button = QPushButton("Reset camera")
        self.reset_button.setToolTip("Back to the starting angle and zoom")
        self.reset_button.clicked.connect(self.reset_camera)
        hint = QLabel("drag to turn · scroll to zoom")
        hint.setProperty("role", "hint")
        self.controls = QWidget()
        row = QHBoxLayout(self.controls)
        row.setContentsMargins(4, 0, 4, 0)
        row.addWidget(QLabel("Height"))
        row.addWidget(self.height_box)
        row.addStretch(1)
        row.addWidget(hint)
        row.addWidget(self.reset_button)
        self.controls.setVisible(controls)
        lay.addWidget(self.controls)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.note)
        lay.addLayout(self.stack, 1)

    def _create_gl(self) -> None:
        """Create the GL widget and its items, and give them everything told so far."""
        gl, surface_cls, view_cls, labels_cls, window_cls = _gl()
        self._glmod = gl
        offscreen = self.window().testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        # A window never mapped on a screen (the exporter's) reads the GL view
        # back directly: there it is a widget in place.
        in_window = self.own_window and not offscreen
        if in_window:
            top = self.window()
            top.winId()  # its native window: the GL window's first parent
            self.glview = window_cls(top.windowHandle())
        else:
            self.glview = view_cls()
        self.surface_item = surface_cls()
        self.glview.addItem(self.surface_item)
        # While the camera moves, a coarser copy stands in for the surface, so
        # turning stays fluid on a software renderer; the full one is back as
        # soon as the mouse stops.
        self.draft_item = surface_cls()
        self.draft_item.hide()
        self.glview.addItem(self.draft_item)
        self.glview.movingChanged.connect(self._camera_moving)
        self.frame_item = gl.GLLinePlotItem(mode="lines", glOptions="translucent", antialias=True)
        self.glview.addItem(self.frame_item)
        # Drawn once per camera position, not once per frame (see View).
        self.glview.static_items = [self.surface_item, self.draft_item, self.frame_item]
        self.labels = labels_cls()
        self.labels.setGLOptions(_overlay_options())
        self.labels.setDepthValue(200)
        self.glview.addItem(self.labels)
        # Every run's path is drawn three times, all runs in one item each (a
        # few draw calls a frame however many runs): a dark outline (so any
        # run colour stands out on any part of the map, as in 2-D), the colour
        # line on top of it, both hidden by hills like real objects, and a
        # faint copy drawn through the hills, so a path behind one is never lost.
        self.path_shadow = gl.GLLinePlotItem(mode="lines", glOptions=_line_options(False))
        self.path_line = gl.GLLinePlotItem(mode="lines", glOptions=_line_options(True))
        self.path_ghost = gl.GLLinePlotItem(mode="lines", glOptions=_overlay_options(stencil_ref=1))
        for depth, item in ((9, self.path_shadow), (10, self.path_line), (11, self.path_ghost)):
            item.setDepthValue(depth)
            item.hide()
            self.glview.addItem(item)
        self.drawn_paths: list[np.ndarray] = []  # per run: the vertex pairs shown now
        # Balls are drawn last and without a depth test: a current point is
        # never lost behind a hill. A darker, larger disc under each one is
        # its outline, so any run colour stands out on any part of the map.
        self.ball_outline = gl.GLScatterPlotItem(pxMode=True)
        self.balls = gl.GLScatterPlotItem(pxMode=True)
        self.start_item = gl.GLScatterPlotItem(pxMode=True)
        for depth, item in enumerate((self.start_item, self.ball_outline, self.balls)):
            item.setGLOptions(_overlay_options())
            item.setDepthValue(100 + depth)
            self.glview.addItem(item)
        self.gl_frame = self._frame_for(self.glview)
        self.stack.insertWidget(0, self.gl_frame)
        self.glview.setCameraPosition(**{k: v for k, v in self._camera_opts.items() if k != "fov"})
        self.glview.opts["fov"] = self._camera_opts["fov"]
        self._show_note(self.note.text())
        self.set_theme(self.theme)
        if self._loss is not None:
            self._stale = "problem"
        self._draw_start()

    def _gl_failed(self, exc: Exception) -> None:
        """Creating the GL view failed: show why, and carry on without 3-D."""
        self.gl_support = GLSupport(False, f"3D view off: {type(exc).__name__}: {exc}")
        for obj in (self.gl_frame, self.glview):
            if obj is not None:
                obj.deleteLater()
        if self.gl_frame is not None:
            self.gl_frame.hide()
        self.glview = self.gl_frame = None
        if self.controls is not None:
            self.controls.hide()
        self.note.setText(f"{self.gl_support.reason} — the 2D view shows the same runs.")
        self.stack.setCurrentWidget(self.note)

    def _frame_for(self, glview: Any) -> QWidget:
        """The widget that shows ``glview``: itself, or a container of its native window."""
        if isinstance(glview, QWidget):
            frame = glview
        else:
            frame = QWidget.createWindowContainer(glview, self)
            # Only the container is a native child; the rest of the window
            # stays one raster surface.
            frame.setAttribute(Qt.WidgetAttribute.WA_DontCreateNativeAncestors)
        frame.setAccessibleName("3D surface")
        frame.setMinimumSize(120, 90)
        return frame

    def _show_note(self, text: str) -> None:
        if not self.gl_support.available:
            return
        self.note.setText(text)
        frame = self.gl_frame
        self.stack.setCurrentWidget(self.note if text or frame is None else frame)

    # ------------------------------------------------------------------ theme
    def set_theme(self, theme: Theme) -> None:
        """Restyle every item (colour map, background, lines, balls, labels)."""
        self.theme = theme
        self._restyle_runs()
        if self.glview is None:
            return  # applied when the GL view is created
        self.glview.setBackgroundColor(QColor(theme.background))
        fg = QColor(theme.foreground)
        font = QFont()
        font.setPointSizeF(theme.font_pt * 1.1)
        font.setBold(True)
        plate = QColor(theme.background)
        plate.setAlpha(170)
        self.labels.setData(color=fg, font=font)
        self.labels.plate = plate
        self.frame_item.setData(color=_rgba(theme.foreground, 0.45), width=1.2 * theme.font_scale)
        self.glview.invalidate_static()
        self._recolor_surface()
        self.set_step(self._step)

    # ----------------------------------------------------------------- inputs
    def set_problem(self, loss: Any, domain: Sequence[Sequence[float]]) -> None:
        """Show ``loss`` over ``domain`` (one ``(low, high)`` pair per variable).

        A function of one variable has no surface: the view then shows a note.

        Raises
        ------
        ValueError
            If the domain is not a valid range per variable (message names the axis).
        """
        dom = normalize_domain(domain, loss.dim)
        self._loss = loss
        self._domain = dom
        if not self.gl_support.available:
            return
        self._sampler = None  # a surface still being refined is dropped
        self._refine.stop()
        self._stale = "problem"
        self._refresh()

    def _refresh(self) -> None:
        """Do the work a new problem or new runs need, once the view is on screen.

        Sampling and meshing a surface takes tens of milliseconds; a window
        that keeps the 3-D view in a hidden tab should not pay it on every
        edit or zoom of the 2-D view. :meth:`showEvent` catches up.
        """
        if not self._stale or self.glview is None or not self.isVisible():
            return
        stale, self._stale = self._stale, ""
        if stale == "problem" and self._loss is not None:
            loss = self._loss
            if loss.dim != 2:
                self._grid = None
                self._mesh = self._hz = None
                self._show_note("The 3D view shows functions of two variables.")
            else:
                self._names = tuple(getattr(loss, "variables", ("x", "y")))[:2]
                self._show_grid(self._sample(loss))
        self._prepare_runs()
        self.set_step(self._step)

    def _sample(self, loss: Any) -> Any:
        """The grid to mesh now: the full one, or a coarse one while it is refined."""
        known = self._point_cost
        cost = known[1] if known is not None and known[0] is loss else None
        sampler = GridSampler(loss, self._domain, self.grid_size, cost)
        offscreen = self.window().testAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        if offscreen or not self.progressive_surface:
            grid = sampler.sample_all()
        else:
            grid = sampler.first_pass(
                SURFACE_SYNC_SECONDS, COARSE_SECONDS, PROBE_SAMPLES, COARSE_SAMPLES
            )
        self._point_cost = (loss, sampler.cost)
        if sampler.grid is None:
            self._sampler = sampler
            self._refine.start()
        return grid

    def _show_grid(self, grid: Any) -> None:
        self._grid = grid
        if grid.value_range() is None:
            self._show_note("This function has no finite values in the view window.")
        else:
            self._show_note("")
        self._rebuild_surface()

    def _refine_surface(self) -> None:
        """One turn of sampling the full grid; once complete, mesh it (a turn of its own)."""
        sampler = self._sampler
        if sampler is None or self._stale == "problem" or sampler.loss is not self._loss:
            return
        if sampler.grid is None:
            sampler.advance(SLICE_SECONDS)
            self._point_cost = (sampler.loss, sampler.cost)
            self._refine.start()  # the next turn meshes it, or samples more
            return
        self._sampler = None
        self._show_grid(sampler.grid)
        self._update_path_heights()
        self.set_step(self._step)

    @property
    def refining(self) -> bool:
        """Whether the surface on screen is a coarse stand-in still being refined."""
        return self._sampler is not None

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.gl_support.available and self.glview is None:
            try:
                self._create_gl()
            except Exception as exc:  # a driver that fails only now: a note, not a crash
                self._gl_failed(exc)
                return
        if self._stale:
            self._refresh()
        else:
            self.set_step(self._step)

    def set_height_mode(self, mode: str) -> None:
        """``"clamp"``, ``"linear"`` or ``"log"`` (see :class:`HeightScale`).

        Raises
        ------
        ValueError
            For an unknown mode.
        """
        if mode not in HEIGHT_MODES:
            raise ValueError(f"height mode must be one of {', '.join(HEIGHT_MODES)}, got {mode!r}")
        if mode == self.height_mode:
            return
        self.height_mode = mode
        if self.gl_support.available:
            self.height_box.setCurrentIndex(list(HEIGHT_MODES).index(mode))
        if self.glview is not None:
            if not self._stale:
                self._rebuild_surface()
                self._update_path_heights()
                self.set_step(self._step)
        self.heightModeChanged.emit(mode)

    def set_view(self, view: Any) -> None:
        """Follow the view settings: the 2-D view's colouring and the height mode.

        The surface is coloured exactly like the 2-D heat-map
        (``ViewSettings.log_levels``: log colours), so a point has the same
        colour in both views; ``ViewSettings.height_3d`` sets the height mode
        (the session keeps it, and exports use it).
        """
        mode = getattr(view, "height_3d", None)
        if mode in HEIGHT_MODES:
            self.set_height_mode(mode)
        log = bool(getattr(view, "log_levels", False))
        if log != self.log_colors:
            self.log_colors = log
            self._recolor_surface()

    def set_runs(
        self,
        trajectory: Any,
        colors: Sequence[str],
        labels: Sequence[str] | None = None,
        visible: Sequence[bool] | None = None,
    ) -> None:
        """Show the runs of a computed trajectory (None clears them).

        Parameters
        ----------
        trajectory
            A :class:`~gdviz.core.engine.Trajectory` with ``K`` runs.
        colors
            One ``#rrggbb`` colour per run.
        labels
            Accepted for symmetry with the 2-D scene (the 3-D view has no legend).
        visible
            Which runs to draw (all by default).
        """
        k = 0 if trajectory is None else int(np.asarray(trajectory.positions).shape[1])
        if len(colors) < k:
            raise ValueError(f"need {k} colours, got {len(colors)}")
        self._traj = trajectory
        self._colors = list(colors[:k])
        self._visible = [True] * k if visible is None else [bool(v) for v in visible[:k]]
        self._visible += [True] * (k - len(self._visible))
        self._restyle_runs()
        if not self.gl_support.available:
            return
        self._step = min(self._step, self.n_steps)
        self._stale = self._stale or "runs"
        self._refresh()

    def set_start(self, point: Sequence[float] | None) -> None:
        """Mark the start point (None hides the mark)."""
        self._start = None if point is None else tuple(float(v) for v in point)
        self._draw_start()

    @property
    def n_steps(self) -> int:
        """Number of steps available to show (0 without a trajectory)."""
        return 0 if self._traj is None else int(np.asarray(self._traj.positions).shape[0] - 1)

    @property
    def step(self) -> int:
        return self._step

    def reset_camera(self) -> None:
        """Back to the starting angle, distance and centre."""
        self._camera_opts = {"pos": _vector(0.0, 0.0, 0.25 * BOX_HEIGHT), **_CAMERA, "fov": 45}
        if self.glview is None:
            return
        self.glview.setCameraPosition(**{k: v for k, v in self._camera_opts.items() if k != "fov"})
        self.glview.opts["fov"] = 45

    def camera(self) -> dict[str, float]:
        """Current ``distance``, ``elevation`` and ``azimuth`` (degrees); empty without OpenGL."""
        if not self.gl_support.available:
            return {}
        o = self._camera_opts if self.glview is None else self.glview.opts
        return {k: float(o[k]) for k in ("distance", "elevation", "azimuth")}

    # --------------------------------------------------------------- drawing
    def _camera_moving(self, moving: bool) -> None:
        self.surface_item.setVisible(not moving)
        self.draft_item.setVisible(moving)
        self.glview.invalidate_static()

    def _rebuild_surface(self) -> None:
        grid = self._grid
        if self.glview is None or grid is None:
            return
        self._scale = HeightScale.from_values(grid.z, self.height_mode)
        self._mesh = surface_mesh(grid.xs, grid.ys, grid.z, self._scale)
        self._hz = self._mesh.heights.reshape(len(grid.xs), len(grid.ys)) * BOX_HEIGHT
        ix = _draft_index(len(grid.xs))
        iy = _draft_index(len(grid.ys))
        self._draft_cells = (ix, iy)
        self._draft = surface_mesh(grid.xs[ix], grid.ys[iy], grid.z[np.ix_(iy, ix)], self._scale)
        self._recolor_surface()
        # Axis frame: the floor square and a vertical edge at the front-left corner.
        top = BOX_HEIGHT
        f = np.array(
            [
                [-1, -1, 0], [1, -1, 0], [1, -1, 0], [1, 1, 0],
                [1, 1, 0], [-1, 1, 0], [-1, 1, 0], [-1, -1, 0],
                [-1, -1, 0], [-1, -1, top],
            ],
            dtype=np.float32,
        )  # fmt: skip
        self.frame_item.setData(pos=f)
        x_name, y_name = self._names if len(self._names) == 2 else ("x", "y")
        self.labels.set_label("x", (0.0, -1.15, 0.0), x_name)
        self.labels.set_label("y", (1.15, 0.0, 0.0), y_name)
        self.labels.set_label("f", (-1.0, -1.0, top * 1.06), self._f_label())
        self.glview.invalidate_static()

    def _f_label(self) -> str:
        return {"log": "log f", "clamp": "f", "linear": "f"}[self.height_mode]

    def _recolor_surface(self) -> None:
        grid = self._grid
        if self.glview is None or self._mesh is None or grid is None:
            return
        import pyqtgraph as pg

        # The 2-D heat-map's colours: minimum to the 99% quantile, of f or of
        # log10(f - min + span·1e-4), whatever the heights show.
        scale = HeightScale.from_values(grid.z, "log" if self.log_colors else "clamp")
        c = scale(np.asarray(grid.z).T).reshape(-1)
        cmap = pg.colormap.get(self.theme.colormap)
        colors = cmap.map(np.where(np.isfinite(c), c, 0.0), mode="float").astype(np.float32)
        colors[:, 3] = 1.0
        self.surface_item.set_mesh(self._mesh, np.ascontiguousarray(colors))
        ix, iy = self._draft_cells
        draft_colors = colors.reshape(len(grid.xs), len(grid.ys), 4)[np.ix_(ix, iy)]
        self.draft_item.set_mesh(self._draft, np.ascontiguousarray(draft_colors.reshape(-1, 4)))
        self.glview.invalidate_static()

    def _prepare_runs(self) -> None:
        """Split every run into sub-steps once; heights follow in _update_path_heights."""
        self._paths = []
        tr, loss = self._traj, self._loss
        if self.glview is not None and tr is not None and loss is not None and loss.dim == 2:
            pos = np.asarray(tr.positions, dtype=np.float64)
            if pos.ndim == 3 and pos.shape[2] == 2:
                cell = 2.0 / max(self.grid_size - 1, 1)
                self._paths = [
                    drape_path(pos[:, k], self._domain, cell) for k in range(pos.shape[1])
                ]
        self._update_path_heights()

    def _update_path_heights(self) -> None:
        """Give paths and balls the drawn surface's height (set_step then only slices)."""
        self._path_verts, self._path_ends = [], []
        self._ball_xyz = np.empty((0, 0, 3))
        hz = self._hz
        if hz is not None and self._paths:
            for path in self._paths:
                verts, ends = path_segments(path, mesh_height(hz, path.xy) + LIFT)
                self._path_verts.append(verts)
                self._path_ends.append(ends)
            pos = np.asarray(self._traj.positions, dtype=np.float64)
            (x0, x1), (y0, y1) = self._domain
            xyz = np.empty((*pos.shape[:2], 3))
            xyz[..., 0] = _unit(pos[..., 0], x0, x1)
            xyz[..., 1] = _unit(pos[..., 1], y0, y1)
            xyz[..., 2] = mesh_height(hz, xyz[..., :2]).reshape(pos.shape[:2]) + LIFT
            self._ball_xyz = xyz
        self._draw_start()

    def _restyle_runs(self) -> None:
        self._run_rgba = np.array(
            [_rgba(c) for c in self._colors] or np.zeros((0, 4)), dtype=np.float32
        ).reshape(-1, 4)
        if self.glview is None:
            return
        t = self.theme
        width = t.line_px * PATH_WIDTH
        # Not antialiased: a smooth GL line fades out at both ends of every
        # segment, and a path is thousands of short segments, so the outline
        # would show through as a tick at every joint.
        self.path_shadow.setData(
            color=_rgba(t.path_shadow[:7]), width=width + 3.0 * t.font_scale, antialias=False
        )
        self.path_line.setData(width=width, antialias=False)
        self.path_ghost.setData(width=width * 0.8, antialias=False)

    def _draw_start(self) -> None:
        if self.glview is None:
            return
        p = self._start
        if p is None or len(p) != 2 or self._hz is None:
            self.start_item.hide()
            return
        (x0, x1), (y0, y1) = self._domain
        u = np.array([[_unit(p[0], x0, x1), _unit(p[1], y0, y1)]])
        h = mesh_height(self._hz, u)[0]
        if not np.isfinite(h):
            self.start_item.hide()
            return
        self.start_item.setData(
            pos=np.array([[u[0, 0], u[0, 1], h + LIFT]], dtype=np.float32),
            color=_rgba(self.theme.foreground, 0.9),
            size=0.55 * self.theme.marker_px,
        )
        self.start_item.show()

    def set_step(self, i: int) -> None:
        """Draw every run up to and including step ``i`` (clamped to what is computed)."""
        n = self.n_steps
        i = int(max(0, min(int(i), n)))
        self._step = i
        if self.glview is None or self._stale or not self.isVisible():
            return  # drawn when the view is next shown (a background tab costs nothing)
        t = self.theme
        centres, colors = [], []
        status = list(getattr(self._traj, "status", None) or [])
        stop = np.asarray(getattr(self._traj, "stop_step", np.full(len(self._paths), -1)))
        pieces, counts = [], []
        self.drawn_paths = []
        for k in range(len(self._paths)):
            shown = k < len(self._path_verts) and self._visible[k]
            count = 2 * int(self._path_ends[k][i]) if shown else 0
            piece = self._path_verts[k][:count] if shown else np.empty((0, 3), np.float32)
            self.drawn_paths.append(piece)
            if count:
                pieces.append(piece)
                counts.append((k, count))
            if not shown:
                continue
            c = self._ball_xyz[i, k]
            if np.isfinite(c[2]):
                diverged = k < len(status) and status[k] == "diverged" and 0 <= stop[k] <= i
                centres.append(c)
                colors.append(_rgba(self._colors[k], 0.45 if diverged else 1.0))
        if pieces:
            verts = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            rgba = np.repeat(self._run_rgba[[k for k, _ in counts]], [n for _, n in counts], axis=0)
            ghost = rgba.copy()
            ghost[:, 3] = GHOST_ALPHA
            self.path_shadow.setData(pos=verts)
            self.path_line.setData(pos=verts, color=rgba)
            self.path_ghost.setData(pos=verts, color=ghost)
        for item in (self.path_shadow, self.path_line, self.path_ghost):
            item.setVisible(bool(pieces))
        if centres:
            pts = np.asarray(centres, dtype=np.float32)
            size = t.marker_px * 1.25
            self.ball_outline.setData(
                pos=pts, color=_rgba(t.path_shadow[:7], 0.85), size=size + 3.0 * t.font_scale
            )
            self.balls.setData(pos=pts, color=np.asarray(colors, dtype=np.float32), size=size)
        self.ball_outline.setVisible(bool(centres))
        self.balls.setVisible(bool(centres))
        self.glview.update()

    # ----------------------------------------------------------------- export
    def render(self, target: Any, *args: Any, **kwargs: Any) -> None:
        """Paint the widget into ``target`` (a paint device or painter), as ``QWidget.render``.

        ``QWidget.render`` leaves out the axis names pyqtgraph paints into the GL
        view with ``QPainter``; here the GL view is copied from its framebuffer,
        which has them. The exporter paints frames with this method. The whole
        GL view is painted (a ``sourceRegion`` argument does not clip it).
        """
        box = self.gl_frame
        gl_on = box is not None and box.isVisible()
        if not gl_on or box.geometry() != self.rect():
            super().render(target, *args, **kwargs)
        if not gl_on:
            return
        offset = args[0] if args else kwargs.get("targetOffset", QPoint())
        frame = self.glview.grabFramebuffer()
        rect = QRect(offset + box.mapTo(self, QPoint(0, 0)), box.size())
        if isinstance(target, QPainter):
            target.drawImage(rect, frame)
            return
        painter = QPainter(target)
        painter.drawImage(rect, frame)
        painter.end()

    def snapshot(self) -> QImage:
        """The widget as it looks on screen, as a ``QImage`` (see :meth:`render`)."""
        image = QImage(self.size(), QImage.Format.Format_RGB32)
        image.fill(QColor(self.theme.panel))
        self.render(image)
        return image

    def render_rgb(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """The 3-D view alone as RGB ``uint8`` ``(height, width, 3)``, read from the GPU.

        Parameters
        ----------
        size
            ``(width, height)`` in pixels; the view's own size by default. Any
            size works (``renderToArray`` draws it in tiles), at some cost.

        Raises
        ------
        RuntimeError
            Without OpenGL (check :attr:`available`), or before the view was
            first shown (it has no GL view to read yet).
        """
        if not self.gl_support.available:
            raise RuntimeError(self.gl_support.reason)
        if self.glview is None:
            raise RuntimeError("the 3D view is drawn once it is shown; show it first")
        if not self.glview.isValid():  # a GL window not exposed yet has no context
            raise RuntimeError("the 3D view has not been drawn yet; wait until it is exposed")
        if size is None:
            image = self.glview.grabFramebuffer().convertToFormat(QImage.Format.Format_RGB888)
            w, h, stride = image.width(), image.height(), image.bytesPerLine()
            buf = np.frombuffer(image.constBits(), np.uint8, count=stride * h)
            return buf.reshape(h, stride)[:, : w * 3].reshape(h, w, 3).copy()
        bgra = self.glview.renderToArray((int(size[0]), int(size[1])))
        # renderToArray reads GL_BGRA: reverse the first three channels.
        return np.ascontiguousarray(bgra[..., 2::-1])


def _line_options(write_depth: bool) -> dict[Any, Any]:
    """Depth-tested, blended lines; ``write_depth=False`` for an outline drawn under a line.

    The outline must not write depth, or the line drawn over it at the same
    depth would fail the depth test. Every line item sets the mask itself
    (GL state persists from item to item), and the view resets it before
    clearing each frame.
    """
    from OpenGL import GL

    return {
        GL.GL_DEPTH_TEST: True,
        GL.GL_BLEND: True,
        GL.GL_CULL_FACE: False,
        GL.GL_STENCIL_TEST: False,
        "glBlendFuncSeparate": (
            GL.GL_SRC_ALPHA,
            GL.GL_ONE_MINUS_SRC_ALPHA,
            GL.GL_ONE,
            GL.GL_ONE_MINUS_SRC_ALPHA,
        ),
        "glDepthMask": (GL.GL_TRUE if write_depth else GL.GL_FALSE,),
    }


def _draft_index(n: int) -> np.ndarray:
    """About :data:`DRAFT_SIZE` evenly spread sample indices out of ``n``, ends included."""
    step = max(1, round(n / DRAFT_SIZE))
    return np.unique(np.r_[np.arange(0, n, step), n - 1])


def _overlay_options(stencil_ref: int | None = None) -> dict[Any, Any]:
    """Blended and drawn over everything (no depth test): balls, labels, ghost paths.

    With ``stencil_ref``, each pixel is drawn at most once per reference value:
    a faint line's overlapping segment ends would otherwise darken into beads
    at every joint. The view clears the stencil buffer every frame.
    """
    from OpenGL import GL

    options: dict[Any, Any] = {
        GL.GL_DEPTH_TEST: False,
        GL.GL_BLEND: True,
        GL.GL_CULL_FACE: False,
        GL.GL_STENCIL_TEST: stencil_ref is not None,
        "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA),
    }
    if stencil_ref is not None:
        options["glStencilMask"] = (0xFF,)
        options["glStencilFunc"] = (GL.GL_NOTEQUAL, stencil_ref & 0xFF, 0xFF)
        options["glStencilOp"] = (GL.GL_KEEP, GL.GL_KEEP, GL.GL_REPLACE)
    return options


def _vector(x: float, y: float, z: float) -> Any:
    from PySide6.QtGui import QVector3D

    return QVector3D(x, y, z)


#: Panel choices :func:`export_scene` understands.
EXPORT_PANELS = ("3d", "3d+loss")


class Export3DScene(QWidget):
    """The 3-D view, optionally with the 2-D scene's loss panel beside it, for export.

    Answers the calls the exporter makes on a scene (``set_view``,
    ``set_problem``, ``set_runs``, ``set_start``, ``set_step``, ``render``) by
    passing them to both parts. Built by :func:`export_scene`.
    """

    def __init__(self, panels: str, theme: Theme) -> None:
        super().__init__()
        if panels not in EXPORT_PANELS:
            raise ValueError(f"3D panels must be one of {', '.join(EXPORT_PANELS)}, got {panels!r}")
        self.view3d = Surface3DView(theme, controls=False)
        if not self.view3d.available:
            raise RuntimeError(self.view3d.gl_support.reason)
        self.loss_scene: Any = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.view3d, 3)
        if panels == "3d+loss":
            from gdviz.ui.scene import Scene

            self.loss_scene = Scene("loss", theme)
            lay.addWidget(self.loss_scene, 2)

    def _parts(self) -> list[Any]:
        return [p for p in (self.view3d, self.loss_scene) if p is not None]

    def set_view(self, view: Any) -> None:
        for part in self._parts():
            part.set_view(view)

    def set_problem(self, loss: Any, domain: Sequence[Sequence[float]]) -> None:
        for part in self._parts():
            part.set_problem(loss, domain)

    def set_runs(
        self,
        trajectory: Any,
        colors: Sequence[str],
        labels: Sequence[str] | None = None,
        visible: Sequence[bool] | None = None,
    ) -> None:
        self.view3d.set_runs(trajectory, colors, labels, visible)
        if self.loss_scene is not None:
            k = 0 if trajectory is None else int(np.asarray(trajectory.positions).shape[1])
            names = list(labels) if labels else [f"run {i + 1}" for i in range(k)]
            self.loss_scene.set_runs(trajectory, colors, names, visible)

    def set_start(self, point: Sequence[float] | None) -> None:
        for part in self._parts():
            part.set_start(point)

    def set_step(self, i: int) -> None:
        for part in self._parts():
            part.set_step(i)

    def render(self, target: Any, *args: Any, **kwargs: Any) -> None:
        """Paint both parts into ``target`` (see :meth:`Surface3DView.render`)."""
        offset = args[0] if args else kwargs.get("targetOffset", QPoint())
        for part in self._parts():
            part.render(target, offset + part.pos())


def export_scene(panels: str = "3d", theme: Theme = DARK) -> Export3DScene:
    """A scene for the exporter's ``scene_factory``: ``"3d"`` or ``"3d+loss"``.

    Only call it where :func:`~gdviz.ui.gl.probe_gl` says yes.

    Raises
    ------
    RuntimeError
        Without OpenGL (the message says why).
    ValueError
        For other ``panels``.
    """
    return Export3DScene(panels, theme)
