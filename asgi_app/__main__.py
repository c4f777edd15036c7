"""`python -m asgi_app check|public-key|view-url|journal|token-check`: asgi_app/cli.py."""

from __future__ import annotations

import sys

from asgi_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
