"""S3 transfers with boto3: multipart, streamed from disk, resumable from the stored upload id.

Parts are read straight from the job's open stored file by ``FileSlice`` (``os.pread`` on
the one descriptor the worker opened, so concurrent parts share no file position and
nothing reopens the path), so memory stays bounded by the HTTP buffers whatever the part
size.  The upload id
and part size are stored before the first part is sent; a resumed job lists the parts the
store already holds (``ListParts``) and sends only the others.  The parts handed to
``CompleteMultipartUpload`` are stored before the call, so a worker killed while it was
answering can recognise the finished object (its multipart ETag) instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
)

from streampanel.settings import Settings
from streampanel.storage import StoredFile
from streampanel.store.uploads import Destination, Job
from streampanel.uploads.errors import (
    PermanentFailure,
    TransientFailure,
    UploadFailure,
    is_transient_status,
)
from streampanel.uploads.lease import Lease
from streampanel.uploads.transfer import FileSlice, Transferred

log = logging.getLogger("streampanel.uploads.s3")

MiB = 1024 * 1024
MIN_PART = 8 * MiB
MAX_PARTS = 10_000
# The response fields of the original service's `results` (the PHP SDK's names).
RESULT_FIELDS = (
    "Bucket",
    "ETag",
    "Expiration",
    "Key",
    "Location",
    "RequestCharged",
    "SSEKMSKeyId",
    "ServerSideEncryption",
    "VersionId",
)


CHECKSUM_ALGORITHM = "CRC32"
CHECKSUM_FIELDS = (
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
)


def _part(number: int, source: dict[str, Any]) -> dict[str, Any]:
    """A part as CompleteMultipartUpload wants it, from UploadPart's or ListParts' answer."""
    part = {"PartNumber": number, "ETag": source["ETag"]}
    part.update({k: source[k] for k in CHECKSUM_FIELDS if source.get(k)})
    return part


def part_size_for(size: int) -> int:
    """8 MiB parts, larger (whole MiB) when the file would need more than 10,000 of them."""
    needed = -(-size // MAX_PARTS)
    return max(MIN_PART, -(-needed // MiB) * MiB)


# One session for the process: it caches the parsed service models, which makes a client
# ~10 ms instead of ~200 ms of CPU.  Sessions are not thread-safe, so creation is locked.
_SESSION = boto3.session.Session()
_SESSION_LOCK = threading.Lock()


def make_client(destination: Destination, settings: Settings, pool: int = 10) -> Any:
    endpoint = destination.settings.get("endpoint_url") or None
    config = Config(
        region_name=destination.settings.get("region") or "us-east-1",
        # A few quick retries per request inside botocore; the job retries with backoff.
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=10,
        read_timeout=120,
        max_pool_connections=pool,
        # Checksums stay on (botocore's default): each part carries a CRC32 trailer, which
        # is also what lets plain-http endpoints skip the SHA-256 payload hash of SigV4.
        s3={"addressing_style": "path"} if endpoint else {},
    )
    with _SESSION_LOCK:
        return _SESSION.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=destination.secrets.get("access_key"),
            aws_secret_access_key=destination.secrets.get("secret_key"),
            config=config,
        )


def classify(exc: Exception) -> UploadFailure:
    """A boto exception as a transient or permanent failure with the remote's message."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
        code = error.get("Code", "Error")
        message = f"{code}: {error.get('Message') or code}"
        if is_transient_status(status) or code in ("SlowDown", "RequestTimeout", "InternalError"):
            return TransientFailure(message, status)
        return PermanentFailure(message, status)
    if isinstance(exc, NoCredentialsError | ParamValidationError):
        return PermanentFailure(str(exc), 400)
    if isinstance(exc, BotoCoreError | OSError):
        return TransientFailure(f"{type(exc).__name__}: {exc}", 503)
    return TransientFailure(f"{type(exc).__name__}: {exc}", 500)


def _results(response: dict[str, Any], bucket: str, key: str, url: str) -> dict[str, Any]:
    results = {name: response[name] for name in RESULT_FIELDS if response.get(name)}
    results.setdefault("Bucket", bucket)
    results.setdefault("Key", key)
    results["ObjectURL"] = url
    results.setdefault("Location", url)
    return results


def _object_url(client: Any, bucket: str, key: str) -> str:
    endpoint = client.meta.endpoint_url.rstrip("/")
    return f"{endpoint}/{bucket}/{quote(key)}"


def _multipart_etag(etags: list[str]) -> str:
    digests = b"".join(bytes.fromhex(e.strip('"')) for e in etags)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(etags)}"'  # noqa: S324  (S3's ETag)


class S3Transfer:
    def __init__(
        self,
        job: Job,
        destination: Destination,
        source: StoredFile,
        lease: Lease,
        settings: Settings,
    ):
        self.job = job
        self.source = source
        self.lease = lease
        self.bucket = job.bucket
        self.key = job.destination_path
        self.concurrency = max(1, settings.s3_part_concurrency)
        self.client = make_client(destination, settings, pool=self.concurrency + 2)
        self.url = _object_url(self.client, self.bucket, self.key)
        metadata = json.loads(job.metadata or "{}")
        content_type = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        self.object_args: dict[str, Any] = {
            "ACL": job.acl or "private",
            "Metadata": metadata,
            "ContentType": content_type,
        }

    def run(self) -> dict[str, Any]:
        try:
            return self._run()
        except UploadFailure:
            raise
        except (ClientError, BotoCoreError, OSError) as exc:
            raise classify(exc) from exc
        finally:
            self.client.close()

    def _run(self) -> dict[str, Any]:
        size = self.source.size
        if size < MIN_PART:
            # One PUT: nothing worth resuming, and one request instead of three.
            with FileSlice(self.source.fd, 0, size) as body:
                response = self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=body,
                    ContentLength=size,
                    **self.object_args,
                )
            self.lease.set_bytes(size)
            return _results(response, self.bucket, self.key, self.url)
        return self._multipart(size)

    def _stored_parts(self, upload_id: str) -> dict[int, dict[str, Any]]:
        parts: dict[int, dict[str, Any]] = {}
        for page in self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=self.key, UploadId=upload_id
        ):
            for part in page.get("Parts", []):
                parts[int(part["PartNumber"])] = part
        return parts

    def _finished_earlier(self, size: int) -> dict[str, Any] | None:
        """The object a killed worker completed, recognised by its multipart ETag."""
        completing = json.loads(self.job.completing or "[]")
        expected = _multipart_etag([p["ETag"] for p in completing])
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError:
            return None
        if head.get("ETag") != expected or head.get("ContentLength") != size:
            return None
        return _results(
            {**head, "Bucket": self.bucket, "Key": self.key}, self.bucket, self.key, self.url
        )

    def _multipart(self, size: int) -> dict[str, Any]:
        upload_id = self.job.remote_session
        part_size = self.job.part_size or part_size_for(size)
        count = -(-size // part_size)
        stored: dict[int, dict[str, Any]] = {}
        if upload_id:
            try:
                stored = self._stored_parts(upload_id)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                    raise
                if self.job.completing:
                    finished = self._finished_earlier(size)
                    if finished is not None:
                        return finished
                log.info("job %s: upload %s is gone; starting over", self.job.id, upload_id)
                upload_id = None
        if not upload_id:
            part_size = part_size_for(size)
            count = -(-size // part_size)
            created = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                ChecksumAlgorithm=CHECKSUM_ALGORITHM,
                **self.object_args,
            )
            upload_id = str(created["UploadId"])
            self.lease.set_bytes(0)
            self.lease.checkpoint(remote_session=upload_id, part_size=part_size, completing=None)

        def length_of(number: int) -> int:
            return min(part_size, size - (number - 1) * part_size)

        done: dict[int, dict[str, Any]] = {}
        for number, part in stored.items():
            # A part of the wrong size (the file changed?) is sent again.
            if number <= count and int(part["Size"]) == length_of(number):
                done[number] = _part(number, part)
        self.lease.set_bytes(sum(length_of(n) for n in done))
        missing = [n for n in range(1, count + 1) if n not in done]
        log.info(
            "job %s: %d of %d parts stored, sending %d",
            self.job.id,
            len(done),
            count,
            len(missing),
        )

        def send(number: int) -> tuple[int, dict[str, Any]]:
            offset = (number - 1) * part_size
            length = length_of(number)
            with FileSlice(self.source.fd, offset, length) as body:
                response = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                    ContentLength=length,
                    ChecksumAlgorithm=CHECKSUM_ALGORITHM,
                )
            self.lease.add_bytes(length)
            return number, _part(number, response)

        self._send_all(missing, send, done)
        parts = [done[n] for n in range(1, count + 1)]
        self.lease.checkpoint(completing=json.dumps(parts))
        response = self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
        return _results(response, self.bucket, self.key, self.url)

    def _send_all(
        self,
        numbers: list[int],
        send: Callable[[int], tuple[int, dict[str, Any]]],
        done: dict[int, dict[str, Any]],
    ) -> None:
        """Send parts with a bounded window; on stop or failure, let in-flight parts finish."""
        pending = list(reversed(numbers))
        in_flight: set[Future[tuple[int, dict[str, Any]]]] = set()
        failure: BaseException | None = None
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="s3-part") as pool:
            while pending or in_flight:
                while pending and failure is None and len(in_flight) < self.concurrency:
                    try:
                        self.lease.check()
                    except Exception as exc:  # Interrupted / LeaseLost: stop submitting
                        failure = exc
                        break
                    in_flight.add(pool.submit(send, pending.pop()))
                if not in_flight:
                    break
                finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        number, part = future.result()
                        done[number] = part
                    except Exception as exc:
                        failure = failure or exc
        if failure is not None:
            raise failure


def upload(
    job: Job, destination: Destination, source: StoredFile, lease: Lease, settings: Settings
) -> Transferred:
    """Upload the job's open stored file."""
    results = S3Transfer(job, destination, source, lease, settings).run()
    return Transferred(results, "Successfully Uploaded to AWS")


def abandon(job: Job, destination: Destination, settings: Settings) -> None:
    """Abort the multipart upload of a job that failed for good, so its parts stop costing
    storage (best effort: the reason it failed may stop this too; bucket lifecycle rules
    that abort incomplete uploads are the backstop)."""
    if not job.remote_session or job.completing:
        return
    client = make_client(destination, settings)
    try:
        client.abort_multipart_upload(
            Bucket=job.bucket, Key=job.destination_path, UploadId=job.remote_session
        )
        log.info("job %s: aborted multipart upload %s", job.id, job.remote_session)
    except (ClientError, BotoCoreError) as exc:
        log.info("job %s: could not abort upload: %s", job.id, classify(exc).message)
    finally:
        client.close()
