"""Can this process draw OpenGL? Ask once, before any GL widget exists.

pyqtgraph's 3D items need a working OpenGL context. Some Qt platforms have none
(``offscreen``, ``minimal``, ``vnc``, ``linuxfb``…): there, creating a
``QOpenGLWidget`` and reading it back crashes the process instead of raising
(``renderToArray`` segfaults on ``offscreen``). So nothing creates a GL widget
without asking :func:`probe_gl` first; when the answer is no, the app shows its
2-D views only, with :attr:`GLSupport.reason` as a one-line note.

The probe needs a ``QGuiApplication``. Its answer is cached for the life of the
process (the platform cannot change once the application exists).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

__all__ = [
    "NO_GL_ENV",
    "UNSUPPORTED_PLATFORMS",
    "GLSupport",
    "context_is_recent_enough",
    "gl_available",
    "probe_gl",
]

#: Qt platform plugins that have no usable OpenGL for widgets.
UNSUPPORTED_PLATFORMS = frozenset({"offscreen", "minimal", "minimalegl", "vnc", "linuxfb"})

#: Set this environment variable to a non-empty value other than ``0`` to turn
#: the 3-D view off (for a machine whose OpenGL driver misbehaves).
NO_GL_ENV = "GDVIZ_NO_GL"

#: pyqtgraph.opengl refuses contexts older than this.
MIN_GL_VERSION = (2, 1)


@dataclass(frozen=True)
class GLSupport:
    """The answer of :func:`probe_gl`.

    Attributes
    ----------
    available
        True when a 3-D view can be created.
    reason
        One line for people: why 3-D is off, or which OpenGL was found.
    """

    available: bool
    reason: str

    def __bool__(self) -> bool:
        return self.available


_cached: GLSupport | None = None


def probe_gl(*, refresh: bool = False) -> GLSupport:
    """Find out (once) whether OpenGL widgets work in this process.

    Checks, in order: the :data:`NO_GL_ENV` switch; that a ``QGuiApplication``
    exists; that its platform is not one of :data:`UNSUPPORTED_PLATFORMS`; that
    PyOpenGL is installed; that a ``QOpenGLContext`` can be created and made
    current on an offscreen surface, with at least OpenGL 2.1.

    Parameters
    ----------
    refresh
        Probe again instead of returning the cached answer (for tests).

    Returns
    -------
    GLSupport
        Never raises: every failure becomes ``available=False`` with a reason.
    """
    global _cached
    if _cached is not None and not refresh:
        return _cached
    result = _probe()
    # Without an application the answer may change once one exists: don't cache it.
    if result.reason != _NO_APP:
        _cached = result
    return result


def gl_available() -> bool:
    """Shorthand for ``probe_gl().available``."""
    return probe_gl().available


_NO_APP = "3D view off: no Qt application yet"


def _probe() -> GLSupport:
    flag = os.environ.get(NO_GL_ENV, "")
    if flag not in ("", "0"):
        return GLSupport(False, f"3D view off: {NO_GL_ENV} is set")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        return GLSupport(False, _NO_APP)
    platform = QGuiApplication.platformName()
    if platform in UNSUPPORTED_PLATFORMS:
        return GLSupport(False, f"3D view off: Qt platform '{platform}' has no OpenGL")
    if importlib.util.find_spec("OpenGL") is None:
        return GLSupport(False, "3D view off: PyOpenGL is not installed")
    return _probe_context(platform)


def _probe_context(platform: str) -> GLSupport:
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    context = QOpenGLContext()
    try:
        if not context.create():
            return GLSupport(False, f"3D view off: no OpenGL context on '{platform}'")
        surface = QOffscreenSurface()
        surface.setFormat(context.format())
        surface.create()
        try:
            if not surface.isValid() or not context.makeCurrent(surface):
                return GLSupport(False, f"3D view off: OpenGL context unusable on '{platform}'")
            fmt = context.format()
            version = (fmt.majorVersion(), fmt.minorVersion())
            is_es = context.isOpenGLES()
            renderer = _renderer_name(context)
            context.doneCurrent()
        finally:
            surface.destroy()
    except Exception as exc:  # a broken driver must mean "2-D only", never a crash
        return GLSupport(False, f"3D view off: OpenGL probe failed ({exc})")
    if not context_is_recent_enough(version, is_es=is_es):
        return GLSupport(False, f"3D view off: OpenGL {version[0]}.{version[1]} is older than 2.1")
    return GLSupport(True, f"OpenGL {version[0]}.{version[1]} ({renderer})")


def context_is_recent_enough(version: tuple[int, int], *, is_es: bool) -> bool:
    """Whether pyqtgraph.opengl can draw with an OpenGL (ES) context of ``version``."""
    return is_es or version >= MIN_GL_VERSION


def _renderer_name(context: object) -> str:
    from PySide6.QtGui import QOpenGLContext

    assert isinstance(context, QOpenGLContext)
    try:
        funcs = context.functions()
        # GL_RENDERER = 0x1F01; glGetString returns the driver's name, e.g. "llvmpipe (…)".
        name = funcs.glGetString(0x1F01)
    except Exception:
        return "unknown renderer"
    if not name:
        return "unknown renderer"
    return str(name).split(" (")[0][:60]
