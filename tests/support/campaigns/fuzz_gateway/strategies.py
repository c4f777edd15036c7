"""Hypothesis strategies for what a hostile or broken gateway sends (one `Fault` per case)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# Kinds, and what the shard must do with them:
#   shape    JSON of the wrong shape inside an intact stream: no crash; a dispatch is dropped
#            (logged) without a reconnect, a non-dispatch op is ignored or obeyed
#   event    a properly sequenced dispatch of an unknown event / odd data: handled, no reconnect
#   frame    a WebSocket message verbatim (arbitrary bytes or text, possibly oversized)
#   truncated  a real dispatch, compressed in-stream, cut short
#   corrupt  the simulator's corrupt_next_frame() on a real dispatch: resumable reconnect
#   close    a server close with a non-fatal code: resume or identify as the checklist says
#   hello    a fresh connection whose HELLO is of the wrong shape: reconnect
KINDS = ("shape", "event", "frame", "truncated", "corrupt", "close", "hello")


@dataclass(frozen=True)
class Fault:
    kind: str
    payload: Any = None
    cut: float = 0.5  # truncated: fraction kept
    size: int = 0  # frame: oversized random frame of this many bytes (0: use payload)

    def __repr__(self) -> str:
        shown = repr(self.payload)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        return f"Fault({self.kind}, {shown}, cut={self.cut:.2f}, size={self.size})"


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.integers(min_value=-3, max_value=12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
sequences = (
    st.integers(min_value=-(2**63), max_value=0)
    | st.integers(min_value=1, max_value=40)
    | st.integers(min_value=2**31, max_value=2**64 - 1)
    | st.integers(min_value=2**64, max_value=2**80)  # beyond 64 bits: orjson reads a float
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.booleans()
    | st.none()
    | st.lists(st.integers(), max_size=2)
)
event_names = st.sampled_from(
    ["NUMBERED", "READY", "RESUMED", "INTERACTION_CREATE", "GUILD_CREATE", "MESSAGE_CREATE"]
) | st.text(max_size=24)
MISSING = object()


@st.composite
def dispatches(draw: st.DrawFn) -> dict[str, Any]:
    """op 0 with at least one field wrong or missing."""
    payload: dict[str, Any] = {"op": 0}
    fields = {
        "t": draw(event_names | json_values),
        "s": draw(sequences),
        "d": draw(json_values),
    }
    for key, value in fields.items():
        if not draw(st.booleans()) or key != "d":
            payload[key] = value
    return payload


ops = (
    st.integers(min_value=-5, max_value=64)
    | st.integers(min_value=2**31, max_value=2**63)
    | st.sampled_from(["0", "11", "op", "", 0.0, 11.0, 1.5, True, False, None, [0], {"op": 0}])
)


@st.composite
def control(draw: st.DrawFn) -> dict[str, Any]:
    """Any op (unknown, non-int, op 1/7/9/10/11 with odd data), or no op at all."""
    payload: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        payload["op"] = draw(ops)
    if draw(st.booleans()):
        payload["d"] = draw(json_values)
    if draw(st.booleans()):
        payload["s"] = draw(sequences)
        payload["t"] = draw(event_names)
    return payload


shapes = (
    dispatches() | control() | json_values  # a bare list/number/string as the whole payload
).map(lambda p: Fault("shape", p))

events = st.tuples(event_names.filter(lambda t: t not in ("READY", "RESUMED")), json_values).map(
    lambda te: Fault("event", te)
)

frames = st.one_of(
    st.binary(max_size=2048).map(lambda b: Fault("frame", b)),
    st.text(max_size=512).map(lambda t: Fault("frame", t)),
    st.sampled_from([b"\x00\x00\xff\xff", b"\x78\x9c\x00\x00\xff\xff", b"(\xb5/\xfd", b"", ""]).map(
        lambda b: Fault("frame", b)
    ),
    st.integers(min_value=1 << 20, max_value=3 << 20).map(lambda n: Fault("frame", None, size=n)),
)

truncated = st.floats(min_value=0.0, max_value=0.99).map(lambda f: Fault("truncated", None, cut=f))

# 4004 and 4010-4014 are fatal (the shard stops by design): not input to survive.
close_codes = st.sampled_from(
    [
        1000,
        1001,
        1002,
        1003,
        1007,
        1008,
        1011,
        3000,
        4000,
        4001,
        4002,
        4003,
        4005,
        4007,
        4008,
        4009,
        4015,
        4999,
    ]
)
closes = st.tuples(close_codes, st.text(max_size=30)).map(lambda cr: Fault("close", cr))

hellos = st.one_of(
    st.just({"op": 10}),
    json_values.map(lambda d: {"op": 10, "d": d}),
    st.one_of(st.integers(max_value=0), st.floats(max_value=0), st.text(max_size=5), st.none()).map(
        lambda v: {"op": 10, "d": {"heartbeat_interval": v}}
    ),
    json_values,
).map(lambda h: Fault("hello", h))

# The campaign gives each kind its share of the cases (weights: how many shares), and lets
# hypothesis draw the payloads within a kind.
KIND_STRATEGIES: list[tuple[st.SearchStrategy[Fault], int]] = [
    (shapes, 3),
    (frames, 2),
    (events, 1),
    (closes, 1),
    (truncated, 1),
    (hellos, 1),
    (st.integers(0, 2**32).map(lambda n: Fault("corrupt", n)), 1),
]
faults = st.one_of([strategy for strategy, _ in KIND_STRATEGIES])
