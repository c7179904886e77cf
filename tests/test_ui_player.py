"""The player moves an index; speed never skips a step of the drawn trail."""

import pytest

from gdviz.ui.player import MAX_SPEED, MIN_SPEED, Player


@pytest.fixture
def player(qtbot):
    p = Player()
    p.set_limit(5000, complete=True)
    return p


def test_speed_is_clamped(player):
    player.set_speed(0)
    assert player.speed == MIN_SPEED
    player.set_speed(1e9)
    assert player.speed == MAX_SPEED


def test_advance_moves_speed_times_seconds(player):
    player.set_speed(1000)
    seen = []
    player.stepChanged.connect(seen.append)
    for _ in range(10):
        player.advance(1 / 60)
    assert player.step == 166  # 10/60 s × 1000 steps/s, fractions carried
    assert seen == sorted(seen) and seen[-1] == 166


def test_slow_speed_carries_fractions(player):
    player.set_speed(1)
    for _ in range(59):
        player.advance(1 / 60)
    assert player.step == 0
    player.advance(2 / 60)
    assert player.step == 1


def test_stops_at_the_end_when_complete(qtbot, player):
    player.set_limit(10, complete=True)
    player.set_speed(1000)
    player.play()
    assert player.playing
    with qtbot.waitSignal(player.playingChanged, timeout=5000):
        pass
    assert player.step == 10 and not player.playing
    player.play()  # at the end, play starts over
    assert player.step == 0
    player.pause()


def test_waits_at_the_computed_edge_while_more_is_coming(player):
    player.set_limit(10, complete=False)
    player.set_speed(1000)
    player._timer.start()
    player.advance(1.0)
    assert player.step == 10 and player.playing
    player.set_limit(20, complete=False)
    player.advance(1.0)
    assert player.step == 20
    player.pause()


def test_step_seek_and_reset(player):
    player.seek(100)
    player.step_forward()
    assert player.step == 101
    player.step_back()
    player.step_back()
    assert player.step == 99
    player.seek(-5)
    assert player.step == 0
    player.step_back()
    assert player.step == 0
    player.seek(10**9)
    assert player.step == 5000
    player.reset()
    assert player.step == 0


def test_shrinking_limit_pulls_the_index_back(player):
    player.seek(4000)
    player.set_limit(100)
    assert player.step == 100
