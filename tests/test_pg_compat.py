"""The private pyqtgraph names wrapped in gdviz.ui.pg_compat still do what gdviz needs.

A pyqtgraph release that renames or drops one of them fails here, with the
name in the message, instead of inside a paint of the 3-D view.
"""

import pytest
from PySide6.QtGui import QMatrix4x4

from gdviz.ui import pg_compat

gl = pytest.importorskip("pyqtgraph.opengl")

#: The GL item classes whose shader program the 3-D view swaps per GL context.
GL_CLASSES = ("GLLinePlotItem", "GLScatterPlotItem", "GLImageItem", "GLVolumeItem")


@pytest.mark.parametrize("name", GL_CLASSES)
def test_gl_items_draw_with_the_shader_program_pg_compat_sets(name):
    cls = getattr(gl, name)
    before = pg_compat.shader_program(cls)
    program = object()
    try:
        pg_compat.set_shader_program(cls, program)
        assert pg_compat.shader_program(cls) is program
        # pyqtgraph hands out the cached program (with no cache it would try
        # to compile one, which needs a GL context).
        assert cls.getShaderProgram() is program, f"{name} no longer caches its program there"
    finally:
        pg_compat.set_shader_program(cls, before)
    assert pg_compat.shader_program(cls) is before


def test_a_pushed_matrix_is_the_current_model_view_while_drawing(qtbot):
    view = gl.GLViewWidget()  # never shown: no GL context is needed for the matrices
    qtbot.addWidget(view)
    view.setModelview()
    camera = QMatrix4x4(view.currentModelView())
    moved = QMatrix4x4()
    moved.translate(1.0, 2.0, 3.0)
    with pg_compat.model_view_pushed(view, camera * moved):
        assert view.currentModelView() == camera * moved
    assert view.currentModelView() == camera  # popped again
    with pytest.raises(RuntimeError), pg_compat.model_view_pushed(view, moved):
        raise RuntimeError("a failing draw")
    assert view.currentModelView() == camera  # popped after an error too
