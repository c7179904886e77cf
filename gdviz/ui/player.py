"""The player: moves a step index through a computed trajectory.

It owns no numbers. A timer (about 60 ticks per second) advances the index by
``speed × elapsed`` steps, carrying the fraction to the next tick; the views then
draw every step up to the index, so a faster speed only makes the trail grow by
more than one step per frame: it never skips a step of the drawn path.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

__all__ = ["MAX_SPEED", "MIN_SPEED", "Player"]

MIN_SPEED = 1.0
MAX_SPEED = 1000.0
#: Timer period in milliseconds (a 60 Hz display refreshes every 16.7 ms).
TICK_MS = 16


class Player(QObject):
    """Play/pause/step/seek over steps ``0 … limit``.

    Signals
    -------
    stepChanged(int)
        The index to draw.
    playingChanged(bool)
        Playback started or stopped.
    """

    stepChanged = Signal(int)
    playingChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._step = 0
        self._limit = 0
        self._complete = True
        self._speed = 30.0
        self._carry = 0.0
        self._last = 0.0

    # -------------------------------------------------------------- state
    @property
    def step(self) -> int:
        return self._step

    @property
    def limit(self) -> int:
        """The last computed step (the index never goes past it)."""
        return self._limit

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def speed(self) -> float:
        """Steps per second, 1 … 1000."""
        return self._speed

    def set_speed(self, steps_per_second: float) -> None:
        self._speed = float(min(MAX_SPEED, max(MIN_SPEED, steps_per_second)))

    def set_limit(self, last_step: int, complete: bool = True) -> None:
        """Tell the player how many steps are computed (``complete``: no more will come)."""
        self._limit = max(0, int(last_step))
        self._complete = bool(complete)
        if self._step > self._limit:
            self.seek(self._limit)

    # ------------------------------------------------------------ actions
    def play(self) -> None:
        if self.playing:
            return
        if self._step >= self._limit and self._complete:
            self.seek(0)  # at the end: play again from the start
        self._carry = 0.0
        self._last = time.perf_counter()
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self._timer.stop()
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def step_forward(self) -> None:
        self.pause()
        self.seek(self._step + 1)

    def step_back(self) -> None:
        self.pause()
        self.seek(self._step - 1)

    def reset(self) -> None:
        self.pause()
        self.seek(0)

    def seek(self, step: int) -> None:
        """Show ``step`` (clamped to 0 … limit)."""
        step = int(min(max(step, 0), self._limit))
        if step != self._step:
            self._step = step
            self.stepChanged.emit(step)

    def advance(self, seconds: float) -> None:
        """Move forward by ``speed × seconds`` steps (the timer's tick; public for benchmarks)."""
        self._carry += self._speed * max(0.0, seconds)
        n = int(self._carry)
        if n <= 0:
            return
        self._carry -= n
        target = min(self._step + n, self._limit)
        if target != self._step:
            self._step = target
            self.stepChanged.emit(target)
        if self._step >= self._limit:
            self._carry = 0.0
            if self._complete:
                self.pause()

    def _tick(self) -> None:
        now = time.perf_counter()
        # A stalled frame (window dragged, machine busy) must not fast-forward
        # hundreds of steps at once: cap the time one tick may account for.
        dt = min(now - self._last, 0.1)
        self._last = now
        self.advance(dt)
