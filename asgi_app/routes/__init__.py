"""The server's own routes (the overlay's live in asgi_app/overlay)."""
