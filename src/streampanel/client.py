"""The Python SDK: signs requests exactly as the documented PHP example does.

    >>> client = Client("http://127.0.0.1:8080/stable/", 158, API_KEY, SECRET)
    >>> client.video_getapps()

The request array is serialized with PHP ``json_encode`` rules, HMAC'd, the ``signature``
member appended, serialized again and posted as the form field ``json`` — so the same SDK
works against streampanel and against any server that verifies the way the original API does.
Every failure raises :class:`StreamPanelError` with ``code`` and ``message``.

Exceptions:

    StreamPanelError          envelope failures (code from the envelope), and
                              transport failures (code 0: connection, timeout, not JSON)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import httpx

from streampanel.protocol.phpjson import php_json_encode
from streampanel.protocol.signing import sign

__all__ = ["Client", "SignedRequest", "StreamPanelError", "sign_request"]


class StreamPanelError(Exception):
    def __init__(self, code: int, message: str, response: dict[str, Any] | None = None):
        self.code = code
        self.message = message
        self.response = response
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class SignedRequest:
    signed_text: str
    signature: str
    final_json: str


def sign_request(request: dict[str, Any], secret: str) -> SignedRequest:
    """Sign a request array as PHP does: ``json_encode``, HMAC, append, ``json_encode``."""
    signed_text = php_json_encode(request)
    signature = sign(signed_text.encode("utf-8"), secret)
    final_json = php_json_encode({**request, "signature": signature})
    return SignedRequest(signed_text, signature, final_json)


def _record(envelope: dict[str, Any], member: str) -> dict[str, Any]:
    """The envelope's payload member that is one record."""
    return cast(dict[str, Any], envelope[member])


def _records(envelope: dict[str, Any], member: str) -> list[dict[str, Any]]:
    """The envelope's payload member that is a list of records."""
    return cast(list[dict[str, Any]], envelope[member])


def _drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class Client:
    def __init__(
        self,
        url: str,
        cdn: int,
        api_key: str,
        secret: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.url = url
        self.cdn = cdn
        self.api_key = api_key
        self._secret = secret
        self._clock = clock
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def build(self, command: str, **params: Any) -> SignedRequest:
        # The member order of the documented PHP example.
        request = {
            "command": command,
            "api_key": self.api_key,
            "timestamp": int(self._clock()),
            "cdn": self.cdn,
            **params,
        }
        return sign_request(request, self._secret)

    def call(self, command: str, **params: Any) -> dict[str, Any]:
        """Run a command; returns the whole success envelope."""
        signed = self.build(command, **params)
        try:
            response = self._http.post(self.url, data={"json": signed.final_json})
        except httpx.HTTPError as exc:
            raise StreamPanelError(0, f"cannot reach {self.url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            raise StreamPanelError(
                0, f"HTTP {response.status_code}: the answer is not JSON"
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            code = body.get("code", response.status_code) if isinstance(body, dict) else 0
            message = body.get("message", "") if isinstance(body, dict) else str(body)
            raise StreamPanelError(
                int(code), str(message), body if isinstance(body, dict) else None
            )
        return body

    # One method per command; each returns the command's payload.

    def video_getapps(self) -> list[dict[str, Any]]:
        return _records(self.call("video.getapps"), "data")

    def video_servers(self, app: Any, starttime: Any = None) -> list[dict[str, Any]]:
        return _records(
            self.call("video.servers", **_drop_none({"app": app, "starttime": starttime})), "data"
        )

    def disk_usage(self, cpu: Any, starttime: Any) -> list[dict[str, Any]]:
        return _records(self.call("disk.usage", cpu=cpu, starttime=starttime), "usage")

    def viewer_livedetailed(
        self,
        app: Any,
        url: Any,
        starttime: Any = None,
        endtime: Any = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[dict[str, Any]]:
        params = {
            "app": app,
            "url": url,
            "starttime": starttime,
            "endtime": endtime,
            "limit": limit,
            "offset": offset,
        }
        return _records(self.call("viewer.livedetailed", **_drop_none(params)), "data")

    def aws_upload(self, path: str, **options: Any) -> dict[str, Any]:
        return _record(self.call("aws.upload", path=path, **_drop_none(options)), "data")

    def aws_status(
        self, id: int | None = None, limit: int | None = None, offset: int | None = None
    ) -> Any:
        return self.call("aws.status", **_drop_none({"id": id, "limit": limit, "offset": offset}))[
            "data"
        ]

    def youtube_upload(self, path: str, title: str, **options: Any) -> dict[str, Any]:
        return _record(
            self.call("youtube.upload", path=path, title=title, **_drop_none(options)), "data"
        )

    def youtube_status(self, id: int) -> dict[str, Any]:
        return _record(self.call("youtube.status", id=id), "data")

    # Viewer tickets and publisher users.  ``pass`` is a Python keyword: the methods take
    # ``password`` and send it as ``pass``.

    def sevu_request(
        self,
        app: str,
        video: str,
        password: str,
        ip: str,
        uses: int,
        expire: Any = None,
    ) -> dict[str, Any]:
        params = {"app": app, "video": video, "pass": password, "ip": ip, "uses": uses}
        return _record(
            self.call("sevu.request", **params, **_drop_none({"expire": expire})), "ticket"
        )

    def sevu_status(self, key: str) -> dict[str, Any]:
        return _record(self.call("sevu.status", key=key), "ticket")

    def sevu_revoke(self, key: str) -> dict[str, Any]:
        return _record(self.call("sevu.revoke", key=key), "ticket")

    def sevu_errorlog(
        self,
        key: str | None = None,
        starttime: Any = None,
        limit: int | None = None,
        seek: int | None = None,
    ) -> list[dict[str, Any]]:
        params = {"key": key, "starttime": starttime, "limit": limit, "seek": seek}
        return _records(self.call("sevu.errorlog", **_drop_none(params)), "data")

    def sevu_errorcount(
        self,
        key: str | None = None,
        app: str | None = None,
        video: str | None = None,
        ip: str | None = None,
        password: str | None = None,
        success: bool | None = None,
        limit: int | None = None,
        seek: int | None = None,
    ) -> list[dict[str, Any]]:
        params = {
            "key": key,
            "app": app,
            "video": video,
            "ip": ip,
            "pass": password,
            "success": None if success is None else int(success),
            "limit": limit,
            "seek": seek,
        }
        return _records(self.call("sevu.errorcount", **_drop_none(params)), "data")

    def sevu_addstreamuser(
        self, app: Any, stream: str, user: str | None, password: str | None, **settings: Any
    ) -> dict[str, Any]:
        # user and password None are sent as null: the stream then needs no credentials.
        params = {"app": app, "stream": stream, "user": user, "pass": password}
        return _record(self.call("sevu.addstreamuser", **params, **_drop_none(settings)), "data")

    def sevu_removestreamuser(
        self,
        streamuser_id: int | None = None,
        app: Any = None,
        stream: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        params = {"streamuser_id": streamuser_id, "app": app, "stream": stream, "user": user}
        return _record(self.call("sevu.removestreamuser", **_drop_none(params)), "data")

    def sevu_liststreamusers(
        self, app: Any = None, stream: str | None = None
    ) -> list[dict[str, Any]]:
        return _records(
            self.call("sevu.liststreamusers", **_drop_none({"app": app, "stream": stream})), "data"
        )

    def sevu_retrievestreamuser(
        self,
        streamuser_id: int | None = None,
        app: Any = None,
        stream: str | None = None,
        user: str | None = None,
    ) -> dict[str, Any]:
        params = {"streamuser_id": streamuser_id, "app": app, "stream": stream, "user": user}
        return _record(self.call("sevu.retrievestreamuser", **_drop_none(params)), "data")
