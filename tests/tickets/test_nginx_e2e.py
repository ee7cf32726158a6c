"""End to end with the real programs: Debian's nginx and nginx-rtmp running the shipped
configuration (deploy/nginx/tickets.conf), ffmpeg publishing live, ffmpeg players over HLS
and RTMP, and streampanel deciding over HTTP.  A valid ticket plays the whole stream (a VOD
to its end from its master playlist URL alone); every refusal is a 403 or a rejected
connection, and every attempt is in sevu.errorlog with its reason."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from streampanel.runtime import Runtime
from streampanel.store import accounts
from streampanel.store import tickets as ticket_store
from streampanel.store.engine import write_transaction
from streampanel.tickets import rules
from streampanel.tickets.links import LINK_PURPOSE
from streampanel.tickets.passwords import hash_password
from tests.conftest import Credentials, MakeAccount, clean_store
from tests.support.calls import dispatch
from tests.support.server import LiveServer
from tests.support.ticket_edge import (
    Edge,
    Relay,
    frames,
    play,
    publisher_args,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow

FPS = 10


@pytest.fixture(scope="module")
def edge(
    live_server: LiveServer, session_runtime: Runtime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    link_secret = session_runtime.box.derive_key(LINK_PURPOSE).hex()
    edge = Edge(tmp_path_factory.mktemp("edge"), live_server.url.split("//")[1], link_secret)
    yield edge
    edge.stop()


@pytest.fixture(scope="module")
def live_cam(edge: Edge, session_runtime: Runtime) -> Iterator[str]:
    """A stream published as live/cam with its stream user's credentials, for the whole
    module (each test empties the store afterwards: a running publisher does not care)."""
    engine = session_runtime.engine
    # The store as each test leaves it holds another 'live' (names are global).
    clean_store(session_runtime)
    with write_transaction(engine) as conn:
        if accounts.get_account(conn, 900) is None:
            accounts.create_account(conn, 900, "publisher")
        app_id = accounts.create_application(conn, 900, "live")
        ticket_store.save_stream_user(
            conn,
            {
                "account_id": 900,
                "application_id": app_id,
                "stream": "cam",
                "user": "encoder",
                "password_hash": hash_password("s3cret"),
                "settings": "{}",
                "created": accounts.utcnow(),
                "updated": accounts.utcnow(),
            },
        )
    log = (edge.base / "publisher.log").open("wb")
    publisher = subprocess.Popen(
        publisher_args(f"{edge.rtmp}/live/cam?user=encoder&pass=s3cret"),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: edge.playlist_ready("cam"), "live/cam on HLS")
        yield "cam"
    finally:
        stop(publisher)
        log.close()


@pytest.fixture
def creds(live_api: LiveServer, make_account: MakeAccount) -> Credentials:
    make_account(159, apps=("other",))
    return make_account(158, apps=("live",))


def ticket(runtime: Runtime, creds: Credentials, **params: Any) -> str:
    values = {"app": "live", "video": "cam", "pass": "pw", "ip": "0.0.0.0/0", "uses": 0}
    answer = dispatch(runtime, creds, "sevu.request", **{**values, **params})
    assert answer["status"] == "success", answer
    return str(answer["ticket"]["key"])


def status(runtime: Runtime, creds: Credentials, key: str) -> dict[str, Any]:
    return dict(dispatch(runtime, creds, "sevu.status", key=key)["ticket"])


def reasons(runtime: Runtime, creds: Credentials, protocol: str) -> list[tuple[str, int, str]]:
    rows = dispatch(runtime, creds, "sevu.errorlog")["data"]
    return [(r["key"], r["success"], r["reason"]) for r in rows if r["protocol"] == protocol]


def hls(edge: Edge, key: str, password: str = "pw", video: str = "cam") -> str:
    return f"{edge.url}/hls/live/{video}/index.m3u8?key={key}&pass={password}"


def refused_403(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode != 0 and "403" in result.stderr and frames(result) == 0


def test_hls_tickets(edge: Edge, live_cam: str, runtime: Runtime, creds: Credentials) -> None:
    once = ticket(runtime, creds, uses=1)
    played = play(hls(edge, once), seconds=6)
    assert played.returncode == 0, played.stderr[-2000:]
    assert frames(played) >= 5 * FPS
    # Playlists reloaded and many segments fetched: one use.
    after = status(runtime, creds, once)
    assert after["used"] == 1 and after["used_date"] != "0000-00-00 00:00:00"

    other_video = ticket(runtime, creds, video="dog")
    expired = ticket(runtime, creds, expire="2020-01-01 00:00:00")
    revoked = ticket(runtime, creds)
    dispatch(runtime, creds, "sevu.revoke", key=revoked)
    elsewhere = ticket(runtime, creds, ip="10.0.0.0/8")
    good = ticket(runtime, creds)
    cases = [
        ("", f"{edge.url}/hls/live/cam/index.m3u8", rules.INVALID_AUTH),
        (good, hls(edge, good, password="wrong"), rules.INVALID_AUTH),
        (other_video, hls(edge, other_video), rules.INVALID_VIDEO),
        (expired, hls(edge, expired), rules.EXPIRED),
        (revoked, hls(edge, revoked), rules.REVOKED),
        (once, hls(edge, once), rules.USED_UP),
        (elsewhere, hls(edge, elsewhere), rules.INVALID_IP),
    ]
    for _, url, reason in cases:
        result = play(url, seconds=2)
        assert refused_403(result), (reason, result.stderr[-1500:])
    logged = reasons(runtime, creds, "hls")
    assert logged == [(once, 1, "")] + [(key, 0, reason) for key, _, reason in cases]


def test_segments_need_their_link(
    edge: Edge, live_cam: str, runtime: Runtime, creds: Credentials
) -> None:
    key = ticket(runtime, creds, video="cam|dog")
    start = httpx.get(hls(edge, key), follow_redirects=False)
    assert start.status_code == 302
    playlist = httpx.get(edge.url + start.headers["location"])
    assert playlist.status_code == 200 and playlist.headers["cache-control"] == "no-store"
    segment = next(line for line in playlist.text.splitlines() if ".ts?" in line)
    segment_url = f"{edge.url}/hls/live/cam/{segment}"
    assert httpx.get(segment_url).status_code == 200
    bare = segment_url.split("?")[0]
    assert httpx.get(bare).status_code == 403
    # The link of one video opens no other (this ticket allows both: nginx alone decides).
    assert httpx.get(segment_url.replace("/cam/", "/dog/")).status_code == 403
    # A link altered, or used from another address.
    assert httpx.get(segment_url.replace("&e=", "&e=1")).status_code == 403
    relay = Relay(edge.http_port, "127.0.1.7")
    try:
        moved = segment_url.replace(str(edge.http_port), str(relay.port))
        assert httpx.get(moved).status_code == 403
        session_elsewhere = (edge.url + start.headers["location"]).replace(
            str(edge.http_port), str(relay.port)
        )
        assert httpx.get(session_elsewhere).status_code == 403
    finally:
        relay.close()
    # The one start of this session, and the session refused elsewhere (whose signature,
    # wrong for that address, names no ticket).
    assert reasons(runtime, creds, "hls") == [(key, 1, ""), ("", 0, rules.INVALID_SESSION)]


def test_auto_24_binds_the_first_players_network(
    edge: Edge, live_cam: str, runtime: Runtime, creds: Credentials
) -> None:
    key = ticket(runtime, creds, ip="auto/24")
    relays = {source: Relay(edge.http_port, source) for source in ("127.0.1.7", "127.0.1.9")}
    rtmp_relay = Relay(edge.rtmp_port, "127.0.2.7")
    try:
        first = play(hls(edge, key).replace(str(edge.http_port), str(relays["127.0.1.7"].port)), 3)
        assert first.returncode == 0 and frames(first) > 0, first.stderr[-1500:]
        assert status(runtime, creds, key)["ip"] == "127.0.1.0/24"
        same_network = hls(edge, key).replace(str(edge.http_port), str(relays["127.0.1.9"].port))
        second = play(same_network, 3)
        assert second.returncode == 0 and frames(second) > 0, second.stderr[-1500:]
        # This machine's own address, and an RTMP player from a third network: refused.
        assert refused_403(play(hls(edge, key), 2))
        rtmp_url = f"rtmp://127.0.0.1:{rtmp_relay.port}/live/cam?key={key}&pass=pw"
        refused = play(rtmp_url, 2, timeout=30)
        assert refused.returncode != 0 and frames(refused) == 0
    finally:
        for relay in (*relays.values(), rtmp_relay):
            relay.close()
    assert status(runtime, creds, key)["ip"] == "127.0.1.0/24"
    log = dispatch(runtime, creds, "sevu.errorlog", key=key)["data"]
    assert [(r["ip"], r["protocol"], r["reason"]) for r in log] == [
        ("127.0.1.7", "hls", ""),
        ("127.0.1.9", "hls", ""),
        ("127.0.0.1", "hls", rules.INVALID_IP),
        ("127.0.2.7", "rtmp", rules.INVALID_IP),
    ]


def test_revocation_and_expiry_stop_running_sessions(
    edge: Edge, live_cam: str, runtime: Runtime, creds: Credentials
) -> None:
    key = ticket(runtime, creds)
    session = edge.url + httpx.get(hls(edge, key), follow_redirects=False).headers["location"]
    assert httpx.get(session).status_code == 200
    dispatch(runtime, creds, "sevu.revoke", key=key)
    # New starts at once; the running session's next reload within ticket_cache_seconds.
    assert refused_403(play(hls(edge, key), 2))
    wait_for(lambda: httpx.get(session).status_code == 403, "the session refused", timeout=10)

    soon = int(time.time()) + 4
    expiring = ticket(runtime, creds, expire=soon)
    session = edge.url + httpx.get(hls(edge, expiring), follow_redirects=False).headers["location"]
    playlist = httpx.get(session)
    segment = next(line for line in playlist.text.splitlines() if ".ts?" in line)
    # Segment links end with the ticket, not a minute later.
    assert f"&e={soon}&" in segment
    segment_url = f"{edge.url}/hls/live/cam/{segment}"
    assert httpx.get(segment_url).status_code == 200
    wait_for(lambda: time.time() > soon + 1, "the expiry", timeout=10)
    assert httpx.get(session).status_code == 403
    assert httpx.get(segment_url).status_code == 403
    assert refused_403(play(hls(edge, expiring), 2))
    assert [reason for _, _, reason in reasons(runtime, creds, "hls")] == [
        "",
        rules.REVOKED,
        rules.REVOKED,
        "",
        rules.EXPIRED,
        rules.EXPIRED,
    ]


def vod(edge: Edge, seconds: int) -> None:
    """A pre-segmented VOD at /vod/live/film (1 s segments) and its master playlist."""
    folder = edge.www / "vod" / "live" / "film"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=duration={seconds}:size=160x120:rate={FPS}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            str(FPS),
            "-f",
            "hls",
            "-hls_time",
            "1",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            str(folder / "%03d.ts"),
            str(folder / "index.m3u8"),
        ],
        check=True,
        timeout=60,
    )
    (folder.parent / "film.m3u8").write_text(
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x120\nfilm/index.m3u8\n"
    )


def test_vod_plays_to_the_end_from_its_master_playlist(
    edge: Edge, runtime: Runtime, creds: Credentials
) -> None:
    vod(edge, seconds=8)
    # (the film stays for later tests: they ask for nothing under /vod/)
    key = ticket(runtime, creds, video="film", uses=1)
    played = play(f"{edge.url}/vod/live/film.m3u8?key={key}&pass=pw", seconds=None)
    assert played.returncode == 0, played.stderr[-2000:]
    assert frames(played) == 8 * FPS
    assert status(runtime, creds, key)["used"] == 1
    assert refused_403(play(f"{edge.url}/vod/live/film.m3u8?key={key}&pass=pw", seconds=None))


def test_rtmp_tickets(edge: Edge, live_cam: str, runtime: Runtime, creds: Credentials) -> None:
    once = ticket(runtime, creds, uses=1)
    played = play(f"{edge.rtmp}/live/cam?key={once}&pass=pw", seconds=3)
    assert played.returncode == 0 and frames(played) > 0, played.stderr[-1500:]
    other_video = ticket(runtime, creds, video="dog")
    expired = ticket(runtime, creds, expire="2020-01-01 00:00:00")
    revoked = ticket(runtime, creds)
    dispatch(runtime, creds, "sevu.revoke", key=revoked)
    elsewhere = ticket(runtime, creds, ip="10.0.0.0/8")
    good = ticket(runtime, creds)
    cases = [
        ("", "", rules.INVALID_AUTH),
        (good, "wrong", rules.INVALID_AUTH),
        (other_video, "pw", rules.INVALID_VIDEO),
        (expired, "pw", rules.EXPIRED),
        (revoked, "pw", rules.REVOKED),
        (once, "pw", rules.USED_UP),
        (elsewhere, "pw", rules.INVALID_IP),
    ]
    for key, password, reason in cases:
        query = f"?key={key}&pass={password}" if key else ""
        result = play(f"{edge.rtmp}/live/cam{query}", seconds=2, timeout=30)
        assert result.returncode != 0 and frames(result) == 0, (reason, result.stderr[-800:])
    assert reasons(runtime, creds, "rtmp") == [(once, 1, "")] + [
        (key, 0, reason) for key, _, reason in cases
    ]


def test_publishers_need_their_stream_user(
    edge: Edge, runtime: Runtime, creds: Credentials
) -> None:
    added = dispatch(
        runtime,
        creds,
        "sevu.addstreamuser",
        app="live",
        stream="studio",
        user="encoder",
        **{"pass": "s3cret"},
    )
    assert added["status"] == "success"
    playlist = edge.www / "hls" / "live" / "studio" / "index.m3u8"
    for query in ("", "?user=encoder&pass=wrong", "?user=intruder&pass=s3cret"):
        refused = subprocess.run(
            publisher_args(f"{edge.rtmp}/live/studio{query}", seconds=3),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode != 0, query
        assert not playlist.exists()
    log = edge.base / "studio.log"
    with log.open("wb") as out:
        publisher = subprocess.Popen(
            publisher_args(f"{edge.rtmp}/live/studio?user=encoder&pass=s3cret", seconds=6),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: playlist.exists() and ".ts" in playlist.read_text(), "studio on HLS")
        assert publisher.wait(30) == 0, log.read_text()[-1500:]
    finally:
        stop(publisher)
