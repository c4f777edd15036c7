"""GET /openapi.json: an OpenAPI 3.1 document generated from `app.routes` and their schemas.

Everything comes from what the routes declare (path, methods, body schema, summary, tags,
and `meta["security"]`, which the app's guarded route group sets: `SECURED`, and
`meta["passthrough"]`: `PASSTHROUGH`); nothing is
written by hand per route. Path parameters follow the router's own grammar and convertor
schemas (asgi_app.http.routing). Mounts (/socket.io) are not routes and so
are not listed. The document is built on the first request, after every route is registered,
and the same bytes are served from then on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import metadata
from typing import Any, Final

import orjson

from asgi_app.http import App, Request, Response, Route
from asgi_app.http.routing import PARAM, path_parameters
from asgi_app.validation import CODES as ISSUE_CODES

OPENAPI_VERSION: Final = "3.1.0"
DEFAULT_TITLE: Final = "Draft League companion server"
DISTRIBUTION: Final = "draft-league-companion"
SECURITY_SCHEME: Final = "authToken"
#: Route meta of the routes that need AUTH_TOKEN (the app's guarded group carries it).
SECURED: Final[dict[str, Any]] = {"security": (SECURITY_SCHEME,)}
PROBLEM_JSON: Final = "application/problem+json"

#: Documented methods; HEAD (answered for every GET) and OPTIONS (CORS) are implied.
_DOCUMENTED: Final = ("GET", "PUT", "POST", "DELETE", "PATCH")

#: Problem answers: status -> (components/responses name, description).
PROBLEMS: Final[dict[int, tuple[str, str]]] = {
    400: ("BadRequest", "The body is not valid JSON"),
    401: ("Unauthorized", "No valid AUTH_TOKEN in Authorization (plain or Bearer)"),
    403: ("Forbidden", "The request carries an Origin other than ORIGIN_URL"),
    404: ("NotFound", "No route, or no resource, matches this path"),
    405: ("MethodNotAllowed", "This path does not accept this method (see Allow)"),
    413: ("PayloadTooLarge", "The body is larger than BODY_LIMIT_BYTES"),
    415: ("UnsupportedMediaType", "The body is not application/json"),
    422: ("UnprocessableContent", "The body does not match the schema: every issue, with its path"),
    429: ("TooManyRequests", "Over RATE_LIMIT_PER_MINUTE; retry after Retry-After seconds"),
    500: ("InternalServerError", "Unexpected error: a request id, nothing internal"),
}
#: Route meta of routes that answer with another service's answers (the REST proxy: Discord's
#: own status, body and headers): documented as any content.
PASSTHROUGH: Final[dict[str, Any]] = {"passthrough": True}
GENERIC_STATUSES: Final = (404, 405, 500)
BODY_STATUSES: Final = (400, 413, 415, 422)
PROTECTED_STATUSES: Final = (401, 403, 429)

PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "RFC 9457 problem details; every error answer has this body.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "pointer": {"type": "string"},
                    "code": {
                        "type": "string",
                        "enum": sorted(ISSUE_CODES),
                        "description": "Zod 4's issue codes (see asgi_app.validation.CODES): "
                        + "; ".join(f"{code}: {when}" for code, when in ISSUE_CODES.items()),
                    },
                    "message": {"type": "string"},
                },
                "required": ["path", "pointer", "code", "message"],
            },
        },
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def package_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare tree
        return "0.0.0"


def split_path(path: str) -> tuple[str, list[dict[str, Any]]]:
    """`/items/{id:int}` -> (`/items/{id}`, [the `id` path parameter, an integer])."""
    template, found = path_parameters(path)
    params = [
        {"name": name, "in": "path", "required": True, "schema": dict(convertor.schema)}
        for name, convertor in found
    ]
    return template, params


def body_schema(schema: object) -> dict[str, Any]:
    """The route's body schema as JSON Schema (its `json_schema()`), without `$schema`."""
    to_json = getattr(schema, "json_schema", None)
    if not callable(to_json):
        return {"description": "A JSON body (its schema cannot describe itself)"}
    document = dict(to_json())
    document.pop("$schema", None)  # OpenAPI 3.1 schemas are draft 2020-12 already
    return document


def operation_id(method: str, path: str, taken: set[str]) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", PARAM.sub(r"\1", path)) if w]
    base = "_".join([method.lower(), *words]) if words else f"{method.lower()}_root"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def _ref(status: int) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{PROBLEMS[status][0]}"}


def operation(
    route: Route, method: str, params: list[dict[str, Any]], op_id: str
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": route.summary or f"{method} {route.path}",
    }
    if route.tags:
        op["tags"] = list(route.tags)
    if params:
        op["parameters"] = params
    statuses = list(GENERIC_STATUSES)
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_schema(route.body)}},
        }
        statuses.extend(BODY_STATUSES)
    security = route.meta.get("security")
    if security:
        op["security"] = [{scheme: []} for scheme in security]
        statuses.extend(PROTECTED_STATUSES)
    responses: dict[str, Any] = {"200": {"description": "OK"}}
    responses.update({str(s): _ref(s) for s in sorted(statuses)})
    responses["default"] = {"description": "Another status (errors are problem+json)"}
    if route.meta.get("passthrough"):  # the same statuses, each also the upstream's answer
        any_content: dict[str, Any] = {"*/*": {"schema": {}}}
        description = "The upstream's answer, or this server's problem+json"
        responses = {
            code: {"description": description, "content": any_content} for code in responses
        }
    op["responses"] = responses
    return op


def components() -> dict[str, Any]:
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    responses: dict[str, Any] = {}
    for status, (name, description) in sorted(PROBLEMS.items()):
        response: dict[str, Any] = {"description": description, "content": {PROBLEM_JSON: problem}}
        if status == 429:
            response["headers"] = {
                "Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}
            }
        elif status == 405:
            response["headers"] = {
                "Allow": {
                    "description": "The methods this path takes",
                    "schema": {"type": "string"},
                }
            }
        responses[name] = response
    return {
        "schemas": {"Problem": PROBLEM_SCHEMA},
        "responses": responses,
        "securitySchemes": {
            SECURITY_SCHEME: {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "AUTH_TOKEN, as it is or after `Bearer `",
            }
        },
    }


def build_document(
    routes: Iterable[Route], *, title: str = DEFAULT_TITLE, version: str | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes` (plain JSON-compatible dicts)."""
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, None] = {}
    taken: set[str] = set()
    for route in routes:
        template, params = split_path(route.path)
        item = paths.setdefault(template, {})
        for method in route.methods:
            if method not in _DOCUMENTED:
                continue
            op_id = operation_id(method, route.path, taken)
            item[method.lower()] = operation(route, method, params, op_id)
        tags.update(dict.fromkeys(route.tags))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version or package_version()},
        "tags": [{"name": name} for name in tags],
        "paths": {path: item for path, item in paths.items() if item},
        "components": components(),
    }


def register(app: App, *, path: str = "/openapi.json", title: str = DEFAULT_TITLE) -> Route:
    """Serve the document of every route of `app` (itself included) at `path`, public."""
    cached: list[bytes] = []

    async def openapi_json(req: Request, res: Response) -> None:
        if not cached:
            cached.append(orjson.dumps(build_document(app.routes, title=title)))
        res.send(cached[0], "application/json")

    return app.get(path, openapi_json, summary="This OpenAPI document", tags=("meta",))
