"""Privacy: keyed tokens, roles, per-role exports scanned for raw ID numbers and phones, the notebook and
dashboard, the encrypted warehouse (wrong or missing key refused cleanly), encrypted exports, audit log."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from privacy_project import TOKEN_KEY, make_project, run_all, scan, secret_values
from typer.testing import CliRunner

from hanlink.cli import app
from hanlink.db import Database, DatabaseKeyError
from hanlink.errors import HanlinkError
from hanlink.export import export_outputs
from hanlink.fields import COLUMN_TAGS, SENSITIVE
from hanlink.privacy import audit
from hanlink.privacy.crypto import decrypt_file
from hanlink.privacy.keys import SecretKeyError
from hanlink.privacy.roles import RoleError, protect, resolve_role
from hanlink.privacy.tokens import normalize, token, token_key, tokenize

KEY = TOKEN_KEY.encode()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    """A 600-record project run once (run r1), plain database."""
    cfg = make_project(tmp_path_factory.mktemp("privacy"))
    run_all(cfg, "r1")
    return cfg


# -- tokens and roles ----------------------------------------------------------------------------------
def test_tokens_are_keyed_stable_and_joinable() -> None:
    s = pl.Series("p", ["13812345678", None, "13812345678", "13912345678"])
    t = tokenize(s, "phone", KEY)
    assert t[0] == t[2] != t[3] and t[1] is None and len(t[0]) == 32
    assert token("phone", "13812345678", KEY) != token("phone", "13812345678", b"another-key-0123456789")
    assert token("phone", "13812345678", KEY) != hashlib.sha256(b"13812345678").hexdigest()[:32]
    assert normalize("phone", "+86 138-1234-5678") == normalize("phone", "13812345678")
    assert normalize("id_number", "11010119900307123x ") == "11010119900307123X"
    # the same tokens computed inside DuckDB (the nightly hold-back), Chinese text included
    from hanlink.privacy.tokens import hmac_pads, token_sql

    db = Database()
    db.execute("CREATE TABLE v AS SELECT unnest(['13812345678', '张伟', NULL]) AS x")
    got = db.fetchall(f"SELECT {token_sql('x', 'phone')} FROM v", hmac_pads(KEY))
    assert [r[0] for r in got] == [token("phone", "13812345678", KEY), token("phone", "张伟", KEY), None]


def test_missing_or_short_token_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANLINK_TOKEN_KEY", raising=False)
    monkeypatch.delenv("HANLINK_TOKEN_KEY_FILE", raising=False)
    with pytest.raises(SecretKeyError, match="HANLINK_TOKEN_KEY"):
        token_key()
    assert token_key(required=False) is None
    monkeypatch.setenv("HANLINK_TOKEN_KEY", "short")
    with pytest.raises(SecretKeyError, match="too short"):
        token_key()


def test_role_resolution_and_protection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANLINK_ROLE", raising=False)
    assert resolve_role() == "analyst"
    assert resolve_role(None, "manager") == "manager"
    monkeypatch.setenv("HANLINK_ROLE", "steward")
    assert resolve_role(None, "manager") == "steward"
    assert resolve_role("analyst", "manager") == "analyst"
    with pytest.raises(RoleError, match="valid: steward, analyst, manager"):
        resolve_role("admin")
    df = pl.DataFrame(
        {
            "entity_id": ["E1"],
            "name": ["张伟"],
            "phone": ["13812345678"],
            "id_number": ["110101199003071234"],
            "gender": ["M"],
        }
    )
    assert protect(df, "steward").equals(df)
    seen = protect(df, "analyst", token_key=KEY).row(0, named=True)
    assert (
        seen["name"] == "张*" and seen["phone"] == "138****5678" and seen["id_number"] == "110101********1234"
    )
    assert seen["phone_token"] == token("phone", "13812345678", KEY) and seen["gender"] == "M"
    assert "name_token" not in seen  # names are not identifying on their own: masked, not tokenized
    with pytest.raises(RoleError, match="aggregates"):
        protect(df, "manager")


def test_sensitivity_tags_have_one_source_and_reach_the_schemas() -> None:
    from schemas.golden import GoldenRecords
    from schemas.std_records import StdRecords

    for field, tag in SENSITIVE.items():
        assert COLUMN_TAGS[field] == tag and COLUMN_TAGS[f"{field}_raw"] == tag
    for model in (StdRecords, GoldenRecords):
        schema = model.to_schema()
        for name, col in schema.columns.items():
            tagged = (col.metadata or {}).get("sensitivity")
            assert tagged == COLUMN_TAGS.get(name), (model.__name__, name, tagged)


# -- per-role outputs ----------------------------------------------------------------------------------
def test_no_raw_id_or_phone_in_any_analyst_or_manager_output(
    project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANLINK_TOKEN_KEY", TOKEN_KEY)
    monkeypatch.delenv("HANLINK_ROLE", raising=False)
    with Database(project.database_path) as db:
        secrets = secret_values(db)
        assert len(secrets) > 500
        folders = {}
        for role in ("steward", "analyst", "manager"):
            folders[role] = tmp_path / role
            export_outputs(db, "r1", folders[role], role=role, privacy=project.privacy)  # type: ignore[arg-type]
        default = tmp_path / "default"
        paths = export_outputs(db, "r1", default)  # nobody said: the analyst's masked view
    assert "golden_records" in paths and (default / "golden_records.csv").exists()
    assert scan(folders["steward"], secrets), "the scan must see raw values where they are allowed"
    for role in ("analyst", "manager", "default"):
        assert scan(tmp_path / role, secrets) == {}, role
    assert sorted(p.name for p in folders["manager"].iterdir() if p.is_file()) == [
        "findings_summary.csv",
        "scorecard.json",
    ]
    golden = pl.read_csv(folders["analyst"] / "golden_records.csv", infer_schema=False)
    full = pl.read_csv(folders["steward"] / "golden_records.csv", infer_schema=False)
    assert {"phone_token", "id_number_token", "email_token"} <= set(golden.columns)
    assert golden["entity_id"].to_list() == full["entity_id"].to_list()
    # tokens join: the same ID number has the same token as a token computed from the steward's value
    i = full["id_number"].drop_nulls().to_list()[0]
    row = golden.filter(pl.col("id_number_token") == token("id_number", i, KEY))
    assert row.height >= 1 and row["id_number"][0] == i[:6] + "*" * 8 + i[-4:]


def test_notebook_functions_follow_the_role(project, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "review_nb", Path(__file__).parents[1] / "notebooks/review.py"
    )
    nb = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(nb)  # type: ignore[union-attr]
    with Database(project.database_path, read_only=True) as db:
        secrets = secret_values(db)
        pairs = db.query("SELECT rid_l, rid_r FROM pairs_scored ORDER BY weight DESC LIMIT 5")
    config = str(Path(project.base_dir) / "hanlink.toml")
    for role, leaks in (("analyst", False), ("steward", True)):
        monkeypatch.setenv("HANLINK_ROLE", role)
        shown = pl.concat(
            [nb.pair_view(config, r["rid_l"], r["rid_r"])["comparisons"] for r in pairs.iter_rows(named=True)]
        )
        assert any(v in shown.write_csv() for v in secrets) is leaks, role
    monkeypatch.setenv("HANLINK_ROLE", "manager")
    with pytest.raises(RoleError):
        nb.load_queue(config)


def test_dashboard_if_present_shows_no_raw_values(
    project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HANLINK_ROLE", "manager")
    with Database(project.database_path) as db:
        secrets = secret_values(db)
        export_outputs(db, "r1", tmp_path / "out")
        try:
            from hanlink.dashboard import write_dashboard
        except ImportError:
            pytest.skip("no dashboard module yet")
        write_dashboard(db, "r1", tmp_path / "dash")
    assert list((tmp_path / "dash").rglob("*.html"))
    assert scan(tmp_path, secrets) == {}


# -- encryption at rest --------------------------------------------------------------------------------
def test_encrypted_database_refuses_a_missing_or_wrong_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANLINK_DB_KEY", raising=False)
    path = tmp_path / "w.duckdb"
    with Database(path, encryption_key="right-key-0123456789") as db:
        db.execute("CREATE TABLE t AS SELECT '110101199003071234' AS id_number")
        assert db.encrypted
    assert b"110101199003071234" not in path.read_bytes()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DatabaseKeyError, match="wrong database key"):
        Database(path, encryption_key="wrong-key-0123456789")
    with pytest.raises(DatabaseKeyError, match="no key"):
        Database(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # nothing half-opened or rewritten
    monkeypatch.setenv("HANLINK_DB_KEY", "right-key-0123456789")
    with Database(path, read_only=True) as db:
        assert db.scalar("SELECT id_number FROM t") == "110101199003071234"


def test_pipeline_runs_unchanged_on_an_encrypted_warehouse_and_cli_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_project(tmp_path / "p", records=300, seed=3)
    monkeypatch.setenv("HANLINK_DB_KEY", "nightly-key-0123456789")
    run_all(cfg, "r1")
    with Database(cfg.database_path, read_only=True) as db:
        assert db.encrypted and db.count("golden_records") > 0
    config = str(Path(cfg.base_dir) / "hanlink.toml")
    monkeypatch.setenv("HANLINK_DB_KEY", "wrong-key-0123456789")
    result = CliRunner().invoke(app, ["audit", "-c", config])
    assert result.exit_code == 2 and "wrong database key" in result.output
    assert "Traceback" not in result.output


def test_encrypted_exports_and_decrypt(project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANLINK_EXPORT_KEY", "export-passphrase-0123456789")
    privacy = project.privacy.model_copy(update={"encrypt_exports": True})
    with Database(project.database_path) as db:
        paths = export_outputs(db, "r1", tmp_path / "enc", role="steward", privacy=privacy)
        secrets = secret_values(db)
    # the dashboard stays readable (masked figures only, meant for a shared drive); every data file is .enc
    assert all(p.name.endswith(".enc") for k, p in paths.items() if k != "dashboard") and len(paths) >= 4
    assert not list((tmp_path / "enc").glob("*.csv")) and scan(tmp_path / "enc", secrets) == {}
    result = CliRunner().invoke(app, ["decrypt", str(paths["golden_records"])])
    assert result.exit_code == 0, result.output
    assert scan(tmp_path / "enc", secrets)  # the steward's file, readable again
    monkeypatch.setenv("HANLINK_EXPORT_KEY", "another-passphrase-0123456789")
    with pytest.raises(HanlinkError, match="wrong export key"):
        decrypt_file(paths["scorecard"], "another-passphrase-0123456789", tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


# -- audit log -----------------------------------------------------------------------------------------
def test_audit_log_is_append_only_and_shown_by_the_cli(
    project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg_copy = tmp_path / "audit.duckdb"
    shutil.copy(project.database_path, cfg_copy)
    monkeypatch.setenv("HANLINK_ACTOR", "steward.wang")
    with Database(cfg_copy) as db:
        n0 = len(audit.entries(db))
        audit.record(db, "run", ["std_records", "golden_records"], 597, detail={"run_id": "r9"})
        export_outputs(db, "r1", tmp_path / "o", role="analyst")
        log = audit.entries(db)
        assert len(log) == n0 + 2 and log["action"][0] == "export" and log["actor"][0] == "steward.wang"
        assert log["role"][0] == "analyst" and log["rows"][1] == 597
        assert json.loads(log["detail"][1]) == {"run_id": "r9"}
        assert audit.verify(db) == []
        audit.record(db, "view", "explain 13812345678", 1)  # a careless caller: still shown masked
        assert audit.entries(db, masked=True)["objects"][0] == "explain 138****5678"
        db.execute("UPDATE audit_log SET rows = 1 WHERE seq = (SELECT min(seq) FROM audit_log)")
        assert audit.verify(db) != []  # a row edited by hand breaks the chain
    result = CliRunner().invoke(app, ["audit", "-c", str(Path(project.base_dir) / "hanlink.toml")])
    assert result.exit_code == 0 and "export" in result.output


def test_analyst_export_fails_clearly_when_tokens_are_required_but_no_key(
    project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HANLINK_TOKEN_KEY", raising=False)
    monkeypatch.delenv("HANLINK_TOKEN_KEY_FILE", raising=False)
    strict = project.privacy.model_copy(update={"require_tokens": True})
    with Database(project.database_path) as db, pytest.raises(SecretKeyError, match="HANLINK_TOKEN_KEY"):
        export_outputs(db, "r1", tmp_path / "x", role="analyst", privacy=strict)
    assert not (tmp_path / "x" / "golden_records.csv").exists()


def test_encrypt_db_converts_a_plain_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "work" / "hanlink.duckdb"
    with Database(path) as db:
        db.execute("CREATE TABLE t AS SELECT '13812345678' AS phone FROM range(100)")
    (tmp_path / "hanlink.toml").write_text('[project]\ndatabase = "work/hanlink.duckdb"\n', encoding="utf-8")
    monkeypatch.setenv("HANLINK_DB_KEY", "convert-key-0123456789")
    done = CliRunner().invoke(app, ["encrypt-db", "-c", str(tmp_path / "hanlink.toml")])
    assert done.exit_code == 0, done.output
    assert b"13812345678" not in path.read_bytes()
    with Database(path, read_only=True) as db:
        assert db.encrypted and db.count("t") == 100


def test_deletion_request_lists_are_classified_by_shape() -> None:
    from hanlink.privacy.requests import classify

    got = classify(["110101199003071234", " 138-1234-5678", "E0123456789AB", "# comment", "", "id:X123",
                    "phone:0105551234"])
    assert got == {"id_numbers": ["110101199003071234", "X123"], "phones": ["138-1234-5678", "0105551234"],
                   "entity_ids": ["E0123456789AB"]}
    with pytest.raises(HanlinkError, match=r"not an ID number.*\*"):
        classify(["13812345678abc"])
