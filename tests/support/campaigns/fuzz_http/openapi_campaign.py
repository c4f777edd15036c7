"""schemathesis against the live server's /openapi.json, authenticated.

Positive and negative cases of every documented operation, each answer checked by
schemathesis's own conformance checks (status codes, content types, response schemas and
headers as documented, negative data rejected) and by `verdict.judge` (no unexpected 5xx,
problem+json errors, no secret in any answer). Requests that take longer than the timeout
are hangs.
"""

from __future__ import annotations

import time
from typing import Any

import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.campaigns.fuzz_http.campaign import Figures, run_examples
from tests.support.campaigns.fuzz_http.live import LiveServer
from tests.support.campaigns.fuzz_http.rawhttp import DEFAULT_TIMEOUT
from tests.support.campaigns.fuzz_http.verdict import Answer, judge

CHECKS: list[CheckFunction] = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def load_schema(live: LiveServer) -> Any:
    schema = schemathesis.openapi.from_url(
        live.base_url + "/openapi.json", headers=live.auth, timeout=DEFAULT_TIMEOUT
    )
    # Sent with every case, so schemathesis does not generate (wrong) Authorization values.
    schema.config.update(headers=live.auth)
    # A body over the size limit is rejected with 413 (CONTRACT, documented on every route
    # with a body): a rejection, although schemathesis's default list of them lacks it.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


def _answer(response: Any) -> Answer:
    headers = {name.lower(): ", ".join(values) for name, values in response.headers.items()}
    return Answer(response.status_code, headers, response.content)


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return " | ".join(_failure_text(e) for e in exc.exceptions)
    title = getattr(exc, "title", None) or type(exc).__name__
    message = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return f"{title}: {message[0] if message else ''}"[:300]


def openapi_campaign(
    live: LiveServer,
    *,
    cases: int,
    rng_seed: int,
    timeout: float = DEFAULT_TIMEOUT,
    schema: Any = None,
) -> Figures:
    schema = schema if schema is not None else load_schema(live)
    strategy = schema.as_strategy(GenerationMode.POSITIVE) | schema.as_strategy(
        GenerationMode.NEGATIVE
    )
    figures = Figures("schemathesis")
    secrets = (live.token, live.sim.token)
    session = requests.Session()

    def each(case: Any) -> None:
        started = time.perf_counter()
        try:
            response = case.call(
                base_url=live.base_url, session=session, headers=live.auth, timeout=timeout
            )
        except requests.Timeout:
            figures.hangs += 1
            figures.record(_repro(case, live), ["hang"], time.perf_counter() - started)
            return
        latency = time.perf_counter() - started
        figures.statuses[response.status_code] += 1
        problems = judge(
            _answer(response), method=case.method, path=case.formatted_path, secrets=secrets
        ).problems
        try:
            case.validate_response(response, checks=CHECKS, headers=live.auth)
        except BaseException as exc:  # schemathesis raises Failure / FailureGroup
            if not isinstance(exc, Exception | BaseExceptionGroup):
                raise
            problems.append(_failure_text(exc))
        figures.record(_repro(case, live) if problems else "", problems, latency)

    started = time.perf_counter()
    try:
        run_examples(strategy, each, cases=cases, rng_seed=rng_seed)
    finally:
        session.close()
    figures.elapsed = time.perf_counter() - started
    return figures


class _Repro:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _repro(case: Any, live: LiveServer) -> _Repro:
    try:
        return _Repro(case.as_curl_command(base_url=live.base_url))
    except Exception:  # pragma: no cover - curl rendering of an odd case
        return _Repro(f"{case.method} {case.formatted_path}")
