"""The HTTP layer: the ASGI app, the bare API endpoint, request bodies, error pages."""
