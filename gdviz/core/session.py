"""One :class:`Session`: everything a person set in the window, as plain data.

The window edits a session and draws it; presets and (later) session files are
read into one. Nothing here imports Qt, so a session can be built, checked and
run from a script. Text fields (the function) stay text: they go through the
safe expression parser when the session is used, never anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gdviz.core.colors import assign_colors

__all__ = [
    "HEIGHT_MODES_3D",
    "DataSpec",
    "RunSpec",
    "Session",
    "ViewSettings",
    "run_config",
    "run_configs",
    "run_labels",
]


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
        ``"#rrggbb"``, or None for a run that has not been given one yet: a
        :class:`Session` gives it the first free colour of
        :data:`gdviz.core.colors.RUN_PALETTE` and it keeps it from then on.
        The colour is the same in every theme.
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


def _value(v: object) -> str:
    return f"{v:g}" if isinstance(v, float | int) and not isinstance(v, bool) else str(v)


def run_labels(
    runs: Sequence[RunSpec],
    batch_sizes: Sequence[int | None] | None = None,
) -> list[str]:
    """Numbered labels, ``"1. gd  lr=0.1"``, that tell every run apart.

    :meth:`RunSpec.label` names the optimizer and learning rate only. Runs
    that share it also get what differs between them: other hyper-parameters,
    the schedule, the start, the batch size (``batch_sizes`` gives each run's,
    ``None`` for all samples), e.g. ``"gd  lr=0.1 · inverse_time:k=0.05"``
    beside ``"gd  lr=0.1 · constant"``.
    """
    base = [r.label() for r in runs]
    sizes = list(batch_sizes) if batch_sizes is not None else [None] * len(runs)
    sizes += [sizes[-1] if sizes else None] * (len(runs) - len(sizes))
    out = []
    for i, run in enumerate(runs):
        twins = [j for j, b in enumerate(base) if b == base[i]]
        extra: list[str] = []
        if len(twins) > 1:
            names = sorted({k for j in twins for k in runs[j].params if k != "lr"})
            for k in names:
                values = {_value(runs[j].params.get(k, "default")) for j in twins}
                if len(values) > 1:
                    extra.append(f"{k}={_value(run.params.get(k, 'default'))}")
            if len({runs[j].schedule for j in twins}) > 1:
                extra.append(run.schedule)
            if len({runs[j].start for j in twins}) > 1:
                start = run.start
                extra.append(
                    "from the start" if start is None else f"from ({', '.join(map(_value, start))})"
                )
            if len({sizes[j] for j in twins}) > 1:
                b = sizes[i]
                extra.append("full batch" if b is None else f"batch {b}")
        out.append(" · ".join([f"{i + 1}. {base[i]}", *extra]))
    return out


#: How the 3-D view turns loss values into heights: clamped at a high
#: quantile (so one huge corner does not flatten the rest), linear, or log.
HEIGHT_MODES_3D: tuple[str, ...] = ("clamp", "linear", "log")


@dataclass(frozen=True)
class ViewSettings:
    """How the surface and the loss are drawn (not what is computed).

    ``height_3d`` is one of :data:`HEIGHT_MODES_3D`: the 3-D view's height
    scale, saved with the session and used by exports of the 3-D view.

    Raises
    ------
    ValueError
        For an unknown ``height_3d``.
    """

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
    height_3d: str = "clamp"
    #: One unit as long on x as on y in the 2-D view (a round bowl drawn
    #: round); the view window then sets the plot's shape.
    equal_axes: bool = True

    def __post_init__(self) -> None:
        if self.height_3d not in HEIGHT_MODES_3D:
            raise ValueError(
                f"height_3d must be one of {', '.join(HEIGHT_MODES_3D)}, got {self.height_3d!r}"
            )


@dataclass(frozen=True)
class DataSpec:
    """Dataset mode: the data a per-sample loss is averaged over, and how runs sample it.

    A session with a ``DataSpec`` is in dataset mode: its ``function`` is the
    loss of one sample (``"(w*x + b - y)^2"``), its domain and start are in the
    parameters, and each run takes its gradient on mini-batches of the data.

    Attributes
    ----------
    source
        ``"builtin:NAME"`` (``line``, ``outliers``, ``classes``) or the path of
        a CSV file. Session files store a path inside the session's folder
        relative to it; an opened session holds the absolute path.
    n
        Number of samples a built-in dataset makes (None: its default). Not
        used for CSV files.
    seed
        Seed of a built-in dataset's generator. Not used for CSV files.
    columns
        The columns chosen, as ``"x,y"`` or ``"x=Header,y=Header"`` (None: all).
    batch_sizes
        Samples per step of each run, in run order (None: all samples, i.e.
        batch gradient descent; 1: stochastic). The last one holds for runs
        beyond the list.
    shuffle_seed
        Seed of the per-epoch shuffles that cut the data into mini-batches.
    penalty
        ``"none"``, ``"l2"`` (λ‖θ‖²) or ``"l1"`` (λ‖θ‖₁).
    strength
        The penalty's λ (kept when the penalty is off, as the window keeps it).
    parameters
        The names gradient descent moves, in axis order (e.g. ``("w", "b")``).
    """

    source: str = "builtin:line"
    n: int | None = None
    seed: int = 0
    columns: str | None = None
    batch_sizes: tuple[int | None, ...] = (None,)
    shuffle_seed: int = 0
    penalty: str = "none"
    strength: float = 0.0
    parameters: tuple[str, ...] = ("w", "b")

    @property
    def builtin(self) -> str | None:
        """The built-in dataset's name, or None for a CSV file."""
        return self.source[len("builtin:") :] if self.source.startswith("builtin:") else None

    def batch_size(self, run: int) -> int | None:
        """Batch size of run ``run`` (the last one given holds beyond the list)."""
        sizes = self.batch_sizes or (None,)
        return sizes[min(run, len(sizes) - 1)]


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
        The optimizer runs, in the order they are listed. Each holds its
        colour: one made without takes the first free palette colour.
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
    data
        Dataset mode's settings, or None for a plain function (see :class:`DataSpec`).
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
    data: DataSpec | None = None

    def __post_init__(self) -> None:
        # A run's colour is chosen once, here: a run without one (from a
        # preset, an old session file, a map click) takes the first palette
        # colour no other run has, and every later session made from this one
        # carries it, so removing a run never shifts the others' colours.
        colors = assign_colors([r.color for r in self.runs])
        if any(r.color != c for r, c in zip(self.runs, colors, strict=True)):
            runs = tuple(replace(r, color=c) for r, c in zip(self.runs, colors, strict=True))
            object.__setattr__(self, "runs", runs)

    def run_colors(self) -> list[str]:
        """Each run's ``#RRGGBB`` colour, the same in every theme and every export."""
        return assign_colors([r.color for r in self.runs])

    def run_start(self, index: int) -> tuple[float, ...]:
        """The start point of run ``index`` (its own, else the session's)."""
        own = self.runs[index].start
        return tuple(own) if own is not None else tuple(self.start)


def run_config(session: Session, index: int, *, check: bool = True) -> Any:
    """Run ``index`` of ``session`` as an engine :class:`~gdviz.core.engine.RunConfig`.

    The one place a :class:`RunSpec` becomes what the engine runs: the window,
    lessons, maps and the command line all go through it. With ``check``, the
    hyper-parameters are validated and completed with the optimizer's
    defaults; without it they are passed as set (the engine fills defaults).

    Raises
    ------
    ValueError
        ``"run 2: …"`` for an unknown optimizer, a bad hyper-parameter or a
        schedule that does not parse (:class:`~gdviz.core.specs.SpecError` is
        a ValueError).
    """
    from gdviz.core.engine import RunConfig
    from gdviz.core.optimizers import OPTIMIZERS
    from gdviz.core.schedules import parse_schedule

    run = session.runs[index]
    try:
        spec = OPTIMIZERS.get(run.optimizer)
        if spec is None:
            raise ValueError(f"unknown optimizer {run.optimizer!r}")
        params = spec.resolve(dict(run.params)) if check else dict(run.params)
        schedule = parse_schedule(run.schedule or "constant")
    except ValueError as exc:
        raise ValueError(f"run {index + 1}: {exc}") from exc
    return RunConfig(run.optimizer, params, session.run_start(index), schedule)


def run_configs(session: Session, *, check: bool = True) -> list[Any]:
    """Every run of ``session`` as engine run configurations (see :func:`run_config`)."""
    return [run_config(session, i, check=check) for i in range(len(session.runs))]
