"""The centre's side of the edge agents: what they send (``wire``), how it is committed
(``service``: exactly once, one server per token) and the HTTP routes (``routes``).

    POST /agent/v1/hello     take or renew the server's lease; the centre's limits
    POST /agent/v1/sources   a log file's checkpoint, found by fingerprints (or created)
    POST /agent/v1/blocks    one block's totals, committed with the checkpoint's move
    POST /agent/v1/disk      the server's disk figures per storage user for a day
    POST /agent/v1/bye       give the lease up (a clean stop)

Every request carries ``Authorization: Bearer <the server's ingest token>``.
"""
