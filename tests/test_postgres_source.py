"""PostgreSQL sources against a live server: text values, lineage, batches, and clear errors.

The server comes from $HANLINK_TEST_PG_DSN (set by `eval "$(.ci/postgres.sh)"`); without it the fixture runs
.ci/postgres.sh itself. If no server can be had the tests FAIL rather than skip: deselect them on purpose
with `-m "not postgres"`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hanlink.config import SourceConfig, config_from_dict
from hanlink.db import Database
from hanlink.errors import ConfigError, SourceError
from hanlink.ingest import ingest

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
ENV = "HANLINK_TEST_PG_DSN"


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """A DSN of a live test server: from $HANLINK_TEST_PG_DSN, else started by .ci/postgres.sh."""
    dsn = os.environ.get(ENV)
    if dsn:
        return dsn
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "postgres.sh")], capture_output=True, text=True,
                          timeout=600, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(f"export {ENV}="):
            return line.split("=", 1)[1].strip("'")
    pytest.fail(f"no PostgreSQL server for the tests: set {ENV} or make .ci/postgres.sh work "
                f"(exit {proc.returncode}): {proc.stderr[-2000:]}")


@pytest.fixture
def schema(pg_dsn: str) -> Iterator[str]:
    """A fresh schema holding a `customers` table (3 rows, inserted out of key order), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("""CREATE TABLE {}.customers (
            id INTEGER PRIMARY KEY, "姓名" TEXT, phone TEXT, birth DATE, balance NUMERIC(10, 2),
            note TEXT, active BOOLEAN)""").format(sql.Identifier(name)))
        conn.execute(sql.SQL("""INSERT INTO {}.customers VALUES
            (3, '王芳', NULL, '1990-02-03', 0.50, 'line one
line two', false),
            (1, '张伟', '13812345678', '1985-12-01', 12.30, 'a, "quoted" note', true),
            (2, '李娜', '', NULL, NULL, '', NULL)""").format(sql.Identifier(name)))
        yield name
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A fresh DuckDB file."""
    database = Database(tmp_path / "pg.duckdb")
    yield database
    database.close()


def _source(env: str, **kw: object) -> SourceConfig:
    cfg = config_from_dict({"sources": [{"name": "crm", "kind": "postgres", "dsn_env": env, **kw}]})
    return cfg.sources[0]


def test_table_lands_as_text_with_lineage_in_key_order(
    db: Database, schema: str, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANLINK_PG_CRM", pg_dsn)
    src = _source("HANLINK_PG_CRM", table=f"{schema}.customers", batch_size=2,
                  fields={"record_id": "id", "name": "姓名"})
    counts = ingest(db, [src], "run1", base_dir=Path("."))
    assert counts == {"crm": 3, "crm_quarantined": 0}
    types = dict(db.fetchall("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'raw_crm'"))
    assert all(types[c] == "VARCHAR" for c in ("id", "姓名", "phone", "birth", "balance", "note", "active"))
    rows = db.fetchall('SELECT _row_number, id, "姓名", phone, birth, balance, note, active, _source, _file, '
                       "_run_id FROM raw_crm ORDER BY _row_number")
    assert [r[:2] for r in rows] == [(1, "1"), (2, "2"), (3, "3")]    # primary-key order, not insert order
    assert rows[0][2:8] == ("张伟", "13812345678", "1985-12-01", "12.30", 'a, "quoted" note', "t")
    assert rows[1][2:8] == ("李娜", None, None, None, None, None)    # empty and NULL both read as null
    assert rows[2][6] == "line one\nline two"
    assert {r[8:] for r in rows} == {("crm", f"postgresql:{schema}.customers", "run1")}
    password = conninfo_to_dict(pg_dsn).get("password")
    assert password and not db.fetchall(f"SELECT 1 FROM raw_crm WHERE _file LIKE '%{password}%'")


def test_hash_follows_the_data_not_the_batching(
    db: Database, schema: str, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG", pg_dsn)
    table = f"{schema}.customers"

    def sha(batch_size: int) -> str:
        ingest(db, [_source("PG", table=table, batch_size=batch_size)], "r", base_dir=Path("."))
        (value,) = {r[0] for r in db.fetchall("SELECT _file_sha256 FROM raw_crm")}
        return str(value)

    first = sha(1)
    assert first == sha(1000) and len(first) == 64
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {}.customers SET phone = '13900000000' WHERE id = 2").format(
            sql.Identifier(schema)))
    assert sha(1000) != first


def test_query_source_keeps_its_order_and_cleans_headers(
    db: Database, schema: str, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG", pg_dsn)
    query = f'SELECT "姓名", "姓名", id * 10 AS x FROM {schema}.customers ORDER BY id DESC;'
    ingest(db, [_source("PG", query=query)], "r", base_dir=Path("."))
    assert db.columns("raw_crm")[:3] == ["姓名", "姓名_2", "x"]
    assert db.fetchall("SELECT x, _row_number FROM raw_crm ORDER BY _row_number") == [
        ("30", 1), ("20", 2), ("10", 3)]
    assert db.fetchall("SELECT DISTINCT _file FROM raw_crm")[0][0].startswith("postgresql:SELECT")


def test_empty_table_gives_an_empty_raw_table(
    db: Database, schema: str, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG", pg_dsn)
    query = f"SELECT * FROM {schema}.customers WHERE false"
    ingest(db, [_source("PG", query=query)], "r", base_dir=Path("."))
    assert db.count("raw_crm") == 0 and "phone" in db.columns("raw_crm")


def _error(db: Database, src: SourceConfig) -> SourceError:
    with pytest.raises(SourceError) as info:
        ingest(db, [src], "r", base_dir=Path("."))
    assert not db.has_table("raw_crm")     # nothing written
    return info.value


def test_bad_password_is_named_without_showing_it(
    db: Database, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = make_conninfo(pg_dsn, password="not-the-password")
    monkeypatch.setenv("PG", wrong)
    err = _error(db, _source("PG", table="customers"))
    assert "用户名或密码错误" in str(err) and "bad credentials" in str(err)
    assert "not-the-password" not in str(err)


def test_unreachable_server(db: Database, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG", make_conninfo(pg_dsn, host="127.0.0.1", port="1"))
    err = _error(db, _source("PG", table="customers"))
    assert "无法连接" in str(err) and "cannot reach" in str(err) and "127.0.0.1:1" in str(err)


def test_missing_table_lists_what_is_there(
    db: Database, schema: str, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG", pg_dsn)
    err = _error(db, _source("PG", table=f"{schema}.customer"))
    assert "表不存在" in str(err) and "table not found" in str(err) and "customers" in (err.hint or "")


def test_bad_query_and_unset_variable_and_unmapped_column(
    db: Database, schema: str, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG", pg_dsn)
    err = _error(db, _source("PG", query=f"SELECT nosuch FROM {schema}.customers"))
    assert "the query failed" in str(err) and "nosuch" in (err.hint or "")
    monkeypatch.delenv("PG_UNSET", raising=False)
    err = _error(db, _source("PG_UNSET", table="customers"))
    assert "PG_UNSET" in str(err) and "未设置" in str(err)
    err = _error(db, _source("PG", table=f"{schema}.customers", fields={"name": "name"}))
    assert "mapped header not in the file" in str(err) and "姓名" in (err.hint or "")


@pytest.mark.parametrize(("source", "needle"), [
    ({"kind": "postgres", "table": "t"}, "dsn_env"),
    ({"kind": "postgres", "dsn_env": "X"}, "exactly one of table or query"),
    ({"kind": "postgres", "dsn_env": "X", "table": "t", "query": "SELECT 1"}, "exactly one"),
    ({"kind": "postgres", "dsn_env": "postgresql://u:p@h/d", "table": "t"}, "dsn_env"),
    ({"path": "x.csv", "table": "t"}, "only for kind = 'postgres'"),
])
def test_config_says_what_a_postgres_source_needs(source: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        config_from_dict({"sources": [{"name": "crm", **source}]})


def test_sha256_is_of_the_bytes_read(db: Database, schema: str, pg_dsn: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG", pg_dsn)
    ingest(db, [_source("PG", table=f"{schema}.customers")], "r", base_dir=Path("."))
    with psycopg.connect(pg_dsn) as conn, conn.cursor() as cur:
        copy_sql = sql.SQL("COPY (SELECT * FROM {}.customers AS _t ORDER BY id) TO STDOUT (FORMAT csv)")
        with cur.copy(copy_sql.format(sql.Identifier(schema))) as copy:
            expected = hashlib.sha256(b"".join(bytes(c) for c in copy)).hexdigest()
    assert db.fetchall("SELECT DISTINCT _file_sha256 FROM raw_crm") == [(expected,)]


def test_pipeline_runs_on_a_postgres_source(
    tmp_path: Path, schema: str, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hanlink.pipeline import run_pipeline

    monkeypatch.setenv("PG", pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("INSERT INTO {}.customers VALUES (4, '张伟', '13812345678', '1985-12-01', "
                             "NULL, NULL, NULL)").format(sql.Identifier(schema)))
    cfg = config_from_dict({
        "project": {"database": str(tmp_path / "w.duckdb"), "work_dir": str(tmp_path)},
        "sources": [{"name": "crm", "kind": "postgres", "dsn_env": "PG", "table": f"{schema}.customers",
                     "fields": {"record_id": "id", "name": "姓名", "phone": "phone",
                                "birth_date": "birth"}}]})
    result = run_pipeline(cfg, run_id="pg", out_dir=tmp_path / "out")
    assert result.counts["ingest"]["crm"] == 4
    with Database(tmp_path / "w.duckdb") as db:
        assert db.count("crosswalk") == 4
        rows = db.fetchall("SELECT source, source_record_id, status FROM crosswalk ORDER BY source_record_id")
        assert rows == [("crm", str(i), "linked") for i in range(1, 5)]
