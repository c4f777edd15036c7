"""/metrics: Prometheus collectors that read the plain-Python stats at scrape time.

The gateway package keeps counters of its own (no prometheus objects there); this module is
the one place that names them as metrics. Labels never carry tokens or user input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from asgi_app.routes.access import HttpStats
from asgi_app.services import Services

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STATUSES = ("idle", "connecting", "identifying", "resuming", "ready", "reconnecting", "failed")


def _histogram(name: str, doc: str, snapshot: Mapping[str, Any]) -> HistogramMetricFamily:
    buckets = [
        ("+Inf" if bound == float("inf") else repr(float(bound)), count)
        for bound, count in snapshot["buckets"]
    ]
    return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=snapshot["sum"])


class ServerCollector(Collector):
    def __init__(
        self,
        services: Services,
        http_stats: HttpStats,
        overlay_clients: Callable[[], Mapping[str, int]],
    ) -> None:
        self._services = services
        self._http_stats = http_stats
        self._overlay_clients = overlay_clients

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
        yield from self._relay()

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

    def _relay(self) -> Iterator[Metric]:
        relay = self._services.relay
        if relay is None:
            return
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


def _by_label(name: str, doc: str, label: str, counts: Mapping[str, int]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, count in sorted(counts.items()):
        family.add_metric([key], count)
    return family


def build_registry(
    services: Services,
    http_stats: HttpStats,
    overlay_clients: Callable[[], Mapping[str, int]],
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(services, http_stats, overlay_clients))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
