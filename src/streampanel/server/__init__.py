"""The HTTP face of streampanel: the ASGI app, request bodies, dispatch, metrics."""
