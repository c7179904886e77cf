"""A trail: a polyline shown up to a step, its finished chunks cached as pictures."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsItem

from gdviz.ui.items.drawing import cached_pixel_size, clear_curve, cosmetic, visible_points
from gdviz.ui.items.fast_curve import FastCurve

__all__ = ["ChunkedCurve"]


class ChunkedCurve:
    """A polyline shown up to index ``i``: finished chunks cached, only the tail redrawn.

    Stroking a wide pen along thousands of points costs Qt tens of milliseconds
    a frame, and during playback almost all of a trail is the same as in the
    frame before. So the series is cut into chunks of :attr:`CHUNK` steps; each
    finished chunk is its own item rendered once into a device-coordinate
    cache (Qt re-renders it only when the view is zoomed or resized), and only
    the unfinished tail is stroked every frame. Together they hold every point
    ``0 … i`` exactly; nothing is thinned out.

    The outline (shadow) of all pieces is a separate layer below all of their
    lines, so the joints between chunks look like one unbroken line. At most
    :attr:`NEW_PER_CALL` chunks are built per call (building is what costs);
    until the rest exist the tail item covers the difference, so the picture is
    always complete and :meth:`pending` says whether more chunks can be built.
    """

    CHUNK = 512
    NEW_PER_CALL = 4

    def __init__(self, plot: pg.PlotItem, z: float, connect: str = "all") -> None:
        self.plot = plot
        self.z = z
        self.connect = connect
        self.chunks: list[tuple[pg.PlotCurveItem, pg.PlotCurveItem | None]] = []
        self.live = self._item(z)
        self.live_shadow: pg.PlotCurveItem | None = None
        self.x: np.ndarray = np.empty(0)
        self.y: np.ndarray = np.empty(0)
        # The data the cached chunks were drawn from (may run past x, y).
        self._chunk_x: np.ndarray = np.empty(0)
        self._chunk_y: np.ndarray = np.empty(0)
        self.pen: QPen | None = None
        self.shadow: QPen | None = None
        self.upto = -1
        self.visible = True
        self._shown = 0  # chunks currently visible (always the first ones)
        self._pool: list[pg.PlotCurveItem] = []
        self._px: tuple[float, float] | None = None  # pixel size the chunks were cached at
        # After a rescale the chunks not yet re-cached are drawn by this cheap
        # stand-in (1 px cosmetic pen, no outline, thinned at pixel size).
        self.rough: pg.PlotCurveItem | None = None
        self.roughing = False
        self._rough_span: tuple | None = None  # (x, first, last, pixel size) it was drawn for
        self._tail: tuple | None = None  # what the tail items were last set to show

    def _item(self, z: float) -> pg.PlotCurveItem:
        item = FastCurve(connect=self.connect)
        item.setZValue(z)
        # Straight into the view box, outside the plot's data-item bookkeeping
        # and auto-range (the views set their ranges themselves): adding and
        # removing hundreds of chunks then stays cheap.
        self.plot.getViewBox().addItem(item, ignoreBounds=True)
        return item

    def _remove(self, item: pg.PlotCurveItem) -> None:
        self.plot.getViewBox().removeItem(item)

    @staticmethod
    def is_shown(item: pg.PlotCurveItem) -> bool:
        """Whether a chunk item is on screen (chunks are hidden by opacity, not visibility)."""
        return item.isVisible() and item.opacity() > 0.0

    def _recycle(self, item: pg.PlotCurveItem) -> None:
        # Hidden and kept for the next chunk: removing items from a scene and
        # adding new ones cost more than re-filling old ones.
        item.setVisible(False)
        self._pool.append(item)

    def set_style(self, pen: QPen, shadow: QPen | None = None) -> None:
        """Draw the line with ``pen`` over an outline in ``shadow`` (None: no outline)."""
        if self.pen is not None and pen == self.pen and shadow == self.shadow:
            return  # unchanged: keep the cached chunks
        self.pen, self.shadow = pen, shadow
        if shadow is not None and self.live_shadow is None:
            self.live_shadow = self._item(self.z - 1)
        if shadow is None and self.live_shadow is not None:
            self._remove(self.live_shadow)
            self.live_shadow = None
        self.live.setPen(pen)
        if self.live_shadow is not None:
            self.live_shadow.setPen(shadow)
        self._tail = None  # a new outline item has no data yet
        self._drop_chunks()  # cached pictures hold the old pens
        if self.upto >= 0:
            self.show_upto(self.upto)

    def set_series(self, x: np.ndarray, y: np.ndarray) -> None:
        """New data. Cached chunks survive where the new data equals the data
        they were drawn from; the others are rebuilt on demand.

        A trajectory that grew keeps all of them. A recomputed one arrives in
        parts, first much shorter than before: chunks past its end are kept
        (hidden) while it agrees with them, so a run whose settings did not
        change gets its old chunks back instead of having them all re-drawn.
        """
        n = len(self.chunks) * self.CHUNK + 1 if self.chunks else 0
        keep, replace = 0, True
        if n:
            cx, cy = self._chunk_x, self._chunk_y
            m = min(len(x), n)
            with np.errstate(invalid="ignore"):
                same = ((x[:m] == cx[:m]) | (np.isnan(x[:m]) & np.isnan(cx[:m]))) & (
                    (y[:m] == cy[:m]) | (np.isnan(y[:m]) & np.isnan(cy[:m]))
                )
            bad = np.flatnonzero(~same)
            if bad.size == 0:
                # Agrees as far as both go: the longer one says what the chunks hold.
                keep, replace = len(self.chunks), len(x) >= len(cx)
            else:
                # Chunk c holds points c·CHUNK … (c+1)·CHUNK.
                keep = int(bad[0]) // self.CHUNK
        self._drop_chunks(keep)
        if replace:
            self._chunk_x, self._chunk_y = x, y
        self.x, self.y = x, y
        self.upto = min(self.upto, len(x) - 1)

    def _drop_chunks(self, keep: int = 0) -> None:
        """Recycle the chunks from index ``keep`` on (all by default)."""
        for line, shadow in self.chunks[keep:]:
            self._recycle(line)
            if shadow is not None:
                self._recycle(shadow)
        del self.chunks[keep:]
        self._shown = min(self._shown, keep)

    def _chunk(self, c: int) -> tuple[pg.PlotCurveItem, pg.PlotCurveItem | None]:
        a, b = c * self.CHUNK, (c + 1) * self.CHUNK + 1  # chunks share their end points
        pieces: list[pg.PlotCurveItem | None] = []
        for pen, z in ((self.pen, self.z), (self.shadow, self.z - 1)):
            if pen is None and z != self.z:
                pieces.append(None)
                continue
            item = self._pool.pop() if self._pool else self._item(z)
            item.setZValue(z)
            item.setData(self.x[a:b], self.y[a:b], connect=self.connect)
            if pen is not None:
                item.setPen(pen)
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            item.setOpacity(0.0)  # show_upto shows it
            item.setVisible(True)
            pieces.append(item)
        return pieces[0], pieces[1]  # type: ignore[return-value]

    def show_upto(self, i: int, budget: list[int] | None = None, rough: bool = False) -> None:
        """Show points ``0 … i``; build at most ``budget[0]`` new chunks (shared, counted down).

        With ``rough``, more than one finished chunk still to be built (after
        a recompute or a jump) is drawn by the cheap stand-in until it is
        cached, instead of by the full-quality tail: the tail is stroked again
        in every paint, and stroking thousands of points with wide pens in each
        turn of the catch-up made each of those paints cost tens of
        milliseconds.
        """
        i = min(int(i), len(self.x) - 1)
        full = max(i, 0) // self.CHUNK
        budget = budget if budget is not None else [self.NEW_PER_CALL]
        if not self.chunks and full > 0 and budget[0] > 0:
            self._px = cached_pixel_size(self.plot.getViewBox())
        while len(self.chunks) < full and budget[0] > 0:
            self.chunks.append(self._chunk(len(self.chunks)))
            budget[0] -= 1
        shown = min(full, len(self.chunks)) if self.visible else 0
        if shown != self._shown:
            # Only chunks whose visibility changes are touched (playback moves
            # one chunk boundary every CHUNK steps). Shown and hidden by their
            # opacity: Qt drops the cached picture of a hidden item, and
            # scrubbing back and forth (or a recompute that keeps a run's
            # chunks) then had every chunk rendered again in one paint, 90 ms
            # with 8 runs of 5,000 steps.
            lo, hi = sorted((shown, self._shown))
            opacity = 1.0 if shown > self._shown else 0.0
            for line, shadow in self.chunks[lo:hi]:
                line.setOpacity(opacity)
                if shadow is not None:
                    shadow.setOpacity(opacity)
            self._shown = shown
        shown = min(full, len(self.chunks))
        a = shown * self.CHUNK
        if rough and full - shown > 1:
            self.roughing = True
        px = cached_pixel_size(self.plot.getViewBox())
        if self.roughing and shown < full and self.visible:
            # Catching up after a rescale: the missing chunks get the cheap
            # stand-in, and the full-quality tail starts at the last boundary.
            b = full * self.CHUNK
            span = self._rough_span
            if span is None or not (
                span[0] is self.x and span[1] <= a and span[2] == b and span[3] == px
            ):
                # Set once per catch-up, not every turn: chunks cached since
                # cover it (it lies between their outline and their line), and
                # re-setting it made Qt repaint its whole area every turn.
                rx, ry = visible_points(self.x[a : b + 1], self.y[a : b + 1], px, 2.0)
                if self.rough is None:
                    self.rough = self._item(self.z - 0.5)
                self.rough.setPen(cosmetic(self.pen))
                self.rough.setData(rx, ry, connect=self.connect, antialias=False)
                self.rough.setVisible(True)
                self._rough_span = (self.x, a, b, px)
            a = b
        else:
            self.roughing = False
            self._rough_span = None
            if self.rough is not None and self.rough.isVisible():
                clear_curve(self.rough)
                self.rough.setVisible(False)
        tail = (self.x, self.y, a, i, px, self.visible)
        old = self._tail
        if old is None or not (old[0] is tail[0] and old[1] is tail[1] and old[2:] == tail[2:]):
            # Only when it changed: new data makes Qt stroke it again.
            x, y = self.x[a : i + 1], self.y[a : i + 1]
            if len(x) > 16:
                # The tail is stroked every frame: leave out the points that
                # land within half a pixel of the one before (they change no
                # pixel). Until missing chunks are cached (just after a jump or
                # a recompute) the tail also stands in for them.
                x, y = visible_points(x, y, px)
            for item in (self.live, self.live_shadow):
                if item is not None:
                    item.setData(x, y, connect=self.connect)
                    item.setVisible(self.visible)
            self._tail = tail
        self.upto = i

    def rescaled(self) -> bool:
        """Drop the cached chunks if a pixel now spans other data units; say whether it did.

        A resize or zoom invalidates the device-coordinate cache of every
        chunk, and Qt re-renders all of them in the next paint: with 8 runs of
        5,000 steps and wide pens that is well over 100 ms in one paint.
        Instead the chunks are dropped, the missing ones are drawn by a cheap
        1-px stand-in, and :meth:`show_upto` caches them again a few per
        event-loop turn; once all are back the picture is exactly the one
        before. A pan keeps the pixel size and the caches, which Qt moves.
        """
        px = cached_pixel_size(self.plot.getViewBox())
        old, self._px = self._px, px
        if px is not None and old is not None and np.allclose(px, old, rtol=1e-9, atol=0.0):
            return False
        if not self.chunks:
            return False
        self._drop_chunks()
        self.roughing = True
        if self.upto >= 0:
            self.show_upto(self.upto, [0])
        return True

    def settled(self) -> bool:
        """Whether every piece is drawn in its final, full-quality form."""
        return not self.pending() and not self.roughing

    def pending(self) -> bool:
        """Whether finished chunks are still drawn by the tail (more can be cached)."""
        return self.visible and self.upto >= 0 and len(self.chunks) < self.upto // self.CHUNK

    def set_visible(self, visible: bool) -> None:
        """Show or hide every piece of the curve (the cached chunks are kept)."""
        self.visible = bool(visible)
        if self.upto >= 0:
            self.show_upto(self.upto)
        else:
            for item in (self.live, self.live_shadow):
                if item is not None:
                    item.setVisible(self.visible)

    def isVisible(self) -> bool:
        """Whether the curve is shown (named as Qt's items name it, for tests)."""
        return self.visible and self.live.isVisible()

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The points on screen, ``0 … i`` (for tests and exports)."""
        n = self.upto + 1
        return self.x[:n], self.y[:n]

    def remove(self) -> None:
        """Take every item of the curve out of its plot, for good."""
        self._drop_chunks()
        for item in (self.live, self.live_shadow, self.rough, *self._pool):
            if item is not None:
                self._remove(item)
        self._pool.clear()
