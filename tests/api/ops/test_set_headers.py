"""`api.security.set_headers`: the one-pass header setter the security and rate-limit headers use."""

from __future__ import annotations

from typing import Any

from api.security import set_headers


def test_replaces_the_first_of_a_name_drops_its_repeats_and_appends_the_absent() -> None:
    message: Any = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"Content-Type", b"application/json"), (b"X-Frame-Options", b"SAMEORIGIN"),
                    (b"etag", b'"3"'), (b"x-frame-options", b"ALLOW")],
    }  # fmt: skip
    set_headers(message, {b"x-frame-options": b"DENY", b"referrer-policy": b"no-referrer"})
    assert message["headers"] == [
        (b"Content-Type", b"application/json"),
        (b"x-frame-options", b"DENY"),
        (b"etag", b'"3"'),
        (b"referrer-policy", b"no-referrer"),
    ]


def test_keeps_a_kept_name_when_present_and_sets_it_when_absent() -> None:
    policy = {b"content-security-policy": b"default-src 'none'"}
    own: Any = {
        "type": "http.response.start",
        "headers": [(b"content-security-policy", b"script-src 'self'")],
    }
    set_headers(own, policy, frozenset(policy))
    assert own["headers"] == [(b"content-security-policy", b"script-src 'self'")]
    bare: Any = {"type": "http.response.start"}
    set_headers(bare, policy, frozenset(policy))
    assert bare["headers"] == [(b"content-security-policy", b"default-src 'none'")]
