"""Callbacks: signed, retried with backoff, refused for private addresses, outcome recorded."""

from __future__ import annotations

import ipaddress
import json
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from streampanel.uploads import callbacks
from tests.support.moto import MotoServer
from tests.uploads import rebinding_probe
from tests.uploads.conftest import Env
from tests.uploads.receiver import Receiver


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
        # IPv6 forms carrying a refused IPv4 address:
        "http://[::127.0.0.1]/x",  # IPv4-compatible
        "http://[::a9fe:a9fe]/x",  # IPv4-compatible 169.254.169.254
        "http://[::ffff:0:7f00:1]/x",  # IPv4-translated
        "http://[::ffff:10.0.0.1]/x",  # IPv4-mapped
        "http://[64:ff9b::7f00:1]/x",  # NAT64, well-known prefix
        "http://[64:ff9b::a9fe:a9fe]/x",
        "http://[2002:7f00:1::]/x",  # 6to4
        "http://[2002:c0a8:101::1]/x",  # 6to4 of 192.168.1.1
        # refused whatever they carry:
        "http://[64:ff9b:1::808:808]/x",  # local-use NAT64
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",  # Teredo
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(callbacks.Refused):
        callbacks.check_destination(url, allow_private=False)
    callbacks.check_destination(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::808:808]/x",  # NAT64 of 8.8.8.8
        "http://[2002:808:808::1]/x",  # 6to4 of 8.8.8.8
        "http://[2606:4700::1111]/x",
        "http://8.8.8.8/x",
    ],
)
def test_forms_carrying_a_public_address_pass(url: str) -> None:
    (address,) = callbacks.check_destination(url, allow_private=False).addresses
    assert str(address) in url


def _forged_resolver(monkeypatch: pytest.MonkeyPatch, *answers: list[str]) -> list[tuple[str, int]]:
    """The resolver the filter uses answers ``answers[0]``, then ``answers[1]``... (the last
    one again after that); returns the look-ups it was asked for."""
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[callbacks.Address]:
        asked.append((host, port))
        return [ipaddress.ip_address(a) for a in answers[min(len(asked), len(answers)) - 1]]

    monkeypatch.setattr(callbacks, "resolve", resolve)
    return asked


def _deliver(url: str, allow_private: bool = False) -> callbacks.Delivery:
    return callbacks.deliver(
        url,
        b'{"id":1}',
        secret="receiver-secret",
        api_key="key",
        event_id="evt_1",
        allow_private=allow_private,
        timeout=5,
    )


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"]
)
def test_a_real_receiver_behind_a_refused_form_gets_nothing(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    local = Receiver("receiver-secret")
    try:
        host = f"[{address}]" if ":" in address else address
        by_address = _deliver(f"http://{host}:{local.port}/hook")
        _forged_resolver(monkeypatch, [address])
        by_name = _deliver(f"http://hook.test:{local.port}/hook")
    finally:
        local.stop()
    assert (by_address.outcome, by_name.outcome) == ("refused", "refused")
    assert "non-public" in by_address.message and "non-public" in by_name.message
    assert local.received == []


def test_the_connection_goes_to_the_address_that_was_resolved_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Private addresses allowed (so both receivers are reachable): the name answers
    127.0.0.1 to the first look-up and 127.0.0.2 to any later one; the request reaches
    127.0.0.1, with the name in Host, and the name is looked up once."""
    first = Receiver("receiver-secret")
    second = Receiver("receiver-secret", host="127.0.0.2", port=first.port)
    try:
        asked = _forged_resolver(monkeypatch, ["127.0.0.1"], ["127.0.0.2"])
        delivery = _deliver(f"http://hook.test:{first.port}/hook", allow_private=True)
    finally:
        first.stop()
        second.stop()
    assert delivery.outcome == "delivered"
    assert asked == [("hook.test", first.port)]
    ((request,),) = [first.received]
    assert request["valid"] and request["headers"]["Host"] == f"hook.test:{first.port}"
    assert second.received == []


def test_the_next_checked_address_is_tried_when_one_refuses_the_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = Receiver("receiver-secret")
    try:
        _forged_resolver(monkeypatch, ["127.0.0.3", "127.0.0.1"])  # nothing on 127.0.0.3
        delivery = _deliver(f"http://hook.test:{receiver.port}/hook", allow_private=True)
    finally:
        receiver.stop()
    assert delivery.outcome == "delivered" and len(receiver.received) == 1


def _tls_context(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, Path]:
    """A server context with a self-signed certificate for ``name``, and the CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@pytest.mark.parametrize(
    ("certified", "outcome"), [("hook.test", "delivered"), ("other.test", "retry")]
)
def test_https_to_the_pinned_address_is_verified_against_the_host_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, certified: str, outcome: str
) -> None:
    """Connecting to the address does not weaken TLS: the certificate must name the URL's
    host (sent as SNI), and one for another name is refused."""
    context, ca_file = _tls_context(tmp_path, certified)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the only trusted authority
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    receiver = Receiver("receiver-secret", tls=context)
    try:
        _forged_resolver(monkeypatch, ["127.0.0.1"])
        delivery = _deliver(f"https://hook.test:{receiver.port}/hook", allow_private=True)
    finally:
        receiver.stop()
    assert delivery.outcome == outcome, delivery.message
    if outcome == "delivered":
        assert receiver.received[0]["headers"]["Host"] == f"hook.test:{receiver.port}"
    else:
        assert "CERTIFICATE_VERIFY_FAILED" in delivery.message and receiver.received == []


def test_a_name_rebinding_to_loopback_reaches_only_the_checked_address() -> None:
    """The real thing, with nothing leaving the machine: a network namespace of its own
    where a public-looking address is local too (see rebinding_probe.py)."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        pytest.skip("needs unshare(1) and ip(8) to build a private network namespace")
    setup = f"ip link set lo up && ip addr add {rebinding_probe.PUBLIC}/32 dev lo"
    result = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            "sh",
            "-c",
            f"{setup} && exec {sys.executable} -m tests.uploads.rebinding_probe",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0 and result.stderr.startswith("unshare:"):
        pytest.skip(f"no private network namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["first"] == ["delivered", 200]
    assert seen["look_ups_by_first"] == 1
    port_host = seen["public_hosts"][0]
    assert seen["public_hosts"] == [port_host] and port_host.startswith("rebind.test:")
    assert seen["public_valid"] == [True]
    assert seen["loopback_requests"] == 0
    # The next delivery looks the name up afresh, sees loopback, and is refused.
    outcome, message = seen["second"]
    assert outcome == "refused" and "127.0.0.1" in message


def test_only_http_urls_are_called() -> None:
    with pytest.raises(callbacks.Refused):
        callbacks.check_destination("file:///etc/passwd", allow_private=True)


@pytest.mark.parametrize("stamp", ["²", "١٧٠٠٠٠٠٠٠٠", "9" * 5000, "", "-1"])
def test_verify_refuses_timestamps_that_are_not_ascii_numbers(stamp: str) -> None:
    body = b"{}"
    header = callbacks.signature("s" * 64, 1_700_000_000, body)
    assert not callbacks.verify("s" * 64, stamp, body, header)
