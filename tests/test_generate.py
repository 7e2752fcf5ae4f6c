"""Tests of the synthetic data generator: determinism, files, ground truth, valid identifiers, error rates."""

from __future__ import annotations

import datetime
import hashlib
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from hanlink.config import load_config
from hanlink.generate import NORMAL_RATES, GeneratedData, error_rates, generate, vocab

N = 2000


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _id_valid(s: str) -> bool:
    """GB 11643 check, written independently: weights are 2^(17-i) mod 11."""
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return False
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(s[:17]))
    return "10X98765432"[total % 11] == s[17]


_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _uscc_valid(s: str) -> bool:
    """GB 32100 check, written independently: weights 3^i mod 31 over the 31-character alphabet."""
    if len(s) != 18 or any(c not in _USCC for c in s):
        return False
    total = sum(_USCC.index(c) * (3**i % 31) for i, c in enumerate(s[:17]))
    return _USCC[(31 - total % 31) % 31] == s[17]


def _possible_birth_date(s: str) -> bool:
    try:
        return datetime.date.fromisoformat(s) <= datetime.date.today()
    except ValueError:
        return False


def _read(path: Path) -> pl.DataFrame:
    """A generated data file as text columns."""
    if path.suffix == ".csv":
        enc = "gbk" if path.name == "ecommerce.csv" else "utf-8"
        return pl.read_csv(path.read_bytes().decode(enc).encode("utf-8"), infer_schema_length=0)
    if path.suffix == ".parquet":
        return pl.read_parquet(path).select(pl.all().cast(pl.String))
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    return pl.DataFrame([list(r) for r in rows[1:]], schema=list(rows[0]), orient="row")


def _with_truth(g: GeneratedData, source: str) -> pl.DataFrame:
    """A source's rows next to their truth rows (same order)."""
    data = _read(g.files[source][0])
    truth = pl.read_csv(g.truth, infer_schema_length=0).filter(pl.col("source") == source)
    assert data.height == truth.height
    return pl.concat([data, truth.fill_null("")], how="horizontal")


@pytest.fixture(scope="module")
def sources_data(tmp_path_factory: pytest.TempPathFactory) -> GeneratedData:
    """2k records in the four-source layout."""
    return generate(N, tmp_path_factory.mktemp("sources"), seed=7)


@pytest.fixture(scope="module")
def single_data(tmp_path_factory: pytest.TempPathFactory) -> GeneratedData:
    """4k records in one customers file, as CSV and Parquet."""
    return generate(4000, tmp_path_factory.mktemp("single"), seed=7, layout="single",
                    formats={"customers": ["csv", "parquet"]})


def test_same_seed_same_bytes_other_seed_other_bytes(sources_data: GeneratedData, tmp_path: Path) -> None:
    again = generate(N, tmp_path / "again", seed=7)
    for a, b in zip(sources_data.files.values(), again.files.values(), strict=True):
        assert [_sha(p) for p in a] == [_sha(p) for p in b]
    assert _sha(sources_data.truth) == _sha(again.truth)
    other = generate(N, tmp_path / "other", seed=8)
    assert _sha(other.files["crm"][0]) != _sha(sources_data.files["crm"][0])
    assert _sha(other.truth) != _sha(sources_data.truth)


def test_counts_unique_ids_and_every_record_in_truth(sources_data: GeneratedData) -> None:
    g = sources_data
    truth = pl.read_csv(g.truth, infer_schema_length=0)
    assert truth.columns == ["source", "source_record_id", "entity_id", "entity_kind", "family_id", "errors"]
    assert truth.height == N == g.n_records == sum(g.records_by_source.values())
    cfg = load_config(g.config)
    keys = set()
    for src in cfg.sources:
        data = _read(cfg.resolve(src.path))
        ids = data[src.fields["record_id"]]
        assert ids.null_count() == 0 and ids.n_unique() == data.height == g.records_by_source[src.name]
        keys |= {(src.name, i) for i in ids.to_list()}
    assert keys == set(zip(truth["source"], truth["source_record_id"], strict=True))
    assert set(truth["entity_kind"]) == {"person", "company", "junk"}
    # several records per entity for about half the entities, never more than six
    per_entity = truth.group_by("entity_id").len()["len"]
    assert per_entity.max() <= 6 and 0.3 < (per_entity > 1).mean() < 0.7


def test_gbk_file_is_gbk_not_utf8(sources_data: GeneratedData) -> None:
    raw = sources_data.files["ecommerce"][0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert text.startswith("customer_id,name,mobile,email,province,city,district,address,updated_at")
    assert "省" in text and "+86" in text


def test_resident_ids_valid_and_consistent(sources_data: GeneratedData) -> None:
    df = _with_truth(sources_data, "crm").filter(pl.col("entity_kind") == "person")
    adcodes = set(vocab.regions()["adcode"].cast(pl.String))
    clean = df.filter(~pl.col("errors").str.contains("id_") & pl.col("身份证号").is_not_null())
    assert clean.height > 400
    for pid, birth, gender, errors in clean.select("身份证号", "出生日期", "性别", "errors").iter_rows():
        assert _id_valid(pid), pid
        assert pid[:6] in adcodes
        if "date_" not in errors and birth:
            assert pid[6:14] == birth.replace("-", "")
        if "gender_format" not in errors and gender:
            assert ("男" if int(pid[16]) % 2 else "女") == gender
    typos = df.filter(pl.col("errors").str.contains("id_typo"))["身份证号"].to_list()
    assert typos and not any(_id_valid(p) for p in typos)
    assert all(len(p) == 15 for p in df.filter(pl.col("errors").str.contains("id_15digit"))["身份证号"])
    lower = df.filter(pl.col("errors").str.contains("id_lowercase_x"))["身份证号"]
    assert all(p.endswith("x") for p in lower)
    # every person has one ID, no two people share one
    ids = clean.select("entity_id", "身份证号").unique()
    assert ids["entity_id"].n_unique() == ids["身份证号"].n_unique() == ids.height


def test_company_credit_codes_valid(sources_data: GeneratedData) -> None:
    df = _with_truth(sources_data, "crm").filter(pl.col("entity_kind") == "company")
    codes = df.filter(~pl.col("errors").str.contains("id_") & pl.col("身份证号").is_not_null())["身份证号"]
    assert len(codes) > 3 and all(_uscc_valid(c) for c in codes)
    assert all(n.endswith("公司") for n in df["姓名"])


def test_families_share_address_and_landline_not_entity(single_data: GeneratedData) -> None:
    df = _with_truth(single_data, "customers")
    fam = df.filter(pl.col("family_id") != "")
    assert fam["family_id"].n_unique() > 20
    clean = fam.filter(~pl.col("errors").str.contains("address_variant|field_missing|landline_format"))
    per_family = clean.group_by("family_id").agg(
        pl.col("entity_id").n_unique().alias("entities"),
        pl.col("地址").n_unique().alias("addresses"),
        pl.col("座机").n_unique().alias("landlines"),
    ).filter(pl.col("entities") > 1)
    assert per_family.height > 10
    assert (per_family["addresses"] == 1).all() and (per_family["landlines"] == 1).all()
    # …but each relative has an ID of their own
    with_id = fam.filter(~pl.col("errors").str.contains("id_") & (pl.col("身份证号") != ""))
    ids = with_id.group_by("family_id").agg(pl.col("entity_id").n_unique().alias("entities"),
                                            pl.col("身份证号").n_unique().alias("ids"))
    assert (ids["entities"] > 1).sum() > 10 and (ids["ids"] == ids["entities"]).all()
    # relatives have different names
    names = clean.filter(pl.col("errors") == "").select("family_id", "entity_id", "姓名").unique()
    assert names.group_by("family_id", "姓名").agg(pl.col("entity_id").n_unique())["entity_id"].max() == 1


def test_common_names_collide_across_people(single_data: GeneratedData) -> None:
    df = _with_truth(single_data, "customers").filter(
        (pl.col("entity_kind") == "person") & ~pl.col("errors").str.contains("name_|id_"))
    shared = df.group_by("姓名").agg(pl.col("entity_id").n_unique().alias("people"),
                                    pl.col("身份证号").drop_nulls().n_unique().alias("ids"))
    top = shared.filter(pl.col("people") >= 3)
    assert top.height >= 3 and (top["ids"] >= 3).all()


def test_clean_phones_and_ids_belong_to_one_entity(single_data: GeneratedData) -> None:
    df = _with_truth(single_data, "customers").filter(pl.col("entity_kind") != "junk")
    for column, errors in (("手机号", "phone_"), ("身份证号", "id_")):
        clean = df.filter(~pl.col("errors").str.contains(errors) & (pl.col(column) != ""))
        owners = clean.group_by(column).agg(pl.col("entity_id").n_unique())["entity_id"]
        assert clean.height > 2000 and owners.max() == 1, column


def test_single_csv_and_parquet_agree_and_config_loads(single_data: GeneratedData) -> None:
    csv, parquet = (_read(p) for p in single_data.files["customers"])
    assert csv.columns == ["记录编号", "姓名", "手机号", "身份证号", "邮箱", "地址", "出生日期", "性别",
                           "更新时间", "座机"]
    assert csv.equals(parquet)
    cfg = load_config(single_data.config)
    assert [s.name for s in cfg.sources] == ["customers"]
    assert cfg.resolve(cfg.sources[0].path) == single_data.files["customers"][0]


def test_written_config_loads_and_maps_real_headers(sources_data: GeneratedData) -> None:
    cfg = load_config(sources_data.config)
    assert cfg.project.database == "work/hanlink.duckdb" and cfg.project.work_dir == "work"
    assert [(s.name, s.format, s.encoding) for s in cfg.sources] == [
        ("crm", "csv", "utf-8"), ("ecommerce", "csv", "gbk"), ("pos", "excel", "auto"),
        ("callcenter", "parquet", "auto")]
    for src in cfg.sources:
        headers = _read(cfg.resolve(src.path)).columns
        assert list(src.fields.values()) == headers


def test_injected_errors_are_visible(sources_data: GeneratedData) -> None:
    crm = _with_truth(sources_data, "crm")
    ph = set(vocab.PLACEHOLDER_PHONES)

    def rows(error: str) -> pl.DataFrame:
        return crm.filter(pl.col("errors").str.contains(error))

    assert all(re.sub(r"\D", "", p)[-11:] in ph for p in rows("phone_placeholder")["手机号"])
    halfwidth = str.maketrans("０１２３４５６７８９", "0123456789")
    # ten digits, with 86 or 0086 in front when formatted so
    assert all(len(re.sub(r"\D", "", p.translate(halfwidth))) in (10, 12, 14)
               for p in rows("phone_missing_digit")["手机号"])
    assert all(("@" not in e) or ("@@" in e) for e in rows("email_malformed")["邮箱"])
    assert all(e != e.lower() or e != e.strip() for e in rows("email_case")["邮箱"])
    assert all(re.fullmatch(r"[A-Za-z ]+", n) for n in rows("name_pinyin")["姓名"])
    impossible = rows("date_impossible")["出生日期"].to_list()
    assert impossible and not any(_possible_birth_date(d) for d in impossible)
    junk = crm.filter(pl.col("entity_kind") == "junk")
    assert (junk["errors"] == "junk_record").all()
    assert set(junk["姓名"]) <= set(vocab.JUNK_NAMES)
    clean = crm.filter((pl.col("errors") == "") & (pl.col("entity_kind") == "person"))
    assert clean["手机号"].str.contains(r"^1[3-9]\d{9}$").all()
    assert clean["出生日期"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert clean["性别"].is_in(["男", "女"]).all()


def test_error_rates_roughly_as_configured(tmp_path: Path) -> None:
    n = 10_000
    g = generate(n, tmp_path, seed=3, layout="single")
    truth = pl.read_csv(g.truth, infer_schema_length=0).fill_null("")
    people = truth.filter(pl.col("entity_kind") == "person")
    not_junk = truth.filter(pl.col("entity_kind") != "junk")

    def share(frame: pl.DataFrame, error: str) -> float:
        return float(frame["errors"].str.contains(rf"(^|;){error}(;|$)").mean())  # type: ignore[arg-type]

    assert 0.6 < share(people, "name_typo") / NORMAL_RATES["name_typo"] < 1.4
    assert 0.6 < share(not_junk, "phone_typo") / NORMAL_RATES["phone_typo"] < 1.4
    assert 0.6 < share(not_junk, "id_missing") / NORMAL_RATES["id_missing"] < 1.4
    # field_missing is drawn per optional field (six in this layout), so a record has one with ≈ 1-(1-r)^6
    expected = 1 - (1 - NORMAL_RATES["field_missing"]) ** 6
    assert 0.6 < share(not_junk, "field_missing") / expected < 1.2
    assert abs(share(truth, "junk_record") - NORMAL_RATES["junk_record"]) < 0.002
    # counts reported by generate() agree with truth.csv
    for error, count in g.error_counts.items():
        assert count == truth["errors"].str.contains(rf"(^|;){error}(;|$)").sum(), error


def test_hard_has_more_errors_than_normal(tmp_path: Path) -> None:
    normal = generate(N, tmp_path / "n", seed=11)
    hard = generate(N, tmp_path / "h", seed=11, difficulty="hard")
    assert sum(hard.error_counts.values()) > 1.5 * sum(normal.error_counts.values())
    for error in ("name_homophone", "phone_typo", "address_variant", "field_missing"):
        assert hard.error_counts[error] > normal.error_counts[error], error
    assert error_rates("hard")["crm"]["name_typo"] == 2 * error_rates("normal")["crm"]["name_typo"]


def test_pos_as_parquet_and_bad_arguments(tmp_path: Path) -> None:
    g = generate(300, tmp_path, formats={"pos": "parquet"})
    assert g.files["pos"][0].name == "pos.parquet"
    assert [s.format for s in load_config(g.config).sources if s.name == "pos"] == ["parquet"]
    with pytest.raises(ValueError, match="unknown source"):
        generate(10, tmp_path, formats={"erp": "csv"})
    with pytest.raises(ValueError, match="one of"):
        generate(10, tmp_path, formats={"pos": "xls"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="difficulty"):
        generate(10, tmp_path, difficulty="easy")  # type: ignore[arg-type]
