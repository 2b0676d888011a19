"""`api.ratelimit.FixedWindows`: the count behind the rate limits, with the clock in the test's hands."""

from __future__ import annotations

import pytest

from api import ratelimit
from api.errors import TooManyRequestsError
from api.ratelimit import FixedWindows


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(1_000_000.0)
    monkeypatch.setattr(ratelimit.time, "time", clock)
    return clock


def test_a_window_counts_down_then_refuses_until_it_ends(clock: Clock) -> None:
    windows = FixedWindows(2)
    first = dict(windows.count("client:a"))
    assert first == {b"ratelimit-policy": b"2; w=60", b"ratelimit-limit": b"2",
                     b"ratelimit-remaining": b"1", b"ratelimit-reset": b"60"}  # fmt: skip
    clock.now += 20
    assert dict(windows.count("client:a"))[b"ratelimit-remaining"] == b"0"
    clock.now += 15
    with pytest.raises(TooManyRequestsError) as refused:
        windows.count("client:a")
    headers = refused.value.headers or {}
    assert headers["Retry-After"] == "25"
    assert headers["RateLimit-Remaining"] == "0"
    assert headers["RateLimit-Reset"] == "25"
    # Another identifier has its own window; the first one's ends 60 s after its first request.
    assert dict(windows.count("client:b"))[b"ratelimit-remaining"] == b"1"
    clock.now += 25
    assert dict(windows.count("client:a"))[b"ratelimit-remaining"] == b"1"


def test_ended_windows_are_dropped(clock: Clock) -> None:
    windows = FixedWindows(5)
    for i in range(100):
        windows.count(f"client:{i}")
    assert len(windows) == 100
    clock.now += 61
    windows.count("client:new")
    assert len(windows) == 1
