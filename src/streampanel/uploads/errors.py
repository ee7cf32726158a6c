"""Upload failures sorted for the worker: retry later, or fail now with the remote's word."""

from __future__ import annotations


class UploadFailure(Exception):
    """A failed transfer; ``status`` is the remote HTTP status (500 when there was none)."""

    transient: bool = False

    def __init__(self, message: str, status: int = 500):
        self.message = message
        self.status = status
        super().__init__(message)


class TransientFailure(UploadFailure):
    """Connection errors, 5xx, 429: worth retrying after a pause."""

    transient = True


class PermanentFailure(UploadFailure):
    """403, missing bucket, bad credentials, missing file: retrying cannot help."""


class LeaseLost(Exception):
    """Another worker owns the job now; stop touching it."""


class Interrupted(Exception):
    """The worker is stopping: the transfer checkpointed and the job goes back to the queue."""


def is_transient_status(status: int) -> bool:
    return status == 429 or status == 408 or status >= 500
