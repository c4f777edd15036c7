"""The project's small ASGI web framework (no Discord or overlay knowledge here)."""

from asgi_app.http.app import DEFAULT_BODY_LIMIT, App
from asgi_app.http.body import MAX_JSON_DEPTH, decode_json
from asgi_app.http.errors import ClientDisconnect, HTTPError, reason_phrase
from asgi_app.http.group import RouteGroup, RouteOptions, RouteRegistrar
from asgi_app.http.headers import Headers
from asgi_app.http.request import Request
from asgi_app.http.response import Response
from asgi_app.http.routing import BodySchema, Route
from asgi_app.http.stats import HttpStats
from asgi_app.http.types import ASGIApp, Handler, Middleware, Next

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "MAX_JSON_DEPTH",
    "ASGIApp",
    "App",
    "BodySchema",
    "ClientDisconnect",
    "HTTPError",
    "Handler",
    "Headers",
    "HttpStats",
    "Middleware",
    "Next",
    "Request",
    "Response",
    "Route",
    "RouteGroup",
    "RouteOptions",
    "RouteRegistrar",
    "decode_json",
    "reason_phrase",
]
