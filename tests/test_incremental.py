"""Incremental nights: the same entities, ids and golden records as a full rebuild, rows conserved."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hanlink.config import Config, config_from_dict
from hanlink.db import Database
from hanlink.errors import HanlinkError
from hanlink.incremental import run_incremental
from hanlink.incremental_load import STD_SUPERSEDED
from hanlink.pipeline import STAGES, RunResult, run_stage


@dataclass
class Nights:
    """Warehouses after full(base) and then: an incremental night (inc) or a full rebuild (full)."""

    base: Path
    inc: Path
    full: Path
    result: RunResult
    deleted: pl.DataFrame
    changed: pl.DataFrame
    new: pl.DataFrame
    inc2: Path | None = None  # a second night on top: incremental again, or full rebuild again
    full2: Path | None = None


def split_project(
    out: Path, *, n: int, seed: int, max_block_size: int | None
) -> tuple[dict[str, Config], dict[str, pl.DataFrame]]:
    """A generated 4-source project split into base / delta (new + edited rows) / combined (a full
    rebuild's input: base with the edits and deletions applied, new rows appended), plus the deletions;
    and a second night: delta2 (more new rows, records edited again) / combined2."""
    from hanlink.generate import generate

    fmts = {s: "parquet" for s in ("crm", "ecommerce", "pos", "callcenter")}
    gen = generate(n, out / "gen", seed=seed, layout="sources", formats=fmts)
    data = tomllib.loads(gen.config.read_text())
    rng = np.random.default_rng(seed)
    keys: dict[str, list[pl.DataFrame]] = {"new": [], "changed": [], "deleted": []}
    for src in data["sources"]:
        df = pl.read_parquet(out / "gen" / src["path"]).with_columns(pl.all().cast(pl.String))
        r = pl.Series(rng.random(df.height))
        new, changed, deleted = r < 0.08, (r >= 0.08) & (r < 0.11), (r >= 0.11) & (r < 0.12)
        new2, changed2 = (r >= 0.12) & (r < 0.15), ((r >= 0.15) & (r < 0.17)) | (r >= 0.10) & (r < 0.11)
        f = src["fields"]
        edited = df.filter(changed).with_columns(
            (pl.col(f["address"]) + "101室").alias(f["address"]),
            pl.lit("2026-11-25 10:00:00").alias(f["updated_at"]),
        )
        # Some edits move a record to another person's phone: they must leave their old entity.
        donor = df.filter(~changed).head(edited.height // 4)[f["phone"]]
        edited = edited.with_columns(
            pl.concat([donor, edited[f["phone"]].slice(donor.len())]).alias(f["phone"])
        )
        delta = pl.concat([df.filter(new), edited])
        combined = pl.concat([df.filter(~(new | new2 | changed | deleted)), delta])
        # Night 2: edits on top of night 1's (the combined rows, re-edited), and records never seen before.
        key = pl.col(f["record_id"])
        again = combined.filter(key.is_in(df.filter(changed2)[f["record_id"]].to_list())).with_columns(
            (pl.col(f["address"]) + "202室").alias(f["address"]),
            pl.lit("2026-11-26 09:00:00").alias(f["updated_at"]),
        )
        delta2 = pl.concat([df.filter(new2), again])
        parts = {
            "base": df.filter(~(new | new2)),
            "delta": delta,
            "combined": combined,
            "delta2": delta2,
            "combined2": pl.concat([combined.filter(~key.is_in(again[f["record_id"]].to_list())), delta2]),
        }
        for part, frame in parts.items():
            (out / part).mkdir(parents=True, exist_ok=True)
            frame.write_parquet(out / part / f"{src['name']}.parquet")
        for kind, mask in (("new", new), ("changed", changed), ("deleted", deleted)):
            keys[kind].append(
                df.filter(mask).select(source=pl.lit(src["name"]), source_record_id=pl.col(f["record_id"]))
            )
        src.update(path=f"{src['name']}.parquet", format="parquet", encoding="auto")
    if max_block_size:
        data["blocking"] = {"max_block_size": max_block_size}
    data["project"].update(database=str(out / "wh.duckdb"), work_dir=str(out / "work"))
    cfgs = {
        p: config_from_dict(data, base_dir=out / p)
        for p in ("base", "delta", "combined", "delta2", "combined2")
    }
    return cfgs, {k: pl.concat(v) for k, v in keys.items()}


def full_run(cfg: Config, run_id: str) -> None:
    """Every pipeline stage on the config's warehouse (no export/publish: the tables are what we compare)."""
    with Database(cfg.database_path) as db:
        for stage in STAGES:
            run_stage(stage, db, cfg, run_id)


def nights(out: Path, *, max_block_size: int | None = None, second: bool = False) -> Nights:
    cfgs, keys = split_project(out, n=1500, seed=5, max_block_size=max_block_size)
    wh = cfgs["base"].database_path
    full_run(cfgs["base"], "r1")
    shutil.copy(wh, out / "base.duckdb")
    keys["deleted"].write_csv(out / "deletions.csv")
    result = run_incremental(
        cfgs["delta"], run_id="r2", deletions=out / "deletions.csv", out_dir=out / "inc_out"
    )
    shutil.copy(wh, out / "inc.duckdb")
    if second:
        run_incremental(cfgs["delta2"], run_id="r3", out_dir=out / "inc_out2")
        shutil.copy(wh, out / "inc2.duckdb")
    shutil.copy(out / "base.duckdb", wh)
    full_run(cfgs["combined"], "r2")
    shutil.copy(wh, out / "full.duckdb")
    if second:
        full_run(cfgs["combined2"], "r3")
    n = Nights(
        out / "base.duckdb",
        out / "inc.duckdb",
        out / "full.duckdb",
        result,
        keys["deleted"],
        keys["changed"],
        keys["new"],
    )
    if second:
        n.inc2, n.full2 = out / "inc2.duckdb", wh
    return n


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Nights:
    """full(base) then an incremental night, and full(base) then a full rebuild, on a 1,500-record project."""
    return nights(tmp_path_factory.mktemp("nights"), second=True)


@pytest.fixture(scope="module")
def night_small_blocks(tmp_path_factory: pytest.TempPathFactory) -> Nights:
    """The same with max_block_size = 3: the delta pushes blocks over the cap (and deletions under it)."""
    return nights(tmp_path_factory.mktemp("nights_cap"), max_block_size=3)


def table(path: Path, sql: str) -> pl.DataFrame:
    with Database(path, read_only=True) as db:
        return db.query(sql)


XW = "SELECT source, source_record_id, entity_id, status FROM crosswalk ORDER BY ALL"
GOLDEN = "SELECT * EXCLUDE (sources) FROM golden_records ORDER BY entity_id"


@pytest.mark.parametrize("which", ["night", "night_small_blocks"])
def test_incremental_and_full_runs_agree(which: str, request: pytest.FixtureRequest) -> None:
    n: Nights = request.getfixturevalue(which)
    inc, full = table(n.inc, XW), table(n.full, XW)
    assert inc.height == full.height > 1000
    assert inc.equals(full), inc.join(full, on=["source", "source_record_id"], how="anti").head()
    assert table(n.inc, GOLDEN).equals(table(n.full, GOLDEN))
    reg = "SELECT source, source_record_id, entity_id, active FROM entity_registry ORDER BY ALL"
    assert table(n.inc, reg).equals(table(n.full, reg))
    events = (
        "SELECT event, entity_id, other_entity_id, n_records FROM entity_history "
        "WHERE run_id = 'r2' ORDER BY ALL"
    )
    assert table(n.inc, events).equals(table(n.full, events))
    # The night only reclustered what it touched.
    assert n.result.counts["cluster"]["affected_records"] < inc.height / 2


def test_a_second_night_on_top_agrees_with_a_second_full_rebuild(night: Nights) -> None:
    assert night.inc2 is not None and night.full2 is not None
    inc, full = table(night.inc2, XW), table(night.full2, XW)
    assert inc.equals(full)
    assert not inc.equals(table(night.inc, XW))  # the second night changed something
    assert table(night.inc2, GOLDEN).equals(table(night.full2, GOLDEN))
    sup = table(night.inc2, f"SELECT run_id, count(*) AS n FROM {STD_SUPERSEDED} GROUP BY 1 ORDER BY 1")
    assert sup["run_id"].to_list() == ["r2", "r3"]


def test_small_blocks_exercise_the_cap(night_small_blocks: Nights) -> None:
    """The frequent-value exclusion is the warehouse's: groups the delta pushed over the cap lost pairs."""
    counts = night_small_blocks.result.counts["block"]
    assert counts["excluded_values_touched"] > 0
    assert counts["dropped_pairs"] + counts["pairs_rules_changed"] > 0
    cand = "SELECT rid_l, rid_r, rules FROM pairs_candidate"
    key = (
        "SELECT p.rules, a.source || '|' || a.source_record_id AS l, "
        "b.source || '|' || b.source_record_id AS r "
        f"FROM ({cand}) p JOIN std_records a ON a.rid = p.rid_l JOIN std_records b ON b.rid = p.rid_r"
    )
    pairs = [
        table(p, key)
        .with_columns(pl.min_horizontal("l", "r").alias("a"), pl.max_horizontal("l", "r").alias("b"))
        .select("a", "b", "rules")
        .sort("a", "b")
        for p in (night_small_blocks.inc, night_small_blocks.full)
    ]
    assert pairs[0].equals(pairs[1])


def test_ids_stay_stable_and_new_records_join_existing_entities(night: Nights) -> None:
    before, after = table(night.base, XW), table(night.inc, XW)
    merged = set(table(night.inc, "SELECT entity_id FROM entity_history WHERE event = 'merged'")["entity_id"])
    kept = before.join(after, on=["source", "source_record_id"], suffix="_2").filter(
        pl.col("status") == "linked", pl.col("status_2") == "linked", ~pl.col("entity_id").is_in(list(merged))
    )
    untouched = kept.join(night.changed, on=["source", "source_record_id"], how="anti")
    assert untouched.height > 1000
    assert (untouched["entity_id"] == untouched["entity_id_2"]).all()
    joined = after.join(night.new, on=["source", "source_record_id"]).filter(
        pl.col("entity_id").is_in(before["entity_id"].to_list())
    )
    assert joined.height > 10  # new records that found their existing customer keep that customer's id


def test_rows_conserved_replaced_and_deleted(night: Nights) -> None:
    books = night.result.counts["conservation"]
    assert books["raw_rows"] == books["standardized"] == books["accepted"] + books["quarantined_validate"]
    assert books["active_records"] == books["entity_rows"] == books["crosswalk_linked"]
    after = table(night.inc, XW)
    assert after.select("source", "source_record_id").is_unique().all()
    assert after.join(night.deleted, on=["source", "source_record_id"]).is_empty()
    assert after.join(night.new, on=["source", "source_record_id"]).height == night.new.height
    sup = table(
        night.inc,
        f"SELECT x.reason, x.run_id, s.source, s.source_record_id FROM {STD_SUPERSEDED} x "
        "JOIN std_standardized s USING (rid)",
    )
    assert set(sup["run_id"]) == {"r2"}
    assert (
        sup.filter(pl.col("reason") == "changed")
        .select("source", "source_record_id")
        .sort("source", "source_record_id")
        .equals(night.changed.sort("source", "source_record_id"))
    )
    # Lineage: the registry says which run last saw each changed record; rids are never reused.
    reg = table(night.inc, "SELECT source, source_record_id, last_run_id FROM entity_registry WHERE active")
    assert set(reg.join(night.changed, on=["source", "source_record_id"])["last_run_id"]) == {"r2"}
    rids = table(night.inc, "SELECT rid FROM std_standardized")["rid"]
    assert rids.is_unique().all()


def test_run_log_says_no_refit_and_outputs_are_written(night: Nights) -> None:
    log = table(night.inc, "SELECT stage, counts FROM run_log WHERE run_id = 'r2'")
    score = log.filter(pl.col("stage") == "score")["counts"][0]
    assert '"em_refit": false' in score and '"model_run_id": "r1"' in score and "incremental" in score
    summary = table(night.inc, "SELECT metric, value FROM dq_run_summary WHERE run_id = 'r2'")
    assert dict(summary.iter_rows())["balanced"] == 1
    xw = pl.read_csv(night.result.outputs["changes/crosswalk_changes"], infer_schema=False)
    assert set(xw["status"]) >= {"linked", "deleted"}
    assert xw.join(night.new, on=["source", "source_record_id"]).height == night.new.height


def test_refuses_without_a_full_run(tmp_path: Path) -> None:
    cfg = config_from_dict(
        {
            "project": {"database": str(tmp_path / "empty.duckdb")},
            "sources": [{"name": "crm", "path": "x.csv", "fields": {"record_id": "id"}}],
        },
        base_dir=tmp_path,
    )
    with pytest.raises(HanlinkError, match="no previous full run"):
        run_incremental(cfg, run_id="r1")


def test_refuses_when_blocking_rules_changed_since_the_full_run(night: Nights, tmp_path: Path) -> None:
    copy = tmp_path / "wh.duckdb"
    shutil.copy(night.base, copy)
    cfg = config_from_dict(
        {
            "project": {"database": str(copy)},
            "blocking": {"rules": [["phone"]]},
            "sources": [{"name": "crm", "path": "x.csv", "fields": {"record_id": "id"}}],
        },
        base_dir=tmp_path,
    )
    with pytest.raises(HanlinkError, match="blocking rules changed"):
        run_incremental(cfg, run_id="r9")
    assert table(copy, "SELECT count(*) AS n FROM std_standardized WHERE run_id = 'r9'")["n"][0] == 0


def test_a_night_is_published_like_a_run_with_complete_masked_exports(tmp_path: Path) -> None:
    cfgs, keys = split_project(tmp_path, n=300, seed=11, max_block_size=None)
    full_run(cfgs["base"], "r1")
    out = tmp_path / "published"
    result = run_incremental(cfgs["delta"], run_id="r2", out_dir=out)
    assert (out / "current").resolve() == (out / "runs" / "r2").resolve()
    crosswalk = pl.read_csv(out / "crosswalk.csv", infer_schema=False)
    with Database(cfgs["delta"].database_path, read_only=True) as db:
        assert crosswalk.height == db.count("crosswalk")  # the whole warehouse, not only the night's rows
        phones = {p for (p,) in db.fetchall("SELECT phone FROM std_records WHERE phone IS NOT NULL")}
    changes = pl.read_csv(result.outputs["changes/golden_records_changes"], infer_schema=False)
    golden = pl.read_csv(out / "golden_records.csv", infer_schema=False)
    for frame in (changes, golden):  # analysts (the default role) never see a raw mobile
        assert not phones & set(frame["phone"].drop_nulls())
    assert keys["new"].join(crosswalk, on=["source", "source_record_id"]).height == keys["new"].height


def test_deletions_without_incremental_is_refused_by_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hanlink.cli import app

    result = CliRunner().invoke(app, ["run", "-c", str(tmp_path / "none.toml"), "--deletions", "d.csv"])
    assert result.exit_code != 0 and "--incremental" in result.output


def test_a_forgotten_person_in_the_night_s_delta_is_held_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hanlink.privacy.forget import forget

    key = "test-token-key-0123456789abcdef"
    monkeypatch.setenv("HANLINK_TOKEN_KEY", key)
    cfgs, _ = split_project(tmp_path, n=300, seed=13, max_block_size=None)
    full_run(cfgs["base"], "r1")
    delta = pl.concat([pl.read_parquet(p).with_columns(pl.all().cast(pl.String))
                       for p in sorted((tmp_path / "delta").glob("*.parquet"))], how="diagonal")
    phone_col = next(c for c in delta.columns if "手机" in c or "phone" in c.lower() or "mobile" in c.lower())
    phone = next(p for p in delta[phone_col].drop_nulls() if p and p[-11:].isdigit() and p[-11] == "1")
    with Database(cfgs["base"].database_path) as db:  # the person asks to be forgotten before the night
        forget(db, phones=[phone], request_id="DR-NIGHT", token_key=key.encode())
    run_incremental(cfgs["delta"], run_id="r2", out_dir=tmp_path / "out")
    with Database(cfgs["delta"].database_path, read_only=True) as db:
        held = db.query("SELECT * FROM privacy_holdback WHERE run_id = 'r2'")
        assert held.height >= 1 and set(held["request_id"]) == {"DR-NIGHT"}
        digits = phone[-11:]
        assert not db.fetchall("SELECT rid FROM std_standardized WHERE phone = ?", [digits])
    assert digits not in (tmp_path / "out" / "crosswalk.csv").read_text(encoding="utf-8")
