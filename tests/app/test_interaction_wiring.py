"""The relay wired by the app: INTERACTION_CREATE -> defer -> forward -> error message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from asgi_app.settings import DEFAULT_INTERACTION_LATE_MESSAGE
from gateway.delivery.signatures import verify_signature
from gateway.simulator import factory
from tests.support.harness.app import AUTH_TOKEN, discord_of, running_app
from tests.support.harness.main_app import MainApp
from tests.support.harness.server import serve


async def test_command_is_deferred_then_forwarded_signed(tmp_path: Path) -> None:
    main = MainApp()
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        async with running_app(tmp_path, FORWARD_URL=forward) as srv:
            sent = await srv.sim.send_interaction(factory.command("draft"))
            await srv.sim.wait_for(lambda: main.requests, 5)
            record = srv.sim.interaction(sent["id"])
            assert record is not None and record.ack_type == 5
            forwarded = main.requests[0]
            headers, body = forwarded.headers, forwarded.body
            assert forwarded.path == "/api/discord/interactions/command"
            assert "authorization" not in headers  # the signatures alone prove it
            assert headers["x-interaction-id"] == sent["id"]
            assert verify_signature(
                AUTH_TOKEN, headers["x-signature-timestamp"], body, headers["x-signature-sha256"]
            )


async def test_legacy_auth_adds_the_first_auth_token(tmp_path: Path) -> None:
    main = MainApp()
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        tokens = f"{AUTH_TOKEN},{'n' * 40}"
        async with running_app(
            tmp_path, FORWARD_URL=forward, AUTH_TOKEN=tokens, FORWARD_LEGACY_AUTH="true"
        ) as srv:
            await srv.sim.send_interaction(factory.command("draft"))
            await srv.sim.wait_for(lambda: main.requests, 5)
            headers, body = main.requests[0].headers, main.requests[0].body
            assert headers["authorization"] == AUTH_TOKEN
            # the first token of the list keys the HMAC
            stamp = headers["x-signature-timestamp"]
            assert verify_signature(AUTH_TOKEN, stamp, body, headers["x-signature-sha256"])


async def test_failed_forward_edits_the_deferred_response(tmp_path: Path) -> None:
    main = MainApp()
    main.script(500)
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        async with running_app(
            tmp_path, FORWARD_URL=forward, INTERACTION_ERROR_MESSAGE="The draft app is down."
        ) as srv:
            sent = await srv.sim.send_interaction(factory.command("draft"))

            def edited() -> list[Any]:
                return [
                    r
                    for r in srv.sim.rest.requests
                    if r.method == "PATCH" and sent["token"] in r.path
                ]

            await srv.sim.wait_for(edited, 10)
            assert edited()[0].json == {"content": "The draft app is down."}
            assert edited()[0].path.endswith("/messages/@original")


async def test_a_refused_acknowledgement_is_counted_by_cause_and_not_forwarded(
    tmp_path: Path,
) -> None:
    main = MainApp()
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        async with running_app(tmp_path, FORWARD_URL=forward) as srv:
            srv.sim.rest.inject(
                "/interactions/*/callback",
                404,
                body={"message": "Unknown interaction", "code": 10062},
            )
            sent = await srv.sim.send_interaction(factory.command("draft"))
            await srv.sim.wait_for(
                lambda: discord_of(srv.app).relay.stats.forwards["not_acknowledged"],
                5,
            )
            metrics = (await srv.http.get("/metrics")).text
            assert 'interaction_first_responses_total{outcome="unknown_interaction"} 1.0' in metrics
            assert 'interaction_forwards_total{outcome="not_acknowledged"} 1.0' in metrics
            assert 'interaction_admission_dropped_total{reason="too_old"} 0.0' in metrics
            detailed = (await srv.http.get("/health/detailed")).json()
            relay = detailed["discord"]["relay"]
            assert relay["ack_outcomes"]["unknown_interaction"] == 1
            assert relay["admission"] == {"too_old": 0, "replay": 0}
            assert main.requests == []
            assert srv.sim.interaction(sent["id"]) is not None


async def test_the_response_settings_reach_the_relay(tmp_path: Path) -> None:
    """INTERACTION_RESPONSE, RESPONSE_WINDOW_MS and INTERACTION_POLICY, from the environment
    to the relay."""
    answer = {"type": 4, "data": {"content": "Your picks", "flags": 64}}
    main = MainApp()
    main.answer(answer)
    async with serve(main) as main_url:
        async with running_app(
            tmp_path,
            FORWARD_URL=main_url + "/api/discord/interactions",
            INTERACTION_RESPONSE="respond",
            RESPONSE_WINDOW_MS="1000",
            INTERACTION_POLICY=orjson.dumps({"commands": {"draft": "defer-ephemeral"}}).decode(),
        ) as srv:
            answered = await srv.sim.send_interaction(factory.command("mypicks"))
            deferred = await srv.sim.send_interaction(factory.command("draft"))
            await srv.sim.wait_for(lambda: len(main.requests) == 2, 5)

            def callbacks(sent: dict[str, Any]) -> list[Any]:
                record = srv.sim.interaction(sent["id"])
                return [c.json for c in record.callbacks] if record is not None else []

            await srv.sim.wait_for(lambda: callbacks(answered) and callbacks(deferred), 5)
            assert callbacks(answered) == [answer]
            assert callbacks(deferred) == [{"type": 5, "data": {"flags": 64}}]
            modes = sorted(r.headers["x-response-mode"] for r in main.requests)
            assert modes == ["deferred-ephemeral", "respond"]
            relay = discord_of(srv.app).relay
            assert relay is not None  # and the late message is the settings' one default
            assert relay.late_message == DEFAULT_INTERACTION_LATE_MESSAGE


async def test_forwards_beyond_the_in_flight_bound_wait_and_are_shown_in_metrics(
    tmp_path: Path,
) -> None:
    """FORWARD_MAX_IN_FLIGHT=2, a main app taking 3 s: two forwards reach it at once, the
    other three wait (interaction_forwards_waiting 3), then every one is forwarded."""
    main = MainApp(delay=3.0)
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        async with running_app(tmp_path, FORWARD_URL=forward, FORWARD_MAX_IN_FLIGHT="2") as srv:
            sent = [await srv.sim.send_interaction(factory.command("draft")) for _ in range(5)]
            relay = discord_of(srv.app).relay
            assert relay is not None
            await srv.sim.wait_for(lambda: relay.stats.forwards_waiting == 3, 5)
            metrics = (await srv.http.get("/metrics")).text
            assert "interaction_forwards_waiting 3.0" in metrics
            assert len(main.requests) == 2  # the bound holds: the rest wait their turn
            await srv.sim.wait_for(lambda: len(main.requests) == 5, 15)
            ids = {r.headers["x-interaction-id"] for r in main.requests}
            assert ids == {s["id"] for s in sent}
            await srv.sim.wait_for(
                lambda: discord_of(srv.app).relay.stats.forwards["ok"] == 5,
                10,
            )
            metrics = (await srv.http.get("/metrics")).text
            assert "interaction_forwards_waiting 0.0" in metrics
