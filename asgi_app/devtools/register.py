"""Wires the development tools into the app (called only when APP_ENV=development)."""

from __future__ import annotations

from asgi_app.devtools import console, events, standin, timers
from asgi_app.http import App
from asgi_app.services import Services


def register(app: App, services: Services) -> standin.StandIn:
    state = standin.StandIn()
    standin.register(app, services, state)
    console.register(app, services, state)
    timers.register(app, services)
    events.register(app, services)
    return state
