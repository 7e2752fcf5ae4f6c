"""The CLI: the one-shot dedupe file contract, mapping guess and overrides, init, and clean errors."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hanlink.cli import app
from hanlink.config import load_config

runner = CliRunner()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _header(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


@pytest.fixture(scope="module")
def deduped(single_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The generated single file de-duplicated once through the CLI: (input, output dir, stderr)."""
    out = tmp_path_factory.mktemp("dedupe_out")
    result = runner.invoke(app, ["dedupe", str(single_file / "customers.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return single_file / "customers.csv", out, result.output


def test_dedupe_writes_the_contract_files(deduped: tuple[Path, Path, str]) -> None:
    source, out, _ = deduped
    assert _header(out / "crosswalk.csv") == "source_record_id,entity_id"
    assert _header(out / "findings.csv") == "source_record_id,rule_id,field,severity,message"
    inputs = pl.read_csv(source, infer_schema=False)
    crosswalk = _rows(out / "crosswalk.csv")
    # One row per input record, in input order, keyed by the input's own record id column.
    assert [r["source_record_id"] for r in crosswalk] == inputs["记录编号"].to_list()
    golden = pl.read_csv(out / "golden_records.csv", infer_schema=False)
    linked = {r["entity_id"] for r in crosswalk if r["entity_id"]}
    assert set(golden["entity_id"].to_list()) == linked
    assert golden.height == len(linked) < len(crosswalk)  # duplicates were found
    findings = _rows(out / "findings.csv")
    assert findings, "generated data has injected errors, so there must be findings"
    assert {f["severity"] for f in findings} <= {"reject", "warn"}
    ids = {r["source_record_id"] for r in crosswalk}
    assert all(f["source_record_id"] in ids for f in findings)
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    assert 0 <= card["overall"]["score"] <= 100


def test_quarantined_records_stay_in_the_crosswalk_with_a_finding(deduped: tuple[Path, Path, str]) -> None:
    _, out, _ = deduped
    crosswalk = _rows(out / "crosswalk.csv")
    held = {r["source_record_id"] for r in crosswalk if not r["entity_id"]}
    assert held, "junk records in generated data are quarantined"
    rejected = {f["source_record_id"] for f in _rows(out / "findings.csv") if f["severity"] == "reject"}
    assert held == rejected


def test_dedupe_says_which_mapping_it_used(deduped: tuple[Path, Path, str]) -> None:
    _, _, said = deduped
    for header in ("姓名", "手机号", "身份证号"):
        assert header in said


def test_dedupe_is_deterministic(deduped: tuple[Path, Path, str], tmp_path: Path) -> None:
    source, first, _ = deduped
    again = runner.invoke(app, ["dedupe", str(source), "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    for name in ("crosswalk.csv", "findings.csv", "golden_records.csv"):
        assert (
            hashlib.sha256((first / name).read_bytes()).hexdigest()
            == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        ), name


def test_mapping_override_with_unknown_header_is_a_clean_error(single_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "dedupe",
            str(single_file / "customers.csv"),
            "--out",
            str(tmp_path),
            "--map",
            "phone=no_such_column",
        ],
    )
    assert result.exit_code != 0
    assert "no_such_column" in result.output
    assert "手机号" in result.output  # lists the headers that exist
    assert "Traceback" not in result.output


def test_bad_input_exits_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hanlink.cli",
            "dedupe",
            str(tmp_path / "missing.csv"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    assert "missing.csv" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_init_writes_a_valid_config_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "hanlink.toml"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    assert load_config(path).sources
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 1 and "--force" in again.output


def test_run_with_invalid_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "hanlink.toml"
    path.write_text('[matching]\nmatch_threshold = "high"\n', encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(path)])
    assert result.exit_code == 2
    assert "matching.match_threshold" in result.output and "'high'" in result.output


def test_generate_writes_sources_truth_and_a_config(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "-n", "300", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert len(pl.read_csv(tmp_path / "truth.csv", infer_schema=False)) == 300
    assert {s.name for s in load_config(tmp_path / "hanlink.toml").sources} == {
        "crm",
        "ecommerce",
        "pos",
        "callcenter",
    }
    assert "truth.csv" in result.output


@pytest.mark.parametrize("n", [1, 5, 19])
def test_generate_a_handful_of_records(tmp_path: Path, n: int) -> None:
    """Too few records for a single family used to crash the generator (an empty family table)."""
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "-n", str(n), "--layout", "single"])
    assert result.exit_code == 0, result.output
    assert len(pl.read_csv(tmp_path / "truth.csv", infer_schema=False)) == n
    assert len(pl.read_csv(tmp_path / "customers.csv", infer_schema=False)) == n


def test_generate_refuses_zero_records_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--out", str(tmp_path), "-n", "0"])
    assert result.exit_code == 1
    assert "--records must be at least 1" in result.output and "Traceback" not in result.output


def test_demo_generates_runs_and_says_where_the_outputs_are(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--dir", str(tmp_path), "-n", "400", "--no-prefect"])
    assert result.exit_code == 0, result.output
    for name in ("golden_records.csv", "crosswalk.csv", "scorecard.json"):
        assert str(tmp_path / "work" / "output" / name) in result.output.replace("\n", "")
        assert (tmp_path / "work" / "output" / name).exists()


def test_explain_shows_weights_that_add_up_and_masks_values(tmp_path: Path) -> None:
    from hanlink.db import Database

    assert runner.invoke(app, ["demo", "--dir", str(tmp_path), "-n", "400", "--no-prefect"]).exit_code == 0
    config = tmp_path / "hanlink.toml"
    with Database(load_config(config).database_path, read_only=True) as db:
        pair = db.query("""
            SELECT l.source || ':' || l.source_record_id AS a, r.source || ':' || r.source_record_id AS b,
                   p.weight, l.phone AS phone_l, r.phone AS phone_r
            FROM pairs_scored p JOIN std_records l ON l.rid = p.rid_l JOIN std_records r ON r.rid = p.rid_r
            WHERE l.phone IS NOT NULL AND r.phone IS NOT NULL ORDER BY p.rid_l, p.rid_r LIMIT 1""").row(
            0, named=True
        )
    result = runner.invoke(app, ["explain", pair["a"], pair["b"], "-c", str(config)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"weight {pair['weight']:+.2f}" in result.output
    assert pair["phone_l"] not in result.output and pair["phone_r"] not in result.output
    assert pair["phone_l"][:3] + "****" in result.output
    refused = runner.invoke(  # raw values are for stewards; the default role is analyst
        app, ["explain", pair["a"], pair["b"], "-c", str(config), "--unmasked"], terminal_width=200
    )
    assert refused.exit_code != 0 and "steward" in refused.output
    assert pair["phone_l"] not in refused.output
    unmasked = runner.invoke(
        app, ["explain", pair["a"], pair["b"], "-c", str(config), "--unmasked"], terminal_width=200,
        env={"HANLINK_ROLE": "steward"},
    )
    assert unmasked.exit_code == 0 and pair["phone_l"] in unmasked.output


def test_a_header_only_file_gives_empty_outputs_and_an_empty_file_a_clear_error(tmp_path: Path) -> None:
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("姓名,手机号\n", encoding="utf-8")
    result = runner.invoke(app, ["dedupe", str(header_only), "--out", str(tmp_path / "o1")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o1" / "crosswalk.csv").read_text(
        encoding="utf-8"
    ).strip() == "source_record_id,entity_id"
    card = json.loads((tmp_path / "o1" / "scorecard.json").read_text(encoding="utf-8"))
    assert card["overall"]["score"] is None and card["conservation"]["records_in"] == 0
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["dedupe", str(empty), "--out", str(tmp_path / "o2")])
    assert result.exit_code == 3 and "empty.csv" in result.output and "Traceback" not in result.output
