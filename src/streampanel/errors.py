"""The one error hierarchy of the API.

Every failure a client can see is an ``ApiError`` carrying the envelope ``code`` and a
``message``; the server turns it into the failure envelope in exactly one place
(``streampanel.protocol.envelope``).  ``http_status`` is the transport status: 200 for
everything that reached command processing, the real status for transport problems.

    ApiError
    ├── BadRequest (400)             InvalidParameter, MissingParameter
    ├── AuthenticationFailed (401)
    ├── Forbidden (403)              ScopeDenied
    ├── NotFound (404)               UnknownCommand, UnknownApplication, UnknownObject
    ├── Conflict (409)
    ├── MethodNotAllowed (405, transport)
    ├── PayloadTooLarge (413, transport)
    ├── UnsupportedMediaType (415, transport)
    ├── RateLimited (429)
    ├── InternalError (500)
    └── StoreUnavailable (503)
"""

from __future__ import annotations


class ApiError(Exception):
    code: int = 500
    http_status: int = 200
    default_message: str = "Internal error"

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    code = 400
    default_message = "Bad request"


class InvalidParameter(BadRequest):
    def __init__(self, field: str, expected: str):
        self.field = field
        super().__init__(f"Invalid parameter '{field}': expected {expected}")


class MissingParameter(BadRequest):
    def __init__(self, field: str, expected: str | None = None):
        self.field = field
        detail = f": expected {expected}" if expected else ""
        super().__init__(f"Missing required parameter '{field}'{detail}")


class AuthenticationFailed(ApiError):
    code = 401
    default_message = "Authentication failed"


class Forbidden(ApiError):
    code = 403
    default_message = "Forbidden"


class ScopeDenied(Forbidden):
    def __init__(self, command: str):
        super().__init__(f"This API key is read-only and may not run '{command}'")


class NotFound(ApiError):
    code = 404
    default_message = "Not found"


class UnknownCommand(NotFound):
    def __init__(self, command: str):
        super().__init__(f"Unknown command '{command}'")


class UnknownApplication(NotFound):
    def __init__(self, app: object):
        super().__init__(f"Unknown application '{app}'")


class UnknownObject(NotFound):
    def __init__(self, kind: str, ident: object):
        super().__init__(f"Unknown {kind} '{ident}'")


class Conflict(ApiError):
    code = 409
    default_message = "Conflict"


class MethodNotAllowed(ApiError):
    code = 405
    http_status = 405
    default_message = "Method not allowed: use POST"


class PayloadTooLarge(ApiError):
    code = 413
    http_status = 413
    default_message = "Request body too large"


class UnsupportedMediaType(ApiError):
    code = 415
    http_status = 415
    default_message = (
        "Unsupported body type: send multipart/form-data or "
        "application/x-www-form-urlencoded with a 'json' field, or application/json"
    )


class RateLimited(ApiError):
    code = 429
    # HTTP 429 too, so proxies and HTTP libraries honour Retry-After.
    http_status = 429
    default_message = "Rate limit exceeded"


class InternalError(ApiError):
    code = 500
    default_message = "Internal error"


class StoreUnavailable(ApiError):
    code = 503
    default_message = "Store unavailable, try again shortly"


class TransportError(ApiError):
    """An HTTP-level failure outside the API route (unknown path, wrong method)."""

    def __init__(self, status: int, message: str):
        self.code = status
        self.http_status = status
        super().__init__(message)
