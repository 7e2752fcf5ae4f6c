"""Project configuration: a TOML file validated on load, with messages that name the bad key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hanlink.errors import ConfigError
from hanlink.fields import CANONICAL_FIELDS

DEFAULT_CONFIG_NAME = "hanlink.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectConfig(_Section):
    name: str = "hanlink"
    database: str = "work/hanlink.duckdb"
    work_dir: str = "work"
    language: Literal["zh", "en"] = "zh"
    memory_limit: str | None = None
    threads: int | None = Field(default=None, ge=1)


class SourceConfig(_Section):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    path: str
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"] = "auto"
    delimiter: str = ","
    sheet: str | int | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=lambda: ["name"])

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if key not in CANONICAL_FIELDS:
                raise ValueError(f"unknown canonical field {key!r}; valid: {', '.join(CANONICAL_FIELDS)}")
        return v

    @field_validator("required")
    @classmethod
    def _known_required(cls, v: list[str]) -> list[str]:
        for key in v:
            if key not in CANONICAL_FIELDS:
                raise ValueError(f"unknown canonical field {key!r}; valid: {', '.join(CANONICAL_FIELDS)}")
        return v


BlockingKey = Literal[
    "phone",
    "landline",
    "id_number",
    "email",
    "name_key",
    "name_norm",
    "birth_date",
    "district",
    "city",
    "surname",
    "given_pinyin",
    "address_norm",
    "phone_last4",
    "id_birth",
    "other_id",
    "name_tokens",
    "name_first",
    "name_last",
    "name_initials",
    "birth_year",
    "address_free",
    "address_post",
]


def _default_blocking_rules() -> list[list[BlockingKey]]:
    return [
        ["phone"],
        ["id_number"],
        ["email"],
        ["name_key", "birth_date"],
        ["name_key", "district"],
        ["name_key", "phone_last4"],
        ["id_birth", "surname"],
        # Names in Latin letters and foreign addresses (these keys are null for Chinese names and for
        # addresses with a Chinese division, so they add next to nothing on Chinese data): tokens in any
        # order, one name token or the initials with the birth date, the postcode with the family name.
        ["other_id"],
        ["name_tokens"],
        ["name_first", "birth_date"],
        ["name_last", "birth_date"],
        ["name_initials", "birth_date"],
        ["name_last", "birth_year"],
        ["address_free", "birth_date"],
        ["name_last", "address_post"],
        ["address_post", "birth_year"],
    ]


class BlockingConfig(_Section):
    # Each rule is a list of std_records keys that must all be equal (and not null) for a pair.
    rules: list[list[BlockingKey]] = Field(default_factory=_default_blocking_rules)
    # A value shared by more records than this is not evidence (placeholders, 张伟 in a big city):
    # it is kept out of blocking and reported.
    max_block_size: int = Field(default=100, ge=2)


class MatchingConfig(_Section):
    # Probability above which a pair is a match; lower → more recall, less precision.
    match_threshold: float = Field(default=0.95, gt=0, lt=1)
    # Pairs between review_threshold and match_threshold go to the analysts' review queue.
    review_threshold: float = Field(default=0.5, gt=0, lt=1)
    em_max_iterations: int = Field(default=50, ge=1)
    em_sample_size: int = Field(default=200_000, ge=1000)
    u_sample_size: int = Field(default=500_000, ge=1000)
    seed: int = 42

    @model_validator(mode="after")
    def _ordered(self) -> MatchingConfig:
        if self.review_threshold >= self.match_threshold:
            raise ValueError(
                f"review_threshold ({self.review_threshold}) must be below match_threshold "
                f"({self.match_threshold})"
            )
        return self


SurvivorshipRule = Literal["most_recent", "most_frequent", "most_complete", "source_priority", "valid_first"]


class SurvivorshipConfig(_Section):
    default_rule: SurvivorshipRule = "valid_first"
    rules: dict[str, SurvivorshipRule] = Field(default_factory=dict)
    # Earlier sources win ties under source_priority (and break ties under every other rule).
    source_priority: list[str] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if key not in CANONICAL_FIELDS:
                raise ValueError(f"unknown canonical field {key!r}; valid: {', '.join(CANONICAL_FIELDS)}")
        return v


class ReportConfig(_Section):
    # A score at or above green is green, at or above amber is amber, else red (0–100).
    green: float = Field(default=95.0, ge=0, le=100)
    amber: float = Field(default=85.0, ge=0, le=100)


class Config(_Section):
    project: ProjectConfig = Field(default_factory=ProjectConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    blocking: BlockingConfig = Field(default_factory=BlockingConfig)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    survivorship: SurvivorshipConfig = Field(default_factory=SurvivorshipConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    # Where the file was read from: relative paths in it are relative to this directory.
    base_dir: str = "."

    @model_validator(mode="after")
    def _unique_sources(self) -> Config:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dupes)}")
        return self

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's directory."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p

    @property
    def database_path(self) -> Path:
        return self.resolve(self.project.database)

    @property
    def work_path(self) -> Path:
        return self.resolve(self.project.work_dir)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _valid_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The keys a section accepts, for an 'unknown key' message."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if hasattr(current, "model_fields") else None
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        current = next((a for a in (ann, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return None
    return ", ".join(current.model_fields) if hasattr(current, "model_fields") else None


def config_from_dict(data: dict[str, Any], *, where: str = "config", base_dir: str | Path = ".") -> Config:
    """Validate a config mapping; the first problem raises a ConfigError naming key, value and choices."""
    try:
        return Config.model_validate({**data, "base_dir": str(base_dir)})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        key = _format_loc(loc)
        if err["type"] == "extra_forbidden":
            raise ConfigError("unknown key", key=key, valid=_valid_keys(Config, loc), where=where) from None
        msg = err["msg"].removeprefix("Value error, ")
        valid = None
        if err["type"] == "literal_error":
            valid = msg.removeprefix("Input should be ")
            msg = "not an allowed value"
        value = err.get("input") if err["type"] != "missing" else None
        raise ConfigError(msg, key=key, value=value, valid=valid, where=where) from None


def load_config(path: str | Path = DEFAULT_CONFIG_NAME) -> Config:
    """Read and validate a project config file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(
            f"config file not found: {p}", where=str(p), valid="run `hanlink init` to write a starter config"
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(p)) from None
    return config_from_dict(data, where=str(p), base_dir=p.resolve().parent)
