"""Config loading: valid files load, every kind of mistake names the key, the bad value and what is valid."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hanlink.config import config_from_dict, load_config
from hanlink.errors import ConfigError
from hanlink.starter import STARTER_CONFIG


def test_starter_config_is_valid_and_relative_to_its_file(tmp_path: Path) -> None:
    path = tmp_path / "hanlink.toml"
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.sources[0].fields["name"] == "姓名"
    assert cfg.database_path == tmp_path.resolve() / "work" / "hanlink.duckdb"
    assert cfg.survivorship.rules == {"address": "most_recent"}


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        (
            {"sources": [{"name": "crm", "path": "x", "format": "xls"}]},
            "sources[0].format",
            ["'xls'", "'excel'"],
        ),
        ({"blocking": {"rulez": []}}, "blocking.rulez", ["unknown key", "max_block_size"]),
        (
            {"sources": [{"name": "crm", "path": "x", "fields": {"nam": "姓名"}}]},
            "sources[0].fields",
            ["'nam'", "phone"],
        ),
        ({"matching": {"match_threshold": 1.5}}, "matching.match_threshold", ["1.5"]),
        ({"matching": {"match_threshold": 0.4}}, "matching", ["review_threshold"]),
        ({"sources": [{"name": "CRM", "path": "x"}]}, "sources[0].name", ["'CRM'"]),
        ({"sources": [{"name": "crm"}]}, "sources[0].path", ["Field required"]),
        (
            {"blocking": {"rules": [["phone", "shoe_size"]]}},
            "blocking.rules[0][1]",
            ["'shoe_size'", "'name_key'"],
        ),
        (
            {"survivorship": {"default_rule": "newest"}},
            "survivorship.default_rule",
            ["'newest'", "most_recent"],
        ),
        ({"sources": [{"name": "a", "path": "x"}, {"name": "a", "path": "y"}]}, "", ["unique", "a"]),
    ],
)
def test_invalid_config_names_key_value_and_valid_choices(data: dict, key: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, where="t.toml")
    text = str(info.value)
    assert text.startswith("t.toml: " + key)
    for word in words:
        assert word in text


def test_missing_and_broken_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hanlink init"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[project\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_starter_config_round_trips_through_toml() -> None:
    data = tomllib.loads(STARTER_CONFIG)
    assert config_from_dict(data).model_dump(exclude={"base_dir"}) == config_from_dict(
        config_from_dict(data).model_dump(exclude={"base_dir"})
    ).model_dump(exclude={"base_dir"})
