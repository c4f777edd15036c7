"""Fuzzing the HTTP surface of the whole server (the short run; bench/fuzz_http.py is the long one).

schemathesis drives /openapi.json (authenticated); hypothesis strategies send hostile bodies,
headers and paths over raw sockets. Every answer must hold `verdict.judge`: no unexpected 5xx,
problem+json errors, no hang, no marker or secret echoed. Seeds are fixed (FUZZ_SEED to
change them) so a run is reproducible.
"""

from __future__ import annotations

import os

import httpx
import pytest

from tests.support.campaigns.fuzz_http import strategies
from tests.support.campaigns.fuzz_http.campaign import Figures, raw_campaign
from tests.support.campaigns.fuzz_http.live import LiveServer
from tests.support.campaigns.fuzz_http.openapi_campaign import openapi_campaign
from tests.support.campaigns.fuzz_http.rawhttp import encode_request, exchange
from tests.support.campaigns.fuzz_http.verdict import Answer, judge

SEED = int(os.environ.get("FUZZ_SEED", "20261128"))


def _assert_clean(figures: Figures) -> None:
    print(figures.summary())
    assert figures.failures == [], "\n".join(figures.failures)
    assert figures.failed == 0 and figures.hangs == 0


def test_schemathesis_against_openapi_json(live: LiveServer) -> None:
    figures = openapi_campaign(live, cases=300, rng_seed=SEED)
    _assert_clean(figures)
    assert figures.cases == 300
    # It got past the guards: successes and schema rejections both happened.
    assert figures.statuses[200] > 0
    assert figures.statuses[422] > 0


def test_hostile_bodies(live: LiveServer) -> None:
    figures = raw_campaign(
        live, "bodies", strategies.body_requests(live.token), cases=200, rng_seed=SEED
    )
    _assert_clean(figures)
    assert figures.cases == 200
    assert {200, 400, 415, 422} <= set(figures.statuses)


def test_hostile_headers(live: LiveServer) -> None:
    figures = raw_campaign(
        live, "headers", strategies.header_requests(live.token), cases=150, rng_seed=SEED
    )
    _assert_clean(figures)
    assert figures.cases == 150
    assert figures.statuses[200] > 0 and figures.statuses[401] > 0


def test_hostile_paths(live: LiveServer) -> None:
    figures = raw_campaign(
        live, "paths", strategies.path_requests(live.token), cases=200, rng_seed=SEED
    )
    _assert_clean(figures)
    assert figures.cases == 200
    assert figures.statuses[404] > 0 and figures.statuses[200] > 0


# -- what the fuzzers found, pinned as plain tests ----------------------------------------
def _raw(
    live: LiveServer, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
) -> Answer:
    return exchange(live.base_url, encode_request(method, target, headers, body))


def test_unknown_charset_is_not_echoed(live: LiveServer) -> None:
    marker = "mk00c4a25e7c0ffee1"
    for content_type in (
        f"application/json; charset={marker}",
        f"application/json; charset={marker[:5]}",
    ):
        answer = _raw(
            live, "POST", "/overlay", [*live.auth.items(), ("Content-Type", content_type)], b"{}"
        )
        assert answer.status == 415
        verdict = judge(answer, method="POST", path="/overlay", markers=[marker, marker[:5]])
        assert verdict.problems == []


def test_judge_catches_what_it_should() -> None:
    """The oracle itself: each rule fires on a bad answer and stays quiet on a good one."""
    problem = b'{"type":"about:blank","title":"Not Found","status":404,"detail":"No route"}'
    ok = Answer(404, {"x-request-id": "r", "content-type": "application/problem+json"}, problem)
    assert judge(ok, method="GET", path="/x", markers=["mkfeed"]).problems == []
    bad_type = Answer(404, {"x-request-id": "r", "content-type": "text/plain"}, b"nope")
    assert judge(bad_type, method="GET", path="/x").problems
    echoed = Answer(200, {"x-request-id": "r"}, b"hello mkFEED")
    assert judge(echoed, method="GET", path="/x", markers=["mkfeed"]).problems
    assert (
        judge(echoed, method="GET", path="/x", markers=["mkfeed"], reflected_ok=["mkfeed"]).problems
        == []
    )
    server_error = Answer(
        500, {"x-request-id": "r", "content-type": "application/problem+json"}, problem
    )
    assert judge(server_error, method="GET", path="/x").problems
    health = Answer(503, {"x-request-id": "r", "content-type": "application/json"}, b"{}")
    assert judge(health, method="GET", path="/health").problems == []
    secret = Answer(200, {"x-request-id": "r", "x-leak": "s3cret"}, b"")
    assert judge(secret, method="GET", path="/", secrets=["s3cret"]).problems
    head = Answer(405, {"x-request-id": "r", "content-type": "application/problem+json"}, b"")
    assert judge(head, method="HEAD", path="/x").problems == []


def test_presence_flood_is_answered_not_held() -> None:
    with (
        LiveServer() as own,
        httpx.Client(base_url=own.base_url, headers=own.auth, timeout=5) as client,
    ):
        statuses = []
        for i in range(120):
            body = {"status": "online", "type": 0, "name": f"n{i}"}
            try:
                statuses.append(client.post("/discord/presence", json=body).status_code)
            except httpx.TimeoutException:
                pytest.fail(f"presence update {i + 1} was not answered within 5 s")
        assert set(statuses) <= {200, 429, 503}


def test_integer_beyond_64_bits_is_refused_not_a_500(live: LiveServer) -> None:
    team = '"score": 0, "primaryColor": "#00f", "secondaryColor": "#fff", "logoUrl": "x"'
    body = (
        f'{{"blue": {{"name": "B", {team}}}, "red": {{"name": "R", {team}}}, '
        f'"maxScore": 9814897699954030463156224}}'
    ).encode()
    headers = [*live.auth.items(), ("Content-Type", "application/json")]
    posted = _raw(live, "POST", "/overlay/bigint", headers, body)
    read = _raw(live, "GET", "/overlay/bigint", list(live.auth.items()))
    assert (posted.status, read.status) == (422, 200)
