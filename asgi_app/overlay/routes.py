"""HTTP side of the overlay: GET/POST /overlay[/{name}], the OBS page and its static files."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Final

from asgi_app.http import HTTPError, Request, Response, RouteRegistrar
from asgi_app.overlay.realtime import OverlayRealtime
from asgi_app.overlay.schema import OVERLAY_DATA
from asgi_app.overlay.state import DEFAULT_OVERLAY, OverlayState, valid_name
from asgi_app.overlay.store import (
    RETRY_AFTER_SECONDS,
    OverlayStore,
    StateNotStorable,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

THEMES: Final = ("transparent", "dark", "light")
KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
#: The socket.io browser client: package data (`make node` and the Dockerfile copy it there from
#: npm, so an editable install, a wheel built after `make node` and the image all carry it),
#: else the checkout's node_modules (a checkout where only `npm ci` ran).
PACKAGED_CLIENT_JS: Final = Path(__file__).resolve().parent / "static" / "socket.io.min.js"
CHECKOUT_CLIENT_JS: Final = Path(__file__).resolve().parents[2] / (
    "node_modules/socket.io-client/dist/socket.io.min.js"
)
CLIENT_JS: Final = (
    CHECKOUT_CLIENT_JS
    if not PACKAGED_CLIENT_JS.is_file() and CHECKOUT_CLIENT_JS.is_file()
    else PACKAGED_CLIENT_JS
)
VIEW_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src http: https: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
JS_TYPE: Final = "text/javascript; charset=utf-8"
CSS_TYPE: Final = "text/css; charset=utf-8"
STATIC_CACHE: Final = "public, max-age=300"
MISSING_CLIENT: Final = (
    "The socket.io client is not installed (not in the package nor in node_modules): "
    "run `make node`"
)


@dataclass(frozen=True)
class _Asset:
    body: bytes
    content_type: str


def _package_text(*parts: str) -> str:
    return resources.files("asgi_app.overlay").joinpath(*parts).read_text(encoding="utf-8")


class _ClientScript:
    """socket.io.min.js from npm, read on first request (503 with a clear reason if absent)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._asset: _Asset | None = None

    def present(self) -> bool:
        return self.path.is_file()

    def get(self) -> _Asset:
        if self._asset is None:
            try:
                self._asset = _Asset(self.path.read_bytes(), JS_TYPE)
            except OSError:
                raise HTTPError(503, MISSING_CLIENT) from None
        return self._asset


def _overlay_name(req: Request) -> str:
    name = req.path_params.get("name", DEFAULT_OVERLAY)
    if not valid_name(name):
        raise HTTPError(404, "No overlay has this name")
    return str(name)


def register(
    app: RouteRegistrar,
    *,
    guarded: RouteRegistrar,
    store: OverlayStore,
    realtime: OverlayRealtime,
    client_js: Path = CLIENT_JS,
) -> None:
    """Add the overlay routes: the state routes on `guarded` (a route group carrying the
    access rules), the page and its files on `app` (public). The app must also mount
    `realtime.asgi` at /socket.io.
    """
    assets = {
        "overlay.js": _Asset(_package_text("static", "overlay.js").encode(), JS_TYPE),
        "overlay.css": _Asset(_package_text("static", "overlay.css").encode(), CSS_TYPE),
    }
    page = Template(_package_text("templates", "view.html"))
    client = _ClientScript(client_js)
    if not client.present():
        log.error("%s (looked for %s)", MISSING_CLIENT, client_js)

    async def read_state(req: Request, res: Response) -> None:
        name = _overlay_name(req)
        res.json(await store.get(name))

    async def write_state(req: Request, res: Response) -> None:
        name = _overlay_name(req)
        state: OverlayState = req.body_value
        try:
            await store.set(name, state)
        except StoreUnavailable as exc:
            raise HTTPError(
                503,
                f"The overlay state could not be stored: {exc}. Nothing was changed; retry.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None
        except StateNotStorable:
            raise HTTPError(
                400,
                "The overlay state cannot be stored (not serialisable as JSON); "
                "nothing was changed",
            ) from None
        clients = await realtime.publish(name, state)
        res.json({"ok": True, "overlay": name, "clients": clients})

    for path in ("/overlay", "/overlay/{name}"):
        guarded.get(
            path,
            read_state,
            summary="Current state of an overlay (/overlay is the overlay named default)",
            tags=("overlay",),
        )
        guarded.post(
            path,
            write_state,
            body=OVERLAY_DATA,
            summary="Store an overlay state and push it to every client of that overlay",
            tags=("overlay",),
        )

    async def view(req: Request, res: Response) -> None:
        name = _overlay_name(req)
        theme = req.query_param("theme")
        key = req.query_param("key") or ""
        res.html(
            page.substitute(
                name=html.escape(name),
                theme=theme if theme in THEMES else THEMES[0],
                key=key if KEY_PATTERN.fullmatch(key) else "",
            )
        )
        res.header("Content-Security-Policy", VIEW_CSP)
        res.header("Cache-Control", "no-store")

    app.get(
        "/overlay/view/{name}",
        view,
        summary="OBS browser-source page showing an overlay live (?key=view key, ?theme=)",
        tags=("overlay",),
    )

    async def static(req: Request, res: Response) -> None:
        file = req.path_params.get("file")
        asset = client.get() if file == "socket.io.min.js" else assets.get(str(file))
        if asset is None:
            raise HTTPError(404, "No such file")
        res.send(asset.body, asset.content_type)
        res.header("Cache-Control", STATIC_CACHE)

    app.get(
        "/overlay/static/{file}",
        static,
        summary="Scripts and styles of the overlay page",
        tags=("overlay",),
    )
