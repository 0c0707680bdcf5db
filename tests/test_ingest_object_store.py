"""Logs on an object store, through fsspec: a real S3 API server (moto's, on loopback: MinIO's
server does not install here) with s3fs, and fsspec's memory file system.

Each bucket holds logs of several formats (detected per object, read in streamed blocks),
compressed JSON Lines, Parquet, and files that are not traffic (listed, not read)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest_helpers import (
    FIXTURES,
    assert_nothing_lost,
    ingest_cli,
    read_jsonl,
    scan_accounts,
)

OTEL = FIXTURES / "otel-genai.jsonl"
LITELLM = FIXTURES / "litellm-spendlogs.jsonl"
OPENAI = FIXTURES / "openai-log.jsonl"
SPANS, SPAN_RECORDS = 27, 13


def litellm_parquet() -> bytes:
    """The SpendLogs fixture as a Parquet export (JSON columns as text, as most exports do)."""
    rows = read_jsonl(LITELLM)
    table = pa.Table.from_pylist([{k: v for k, v in row.items() if v is not None} for row in rows])
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def objects() -> dict[str, bytes]:
    return {
        "logs/2026/09/21/otel.jsonl.gz": gzip.compress(OTEL.read_bytes()),
        "logs/2026/09/21/spendlogs.parquet": litellm_parquet(),
        "logs/labels.jsonl": b'{"account_id": "a", "label": "attack"}\n',
        "logs/README.txt": b"not a log",
        "logs/.hidden/x.jsonl": b"{}\n",
    }


def check_bucket(url: str, tmp_path: Path) -> None:
    summary, rows, quarantine = ingest_cli(url, "--out", str(tmp_path / "out"))
    assert summary["records"] == SPAN_RECORDS + 17 and len(quarantine) == 1
    assert_nothing_lost(summary, SPANS + 17)
    assert sorted(Path(name).name for name in summary["files"]) == [
        "otel.jsonl.gz",
        "spendlogs.parquet",
    ]
    skipped = {Path(name).name: why for name, why in summary["skipped"].items()}
    assert skipped == {
        "labels.jsonl": "not traffic (by name)",
        "README.txt": "not a log file suffix (.jsonl/.json/.ndjson[.gz|.zst], .parquet)",
    }
    assert all(row["source_file"].startswith(url.split("://")[0] + "://") for row in rows)
    assert {row["model"] for row in rows} >= {"gpt-4o-mini", "gpt-3.5-turbo-instruct"}


def test_memory_filesystem(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    for key, data in objects().items():
        fs.pipe(f"/dwtest/{key}", data)
    try:
        check_bucket("memory://dwtest/logs/", tmp_path)
        missing = ingest_missing("memory://dwtest/nope/", tmp_path)
        assert "memory://dwtest/nope/: no such object or prefix" in missing
    finally:
        fs.rm("/dwtest", recursive=True)


def ingest_missing(url: str, tmp_path: Path) -> str:
    from typer.testing import CliRunner

    from distillwatch.cli import app

    result = CliRunner().invoke(app, ["ingest", url, "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    return " ".join(result.output.split())


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch):
    """A real S3 API on a loopback port (moto's server), and the bucket ``dwlogs`` filled."""
    moto_server = pytest.importorskip("moto.server")
    pytest.importorskip("s3fs")
    import boto3
    import fsspec

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    fsspec.filesystem("s3").clear_instance_cache()
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket="dwlogs")
    for key, data in objects().items():
        client.put_object(Bucket="dwlogs", Key=key, Body=data)
    client.put_object(Bucket="dwlogs", Key="openai/log.jsonl", Body=OPENAI.read_bytes())
    try:
        yield endpoint
    finally:
        fsspec.filesystem("s3").clear_instance_cache()
        server.stop()


def test_s3_server(s3: str, tmp_path: Path) -> None:
    check_bucket("s3://dwlogs/logs/", tmp_path)
    assert "s3://dwlogs/none.jsonl: no such object or prefix" in ingest_missing(
        "s3://dwlogs/none.jsonl", tmp_path
    )


def test_s3_scan_end_to_end_with_a_mapping(s3: str, tmp_path: Path) -> None:
    mapping = FIXTURES / "openai-log.mapping.toml"
    accounts = scan_accounts(
        "s3://dwlogs/openai/log.jsonl",
        tmp_path / "scan",
        "--from",
        "openai-log",
        "--mapping",
        str(mapping),
    )
    assert set(accounts) == {"cus_101", "cus_102", "cus_103"}
