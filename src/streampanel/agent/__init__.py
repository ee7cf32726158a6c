"""The edge agent (``streampanel agent``): an edge server's usage, live viewers and storage
to the centre over HTTPS, exactly once, with no database credentials on the edge.

- ``config``: the TOML file;
- ``logs``: access logs into the spool, block by block (the ingest block reader and parsers);
- ``spool``: aggregates the centre has not yet acknowledged, synced to disk;
- ``sender``: the spool to the centre, oldest first, with backoff;
- ``central``/``session``: HTTPS requests, the server's lease, file lookups;
- ``viewers``/``disk``: live viewers through the push route, storage per day;
- ``status``/``metrics``: lag per log, for ``agent status`` and Prometheus;
- ``runner``: the parts in their threads, started and stopped together.

The centre's side is ``streampanel.intake``; what crosses the network is ``intake.wire``.
"""
