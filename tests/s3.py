"""A local S3 emulator for the tests: moto in server mode, on 127.0.0.1.

`TEST_OBJECT_STORAGE=s3` runs the whole session's files on it (tests/conftest.py): each
test gets its own prefix in one bucket, as it gets its own media directory on disk. The
object storage tests (tests/espace_sante/test_object_storage.py) start it in any run.
`TEST_S3_PORT` pins its port (default: a free one).
"""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import boto3

BUCKET = "mes-test-fichiers"
REGION = "eu-west-3"
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"  # the emulator checks no signature


def enabled() -> bool:
    """Whether the session's files go to the emulator (TEST_OBJECT_STORAGE=s3)."""
    mode = os.environ.get("TEST_OBJECT_STORAGE", "")
    if mode not in {"", "filesystem", "s3"}:
        raise RuntimeError(f"TEST_OBJECT_STORAGE must be filesystem or s3, not {mode!r}")
    return mode == "s3"


@dataclass(frozen=True)
class Emulator:
    endpoint: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def storage(self, location: str | None = None) -> dict:
        """A STORAGES["default"] entry on the emulator, under a prefix of its own."""
        return {
            "BACKEND": "espace_sante.storage.PrivateObjectStorage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": self.endpoint,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "addressing_style": "path",
                "location": location if location is not None else f"t-{uuid.uuid4().hex}",
                "default_acl": "private",
            },
        }

    def environment(self, options: dict) -> dict:
        """The variables that give another process (a Celery worker) the same storage."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": options["bucket_name"],
            "S3_ENDPOINT_URL": options["endpoint_url"],
            "S3_REGION": options["region_name"],
            "S3_ACCESS_KEY_ID": options["access_key"],
            "S3_SECRET_ACCESS_KEY": options["secret_key"],
            "S3_ADDRESSING_STYLE": options["addressing_style"],
            "S3_LOCATION": options["location"],
        }

    def objects(self, location: str) -> dict[str, bytes]:
        """Every object under the prefix, by key, with its stored bytes."""
        client = self.client()
        found = {}
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"{location}/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
                found[item["Key"]] = body
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_emulator():
    """Start moto's S3 server in a thread, create the bucket; stop it afterwards."""
    from moto.server import ThreadedMotoServer

    port = int(os.environ.get("TEST_S3_PORT") or _free_port())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        emulator = Emulator(endpoint=f"http://127.0.0.1:{port}")
        emulator.client().create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield emulator
    finally:
        server.stop()
