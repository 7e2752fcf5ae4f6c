"""PostgreSQL sources: a table or a query read into raw_<source> as text, with lineage like a file.

Connector: psycopg 3 (the maintained PostgreSQL driver, LGPL, binary wheels, no system libpq needed). The
rows come out through one `COPY (SELECT …) TO STDOUT (FORMAT csv)`: a single consistent snapshot, every
value in PostgreSQL's own text output (as psql shows it: dates ISO, numerics exact, booleans t/f),
streamed in chunks rather than fetched row by row. The stream is spooled to a temporary CSV file while
it is hashed, so that `_file_sha256` (the SHA-256 of exactly the bytes read) is known before the first
row is written, and the connection is closed before loading starts; memory stays at one batch
(`batch_size` rows). The spool goes to the temporary directory ($TMPDIR) and is deleted on close.

ADBC would hand over typed Arrow batches (faster for numbers) but we want text anyway; connectorx reads
in parallel partitions but has no streaming mode (the whole result in memory) and no COPY snapshot.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

try:  # an optional dependency: pip install "hanlink[postgres]"
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
except ImportError:  # pragma: no cover - reported as a SourceError when a postgres source is read
    psycopg = None  # type: ignore[assignment]

from hanlink.config import SourceConfig
from hanlink.errors import SourceError
from hanlink.ingest.common import Batch, SourceReader, clean_headers

CONNECT_TIMEOUT_S = 10
_READ_BLOCK = 16 << 20


def _server(dsn: str) -> str:
    """user@host:port/dbname of a DSN, never the password (for messages)."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "?"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{info.get('user', '?')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '?')}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _connect_error(src: SourceConfig, dsn: str, exc: psycopg.Error) -> SourceError:
    """A connection failure as a bilingual SourceError: credentials, database, or the server itself."""
    msg = str(exc)
    where = _server(dsn)
    if re.search(r"password authentication failed|authentication failed|no password supplied", msg):
        zh, en = "用户名或密码错误", "bad credentials: authentication failed"
        hint = f"check the user and password in ${src.dsn_env} ({where})"
    elif re.search(r'database ".*" does not exist', msg):
        zh, en = "数据库不存在", "database does not exist"
        hint = f"check the database name in ${src.dsn_env} ({where})"
    elif re.search(r"Connection refused|could not connect|timeout expired|could not translate host name|"
                   r"No route to host|Network is unreachable|Name or service not known", msg):
        zh, en = "无法连接 PostgreSQL 服务器", "cannot reach the PostgreSQL server"
        hint = f"is the server running and reachable at {where}? ({_first_line(exc)})"
    elif isinstance(exc, psycopg.ProgrammingError):
        zh, en = "连接串格式错误", "the DSN is not valid"
        hint = f"${src.dsn_env} must be a libpq DSN such as postgresql://user@host:5432/dbname"
    else:
        zh, en = "连接 PostgreSQL 失败", "connection to PostgreSQL failed"
        hint = f"{where}: {_first_line(exc)}"
    return SourceError(f"{zh} / {en}", source=src.name, path=src.path, hint=hint)


def _query_error(src: SourceConfig, conn: psycopg.Connection, exc: psycopg.Error) -> SourceError:
    """A failed describe or read as a bilingual SourceError: missing table, no permission, bad query."""
    if isinstance(exc, psycopg.errors.UndefinedTable) and src.table:
        schema = src.table.split(".", 1)[0] if "." in src.table else "public"
        try:
            with conn.transaction(force_rollback=True):
                names = [r[0] for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                    "ORDER BY table_name LIMIT 20", [schema]).fetchall()]
        except psycopg.Error:
            names = []
        found = ", ".join(names) if names else "none readable"
        return SourceError(f"表不存在 / table not found: {src.table}", source=src.name, path=src.path,
                           hint=f"tables in schema {schema!r}: {found}")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return SourceError("没有读取权限 / permission denied", source=src.name, path=src.path,
                           hint=f"grant SELECT to the user in ${src.dsn_env}: {_first_line(exc)}")
    what = "查询无法执行 / the query failed" if src.query else "读取表失败 / reading the table failed"
    return SourceError(what, source=src.name, path=src.path, hint=_first_line(exc))


def _relation(table: str) -> sql.Composable:
    """`schema.table` or `table` as quoted identifiers (names are taken as written, case included)."""
    return sql.Identifier(*table.split(".", 1))


def _order_by(conn: psycopg.Connection, src: SourceConfig, relation: sql.Composable) -> sql.Composable:
    """ORDER BY for a table: the configured columns, else its primary key, else the whole row as text,
    so that _row_number is the same on every read of unchanged data."""
    if src.order_by:
        return sql.SQL(", ").join(sql.Identifier(c) for c in src.order_by)
    pk = conn.execute(sql.SQL(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = {}::regclass AND i.indisprimary "
        "ORDER BY array_position(i.indkey, a.attnum)").format(sql.Literal(
            relation.as_string(conn)))).fetchall()
    if pk:
        return sql.SQL(", ").join(sql.Identifier(r[0]) for r in pk)
    return sql.SQL("_t::text")


class PostgresReader(SourceReader):
    """One PostgreSQL table or query, read at open (spooled, hashed); `batches()` then streams the rows."""

    def __init__(self, src: SourceConfig) -> None:
        if psycopg is None:
            raise SourceError("未安装 PostgreSQL 驱动 / the PostgreSQL driver (psycopg) is not installed",
                              source=src.name, path=src.path, hint='pip install "hanlink[postgres]"')
        dsn = os.environ.get(src.dsn_env or "", "")
        if not dsn:
            raise SourceError(f"环境变量 {src.dsn_env} 未设置 / environment variable {src.dsn_env} "
                              "is not set", source=src.name, path=src.path,
                              hint=f"export {src.dsn_env}='postgresql://user:password@host:5432/dbname'")
        self.batch_size = src.batch_size
        fd, spool = tempfile.mkstemp(prefix=f"hanlink_pg_{src.name}_", suffix=".csv")
        os.close(fd)
        super().__init__(Path(spool), src.name)
        try:
            self._spool(src, dsn)
        except BaseException:
            self.close()
            raise

    def _spool(self, src: SourceConfig, dsn: str) -> None:
        try:
            conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, client_encoding="utf8",
                                   autocommit=True)
        except psycopg.Error as exc:
            raise _connect_error(src, dsn, exc) from None
        with conn:
            try:
                select: sql.Composable
                if src.table:
                    relation = _relation(src.table)
                    select = sql.SQL("SELECT * FROM {} AS _t").format(relation)
                    described = conn.execute(sql.SQL("{} LIMIT 0").format(select))
                    select = sql.SQL("{} ORDER BY {}").format(select, _order_by(conn, src, relation))
                else:
                    select = sql.SQL(str(src.query).strip().rstrip(";"))  # type: ignore[arg-type]
                    described = conn.execute(sql.SQL("SELECT * FROM ({}) AS _q LIMIT 0").format(select))
                self.original_headers = [d.name for d in described.description or []]
                self.headers = clean_headers(self.original_headers)
                digest = hashlib.sha256()
                copy_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(select)
                with conn.cursor() as cur, cur.copy(copy_sql) as copy, self.path.open("wb") as out:
                    for chunk in copy:
                        digest.update(chunk)
                        out.write(chunk)
                self._sha256 = digest.hexdigest()
            except psycopg.Error as exc:
                raise _query_error(src, conn, exc) from None

    def batches(self) -> Iterator[Batch]:
        """Rows in batch_size frames, every column text, empty → null, `_row_number` from 1."""
        n = len(self.headers)
        if self.path.stat().st_size == 0:  # no rows (the CSV reader refuses an empty file)
            yield self._batch(pl.DataFrame({f"c{i}": pl.Series([], dtype=pl.String) for i in range(n)}), 1)
            return
        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(n)], block_size=_READ_BLOCK),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(n)},
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True),
        )
        pending: list[pl.DataFrame] = []
        held, start = 0, 1
        for record_batch in reader:
            frame = pl.from_arrow(pa.Table.from_batches([record_batch]))
            assert isinstance(frame, pl.DataFrame)
            pending.append(frame)
            held += frame.height
            while held >= self.batch_size:
                rows = pl.concat(pending)
                yield self._batch(rows.head(self.batch_size), start)
                start += self.batch_size
                rest = rows.slice(self.batch_size)
                pending, held = [rest], rest.height
        if held:
            yield self._batch(pl.concat(pending), start)

    def _batch(self, rows: pl.DataFrame, start: int) -> Batch:
        frame = rows.rename(dict(zip(rows.columns, self.headers, strict=True))).with_columns(
            pl.int_range(start, start + rows.height, dtype=pl.Int64).alias("_row_number"))
        return Batch(frame)

    def close(self) -> None:
        """Delete the spool file."""
        self.path.unlink(missing_ok=True)
