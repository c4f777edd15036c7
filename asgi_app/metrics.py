"""/metrics: Prometheus collectors that read the plain-Python stats at scrape time.

The gateway package keeps counters of its own (no prometheus objects there); this module is
the one place that names them as metrics. Labels never carry tokens or user input. Beside them:
prometheus_client's process collector (`process_*`: CPU, memory, open files, start time) and
platform collector (`python_info`), and `redis_up`, from a ping made just before each scrape
(`ScrapeProbes`, with REDIS_URL only). deploy/prometheus/alerts.yml and the Grafana dashboard
name only metrics from here (tests/ops/test_alerts.py checks it against a running app).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from asgi_app.http import HttpStats
from asgi_app.services import Services
from gateway.connection.leases import ShardLeases
from gateway.connection.manager import GatewayManager
from gateway.events.service import EventService
from gateway.interactions.relay import InteractionRelay
from gateway.timers.service import TimerService

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STATUSES = ("idle", "connecting", "identifying", "resuming", "ready", "reconnecting", "failed")


def _histogram(name: str, doc: str, snapshot: Mapping[str, Any]) -> HistogramMetricFamily:
    buckets = [
        ("+Inf" if bound == float("inf") else repr(float(bound)), count)
        for bound, count in snapshot["buckets"]
    ]
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=snapshot["sum"])


#: An async health probe: a dict with `"ok": bool` (the overlay store's `health()`).
Probe = Callable[[], Awaitable[Mapping[str, Any]]]


class ScrapeProbes:
    """Checks that need I/O, run by GET /metrics before it renders (a collector cannot
    await): `redis` pings Redis (REDIS_URL), and the result is `redis_up` until the next
    scrape."""

    def __init__(self, redis: Probe | None = None) -> None:
        self._redis = redis
        self.redis_up: bool | None = None

    async def refresh(self) -> None:
        if self._redis is not None:
            self.redis_up = bool((await self._redis()).get("ok"))

    def collect(self) -> Iterator[Metric]:
        if self.redis_up is not None:
            yield GaugeMetricFamily(
                "redis_up", "1 when Redis (REDIS_URL) answered a ping", value=int(self.redis_up)
            )


class ServerCollector(Collector):
    def __init__(
        self,
        services: Services,
        http_stats: HttpStats,
        overlay_clients: Callable[[], Mapping[str, int]],
        probes: ScrapeProbes | None = None,
    ) -> None:
        self._services = services
        self._http_stats = http_stats
        self._overlay_clients = overlay_clients
        self._probes = probes or ScrapeProbes()

    def collect(self) -> Iterator[Metric]:
        services = self._services
        yield GaugeMetricFamily("app_uptime_seconds", "Seconds since start", value=services.uptime)
        requests = CounterMetricFamily(
            "http_requests", "HTTP requests answered, by status", labels=["status"]
        )
        for status, count in sorted(self._http_stats.by_status.items()):
            requests.add_metric([str(status)], count)
        yield requests
        clients = GaugeMetricFamily(
            "overlay_clients", "Socket.IO overlay clients connected", labels=["overlay"]
        )
        for name, count in sorted(self._overlay_clients().items()):
            clients.add_metric([name], count)
        yield clients
        yield from self._gateway()
        running = services.running
        if running.discord is not None:
            yield from _identify_budget(running.discord.gateway)
            yield from _relay_metrics(running.discord.relay)
            if running.discord.leases is not None:
                yield from _lease_metrics(running.discord.leases)
        yield from _timer_metrics(running.timers)
        yield from _event_metrics(running.events)
        yield from self._probes.collect()

    def _gateway(self) -> Iterator[Metric]:
        shards = self._services.discord_summary()["shards"]
        state = GaugeMetricFamily(
            "gateway_shard_status", "1 for the shard's current status", labels=["shard", "status"]
        )
        latency = GaugeMetricFamily(
            "gateway_heartbeat_latency_seconds", "Last heartbeat ACK latency", labels=["shard"]
        )
        reconnects = CounterMetricFamily(
            "gateway_reconnects", "Reconnections of the shard", labels=["shard"]
        )
        stalls = CounterMetricFamily(
            "gateway_loop_stalls", "Heartbeats sent late by a stalled event loop", labels=["shard"]
        )
        for shard in shards:
            sid = str(shard["shard_id"])
            for status in _STATUSES:
                state.add_metric([sid, status], 1.0 if shard["status"] == status else 0.0)
            if shard.get("latency_ms") is not None:
                latency.add_metric([sid], shard["latency_ms"] / 1000.0)
            reconnects.add_metric([sid], shard.get("reconnects", 0))
            stalls.add_metric([sid], shard.get("stalls", 0))
        yield from (state, latency, reconnects, stalls)


def _identify_budget(gateway: GatewayManager) -> Iterator[Metric]:
    budget = gateway.budget
    if budget is None:  # before the first GET /gateway/bot
        return
    yield GaugeMetricFamily(
        "gateway_identify_remaining",
        "IDENTIFYs left of Discord's session_start_limit until its reset",
        value=budget.remaining,
    )
    yield GaugeMetricFamily(
        "gateway_identify_total",
        "Discord's session_start_limit: IDENTIFYs allowed per reset period",
        value=budget.total,
    )


def _relay_metrics(relay: InteractionRelay) -> Iterator[Metric]:
    snap = relay.stats.snapshot()
    yield _histogram(
        "interaction_ack_latency_seconds",
        "From INTERACTION_CREATE received to Discord's answer to the acknowledgement",
        snap["ack_latency_seconds"],
    )
    yield _by_label(
        "interaction_forwards", "Interactions by forward outcome", "outcome", snap["forwards"]
    )
    yield _by_label(
        "interaction_first_responses",
        "First responses by what Discord made of them",
        "outcome",
        snap["ack_outcomes"],
    )
    yield _by_label(
        "interaction_admission_dropped",
        "Interactions dropped on arrival (too old by Discord's clock, a replay)",
        "reason",
        snap["admission"],
    )
    yield _by_label(
        "interaction_answers",
        "The main app's interaction responses: first response, delivered late, invalid",
        "outcome",
        snap["answers"],
    )
    yield CounterMetricFamily(
        "interaction_forward_retries", "Forward attempts retried", value=snap["retries"]
    )
    yield CounterMetricFamily(
        "interaction_user_errors",
        "Error messages shown to Discord users",
        value=snap["user_errors"],
    )
    yield GaugeMetricFamily(
        "interactions_in_flight", "Interactions being processed", value=snap["in_flight"]
    )
    yield GaugeMetricFamily(
        "interaction_forwards_waiting",
        "Forwards waiting for one of the FORWARD_MAX_IN_FLIGHT slots",
        value=snap["forwards_waiting"],
    )


def _lease_metrics(leases: ShardLeases) -> Iterator[Metric]:
    """SHARD_IDS=auto: this node's shard leases, the live nodes, and how leases changed hands."""
    yield GaugeMetricFamily(
        "gateway_shard_leases_held", "Shard leases this node holds", value=len(leases.held)
    )
    live = leases.view.live if leases.view is not None else ()
    yield GaugeMetricFamily("gateway_live_nodes", "Nodes sharing the shards", value=len(live))
    stats = leases.stats
    for name, doc, value in (
        ("takeovers", "Shards taken after another node's lease expired", stats.takeovers),
        ("handovers", "Shards taken after another node released them", stats.handovers),
        ("released", "Shard leases this node gave up (SIGTERM, balancing)", stats.released),
        ("lost", "Shard leases found taken or past their deadline", stats.lost),
    ):
        yield CounterMetricFamily(f"gateway_shard_lease_{name}", doc, value=value)


def _timer_metrics(timers: TimerService) -> Iterator[Metric]:
    """League timers: pending by state, events fallen due, deliveries and their retries."""
    engine, sender = timers.engine.stats, timers.sender.stats
    pending = GaugeMetricFamily("timers_pending", "League timers by state", labels=["state"])
    pending.add_metric(["running"], engine.running)
    pending.add_metric(["paused"], engine.paused)
    yield pending
    due = CounterMetricFamily("timer_events", "Fires and reminders fallen due", labels=["kind"])
    due.add_metric(["fire"], engine.fired)
    due.add_metric(["reminder"], engine.reminders)
    yield due
    yield _by_label(
        "timer_deliveries",
        "Timer deliveries finished: delivered (2xx) or dead letters",
        "outcome",
        sender.outcomes,
    )
    yield CounterMetricFamily(
        "timer_delivery_retries", "Timer delivery attempts retried", value=sender.retries
    )
    yield CounterMetricFamily(
        "timer_deliveries_late",
        "Timer deliveries first sent more than 5 s after their due time",
        value=timers.stats.late,
    )
    yield GaugeMetricFamily(
        "timer_deliveries_pending", "Timer deliveries not yet answered 2xx", value=timers.in_flight
    )


def _event_metrics(events: EventService) -> Iterator[Metric]:
    """Events for the main app: counts by event type, pending, dead letters, latency."""
    snap = events.stats.snapshot()
    for key, doc in (
        ("received", "Events taken in (gateway dispatches and Webhook Events), by type"),
        ("delivered", "Events the main app answered 2xx, by type"),
        ("dead", "Events that became dead letters, by type"),
        ("dropped", "Events dropped by the backlog bound (EVENTS_MAX_PENDING), by type"),
        ("duplicates", "Events that came again (a replay already journaled), by type"),
    ):
        yield _by_label(f"events_{key}", doc, "type", snap[key])
    yield GaugeMetricFamily("events_pending", "Events not yet delivered", value=events.pending)
    yield GaugeMetricFamily(
        "events_dead_letters", "Dead letters kept (GET /events/dead)", value=len(events.dead)
    )
    oldest = events.health().get("oldest_pending_age_s")  # idle: none
    yield GaugeMetricFamily(
        "events_oldest_pending_seconds",
        "Age of the oldest pending event (0 when none)",
        value=oldest or 0.0,
    )
    yield CounterMetricFamily(
        "events_delivery_retries",
        "Event batch attempts retried",
        value=events.sender.stats.retries,
    )
    yield CounterMetricFamily(
        "events_shared_posts",
        "Event POSTs carrying several guilds' parts (EVENTS_BATCH_MAX > 1)",
        value=snap["shared_posts"],
    )
    yield CounterMetricFamily(
        "events_shared_posts_split",
        "Shared event POSTs that failed, each guild's part then sent alone",
        value=snap["shared_split"],
    )
    yield _histogram(
        "events_delivery_latency_seconds",
        "From an event's arrival to the main app's 2xx",
        snap["latency_seconds"],
    )


def _by_label(name: str, doc: str, label: str, counts: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, count in sorted(counts.items()):
        family.add_metric([key], count)
    return family


def build_registry(
    services: Services,
    http_stats: HttpStats,
    overlay_clients: Callable[[], Mapping[str, int]],
    probes: ScrapeProbes | None = None,
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(services, http_stats, overlay_clients, probes))
    # process_* (CPU seconds, resident memory, open and max fds, start time) and python_info.
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
