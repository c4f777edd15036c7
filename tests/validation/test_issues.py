"""Issue, ValidationError: pointers, to_list, and messages that never echo input."""

from __future__ import annotations

import json

import pytest

from asgi_app import validation as v


def test_pointer_escapes_tilde_and_slash() -> None:
    assert v.Issue(("a", 0, "b"), "custom", "m").pointer == "/a/0/b"
    assert v.Issue(("a/b", "c~d"), "custom", "m").pointer == "/a~1b/c~0d"
    assert v.Issue((), "custom", "m").pointer == ""


def test_to_list_shape() -> None:
    s = v.object({"a": v.array(v.int())})
    with pytest.raises(v.ValidationError) as caught:
        s.parse({"a": [1, "x"]})
    assert caught.value.to_list() == [
        {
            "path": ["a", 1],
            "pointer": "/a/1",
            "code": "invalid_type",
            "message": "expected integer, received string",
        }
    ]
    json.dumps(caught.value.to_list())


def test_validation_error_text_lists_issues_without_values() -> None:
    secret = "hunter2-secret-value"
    s = v.object({"a": v.int(), "b": v.string().min(100), "c": v.literal("x")})
    with pytest.raises(v.ValidationError) as caught:
        s.parse({"a": secret, "b": secret, "c": secret})
    text = str(caught.value)
    assert text.startswith("3 validation issues: /a: expected integer")
    assert secret not in text
    assert secret not in repr(caught.value)
    assert all(secret not in issue.message for issue in caught.value.issues)


def test_validation_error_is_a_value_error_with_summary_of_many() -> None:
    error = v.ValidationError([v.Issue((i,), "custom", "bad") for i in range(8)])
    assert isinstance(error, ValueError)
    assert str(error).endswith("... and 3 more")
