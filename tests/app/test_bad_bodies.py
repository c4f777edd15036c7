"""Bad bodies on the app as production assembles it (create_app, uvicorn on loopback, a Discord
simulator): charsets that are not text encodings, JSON nested too deep, a state the overlay
store cannot serialise, main-app answers over 1 MiB. Each gets problem+json or a failed
forward, never a 500 (CONTRACT.md, v3 "Bodies")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from asgi_app.http import body as http_body
from gateway.simulator import factory
from tests.endpoint.harness import endpoint_app
from tests.overlay.helpers import overlay_data
from tests.support.harness.app import running_app
from tests.support.harness.huge_answers import MIB, HugeAnswers

#: Python codecs that are not text encodings (and some that are, but not for JSON).
NOT_JSON_CHARSETS = (
    "rot13",
    "rot_13",
    "zlib",
    "zlib_codec",
    "base64",
    "hex",
    "punycode",
    "bz2",
    "uu",
    "quopri",
    "utf-7",
    "unicode_escape",
    "idna",
    "cp1252",
)
JSON_CHARSETS = {
    "utf-8": "utf-8",
    "UTF8": "utf-8",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "UTF-16BE": "utf-16-be",
    "utf-32": "utf-32",
    "us-ascii": "ascii",
    "ISO-8859-1": "latin-1",
    "iso_8859-1": "latin-1",
    "latin1": "latin-1",
}
PRESENCE = {"status": "online", "type": 0, "name": "the draft"}


def nested(levels: int) -> Any:
    """`levels` arrays inside each other, the innermost holding 1."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert "Traceback" not in answer.text
    return problem


def overlay_file(state_dir: Path, name: str = "default") -> bytes:
    return (state_dir / "overlays" / f"{name}.json").read_bytes()


async def test_charsets_that_are_not_text_encodings_get_415(tmp_path: Path) -> None:
    state = orjson.dumps(overlay_data(blue=1))
    async with running_app(tmp_path) as srv:
        for charset in NOT_JSON_CHARSETS:
            content_type = f"application/json; charset={charset}"
            for path, body in (("/overlay", state), ("/discord/presence", orjson.dumps(PRESENCE))):
                answer = await srv.http.post(
                    path, content=body, headers={"Content-Type": content_type}
                )
                problem = assert_problem(answer, 415)
                assert "charset" in problem["detail"], (charset, path)
        assert (await srv.http.get("/overlay")).json()["blue"]["score"] == 0  # nothing stored


async def test_the_json_charsets_and_their_aliases_are_read(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        for score, (charset, codec) in enumerate(JSON_CHARSETS.items()):
            state = overlay_data(red=score % 3, max_score=3)
            state["blue"]["name"] = "Bl\u00e9 \u00c9quipe"  # not ASCII, except in us-ascii
            if codec == "ascii":
                state["blue"]["name"] = "Blue"
            body = orjson.dumps(state).decode().encode(codec)
            answer = await srv.http.post(
                "/overlay",
                content=body,
                headers={"Content-Type": f"application/json; charset={charset}"},
            )
            assert answer.status_code == 200, (charset, answer.text)
            assert (await srv.http.get("/overlay")).json() == state


async def test_json_deeper_than_64_levels_is_400_and_64_is_accepted(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        for path in ("/overlay", "/discord/presence"):
            problem = assert_problem(await srv.http.post(path, json=nested(65)), 400)
            assert "nested deeper than 64 levels" in problem["detail"]
        # far deeper than the parser's own limit (1,024): still the same 400, in utf-16 too
        for levels, charset in ((300, "utf-8"), (1100, "utf-8"), (20_000, "utf-8"), (65, "utf-16")):
            body = (b"[" * levels + b"]" * levels).decode().encode(charset)
            answer = await srv.http.post(
                "/overlay",
                content=body,
                headers={"Content-Type": f"application/json; charset={charset}"},
            )
            assert_problem(answer, 400)
        # brackets inside strings are not nesting; 63 levels under the top-level object fit
        deep_ok = overlay_data(extra=nested(63), note="[[[[" * 100)
        assert (await srv.http.post("/overlay", json=deep_ok)).status_code == 200
        assert (await srv.http.get("/overlay")).json() == deep_ok


async def test_an_overlay_nested_300_levels_is_refused_and_the_last_state_still_served(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path) as srv:
        first = overlay_data(blue=2)
        assert (await srv.http.post("/overlay", json=first)).status_code == 200
        on_disk = overlay_file(tmp_path)
        assert_problem(await srv.http.post("/overlay", json=overlay_data(extra=nested(300))), 400)
        for _ in range(2):  # every later GET, not only the next one
            got = await srv.http.get("/overlay")
            assert got.status_code == 200 and got.json() == first
        assert overlay_file(tmp_path) == on_disk


async def test_a_state_the_store_cannot_serialise_is_not_stored_nor_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's own guard, with the framework's depth limit lifted: a state orjson cannot
    write (300 levels) is refused before the store changes, in memory and on disk."""
    monkeypatch.setattr(http_body, "MAX_JSON_DEPTH", 10_000)
    async with running_app(tmp_path) as srv:
        first = overlay_data(red=1)
        assert (await srv.http.post("/overlay/league", json=first)).status_code == 200
        on_disk = overlay_file(tmp_path, "league")
        answer = await srv.http.post("/overlay/league", json=overlay_data(extra=nested(300)))
        problem = assert_problem(answer, 400)
        assert "cannot be stored" in problem["detail"]
        for _ in range(2):
            got = await srv.http.get("/overlay/league")
            assert got.status_code == 200 and got.json() == first
        assert overlay_file(tmp_path, "league") == on_disk
        after = overlay_data(blue=1, red=1)
        assert (await srv.http.post("/overlay/league", json=after)).status_code == 200
        assert (await srv.http.get("/overlay/league")).json() == after
        assert orjson.loads(overlay_file(tmp_path, "league")) == after


async def test_the_interactions_endpoint_refuses_deep_json_after_the_signature(
    tmp_path: Path,
) -> None:
    async with endpoint_app(tmp_path) as ep:
        body = orjson.dumps({"type": 2, "data": nested(100)})
        stamp = str(int(time.time()))
        signature = ep.key.sign(stamp.encode() + body).hex()
        answer = await ep.srv.http.post(
            "/interactions",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Signature-Timestamp": stamp,
                "X-Signature-Ed25519": signature,
            },
        )
        problem = assert_problem(answer, 400)
        assert "nested deeper than 64 levels" in problem["detail"]
        assert ep.main.requests == []  # nothing forwarded


async def test_a_main_app_answering_over_1_mib_fails_the_forward_and_the_user_is_told(
    tmp_path: Path,
) -> None:
    huge = HugeAnswers(modes=("declared", "chunked", "until_close", "just_over"), hold=15)
    async with (
        huge as main_url,
        running_app(
            tmp_path,
            FORWARD_URL=main_url + "/api/discord/interactions",
            INTERACTION_ERROR_MESSAGE="The draft app is down.",
        ) as srv,
    ):
        sent = [await srv.sim.send_interaction(factory.command("draft")) for _ in range(2)]

        def told() -> list[Any]:
            tokens = {s["token"] for s in sent}
            return [
                r
                for r in srv.sim.rest.requests
                if r.method == "PATCH" and any(token in r.path for token in tokens)
            ]

        await srv.sim.wait_for(lambda: len(told()) == 2, 30)
        assert all(r.json == {"content": "The draft app is down."} for r in told())
        assert huge.requests >= 2
        assert all(a.cut_by_client for a in huge.answered), huge.answered
        assert max(a.written for a in huge.answered) < 32 * MIB
        health = await srv.http.get("/health")
        assert health.status_code == 200
