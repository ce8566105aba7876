"""One store for files by key, the same on S3 (moto in server mode) and in a local folder: what is put is read
back, listed under its prefix with a version that changes with it, and a half-written local file is never listed."""

import boto3
import pytest
from dagster_aws.s3 import S3Resource

from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.defs.settlement.resources import BankStatementFiles
from recon_assets_tests.services import AWS_TEST_CREDENTIALS, MotoServer

BUCKET = "recon-files-test"


@pytest.fixture(scope="module")
def moto():
    with MotoServer() as server:
        boto3.client("s3", endpoint_url=server.url, **AWS_TEST_CREDENTIALS).create_bucket(Bucket=BUCKET)
        yield server


@pytest.fixture(params=["s3", "folder"])
def store(request, tmp_path):
    if request.param == "s3":
        moto = request.getfixturevalue("moto")
        s3 = S3Resource(endpoint_url=moto.url, **AWS_TEST_CREDENTIALS)
        return BankStatementFiles(s3=s3, bucket=BUCKET, prefix=f"statements/{tmp_path.name}")
    return BankStatementFiles(s3=S3Resource(), local_dir=str(tmp_path / "statements"))


def test_what_is_put_is_read_back_listed_and_versioned(store):
    assert store.files() == [] and not store.exists("2026/11/20.bai2")
    store.put("2026/11/20.bai2", b"01,first", "application/octet-stream")
    store.put("2026/11/21.mt940", b":20:x", "application/octet-stream")
    (first, second) = store.files()
    assert (first.name, second.name) == ("2026/11/20.bai2", "2026/11/21.mt940")
    assert store.get("2026/11/20.bai2") == b"01,first" and store.exists("2026/11/20.bai2")
    assert [f.name for f in store.files("2026/11/21")] == ["2026/11/21.mt940"]
    store.put("2026/11/20.bai2", b"01,corrected", "application/octet-stream")  # a corrected statement
    (again, _) = store.files()
    assert again.version != first.version and store.get("2026/11/20.bai2") == b"01,corrected"
    assert store.uri("2026/11/20.bai2").endswith("2026/11/20.bai2")


def test_a_local_file_being_written_is_not_listed(tmp_path):
    store = ReportStore(s3=S3Resource(), local_dir=str(tmp_path))
    (tmp_path / ".summary.json.1234.part").write_bytes(b"{")
    assert store.files() == []
    assert store.put("reports/x.json", b"{}", "application/json") == (tmp_path / "reports/x.json").as_uri()
    assert [f.name for f in store.files()] == ["reports/x.json"]
