from __future__ import annotations

import pytest

from gateway.rest.ratelimit import InvalidRequestCounter, route_for


@pytest.mark.parametrize(
    ("method", "path", "template", "major", "token_route"),
    [
        ("post", "/channels/1/messages", "/channels/{channel_id}/messages", "1", False),
        ("GET", "/channels/1/messages/99", "/channels/{channel_id}/messages/{id}", "1", False),
        ("PUT", "/guilds/5/bans/7?x=1", "/guilds/{guild_id}/bans/{id}", "5", False),
        (
            "POST",
            "/interactions/11/SECRET/callback",
            "/interactions/{interaction_id}/{token}/callback",
            "11/SECRET",
            True,
        ),
        (
            "PATCH",
            "/webhooks/1000/SECRET/messages/@original",
            "/webhooks/{webhook_id}/{token}/messages/@original",
            "1000/SECRET",
            True,
        ),
        ("GET", "/webhooks/1000", "/webhooks/{webhook_id}", "1000", False),
        ("GET", "/gateway/bot", "/gateway/bot", "", False),
        (
            "PUT",
            "/channels/1/messages/2/reactions/%F0%9F%91%8D/@me",
            "/channels/{channel_id}/messages/{id}/reactions/{emoji}/@me",
            "1",
            False,
        ),
    ],
)
def test_route_keeps_major_params_only(
    method: str, path: str, template: str, major: str, token_route: bool
) -> None:
    route = route_for(method, path)
    assert route.template == template
    assert route.major == major
    assert route.method == method.upper()
    assert route.token_route is token_route
    assert "SECRET" not in route.key  # the loggable key never holds a token


def test_invalid_counter_forgets_after_ten_minutes() -> None:
    now = [0.0]
    counter = InvalidRequestCounter(lambda: now[0])
    for _ in range(3):
        counter.add()
    now[0] = 300.0
    counter.add()
    assert counter.count() == 4
    now[0] = 600.5
    assert counter.count() == 1
    now[0] = 901.0
    assert counter.count() == 0


def test_tokens_are_redacted_from_log_lines() -> None:
    from gateway.rest.client import redact_tokens

    line = 'HTTP Request: POST http://x/api/v10/interactions/123/aW50-_x.y/callback "HTTP/1.1 204"'
    assert redact_tokens(line) == (
        'HTTP Request: POST http://x/api/v10/interactions/123/[token]/callback "HTTP/1.1 204"'
    )
    assert redact_tokens("/webhooks/1000/abc?wait=true") == "/webhooks/1000/[token]?wait=true"
    assert redact_tokens("/channels/1/messages") == "/channels/1/messages"
