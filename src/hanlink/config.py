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
    # kind = "postgres": a PostgreSQL table or query (ingest/postgres_source.py) instead of a file. `path` is
    # then filled with a description of it ("postgresql:public.customers"), which lineage (_file) shows.
    kind: Literal["file", "postgres"] = "file"
    path: str
    format: Literal["auto", "csv", "excel", "parquet"] = "auto"
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"] = "auto"
    delimiter: str = ","
    sheet: str | int | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=lambda: ["name"])
    # PostgreSQL sources: the NAME of an environment variable holding the DSN (never the DSN itself, so no
    # password sits in the config), a table ("schema.table") or a query, and rows fetched per batch.
    dsn_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    table: str | None = None
    query: str | None = None
    # Row order (hence _row_number) of a table: its primary key unless given; a query keeps its ORDER BY.
    order_by: list[str] = Field(default_factory=list)
    batch_size: int = Field(default=50_000, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _describe_postgres(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "postgres" and not data.get("path"):
            what = data.get("table") or " ".join(str(data.get("query") or "").split())
            return {**data, "path": f"postgresql:{what}"}
        return data

    @model_validator(mode="after")
    def _postgres_settings(self) -> SourceConfig:
        db_keys = {"dsn_env": self.dsn_env, "table": self.table, "query": self.query}
        if self.kind == "file":
            given = [k for k, v in db_keys.items() if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: only for kind = 'postgres'")
            return self
        if not self.dsn_env:
            raise ValueError("a postgres source needs dsn_env: the name of the environment variable "
                             "holding the DSN")
        if (self.table is None) == (self.query is None):
            raise ValueError("a postgres source needs exactly one of table or query")
        return self

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
    "name_first_sdx",
    "name_last_sdx",
    "birth_digits",
    "name_first_full",
    "address_outward",
    "address_place",
    "birth_md",
    "name_first_variant",
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
        # Soundex of the family / given name: spelling variants and typos (frazer / fraser, maitlsnd);
        # the full form of a short given name (bill → william).
        ["name_last_sdx", "birth_year"],
        ["name_first_sdx", "name_last_sdx"],
        ["name_first_full", "name_last_sdx"],
        ["name_last_sdx", "address_post"],
        ["name_first", "address_post"],
        ["name_first_sdx", "address_free"],
        ["name_last_sdx", "address_outward"],  # the postal district (sk9 of sk9 7hx) with the family name
        # The town / street words of a foreign address (its numbers and postcode left out) with the family
        # name's Soundex, the initials, or the typed birth date: one copy often gives the town without a
        # postcode ("taverham" / "taverham nr8 6xp"). Null for Chinese addresses.
        ["name_last_sdx", "address_place"],
        ["name_initials", "address_place"],
        ["address_place", "birth_digits"],
        # A whole UK-style postcode (a street or two), the given name in another language (ian / john) with
        # the family name's Soundex, and the family name's Soundex with the birth day (year mistyped).
        ["address_outward", "address_post"],
        ["name_first_variant", "name_last_sdx"],
        ["name_last_sdx", "birth_md"],
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


# When a red light alerts: 'turned' = red now but not in the metric's previous run (a first run never
# "turns"), 'always' = every run it is red, 'never'.
RedAlert = Literal["turned", "always", "never"]


class MetricConfig(_Section):
    """Lights and alerting of one scorecard metric; unset keys fall back to [quality] / [report]."""

    green: float | None = Field(default=None, ge=0, le=100)
    amber: float | None = Field(default=None, ge=0, le=100)
    alert_on_red: RedAlert | None = None
    alert_drop: float | None = Field(default=None, ge=0)


ScorecardLevel = Literal["overall", "dimension", "source", "field", "rule"]


class QualityConfig(_Section):
    """[quality]: per-metric thresholds and alerts (docs/scorecard.md). A metric is named 'overall', a
    dimension ('completeness' …), '<dimension>:<field>' ('validity:phone') or a rule id
    ('phone.malformed')."""

    # Timeliness: a record updated within this many days before the run's date is current.
    timely_days: int = Field(default=365, ge=1)
    # Alert when a metric turns red (see RedAlert), or when it is more than alert_drop points below the
    # median of its last history_runs runs; only metrics at alert_levels, plus those under [quality.metrics].
    alert_on_red: RedAlert = "turned"
    alert_drop: float = Field(default=5.0, ge=0)
    history_runs: int = Field(default=5, ge=1)
    alert_levels: list[ScorecardLevel] = Field(
        default_factory=lambda: list[ScorecardLevel](["overall", "dimension", "source"]))
    metrics: dict[str, MetricConfig] = Field(default_factory=dict)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, v: dict[str, MetricConfig]) -> dict[str, MetricConfig]:
        from hanlink.rules import CATALOGUE, DIMENSION_NAMES

        for key, m in v.items():
            dim, sep, field = key.partition(":")
            ok = (key == "overall" or key in CATALOGUE or key in ("review.precision", "review.recall")
                  or (dim in DIMENSION_NAMES and (not sep or field in CANONICAL_FIELDS)))
            if not ok:
                raise ValueError(f"unknown metric {key!r}; valid: overall, {', '.join(DIMENSION_NAMES)}, "
                                 "<dimension>:<field> (e.g. validity:phone) or a rule id (docs/rules.md)")
            if m.green is not None and m.amber is not None and m.amber > m.green:
                raise ValueError(f"metric {key!r}: amber ({m.amber}) must not be above green ({m.green})")
        return v


class PrivacyConfig(_Section):
    """Personal-information protection (issue 7, docs/privacy.md). Secrets never go here, only their paths."""

    # Role of exports and views when neither --role nor $HANLINK_ROLE says: analyst = masked + tokens.
    role: Literal["steward", "analyst", "manager"] = "analyst"
    identity: str | None = None            # who the audit log names (default: the OS user)
    token_key_file: str | None = None      # else $HANLINK_TOKEN_KEY / $HANLINK_TOKEN_KEY_FILE
    db_key_file: str | None = None         # else $HANLINK_DB_KEY / $HANLINK_DB_KEY_FILE; none → plain file
    require_tokens: bool = False           # analyst exports fail without a token key (else: no token columns)
    encrypt_exports: bool = False          # exports written as .enc (key $HANLINK_EXPORT_KEY)
    retention_days: int | None = Field(default=None, ge=1)  # records not updated for longer: flag or purge
    retention_action: Literal["flag", "purge"] = "flag"
    backup_dir: str = "backups"            # relative to work_dir
    backup_keep: int = Field(default=7, ge=1)          # newest backups always kept
    backup_max_age_days: int = Field(default=30, ge=1)  # older ones (beyond backup_keep) expire


class SparkConfig(_Section):
    """[spark]: run block, compare, score and cluster on Apache Spark instead of DuckDB (docs/spark.md)."""

    # The one switch: false keeps everything on DuckDB (the default).
    enabled: bool = False
    # local[2] runs in this process's JVM; a cluster URL (spark://host:7077, yarn, k8s://…) in production.
    master: str = "local[2]"
    app_name: str = "hanlink"
    shuffle_partitions: int = Field(default=8, ge=1)
    driver_memory: str = "2g"
    # Where DuckDB and Spark hand Parquet files to each other; on a cluster a path every node can read
    # (an NFS mount). Default: <work_dir>/spark.
    exchange_dir: str | None = None
    # Any further Spark settings, passed as they are (spark.executor.memory = "8g", …).
    conf: dict[str, str] = Field(default_factory=dict)


class Config(_Section):
    project: ProjectConfig = Field(default_factory=ProjectConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    blocking: BlockingConfig = Field(default_factory=BlockingConfig)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    survivorship: SurvivorshipConfig = Field(default_factory=SurvivorshipConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)
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
