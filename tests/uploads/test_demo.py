"""The demo account's S3 destination (only with a configured local endpoint)."""

from __future__ import annotations

import pytest

from streampanel.demo import DEMO_CDN, seed_account
from streampanel.demo.uploads import s3_destination
from streampanel.runtime import Runtime
from streampanel.store import uploads as store
from tests.support.moto import MotoServer
from tests.uploads.conftest import s3_client


@pytest.mark.slow
def test_demo_destination_points_at_the_local_endpoint(runtime: Runtime, moto: MotoServer) -> None:
    seed_account(runtime)
    demo = Runtime(
        runtime.settings.model_copy(
            update={"demo_s3_endpoint": moto.url, "demo_s3_bucket": "demo-uploads"}
        ),
        runtime.engine,
        runtime.box,
    )
    s3_destination(demo)
    s3_destination(demo)  # idempotent
    with runtime.engine.connect() as conn:
        destination = store.get_destination(conn, runtime.box, DEMO_CDN, "aws")
        assert len(store.list_destinations(conn, DEMO_CDN)) == 1
    assert destination is not None
    assert destination.settings["endpoint_url"] == moto.url
    names = [b["Name"] for b in s3_client(moto.url).list_buckets()["Buckets"]]
    assert "demo-uploads" in names


def test_without_an_endpoint_the_demo_has_no_destination(runtime: Runtime) -> None:
    seed_account(runtime)
    s3_destination(runtime)
    with runtime.engine.connect() as conn:
        assert store.list_destinations(conn, DEMO_CDN) == []
