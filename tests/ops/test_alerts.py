"""deploy/prometheus and deploy/grafana: promtool accepts the rules and the scrape config, the
rules' own unit tests pass (each alert fires on the series that should raise it), and every
metric the rules and the dashboard name (with the labels they match on) is served by /metrics
of the assembled app, process and platform collectors included."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import yaml  # type: ignore[import-untyped]  # PyYAML: with uvicorn[standard], no stubs
from prometheus_client.parser import text_string_to_metric_families

from asgi_app.factory import create_app
from asgi_app.settings import load_settings
from tests.support.harness.app import discord_of
from tests.support.harness.logcapture import note_settings
from tests.support.harness.process import ROOT
from tests.support.harness.redis_server import redis_server
from tests.support.harness.server import free_port, serve
from tests.support.tools import require_tool

PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "companion-dashboard.json"
#: What PromQL spells like a name but is not a metric.
KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}
)
#: Labels Prometheus itself adds to every scraped series (and the scrape config's own).
TARGET_LABELS = frozenset({"instance", "job", "node", "le"})


def _promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    promtool = require_tool("promtool")
    done = subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    assert "SUCCESS: 7 rules found" in _promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in _promtool("test", "rules", "alerts.test.yml")


def test_promtool_accepts_the_scrape_config(tmp_path: Path) -> None:
    for name in ("prometheus.yml", "alerts.yml"):
        shutil.copy2(PROMETHEUS / name, tmp_path / name)
    (tmp_path / "metrics-token").write_text("a-metrics-token-for-the-check-0123456789\n")
    out = _promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert "is valid prometheus config file syntax" in out


def test_the_alerts_the_issue_asks_for_are_there() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"][0]["rules"]
    by_name = {rule["alert"]: rule for rule in rules}
    assert by_name["CompanionGatewayNotReady"]["for"] == "1m"
    for name in (
        "CompanionInteractionsUnacknowledged",
        "CompanionForwardsFailing",
        "CompanionIdentifyBudgetLow",
        "CompanionRedisDown",
        "CompanionTimerDeadLetters",  # the dead letters there are: league timers' deliveries
    ):
        assert name in by_name, name
        assert by_name[name]["annotations"]["summary"], name


# -- the names in PromQL ---------------------------------------------------------------------


def _selectors(expr: str) -> Iterator[tuple[str, set[str]]]:
    """(metric name, label names it matches on) for each metric named in `expr`."""
    text = re.sub(r"\$\{?\w+\}?", "1", expr)  # Grafana's variables, e.g. $__rate_interval
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    pattern = re.compile(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?")
    for found in pattern.finditer(re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)):
        name, matchers, call = found.groups()
        if call is not None or name in KEYWORDS:
            continue  # a function (rate, sum, histogram_quantile...) or an operator
        labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers or ""))
        yield name, labels


def _rules_exprs() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(re.sub(r"^label_values\((\w+),.*\)$", r"\1", variable["definition"]))
    return exprs


def test_the_promql_reader_finds_names_and_labels() -> None:
    found = dict(
        _selectors(
            'histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{x="1", y=~"$v"}'
            "[$__rate_interval]))) / on (instance) b_total > 0.1 * c or vector(1e3)"
        )
    )
    assert found == {"a_bucket": {"x", "y"}, "b_total": set(), "c": set()}


def test_the_dashboard_is_importable_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "instance"} <= variables
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert 'instance=~"$instance"' in target["expr"], (panel["title"], target["expr"])


# -- against /metrics of the assembled app ---------------------------------------------------


def _served(text: str) -> dict[str, set[str]]:
    """Every name /metrics serves (families and samples: `x_total`, `x_bucket`...) -> the
    label names seen on it."""
    served: dict[str, set[str]] = {}
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    for family in text_string_to_metric_families(text):
        for name in (family.name, *(family.name + s for s in suffixes.get(family.type, ()))):
            served.setdefault(name, set())
        for sample in family.samples:
            served.setdefault(sample.name, set()).update(sample.labels)
            served[family.name].update(sample.labels)
    return served


async def _metrics_of_the_assembled_app(tmp_path: Path) -> str:
    """Development mode (its embedded simulator and stand-in main app) with REDIS_URL; one
    command fired through it, then /metrics."""
    require_tool("redis-server")
    async with redis_server() as redis_url:
        port = free_port()
        env = {
            "APP_ENV": "development",
            "PORT": str(port),
            "STATE_DIR": str(tmp_path),
            "REDIS_URL": redis_url,
        }
        app = create_app(note_settings(load_settings(env, env_file=None)))
        token = app.settings.auth_token.get()
        async with (
            serve(app, port=port, lifespan="on") as url,
            httpx.AsyncClient(base_url=url, timeout=40) as client,
        ):
            gateway = discord_of(app).gateway
            assert gateway is not None
            await asyncio.wait_for(gateway.wait_for("ready"), 10)
            fired = (await client.post("/dev/fire", json={"kind": "command"})).json()
            assert fired["finished"] is True, fired
            answer = await client.get("/metrics", headers={"Authorization": token})
            assert answer.status_code == 200, answer.text
            return answer.text


async def test_every_metric_the_rules_and_the_dashboard_name_is_served(tmp_path: Path) -> None:
    served = _served(await _metrics_of_the_assembled_app(tmp_path))
    # The collectors of item 5 and the figures the alerts need are really there.
    for name in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "python_info",
        "redis_up",
        "gateway_identify_remaining",
        "gateway_identify_total",
    ):
        assert name in served, name
    named: dict[str, set[str]] = {}
    for expr in _rules_exprs() + _dashboard_exprs():
        for name, labels in _selectors(expr):
            named.setdefault(name, set()).update(labels)
    assert len(named) >= 20, sorted(named)  # the reader saw the expressions
    missing = sorted(set(named) - set(served))
    assert not missing, f"named by the rules or the dashboard, not served: {missing}"
    for name, labels in named.items():
        unknown = labels - served[name] - TARGET_LABELS
        assert not unknown or not served[name], f"{name} has no label {sorted(unknown)}"


def test_alerts_name_only_what_the_dashboard_can_show() -> None:
    """Every metric an alert uses is on the dashboard too, so a page can be looked into."""
    on_dashboard = {name for expr in _dashboard_exprs() for name, _ in _selectors(expr)}
    in_rules = {name for expr in _rules_exprs() for name, _ in _selectors(expr)}
    assert in_rules <= on_dashboard, sorted(in_rules - on_dashboard)
