"""Draw the window's scene offscreen, one frame per step, into a frame writer.

"One scene, two outputs": frames come from the same :class:`gdviz.ui.scene.Scene`
the window shows, built here at a fixed pixel size and never put on screen.
Each frame is ``scene.set_step(i)`` followed by painting the widget into a
``QImage`` of exactly the requested size (device pixel ratio 1, so a HiDPI
screen does not double it), converted to an RGB ``uint8`` array.

Rendering is step-locked: every planned step is drawn, in order, however long
it takes, and nothing depends on the clock, so the same inputs give the same
pixels (and byte-identical PNG files).

Two drivers share :class:`SceneRenderer`:

- :func:`export_animation` renders everything in one call (the command line);
- :class:`ExportJob` renders in small chunks from a zero-delay ``QTimer`` so
  the window keeps handling input and can cancel between frames. Widgets may
  only be painted on the GUI thread, so a worker thread is no option.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QGraphicsItem, QWidget

from gdviz.core.colors import assign_colors
from gdviz.export.plan import PANELS_3D, ExportError, ExportPlan, SceneInputs
from gdviz.export.writers import BackgroundWriter, FrameWriter, make_writer

__all__ = [
    "ExportCancelled",
    "ExportJob",
    "SceneInputs",
    "SceneRenderer",
    "check_panels",
    "export_animation",
]


class ExportCancelled(ExportError):
    """The export was cancelled; nothing was written."""


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(["gdviz"])
    return app


def _flush_posted_events() -> None:
    """Run the layout requests the scene queued.

    Axis widths and legend sizes settle through posted layout requests;
    painting before they run would draw a half-laid-out frame. Only layout
    requests are sent: the posted repaint of the (never visible) widget
    would paint every frame a second time for nothing.
    """
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


def _cache_axes(widget: QWidget) -> None:
    """Let Qt keep each plot axis (ticks, labels and grid) as a ready pixmap.

    Axes do not change from step to step, yet repainting them is most of a
    frame's cost: grid lines are semi-transparent, and Qt's raster engine
    blends those about ten times slower than opaque ones. With a device
    coordinate cache Qt paints an axis once and reuses the pixels until
    pyqtgraph marks it changed (a new range, theme or size). Measured on a
    1280×720 frame: 34 → 14 ms of CPU per frame, with the picture unchanged
    except a single corner pixel of the plot frame. The colour bar's axis is
    left uncached: caching clips its bottom edge.
    """
    import pyqtgraph as pg

    for view in widget.findChildren(pg.GraphicsView):
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem) and not isinstance(item.parentItem(), pg.ColorBarItem):
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


#: How to get OpenGL without a desktop, for the message when there is none.
GL_HINT = "e.g. QT_QPA_PLATFORM=xcb xvfb-run -a -s '-screen 0 1280x1024x24' gdviz export ..."


def check_panels(panels: str, dim: int | None = None) -> None:
    """Raise :class:`ExportError` if ``panels`` cannot be drawn here.

    The 3-D panels need OpenGL, which Qt's offscreen platform (the export
    default) does not have; creating a GL widget there crashes the process
    instead of failing, so this is asked before any scene exists. They also
    need a function of two variables (``dim``, when given).
    """
    if panels not in PANELS_3D:
        return
    _application()
    from gdviz.ui.gl import probe_gl

    support = probe_gl()
    if not support.available:
        raise ExportError(
            f"panels {panels!r} need a display with OpenGL ({support.reason}); {GL_HINT}"
        )
    if dim is not None and dim != 2:
        raise ExportError(
            f"panels {panels!r} draw a surface, which needs a function of two variables, not {dim}"
        )


class SceneRenderer:
    """A :class:`~gdviz.ui.scene.Scene` at a fixed size that renders frames.

    Parameters
    ----------
    inputs
        The data to draw.
    size
        ``(width, height)`` of every frame in pixels.
    panels, theme
        ``"both"``/``"surface"``/``"loss"``/``"3d"``/``"3d+loss"`` and
        ``"light"``/``"dark"``.
    caption
        Show the scene's step caption ("step 12 · f = …"). The 3-D view has
        none of its own: ``"3d+loss"`` shows it on the loss plot, ``"3d"`` not.
    scene_factory
        Builds the scene widget from ``panels`` and a theme (for tests); the
        default is :class:`gdviz.ui.scene.Scene`, or
        :func:`gdviz.ui.view3d.export_scene` for the 3-D panels.

    Raises
    ------
    ExportError
        For 3-D panels without OpenGL, or with a function of one variable
        (see :func:`check_panels`).
    """

    def __init__(
        self,
        inputs: SceneInputs,
        size: tuple[int, int],
        panels: str = "both",
        theme: str = "light",
        *,
        caption: bool = True,
        scene_factory: Callable[..., Any] | None = None,
    ) -> None:
        _application()
        from gdviz.ui.theme import get_theme

        if scene_factory is None:
            if panels in PANELS_3D:
                check_panels(panels, getattr(inputs.loss, "dim", None))
                from gdviz.ui.view3d import export_scene as scene_factory
            else:
                from gdviz.ui.scene import Scene as scene_factory
        self.size = (int(size[0]), int(size[1]))
        self.theme = get_theme(theme, inputs.font_scale)
        scene = scene_factory(panels=panels, theme=self.theme)
        self.scene = scene
        # Laid out and painted like a shown window, but never mapped on a screen.
        scene.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        scene.setFixedSize(*self.size)
        if inputs.view is not None:
            scene.set_view(inputs.view)
        scene.show()
        _flush_posted_events()
        scene.set_problem(inputs.loss, inputs.domain)
        k = int(np.asarray(inputs.trajectory.positions).shape[1])
        # Runs keep their colours in every theme; any without one take the
        # palette's free colours, as the window gives them.
        given: list[str | None] = list(inputs.colors or [])[:k]
        colors = assign_colors(given + [None] * (k - len(given)))
        labels = list(inputs.labels) if inputs.labels else []
        labels += [f"run {i + 1}" for i in range(len(labels), k)]
        scene.set_runs(inputs.trajectory, colors, labels, inputs.visible)
        scene.set_start(inputs.start)
        for part in (scene, getattr(scene, "loss_scene", None)):
            step_caption = getattr(part, "caption", None)
            if step_caption is not None:
                step_caption.setVisible(caption)
        _cache_axes(scene)
        _flush_posted_events()
        self.n_steps = inputs.n_steps
        # Axes size themselves to their tick labels while painting, which
        # changes the layout for the *next* paint. Paint the first and last
        # steps once and let the layout settle, so frame 0 is drawn with the
        # same layout as every other frame (and as a second run of the same
        # export).
        for step in (0, self.n_steps, 0):
            self._paint(step)

    def frame(self, step: int) -> np.ndarray:
        """The scene at ``step`` as RGB ``uint8`` of shape ``(height, width, 3)``."""
        if not 0 <= step <= self.n_steps:
            raise ValueError(f"step {step} is outside the computed steps 0…{self.n_steps}")
        return qimage_to_rgb(self._paint(step))

    def _paint(self, step: int) -> QImage:
        self.scene.set_step(step)
        _flush_posted_events()
        width, height = self.size
        image = QImage(width, height, QImage.Format.Format_RGB32)
        image.fill(0)
        self.scene.render(image)
        _flush_posted_events()
        return image

    def close(self) -> None:
        """Drop the scene widget."""
        scene, self.scene = self.scene, None
        if scene is not None:
            scene.hide()
            scene.deleteLater()
            _flush_posted_events()

    def __enter__(self) -> SceneRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """Copy a ``QImage`` into a new RGB ``uint8`` array ``(height, width, 3)``."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    # Rows are padded to 4 bytes: view the buffer row by row, then drop the pad.
    buffer = np.frombuffer(rgb.constBits(), np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def _check_steps(plan: ExportPlan, inputs: SceneInputs) -> None:
    if plan.steps and plan.steps[-1] > inputs.n_steps:
        raise ValueError(
            f"the last frame needs step {plan.steps[-1]} but only {inputs.n_steps} "
            "steps are computed"
        )


def export_animation(
    plan: ExportPlan,
    inputs: SceneInputs,
    *,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    finishing: Callable[[], None] | None = None,
    scene_factory: Callable[..., Any] | None = None,
    writer: FrameWriter | None = None,
) -> Path:
    """Render every planned frame and write the output; returns its path.

    Encoding runs on a worker thread (:class:`BackgroundWriter`) while the
    next frame is drawn; frames still reach the output in order.

    Parameters
    ----------
    plan
        Output, size, frame rate, steps, panels, theme.
    inputs
        The data to draw.
    progress
        Called with the number of frames drawn after each one.
    cancelled
        Polled before each frame; when it returns True the export stops,
        partial output is removed and :class:`ExportCancelled` is raised.
    finishing
        Called once every frame is drawn, before the file is completed (a
        GIF's second pass takes a while).
    scene_factory
        See :class:`SceneRenderer`.
    writer
        A writer to use instead of the one ``plan`` names (for tests).

    Raises
    ------
    OutputPathError
        The output cannot be created (nothing was written).
    ExportError
        Writing failed; partial output has been removed.
    ExportCancelled
        ``cancelled()`` returned True.
    """
    _check_steps(plan, inputs)
    if writer is None:
        writer = _writer_for(plan)
    # Open first: an unwritable directory fails before any drawing.
    writer.open()
    background = BackgroundWriter(writer)
    try:
        with SceneRenderer(
            inputs,
            plan.size,
            plan.panels,
            plan.theme,
            caption=plan.caption,
            scene_factory=scene_factory,
        ) as renderer:
            for done, step in enumerate(plan.steps, start=1):
                if cancelled is not None and cancelled():
                    raise ExportCancelled("export cancelled; nothing was written")
                background.write(renderer.frame(step))
                if progress is not None:
                    progress(done)
        if finishing is not None:
            finishing()
        return background.close()
    except BaseException:
        background.abort()
        raise


def _writer_for(plan: ExportPlan) -> FrameWriter:
    return make_writer(
        plan.kind, plan.out, plan.size, plan.fps, force=plan.force, n_frames=plan.n_frames
    )


class ExportJob(QObject):
    """Render an export on the GUI thread without freezing it, with cancel.

    Frames are drawn in slices of about ``slice_ms`` milliseconds from a
    zero-delay timer, so input events, repaints and the Cancel button are
    handled between slices (widgets can only be painted on the GUI thread).
    Encoding, and finishing the file after the last frame (the GIF's second
    pass takes seconds), run on a worker thread that the timer polls.
    Construct, connect the signals, then :meth:`start`.

    Signals
    -------
    progressed(int, int)
        Frames drawn and frames in total.
    finishing()
        Every frame is drawn; the file is being completed.
    finished(object)
        The written :class:`~pathlib.Path`.
    failed(str)
        One-line message; nothing was written.
    cancelled()
        Stopped by :meth:`cancel`; nothing was written.
    """

    progressed = Signal(int, int)
    finishing = Signal()
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    #: Milliseconds between checks while the worker completes the file.
    POLL_MS = 50

    def __init__(
        self,
        plan: ExportPlan,
        inputs: SceneInputs,
        *,
        slice_ms: float = 30.0,
        scene_factory: Callable[..., Any] | None = None,
        writer: FrameWriter | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        _check_steps(plan, inputs)
        self.plan = plan
        self.inputs = inputs
        self.slice_ms = slice_ms
        self._scene_factory = scene_factory
        self._writer = writer
        self._background: BackgroundWriter | None = None
        self._renderer: SceneRenderer | None = None
        self._next = 0
        self._cancel_requested = False
        self._busy = False
        #: new -> running -> finishing -> finished | failed | cancelled
        self.state = "new"
        self.result: Path | None = None
        self.error: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(False)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._tick)

    @property
    def total(self) -> int:
        return self.plan.n_frames

    @property
    def done(self) -> int:
        return self._next

    @property
    def active(self) -> bool:
        return self.state in ("running", "finishing")

    def start(self) -> None:
        """Open the output and begin rendering (returns at once).

        An output that cannot be created is reported through ``failed``
        before this returns.
        """
        if self.state != "new":
            raise RuntimeError(f"export job is {self.state}")
        self.state = "running"
        writer = self._writer if self._writer is not None else _writer_for(self.plan)
        try:
            writer.open()
            self._background = BackgroundWriter(writer)
            self._renderer = SceneRenderer(
                self.inputs,
                self.plan.size,
                self.plan.panels,
                self.plan.theme,
                caption=self.plan.caption,
                scene_factory=self._scene_factory,
            )
        except ExportError as exc:
            self._fail(str(exc))
            return
        except Exception as exc:
            self._fail(f"could not start the export: {exc}")
            return
        # Quitting the application mid-export must not leave temporaries behind.
        QCoreApplication.instance().aboutToQuit.connect(self.cancel)
        self._timer.start()

    def cancel(self) -> None:
        """Stop after the current frame and remove partial output.

        Safe to call from a slot connected to :attr:`progressed`.
        """
        if not self.active:
            return
        self._cancel_requested = True
        if not self._busy:
            # Finish now rather than on the next tick: the person asked to stop.
            self._finish_cancel()

    def _finish_cancel(self) -> None:
        self._stop()
        background = self._background
        if background is not None and background.completed:
            # The file was completed just before Cancel arrived: it is whole,
            # so say so rather than pretend nothing was written.
            self.result = background.result()
            self.state = "finished"
            self.finished.emit(self.result)
            return
        self.state = "cancelled"
        self.cancelled.emit()

    def _tick(self) -> None:
        if not self.active:
            return
        if self._cancel_requested:
            self._finish_cancel()
            return
        assert self._background is not None
        if self.state == "finishing":
            self._poll_finishing()
            return
        assert self._renderer is not None
        deadline = time.perf_counter() + self.slice_ms / 1000
        steps = self.plan.steps
        self._busy = True
        try:
            while self._next < len(steps) and not self._cancel_requested:
                self._background.write(self._renderer.frame(steps[self._next]))
                self._next += 1
                if time.perf_counter() >= deadline:
                    break
            if self._next == len(steps):
                self._close_renderer()
                self._background.close_async()
                self.state = "finishing"
                self._timer.setInterval(self.POLL_MS)
        except ExportError as exc:
            self._busy = False
            self._fail(str(exc))
            return
        except Exception as exc:  # a bug must not leave half a file or a dead window
            self._busy = False
            self._fail(f"export failed: {exc}")
            return
        self._busy = False
        # Signals go out once the job is consistent: their slots may cancel.
        self.progressed.emit(self._next, len(steps))
        if self._cancel_requested and self.active:
            self._finish_cancel()
        elif self.state == "finishing":
            self.finishing.emit()

    def _poll_finishing(self) -> None:
        assert self._background is not None
        if not self._background.done:
            return
        self._timer.stop()
        try:
            self.result = self._background.close()
        except ExportError as exc:
            self._fail(str(exc))
            return
        except Exception as exc:
            self._fail(f"export failed: {exc}")
            return
        self.state = "finished"
        self.finished.emit(self.result)

    def _close_renderer(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _stop(self) -> None:
        self._timer.stop()
        self._close_renderer()
        if self._background is not None:
            self._background.abort()

    def _fail(self, message: str) -> None:
        self._stop()
        self.state = "failed"
        self.error = message
        self.failed.emit(message)
