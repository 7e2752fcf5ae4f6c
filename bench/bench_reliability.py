"""Reliability at scale: a generated file set with every class of bad input mixed in, run twice end to end.

    python bench/bench_reliability.py [--records 1000000] [--bad 1000] [--out bench/out/reliability_1000000]

Builds (seeded, from hanlink.generate output): customers.csv = the N generated records with a UTF-8 BOM and
`--bad` rows of each row-level bad class inserted at random places; pos.xlsx (Excel: uncalculated formulas,
merged cells, IDs stored as numbers); header_only.csv. Then:
1. run 1 (empty warehouse) and run 2 (same input; the staging copy of the full warehouse is the copy cost):
   rows in / rows accounted for, seconds, idempotence (golden records, crosswalk, scorecard hashes);
2. file-level bad input (empty file, binary, UTF-16, a mapped header missing): each run must refuse with a
   SourceError and leave the published run as it was.
Prints a markdown table; --json writes the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER_FIELDS = (
    "记录编号",
    "姓名",
    "手机号",
    "身份证号",
    "邮箱",
    "地址",
    "出生日期",
    "性别",
    "更新时间",
    "座机",
)


def bad_rows(rng: random.Random, k: int) -> dict[str, list[bytes]]:
    """`k` rows of each row-level bad class, as the bytes of one CSV record each (ids BAD-<class>-<i>)."""

    def row(
        cls: str,
        i: int,
        name: str = "张伟",
        phone: str = "13912345678",
        id_no: str = "",
        addr: str = "北京市朝阳区建国路1号",
        landline: str = "",
        enc: str = "utf-8",
    ) -> bytes:
        vals = [f"BAD-{cls}-{i}", name, phone, id_no, "", addr, "", "", "", landline]
        return (",".join(vals) + "\n").encode(enc)

    def garbage() -> bytes:  # no line ends, quotes or commas: stays one ragged, undecodable record
        raw = bytes(rng.randrange(128, 256) for _ in range(40))
        return raw

    out: dict[str, list[bytes]] = {
        "gbk_line": [row("gbk", i, name="李娜", addr="上海市浦东新区", enc="gbk") for i in range(k)],
        "invalid_bytes": [row("inv", i).replace(b"\xe5\xbc\xa0", b"\xff\xfe") for i in range(k)],
        "ragged": [
            row("rag", i)[:-1] + b",extra,fields\n" if i % 2 else b"BAD-rag-%d,short\n" % i for i in range(k)
        ],
        "quotes_newlines": [
            f'BAD-quo-{i},"李""娜""\n二",13912345678,,,"上海市,浦东\n新区",,,,\n'.encode() for i in range(k)
        ],
        "binary_garbage": [b"BAD-bin-%d," % i + garbage() + b"\n" for i in range(k)],
        "excel_formula": [row("fx", i, name="=1+1", addr="=cmd|' /C calc'!A0") for i in range(k)],
        "injection": [
            row("sql", i, name="'; DROP TABLE raw_customers; --", phone="$(rm -rf /)") for i in range(k)
        ],
        "emoji_cjk_ext": [row("emo", i, name="𠮷野家😀", addr="北京𠀀𪚥路1号") for i in range(k)],
        "rtl": [row("rtl", i, name="محمد علي", addr="\u202e北京市") for i in range(k)],
        "excel_sci_phone": [row("sci", i, phone="1.38123E+10") for i in range(k)],
        "id_as_float": [row("flt", i, id_no="1.10101199003078E+17") for i in range(k)],
        "lost_leading_zero": [row("zero", i, landline="1062345678") for i in range(k)],
        "nul_bytes": [row("nul", i, name="\x00\x00") for i in range(k)],
    }
    out["ten_mb_field"] = [f'BAD-big-0,李娜,13912345678,,,"{"路" * (10 * 1024 * 1024 // 3)}",,,,\n'.encode()]
    return out


def build(records: int, bad: int, out: Path) -> dict[str, int]:
    """Write the file set and config into `out`; returns the rows each source holds (by construction)."""
    from hanlink.generate import generate

    src = ROOT / "bench" / "out" / f"data_normal_{records}"
    if not (src / "customers.csv").exists():
        generate(records, src, seed=42, layout="single")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(8)
    inserts = [r for rows in bad_rows(rng, bad).values() for r in rows]
    positions = sorted(rng.randrange(records) for _ in inserts)
    rng.shuffle(inserts)
    with (src / "customers.csv").open("rb") as f, (out / "customers.csv").open("wb") as w:
        w.write(b"\xef\xbb\xbf" + f.readline())
        j = 0
        for i, line in enumerate(f):
            while j < len(positions) and positions[j] == i:
                w.write(inserts[j])
                j += 1
            w.write(line)
    (out / "header_only.csv").write_text(",".join(HEADER_FIELDS) + "\n", encoding="utf-8")
    excel_rows = write_excel(out / "pos.xlsx", bad)
    fields = dict(
        zip(
            (
                "record_id",
                "name",
                "phone",
                "id_number",
                "email",
                "address",
                "birth_date",
                "gender",
                "updated_at",
                "landline",
            ),
            HEADER_FIELDS,
            strict=True,
        )
    )
    mapping = "\n".join(f'{k} = "{v}"' for k, v in fields.items())
    sources = "".join(
        f'\n[[sources]]\nname = "{name}"\npath = "{path}"\nrequired = []\n[sources.fields]\n{mapping}\n'
        for name, path in (
            ("customers", "customers.csv"),
            ("pos", "pos.xlsx"),
            ("empty_export", "header_only.csv"),
        )
    )
    (out / "hanlink.toml").write_text(
        f'[project]\nname = "reliability"\ndatabase = "work/hanlink.duckdb"\nwork_dir = "work"\n{sources}',
        encoding="utf-8",
    )
    return {"customers": records + len(inserts), "pos": excel_rows, "empty_export": 0}


def write_excel(path: Path, n: int) -> int:
    """An Excel export: uncalculated formulas, merged cells, IDs and phones stored as numbers."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(HEADER_FIELDS))
    for i in range(n):
        ws.append(
            [
                f"POS{i:06d}",
                '=B1&"x"' if i % 10 == 0 else "王芳",
                13800000000 + i,
                110101199003071234 if i % 7 == 0 else None,
                None,
                "上海市浦东新区世纪大道2号" if i % 2 else None,
                None,
                None,
                None,
                None,
            ]
        )
    for r in range(3, n, 50):  # an address merged over two customers
        ws.merge_cells(f"F{r}:F{r + 1}")
    wb.save(path)
    return n


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def run_once(cfg_path: Path, run_id: str) -> dict[str, object]:
    from hanlink.config import load_config
    from hanlink.pipeline import run_pipeline

    cfg = load_config(cfg_path)
    t0 = time.perf_counter()
    result = run_pipeline(cfg, run_id=run_id)
    wall = time.perf_counter() - t0
    out = cfg.work_path / "output"
    return {
        "wall_s": round(wall, 1),
        "stages_s": {k: round(v, 2) for k, v in result.seconds.items()},
        "conservation": result.conservation,
        "publish": result.publish,
        "hashes": {n: digest(out / n) for n in ("golden_records.csv", "crosswalk.csv", "findings.csv")},
    }


def refusals(cfg_path: Path) -> list[dict[str, object]]:
    """Swap one source for a fatal file; each run must refuse and leave the published run untouched."""
    from hanlink.config import load_config
    from hanlink.errors import HanlinkError
    from hanlink.pipeline import run_pipeline

    cfg = load_config(cfg_path)
    d = cfg_path.parent
    target = d / "header_only.csv"
    saved = target.read_bytes()
    fatal = {
        "empty file": b"",
        "binary file": random.Random(3).randbytes(100_000),
        "UTF-16 file": "\ufeff记录编号,姓名\n".encode("utf-16-le"),
        "mapped header missing": "记录编号,手机号\nX1,13912345678\n".encode(),
    }
    out = []
    live = cfg.database_path
    for what, data in fatal.items():
        before = (
            live.stat().st_size,
            live.stat().st_mtime_ns,
            os.readlink(cfg.work_path / "output" / "current"),
        )
        target.write_bytes(data)
        t0 = time.perf_counter()
        try:
            run_pipeline(cfg, run_id=f"fatal-{what.split()[0]}")
            message, code = "NOT REFUSED", 0
        except HanlinkError as exc:
            message, code = str(exc).splitlines()[0], exc.exit_code
        seconds = time.perf_counter() - t0
        after = (
            live.stat().st_size,
            live.stat().st_mtime_ns,
            os.readlink(cfg.work_path / "output" / "current"),
        )
        out.append(
            {
                "input": what,
                "exit_code": code,
                "seconds": round(seconds, 1),
                "message": message,
                "published_unchanged": before == after,
            }
        )
    target.write_bytes(saved)
    return out


def copy_cost(live: Path, repeat: int = 3) -> dict[str, float]:
    """Median seconds to copy the warehouse file aside (what every run pays before its first stage)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        shutil.copyfile(live, live.with_name(".copy-bench"))
        times.append(time.perf_counter() - t0)
        live.with_name(".copy-bench").unlink()
    return {
        "bytes": live.stat().st_size,
        "median_s": round(statistics.median(times), 2),
        "runs_s": [round(t, 2) for t in times],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--bad", type=int, default=1_000, help="rows of each bad class")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = args.out or ROOT / "bench" / "out" / f"reliability_{args.records}"
    shutil.rmtree(out / "work", ignore_errors=True)
    t0 = time.perf_counter()
    expected = build(args.records, args.bad, out)
    build_s = time.perf_counter() - t0
    cfg_path = out / "hanlink.toml"
    first = run_once(cfg_path, "rel1")
    second = run_once(cfg_path, "rel2")
    from hanlink.config import load_config

    figures = {
        "records": args.records,
        "bad_per_class": args.bad,
        "rows_in_files": expected,
        "rows_in_files_total": sum(expected.values()),
        "build_s": round(build_s, 1),
        "run1": first,
        "run2": second,
        "idempotent": first["hashes"] == second["hashes"],
        "copy": copy_cost(load_config(cfg_path).database_path),
        "refusals": refusals(cfg_path),
    }
    c = first["conservation"]
    assert isinstance(c, dict)
    print(
        "| rows in files | rows_in (raw + ingest quarantine) | quarantined ingest | quarantined validate "
        "| accepted | with one entity | crosswalk | run 1 s | run 2 s | copy s (bytes) | idempotent |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {figures['rows_in_files_total']:,} | {c['rows_in']:,} | {c['quarantined_ingest']:,} | "
        f"{c['quarantined_validate']:,} | {c['accepted']:,} | {c['with_entity']:,} | "
        f"{c['crosswalk_rows']:,} | "
        f"{first['wall_s']} | {second['wall_s']} | {figures['copy']['median_s']} "
        f"({figures['copy']['bytes'] / 2**30:.2f} GiB) | {figures['idempotent']} |"
    )
    for r in figures["refusals"]:
        print(
            f"- {r['input']}: exit {r['exit_code']} in {r['seconds']} s, published unchanged "
            f"{r['published_unchanged']}: {r['message']}"
        )
    print(json.dumps(figures, ensure_ascii=False, indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if c["rows_in"] != figures["rows_in_files_total"]:
        sys.exit(f"rows lost: {figures['rows_in_files_total']} in files, {c['rows_in']} accounted for")


if __name__ == "__main__":
    main()
