"""Demo: an S3 destination for the demo account, pointing at a local S3-compatible endpoint.

Only when ``demo_s3_endpoint`` is configured (``STREAMPANEL_DEMO_S3_ENDPOINT``, e.g. a
``moto_server`` on 127.0.0.1): nothing of the demo should ever reach a real cloud account.
"""

from __future__ import annotations

import logging

from streampanel.demo import DEMO_CDN, populator
from streampanel.runtime import Runtime
from streampanel.store import uploads as store
from streampanel.store.engine import write_transaction
from streampanel.uploads.s3 import classify, make_client

log = logging.getLogger("streampanel.demo")

# Local stand-ins accept any key; a real MinIO needs its own, set with `admin destination s3`.
DEMO_ACCESS_KEY = "demo-access-key"
DEMO_SECRET_KEY = "demo-secret-key"  # noqa: S105  (not a secret: local stand-ins only)


@populator
def s3_destination(runtime: Runtime) -> None:
    """S3 destination of the demo account (with STREAMPANEL_DEMO_S3_ENDPOINT)"""
    endpoint = runtime.settings.demo_s3_endpoint
    if not endpoint:
        return
    bucket = runtime.settings.demo_s3_bucket
    with write_transaction(runtime.engine) as conn:
        existing = store.get_destination(conn, runtime.box, DEMO_CDN, "aws")
        if existing is None or existing.settings.get("endpoint_url") != endpoint:
            store.set_destination(
                conn,
                runtime.box,
                DEMO_CDN,
                "aws",
                {"bucket": bucket, "region": "us-east-1", "endpoint_url": endpoint},
                {"access_key": DEMO_ACCESS_KEY, "secret_key": DEMO_SECRET_KEY},
            )
        destination = store.get_destination(conn, runtime.box, DEMO_CDN, "aws")
    assert destination is not None
    client = make_client(destination, runtime.settings)
    try:
        client.head_bucket(Bucket=bucket)
    except Exception:
        try:
            client.create_bucket(Bucket=bucket)
        except Exception as exc:
            log.warning("demo bucket %s on %s: %s", bucket, endpoint, classify(exc).message)
    finally:
        client.close()
