"""deploy/nginx/streampanel-api.conf as shipped (its placeholders filled in), run by Debian's
nginx with a certificate from a test CA, in front of two API processes on one PostgreSQL
(the application role of deploy/postgresql/roles.sql): signed SDK calls over TLS reach both
processes, each logs the real client's address, a client cannot choose its logged address
with X-Forwarded-For, and the proxy's body limit is the API's own."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from streampanel.client import Client
from tests.conftest import repo_root
from tests.deploy.conftest import Centre
from tests.support.postgres import free_port
from tests.support.server import LiveServer
from tests.support.ticket_edge import render

pytestmark = pytest.mark.slow

SHIPPED_CONFIG = repo_root() / "deploy" / "nginx" / "streampanel-api.conf"
# Another loopback address: the client is not where nginx and the API processes are.
CLIENT_ADDRESS = "127.0.0.2"

MAIN_CONF = """
{user}
daemon off;
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  access_log {dir}/access.log;
  include {dir}/streampanel-api.conf;
}}
"""


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signed for 127.0.0.1: (CA, chain, key) PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "streampanel test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, chain_file, key_file = (
        directory / "ca.pem",
        directory / "chain.pem",
        directory / "key.pem",
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return ca_file, chain_file, key_file


@dataclass
class Proxied:
    url: str
    tls: ssl.SSLContext
    apis: list[LiveServer]
    logs: list[Path]
    centre: Centre
    config: str

    def transport(self) -> httpx.HTTPTransport:
        return httpx.HTTPTransport(verify=self.tls, local_address=CLIENT_ADDRESS)

    def requests_logged(self) -> list[list[dict[str, object]]]:
        """Each API process's request events, in order."""
        logged = []
        for log in self.logs:
            events = []
            for line in log.read_text().splitlines():
                if '"event": "request"' in line:
                    events.append(json.loads(line[line.index("{") :]))
            logged.append(events)
        return logged


@pytest.fixture(scope="module")
def proxied(centre: Centre, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    if not shutil.which("nginx"):
        pytest.fail("needs Debian's nginx package")
    base = tmp_path_factory.mktemp("proxy")
    ca, chain, key = make_certificates(base)
    apis: list[LiveServer] = []
    logs: list[Path] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for number in (1, 2):
            logs.append(base / f"api{number}.log")
            env = {
                **centre.env(),
                "STREAMPANEL_BACKGROUND_SERVICES": "false",
                "STREAMPANEL_LOG_LEVEL": "info",
                # As deploy/etc/streampanel.toml: nginx, here, is the one trusted proxy.
                "STREAMPANEL_FORWARDED_ALLOW_IPS": "127.0.0.1",
            }
            apis.append(LiveServer(env, logs[-1]))
            apis[-1].start()
        port = free_port()
        shipped = SHIPPED_CONFIG.read_text()
        config = render(
            shipped,
            {
                "LISTEN": f"127.0.0.1:{port}",
                "SERVER_NAME": "127.0.0.1",
                "CERTIFICATE": str(chain),
                "CERTIFICATE_KEY": str(key),
                "API_1": f"127.0.0.1:{apis[0].port}",
                "API_2": f"127.0.0.1:{apis[1].port}",
            },
        )
        (base / "streampanel-api.conf").write_text(config)
        user = "user root;" if os.geteuid() == 0 else ""
        (base / "nginx.conf").write_text(MAIN_CONF.format(user=user, dir=base))
        with (base / "nginx.out").open("wb") as out:
            nginx = subprocess.Popen(
                ["nginx", "-c", str(base / "nginx.conf"), "-p", str(base)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        tls = ssl.create_default_context(cafile=str(ca))
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", verify=tls, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if nginx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((base / "error.log").read_text())
            time.sleep(0.1)
        yield Proxied(url, tls, apis, logs, centre, shipped)
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            nginx.wait(10)
        for api in apis:
            api.stop()


def test_signed_calls_through_tls_reach_both_processes_as_the_real_client(
    proxied: Proxied,
) -> None:
    creds = proxied.centre.credentials
    before = [len(events) for events in proxied.requests_logged()]
    with Client(
        f"{proxied.url}/stable/",
        creds.cdn,
        creds.api_key,
        creds.secret,
        transport=proxied.transport(),
    ) as client:
        for _ in range(10):
            assert [app["name"] for app in client.video_getapps()] == ["fleet-live"]
    new = [events[n:] for events, n in zip(proxied.requests_logged(), before, strict=True)]
    assert all(new), "both API processes answer behind the proxy"
    assert sum(len(events) for events in new) == 10
    for events in new:
        assert {(e["command"], e["code"], e["client"]) for e in events} == {
            ("video.getapps", 200, CLIENT_ADDRESS)
        }
    # The proxy's connections to the processes are kept open between requests.
    for api in proxied.apis:
        assert established_to(api.port), f"no kept-alive connection to {api.port}"


def established_to(port: int) -> int:
    """Established TCP connections whose remote end is 127.0.0.1:port (Linux's table)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        _, _, remote, state, *_ = line.split()
        if state == "01" and int(remote.split(":")[1], 16) == port:
            count += 1
    return count


def logged_client_of_one_call(proxied: Proxied, url: str, forwarded_for: str, local: str) -> str:
    creds = proxied.centre.credentials
    signer = Client(url, creds.cdn, creds.api_key, creds.secret)
    signed = signer.build("video.getapps")
    signer.close()
    before = [len(events) for events in proxied.requests_logged()]
    transport = httpx.HTTPTransport(verify=proxied.tls, local_address=local)
    with httpx.Client(transport=transport) as http:
        answer = http.post(
            url, data={"json": signed.final_json}, headers={"X-Forwarded-For": forwarded_for}
        )
    assert answer.json()["code"] == 200, answer.text
    new = [
        e for events, n in zip(proxied.requests_logged(), before, strict=True) for e in events[n:]
    ]
    assert len(new) == 1
    return str(new[0]["client"])


def test_a_client_cannot_choose_its_logged_address(proxied: Proxied) -> None:
    forged = "203.0.113.7"
    # Through the proxy: nginx replaces the header with the address it saw.
    assert (
        logged_client_of_one_call(proxied, f"{proxied.url}/stable/", forged, CLIENT_ADDRESS)
        == CLIENT_ADDRESS
    )
    # Straight to a process from elsewhere: the header of a non-proxy is not believed.
    direct = proxied.apis[0].api_url
    assert logged_client_of_one_call(proxied, direct, forged, CLIENT_ADDRESS) == CLIENT_ADDRESS
    # From the proxy's own address it is: the setting, not luck, decides.
    assert logged_client_of_one_call(proxied, direct, forged, "127.0.0.1") == forged


def test_the_proxy_refuses_exactly_the_bodies_the_api_refuses(proxied: Proxied) -> None:
    (limit,) = re.findall(r"client_max_body_size (\d+);", proxied.config)
    largest = int(limit)
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def post(url: str, size: int) -> httpx.Response:
        body = b"json=" + b"7" * (size - 5)
        with httpx.Client(transport=proxied.transport()) as http:
            return http.post(url, content=body, headers=form)

    for url in (f"{proxied.url}/stable/", proxied.apis[0].api_url):
        at_limit = post(url, largest)
        # Passed on: the API's own check of the JSON text answers.
        assert at_limit.json()["message"].startswith("Request JSON larger than"), url
        over = post(url, largest + 1)
        assert over.status_code == 413, url
        assert over.json()["status"] == "failure"
        assert over.json()["code"] == 413
        assert over.json()["message"] == f"Request body larger than {largest} bytes", url
