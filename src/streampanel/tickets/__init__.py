"""Viewer tickets and publisher users (the ``sevu.*`` commands), enforced by nginx.

``rules`` (patterns, IP rules, keys), ``dates`` and ``links`` (session and segment links) are
pure; ``gate`` decides on the store; ``routes`` is the HTTP face nginx and nginx-rtmp call;
``service`` purges old attempts.  See docs/tickets.md.
"""
