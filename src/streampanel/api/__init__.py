"""The API's one request path, below HTTP: decode → authenticate → rate-limit → validate →
execute, and the one place a failure becomes an envelope.

The HTTP endpoint (``streampanel.server``) hands it request text; the panel hands it a key its
session already proved.  It imports nothing of the HTTP layer.
"""

from streampanel.api.dispatch import Dispatcher, Prepared
from streampanel.api.outcome import Outcome, failure_outcome

__all__ = ["Dispatcher", "Outcome", "Prepared", "failure_outcome"]
