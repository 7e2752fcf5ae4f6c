"""Shared fixtures: a private Prefect home, generated projects and a DuckDB per test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything imports Prefect: no analytics (no network here), and a Prefect home of our own so that
# tests never touch the user's profile or database.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="hanlink-prefect-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest

from hanlink.db import Database


@pytest.fixture
def db() -> Database:
    """A fresh in-memory DuckDB database."""
    database = Database(":memory:")
    yield database
    database.close()


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 4-source project of 3,000 records (CSV, GBK CSV, Excel, Parquet) with its hanlink.toml."""
    from hanlink.generate import generate

    out = tmp_path_factory.mktemp("demo")
    data = generate(3_000, out, seed=7, layout="sources")
    return Path(data.config)


@pytest.fixture(scope="session")
def single_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated single-file export (customers.csv, Chinese headers) of 3,000 records + truth.csv."""
    from hanlink.generate import generate

    out = tmp_path_factory.mktemp("single")
    generate(3_000, out, seed=11, layout="single")
    return out
