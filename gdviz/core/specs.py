"""Hyper-parameters and the ``name:key=value,...`` spec language.

One small language names an optimizer or a learning-rate schedule with its
settings, on the command line (``gdviz trace --optimizer adam:lr=0.05``), in
session files and in sweeps::

    adam
    adam:lr=0.05,beta1=0.9,beta2=0.999,amsgrad=true
    momentum:lr=0.01,momentum=0.95
    cosine:t_max=500,eta_min=0.001,warmup=20

Values are numbers (``0.05``, ``1e-3``) or ``true``/``false``. Every mistake —
an unknown name or key, a value that is not a number, out of its range or
given twice — raises :class:`SpecError` with one line saying what and where.

This module is the bottom layer: :mod:`gdviz.core.optimizers` and
:mod:`gdviz.core.schedules` describe their settings with :class:`HyperParam`
from here, and the two parse functions at the end look the names up in those
registries.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover - imports for annotations only
    from gdviz.core.engine import RunConfig
    from gdviz.core.schedules import ScheduleSpec

__all__ = [
    "HyperParam",
    "SpecError",
    "format_spec",
    "parse_optimizer_spec",
    "parse_schedule_spec",
    "resolve_params",
    "split_spec",
]


class SpecError(ValueError):
    """A bad optimizer or schedule specification; ``str(err)`` is one clear line."""


@dataclass(frozen=True)
class HyperParam:
    """One setting of an optimizer or schedule.

    Attributes
    ----------
    name
        The key in specs and sessions; torch.optim's name where one exists.
    default
        The value used when the key is not given.
    low, high
        The valid range (``±inf`` for unbounded). ``low_open``/``high_open``
        make an end exclusive, e.g. ``beta1`` lies in [0, 1).
    kind
        ``"float"``, ``"int"`` or ``"bool"``.
    log
        Whether a slider for it should move on a log scale.
    label
        Short human label (``"learning rate"``).
    ui_low, ui_high
        A finite range for a slider; the valid range may be wider.
    """

    name: str
    default: float | bool
    low: float = -math.inf
    high: float = math.inf
    kind: Literal["float", "int", "bool"] = "float"
    log: bool = False
    label: str = ""
    low_open: bool = False
    high_open: bool = False
    ui_low: float | None = None
    ui_high: float | None = None

    def range_text(self) -> str:
        """The valid range as text, e.g. ``"[0, 1)"`` or ``">= 0"``."""
        if self.kind == "bool":
            return "true or false"
        lo, hi = _num(self.low), _num(self.high)
        if math.isinf(self.low) and math.isinf(self.high):
            return "any finite number"
        if math.isinf(self.high):
            return f"{'>' if self.low_open else '>='} {lo}"
        if math.isinf(self.low):
            return f"{'<' if self.high_open else '<='} {hi}"
        return f"{'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}"

    def check(self, value: object, where: str = "") -> float | bool:
        """Return ``value`` coerced to this parameter's kind, or raise :class:`SpecError`.

        Strings are parsed (``"1e-3"``, ``"true"``); numbers and bools are
        accepted as they are. ``where`` prefixes the message (e.g. ``"adam: "``).
        """
        what = f"{where}{self.name}"
        if isinstance(value, str):
            value = _parse_text(value, self, what)
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise SpecError(f"{what} must be true or false, not {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"{what} must be a number, not {value!r}")
        x = float(value)
        if not math.isfinite(x):
            raise SpecError(f"{what} must be a finite number, not {value!r}")
        if self.kind == "int":
            if x != int(x):
                raise SpecError(f"{what} must be a whole number, not {value!r}")
        too_low = x < self.low or (self.low_open and x == self.low)
        too_high = x > self.high or (self.high_open and x == self.high)
        if too_low or too_high:
            raise SpecError(f"{what}={_num(x)} is out of range: must be {self.range_text()}")
        return int(x) if self.kind == "int" else x


def _num(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _parse_text(text: str, hp: HyperParam, what: str) -> float | bool:
    t = text.strip().lower()
    if hp.kind == "bool":
        if t in ("true", "false"):
            return t == "true"
        raise SpecError(f"{what} must be true or false, not {text!r}")
    try:
        x = float(t)
    except ValueError:
        raise SpecError(f"{what} must be a number, not {text!r}") from None
    return x


def split_spec(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split ``"name:key=value,..."`` into the name and its ``(key, value)`` pairs.

    Names and keys are lower-cased and stripped; values are left as text.
    Raises :class:`SpecError` for an empty name, a pair without ``=``, an empty
    key or value, or a key given twice.
    """
    if not isinstance(text, str):
        raise SpecError(f"a spec must be text, not {type(text).__name__}")
    name, sep, rest = text.partition(":")
    name = name.strip().lower()
    if not name:
        raise SpecError(f"{text!r}: missing a name before ':'")
    pairs: list[tuple[str, str]] = []
    if sep and not rest.strip():
        raise SpecError(f"{text!r}: nothing after ':' (write name or name:key=value,...)")
    if rest.strip():
        seen: set[str] = set()
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not eq:
                raise SpecError(f"{name}: {item.strip()!r} is not key=value")
            if not key:
                raise SpecError(f"{name}: missing a key before '=' in {item.strip()!r}")
            if not value:
                raise SpecError(f"{name}: {key} has no value")
            if key in seen:
                raise SpecError(f"{name}: {key} is given twice")
            seen.add(key)
            pairs.append((key, value))
    return name, pairs


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" — did you mean {close[0]}?" if close else ""


def resolve_params(
    owner: str,
    hyperparams: Sequence[HyperParam],
    given: Mapping[str, object],
    aliases: Mapping[str, str] | None = None,
) -> dict[str, float | bool]:
    """All of ``hyperparams`` with ``given`` values checked and defaults filled in.

    ``owner`` names the optimizer or schedule in messages. ``aliases`` maps
    alternative keys to canonical names. Raises :class:`SpecError` for an
    unknown key (listing the valid ones) or a bad value.
    """
    by_name = {hp.name: hp for hp in hyperparams}
    aliases = aliases or {}
    out: dict[str, float | bool] = {hp.name: hp.default for hp in hyperparams}
    seen: set[str] = set()
    for key, value in given.items():
        name = aliases.get(key, key)
        hp = by_name.get(name)
        if hp is None:
            valid = ", ".join(by_name) or "none"
            raise SpecError(
                f"{owner} has no setting {key!r}{_suggest(key, by_name)} (settings: {valid})"
            )
        if name in seen:
            raise SpecError(f"{owner}: {name} is given twice")
        seen.add(name)
        out[name] = hp.check(value, f"{owner}: ")
    return out


def format_spec(name: str, params: Mapping[str, float | bool] | None = None) -> str:
    """The spec text for ``name`` and ``params`` (the inverse of parsing)."""
    if not params:
        return name
    parts = []
    for key, value in params.items():
        if isinstance(value, bool):
            parts.append(f"{key}={'true' if value else 'false'}")
        else:
            parts.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    return f"{name}:{','.join(parts)}"


def parse_optimizer_spec(
    text: str,
    *,
    start: Sequence[float] = (),
    schedule: ScheduleSpec | str | None = None,
) -> RunConfig:
    """Parse ``name`` or ``name:key=value,...`` into a :class:`~gdviz.core.engine.RunConfig`.

    Parameters
    ----------
    text
        E.g. ``"adam:lr=0.05,amsgrad=true"``. Names are the keys of
        :data:`~gdviz.core.optimizers.OPTIMIZERS`; keys are their hyper-parameters.
    start
        The run's start point.
    schedule
        A :class:`~gdviz.core.schedules.ScheduleSpec` or schedule spec text;
        None is a constant learning rate.

    Raises
    ------
    SpecError
        Unknown optimizer or key, a bad value, or a bad schedule.
    """
    # Imported here: optimizers and schedules import HyperParam from this module.
    from gdviz.core.engine import RunConfig
    from gdviz.core.optimizers import OPTIMIZERS
    from gdviz.core.schedules import CONSTANT, ScheduleSpec

    name, pairs = split_spec(text)
    spec = OPTIMIZERS.get(name)
    if spec is None:
        raise SpecError(
            f"unknown optimizer {name!r}{_suggest(name, OPTIMIZERS)} "
            f"(choose from {', '.join(OPTIMIZERS)})"
        )
    params = spec.resolve(dict(pairs), fill_defaults=False)
    if schedule is None:
        sched = CONSTANT
    elif isinstance(schedule, ScheduleSpec):
        sched = schedule
    else:
        sched = parse_schedule_spec(schedule)
    return RunConfig(name, params, tuple(float(x) for x in start), sched)


def parse_schedule_spec(text: str) -> ScheduleSpec:
    """Parse schedule text such as ``"step:step_size=100,gamma=0.5"``.

    Kinds: ``constant``, ``step`` (``step_size``, ``gamma``), ``exponential``
    (``gamma``), ``inverse_time`` (``k``), ``cosine`` (``t_max``, ``eta_min``).
    Every kind also takes ``warmup`` (steps of linear warm-up) and
    ``warmup_start`` (the warm-up's first factor). See
    :mod:`gdviz.core.schedules` for the formulas.
    """
    from gdviz.core.schedules import SCHEDULES, ScheduleSpec

    kind, pairs = split_spec(text)
    kind = kind.replace("-", "_")
    if kind not in SCHEDULES:
        raise SpecError(
            f"unknown schedule {kind!r}{_suggest(kind, SCHEDULES)} "
            f"(choose from {', '.join(SCHEDULES)})"
        )
    return ScheduleSpec.from_params(kind, dict(pairs))
