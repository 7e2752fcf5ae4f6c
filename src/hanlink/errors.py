"""The errors hanlink raises: one base class, a few subclasses that carry what went wrong and where."""

from __future__ import annotations


class HanlinkError(Exception):
    """Base of every error hanlink raises on purpose; the CLI prints its message, never a traceback.

    `exit_code` is what `hanlink` exits with; `retryable` says whether running again could help.
    """

    exit_code: int = 1
    retryable: bool = False

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [f"{self.where}: {self.message}" if self.where else self.message]
        if self.hint:
            parts.append(f"  → {self.hint}")
        return "\n".join(parts)


class ConfigError(HanlinkError):
    """The project config is missing, unreadable or invalid: names the key, the bad value, what is valid."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        value: object = None,
        valid: str | None = None,
        where: str | None = None,
    ) -> None:
        self.key = key
        self.value = value
        self.valid = valid
        text = message
        if key is not None:
            text = f"{key} = {value!r}: {message}" if value is not None else f"{key}: {message}"
        super().__init__(text, where=where, hint=f"valid: {valid}" if valid else None)


class SourceError(HanlinkError):
    """A source can't be read at all (missing file, unknown format, no header). Row-level problems go to
    the quarantine instead."""

    exit_code = 3

    def __init__(
        self, message: str, *, source: str, path: str | None = None, hint: str | None = None
    ) -> None:
        self.source = source
        self.path = path
        where = f"source '{source}'" + (f" ({path})" if path else "")
        super().__init__(message, where=where, hint=hint)


class StageError(HanlinkError):
    """A pipeline stage failed in a way the data can't explain (a bug or a broken invariant)."""

    exit_code = 4

    def __init__(
        self, message: str, *, stage: str, run_id: str | None = None, retryable: bool = False
    ) -> None:
        self.stage = stage
        self.run_id = run_id
        self.retryable = retryable
        super().__init__(message, where=f"stage '{stage}'" + (f" of run {run_id}" if run_id else ""))


class ConservationError(StageError):
    """Rows went missing or were counted twice between stages: the run must fail loudly."""

    exit_code = 5


class QualityAlertError(HanlinkError):
    """The run finished but a quality metric alerted (turned red, or fell sharply): see dq_alerts.

    Not a failure of the run: its outputs are written; the exit status tells the scheduler to look."""

    exit_code = 6

    def __init__(self, message: str, *, run_id: str, alerts: int) -> None:
        self.run_id = run_id
        self.alerts = alerts
        super().__init__(message, where=f"run {run_id}", hint="see dq_alerts and the dashboard")
