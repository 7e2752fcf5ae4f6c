"""Prefect flows: orchestration only — every task calls into the hanlink package."""
