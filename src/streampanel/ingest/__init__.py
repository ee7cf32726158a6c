"""Access-log ingestion: per (UTC day, server, application) bytes and requests, exactly once.

- ``formats``: pure parsers, one module per log format (bytes in, polars frames out);
- ``source``: reading plain, gzip'd and piped content in blocks cut at line boundaries;
- ``checkpoints``: file identity (hash of the first bytes) and the rejects file;
- ``pipeline``: parse, aggregate and commit each block with the checkpoint;
- ``synth``: synthetic logs for the demo and the benchmark.
"""
