"""Shared helpers for validation tests."""

from __future__ import annotations

from typing import Any

from asgi_app import validation as v


def issues_of(schema: v.Schema[Any], value: object) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, code) of every issue; fails when the value is accepted."""
    result = schema.safe_parse(value)
    assert not result.ok and result.error is not None, "expected the value to be rejected"
    return [(issue.path, issue.code) for issue in result.error.issues]


def messages_of(schema: v.Schema[Any], value: object) -> list[str]:
    result = schema.safe_parse(value)
    assert result.error is not None
    return [issue.message for issue in result.error.issues]
