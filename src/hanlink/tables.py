"""Stable table names, stage-prefixed, so every stage and report agrees on where data lives."""

from __future__ import annotations

RAW_PREFIX = "raw_"                  # raw_<source>: every row as read, text, with lineage
STD_STANDARDIZED = "std_standardized"  # standardize: every ingested row, standardized
STD_RECORDS = "std_records"          # validate: the rows accepted for matching (a view)
STD_REJECTED = "std_rejected"        # validate: rids of std_standardized held back in the quarantine
DQ_FINDINGS = "dq_findings"          # validate: one row per problem found
QUARANTINE = "quarantine"            # ingest + validate: rows held back, with every reason
PAIRS_CANDIDATE = "pairs_candidate"  # block
PAIRS_COMPARED = "pairs_compared"    # compare
PAIRS_SCORED = "pairs_scored"        # score
MODEL_PARAMS = "model_params"        # score: the fitted Fellegi–Sunter model, readable
ENTITIES = "entities"                # cluster: rid → entity_id
GOLDEN_RECORDS = "golden_records"    # survive
GOLDEN_PROVENANCE = "golden_provenance"  # survive: one row per golden field: which record, which rule
CROSSWALK = "crosswalk"              # survive: source + source_record_id → entity_id
DQ_SCORECARD = "dq_scorecard"        # report: kept across runs
RUN_LOG = "run_log"                  # pipeline: one row per run and stage


def raw_table(source: str) -> str:
    return f"{RAW_PREFIX}{source}"
