"""Where the bank's statement files arrive: ``s3://$BANK_STATEMENTS_BUCKET/$BANK_STATEMENTS_PREFIX``, or
without a bucket a folder (``RECON_BANK_STATEMENTS_DIR``, default ``<instance home>/bank_statements``)."""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource

from recon_assets.environment import from_environment
from recon_assets.warehouse.embedded import instance_home


@dataclass(frozen=True, order=True)
class StatementFile:
    name: str  # relative to the prefix or folder
    version: str  # changes whenever the file does (S3's ETag; a local file's size and modification time)
    modified: float  # seconds since the epoch: of two statements of one account and day, the later wins


class BankStatementFiles(dg.ConfigurableResource):
    """The statement files delivered so far, read-only."""

    s3: S3Resource
    bucket: str | None = None
    prefix: str = ""
    local_dir: str | None = None

    def files(self) -> list[StatementFile]:
        if self.bucket:
            pages = self.s3.get_client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                                   Prefix=self.prefix)  # fmt: skip
            return sorted(
                StatementFile(item["Key"][len(self.prefix):].lstrip("/"), item["ETag"].strip('"'),
                              item["LastModified"].timestamp())
                for page in pages for item in page.get("Contents", []) if not item["Key"].endswith("/")
            )  # fmt: skip
        root = self._folder()
        if not root.is_dir():
            return []
        return sorted(
            StatementFile(path.relative_to(root).as_posix(), f"{stat.st_size}-{stat.st_mtime_ns}", stat.st_mtime)
            for path in root.rglob("*") if path.is_file() and not path.name.startswith(".")
            for stat in (path.stat(),)
        )  # fmt: skip

    def read(self, name: str) -> bytes:
        if self.bucket:
            key = f"{self.prefix.rstrip('/')}/{name}" if self.prefix else name
            return self.s3.get_client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return (self._folder() / name).read_bytes()

    def _folder(self) -> Path:
        return Path(self.local_dir or instance_home() / "bank_statements").resolve()


@dg.definitions
def settlement_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "bank_statements": BankStatementFiles(
                s3=S3Resource(**from_environment(region_name="AWS_REGION", endpoint_url="AWS_ENDPOINT_URL")),
                **from_environment(
                    bucket="BANK_STATEMENTS_BUCKET",
                    prefix="BANK_STATEMENTS_PREFIX",
                    local_dir="RECON_BANK_STATEMENTS_DIR",
                ),  # fmt: skip
            )
        }
    )
