"""The one place that talks to the database: stages build SQL as text and run it here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from hanlink.errors import HanlinkError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """Quote an identifier for SQL (column names from source files can hold anything, even quotes)."""
    return '"' + name.replace('"', '""') + '"'


def table_name(name: str) -> str:
    """Check a table name we generate ourselves: letters, digits and underscores only."""
    if not _IDENT.match(name):
        raise HanlinkError(f"invalid table name {name!r}: use letters, digits and underscores")
    return name


class Database:
    """A DuckDB database file (or ':memory:') with the few operations the stages need.

    Frames go in and out as polars; SQL text is executed as given, with `?` parameters for values.
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False,
                 memory_limit: str | None = None, threads: int | None = None) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
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
        if self.scalar("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [name]):
            return
        self.con.create_function(name, fn, params, return_type, type="arrow")  # type: ignore[call-overload]

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
        return bool(self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
            [name]))

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
