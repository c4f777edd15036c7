"""W3C `traceparent` on every delivery to the main app: one trace id per interaction, the same
on every attempt and on a redelivery after a restart, a new parent id per attempt; the
interaction's log lines carry the same id (`trace_id`)."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import orjson
import pytest

from asgi_app.logs import JsonFormatter, RequestIdFilter
from gateway.delivery.trace import parse_traceparent, trace_id_for, traceparent
from gateway.journal.interactions import JournalEntry
from gateway.simulator import factory
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import relay_stack, until


def test_trace_ids_are_per_interaction_and_headers_are_well_formed() -> None:
    first, again, other = trace_id_for("123"), trace_id_for("123"), trace_id_for("124")
    assert first == again != other
    assert len(first) == 32 and int(first, 16) > 0
    one, two = traceparent(first), traceparent(first)
    assert parse_traceparent(one) is not None and parse_traceparent(two) is not None
    assert one.split("-")[:2] == ["00", first] and one.endswith("-01")
    assert one.split("-")[2] != two.split("-")[2]  # a parent id per attempt
    for bad in (
        f"01-{first}-{'1' * 16}-01",  # another version
        f"00-{'0' * 32}-{'1' * 16}-01",  # the invalid trace id
        f"00-{first}-{'0' * 16}-01",  # the invalid parent id
        f"00-{first.upper()}-{'1' * 16}-01",  # not lowercase
        f"00-{first}-{'1' * 15}-01",
    ):
        assert parse_traceparent(bad) is None, bad


def _trace(headers: dict[str, str]) -> tuple[str, str, str]:
    parsed = parse_traceparent(headers["traceparent"])
    assert parsed is not None, headers["traceparent"]
    return parsed


async def test_every_attempt_and_a_redelivery_carry_the_interactions_trace() -> None:
    main = MainApp()
    main.script(503, 502)
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.command())
        other = await stack.send(factory.command())
        await stack.settle(2)
        mine = [r for r in main.requests if r.headers["x-interaction-id"] == sent["id"]]
        theirs = [r for r in main.requests if r.headers["x-interaction-id"] == other["id"]]
        assert len(mine) + len(theirs) == 4  # two retried attempts, two answered ones
        traces = [_trace(r.headers) for r in mine]
        assert {t[0] for t in traces} == {trace_id_for(sent["id"])}
        assert {t[0] for t in map(_trace, (r.headers for r in theirs))} == {
            trace_id_for(other["id"])
        }
        assert len({t[1] for t in traces}) == len(traces)  # a new parent id for each attempt
        assert all(t[2] == "01" for t in traces)

        # After a restart the journal's entry is forwarded again: the same trace.
        entry = JournalEntry(sent["id"], time.time(), orjson.dumps(sent), "deferred", 5)
        task = stack.relay.redeliver(entry)
        assert task is not None
        await task
        redelivered = main.requests[-1]
        assert redelivered.headers["x-redelivery"] == "1"
        assert _trace(redelivered.headers)[0] == trace_id_for(sent["id"])


class _Lines(logging.Handler):
    """The server's JSON lines (its formatter and filter), kept in memory."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.StringIO()
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.stream.write(self.format(record) + "\n")

    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def json_lines() -> Iterator[_Lines]:
    handler = _Lines()
    logger = logging.getLogger("gateway")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_the_interactions_log_lines_carry_its_trace_id(json_lines: _Lines) -> None:
    main = MainApp()
    main.script(503, 503, 503)  # retried, then failed: several lines of its own
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        await until(lambda: len(main.requests) == 3)
        # The same interaction dispatched again is dropped as a replay (before its task).
        await stack.sim.dispatch("INTERACTION_CREATE", sent)
        await until(lambda: stack.relay.stats.admission["replay"] == 1)
    about = [line for line in json_lines.lines() if sent["id"] in str(line["msg"])]
    messages = [str(line["msg"]) for line in about]
    assert any("retry in" in m for m in messages), messages
    assert any("forward failed" in m for m in messages), messages
    assert any("dropped (replay" in m for m in messages), messages
    assert {line.get("trace_id") for line in about} == {trace_id_for(sent["id"])}, about
    others = [line for line in json_lines.lines() if sent["id"] not in str(line["msg"])]
    assert all(line.get("trace_id") in (None, trace_id_for(sent["id"])) for line in others)


async def test_timer_deliveries_carry_one_trace_per_delivery() -> None:
    """League timers' deliveries go to the main app too: one trace per delivery id."""
    from tests.timers.test_sender import ScriptedPoster, sender

    poster = ScriptedPoster([503, 204, 204])
    timers = sender(poster, [])
    await timers.deliver("http://main/timers", "d1", lambda now: b"{}")
    await timers.deliver("http://main/timers", "d2", lambda now: b"{}")
    first, retried, other = (_trace(headers) for headers in poster.seen)
    assert first[0] == retried[0] == trace_id_for("d1") != other[0] == trace_id_for("d2")
    assert first[1] != retried[1]
