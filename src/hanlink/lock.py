"""One run at a time: an advisory lock file beside the warehouse, released by the kernel when a run dies.

The lock is `fcntl.flock` on `.<database>.lock`: the kernel drops it when the holding process exits for any
reason (even SIGKILL), so a crashed run never leaves it stuck. The file also holds who took it (pid, host,
run id, start time) so that the refusal can say which run is going.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hanlink.errors import HanlinkError

TIMEZONE = ZoneInfo("Asia/Shanghai")


class RunLockedError(HanlinkError):
    """Another run holds the warehouse: this one refuses to start (nothing was changed). Retry later."""

    exit_code = 75  # EX_TEMPFAIL (sysexits.h): temporary failure, try again later
    retryable = True

    def __init__(self, holder: dict[str, Any], lock_path: Path) -> None:
        self.holder = holder
        who = ", ".join(f"{k} {holder[k]}" for k in ("run_id", "pid", "host", "started_at") if holder.get(k))
        self.who = who or "unknown"
        super().__init__(
            f"另一个运行正在进行（{who or '未知'}），本次运行不启动，未做任何更改 / "
            f"another run is in progress ({who or 'unknown'}); this run did not start and changed nothing",
            where=str(lock_path),
            hint="wait for it to finish and run again 等它结束后再运行",
        )


def lock_path_for(database: Path) -> Path:
    """Where the run lock of a warehouse file lives (hidden, beside it)."""
    return database.with_name(f".{database.name}.lock")


def read_holder(lock_path: Path) -> dict[str, Any]:
    """Who holds (or last held) the lock, as written in the file; {} when unreadable."""
    try:
        data = json.loads(lock_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def run_lock(database: Path, run_id: str) -> Iterator[Path]:
    """Hold the warehouse's run lock for the block; RunLockedError at once if another run has it.

    Locks are per open file, so a second attempt in the same process is refused too."""
    path = lock_path_for(Path(database))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(read_holder(path), path) from None
        holder = {
            "run_id": run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(TIMEZONE).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        try:
            yield path
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_lock_path_for(database: Path) -> Path:
    return database.with_name(f".{database.name}.write.lock")


@contextmanager
def write_lock(database: Path, *, timeout: float = 60.0) -> Iterator[None]:
    """Hold while writing to the live warehouse outside a run (an analyst's label, a deletion request).

    Publish holds it from the moment it copies such rows into the new warehouse until the new file is in
    place, so a write lands either before (and is carried over) or after (on the new file) — never lost
    in between. Waits up to `timeout` seconds (a publish takes a second or two), then HanlinkError."""
    path = write_lock_path_for(Path(database))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise HanlinkError(
                        "数据仓库正在发布，请稍后再试 / the warehouse is being published; try again shortly",
                        where=str(path),
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class WarehouseBusyError(HanlinkError):
    """A run holds the warehouse: a change outside runs was not made (nothing changed). Retry after it."""

    exit_code = 75  # EX_TEMPFAIL, as for a second run
    retryable = True


@contextmanager
def exclusive(database: Path, action_zh: str, action_en: str) -> Iterator[None]:
    """Hold the warehouse alone for a change made outside runs that deletes or replaces (forget, restore,
    encrypt-db): the run lock, since a run's staging copy would undo the change when it publishes, and the
    write lock, since no label writer may have the file open. WarehouseBusyError while a run is going."""
    with ExitStack() as held:
        try:
            held.enter_context(run_lock(Path(database), action_en))
        except RunLockedError as exc:
            raise WarehouseBusyError(
                f"一个运行正在进行（{exc.who}），{action_zh}未执行，未做任何更改 / "
                f"a run is in progress ({exc.who}): {action_en} was not carried out and nothing changed",
                where=exc.where, hint="try again when the run has finished 运行结束后再执行") from None
        held.enter_context(write_lock(Path(database)))
        yield
