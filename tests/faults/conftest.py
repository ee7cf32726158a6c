"""The upload tests' fixtures (a moto S3 server, a bucket, an account with a storage root)."""

from tests.uploads.conftest import bucket, env, moto  # noqa: F401  (re-exported fixtures)
