"""streampanel: a self-hosted control-panel API for video streaming CDNs."""

__version__ = "0.1.0"
