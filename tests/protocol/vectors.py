"""The PHP signing vectors of tests/data/vectors, and the Python arrays that build them.

Each PHP literal of ``request_php_literal_description`` is written here as the equivalent
Python value, so the SDK's serializer can be checked byte for byte against real PHP.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from streampanel.protocol.phpjson import EMPTY_OBJECT

VECTORS_FILE = Path(__file__).resolve().parents[1] / "data" / "vectors" / "php_signing_vectors.json"
API_KEY = "APX4GKLM0RKQLSP2FBO1ROPKSSW47DZE"
SECRET = "8fc8c48da81e6a2a06a9556379bf798af508dc0792497c678b4c3532ba8b637f"
CDN = 158


def load_vectors() -> list[dict[str, str]]:
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


def _head(command: str, timestamp: Any, cdn: Any = CDN) -> dict[str, Any]:
    return {"command": command, "api_key": API_KEY, "timestamp": timestamp, "cdn": cdn}


PHP_ARRAYS: dict[str, dict[str, Any]] = {
    "doc_disk_usage": {**_head("disk.usage", 1695765400), "cpu": "", "starttime": 1695765373},
    "vod_path_slashes": {
        **_head("aws.upload", 1700000000),
        "path": "sestore3/username/path/filename.mp4",
        "destination_path": "videos/2023/09/filename.mp4",
        "acl": "public-read",
        "callback": "https://hooks.example.com/se/done?id=7&next=a/b",
    },
    "unicode_bmp": {
        **_head("youtube.upload", 1700000001),
        "path": "sestore3/username/café.mp4",
        "title": "café ☕",
        "description": "Grüße aus Zürich — “live” 日本語 ñ",
    },
    "emoji_astral": {
        **_head("youtube.upload", 1700000002),
        "path": "sestore1/user/a.mp4",
        "title": "😀 Live 🎥",
        "tags": "𝄞,music,🎶",
    },
    "empty_array": {**_head("disk.usage", 1700000003), "cpu": [], "starttime": "2023-09-01"},
    "empty_object_decoded_as_array": {
        **_head("aws.upload", 1700000004),
        "path": "sestore3/username/a.mp4",
        "metadata": {},
    },
    "empty_object_stdclass": {
        **_head("aws.upload", 1700000005),
        "path": "sestore3/username/a.mp4",
        "metadata": EMPTY_OBJECT,
    },
    "nested_arrays": {
        **_head("aws.upload", 1700000006),
        "path": "sestore3/username/a.mp4",
        "metadata": {
            "owner": {"name": "Ann", "ids": [1, 2, [3, [4]]]},
            "list": [[], {"k": "v"}, [1.5]],
        },
    },
    "floats": {
        **_head("aws.upload", 1700000007),
        "metadata": {
            "a": 1.5,
            "b": 0.1,
            "c": 1e25,
            "d": 10.0,
            "e": 0.1 + 0.2,
            "f": -2.5,
            "g": 1e-7,
            "h": 0.0001,
            "i": 0.0,
            "j": -0.0,
            "k": 1e15,
            "l": 1e17,
            "m": 1e18,
            "n": math.pi,
            "o": 123456789.125,
            "p": 5e-324,
            "q": 1.7976931348623157e308,
        },
    },
    "bools_null_ints": {
        **_head("aws.status", 1700000008),
        "limit": 25,
        "offset": 0,
        "flags": [True, False, None, -1, 2**63 - 1, -(2**63)],
    },
    "numeric_strings": {
        **_head("video.servers", "1700000009", "158"),
        "app": ["123", 45, "main"],
        "starttime": "2023-09",
        "extra": ["1e3", "007", "-0", "1.50", " 12"],
    },
    "string_escapes": {
        **_head("youtube.upload", 1700000010),
        "title": 'He said "hi" \\ back\\slash',
        "description": "line1\nline2\r\n\ttab \x00nul \x01 \x08bs \x0cff \x1f \x7fdel",
        "tags": "C:\\videos\\a.mp4,a\\/b",
    },
    "html_chars": {
        **_head("youtube.upload", 1700000011),
        "title": '<script>alert("x")</script>',
        "description": "Tom & Jerry's <b>show</b> > 5 < 6 &amp;",
    },
    "unicode_specials": {
        **_head("youtube.upload", 1700000012),
        "title": "sep\u2028para\u2029bom\ufeffnbsp\u00a0repl\ufffd",
        "description": "e\u0301 שלום \U0010ffff",
    },
    "numeric_keys": {
        **_head("aws.upload", 1700000013),
        "metadata": {"0": "becomes", "1": "a list"},
        "other": {"1": "a", "2": "b"},
        "sparse": {5: "x"},
    },
    "nested_signature_key": {
        **_head("aws.upload", 1700000014),
        "metadata": {"signature": "not the top-level one", "x": '"signature":"AAAA"}'},
        "note": ',"signature":"fake"}',
    },
    "viewer_wildcards": {
        **_head("viewer.livedetailed", 1700000015),
        "app": [1, "live"],
        "url": ["mystream_*", "sestore3/user/vod/*.mp4|other"],
        "starttime": "2023-11-14 00:00:00",
        "endtime": 1700000000,
        "limit": 100,
        "offset": 0,
    },
}
