"""`api.security.SecurityHeaders.apply`: the one pass over an answer's headers that sets the security
headers and the request id."""

from __future__ import annotations

import msgspec

from api.security import API_POLICY, SecurityHeaders
from api.settings import Settings

POLICY = (b"content-security-policy", API_POLICY.encode())


def test_replaces_headers_of_the_same_names_and_appends_the_rest(settings: Settings) -> None:
    security = SecurityHeaders(settings)
    answer = [(b"Content-Type", b"application/json"), (b"X-Frame-Options", b"SAMEORIGIN"),
              (b"etag", b'"3"'), (b"x-frame-options", b"ALLOW"), (b"x-request-id", b"forged")]  # fmt: skip
    assert security.apply(answer, False, (b"x-request-id", b"abc")) == [
        (b"Content-Type", b"application/json"),
        (b"etag", b'"3"'),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        POLICY,
        (b"x-request-id", b"abc"),
    ]


def test_a_token_makes_the_answer_no_store_replacing_its_own_cache_control(settings: Settings) -> None:
    security = SecurityHeaders(settings)
    answer = [(b"cache-control", b"max-age=60")]
    assert (b"cache-control", b"max-age=60") in security.apply(answer, False)
    with_token = security.apply(answer, True)
    assert [v for n, v in with_token if n == b"cache-control"] == [b"no-store"]


def test_an_answer_keeps_its_own_policy_and_gets_the_api_one_otherwise(settings: Settings) -> None:
    security = SecurityHeaders(settings)
    own = (b"content-security-policy", b"script-src 'self'")
    assert [h for h in security.apply([own], False) if h[0] == POLICY[0]] == [own]
    assert [h for h in security.apply([], False) if h[0] == POLICY[0]] == [POLICY]


def test_hsts_only_for_an_https_public_url(settings: Settings) -> None:
    names = [n for n, _ in SecurityHeaders(settings).apply([], False)]
    assert b"strict-transport-security" not in names
    https = msgspec.structs.replace(settings, symbiose_public_url="https://api.example.org")
    assert (b"strict-transport-security", b"max-age=31536000; includeSubDomains") in SecurityHeaders(
        https
    ).apply([], False)
