"""What every fuzzed answer must satisfy, in one place for schemathesis, hypothesis and bench.

- no 5xx, except the documented 503 of the health routes (gateway not READY after a fuzzed
  `DELETE /discord`; its body is the health report) and of the socket.io client script when
  node_modules is missing;
- every error the app answered (it carries X-Request-Id) is application/problem+json with
  type/title/status/detail, status matching the status line (HEAD: the type only), except
  Discord's own JSON errors that the REST proxy passes back unchanged;
- answers uvicorn gave itself before the app saw the request (malformed HTTP) are 4xx;
- no marker sent in the request, and no secret, appears in the answer (body or header values,
  X-Request-Id excepted: an incoming safe request id is honoured on purpose).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PROBLEM_TYPE = "application/problem+json"
PROBLEM_KEYS = ("type", "title", "status", "detail")
#: (path prefix, status) pairs that are documented 5xx answers, not failures.
DOCUMENTED_5XX: tuple[tuple[str, int], ...] = (
    ("/health", 503),
    ("/overlay/static/", 503),
)
#: Paths whose JSON errors are another service's, passed back unchanged (the REST proxy).
PASSTHROUGH_PREFIXES: tuple[str, ...] = ("/discord/api/",)


@dataclass
class Answer:
    """One HTTP answer as a fuzzer saw it (header names lower-case)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def from_app(self) -> bool:
        return "x-request-id" in self.headers

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return not self.problems


def _documented_5xx(path: str, status: int) -> bool:
    return any(path.startswith(prefix) and status == code for prefix, code in DOCUMENTED_5XX)


def problem_issues(answer: Answer) -> list[str]:
    """Why this error answer is not a proper problem+json body ([] when it is)."""
    if answer.media_type != PROBLEM_TYPE:
        return [f"error {answer.status} has content-type {answer.media_type!r}"]
    try:
        body = json.loads(answer.body)
    except ValueError:
        return [f"error {answer.status}: problem body is not JSON"]
    if not isinstance(body, dict):
        return [f"error {answer.status}: problem body is not an object"]
    issues = [f"error {answer.status}: no {k!r}" for k in PROBLEM_KEYS if k not in body]
    if body.get("status") != answer.status:
        issues.append(f"error {answer.status}: body status is {body.get('status')!r}")
    for key in ("type", "title", "detail"):
        if key in body and not isinstance(body[key], str):
            issues.append(f"error {answer.status}: {key!r} is not a string")
    return issues


def judge(
    answer: Answer,
    *,
    method: str,
    path: str,
    markers: Iterable[str] = (),
    secrets: Iterable[str] = (),
    reflected_ok: Iterable[str] = (),
) -> Verdict:
    """Check one answer. `reflected_ok`: markers a 2xx may legitimately show (a resource
    name taken from the path, e.g. POST /overlay/{name} answers with its name)."""
    verdict = Verdict()
    status = answer.status
    if status >= 500 and not (answer.from_app and _documented_5xx(path, status)):
        verdict.problems.append(f"server error {status}")
    documented = answer.from_app and _documented_5xx(path, status)
    passed_back = path.startswith(PASSTHROUGH_PREFIXES) and answer.media_type == "application/json"
    if (
        status >= 400
        and answer.from_app
        and not passed_back
        and not (documented and path.startswith("/health"))
    ):
        if method.upper() == "HEAD":  # no body by definition; the type must still say so
            if answer.media_type != PROBLEM_TYPE:
                verdict.problems.append(f"error {status} has type {answer.media_type!r}")
        else:
            verdict.problems.extend(problem_issues(answer))
    if not answer.from_app and status < 400:
        verdict.problems.append(f"answer {status} without X-Request-Id")
    haystack = answer.body + b"\n".join(
        value.encode("latin-1", "replace")
        for name, value in answer.headers.items()
        if name != "x-request-id"
    )
    lowered = haystack.lower()
    allowed = set(reflected_ok) if status < 400 else set()
    for marker in markers:
        if marker and marker not in allowed and marker.lower().encode() in lowered:
            verdict.problems.append(f"marker {marker!r} echoed in a {status} answer")
    for secret in secrets:
        if secret and secret.encode() in haystack:
            verdict.problems.append(f"a secret appears in a {status} answer")
    return verdict
