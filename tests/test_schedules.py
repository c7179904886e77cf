"""Learning-rate schedules: formulas at hand-picked steps, spec text, and use in runs."""

import math

import numpy as np
import pytest

from gdviz.core.engine import RunConfig, StopRules, run
from gdviz.core.schedules import CONSTANT, ScheduleSpec, parse_schedule
from gdviz.core.specs import SpecError


def lr(text, t, base=0.1):
    return parse_schedule(text).lr_at(base, t)


def test_constant():
    assert lr("constant", 0) == 0.1
    assert lr("constant", 12345) == 0.1
    assert CONSTANT.factor_free()


def test_step_decay():
    text = "step:step_size=10,gamma=0.5"
    assert [lr(text, t) for t in (0, 9, 10, 19, 20, 25)] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    # "size" is accepted for step_size
    assert parse_schedule("step:size=10,gamma=0.5") == parse_schedule(text)


def test_exponential():
    assert lr("exponential:gamma=0.9", 0) == 0.1
    assert lr("exponential:gamma=0.9", 3) == pytest.approx(0.1 * 0.729, rel=1e-15)


def test_inverse_time():
    assert lr("inverse_time:k=0.5", 0) == 0.1
    assert lr("inverse_time:k=0.5", 4) == pytest.approx(0.1 / 3, rel=1e-15)


def test_cosine_closed_form_is_periodic_like_torch():
    text = "cosine:t_max=10,eta_min=0.01"
    assert lr(text, 0) == pytest.approx(0.1)
    assert lr(text, 5) == pytest.approx(0.055)  # halfway: the mean of 0.1 and 0.01
    assert lr(text, 10) == pytest.approx(0.01)
    assert lr(text, 20) == pytest.approx(0.1)  # the closed form climbs again after t_max
    assert lr(text, 2) == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi * 0.2)) / 2)


def test_linear_warmup_alone_and_combined():
    text = "constant:warmup=4,warmup_start=0.25"
    assert [lr(text, t) for t in range(6)] == pytest.approx(
        [0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1]
    )
    # Combined: the warm-up factor multiplies the schedule's own rate.
    both = "exponential:gamma=0.5,warmup=2,warmup_start=0.5"
    assert [lr(both, t) for t in range(4)] == pytest.approx([0.05, 0.1 * 0.5 * 0.75, 0.025, 0.0125])
    # torch's LinearLR default start factor is 1/3
    assert lr("constant:warmup=3", 0) == pytest.approx(0.1 / 3)


def test_lr_at_broadcasts_over_runs_and_steps():
    sched = parse_schedule("step:step_size=2,gamma=0.1")
    table = sched.lr_at(np.array([[1.0, 2.0]]), np.arange(5)[:, None])
    np.testing.assert_allclose(
        table, [[1, 2], [1, 2], [0.1, 0.2], [0.1, 0.2], [0.01, 0.02]], rtol=1e-15
    )
    assert isinstance(sched.lr_at(1.0, 3), float)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sawtooth", "unknown schedule 'sawtooth'"),
        ("cosnie:t_max=3", "did you mean cosine"),
        ("step:gama=0.5", "step has no setting 'gama'"),
        ("step:step_size=0", "step_size=0 is out of range"),
        ("step:step_size=2.5", "step_size must be a whole number"),
        ("exponential:gamma=0", "gamma=0 is out of range"),
        ("exponential:gamma=abc", "gamma must be a number"),
        ("cosine:t_max=5,t_max=6", "t_max is given twice"),
        ("constant:warmup=-1", "warmup=-1 is out of range"),
        ("constant:warmup_start=0", "warmup_start=0 is out of range"),
        ("step:", "nothing after ':'"),
        (":gamma=1", "missing a name"),
        ("step:gamma", "'gamma' is not key=value"),
    ],
)
def test_bad_schedule_text_says_what(text, message):
    with pytest.raises(SpecError) as info:
        parse_schedule(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["constant", "step:step_size=7,gamma=0.3", "cosine:t_max=50,eta_min=0.001,warmup=5",
     "inverse_time:k=0.02,warmup=3,warmup_start=0.5", "exponential:gamma=0.97"],
)  # fmt: skip
def test_text_round_trips(text):
    sched = parse_schedule(text)
    again = parse_schedule(sched.to_text())
    assert again == sched
    assert hash(again) == hash(sched)


def test_schedule_spec_checks_its_settings():
    with pytest.raises(SpecError, match="gamma"):
        ScheduleSpec("exponential", {"gamma": -1.0})
    assert ScheduleSpec.from_params("step", {"step_size": 5, "warmup": 2}).warmup_steps == 2


def test_engine_records_and_uses_the_scheduled_rate():
    # gd on x² (gradient 2x): x_{t+1} = x_t (1 − 2 lr_t), with lr_t from the schedule.
    class Square:
        dim, variables = 1, ("x",)

        def value(self, p):
            return p[..., 0] ** 2

        def grad(self, p):
            return 2 * p

        def hess(self, p):
            return np.full((*p.shape[:-1], 1, 1), 2.0)

    sched = parse_schedule("step:step_size=2,gamma=0.5,warmup=1,warmup_start=0.5")
    traj = run(
        Square(), [RunConfig("gd", {"lr": 0.2}, (1.0,), sched)], 6, StopRules(6, grad_tol=None)
    )
    expected_lrs = [0.1, 0.2, 0.1, 0.1, 0.05, 0.05]
    np.testing.assert_allclose(traj.lrs[:6, 0], expected_lrs, rtol=1e-15)
    x = [1.0]
    for r in expected_lrs:
        x.append(x[-1] * (1 - 2 * r))
    np.testing.assert_allclose(traj.positions[:, 0, 0], x, rtol=1e-14)
