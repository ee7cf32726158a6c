"""Upload workers: stored files to S3 (boto3) and YouTube (google-api-python-client).

``records`` shapes a job as the API reports it; the job table itself, which is the queue,
lives in ``streampanel.store.uploads`` (claim, lease, release; a row is a typed ``Job``);
``lease`` is a claimed job as its transfer sees it (progress, checkpoints, when to stop);
``worker`` runs jobs with threads and stops cleanly on SIGTERM; ``s3`` and ``youtube`` move
the bytes, resuming from the remote session stored in the job, both reading the stored file
through the descriptor the worker opened and both returning a ``transfer.Transferred``;
``errors`` sorts failures into transient and permanent;
``backoff`` spaces the retries; ``callbacks`` delivers the signed final record; ``service``
runs a worker inside ``streampanel serve``.
"""
