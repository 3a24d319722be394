"""Where attachment bytes live: one small interface, two backends.

Every read and write of an attachment goes through a :class:`Storage`:

- :class:`LocalStorage` (the default, ``OPENCALL_STORAGE_BACKEND=local``) keeps
  files under ``OPENCALL_UPLOAD_DIR``, written atomically (temporary file, then
  rename). Good for one machine.
- :class:`S3Storage` (``OPENCALL_STORAGE_BACKEND=s3``) keeps them in a bucket of
  any S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage...) through
  boto3, so that every web process and worker on every machine reads the same
  bytes. Settings: ``OPENCALL_S3_BUCKET``, ``OPENCALL_S3_ENDPOINT_URL`` (empty for
  AWS), ``OPENCALL_S3_REGION``, ``OPENCALL_S3_PREFIX``, and credentials either in
  ``OPENCALL_S3_ACCESS_KEY_ID`` / ``OPENCALL_S3_SECRET_ACCESS_KEY`` or in boto3's
  usual chain (``AWS_*`` variables, instance profile).

Keys are relative paths chosen by the caller (attachments use
``<sha256[:2]>/<sha256>.pdf``, so a stored object never changes). A key that is
absolute, empty or climbs out with ``..`` is refused with ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from opencall.settings import Settings

_RAISE = object()  # no stand-in for an absent object: absence is an error too


class StorageError(RuntimeError):
    """The backend could not be reached or refused the operation."""


@dataclass(frozen=True)
class Stored:
    """One stored object as listed: its key, when it was last written and its size."""

    key: str
    modified: dt.datetime
    size: int


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing what was there)."""

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None when there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove ``key``; no error if it is absent."""

    def modified(self, key: str) -> dt.datetime | None:
        """When ``key`` was last written, or None when it is absent."""

    def listing(self) -> Iterator[Stored]:
        """Every stored object (the sweep of files no row refers to reads it)."""
        ...


def check_key(key: str) -> str:
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Files in a directory of this machine (today's behaviour)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes | None:
        path = self.path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def modified(self, key: str) -> dt.datetime | None:
        try:
            return dt.datetime.fromtimestamp(self.path(key).stat().st_mtime, dt.UTC)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def listing(self) -> Iterator[Stored]:
        if not self.root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # removed meanwhile
                    continue
                key = path.relative_to(self.root).as_posix()
                modified = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
                yield Stored(key, modified, st.st_size)


class S3Storage:
    """Objects in a bucket of an S3-compatible store, through boto3.

    boto3 clients are thread-safe, so one instance serves every request of a
    process. ``create_bucket=True`` creates the bucket if it is missing (for
    tests and first deployments; production buckets are usually made by the
    operator)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        create_bucket: bool = False,
    ) -> None:
        import boto3
        from botocore.config import Config

        if not bucket:
            raise ValueError("the S3 backend needs a bucket (OPENCALL_S3_BUCKET)")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=50),
        )
        if create_bucket:
            self._ensure_bucket(region)

    def _ensure_bucket(self, region: str | None) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            kwargs: dict[str, Any] = {"Bucket": self.bucket}
            if region and region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            self.client.create_bucket(**kwargs)

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _s3(self, doing: str, key: str, op: Callable[[], Any], *, missing: Any = _RAISE) -> Any:
        """``op()``'s result; a failure is a :class:`StorageError` (``doing`` names the
        action), except that an absent object gives ``missing`` when one is given."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return op()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if missing is not _RAISE and code in ("NoSuchKey", "404", "NotFound"):
                return missing
            raise StorageError(f"could not {doing} {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not {doing} {key}: {exc}") from exc

    def put(self, key: str, data: bytes) -> None:
        k = self._key(key)
        self._s3("store", key, lambda: self.client.put_object(Bucket=self.bucket, Key=k, Body=data))

    def get(self, key: str) -> bytes | None:
        k = self._key(key)
        data: bytes | None = self._s3(
            "read",
            key,
            lambda: self.client.get_object(Bucket=self.bucket, Key=k)["Body"].read(),
            missing=None,
        )
        return data

    def exists(self, key: str) -> bool:
        k = self._key(key)
        found = self._s3(
            "look up",
            key,
            lambda: self.client.head_object(Bucket=self.bucket, Key=k) is not None,
            missing=False,
        )
        return bool(found)

    def delete(self, key: str) -> None:
        k = self._key(key)
        self._s3("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=k))

    def modified(self, key: str) -> dt.datetime | None:
        k = self._key(key)
        head = self._s3(
            "look up",
            key,
            lambda: self.client.head_object(Bucket=self.bucket, Key=k),
            missing=None,
        )
        return None if head is None else head["LastModified"]

    def listing(self) -> Iterator[Stored]:
        from botocore.exceptions import BotoCoreError, ClientError

        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start
        )
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    yield Stored(obj["Key"][len(start) :], obj["LastModified"], obj["Size"])
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not list the bucket {self.bucket}: {exc}") from exc


BACKENDS = ("local", "s3")
_cache: dict[tuple[object, ...], Storage] = {}
_lock = threading.Lock()


def storage_for(settings: Settings) -> Storage:
    """The attachment store the settings select (one instance per configuration
    and process, so S3 connections are pooled across requests)."""
    backend = settings.storage_backend
    if backend not in BACKENDS:  # the settings model refuses others; a guard for hand-made ones
        raise ValueError(
            f"unknown storage backend {backend!r} (OPENCALL_STORAGE_BACKEND: one of {BACKENDS})"
        )
    if backend == "local":
        return LocalStorage(settings.upload_dir)
    ident: tuple[object, ...] = (
        backend,
        settings.s3_bucket,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.s3_prefix,
        settings.s3_access_key_id,
        settings.s3_secret_access_key,
        settings.s3_create_bucket,
    )
    with _lock:
        store = _cache.get(ident)
        if store is None:
            store = S3Storage(
                settings.s3_bucket,
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
                prefix=settings.s3_prefix,
                access_key_id=settings.s3_access_key_id,
                secret_access_key=settings.s3_secret_access_key,
                create_bucket=settings.s3_create_bucket,
            )
            _cache[ident] = store
    return store


_PROBE_DATA = b"opencall storage probe\n"


def _probe_key() -> str:
    """A key no attachment has (they are ``<sha256[:2]>/<sha256>.pdf``), one per thread."""
    return f".opencall-probe-{os.getpid()}-{threading.get_ident()}"


def unwritable_dir(root: Path) -> str | None:
    """Why files cannot be written into ``root`` (made when missing), read back and
    removed, in a few words, or None when they can."""
    store = LocalStorage(root)
    probe, data = _probe_key(), _PROBE_DATA
    try:
        root.mkdir(parents=True, exist_ok=True)
        store.put(probe, data)
        if store.get(probe) != data:
            return "a file written there does not read back the same"
        store.delete(probe)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def unusable(settings: Settings) -> str | None:
    """Why the attachment store the settings select cannot be used, in one line that names
    the setting to look at (never a credential), or None when it can: `serve` and `worker`
    ask before they start (install20), so that a store that cannot be written is found by
    the operator rather than by the first applicant whose upload fails. It writes, reads
    back and removes one probe object (a key no attachment has, so even a probe left
    behind by a killed process is nothing the sweep would remove); a missing upload
    directory is made."""
    if settings.storage_backend == "local":
        problem = unwritable_dir(Path(settings.upload_dir))
        if problem:
            return f"cannot write attachments to {settings.upload_dir} (OPENCALL_UPLOAD_DIR): {problem}"
        return None
    from botocore.exceptions import BotoCoreError, ClientError  # the S3 backend's only

    bucket = settings.s3_bucket
    endpoint = settings.s3_endpoint_url or "AWS S3"
    where = f"the bucket {bucket} at {endpoint} (OPENCALL_S3_BUCKET, OPENCALL_S3_ENDPOINT_URL)"
    probe, data = _probe_key(), _PROBE_DATA
    try:
        s3 = storage_for(settings)
        assert isinstance(s3, S3Storage)
        s3.client.head_bucket(Bucket=bucket)
        s3.put(probe, data)
        if s3.get(probe) != data:
            return f"{where}: an object written there does not read back the same"
        s3.delete(probe)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in ("404", "NoSuchBucket", "NotFound"):
            return (
                f"{where} does not exist: create it, or set OPENCALL_S3_CREATE_BUCKET=true "
                "to have it created on the first start"
            )
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return (
                f"{where} refuses these credentials ({code}): check "
                "OPENCALL_S3_ACCESS_KEY_ID and OPENCALL_S3_SECRET_ACCESS_KEY"
            )
        return f"cannot use {where}: {code}"
    except (BotoCoreError, StorageError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return f"cannot use {where}: {reason}"
    return None
