"""Pandera models, one per table that crosses a stage boundary: the contracts between stages."""
