"""The SDK's sevu_* methods against the real server (both stores)."""

from __future__ import annotations

import pytest

from streampanel.client import Client, StreamPanelError
from tests.conftest import MakeAccount
from tests.support.server import LiveServer


def test_sdk_round_trip(live_api: LiveServer, make_account: MakeAccount) -> None:
    creds = make_account(158, apps=("live",))
    with Client(live_api.api_url, creds.cdn, creds.api_key, creds.secret) as api:
        ticket = api.sevu_request("live", "cam*", "pw", "auto/24", 5, expire="+1 day")
        assert (ticket["pass"], ticket["uses"], ticket["ip"]) == ("pw", 5, "auto/24")
        assert api.sevu_status(ticket["key"])["key"] == ticket["key"]
        assert api.sevu_errorlog(ticket["key"], starttime="2020-01-01") == []
        assert api.sevu_errorcount(app="live", password="pw", success=False) == []
        assert api.sevu_revoke(ticket["key"])["active"] == 0

        user = api.sevu_addstreamuser("live", "cam", "encoder", "s3cret", record=True)
        assert user["auth"] == "password" and user["record"] is True
        opened = api.sevu_addstreamuser("live", "*", None, None)
        assert opened["auth"] == "none"
        assert [u["stream"] for u in api.sevu_liststreamusers(app="live")] == ["cam", "*"]
        found = api.sevu_retrievestreamuser(app="live", stream="cam", user="encoder")
        assert found["streamuser_id"] == user["streamuser_id"]
        api.sevu_removestreamuser(user["streamuser_id"])
        api.sevu_removestreamuser(app="live", stream="*")
        assert api.sevu_liststreamusers() == []
        with pytest.raises(StreamPanelError) as refused:
            api.sevu_status("nosuch")
        assert refused.value.code == 404
