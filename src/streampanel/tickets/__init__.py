"""Viewer tickets and publisher users (the ``sevu.*`` commands), enforced by nginx.

Pure: ``rules`` (patterns, IP rules and their binding, keys), ``dates``, ``links`` (sessions
and nginx secure_link segment links) and ``passwords`` (scrypt).  On the store: ``gate``
takes the decisions, ``purge`` removes old attempts.  ``routes`` is the HTTP face nginx and
nginx-rtmp call, ``service`` runs the purge beside the server.  See docs/tickets.md.
"""
