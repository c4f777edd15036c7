"""Print the OBS browser-source URL of an overlay (its read-only view key included).

VIEW_KEY_SECRET=... (or AUTH_TOKEN=...) python -m asgi_app.overlay.viewkey NAME [BASE_URL]

The key is made with the first entry of VIEW_KEY_SECRET, or of AUTH_TOKEN when it is unset,
as the server makes it.
"""

from __future__ import annotations

import os
import sys

from asgi_app.overlay.state import valid_name, view_url


def main(argv: list[str]) -> int:
    listed = os.environ.get("VIEW_KEY_SECRET", "").strip() or os.environ.get("AUTH_TOKEN", "")
    token = listed.split(",")[0].strip()
    if len(argv) not in (1, 2) or not token or not valid_name(argv[0]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    base = argv[1] if len(argv) == 2 else "http://127.0.0.1:8000"
    print(view_url(token, argv[0], base))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
