"""The private pyqtgraph names gdviz cannot do without, and nothing else.

Everywhere else gdviz uses pyqtgraph's public API. These two have no public
counterpart in pyqtgraph 0.13.7–0.14:

- the class-wide cache of a compiled shader program on the OpenGL item
  classes (``GLLinePlotItem._shaderProgram`` …): the 3-D view keeps one cache
  per GL context and swaps it in before it paints, because a program belongs
  to one context (see :class:`gdviz.ui.view3d.Surface3DView`);
- ``GLViewWidget``'s model-view matrix stack, onto which an item's transform
  is pushed while it is drawn: the 3-D view draws its still items and its
  moving items in two passes, and ``drawItemTree`` can only draw all of them.

``tests/test_pg_compat.py`` checks each against the installed pyqtgraph, so a
release that renames or drops one fails there, not inside a paint. The tested
range is pinned in ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["model_view_pushed", "set_shader_program", "shader_program"]


def shader_program(cls: type) -> Any:
    """The compiled program pyqtgraph caches on the GL item class ``cls`` (None: none yet)."""
    return cls.__dict__.get("_shaderProgram")


def set_shader_program(cls: type, program: Any) -> None:
    """Make ``program`` (None: none, compile on next use) the one ``cls`` draws with."""
    cls._shaderProgram = program  # type: ignore[attr-defined]


@contextmanager
def model_view_pushed(view: Any, matrix: Any) -> Iterator[None]:
    """Draw with ``matrix`` as ``view``'s current model-view matrix inside the block.

    ``view`` is a ``pyqtgraph.opengl.GLViewWidget``; ``matrix`` a ``QMatrix4x4``
    (usually ``view.currentModelView() * item.transform()``), as pyqtgraph's
    own ``drawItemTree`` pushes it for each item.
    """
    stack = view._modelViewStack
    stack.append(matrix)
    try:
        yield
    finally:
        stack.pop()
