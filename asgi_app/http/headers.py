"""Read-only, case-insensitive request headers built once from the ASGI header list."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping


class Headers(Mapping[str, str]):
    """Request headers; names are lower-case, repeated headers are joined with ", "."""

    __slots__ = ("_map", "raw")

    def __init__(self, raw: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self.raw = list(raw)
        values: dict[str, str] = {}
        for key, value in self.raw:
            name = key.decode("latin-1").lower()
            text = value.decode("latin-1")
            if name in values:
                values[name] = values[name] + ", " + text
            else:
                values[name] = text
        self._map = values

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._map.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __repr__(self) -> str:
        return f"Headers({sorted(self._map)!r})"
