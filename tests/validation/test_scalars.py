"""string, number, int, boolean, literal, enum, datetime, any: success and every error code."""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime

import pytest

from asgi_app import validation as v

from .helpers import issues_of, messages_of


def test_string_accepts_and_rejects_by_type() -> None:
    assert v.string().parse("abc") == "abc"
    assert issues_of(v.string(), 1) == [((), "invalid_type")]
    assert messages_of(v.string(), 1) == ["expected string, received number"]
    assert messages_of(v.string(), None) == ["expected string, received null"]
    assert messages_of(v.string(), [1]) == ["expected string, received array"]


def test_string_length_checks() -> None:
    s = v.string().min(2).max(4)
    assert s.parse("abcd") == "abcd"
    assert issues_of(s, "a") == [((), "too_small")]
    assert issues_of(s, "abcde") == [((), "too_big")]
    assert messages_of(s, "a") == ["must contain at least 2 characters"]
    exact = v.string().length(3)
    assert exact.parse("abc") == "abc"
    assert issues_of(exact, "ab") == [((), "too_small")]
    assert issues_of(exact, "abcd") == [((), "too_big")]
    assert issues_of(v.string().nonempty(), "") == [((), "too_small")]
    assert messages_of(v.string().nonempty(), "") == ["must not be empty"]


def test_string_every_failed_check_is_reported() -> None:
    s = v.string().min(5).regex(r"^[a-z]+$")
    assert issues_of(s, "A1") == [((), "too_small"), ((), "invalid_format")]


def test_string_formats() -> None:
    assert v.string().regex(re.compile(r"^\d+$")).parse("123") == "123"
    assert issues_of(v.string().regex(r"^\d+$"), "12a") == [((), "invalid_format")]
    url = v.string().url()
    assert url.parse("https://example.com/a?b=1") == "https://example.com/a?b=1"
    for bad in ("example.com", "https://", "http://exa mple.com", "http://h:99999", ""):
        assert issues_of(url, bad) == [((), "invalid_format")], bad
    assert issues_of(v.string().url(["https"]), "http://example.com") == [((), "invalid_format")]
    email = v.string().email()
    assert email.parse("someone@example.org") == "someone@example.org"
    for bad in ("someone", "a@b", "a @b.co", "@b.co", "a..b@c.co"):
        assert issues_of(email, bad) == [((), "invalid_format")], bad
    stamp = v.string().datetime()
    assert stamp.parse("2024-05-01T12:00:00Z") == "2024-05-01T12:00:00Z"
    assert issues_of(stamp, "2024-05-01") == [((), "invalid_format")]
    assert issues_of(stamp, "yesterday at noon") == [((), "invalid_format")]


def test_string_trim_and_custom_message() -> None:
    assert v.string().trim().min(1).parse("  a ") == "a"
    assert messages_of(v.string().trim().min(1, "name is required"), "   ") == ["name is required"]


def test_int_excludes_bool_and_fractions() -> None:
    s = v.int()
    assert s.parse(3) == 3
    assert s.parse(3.0) == 3 and type(s.parse(3.0)) is int
    assert issues_of(s, True) == [((), "invalid_type")]
    assert messages_of(s, False) == ["expected integer, received boolean"]
    assert issues_of(s, 2.5) == [((), "invalid_type")]
    assert issues_of(s, "3") == [((), "invalid_type")]


def test_int_range_checks() -> None:
    s = v.int().min(1).max(10)
    assert s.parse(1) == 1 and s.parse(10) == 10
    assert issues_of(s, 0) == [((), "too_small")]
    assert messages_of(s, 0) == ["must be at least 1"]
    assert issues_of(s, 11) == [((), "too_big")]
    assert issues_of(v.int().gt(0), 0) == [((), "too_small")]
    assert issues_of(v.int().lt(0), 0) == [((), "too_big")]
    assert issues_of(v.int().positive(), 0) == [((), "too_small")]
    assert issues_of(v.int().nonnegative(), -1) == [((), "too_small")]
    assert issues_of(v.int().negative(), 0) == [((), "too_big")]
    assert v.int().multiple_of(5).parse(15) == 15
    assert issues_of(v.int().multiple_of(5), 7) == [((), "not_multiple_of")]
    with pytest.raises(ValueError):
        v.int().multiple_of(0)


def test_number() -> None:
    s = v.number().min(0)
    assert s.parse(1.5) == 1.5
    assert s.parse(2) == 2
    assert issues_of(s, -0.5) == [((), "too_small")]
    assert issues_of(s, True) == [((), "invalid_type")]
    assert issues_of(s, "1") == [((), "invalid_type")]
    assert issues_of(s, float("nan")) == [((), "invalid_type")]
    assert messages_of(s, float("nan")) == ["expected number, received nan"]
    assert issues_of(s, float("inf")) == [((), "invalid_type")]
    assert messages_of(s, float("inf")) == ["expected number, received infinity"]


def test_boolean() -> None:
    assert v.boolean().parse(True) is True
    assert v.boolean().parse(False) is False
    assert issues_of(v.boolean(), 0) == [((), "invalid_type")]
    assert issues_of(v.boolean(), "true") == [((), "invalid_type")]


def test_literal_tells_bool_from_int() -> None:
    assert v.literal("blue").parse("blue") == "blue"
    assert issues_of(v.literal("blue"), "red") == [((), "invalid_value")]
    assert messages_of(v.literal("blue"), "red") == ['expected "blue"']
    assert v.literal(1).parse(1) == 1
    assert issues_of(v.literal(1), True) == [((), "invalid_value")]
    assert issues_of(v.literal(True), 1) == [((), "invalid_value")]
    assert v.literal(None).parse(None) is None
    assert issues_of(v.literal(None), 0) == [((), "invalid_value")]


def test_enum_of_strings() -> None:
    s = v.enum(["online", "idle"])
    assert s.parse("idle") == "idle"
    assert issues_of(s, "away") == [((), "invalid_value")]
    assert messages_of(s, "away") == ['expected one of "online" | "idle"']
    assert issues_of(s, 1) == [((), "invalid_value")]  # Zod 4: not one of the values
    with pytest.raises(ValueError):
        v.enum([])


class Status(enum.Enum):
    ONE = 1
    WORD = "word"


def test_enum_of_python_enum() -> None:
    s = v.enum(Status)
    assert s.parse(1) is Status.ONE
    assert s.parse("word") is Status.WORD
    assert issues_of(s, True) == [((), "invalid_value")]
    assert issues_of(s, [1]) == [((), "invalid_value")]


def test_datetime() -> None:
    s = v.datetime()
    assert s.parse("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert issues_of(s, "not a date") == [((), "invalid_format")]
    assert issues_of(s, 5) == [((), "invalid_type")]


def test_any_passes_everything() -> None:
    for value in (None, 1, "x", [1], {"a": 1}):
        assert v.any().parse(value) == value
        assert v.unknown().parse(value) == value
    assert v.object({"x": v.any()}).parse({}) == {}


def test_int_refuses_integral_floats_beyond_the_safe_integer_range() -> None:
    """A JSON integer too large for 64 bits arrives as a float; it is not an exact integer."""
    from asgi_app import validation as v

    assert v.int().parse(2.0**53 - 1) == 2**53 - 1
    # issue 14: Python ints follow Zod's z.int() safe-integer range (too_big / too_small)
    assert v.int().parse(2**53 - 1) == 2**53 - 1
    assert issues_of(v.int(), 2**62) == [((), "too_big")]
    assert issues_of(v.int(), -(2**53)) == [((), "too_small")]
    result = v.int().safe_parse(9.8e24)
    assert not result.ok
    assert result.error is not None
    assert result.error.issues[0].code == "invalid_type"


def test_trim_applies_where_it_is_written() -> None:
    assert v.string().min(3).trim().parse("  a  ") == "a"
    assert issues_of(v.string().trim().min(3), "  a  ") == [((), "too_small")]


def test_email_and_datetime_follow_zod_4() -> None:
    for bad in ("a@b.-c.com", ".a@b.co", "a.@b.co"):
        assert issues_of(v.string().email(), bad) == [((), "invalid_format")], bad
    assert issues_of(v.string().datetime(), "2024-05-01T12:00:00") == [((), "invalid_format")]
    assert issues_of(v.string().datetime(), "2024-02-30T00:00:00Z") == [((), "invalid_format")]
    assert v.string().datetime(offset=True).parse("2024-05-01T12:00:00+02:00")
    assert v.string().datetime(local=True).parse("2024-05-01T12:00")
    assert v.string().datetime(precision=3).parse("2024-05-01T12:00:00.123Z")
    assert issues_of(v.string().datetime(precision=3), "2024-05-01T12:00:00Z")


def test_int_literal_accepts_the_same_number_as_a_float() -> None:
    assert v.literal(1).parse(1.0) == 1 and type(v.literal(1).parse(1.0)) is int
    assert issues_of(v.literal(1), True) == [((), "invalid_value")]


def test_bounds_may_be_fractional_or_infinite() -> None:
    s = v.object({"a": v.int().gt(0.5).lt(3.5), "b": v.number().max(float("inf"))})
    assert s.parse({"a": 1, "b": 1e300}) == {"a": 1, "b": 1e300}
    assert issues_of(s, {"a": 4, "b": 1}) == [(("a",), "too_big")]
    assert issues_of(v.int().min(float("-inf")), "x") == [((), "invalid_type")]
