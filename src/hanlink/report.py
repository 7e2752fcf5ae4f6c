"""The run's data-quality scorecard: DAMA dimensions with their GB/T 36344-2018 indicators, kept across runs.

Score = 100 × numerator / denominator on this run's rows: completeness 完整性 (non-blank where the source
maps the field), validity 有效性/规范性 (a present value without a validity finding), accuracy 准确性 (a
present value without an accuracy finding — placeholders, impossible dates — and, where analysts labelled
pairs, the labelled pairs the model got right), uniqueness 唯一性 (reported as 准确性: GB/T has no uniqueness
indicator; entities / records), consistency 一致性 (birth date, gender and address parts agree), timeliness
时效性 (updated within `timely_days` before as_of). Each finding counts against the dimension the rule
catalogue (rules.py) gives it. Overall = the WEIGHTS-weighted mean of the dimensions that have something to
measure. Lights per metric come from [quality.metrics], else [report]. docs/scorecard.md explains each.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import polars as pl

from hanlink import tables as T
from hanlink.config import QualityConfig, ReportConfig, SourceConfig
from hanlink.db import Database, ident
from hanlink.errors import StageError
from hanlink.rules import CATALOGUE, DIMENSION_NAMES, rule_dimension

RUN_SUMMARY = "dq_run_summary"
TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Dimension:
    """A DAMA quality dimension: Chinese and English names, the GB/T 36344-2018 indicator it reports as."""

    name_zh: str
    name_en: str
    gbt_indicator: str
    weight: float


# Weights: validity and completeness carry most (they are what stewards can fix at the source), accuracy and
# uniqueness next (wrong values, duplicated customers: what hanlink finds and repairs), consistency and
# timeliness last (narrower measures). They sum to 1.
_WEIGHT = {"completeness": 0.20, "validity": 0.25, "accuracy": 0.15, "uniqueness": 0.15, "consistency": 0.15,
           "timeliness": 0.10}
DIMENSIONS: dict[str, Dimension] = {k: Dimension(zh, en, gbt, _WEIGHT[k]) for k, (zh, en, gbt)
                                    in DIMENSION_NAMES.items()}
WEIGHTS: dict[str, float] = {k: d.weight for k, d in DIMENSIONS.items()}
# Match accuracy on the analysts' labels (review.label_accuracy): rule rows of the accuracy dimension.
LABEL_RULES = ("review.precision", "review.recall")
LABEL_FIELD = "entity_id"

# The fields measured for completeness/validity (record_id is lineage, not customer data).
MEASURED_FIELDS: tuple[str, ...] = (
    "name", "phone", "landline", "id_number", "email", "address", "province", "city", "district",
    "birth_date", "gender", "updated_at",
)
# Consistency rule → (field, the SQL condition a record meets to be in the rule's scope).
CONSISTENCY_RULES: dict[str, tuple[str, str]] = {
    "id.birth_mismatch": ("birth_date", "{a}birth_date IS NOT NULL AND {a}id_birth_date IS NOT NULL"),
    "id.gender_mismatch": ("gender", "{a}gender IS NOT NULL AND {a}id_gender IS NOT NULL"),
    "address.region_conflict": ("address", "{address} AND ({province} OR {city} OR {district})"),
}
# Fields whose accuracy is measured: those some catalogue accuracy rule judges.
_JUDGED = {r.field for r in CATALOGUE.values() if r.dimension == "accuracy"}
ACCURACY_FIELDS: tuple[str, ...] = tuple(f for f in (
    "name", "phone", "landline", "id_number", "email", "address", "province", "city", "district",
    "birth_date", "gender", "updated_at") if f in _JUDGED)

SCORECARD_SCHEMA: dict[str, Any] = {
    "run_id": pl.Utf8, "as_of": pl.Date, "level": pl.Utf8, "source": pl.Utf8, "field": pl.Utf8,
    "rule_id": pl.Utf8, "dimension": pl.Utf8, "gbt_indicator": pl.Utf8, "numerator": pl.Int64,
    "denominator": pl.Int64, "score": pl.Float64, "light": pl.Utf8,
}
SUMMARY_SCHEMA: dict[str, Any] = {"run_id": pl.Utf8, "as_of": pl.Date, "metric": pl.Utf8, "value": pl.Float64}

Light = Literal["green", "amber", "red"]


def light(score: float | None, green: float, amber: float) -> Light | None:
    """Traffic light of a 0–100 score: ≥ green → green, ≥ amber → amber, else red."""
    if score is None:
        return None
    return "green" if score >= green else "amber" if score >= amber else "red"


def metric_key(level: str, dimension: str | None, field: str | None, rule_id: str | None) -> str:
    """The name a scorecard row goes by in [quality.metrics] and dq_alerts: 'overall', a dimension,
    '<dimension>:<field>' or a rule id (a source's rows share the name of the run's)."""
    if level == "overall":
        return "overall"
    if level == "rule" and rule_id:
        return rule_id
    if level == "field" and field:
        return f"{dimension}:{field}"
    return str(dimension)


def thresholds(quality: QualityConfig, cfg: ReportConfig, key: str,
               dimension: str | None) -> tuple[float, float]:
    """(green, amber) of a metric: its own [quality.metrics] entry, else its dimension's, else [report]."""
    green, amber, amber_set = cfg.green, cfg.amber, False
    for k in (dimension, key):
        m = quality.metrics.get(k) if k else None
        if m is not None:
            green = m.green if m.green is not None else green
            amber, amber_set = (m.amber, True) if m.amber is not None else (amber, amber_set)
    # A metric's own line wins over a default it crosses (amber 95 under a default green of 90 → green 95).
    return (max(green, amber), amber) if amber_set else (green, min(amber, green))


def _rule_gbt(rule_id: str) -> str:
    return "准确性" if rule_id in LABEL_RULES else rule_dimension(rule_id)[1]


def _dim(rule_id: str) -> str:
    return "accuracy" if rule_id in LABEL_RULES else rule_dimension(rule_id)[0]


def _present(field: str, alias: str = "") -> str:
    return f"(nullif(trim(CAST({alias}{ident(field + '_raw')} AS VARCHAR)), '') IS NOT NULL)"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# dimension, source (None: the run as a whole), field, rule_id, numerator, denominator: the finest
# figures, summed by _Card.roll_up.
Cell = tuple[str, str | None, str | None, str | None, int, int]


class _Card:
    """Scorecard rows of one run; a figure with nothing to measure (denominator 0) is not kept."""

    def __init__(self, run_id: str, as_of: date, cfg: ReportConfig, quality: QualityConfig) -> None:
        self.run_id, self.as_of, self.cfg, self.quality = run_id, as_of, cfg, quality
        self.rows: list[dict[str, Any]] = []

    def add(self, level: str, dimension: str | None, num: int | None, den: int | None,
            score: float | None = None, *, source: str | None = None, field: str | None = None,
            rule_id: str | None = None) -> None:
        if den is not None:
            if den <= 0:
                return
            score = 100.0 * (num or 0) / den
        green, amber = thresholds(self.quality, self.cfg, metric_key(level, dimension, field, rule_id),
                                  dimension)
        self.rows.append({
            "run_id": self.run_id, "as_of": self.as_of, "level": level, "source": source, "field": field,
            "rule_id": rule_id, "dimension": dimension,
            "gbt_indicator": _rule_gbt(rule_id) if rule_id else
            DIMENSIONS[dimension].gbt_indicator if dimension else None,
            "numerator": num, "denominator": den, "score": score, "light": light(score, green, amber)})

    def roll_up(self, cells: list[Cell]) -> None:
        """Sum the finest figures into field, source, dimension and rule rows (overall and per source).

        Rule cells only make rule rows (a value failing two rules counts once, in its field cell); cells
        without a source (the analysts' labels) only count for the run as a whole."""
        sums: dict[tuple[str, str, str | None, str | None, str | None], list[int]] = {}

        def put(key: tuple[str, str, str | None, str | None, str | None], num: int, den: int) -> None:
            acc = sums.setdefault(key, [0, 0])
            acc[0] += num
            acc[1] += den

        for dim, src, field, rule, num, den in cells:
            level = "rule" if rule else "field"
            if field or rule:
                put((level, dim, None, field, rule), num, den)
                if src:
                    put((level, dim, src, field, rule), num, den)
            if not rule:
                if src:
                    put(("source", dim, src, None, None), num, den)
                # Entities span sources: the run's uniqueness is not the sum of the sources'.
                if dim != "uniqueness":
                    put(("dimension", dim, None, None, None), num, den)
        for (level, dim, where, field, rule), (num, den) in sums.items():
            self.add(level, dim, num, den, source=where, field=field, rule_id=rule)

    def overall(self, source: str | None) -> None:
        scores = {r["dimension"]: r["score"] for r in self.rows
                  if r["level"] == ("source" if source else "dimension") and r["source"] == source}
        total = sum(WEIGHTS[d] for d in scores)
        if total:
            self.add("overall", None, None, None, sum(WEIGHTS[d] * s for d, s in scores.items()) / total,
                     source=source)


# -- measuring ------------------------------------------------------------------------------------------
def _base(db: Database, run_id: str) -> None:
    """A view of this run's standardized rows (every row read, accepted or not): what most figures measure."""
    name = T.STD_STANDARDIZED if db.has_table(T.STD_STANDARDIZED) else T.STD_RECORDS
    if not db.has_table(name):
        raise StageError(f"table {name} is missing: nothing to report on", stage="report", run_id=run_id)
    db.execute(f"CREATE OR REPLACE TEMP VIEW _rp_base AS SELECT * FROM {name} WHERE run_id = {_lit(run_id)}")
    if db.count(name) and not db.scalar("SELECT count(*) FROM _rp_base"):
        other = db.scalar(f"SELECT min(run_id) FROM {name}")
        raise StageError(f"{name} holds run {other!r}, not this run: rerun the stages before report",
                         stage="report", run_id=run_id)


def _by_source(db: Database, sql: str) -> dict[str, dict[str, int]]:
    rows = db.query(sql).iter_rows(named=True)
    return {r.pop("source"): {k: int(v or 0) for k, v in r.items()} for r in rows}


def _present_case() -> str:
    """SQL: whether record b has a value in the finding's field f.field (NULL for a field not measured)."""
    whens = " ".join(f"WHEN {_lit(f)} THEN {_present(f, 'b.')}" for f in MEASURED_FIELDS)
    return f"CASE f.field {whens} END"


def _scope_sql(rule_id: str, alias: str = "") -> str:
    """SQL: whether a record is in a consistency rule's scope (it has both values the rule compares)."""
    cond = CONSISTENCY_RULES[rule_id][1]
    return "(" + cond.format(a=alias, **{f: _present(f, alias) for f in MEASURED_FIELDS}) + ")"


def _flagged(db: Database, run_id: str, rules: list[tuple[str, str | None]]) -> dict[tuple[str, ...], int]:
    """Records flagged within each rule's scope: (source, rule_id, field) → n; and records with any
    finding of a dimension on a present value: (source, field, dimension) → n, for validity and accuracy."""
    out: dict[tuple[str, ...], int] = {}
    if not rules:
        return out
    consistency = " ".join(f"WHEN f.rule_id = {_lit(r)} THEN {_scope_sql(r, 'b.')}"
                           for r in CONSISTENCY_RULES)
    complete = [_lit(r) for r, _ in rules if _dim(r) == "completeness"] or ["''"]
    present = _present_case()
    findings = f"(SELECT DISTINCT rid, rule_id, field FROM {T.DQ_FINDINGS} WHERE run_id = ?) f"
    for src, rule_id, field, n in db.fetchall(f"""
            SELECT b.source, f.rule_id, f.field, count(*) FROM {findings} JOIN _rp_base b USING (rid)
            WHERE CASE {consistency} WHEN f.rule_id IN ({", ".join(complete)}) THEN true
                       ELSE coalesce({present}, true) END
            GROUP BY ALL""", [run_id]):
        out[src, rule_id, field] = int(n)
    for dim in ("validity", "accuracy"):
        ids = [_lit(r) for r, _ in rules if _dim(r) == dim] or ["''"]
        for src, field, n in db.fetchall(f"""
                SELECT b.source, f.field, count(DISTINCT rid) FROM {findings} JOIN _rp_base b USING (rid)
                WHERE f.rule_id IN ({", ".join(ids)}) AND coalesce({present}, false)
                GROUP BY ALL""", [run_id]):
            out[src, field, dim] = int(n)
    return out


def _cells(db: Database, run_id: str, as_of: date, sources: list[SourceConfig] | None,
           timely_days: int) -> list[Cell]:
    present = _by_source(db, "SELECT source, count(*) AS n, " + ", ".join(
        f"count(*) FILTER (WHERE {_present(f)}) AS {f}" for f in MEASURED_FIELDS)
        + " FROM _rp_base GROUP BY 1")
    both = _by_source(db, "SELECT source, " + ", ".join(
        f"count(*) FILTER (WHERE {_scope_sql(r)}) AS {ident(r)}" for r in CONSISTENCY_RULES)
        + " FROM _rp_base GROUP BY 1")
    rules = [] if not db.has_table(T.DQ_FINDINGS) else [(r[0], r[1]) for r in db.fetchall(
        f"SELECT DISTINCT rule_id, field FROM {T.DQ_FINDINGS} WHERE run_id = ?", [run_id])]
    flagged = _flagged(db, run_id, rules)
    mapped = _mapped(present, sources)
    cells: list[Cell] = []
    for s, counts in present.items():
        for f in MEASURED_FIELDS:
            if f in mapped[s]:
                cells.append(("completeness", s, f, None, counts[f], counts["n"]))
                cells.append(("validity", s, f, None, counts[f] - flagged.get((s, f, "validity"), 0),
                              counts[f]))
                if f in ACCURACY_FIELDS:
                    cells.append(("accuracy", s, f, None, counts[f] - flagged.get((s, f, "accuracy"), 0),
                                  counts[f]))
        for rule_id, field in sorted({*rules, *((r, spec[0]) for r, spec in CONSISTENCY_RULES.items())},
                                     key=str):
            dim = _dim(rule_id)
            if dim == "consistency" and rule_id in CONSISTENCY_RULES:
                scope = both[s][rule_id]
            elif dim != "completeness" and field in MEASURED_FIELDS:
                scope = counts[field]  # type: ignore[index]
            else:
                scope = counts["n"]
            ok = scope - flagged.get((s, rule_id, field), 0)  # type: ignore[arg-type]
            cells.append((dim, s, field, rule_id, ok, scope))
            if rule_id in CONSISTENCY_RULES:  # also a field figure: the date, gender, address that disagrees
                cells.append((dim, s, field, None, ok, scope))
    timely = [s for s in present if "updated_at" in mapped[s]]
    if timely:
        for src, num, den in db.fetchall(f"""
                SELECT source, count(*) FILTER (WHERE date_diff('day', CAST(updated_at AS DATE), ?)
                                                BETWEEN 0 AND ?), count(*)
                FROM _rp_base WHERE source IN ({", ".join(map(_lit, timely))}) GROUP BY 1""",
                                         [as_of, timely_days]):
            cells.append(("timeliness", src, None, None, int(num), int(den)))
    return cells + _ingest_cells(db, run_id, {s: c["n"] for s, c in present.items()})


def _ingest_cells(db: Database, run_id: str, standardized: dict[str, int]) -> list[Cell]:
    """Rules that quarantined rows at ingest (unreadable rows): rule rows over each source's input rows."""
    if not db.has_table(T.QUARANTINE):
        return []
    found = db.fetchall(f"""
        SELECT source, rule_id, count(*) FROM (SELECT source, unnest(string_split(rule_ids, ';')) AS rule_id
            FROM {T.QUARANTINE} WHERE run_id = ? AND stage = 'ingest') GROUP BY ALL ORDER BY ALL""", [run_id])
    total = dict(db.fetchall(f"SELECT source, count(*) FROM {T.QUARANTINE} "
                             "WHERE run_id = ? AND stage = 'ingest' GROUP BY 1", [run_id]))
    out: list[Cell] = []
    for src, rule_id, n in found:
        den = standardized.get(src, 0) + int(total[src])
        field = CATALOGUE[rule_id].field if rule_id in CATALOGUE else "record"
        out.append((_dim(rule_id), src, field, rule_id, den - int(n), den))
    return out


def _labels(db: Database) -> list[Cell]:
    """Match accuracy on the analysts' labelled pairs (review.label_accuracy on the model's clusters)."""
    from hanlink.review import REVIEW_LABELS, label_accuracy

    if not (db.has_table(REVIEW_LABELS) and db.has_table(T.ENTITIES)):
        return []
    acc = label_accuracy(db, "model")
    tp, fn, fp, tn = acc["tp"], acc["fn"], acc["fp"], acc["tn"]
    return [("accuracy", None, LABEL_FIELD, "review.precision", tp, tp + fp),
            ("accuracy", None, LABEL_FIELD, "review.recall", tp, tp + fn),
            ("accuracy", None, LABEL_FIELD, None, tp + tn, tp + fn + fp + tn)]


def _uniqueness(card: _Card, db: Database, run_id: str) -> list[Cell]:
    """Per source (records of a source folded into fewer entities) and for the run as a whole."""
    if not (db.has_table(T.STD_RECORDS) and db.has_table(T.ENTITIES)):
        return []
    join = f"FROM {T.STD_RECORDS} s JOIN {T.ENTITIES} e USING (rid) WHERE s.run_id = ?"
    records, entities = db.fetchall(f"SELECT count(*), count(DISTINCT e.entity_id) {join}", [run_id])[0]
    card.add("dimension", "uniqueness", int(entities), int(records))
    return [("uniqueness", src, None, None, int(ent), int(rec)) for src, rec, ent in db.fetchall(
        f"SELECT s.source, count(*), count(DISTINCT e.entity_id) {join} GROUP BY 1", [run_id])]


def _ages(db: Database, as_of: date) -> dict[str, float]:
    """Age in days of the records' last update (median), for the run and per source: the timeliness detail."""
    rows = db.fetchall("""SELECT source, median(date_diff('day', CAST(updated_at AS DATE), ?))
                          FROM _rp_base WHERE updated_at IS NOT NULL GROUP BY ROLLUP (source) ORDER BY ALL""",
                       [as_of])
    return {"update_age_days_median" + (f".{s}" if s else ""): float(v) for s, v in rows if v is not None}


def _mapped(present: dict[str, dict[str, int]], sources: list[SourceConfig] | None) -> dict[str, set[str]]:
    """Fields each source maps: from the config when given, else those with any value in the data."""
    configured = {s.name: set(s.fields) for s in sources or []}
    return {s: (configured[s] & set(MEASURED_FIELDS)) if s in configured
            else {f for f in MEASURED_FIELDS if counts[f] > 0} for s, counts in present.items()}


# -- row conservation -----------------------------------------------------------------------------------
def _count(db: Database, table: str, where: str = "", params: list[Any] | None = None) -> int | None:
    if not db.has_table(table):
        return None
    return int(db.scalar(f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else ""), params))


def run_summary(db: Database, run_id: str) -> dict[str, int]:
    """Where the run's rows went (read, quarantined, accepted, linked …); balanced=1 when they add up.

    Tables not there (yet) are left out; tables with a run id column are filtered to this run."""
    mine = "run_id = ?"
    raw = [_count(db, t, "_run_id = ?", [run_id]) if "_run_id" in db.columns(t) else _count(db, t)
           for t in db.tables(T.RAW_PREFIX)]
    entities = None
    if db.has_table(T.ENTITIES) and db.has_table(T.STD_RECORDS):
        entities = int(db.scalar(f"SELECT count(DISTINCT e.entity_id) FROM {T.ENTITIES} e "
                                 f"JOIN {T.STD_RECORDS} s USING (rid) WHERE s.run_id = ?", [run_id]))
    found: dict[str, int | None] = {
        "raw_rows": sum(r or 0 for r in raw),
        "quarantined_ingest": _count(db, T.QUARANTINE, mine + " AND stage = 'ingest'", [run_id]) or 0,
        "standardized": _count(db, T.STD_STANDARDIZED, mine, [run_id]),
        "quarantined_validate": _count(db, T.QUARANTINE, mine + " AND stage = 'validate'", [run_id]) or 0,
        "accepted": _count(db, T.STD_RECORDS, mine, [run_id]),
        "findings": _count(db, T.DQ_FINDINGS, mine, [run_id]),
        "entities": entities,
        "golden": _count(db, T.GOLDEN_RECORDS),
        "crosswalk": _count(db, T.CROSSWALK),
        "crosswalk_quarantined": _count(db, T.CROSSWALK, "status = 'quarantined'"),
        "conflicts": _count(db, "golden_conflicts"),
    }
    got = {k: v for k, v in found.items() if v is not None}
    got["records_in"] = got["raw_rows"] + got["quarantined_ingest"]
    got["quarantined"] = got["quarantined_ingest"] + got["quarantined_validate"]
    equal = [("standardized", "raw_rows"), ("crosswalk", "records_in"), ("golden", "entities")]
    ok = all(got[a] == got[b] for a, b in equal if a in got and b in got)
    if "accepted" in got and "standardized" in got:
        ok = ok and got["accepted"] + got["quarantined_validate"] == got["standardized"]
    got["balanced"] = int(ok)
    return got


# -- the entry ------------------------------------------------------------------------------------------
def default_as_of(db: Database, run_id: str) -> date:
    """The run's date: its first stage's start (run_log), else the date in its id, else today in Beijing."""
    if db.has_table(T.RUN_LOG):
        started = db.scalar(f"SELECT min(started_at) FROM {T.RUN_LOG} WHERE run_id = ?", [run_id])
        if isinstance(started, datetime):
            return started.date()
    m = re.match(r"^(\d{4})-?(\d{2})-?(\d{2})", run_id)
    with suppress(ValueError):
        return date(int(m[1]), int(m[2]), int(m[3])) if m else datetime.now(TIMEZONE).date()
    return datetime.now(TIMEZONE).date()


def row_order(row: dict[str, Any]) -> tuple[Any, ...]:
    levels = ["overall", "dimension", "source", "field", "rule"]
    dims = [None, *DIMENSIONS]
    return (levels.index(row["level"]), row["source"] or "", dims.index(row["dimension"]),
            MEASURED_FIELDS.index(row["field"]) if row["field"] in MEASURED_FIELDS else len(MEASURED_FIELDS),
            row["field"] or "", row["rule_id"] or "")


def report(db: Database, cfg: ReportConfig, run_id: str, *, as_of: date | None = None,
           sources: list[SourceConfig] | None = None, quality: QualityConfig | None = None) -> dict[str, Any]:
    """Compute the run's scorecard and append it to dq_scorecard (a rerun of `run_id` replaces its own rows).

    `as_of` anchors timeliness (default: the run's date — pass it for reproducible figures). `sources` tells
    which fields each source maps; without it a field counts as mapped when any row of the source has it.
    `quality` ([quality] of the config; default: its defaults) sets per-metric lights, timeliness and the
    alerts written to dq_alerts. Also records the row-conservation figures in dq_run_summary. Returns the
    overall score, the number of alerts and those figures.
    """
    from hanlink.alerts import evaluate_alerts

    quality = quality or QualityConfig()
    as_of = as_of or default_as_of(db, run_id)
    card = _Card(run_id, as_of, cfg, quality)
    _base(db, run_id)
    try:
        cells = _cells(db, run_id, as_of, sources, quality.timely_days) + _uniqueness(card, db, run_id)
        ages = _ages(db, as_of)
    finally:
        db.execute("DROP VIEW IF EXISTS _rp_base")
    cells += _labels(db)
    card.roll_up(cells)
    card.overall(None)
    for src in sorted({c[1] for c in cells if c[1] is not None}):
        card.overall(src)
    frame = pl.DataFrame(sorted(card.rows, key=row_order), schema=SCORECARD_SCHEMA)
    summary = run_summary(db, run_id)
    metrics = {**summary, "threshold_green": cfg.green, "threshold_amber": cfg.amber,
               "timely_days": quality.timely_days, **ages}
    summary_frame = pl.DataFrame({"run_id": run_id, "as_of": as_of, "metric": list(metrics),
                                  "value": [float(v) for v in metrics.values()]},
                                 schema=SUMMARY_SCHEMA)
    with db.transaction():
        for table, rows in ((T.DQ_SCORECARD, frame), (RUN_SUMMARY, summary_frame)):
            if db.has_table(table):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
            db.write(table, rows, mode="append")
        alerts = evaluate_alerts(db, run_id, quality, cfg)
    overall = next((r["score"] for r in card.rows if r["level"] == "overall" and r["source"] is None), None)
    return {"scorecard_rows": frame.height, "overall_score": None if overall is None else round(overall, 2),
            "as_of": as_of.isoformat(), "alerts": alerts.height, **summary}
