"""File → Export animation… in the window exports what the window shows."""

from __future__ import annotations

import numpy as np
from _export_support import decode

from gdviz.ui.main_window import MainWindow

WAIT = 60_000  # ms; only catches hangs


def ready(w: MainWindow) -> bool:
    return w.trajectory is not None and w.complete and not w.computer.busy


def test_export_action_exports_the_window_scene(qtbot, tmp_path):
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: ready(w), timeout=WAIT)

    w.export_action.trigger()
    dialogs = [c for c in w.children() if type(c).__name__ == "ExportDialog"]
    assert len(dialogs) == 1
    d = dialogs[0]
    assert d.isVisible()
    # The dialog draws the window's own runs over the window's current view.
    assert d.inputs.trajectory is w.trajectory
    assert d.inputs.domain == w.scene.view_range()
    assert list(d.inputs.labels) == [f"{i + 1}. {r.label()}" for i, r in enumerate(w.session.runs)]

    d.size_preset.setCurrentIndex(d.size_preset.findData(None))  # custom size
    d.width.setValue(320)
    d.height.setValue(240)
    d.last.setValue(20)
    d.every.setValue(2)
    d.out.setText(str(tmp_path / "race.mp4"))
    with qtbot.waitSignal(d.exported, timeout=WAIT) as blocker:
        d.start_export()
    assert blocker.args[0] == tmp_path / "race.mp4"
    frames = decode(tmp_path / "race.mp4")
    assert frames.shape == (11, 240, 320, 3)  # steps 0, 2, …, 20
    assert not np.array_equal(frames[0], frames[-1])  # the runs moved
    assert "Saved the animation" in w.message.text()


def test_export_before_anything_is_computed_says_so(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.trajectory is None  # never shown: nothing is compiled or computed yet
    assert w.export_animation() is None
    assert "Nothing to export yet" in w.message.text()
