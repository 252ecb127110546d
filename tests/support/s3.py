"""A real S3 API for tests: moto in server mode on a loopback port, spoken to through boto3."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3

from tests.support.network import free_port

MOTO_SERVER = Path(sys.executable).with_name("moto_server")
REGION = "eu-central-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str
    access_key: str = "moto-test-key"
    secret_key: str = "moto-test-secret"  # moto accepts any

    def env(self) -> dict[str, str]:
        """The variables that put a process's uploads on this bucket (config/settings/base.py)."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def storage_kwargs(self) -> dict[str, str]:
        return {
            "bucket": self.bucket,
            "endpoint_url": self.endpoint_url,
            "region": REGION,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
        }


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """``moto_server`` on a free loopback port with a fresh bucket; stopped on the way out."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - the venv's own moto_server
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait_until_up(endpoint, process)
        server = S3Server(endpoint_url=endpoint, bucket=f"media-{uuid.uuid4().hex[:8]}")
        server.client().create_bucket(
            Bucket=server.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _wait_until_up(endpoint: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("moto_server exited at start")
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310 - loopback
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError("moto_server did not start within 30 s")


def http_get(url: str) -> tuple[int, dict[str, str], bytes]:
    """A plain GET with no credentials, as a browser or mail client would make it (header
    names in lower case)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - test URLs
            return response.status, _lowercase(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _lowercase(error.headers), error.read()


def _lowercase(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
