"""HTTPS: the centre behind TLS with a certificate of a private CA.  An agent given that CA
(``ca_file``) delivers; one without it refuses the centre (certificate verification fails),
says so once, never exits, and exposes its lag in its Prometheus metrics.  The token appears
in no log."""

from __future__ import annotations

import ipaddress
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from streampanel.runtime import Runtime
from tests.agent.helpers import (
    AgentProcess,
    clean_ingest,
    issue_token,
    usage_of,
    wait_for,
    write_config,
)
from tests.conftest import MakeAccount, server_env
from tests.ingest.test_kill import make_log
from tests.support.postgres import free_port

pytestmark = pytest.mark.slow


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    signer: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
def tls_centre(runtime: Runtime, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The centre (uvicorn with the system's app factory) on HTTPS; its URL and CA file."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("streampanel test CA", ca_key, None, ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _certificate("127.0.0.1", key, ca, ca_key)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "centre.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "centre.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    port = free_port()
    env = {**os.environ, **server_env(runtime.settings), "STREAMPANEL_BACKGROUND_SERVICES": "false"}
    with (tmp_path / "centre.log").open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "streampanel.system:app_from_environment",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ssl-certfile",
                str(tmp_path / "centre.pem"),
                "--ssl-keyfile",
                str(tmp_path / "centre.key"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"https://127.0.0.1:{port}"

    trusted = ssl.create_default_context(cafile=str(ca_file))

    def up() -> bool:
        assert process.poll() is None, (tmp_path / "centre.log").read_text()
        try:
            return httpx.get(f"{url}/healthz", verify=trusted, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 30, "the TLS centre")
        yield url, ca_file
    finally:
        process.terminate()
        process.wait(10)


def test_agent_verifies_the_centre(
    tls_centre: tuple[str, Path], runtime: Runtime, make_account: MakeAccount, tmp_path: Path
) -> None:
    url, ca_file = tls_centre
    make_account(158, apps=("alpha", "beta", "gamma"))
    log = tmp_path / "access.log"
    make_log(log, 1000)
    token_file = issue_token(runtime, "EDGE", tmp_path)
    token = token_file.read_text().strip()

    # Without the private CA the centre's certificate is not trusted: refused, retried.
    metrics_port = free_port()
    untrusting = AgentProcess(
        write_config(
            tmp_path / "untrusting.toml",
            url=url,
            server="EDGE",
            token_file=token_file,
            state_dir=tmp_path / "state-untrusting",
            logs=[log],
            extra=f"metrics_port = {metrics_port}",
        ),
        tmp_path / "untrusting.out",
    )
    try:
        wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in untrusting.log(), what="the refusal")

        def metrics() -> str:
            try:
                return httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return ""

        wait_for(lambda: "streampanel_agent_lag_bytes{" in metrics(), what="lag metrics")
        assert "streampanel_agent_centre_up 0.0" in metrics()
        lag = [
            line
            for line in metrics().splitlines()
            if line.startswith("streampanel_agent_lag_bytes{")
        ]
        assert float(lag[0].split()[-1]) == log.stat().st_size
        assert untrusting.stop() == 0  # it never exits by itself: stopped here
    finally:
        if untrusting.process.poll() is None:
            untrusting.kill()
    assert untrusting.log().count("centre unreachable") == 1

    trusting = AgentProcess(
        write_config(
            tmp_path / "trusting.toml",
            url=url,
            server="EDGE",
            token_file=token_file,
            state_dir=tmp_path / "state-trusting",
            logs=[log],
            extra=f'ca_file = "{ca_file}"',
        ),
        tmp_path / "trusting.out",
        once=True,
    )
    assert trusting.wait() == 0, trusting.log()
    assert usage_of(runtime, "EDGE") == clean_ingest(runtime, tmp_path, "CLEAN", log)
    for output in ("untrusting.out", "trusting.out", "centre.log"):
        assert token not in (tmp_path / output).read_text()
