"""The transport bar: play/pause, step, reset, the timeline and the speed."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from gdviz.ui.player import MAX_SPEED, MIN_SPEED, Player

__all__ = ["TransportBar"]

_SPEED_STEPS = 300


class TransportBar(QWidget):
    """Buttons and sliders bound to a :class:`Player` (the player owns the state).

    Signals
    -------
    speedChanged(float)
        The person moved the speed slider (steps per second).
    """

    speedChanged = Signal(float)

    def __init__(self, player: Player, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.reset_button = QPushButton("Reset")
        self.back_button = QPushButton("◀ step")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.forward_button = QPushButton("step ▶")
        for b, tip in (
            (self.reset_button, "Back to step 0 (R)"),
            (self.back_button, "One step back (←)"),
            (self.play_button, "Play / pause (Space)"),
            (self.forward_button, "One step forward (→)"),
        ):
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must not "click" a focused button
        self.play_button.setMinimumWidth(90)
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setAccessibleName("timeline")
        self.timeline.setRange(0, 0)
        self.timeline.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.step_label = QLabel()
        self.step_label.setMinimumWidth(140)
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setAccessibleName("speed")
        self.speed.setRange(0, _SPEED_STEPS)
        self.speed.setMaximumWidth(160)
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(90)
        # Its own gap: presentation mode hides the caption and slider before
        # it, and "step N / M" then ran into "200 steps/s".
        self.speed_label.setStyleSheet("margin-left: 0.6em;")

        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        for w in (self.reset_button, self.back_button, self.play_button, self.forward_button):
            lay.addWidget(w)
        lay.addWidget(self.timeline, 1)
        lay.addWidget(self.step_label)
        speed_caption = QLabel("speed")
        self.speed_caption = speed_caption
        # A gap that grows with the text, so "step N / M" never runs into it.
        speed_caption.setStyleSheet("margin-left: 1em;")
        lay.addWidget(speed_caption)
        lay.addWidget(self.speed)
        lay.addWidget(self.speed_label)

        self.play_button.clicked.connect(lambda _c: player.toggle())
        self.reset_button.clicked.connect(player.reset)
        self.back_button.clicked.connect(player.step_back)
        self.forward_button.clicked.connect(player.step_forward)
        self.timeline.valueChanged.connect(self._scrubbed)
        self.speed.valueChanged.connect(self._speed_moved)
        player.stepChanged.connect(self.show_step)
        player.playingChanged.connect(self._playing)
        self.set_speed(player.speed)
        self.show_step(player.step)

    @staticmethod
    def _speed_at(pos: int) -> float:
        lo, hi = math.log10(MIN_SPEED), math.log10(MAX_SPEED)
        return float(f"{10 ** (lo + (hi - lo) * pos / _SPEED_STEPS):.2g}")

    def set_speed(self, steps_per_second: float) -> None:
        """Show a speed (model → widget) and apply it to the player."""
        self.player.set_speed(steps_per_second)
        lo, hi = math.log10(MIN_SPEED), math.log10(MAX_SPEED)
        pos = round((math.log10(self.player.speed) - lo) / (hi - lo) * _SPEED_STEPS)
        self.speed.blockSignals(True)
        self.speed.setValue(int(pos))
        self.speed.blockSignals(False)
        self.speed_label.setText(f"{self.player.speed:g} steps/s")

    def _speed_moved(self, pos: int) -> None:
        v = self._speed_at(pos)
        self.player.set_speed(v)
        self.speed_label.setText(f"{self.player.speed:g} steps/s")
        self.speedChanged.emit(self.player.speed)

    def set_limit(self, last_step: int, complete: bool) -> None:
        self.player.set_limit(last_step, complete)
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, self.player.limit)
        self.timeline.setValue(self.player.step)
        self.timeline.blockSignals(False)
        self.show_step(self.player.step)

    def show_step(self, i: int) -> None:
        self.timeline.blockSignals(True)
        self.timeline.setValue(i)
        self.timeline.blockSignals(False)
        self.step_label.setText(f"step {i} / {self.player.limit}")

    def _scrubbed(self, i: int) -> None:
        self.player.pause()
        self.player.seek(i)

    def set_slim(self, slim: bool, last_step: int = 0) -> None:
        """The bar for a projector (``slim``), or back to the desk's.

        Slim, the speed slider and its caption hide (+ and − set the speed,
        which stays on screen as text), the step buttons show arrows alone
        (their tooltips keep the words), and the step and speed read-outs keep
        room for their longest text at the big font, so a narrow screen
        squeezes the timeline, never the numbers. At 2× on a 1024-pixel-wide
        projector the full bar does not fit.
        """
        if slim == getattr(self, "_slim", False):
            return
        self._slim = slim
        if slim:
            self._desk = {
                "shown": [(x, x.isVisible()) for x in (self.speed, self.speed_caption)],
                "texts": {b: b.text() for b in (self.back_button, self.forward_button)},
                "widths": {
                    w: w.minimumWidth() for w in (self.timeline, self.step_label, self.speed_label)
                },
            }
            self.speed.hide()
            self.speed_caption.hide()
            self.back_button.setText("◀")
            self.forward_button.setText("▶")
            self.timeline.setMinimumWidth(120)
            last = max(int(last_step), 999)
            for label, longest in (
                (self.step_label, f"step {last} / {last}"),
                (self.speed_label, "1000 steps/s"),
            ):
                label.setMinimumWidth(label.fontMetrics().horizontalAdvance(longest) + 8)
            return
        desk = self._desk
        for x, shown in desk["shown"]:
            x.setVisible(shown)
        for b, text in desk["texts"].items():
            b.setText(text)
        for w, width in desk["widths"].items():
            w.setMinimumWidth(width)

    def _playing(self, playing: bool) -> None:
        self.play_button.setChecked(playing)
        self.play_button.setText("Pause" if playing else "Play")
