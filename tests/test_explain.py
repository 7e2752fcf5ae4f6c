"""Masked explanations: every comparison's values masked by the field they hold, weights untouched."""

from __future__ import annotations

import polars as pl

from hanlink.explain import mask_explanation


def test_every_sensitive_comparison_is_masked_and_weights_kept() -> None:
    frame = pl.DataFrame(
        {
            "comparison": ["name", "phone", "id_number", "other_id", "address_text", "gender"],
            "value_l": ["张伟", "13812345678", "11010119900307803X", "1234567", "12 Smith St Sydney", "M"],
            "value_r": ["張偉", "13812345679", None, "1234568", "12 Smith Street", "M"],
            "level": [1, 1, -1, 1, 2, 0],
            "label": ["a", "b", "null", "c", "d", "e"],
            "weight": [1.5, 2.0, 0.0, 3.0, 1.0, 0.1],
        }
    )
    why = mask_explanation({"weight": 7.6, "comparisons": frame})
    masked = why["comparisons"]
    raw = set(frame["value_l"].drop_nulls()) | set(frame["value_r"].drop_nulls())
    shown = set(masked["value_l"].drop_nulls()) | set(masked["value_r"].drop_nulls())
    assert shown & raw == {"M"}  # only gender, which is not sensitive, is shown as is
    assert masked["value_l"][1] == "138****5678"
    assert masked["weight"].to_list() == frame["weight"].to_list() and why["weight"] == 7.6
    assert masked["value_r"][2] is None
