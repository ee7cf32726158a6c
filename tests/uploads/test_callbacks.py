"""Callbacks: signed, retried with backoff, refused for private addresses, outcome recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from streampanel.uploads import callbacks
from tests.support.moto import MotoServer
from tests.support.postgres import free_port
from tests.uploads.conftest import Env


class Receiver:
    """A local webhook receiver that verifies signatures and answers scripted statuses."""

    def __init__(self, secret: str, statuses: list[int] | None = None):
        self.secret = secret
        self.statuses = list(statuses or [])
        self.received: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(
                    {
                        "body": body,
                        "headers": dict(self.headers),
                        "valid": callbacks.verify(
                            receiver.secret,
                            self.headers[callbacks.TIMESTAMP_HEADER],
                            body,
                            self.headers[callbacks.SIGNATURE_HEADER],
                        ),
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(env: Env) -> Iterator[Receiver]:
    server = Receiver(env.creds.secret)
    yield server
    server.stop()


def _allow_private(env: Env) -> None:
    env.settings = env.settings.model_copy(update={"callback_allow_private": True})


def _failing_job(env: Env, callback: str) -> int:
    """A job that fails at once (its file disappears): quickest way to a final record."""
    env.set_s3("http://127.0.0.1:9", "some-bucket")
    path = env.write("jb/gone.mp4", b"x")
    job_id = env.call("aws.upload", path="sestore3/jb/gone.mp4", callback=callback)["data"]["id"]
    path.unlink()
    return job_id


@pytest.mark.slow
def test_successful_upload_posts_the_signed_final_record(
    env: Env, receiver: Receiver, moto: MotoServer, bucket: str
) -> None:
    _allow_private(env)
    env.set_s3(moto.url, bucket)
    env.write("jb/clip.mp4", b"content")
    job_id = env.call("aws.upload", path="sestore3/jb/clip.mp4", callback=receiver.url)["data"][
        "id"
    ]
    env.worker().run()

    (delivery,) = receiver.received
    assert delivery["valid"]
    record = json.loads(delivery["body"])
    status = env.call("aws.status", id=job_id)["data"]
    assert record["id"] == job_id and record["state"] == "done" and record["status"] == 200
    assert record["results"] == status["results"]
    assert delivery["headers"][callbacks.KEY_HEADER] == env.creds.api_key
    assert delivery["headers"]["Content-Type"] == "application/json"
    assert status["callback_delivery"]["state"] == "delivered"
    assert status["callback_delivery"]["http_status"] == 200
    assert status["callback_delivery"]["event_id"] == delivery["headers"][callbacks.EVENT_HEADER]


def test_signature_does_not_verify_with_another_secret_or_changed_body(
    env: Env, receiver: Receiver
) -> None:
    _allow_private(env)
    _failing_job(env, receiver.url)
    env.worker().run()
    (delivery,) = receiver.received
    headers = delivery["headers"]
    stamp, signature = headers[callbacks.TIMESTAMP_HEADER], headers[callbacks.SIGNATURE_HEADER]
    assert callbacks.verify(env.creds.secret, stamp, delivery["body"], signature)
    assert not callbacks.verify("0" * 64, stamp, delivery["body"], signature)
    assert not callbacks.verify(env.creds.secret, stamp, delivery["body"] + b" ", signature)
    assert not callbacks.verify(env.creds.secret, str(int(stamp) + 1), delivery["body"], signature)
    record = json.loads(delivery["body"])
    assert (record["state"], record["status"]) == ("failed", 404)


def test_failing_receiver_gets_retries_with_the_same_event_id(env: Env, receiver: Receiver) -> None:
    _allow_private(env)
    receiver.statuses = [500, 503]
    job_id = _failing_job(env, receiver.url)
    env.worker().run()
    assert [d["valid"] for d in receiver.received] == [True, True, True]
    assert len({d["headers"][callbacks.EVENT_HEADER] for d in receiver.received}) == 1
    assert len({d["body"] for d in receiver.received}) == 1
    delivery = env.call("aws.status", id=job_id)["data"]["callback_delivery"]
    assert (delivery["state"], delivery["attempts"], delivery["http_status"]) == (
        "delivered",
        3,
        200,
    )


def test_receiver_that_keeps_failing_is_given_up_on(env: Env, receiver: Receiver) -> None:
    _allow_private(env)
    receiver.statuses = [500] * 10
    job_id = _failing_job(env, receiver.url)
    env.worker().run()
    assert len(receiver.received) == env.settings.worker_max_attempts
    delivery = env.call("aws.status", id=job_id)["data"]["callback_delivery"]
    assert (delivery["state"], delivery["attempts"], delivery["http_status"]) == ("failed", 3, 500)


def test_private_address_callback_is_refused(env: Env, receiver: Receiver) -> None:
    job_id = _failing_job(env, receiver.url)
    env.worker().run()
    assert receiver.received == []
    delivery = env.call("aws.status", id=job_id)["data"]["callback_delivery"]
    assert delivery["state"] == "refused" and "non-public" in delivery["message"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://192.168.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.64.0.1/x",
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(callbacks.Refused):
        callbacks.check_destination(url, allow_private=False)
    callbacks.check_destination(url, allow_private=True)


def test_only_http_urls_are_called() -> None:
    with pytest.raises(callbacks.Refused):
        callbacks.check_destination("file:///etc/passwd", allow_private=True)
