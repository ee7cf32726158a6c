"""Real clients over real HTTP against a uvicorn process: the documented PHP example
(php-cli, curl multipart), a Perl client (HTTP::Tiny, urlencoded), a raw-JSON client and the
SDK.  Each succeeds with the demo credentials and fails cleanly with a wrong secret, a stale
timestamp and a tampered body."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from streampanel.client import Client, StreamPanelError
from streampanel.demo import DEMO_API_KEY, DEMO_CDN, DEMO_SECRET
from streampanel.protocol.signing import sign
from tests.clients.documented_php import php_script, run_php
from tests.conftest import MakeAccount
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow

GETAPPS = """$request = array(
        'command' => 'video.getapps',
        'api_key' => 'APX4GKLM0RKQLSP2FBO1ROPKSSW47DZE',
        'timestamp' => time(),
        'cdn' => 158,
    );"""
WRONG_SECRET = "0" * 64


@pytest.fixture
def demo(live_api: LiveServer, make_account: MakeAccount) -> LiveServer:
    make_account(
        DEMO_CDN, apps=("demo-origin", "demo-live"), api_key=DEMO_API_KEY, secret=DEMO_SECRET
    )
    make_account(159, apps=("someone-else",))
    return live_api


# --- the documented PHP example -------------------------------------------------------------


def test_php_example_succeeds(demo: LiveServer, tmp_path: Path) -> None:
    out = run_php(php_script(demo.api_url, GETAPPS), tmp_path)
    assert out["status"] == "success", out["_output"]
    assert out["message"] == "Found Applications"
    assert "[name] => demo-origin" in out["_output"]
    assert "someone-else" not in out["_output"]


@pytest.mark.parametrize(
    "change",
    [
        {"secret": WRONG_SECRET},
        {"timestamp": "time() - 3600"},
        {
            "tamper": "$json_request = str_replace("
            '\'"cdn":158\', \'"cdn":158,"x":1\', $json_request);'
        },
    ],
    ids=["wrong-secret", "stale-timestamp", "tampered-body"],
)
def test_php_example_fails_cleanly(demo: LiveServer, tmp_path: Path, change: dict) -> None:
    out = run_php(php_script(demo.api_url, GETAPPS, **change), tmp_path)
    assert out["status"] == "failure", out["_output"]
    assert out["code"] == "401"
    assert out["message"].startswith("Authentication failed")


def test_php_example_runs_a_command_with_parameters(demo: LiveServer, tmp_path: Path) -> None:
    request = """$request = array(
        'command' => 'video.getapps',
        'api_key' => 'APX4GKLM0RKQLSP2FBO1ROPKSSW47DZE',
        'timestamp' => time(),
        'cdn' => 158,
        'note' => 'caf\\u{e9} / \\u{1F600} <b>',
        'extra' => array('a' => 1.5, 'b' => array()),
    );"""
    out = run_php(php_script(demo.api_url, request), tmp_path)
    assert out["status"] == "success", out["_output"]


# --- Perl: encode_json, then the signature inserted before the final brace, urlencoded -------

PERL = r"""
use strict; use warnings;
use JSON::PP; use Digest::SHA qw(hmac_sha256_base64); use HTTP::Tiny;
my ($url, $secret, $skew, $tamper) = @ARGV;
my %request = (command => 'video.getapps', api_key => 'APX4GKLM0RKQLSP2FBO1ROPKSSW47DZE',
               timestamp => time() - $skew, cdn => 158, path => 'a/b');
my $json = encode_json(\%request);
my $sig = hmac_sha256_base64($json, $secret);
$sig .= '=' while length($sig) % 4;
$json =~ s/\}$/,"signature":"$sig"}/;
$json =~ s/"cdn":158/"cdn":158,"x":1/ if $tamper;
my $response = HTTP::Tiny->new->post_form($url, { json => $json });
print $response->{content};
"""


def run_perl(url: str, secret: str, skew: int = 0, tamper: bool = False) -> dict:
    perl = shutil.which("perl")
    assert perl
    out = subprocess.run(
        [perl, "-e", PERL, url, secret, str(skew), "1" if tamper else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_perl_urlencoded_client(demo: LiveServer) -> None:
    assert run_perl(demo.api_url, DEMO_SECRET)["status"] == "success"
    assert run_perl(demo.api_url, WRONG_SECRET)["code"] == 401
    assert run_perl(demo.api_url, DEMO_SECRET, skew=3600)["code"] == 401
    assert run_perl(demo.api_url, DEMO_SECRET, tamper=True)["code"] == 401


# --- raw JSON body, Python's own serializer (", " and ": " separators) ----------------------


def post_raw_json(url: str, secret: str, skew: int = 0, tamper: bool = False) -> dict:
    request = {
        "command": "video.getapps",
        "api_key": DEMO_API_KEY,
        "timestamp": int(time.time()) - skew,
        "cdn": DEMO_CDN,
        "title": "é/ü",
    }
    text = json.dumps(request, ensure_ascii=False)
    request["signature"] = sign(text.encode(), secret)
    body = json.dumps(request, ensure_ascii=False)
    if tamper:
        body = body.replace('"cdn": 158', '"cdn": 158, "x": 1')
    http_request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(http_request, timeout=30) as response:
        return json.loads(response.read())


def test_raw_json_client(demo: LiveServer) -> None:
    assert post_raw_json(demo.api_url, DEMO_SECRET)["status"] == "success"
    assert post_raw_json(demo.api_url, WRONG_SECRET)["code"] == 401
    assert post_raw_json(demo.api_url, DEMO_SECRET, skew=3600)["code"] == 401
    assert post_raw_json(demo.api_url, DEMO_SECRET, tamper=True)["code"] == 401


# --- the SDK ---------------------------------------------------------------------------------


def test_sdk_client(demo: LiveServer) -> None:
    with Client(demo.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET) as client:
        assert [a["name"] for a in client.video_getapps()] == ["demo-origin", "demo-live"]
    for client in (
        Client(demo.api_url, DEMO_CDN, DEMO_API_KEY, WRONG_SECRET),
        Client(demo.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET, clock=lambda: time.time() - 3600),
    ):
        with client, pytest.raises(StreamPanelError) as failure:
            client.video_getapps()
        assert failure.value.code == 401


def test_sdk_tampered_body(demo: LiveServer) -> None:
    import httpx

    client = Client(demo.api_url, DEMO_CDN, DEMO_API_KEY, DEMO_SECRET)
    signed = client.build("video.getapps")
    tampered = signed.final_json.replace('"cdn":158', '"cdn":158,"x":1')
    body = httpx.post(demo.api_url, data={"json": tampered}).json()
    assert body["code"] == 401
    client.close()


def test_sdk_unreachable_server_raises_the_one_exception_type() -> None:
    from tests.support.postgres import free_port

    with (
        Client(f"http://127.0.0.1:{free_port()}/stable/", 1, "k", "s", timeout=2) as client,
        pytest.raises(StreamPanelError) as failure,
    ):
        client.video_getapps()
    assert failure.value.code == 0
