"""Sample a loss on a grid for drawing: heat-map values, contour levels and lines.

Everything here is plain NumPy so the window, the exporter and a notebook draw
the same picture. Non-finite values (``log`` of a negative number, a division by
zero) come back as NaN and are *masked*: they are left out of colour ranges and
contour levels instead of crashing or stretching the colour bar to infinity.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = [
    "Curve",
    "Grid",
    "GridSampler",
    "contour_levels",
    "contour_segments",
    "field_arrows",
    "field_points",
    "gradient_field",
    "grid_axes",
    "normalize_domain",
    "sample_curve",
    "sample_grid",
    "sample_grid_rows",
]


class _Evaluates(Protocol):
    """Anything with ``value(p)`` for points ``p`` of shape ``(..., d)``: a compiled loss."""

    def value(self, p: np.ndarray) -> np.ndarray: ...


Domain = tuple[tuple[float, float], ...]


def normalize_domain(domain: Sequence[Sequence[float]], dim: int | None = None) -> Domain:
    """Check a domain (one ``(low, high)`` pair per variable) and return it as floats.

    Raises
    ------
    ValueError
        If a pair is not two finite numbers with ``low < high``, or the number
        of pairs is not ``dim`` (when given). The message names the axis.
    """
    pairs = tuple(domain)
    if dim is not None and len(pairs) < dim:
        raise ValueError(f"the view needs {dim} ranges, got {len(pairs)}")
    out = []
    for axis, pair in zip("xyzw", pairs, strict=False):
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"{axis} range must be two numbers, got {pair!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{axis} range must be finite, got {lo:g} to {hi:g}")
        if not lo < hi:
            raise ValueError(f"{axis} range must go from low to high, got {lo:g} to {hi:g}")
        if not np.isfinite(hi - lo):  # e.g. ±1e308: the grid's spacing would overflow
            raise ValueError(f"{axis} range is too wide to sample: {lo:g} to {hi:g}")
        if hi - lo < 1e-12 * max(1.0, abs(lo), abs(hi)):
            raise ValueError(f"{axis} range is too narrow to draw: {lo:g} to {hi:g}")
        out.append((lo, hi))
    return tuple(out[: dim or len(out)])


def _values(loss: _Evaluates, points: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        z = np.asarray(loss.value(points), dtype=np.float64)
    z = np.broadcast_to(z, points.shape[:-1]).copy()
    z[~np.isfinite(z)] = np.nan
    return z


@dataclass(frozen=True)
class Grid:
    """A loss sampled on a regular 2-D grid.

    Attributes
    ----------
    xs, ys
        Sample coordinates along x (``nx``) and y (``ny``).
    z
        Values, shape ``(ny, nx)``: ``z[j, i]`` is the loss at ``(xs[i], ys[j])``
        (row-major, the order an image wants). Non-finite values are NaN.
    """

    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray

    @property
    def finite(self) -> np.ndarray:
        """Boolean mask of the samples that are finite."""
        return np.isfinite(self.z)

    @property
    def masked_fraction(self) -> float:
        """Share of samples that are not finite (0 … 1)."""
        return float(1.0 - self.finite.mean()) if self.z.size else 0.0

    def value_range(self) -> tuple[float, float] | None:
        """``(min, max)`` of the finite values, or None if there are none."""
        f = self.z[self.finite]
        if f.size == 0:
            return None
        return float(f.min()), float(f.max())


def grid_axes(
    domain: Sequence[Sequence[float]], n: int | tuple[int, int] = 200
) -> tuple[np.ndarray, np.ndarray]:
    """The sample coordinates ``(xs, ys)`` of :func:`sample_grid`'s grid.

    Raises
    ------
    ValueError
        For a bad domain (the message names the axis) or fewer than 2 samples per axis.
    """
    (x0, x1), (y0, y1) = normalize_domain(domain, 2)
    nx, ny = (n, n) if isinstance(n, int) else n
    if nx < 2 or ny < 2:
        raise ValueError(f"a grid needs at least 2 samples per axis, got {nx}×{ny}")
    return np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)


def sample_grid_rows(
    loss: _Evaluates, xs: np.ndarray, ys: np.ndarray, start: int, stop: int
) -> np.ndarray:
    """Rows ``start:stop`` of a grid's values (``z[j]`` is the loss along ``y = ys[j]``).

    The points are the very ones :func:`sample_grid` evaluates, so filling a
    grid a few rows at a time (to keep a window responsive while an expensive
    loss is sampled) gives the same numbers as one call, provided ``loss``
    computes each point independently of the others it is called with (true
    of elementwise NumPy code; a dataset loss batches at least a whole row).

    Returns
    -------
    numpy.ndarray
        Shape ``(stop - start, len(xs))``, NaN where not finite.
    """
    if not 0 <= start <= stop <= len(ys):
        raise ValueError(f"rows {start}:{stop} are outside the grid's {len(ys)} rows")
    gx, gy = np.meshgrid(xs, ys[start:stop], indexing="xy")
    return _values(loss, np.stack([gx, gy], axis=-1))


def sample_grid(
    loss: _Evaluates, domain: Sequence[Sequence[float]], n: int | tuple[int, int] = 200
) -> Grid:
    """Sample a 2-variable loss on an ``n × n`` grid over ``domain``.

    Parameters
    ----------
    loss
        A compiled loss (anything with a vectorised ``value``).
    domain
        ``((xmin, xmax), (ymin, ymax))``.
    n
        Samples per axis, or ``(nx, ny)``.
    """
    xs, ys = grid_axes(domain, n)
    return Grid(xs=xs, ys=ys, z=sample_grid_rows(loss, xs, ys, 0, len(ys)))


class GridSampler:
    """Sample a loss on :func:`sample_grid`'s grid in steps, for a responsive window.

    A loss over a dataset costs a mean over thousands of samples per point, and
    its full grid can take hundreds of milliseconds. :meth:`first_pass` decides
    by measuring: a small probe grid's time per point, extrapolated to the full
    grid, says whether one pass is cheap enough; if not, it returns a coarse
    grid (as fine as a time budget allows) to show at once, and
    :meth:`advance` fills the full grid a few whole rows per call. The rows
    are the very points :func:`sample_grid` evaluates, so the finished
    :attr:`grid` equals ``sample_grid(loss, domain, n)`` (for losses that
    compute each point independently of the others in the call).

    Parameters
    ----------
    loss
        Anything with a vectorised ``value``.
    domain
        ``((xmin, xmax), (ymin, ymax))``.
    n
        Samples per axis of the full grid.
    cost
        Seconds per point already measured for ``loss`` (e.g. before a zoom):
        the probe is then skipped.

    Attributes
    ----------
    grid
        The full grid once complete, else None.
    cost
        Seconds per point, as last measured (None before any sampling).
    """

    def __init__(
        self,
        loss: _Evaluates,
        domain: Sequence[Sequence[float]],
        n: int = 200,
        cost: float | None = None,
    ) -> None:
        self.loss = loss
        self.domain = normalize_domain(domain, 2)
        self.xs, self.ys = grid_axes(self.domain, n)
        self.cost = cost
        self.grid: Grid | None = None
        self._z: np.ndarray | None = None
        self._rows = 0
        self._seconds = 0.0

    @property
    def points(self) -> int:
        """Points of the full grid."""
        return len(self.xs) * len(self.ys)

    def _timed(self, n: int) -> Grid:
        t0 = time.perf_counter()
        g = sample_grid(self.loss, self.domain, n)
        self.cost = max((time.perf_counter() - t0) / n**2, 1e-12)
        return g

    def sample_all(self) -> Grid:
        """Sample the full grid in one call (and measure its cost)."""
        t0 = time.perf_counter()
        z = sample_grid_rows(self.loss, self.xs, self.ys, 0, len(self.ys))
        self.cost = max((time.perf_counter() - t0) / self.points, 1e-12)
        self.grid = Grid(xs=self.xs, ys=self.ys, z=z)
        self._z = None
        return self.grid

    def first_pass(
        self,
        sync_seconds: float,
        coarse_seconds: float,
        probe: int = 12,
        coarse_max: int = 50,
    ) -> Grid:
        """The picture to show now: the full grid if it is cheap, else a coarse one.

        Parameters
        ----------
        sync_seconds
            The full grid is sampled at once if predicted to take at most this.
        coarse_seconds
            Time the coarse grid may take to sample (it is at least ``probe``
            per axis, at most ``coarse_max``).
        probe
            Samples per axis of the probe for a loss of unknown cost.
        """
        if self.cost is not None and self.cost * self.points <= sync_seconds:
            return self.sample_all()
        coarse: Grid | None = None
        n = 0
        if self.cost is None:
            n = probe
            coarse = self._timed(n)
        assert self.cost is not None
        if self.cost * self.points > sync_seconds:
            # A probe's time includes a fixed overhead per call, so its cost
            # per point is an upper bound: a larger coarse grid measures better.
            m = int(min(coarse_max, math.sqrt(coarse_seconds / self.cost)))
            m = max(m, probe)  # some picture, however expensive the loss
            if m > n:
                coarse = self._timed(m)
        if self.cost * self.points <= sync_seconds or coarse is None:
            return self.sample_all()  # cheap after all
        self._z = np.empty((len(self.ys), len(self.xs)))
        return coarse

    def advance(self, seconds: float) -> bool:
        """Sample the next whole rows of the full grid, about ``seconds`` worth.

        At least one row per call; the number of rows comes from the last
        measured time per point. Returns whether the full grid is complete.
        """
        if self.grid is not None:
            return True
        if self._z is None:
            self._z = np.empty((len(self.ys), len(self.xs)))
        nx, ny = len(self.xs), len(self.ys)
        cost = self.cost if self.cost is not None else 1e-3
        rows = max(1, int(seconds / (cost * nx)))
        start, stop = self._rows, min(ny, self._rows + rows)
        t0 = time.perf_counter()
        self._z[start:stop] = sample_grid_rows(self.loss, self.xs, self.ys, start, stop)
        took = time.perf_counter() - t0
        self._seconds += took
        self.cost = max(took / ((stop - start) * nx), 1e-12)
        self._rows = stop
        if stop == ny:
            self.grid = Grid(xs=self.xs, ys=self.ys, z=self._z)
            self._z = None
            self.cost = max(self._seconds / self.points, 1e-12)
        return self.grid is not None


@dataclass(frozen=True)
class Curve:
    """A 1-variable loss sampled along x: ``z[i]`` at ``xs[i]`` (NaN where not finite)."""

    xs: np.ndarray
    z: np.ndarray

    def value_range(self) -> tuple[float, float] | None:
        f = self.z[np.isfinite(self.z)]
        if f.size == 0:
            return None
        return float(f.min()), float(f.max())


def sample_curve(loss: _Evaluates, domain: Sequence[Sequence[float]], n: int = 800) -> Curve:
    """Sample a 1-variable loss at ``n`` points over ``domain[0]``."""
    ((x0, x1),) = normalize_domain(domain, 1)
    if n < 2:
        raise ValueError(f"a curve needs at least 2 samples, got {n}")
    xs = np.linspace(x0, x1, n)
    return Curve(xs=xs, z=_values(loss, xs[:, None]))


def contour_levels(
    z: np.ndarray, n: int = 12, *, log: bool = False, upper_quantile: float = 0.98
) -> np.ndarray:
    """Choose ``n`` contour levels for the finite values of ``z``.

    Linear levels are evenly spaced between the minimum and a high quantile (so
    a few huge values at the edge of the view do not push every line into one
    corner). Log-spaced levels crowd towards the minimum — what a steep function
    such as Rosenbrock needs to show its flat valley floor: level ``k`` is
    ``min + span ** (k / n)``-style geometric spacing of the height above the
    minimum.

    Returns
    -------
    numpy.ndarray
        Increasing levels; empty if ``z`` has fewer than two distinct finite values.
    """
    if n < 1:
        return np.empty(0)
    f = np.asarray(z, dtype=np.float64)
    f = f[np.isfinite(f)]
    if f.size == 0:
        return np.empty(0)
    lo = float(f.min())
    hi = float(np.quantile(f, upper_quantile)) if f.size > 10 else float(f.max())
    if not hi > lo:
        hi = float(f.max())
    if not hi > lo:
        return np.empty(0)
    span = hi - lo
    if log:
        # Heights above the minimum from span/10^4 to span, geometrically spaced;
        # levels then sit dense near the floor and sparse up the walls.
        heights = np.geomspace(span * 1e-4, span, n)
        return lo + heights
    return np.linspace(lo, hi, n + 2)[1:-1]


# Marching squares: for each of the 16 corner cases, the pairs of cell edges a
# contour segment joins. Edges: 0 bottom (c0–c1), 1 right (c1–c2), 2 top (c3–c2),
# 3 left (c0–c3); corners c0=(i,j), c1=(i+1,j), c2=(i+1,j+1), c3=(i,j+1).
_CASES: dict[int, tuple[tuple[int, int], ...]] = {
    1: ((3, 0),),
    2: ((0, 1),),
    3: ((3, 1),),
    4: ((1, 2),),
    5: ((3, 0), (1, 2)),
    6: ((0, 2),),
    7: ((3, 2),),
    8: ((2, 3),),
    9: ((0, 2),),
    10: ((0, 1), (2, 3)),
    11: ((1, 2),),
    12: ((1, 3),),
    13: ((0, 1),),
    14: ((3, 0),),
}


def contour_segments(grid: Grid, levels: Sequence[float]) -> np.ndarray:
    """Contour lines of ``grid`` at ``levels`` as line segments.

    Vectorised marching squares; cells with a non-finite corner are skipped, so
    masked regions simply have no lines.

    Returns
    -------
    numpy.ndarray
        Shape ``(S, 2, 2)``: segment ``s`` goes from ``out[s, 0]`` to ``out[s, 1]``
        (each an ``(x, y)`` point). Draw with pairs-connected lines.
    """
    z = grid.z
    xs, ys = grid.xs, grid.ys
    c0, c1 = z[:-1, :-1], z[:-1, 1:]
    c3, c2 = z[1:, :-1], z[1:, 1:]
    out: list[np.ndarray] = []
    with np.errstate(all="ignore"):
        # Each cell's lowest and highest corner, on the whole grid at once; a
        # cell with a non-finite corner gets a range no level falls in. Per
        # level only the cells it crosses are gathered (a few percent of them).
        vmin = np.minimum(np.minimum(c0, c1), np.minimum(c2, c3))
        vmax = np.maximum(np.maximum(c0, c1), np.maximum(c2, c3))
        bad = ~(np.isfinite(vmin) & np.isfinite(vmax))
        vmin[bad], vmax[bad] = np.inf, -np.inf
        for level in levels:
            jj, ii = np.nonzero((vmin < level) & (vmax >= level))
            if jj.size == 0:
                continue
            vv = np.stack([c0[jj, ii], c1[jj, ii], c2[jj, ii], c3[jj, ii]], axis=1)
            cx0, cx1, cy0, cy1 = xs[ii], xs[ii + 1], ys[jj], ys[jj + 1]
            above = vv >= level
            case = above[:, 0] * 1 + above[:, 1] * 2 + above[:, 2] * 4 + above[:, 3] * 8

            def t(a: np.ndarray, b: np.ndarray, lev: float = level) -> np.ndarray:
                d = b - a
                return np.where(d != 0, (lev - a) / np.where(d != 0, d, 1.0), 0.5)

            # Crossing point on each of the four edges (only used where crossed).
            ex = np.stack(
                [
                    cx0 + t(vv[:, 0], vv[:, 1]) * (cx1 - cx0),  # bottom
                    cx1 + 0 * cx0,  # right
                    cx0 + t(vv[:, 3], vv[:, 2]) * (cx1 - cx0),  # top
                    cx0 + 0 * cx0,  # left
                ],
                axis=1,
            )
            ey = np.stack(
                [
                    cy0 + 0 * cy0,
                    cy0 + t(vv[:, 1], vv[:, 2]) * (cy1 - cy0),
                    cy1 + 0 * cy0,
                    cy0 + t(vv[:, 0], vv[:, 3]) * (cy1 - cy0),
                ],
                axis=1,
            )
            for code, pairs in _CASES.items():
                sel = np.nonzero(case == code)[0]
                if sel.size == 0:
                    continue
                for a, b in pairs:
                    seg = np.empty((sel.size, 2, 2))
                    seg[:, 0, 0], seg[:, 0, 1] = ex[sel, a], ey[sel, a]
                    seg[:, 1, 0], seg[:, 1, 1] = ex[sel, b], ey[sel, b]
                    out.append(seg)
    if not out:
        return np.empty((0, 2, 2))
    return np.concatenate(out)


def field_points(domain: Sequence[Sequence[float]], n: int = 18) -> np.ndarray:
    """Centres of an ``n × n`` grid of cells over ``domain``: shape ``(n * n, 2)``, row by row."""
    (x0, x1), (y0, y1) = normalize_domain(domain, 2)
    if n < 1:
        raise ValueError(f"an arrow field needs at least 1 arrow per axis, got {n}")
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    xs = x0 + dx * (np.arange(n) + 0.5)
    ys = y0 + dy * (np.arange(n) + 0.5)
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def field_arrows(
    points: np.ndarray, grads: np.ndarray, domain: Sequence[Sequence[float]], n: int = 18
) -> tuple[np.ndarray, np.ndarray]:
    """The arrows of :func:`gradient_field` from gradients ``grads`` at :func:`field_points`.

    Split from :func:`gradient_field` so that the gradients of an expensive
    loss can be computed a few points at a time.
    """
    (x0, x1), (y0, y1) = normalize_domain(domain, 2)
    dx, dy = (x1 - x0) / n, (y1 - y0) / n
    g = np.broadcast_to(np.asarray(grads, dtype=np.float64), points.shape)
    # Normalise in cell units so the arrow direction is what the eye sees on a
    # plot whose x and y scales differ.
    with np.errstate(all="ignore"):
        u = -g[:, 0] / dx
        v = -g[:, 1] / dy
        norm = np.hypot(u, v)
    keep = np.isfinite(norm) & (norm > 0)
    d = np.stack([u[keep] / norm[keep] * dx * 0.8, v[keep] / norm[keep] * dy * 0.8], axis=1)
    return points[keep], d


def gradient_field(
    grad: object, domain: Sequence[Sequence[float]], n: int = 18
) -> tuple[np.ndarray, np.ndarray]:
    """Directions of steepest descent on a coarse ``n × n`` grid, for an arrow field.

    Parameters
    ----------
    grad
        A callable ``grad(p)`` for points of shape ``(..., 2)`` returning ``(..., 2)``.

    Returns
    -------
    (points, directions)
        ``points`` shape ``(M, 2)``; ``directions`` shape ``(M, 2)``: unit vectors
        of ``-∇f`` scaled to ``0.8`` of a grid cell per axis (so arrows never
        overlap). Points where the gradient is zero or not finite are left out.
    """
    pts = field_points(domain, n)
    with np.errstate(all="ignore"):
        g = np.asarray(grad(pts), dtype=np.float64)  # type: ignore[operator]
    return field_arrows(pts, g, domain, n)
