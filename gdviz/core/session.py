"""One :class:`Session`: everything a person set in the window, as plain data.

The window edits a session and draws it; presets and (later) session files are
read into one. Nothing here imports Qt, so a session can be built, checked and
run from a script. Text fields (the function) stay text: they go through the
safe expression parser when the session is used, never anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

__all__ = ["RunSpec", "Session", "ViewSettings"]


@dataclass(frozen=True)
class RunSpec:
    """One optimizer run as a person set it up.

    Attributes
    ----------
    optimizer
        Registry name (``"gd"``, ``"adam"``, …).
    params
        Hyper-parameters by their torch.optim names (``lr``, ``momentum``, …);
        missing ones take the optimizer's defaults.
    schedule
        Learning-rate schedule in the schedule mini-language (``"constant"``,
        ``"step:size=100,gamma=0.5"``, …).
    start
        This run's own start point, or None to start where the session starts.
    color
        ``"#rrggbb"``, or None to take the next colour of the theme's palette.
    visible
        Whether the run is drawn (it is computed either way).
    """

    optimizer: str = "gd"
    params: Mapping[str, float | bool] = field(default_factory=dict)
    schedule: str = "constant"
    start: tuple[float, ...] | None = None
    color: str | None = None
    visible: bool = True

    def with_param(self, name: str, value: float | bool) -> RunSpec:
        """A copy with one hyper-parameter changed."""
        params = dict(self.params)
        params[name] = value
        return replace(self, params=params)

    def label(self) -> str:
        """Short human label, e.g. ``"adam  lr=0.05"``."""
        lr = self.params.get("lr")
        return f"{self.optimizer}  lr={lr:g}" if isinstance(lr, int | float) else self.optimizer


@dataclass(frozen=True)
class ViewSettings:
    """How the surface and the loss are drawn (not what is computed)."""

    heatmap: bool = True
    contours: bool = True
    n_contours: int = 14
    log_levels: bool = False
    gradient_field: bool = False
    grad_arrows: bool = False
    step_arrows: bool = True
    log_loss: bool = False
    show_grad_norm: bool = False
    show_lr: bool = False


@dataclass(frozen=True)
class Session:
    """Everything a person set: the function, where to look, the runs, how to play.

    Attributes
    ----------
    function
        The loss as typed (e.g. ``"(1-x)^2 + 100(y-x^2)^2"``).
    domain
        The view window, one ``(low, high)`` pair per variable.
    start
        Where runs start unless they have their own start.
    runs
        The optimizer runs, in the order they are listed and coloured.
    steps
        How many steps to compute.
    view
        Drawing settings.
    speed
        Playback speed in steps per second (1 … 1000).
    step
        The step on screen.
    theme
        Theme name (``"dark"`` or ``"light"``).
    preset
        Name of the preset it came from, if any.
    noise
        Standard deviation σ of Gaussian noise added to every gradient
        (0: exact gradients), as :class:`gdviz.core.engine.GradientNoise`.
    noise_seed
        Seed of that noise, so a noisy run replays the same way.
    """

    function: str = "x^2 + 3y^2"
    domain: tuple[tuple[float, float], ...] = ((-3.0, 3.0), (-3.0, 3.0))
    start: tuple[float, ...] = (-2.5, 2.0)
    runs: tuple[RunSpec, ...] = (RunSpec("gd", {"lr": 0.1}),)
    steps: int = 500
    view: ViewSettings = ViewSettings()
    speed: float = 30.0
    step: int = 0
    theme: str = "dark"
    preset: str | None = None
    noise: float = 0.0
    noise_seed: int = 0

    def run_start(self, index: int) -> tuple[float, ...]:
        """The start point of run ``index`` (its own, else the session's)."""
        own = self.runs[index].start
        return tuple(own) if own is not None else tuple(self.start)
