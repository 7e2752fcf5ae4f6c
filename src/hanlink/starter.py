"""The commented starter config that `hanlink init` writes."""

STARTER_CONFIG = '''\
# hanlink project configuration (项目配置). Paths are relative to this file.
# Check it with `hanlink run --config hanlink.toml`; a bad key or value is named in the error.

[project]
name = "customers"
database = "work/hanlink.duckdb"   # the warehouse: one DuckDB file
work_dir = "work"                  # outputs (golden records, crosswalk, scorecard) go to work/output
language = "zh"                    # zh | en: language of reports and messages
# memory_limit = "8GB"             # DuckDB spills to disk beyond this
# threads = 2

# One [[sources]] block per system. format: auto | csv | excel | parquet;
# encoding: auto | utf-8 | utf-8-sig | gbk | gb18030 (auto detects UTF-8, BOM and GBK/GB18030).
# [sources.fields] maps hanlink's canonical fields to your column headers:
#   record_id name phone landline id_number email address province city district birth_date gender updated_at
# required: fields a record must have, or it is quarantined (隔离) with the reason.

[[sources]]
name = "crm"
path = "data/crm.csv"
format = "csv"
encoding = "auto"
required = ["name"]

[sources.fields]
record_id = "客户编号"
name = "姓名"
phone = "手机号"
id_number = "身份证号"
email = "邮箱"
address = "地址"
birth_date = "出生日期"
gender = "性别"
updated_at = "更新时间"

# [[sources]]
# name = "ecommerce"
# path = "data/ecommerce.csv"
# encoding = "gbk"
# [sources.fields]
# record_id = "customer_id"
# name = "name"
# phone = "mobile"

[blocking]
# Candidate pairs must agree exactly on every key of at least one rule.
rules = [["phone"], ["id_number"], ["email"], ["name_key", "birth_date"], ["name_key", "district"],
         ["name_key", "phone_last4"], ["id_birth", "surname"]]
# A value shared by more records than this (a placeholder phone, 张伟 in one district) is not evidence.
max_block_size = 100

[matching]
# Match probability thresholds: lower match_threshold → more recall, less precision.
match_threshold = 0.95
review_threshold = 0.5   # pairs between this and match_threshold go to the review queue
seed = 42

[survivorship]
# Rules: valid_first | most_recent | most_frequent | most_complete | source_priority
default_rule = "valid_first"
source_priority = ["crm"]
[survivorship.rules]
address = "most_recent"

[report]
green = 95.0   # scores ≥ green are green, ≥ amber amber, else red
amber = 85.0
'''
