"""Two-way bindings between the :class:`~gdviz.ui.session_model.SessionModel` and its views.

Each ``bind_*`` function connects one panel or view to the model: model
signals → the widget's "show" methods (which emit nothing, so a binding cannot
loop), and the widget's edit signals → the model's methods. The main window
only builds the pieces and calls these; no view calls another.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QTimer

from gdviz.core.session_io import clamp_domain
from gdviz.ui.session_model import SessionModel

__all__ = [
    "STATS_INTERVAL",
    "ZOOM_SETTLE_MS",
    "bind_editor",
    "bind_maps",
    "bind_presets",
    "bind_runs_panel",
    "bind_scene",
    "bind_stats",
    "bind_transport",
    "bind_view3d",
    "bind_view_panel",
]

#: While playing, the numbers table is refreshed at most this often (seconds);
#: when paused or stepping it always shows the exact step.
STATS_INTERVAL = 0.1
#: After mouse zoom or pan, the surface is sampled again once the view has been
#: still this long (ms).
ZOOM_SETTLE_MS = 200


def bind_editor(model: SessionModel, editor: Any) -> None:
    """The function editor (:class:`~gdviz.ui.function_editor.FunctionEditor`)."""
    editor.textSettled.connect(model.set_function)
    model.functionTextChanged.connect(editor.show_text)
    model.compiling.connect(editor.show_busy)
    model.functionChanged.connect(
        lambda loss, pretty, prompt: editor.show_compiled(loss.text, pretty, prompt)
    )
    model.functionFailed.connect(editor.show_error)

    def note(text: str, shown: bool) -> None:
        editor.note.setText(text)
        editor.set_note_visible(shown)

    model.noteChanged.connect(note)


def bind_presets(model: SessionModel, box: Any) -> None:
    """The preset combo box: its first item (data None) is "Presets…"."""
    box.activated.connect(lambda i: box.itemData(i) and model.load_preset(box.itemData(i)))

    def show(name: Any) -> None:
        idx = box.findData(name) if name else 0
        box.setCurrentIndex(max(idx, 0))

    model.presetChanged.connect(show)


def bind_runs_panel(model: SessionModel, panel: Any) -> None:
    """The runs list and the selected run's settings."""
    panel.runsChanged.connect(model.set_runs)
    model.runsChanged.connect(panel.sync_runs)
    model.sessionLoaded.connect(lambda s: panel.set_runs(s.runs))
    model.themeChanged.connect(panel.set_theme)


def bind_view_panel(model: SessionModel, panel: Any) -> None:
    """Ranges, start, steps and drawing toggles."""

    def fill(session: Any) -> None:
        names = ("x", "y")[: len(session.domain)]
        panel.set_values(session.domain, session.start, session.steps, session.view, names)

    def domain(dom: tuple) -> None:
        try:
            model.set_domain(dom)
        except ValueError as exc:
            panel.show_error(str(exc))

    def function(loss: Any, _pretty: str, _prompt: str) -> None:
        s = model.session
        panel.set_values(s.domain, s.start, s.steps, s.view, tuple(loss.variables))

    model.sessionLoaded.connect(fill)
    model.functionChanged.connect(function)
    model.domainChanged.connect(lambda dom, _home: panel.set_domain(dom))
    model.startChanged.connect(panel.set_start)
    model.viewChanged.connect(panel.set_view)
    model.stepsChanged.connect(panel.show_steps)
    panel.domainChanged.connect(domain)
    panel.startChanged.connect(model.set_start)
    panel.stepsChanged.connect(model.set_steps)
    panel.viewChanged.connect(model.set_view)
    panel.resetViewRequested.connect(model.reset_domain)


def bind_scene(model: SessionModel, scene: Any) -> QTimer:
    """The 2-D scene: problem, start, runs, step, look.

    Returns the timer that samples the surface again after a zoom or pan.
    """

    def function(loss: Any, _pretty: str, _prompt: str) -> None:
        s = model.session
        scene.set_problem(loss, s.domain)
        scene.set_start(s.start)

    def domain(dom: tuple, home: bool) -> None:
        if model.loss is None:
            return
        scene.set_problem(model.loss, dom, reset_view=home)
        scene.set_start(model.session.start)
        scene.set_step(model.step)

    def runs(_traj: Any = None, _complete: bool = True) -> None:
        styles = model.run_styles()
        if styles is not None:
            scene.set_runs(model.trajectory, *styles)

    zoom = QTimer(scene)
    zoom.setSingleShot(True)
    zoom.setInterval(ZOOM_SETTLE_MS)

    def zoomed() -> None:
        if model.loss is None:
            return
        try:
            # Zoomed out past what a session file holds: the surface stops at ±1e6.
            model.set_domain(clamp_domain(scene.view_range()), home=False)
        except ValueError:
            return  # a window that cannot be drawn: keep the last sample

    zoom.timeout.connect(zoomed)
    scene.surface.getViewBox().sigRangeChangedManually.connect(lambda *_: zoom.start())
    model.functionChanged.connect(function)
    model.domainChanged.connect(domain)
    model.startChanged.connect(scene.set_start)
    model.trajectoryChanged.connect(runs)
    model.viewChanged.connect(scene.set_view)
    model.sessionLoaded.connect(lambda s: scene.set_view(s.view))
    model.stepChanged.connect(scene.set_step)
    model.themeChanged.connect(scene.set_theme)
    scene.startPicked.connect(model.set_start)
    return zoom


def bind_view3d(model: SessionModel, view3d: Any) -> None:
    """The 3-D view, a sibling of the 2-D scene: the same problem, runs, step and look.

    A hidden 3-D tab defers its work until it is shown.
    """

    def function(loss: Any, _pretty: str, _prompt: str) -> None:
        view3d.set_problem(loss, model.session.domain)
        view3d.set_start(model.session.start)

    def domain(dom: tuple, _home: bool) -> None:
        if model.loss is not None:
            view3d.set_problem(model.loss, dom)

    def runs(*_: Any) -> None:
        styles = model.run_styles()
        if styles is not None:
            view3d.set_runs(model.trajectory, *styles)

    def height(mode: str) -> None:
        # Chosen in the 3-D view's own menu: the session (saved, exported) keeps it.
        model.set_view(replace(model.session.view, height_3d=mode))

    model.functionChanged.connect(function)
    model.domainChanged.connect(domain)
    model.startChanged.connect(view3d.set_start)
    model.trajectoryChanged.connect(runs)
    model.viewChanged.connect(view3d.set_view)
    model.sessionLoaded.connect(lambda s: view3d.set_view(s.view))
    model.stepChanged.connect(view3d.set_step)
    model.themeChanged.connect(view3d.set_theme)
    view3d.heightModeChanged.connect(height)


def bind_stats(model: SessionModel, stats: Any, scene: Any, loss_at: Any = None) -> QObject:
    """The numbers table (and, while it is hidden, the run fates under the legend's names).

    ``loss_at`` gives the loss over all the data at a step in dataset mode.
    Returns the object that holds the throttling state.
    """

    class _Throttle(QObject):
        last = 0.0

    throttle = _Throttle(stats)

    def runs(traj: Any, _complete: bool = True) -> None:
        styles = model.run_styles()
        if styles is None:
            return
        colors, labels, _visible = styles
        # In dataset mode the table shows the loss over all the data, not
        # over the mini-batch each step happened to draw.
        stats.set_loss_source(loss_at if model.dataset_enabled else None)
        stats.set_runs(traj, colors, labels)
        step(model.step, force=True)

    def step(i: int, force: bool = False) -> None:
        if stats.isHidden():
            # Presentation mode hides the numbers: the legend says, under each
            # name, which run is running, diverged, converged or stopped (the
            # legend is laid out again only when one of them changes).
            scene.set_run_notes(stats.badges_at(i))
        else:
            scene.set_run_notes([])
        now = time.perf_counter()
        playing = model.player.playing
        if force or not playing or now - throttle.last >= STATS_INTERVAL:
            throttle.last = now
            stats.show_step(i)

    model.trajectoryChanged.connect(runs)
    model.stepChanged.connect(step)
    model.player.playingChanged.connect(lambda playing: playing or step(model.step, True))
    model.themeChanged.connect(lambda t: stats.set_font_size(t.font_pt))
    return throttle


def bind_transport(model: SessionModel, transport: Any) -> None:
    """The play buttons, timeline and speed (the player itself is the model's)."""
    transport.speedChanged.connect(model.set_speed)
    model.speedChanged.connect(transport.set_speed)
    model.trajectoryChanged.connect(
        lambda traj, complete: transport.set_limit(int(traj.positions.shape[0] - 1), complete)
    )


def bind_maps(model: SessionModel, maps: Any) -> None:
    """The learning-rate and basin maps: the problem they map, and runs they add."""

    def problem(*_: Any) -> None:
        if model.loss is not None:
            maps.set_problem(model.loss, model.session.start, model.session.domain)

    model.functionChanged.connect(problem)
    model.startChanged.connect(problem)
    model.domainChanged.connect(problem)
    model.themeChanged.connect(maps.set_theme)
    maps.addRun.connect(model.add_run_config)
    maps.setStart.connect(model.set_start)
