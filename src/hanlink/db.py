"""The one place that talks to the database: stages build SQL as text and run it here.

Encryption at rest: with a key (argument, $HANLINK_DB_KEY or the file named by $HANLINK_DB_KEY_FILE) the
file is a DuckDB encrypted database (AES-GCM, DuckDB 1.5; writing needs the httpfs extension from the PyPI
package `duckdb-extension-httpfs` of the same version). Every stage goes through `Database`, so every stage
works unchanged on an encrypted file. A missing or wrong key is refused before any table is touched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from hanlink.errors import HanlinkError

DB_KEY_ENV = "HANLINK_DB_KEY"
_CATALOG = "hanlink"  # the attached encrypted file's name inside the connection
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """Quote an identifier for SQL (column names from source files can hold anything, even quotes)."""
    return '"' + name.replace('"', '""') + '"'


def table_name(name: str) -> str:
    """Check a table name we generate ourselves: letters, digits and underscores only."""
    if not _IDENT.match(name):
        raise HanlinkError(f"invalid table name {name!r}: use letters, digits and underscores")
    return name


class DatabaseKeyError(HanlinkError):
    """An encrypted database can't be opened: no key, a wrong key, or no crypto extension to write with."""

    exit_code = 2


def _env_key() -> str | None:
    """The database key from $HANLINK_DB_KEY, else from the file $HANLINK_DB_KEY_FILE names."""
    if os.environ.get(DB_KEY_ENV):
        return os.environ[DB_KEY_ENV]
    file = os.environ.get(f"{DB_KEY_ENV}_FILE")
    if file:
        try:
            return Path(file).expanduser().read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise DatabaseKeyError(f"cannot read the database key file: {exc.strerror}", where=file) from None
    return None


def _httpfs_path() -> str:
    """The httpfs extension shipped by the PyPI package for this DuckDB version (no download at run time)."""
    try:
        import duckdb_extension_httpfs
    except ImportError:
        raise DatabaseKeyError(
            "writing an encrypted database needs the httpfs extension — 写加密数据库需要 httpfs 扩展",
            hint=f"pip install duckdb-extension-httpfs=={duckdb.__version__}") from None
    found = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}" / \
        "httpfs.duckdb_extension"
    if not found.exists():
        raise DatabaseKeyError(
            f"duckdb-extension-httpfs does not match DuckDB {duckdb.__version__}",
            hint=f"pip install duckdb-extension-httpfs=={duckdb.__version__}")
    return str(found)


def _connect_encrypted(path: str, key: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the encrypted file attached and in use; closed again on any failure."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"LOAD '{_httpfs_path()}'")
        # Spilled intermediates go next to the database (as for a plain file), encrypted by DuckDB.
        con.execute(f"SET temp_directory = '{(path + '.tmp').replace(chr(39), chr(39) * 2)}'")
        opts = f"ENCRYPTION_KEY '{key.replace(chr(39), chr(39) * 2)}'" + (", READ_ONLY" if read_only else "")
        con.execute(f"ATTACH '{path.replace(chr(39), chr(39) * 2)}' AS {_CATALOG} ({opts})")
        con.execute(f"USE {_CATALOG}")
    except duckdb.Error as exc:
        con.close()
        text = str(exc)
        if "Wrong encryption key" in text:
            raise DatabaseKeyError("wrong database key — 数据库密钥错误", where=path,
                                   hint=f"check {DB_KEY_ENV} / {DB_KEY_ENV}_FILE") from None
        if "is not encrypted" in text:
            raise DatabaseKeyError("a key was given but the database is not encrypted — 数据库未加密",
                                   where=path,
                                   hint=f"unset {DB_KEY_ENV}, or convert it: hanlink encrypt-db") from None
        raise DatabaseKeyError(f"cannot open the encrypted database: {exc}", where=path) from None
    except BaseException:
        con.close()
        raise
    return con


class Database:
    """A DuckDB database file (or ':memory:') with the few operations the stages need.

    Frames go in and out as polars; SQL text is executed as given, with `?` parameters for values.
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False,
                 memory_limit: str | None = None, threads: int | None = None,
                 encryption_key: str | None = None) -> None:
        self.path = str(path)
        key = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            key = encryption_key or _env_key()
        self.encrypted = key is not None
        self._functions: set[str] = set()
        if key is not None:
            self.con = _connect_encrypted(self.path, key, read_only)
        else:
            try:
                self.con = duckdb.connect(self.path, read_only=read_only)
            except duckdb.Error as exc:
                if "encrypted database" in str(exc):
                    raise DatabaseKeyError(
                        "the database is encrypted and no key was given — 数据库已加密，缺少密钥",
                        where=self.path, hint=f"set {DB_KEY_ENV} or {DB_KEY_ENV}_FILE") from None
                raise HanlinkError(f"cannot open the database: {exc}", where=self.path) from exc
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute("SET preserve_insertion_order = true")

    # -- running SQL -------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement for its effect."""
        self.con.execute(sql, params or [])

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run a query and return the result as a polars frame."""
        return self.con.execute(sql, params or []).pl()

    def create_function(self, name: str, fn: Callable[..., Any], params: list[str], return_type: str) -> None:
        """Make a vectorized Python function (pyarrow arrays in, one array out) callable from SQL.

        NULL in any argument gives NULL without calling `fn`. A name already registered is left as it is.
        """
        # Python functions live as long as the connection: remembered here, since asking
        # duckdb_functions() (thousands of rows) costs ≈ 20 ms a time.
        if name in self._functions:
            return
        if self.scalar("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [name]) == 0:
            self.con.create_function(name, fn, params, return_type, type="arrow")  # type: ignore[call-overload]
        self._functions.add(name)

    # -- tables ------------------------------------------------------------------------------------
    def write(self, name: str, df: pl.DataFrame, *, mode: str = "replace") -> int:
        """Write a polars frame to table `name` ('replace' or 'append'); returns the row count."""
        table_name(name)
        self.con.register("_hanlink_incoming", df)
        try:
            if mode == "replace" or not self.has_table(name):
                self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _hanlink_incoming")
            elif mode == "append":
                self.con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _hanlink_incoming")
            else:
                raise ValueError(f"mode must be 'replace' or 'append', not {mode!r}")
        finally:
            self.con.unregister("_hanlink_incoming")
        return df.height

    def drop(self, name: str) -> None:
        """Drop a table or a view of that name, whichever it is (no error when there is none)."""
        kind = self.scalar(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
            [table_name(name)],
        )
        if kind is not None:
            self.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {name}")

    def table(self, name: str) -> pl.DataFrame:
        return self.query(f"SELECT * FROM {table_name(name)}")

    def has_table(self, name: str) -> bool:
        # Stages ask this hundreds of times per run. Binding a query that reads nothing answers "yes" in
        # ≈ 0.1 ms; only a "no" asks the catalog (duckdb_tables()/duckdb_views(): the same objects as
        # information_schema.tables, temporary and attached ones included, at a tenth of its cost), so a
        # view whose own tables are gone still counts as there.
        try:
            self.con.execute(f"SELECT 1 FROM {table_name(name)} LIMIT 0")
            return True
        except duckdb.CatalogException:
            pass
        return bool(self.scalar(
            "SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main') "
            "+ (SELECT count(*) FROM duckdb_views() "
            "WHERE view_name = ? AND schema_name = 'main' AND NOT internal)",
            [name, name]))

    def tables(self, prefix: str = "") -> list[str]:
        rows = self.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND starts_with(table_name, ?) ORDER BY table_name", [prefix])
        return [r[0] for r in rows]

    def columns(self, name: str) -> list[str]:
        rows = self.fetchall(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main' "
            "ORDER BY ordinal_position", [name])
        return [r[0] for r in rows]

    def count(self, name: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table_name(name)}"))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rewrite(src: Path, tmp: Path, *, src_key: str | None, dst_key: str | None) -> None:
    """Copy every table, view and row of `src` into a fresh file `tmp` (fsynced), with these keys."""
    tmp.unlink(missing_ok=True)
    q = chr(39)

    def attach(path: Path, alias: str, key: str | None, extra: str = "") -> str:
        opts = ", ".join(o for o in (extra, f"ENCRYPTION_KEY '{key.replace(q, q * 2)}'" if key else "") if o)
        return f"ATTACH '{str(path).replace(q, q * 2)}' AS {alias}" + (f" ({opts})" if opts else "")

    con = duckdb.connect(":memory:")
    try:
        if src_key or dst_key:
            con.execute(f"LOAD '{_httpfs_path()}'")
        con.execute(attach(src, "src", src_key, "READ_ONLY"))
        con.execute(attach(tmp, "dst", dst_key))
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("DETACH dst")
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        raise DatabaseKeyError(f"cannot rewrite the database: {exc}", where=str(src)) from None
    finally:
        con.close()
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())


def encrypt_database(path: str | Path, key: str) -> None:
    """Turn a plain database file into an encrypted one in place (copy into a new encrypted file, then an
    atomic rename); the plain file is gone afterwards. Raises DatabaseKeyError if it is already encrypted."""
    src = Path(path)
    tmp = src.with_name(f".{src.name}.encrypting")
    _rewrite(src, tmp, src_key=None, dst_key=key)
    os.replace(tmp, src)
    src.with_name(src.name + ".wal").unlink(missing_ok=True)


def compact_database(path: str | Path, key: str | None = None) -> None:
    """Rewrite the database file in place, holding only live rows (atomic rename; same tables, same rows
    in the same order). DuckDB keeps deleted rows' bytes in the file until their row group is rewritten:
    after a deletion request they must not stay readable on disk. The caller must be the only writer."""
    src = Path(path)
    tmp = src.with_name(f".{src.name}.compacting")
    _rewrite(src, tmp, src_key=key, dst_key=key)
    os.replace(tmp, src)
    src.with_name(src.name + ".wal").unlink(missing_ok=True)
