"""Learning-rate schedules: the learning rate used for the update from step t to t+1.

Formulas follow the closed forms of ``torch.optim.lr_scheduler`` where one
exists (η₀ is the optimizer's ``lr``, t = 0, 1, 2, … counts updates):

=================  ==========================================  ==========================
kind               lr(t)                                       torch
=================  ==========================================  ==========================
``constant``       η₀                                          ``ConstantLR`` (factor 1)
``step``           η₀ · γ^⌊t / step_size⌋                      ``StepLR``
``exponential``    η₀ · γ^t                                    ``ExponentialLR``
``inverse_time``   η₀ / (1 + k·t)                              (``LambdaLR``)
``cosine``         η_min + (η₀ − η_min)(1 + cos(π t / T_max))/2 ``CosineAnnealingLR``
=================  ==========================================  ==========================

The cosine closed form is periodic, as torch's is: after ``t_max`` steps the
rate climbs again (annealing without restarts).

Linear warm-up combines with every kind: with ``warmup`` = W > 0 steps and
``warmup_start`` = s, the rate is multiplied by ``s + (1 − s)·min(t, W)/W``,
torch's ``LinearLR`` closed form (which rises from s·lr to lr over W steps);
chaining ``LinearLR`` with another multiplicative scheduler multiplies their
factors the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

from gdviz.core.specs import HyperParam, SpecError, resolve_params

__all__ = ["CONSTANT", "SCHEDULES", "WARMUP_PARAMS", "ScheduleSpec", "parse_schedule"]

#: Each schedule kind's own settings.
SCHEDULES: dict[str, tuple[HyperParam, ...]] = {
    "constant": (),
    "step": (
        HyperParam("step_size", 100, 1, math.inf, "int", False, "steps per decay", ui_high=10_000),
        HyperParam("gamma", 0.1, 0.0, math.inf, "float", False, "decay factor", True, ui_high=1),
    ),
    "exponential": (
        HyperParam("gamma", 0.99, 0.0, math.inf, "float", False, "decay per step", True, ui_high=1),
    ),
    "inverse_time": (
        HyperParam("k", 0.01, 0.0, math.inf, "float", True, "decay rate", ui_low=1e-5, ui_high=10),
    ),
    "cosine": (
        HyperParam("t_max", 1000, 1, math.inf, "int", False, "half period", ui_high=100_000),
        HyperParam("eta_min", 0.0, 0.0, math.inf, "float", False, "minimum lr", ui_high=1),
    ),
}

#: Settings every kind accepts: linear warm-up.
WARMUP_PARAMS: tuple[HyperParam, ...] = (
    HyperParam("warmup", 0, 0, math.inf, "int", False, "warm-up steps", ui_high=10_000),
    # torch's LinearLR: start_factor in (0, 1], default 1/3.
    HyperParam("warmup_start", 1 / 3, 0.0, 1.0, "float", False, "warm-up start factor", True),
)

# Alternative keys accepted in spec text.
_ALIASES = {"size": "step_size", "decay": "k", "warmup_steps": "warmup"}


@dataclass(frozen=True)
class ScheduleSpec:
    """A learning-rate schedule: its kind, its settings and an optional warm-up.

    Build one with :meth:`from_params` (checks the settings) or
    :func:`parse_schedule` (from text). ``params`` holds the kind's own
    settings, every one filled in.
    """

    kind: str = "constant"
    params: Mapping[str, float] = field(default_factory=dict)
    warmup_steps: int = 0
    warmup_start: float = 1 / 3

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise SpecError(f"unknown schedule {self.kind!r} (choose from {', '.join(SCHEDULES)})")
        full = resolve_params(self.kind, SCHEDULES[self.kind], dict(self.params), _ALIASES)
        object.__setattr__(self, "params", MappingProxyType(full))
        w = WARMUP_PARAMS[0].check(self.warmup_steps, f"{self.kind}: ")
        s = WARMUP_PARAMS[1].check(self.warmup_start, f"{self.kind}: ")
        object.__setattr__(self, "warmup_steps", w)
        object.__setattr__(self, "warmup_start", s)

    def __hash__(self) -> int:
        return hash(self.key())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScheduleSpec) and self.key() == other.key()

    def key(self) -> tuple:
        """A hashable identity (kind, sorted settings, warm-up)."""
        return (self.kind, tuple(sorted(self.params.items())), self.warmup_steps, self.warmup_start)

    @classmethod
    def from_params(cls, kind: str, params: Mapping[str, object]) -> ScheduleSpec:
        """Build from a flat mapping that may include ``warmup``/``warmup_start``."""
        given = {_ALIASES.get(k, k): v for k, v in params.items()}
        hps = SCHEDULES.get(kind)
        if hps is None:
            raise SpecError(f"unknown schedule {kind!r} (choose from {', '.join(SCHEDULES)})")
        full = resolve_params(kind, (*hps, *WARMUP_PARAMS), given)
        warm = int(full.pop("warmup"))
        start = float(full.pop("warmup_start"))
        return cls(kind, full, warm, start)

    def to_text(self) -> str:
        """Spec text that :func:`parse_schedule` reads back to an equal schedule."""
        parts = [
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items()
        ]
        if self.warmup_steps:
            parts.append(f"warmup={self.warmup_steps}")
            if self.warmup_start != 1 / 3:
                parts.append(f"warmup_start={self.warmup_start!r}")
        return f"{self.kind}:{','.join(parts)}" if parts else self.kind

    def factor_free(self) -> bool:
        """True when lr(t) = lr for every t (constant, no warm-up)."""
        return self.kind == "constant" and self.warmup_steps == 0

    def lr_at(self, base_lr: ArrayLike, t: ArrayLike) -> np.ndarray | float:
        """The learning rate for the update from step ``t`` to ``t + 1``.

        ``base_lr`` and ``t`` broadcast against each other (e.g. base rates of
        shape ``(1, K)`` with steps of shape ``(n, 1)``); a float comes back
        for scalar arguments.
        """
        scalar = np.ndim(base_lr) == 0 and np.ndim(t) == 0
        base = np.asarray(base_lr, dtype=np.float64)
        tt = np.asarray(t, dtype=np.float64)
        p = self.params
        kind = self.kind
        if kind == "constant":
            lr = base * np.ones_like(tt)
        elif kind == "step":
            lr = base * float(p["gamma"]) ** np.floor(tt / p["step_size"])
        elif kind == "exponential":
            lr = base * float(p["gamma"]) ** tt
        elif kind == "inverse_time":
            lr = base / (1.0 + p["k"] * tt)
        else:  # cosine
            eta_min = float(p["eta_min"])
            lr = eta_min + (base - eta_min) * (1.0 + np.cos(math.pi * tt / p["t_max"])) / 2.0
        if self.warmup_steps > 0:
            w, s = self.warmup_steps, self.warmup_start
            lr = lr * (s + (1.0 - s) * np.minimum(tt, w) / w)
        return float(lr) if scalar else lr


#: The constant schedule.
CONSTANT = ScheduleSpec()


def parse_schedule(text: str) -> ScheduleSpec:
    """Parse schedule spec text, e.g. ``"cosine:t_max=500,warmup=20"``.

    See :func:`gdviz.core.specs.parse_schedule_spec`; raises
    :class:`~gdviz.core.specs.SpecError` on bad text.
    """
    from gdviz.core.specs import parse_schedule_spec

    return parse_schedule_spec(text)
