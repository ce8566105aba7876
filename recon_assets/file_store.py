"""Files kept by key in an S3 bucket (under a prefix), or without a bucket in a local folder: one store, for
the reports recon writes and the bank statements it reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import dagster as dg
from dagster_aws.s3 import S3Resource

from recon_assets.warehouse.embedded import instance_home


@dataclass(frozen=True, order=True)
class StoredFile:
    name: str  # its key, relative to the prefix or folder
    version: str  # changes whenever the file does (S3's ETag; a local file's size and modification time)
    modified: float  # seconds since the epoch
    size: int  # bytes


class FileStore(dg.ConfigurableResource):
    """Files by key: ``s3://bucket/prefix/key``, or ``<local_dir>/key`` (default: a folder of the instance
    home). A file is written whole or not at all: a local one under a hidden name, then renamed."""

    s3: S3Resource
    bucket: str | None = None
    prefix: str = ""
    local_dir: str | None = None
    default_folder: ClassVar[str]  # the instance home's folder when neither bucket nor folder is set

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}" if self.bucket else self._path(key).as_uri()

    def put(self, key: str, body: bytes, content_type: str) -> str:
        """Write ``key`` (an existing one is replaced); returns its URI."""
        if self.bucket:
            self.s3.get_client().put_object(Bucket=self.bucket, Key=self._key(key), Body=body,
                                            ContentType=content_type, ServerSideEncryption="AES256")  # fmt: skip
        else:
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")  # hidden: never listed half-written
            partial.write_bytes(body)
            partial.replace(path)
        return self.uri(key)

    def delete(self, key: str) -> None:
        if self.bucket:
            self.s3.get_client().delete_object(Bucket=self.bucket, Key=self._key(key))
        else:
            self._path(key).unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        if self.bucket:
            return self.s3.get_client().get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return any(f.name == key for f in self.files(key)) if self.bucket else self._path(key).is_file()

    def files(self, under: str = "") -> list[StoredFile]:
        """Every file whose key starts with ``under``, sorted by key (hidden local files left out)."""
        if self.bucket:
            pages = (
                self.s3.get_client()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=self.bucket, Prefix=self._key(under))
            )
            cut = len(self._key(""))
            return sorted(
                StoredFile(item["Key"][cut:].lstrip("/"), item["ETag"].strip('"'), item["LastModified"].timestamp(),
                           item["Size"])
                for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/")
            )  # fmt: skip
        root = self._path("")
        if not root.is_dir():
            return []
        return sorted(
            StoredFile(path.relative_to(root).as_posix(), f"{stat.st_size}-{stat.st_mtime_ns}", stat.st_mtime,
                       stat.st_size)
            for path in root.rglob("*")
            if path.is_file() and not path.name.startswith(".") and path.relative_to(root).as_posix().startswith(under)
            for stat in (path.stat(),)
        )  # fmt: skip

    def _key(self, key: str) -> str:
        return f"{self.prefix.rstrip('/')}/{key}" if self.prefix else key

    def _path(self, key: str) -> Path:
        return Path(self.local_dir or instance_home() / self.default_folder).resolve() / key
