"""A real S3-compatible server on loopback for the storage and cluster tests: moto's server mode, stopped at the end."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

BUCKET = "hpo-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def s3_env(endpoint: str) -> dict[str, str]:
    """What every process (driver, Ray nodes) needs to reach the server: fake keys and the endpoint."""
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": endpoint, "AWS_EC2_METADATA_DISABLED": "true"}


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1 with one bucket; yield its endpoint URL.

    A server that cannot start fails the test (moto is a dev dependency, not an optional system tool:
    ``pip install -e '.[dev]'`` installs it, and a broken install must show, not skip).
    """
    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        pytest.fail(f"moto[server] is not installed ({exc}); `pip install -e '.[dev]'` adds it", pytrace=False)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except OSError as exc:
        pytest.fail(f"moto's S3 server could not start on 127.0.0.1:{port}: {exc}", pytrace=False)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        env = s3_env(endpoint)
        boto3.client("s3", endpoint_url=endpoint, region_name=env["AWS_DEFAULT_REGION"],
                     aws_access_key_id="testing", aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()
