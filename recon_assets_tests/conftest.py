"""Shared fixtures: a real PostgreSQL (embedded, or RECON_TEST_DATABASE_URL's server) and the sandbox."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from recon_assets.sandbox.server import SandboxServer
from recon_assets.sandbox.world import SandboxConfig
from recon_assets.warehouse.database import upgrade
from recon_assets.warehouse.embedded import ensure_embedded_server
from recon_assets.warehouse.urls import DatabaseUrl

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> DatabaseUrl:
    """The PostgreSQL server the suite runs against: RECON_TEST_DATABASE_URL, or an embedded one."""
    raw = os.environ.get("RECON_TEST_DATABASE_URL", "embedded")
    if raw == "embedded":
        return ensure_embedded_server(tmp_path_factory.mktemp("instance"))
    return DatabaseUrl.parse(raw)


@pytest.fixture
def fresh_database(server_url):
    """A new, empty database on the test server, dropped afterwards."""
    name = f"recon_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server_url.with_database(name)
    with psycopg.connect(server_url.libpq, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def warehouse_url(fresh_database) -> DatabaseUrl:
    """A fresh, migrated warehouse database."""
    upgrade(fresh_database)
    return fresh_database


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(daily_volume=120)


@pytest.fixture
def sandbox(sandbox_config):
    with SandboxServer(sandbox_config) as server:
        yield server
