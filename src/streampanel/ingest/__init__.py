"""Access-log ingestion: per (UTC day, server, application) bytes and requests, exactly once.

- ``format_names``: the formats' names (polars-free, for settings and options);
- ``formats``: pure parsers, one module per log format (bytes in, polars frames out), also
  read per request by the HLS viewer collector;
- ``source``: reading plain, gzip'd and piped content in blocks cut at line boundaries;
- ``follow``: the ``tail -F`` rules (which file, when a rotated one is done), for
  ``--follow`` and the HLS viewer collector;
- ``checkpoints``: the checkpoint of each file (identity, offset, state, guarded move);
- ``rejects``: the rejects file kept beside each file's checkpoint;
- ``attribution``: application names to application ids;
- ``blocks``: reading a log in blocks parsed ahead, handed in order to whoever keeps them
  (no store: the edge agent reads through it too);
- ``pipeline``: parse, aggregate and commit each block with the checkpoint;
- ``synth``: synthetic logs for the demo and the benchmark.
"""
