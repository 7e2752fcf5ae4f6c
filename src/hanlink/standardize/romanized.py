"""Romanized and mixed-script names, parsed once per DISTINCT value: pinyin syllables, surname found in
any order ('Zhang Wei', 'WEI ZHANG', 'ZHANG, Wei', 'zhangwei'), HK/TW spellings mapped to pinyin."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import TypedDict

from hanlink.standardize import name_data
from hanlink.standardize.lookups import cached_pairs
from hanlink.standardize.name_data import (
    COMMON_SURNAMES,
    COMPOUND_SURNAMES,
    HK_TW_SURNAMES,
    PINYIN_SYLLABLES,
    SURNAME_READINGS,
    SYLLABLE_ALIASES,
)


class ParsedName(TypedDict):
    """One parsed name; the fields of std_records' name block (name_type and name decided by the caller)."""

    name: str | None
    surname: str | None
    given_name: str | None
    surname_pinyin: str | None
    surname_alt: str | None
    name_pinyin: str | None
    given_pinyin: str | None
    name_key: str | None


_LONGEST = max(len(s) for s in PINYIN_SYLLABLES)
# Western given names that also split into pinyin syllables (bianca → bian ca, julian → ju lian, dean →
# de an): one word stays one word. Chinese names written this way are split by the writer (An Na, De'an)
# or carry the surname in the same word (zhangdean). Names that are everyday Chinese given names in pinyin
# (lina 丽娜, nana 娜娜) are not here.
_LATIN_GIVEN_NAMES: frozenset[str] = frozenset((
    "anna", "bianca", "dana", "dean", "diana", "diane", "dina", "elena", "eliana", "hanna", "helena",
    "julia", "julian", "juliana", "lena", "leo", "lisa", "linda", "lucia", "luna", "maria", "marian",
    "mia", "mina", "nina", "sean", "selena", "susan", "tina", "wanda"))
_HAN_CHARS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN = re.compile(f"[{_HAN_CHARS}]")
_RUNS = re.compile(f"[{_HAN_CHARS}]+|[^{_HAN_CHARS}]+")   # alternating Hanzi / other runs


@cache
def surname_pinyin_of(hanzi: str) -> str:
    """Toneless pinyin of a Hanzi surname with surname readings (曾 zeng, 尉迟 yu chi)."""
    from pypinyin import lazy_pinyin

    if hanzi in SURNAME_READINGS:
        return SURNAME_READINGS[hanzi]
    if len(hanzi) == 1 or hanzi in COMPOUND_SURNAMES:
        return " ".join(lazy_pinyin(hanzi))
    return " ".join(SURNAME_READINGS.get(ch) or lazy_pinyin(ch)[0] for ch in hanzi)


@cache
def surname_ranks() -> dict[str, int]:
    """Pinyin surname (syllables joined without space: 'zhang', 'ouyang') → frequency rank (0 = commonest).

    Compound surnames rank after the single ones; a pinyin shared by several surnames takes the best rank.
    Kept in the character-table cache: building it imports pypinyin (≈ 0.3 s a process)."""
    keys, ranks = cached_pairs("surname_ranks", _build_surname_ranks, ("pypinyin",),
                               sources=(__file__, name_data.__file__))
    return {k: int(v) for k, v in zip(keys, ranks, strict=True)}


def _build_surname_ranks() -> tuple[list[str], list[str]]:
    ranks: dict[str, int] = {}
    for i, ch in enumerate([*COMMON_SURNAMES, *COMPOUND_SURNAMES]):
        ranks.setdefault(surname_pinyin_of(ch).replace(" ", ""), i)
    return list(ranks), [str(v) for v in ranks.values()]


def segment(token: str) -> tuple[str, ...] | None:
    """Split a lower-case ASCII token into pinyin syllables; None if it is not pinyin.

    Pinyin writes an apostrophe before a syllable starting with a/o/e inside a word (xi'an), so without
    one such splits are avoided: 'nana' → na na (not nan a), 'zhangai' → zhan gai; then the fewest
    syllables win: 'xian' stays one, 'zhangwei' → zhang wei.
    """
    found = _segment(SYLLABLE_ALIASES.get(token, token))
    return found[1] if found else None


@cache
def _segment(token: str) -> tuple[tuple[int, int], tuple[str, ...]] | None:
    """(cost, syllables) of the best split: cost = (vowel-initial syllables after the first, count)."""
    if not token:
        return (0, 0), ()
    best: tuple[tuple[int, int], tuple[str, ...]] | None = None
    for n in range(min(_LONGEST, len(token)), 0, -1):
        head = SYLLABLE_ALIASES.get(token[:n], token[:n])
        if head not in PINYIN_SYLLABLES:
            continue
        rest = _segment(token[n:])
        if rest is None:
            continue
        (vowels, count), tail = rest
        if tail and tail[0][0] in "aoe":
            vowels += 1
        cost = (vowels, count + 1)
        if best is None or cost < best[0]:
            best = cost, (head, *tail)
    return best


def _ascii_fold(text: str) -> str:
    """Tone marks off, ü → v (lǚ → lv), lower case."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text).replace("u\u0308", "v").replace("U\u0308", "V")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class _Token:
    """A word of the name: its syllables (pinyin if it segments, else the word itself)."""

    def __init__(self, original: str) -> None:
        self.original = original
        self.key = re.sub(r"[^a-z]", "", _ascii_fold(original))
        parts = [p for p in re.split(r"[-'’.]", _ascii_fold(original)) if p]
        segs = [segment(re.sub(r"[^a-z]", "", p)) for p in parts]
        self.is_pinyin = (bool(parts) and all(s is not None for s in segs)
                          and self.key not in _LATIN_GIVEN_NAMES)
        letters = [re.sub(r"[^a-z]", "", p) for p in parts]
        self.words: list[str] = [p for p in letters if p]   # as written: 'bianca', 'mary jane'
        self.syllables: list[str] = [x for s in segs for x in (s or ())] if self.is_pinyin else self.words
        self.upper = original.isupper() and len(self.key) >= 2

    @cache  # noqa: B019 - tokens are interned by _token(), so the cache stays small
    def readings(self, hk_first: bool) -> list[str]:
        """Possible pinyin surnames this word spells ('wong' → wang, huang), space-separated syllables."""
        ranks = surname_ranks()
        pinyin = [" ".join(self.syllables)] if self.is_pinyin and self.key in ranks else []
        hk = [" ".join(segment(r) or (r,)) for r in HK_TW_SURNAMES.get(self.key, ())]
        ordered = hk + pinyin if hk_first else pinyin + hk
        return list(dict.fromkeys(ordered))

    @cache  # noqa: B019
    def rank(self, hk_first: bool) -> int:
        readings = self.readings(hk_first)
        return surname_ranks().get(readings[0].replace(" ", ""), 10_000) if readings else 1_000_000


@lru_cache(maxsize=100_000)
def _token(word: str) -> _Token:
    """Words repeat across names (surnames, common syllables): parse each once."""
    return _Token(word)


def _result(syllables_in_order: list[str], surname: list[str] | None, alt: list[str],
            given: list[str]) -> ParsedName:
    name = " ".join(syllables_in_order) or None
    sur = " ".join(surname) if surname else None
    giv = " ".join(given) or None
    full = [*(surname or []), *given]
    return ParsedName(
        name=name, surname=sur, given_name=giv, surname_pinyin=sur,
        surname_alt=";".join(alt) if len(alt) > 1 else None,
        name_pinyin=" ".join(full) or None, given_pinyin=giv,
        name_key=" ".join(sorted(full)) or None,
    )


def parse_romanized(text: str) -> ParsedName:
    """Parse a Latin-script name. The surname is, in order of evidence: the part before a comma, the
    only ALL-CAPS word, the word that is the commonest surname (ties: the first word); for one run-on
    word ('zhangwei'), its leading (compound) surname syllables. HK/TW spellings (Chan, Wong, Hsu) map to
    mainland pinyin; when the name has other non-pinyin words (Cantonese given names) those readings
    come first."""
    before, comma, _ = text.partition(",")
    tokens = [t for w in re.split(r"[\s,]+", text) if w and (t := _token(w)).key]
    if not tokens:
        return _result([], None, [], [])
    hk_first = any(not t.is_pinyin for t in tokens)
    # A word splits into pinyin syllables only in a name that reads as pinyin throughout (HK/TW surname
    # spellings count): in 'bianca mccarthy' or 'julian smith' every word stays as written.
    pinyin_name = all(t.is_pinyin or t.key in HK_TW_SURNAMES for t in tokens)
    parts = [t.syllables if pinyin_name else t.words for t in tokens]
    order = [s for p in parts for s in p]
    chosen: int | None = None
    if comma and before.strip():
        chosen = 0
    elif sum(t.upper for t in tokens) == 1 and len(tokens) > 1:
        chosen = next(i for i, t in enumerate(tokens) if t.upper)
    elif len(tokens) > 1:
        ranked = sorted(range(len(tokens)), key=lambda i: (tokens[i].rank(hk_first), i))
        chosen = ranked[0] if tokens[ranked[0]].readings(hk_first) else None
    if chosen is not None:
        readings = tokens[chosen].readings(hk_first) or [" ".join(parts[chosen])]
        given = [s for i, p in enumerate(parts) if i != chosen for s in p]
        return _result(order, readings[0].split(), readings, given)
    # a run-on first word ('zhangwei'): its leading syllables, compound surnames first; every other
    # syllable of the name is given name
    syl = parts[0]
    ranks = surname_ranks()
    if pinyin_name and tokens[0].is_pinyin and len(syl) >= 2:
        for n in (2, 1):
            if len(syl) > n and "".join(syl[:n]) in ranks:
                return _result(order, syl[:n], [], order[n:])
    if len(tokens) == 1:
        readings = tokens[0].readings(hk_first)
        if readings and len(syl) == 1:
            return _result(order, readings[0].split(), readings, [])
    return _result(order, None, [], order)


def parse_mixed(text: str, char_pinyin: dict[str, str]) -> ParsedName:
    """Parse a name mixing Hanzi and Latin ('张Wei', 'Lily 王'): Hanzi by character (surname readings for a
    leading Hanzi surname), Latin words as in parse_romanized; the surname is the leading Hanzi surname
    if the name starts with Hanzi, else the romanized rule's surname."""
    runs = _RUNS.findall(text)
    syllables: list[str] = []
    for run in runs:
        if _HAN.match(run):
            syllables += [char_pinyin.get(ch, ch) for ch in run]
        else:
            syllables += [s for w in re.split(r"[\s,]+", run) if w for s in _token(w).syllables]
    name = " ".join(w for w in re.split(r"\s+", text.lower()) if w) or None
    if runs and _HAN.match(runs[0]):
        han = runs[0]
        sur = han[:2] if han[:2] in COMPOUND_SURNAMES and len(han) >= 3 else han[:1]
        sur_py = surname_pinyin_of(sur).split()
        given = syllables[len(sur):]
        out = _result(syllables, sur_py, [], given)
        return {**out, "name": name, "surname": sur}
    latin = parse_romanized(" ".join(r for r in runs if not _HAN.match(r)))
    han_syl = [char_pinyin.get(ch, ch) for r in runs if _HAN.match(r) for ch in r]
    full = [*(latin["name_pinyin"] or "").split(), *han_syl]
    return {**latin, "name": name, "name_pinyin": " ".join(full) or None,
            "given_pinyin": " ".join([*(latin["given_pinyin"] or "").split(), *han_syl]) or None,
            "name_key": " ".join(sorted(full)) or None}
