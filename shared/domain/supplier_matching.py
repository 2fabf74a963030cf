"""Which golden supplier a source record is (pure; ADR 0011).

Precision over recall: a wrong merge mixes two companies' bank accounts and purchase orders, a missed one only
leaves a duplicate a steward can merge. So:

1. An exact tax id (normalized) or DUNS names the supplier, unless the tax ids of both sides differ.
2. Otherwise the normalized name and the postal code must both be equal, and no tax id or DUNS may disagree.
3. Anything close but not certain is queued for a steward (`pending_review`), never merged:
   a near name in the same postal code, the same street address under another name, the same name in another
   postal code, the same DUNS with another tax id, several goldens at once. Two different tax ids are only
   queued when the names are identical (a steward may know a subsidiary); otherwise they are different
   suppliers, full stop.

Candidates are found by match keys (`keys_of`), each a DynamoDB item listing the goldens that carry it, with each
golden's `Profile`: the matcher never scans.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

# Legal-form words dropped from the end of a name (after dots are removed: "L.L.C." -> "llc", "S.r.l." -> "srl").
LEGAL_SUFFIXES: frozenset[str] = frozenset(
    {
        "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "gmbh", "mbh", "ag", "kg", "kgaa", "ohg", "ug",
        "sa", "sas", "sasu", "sarl", "eurl", "bv", "nv", "co", "company", "corp", "corporation", "plc", "pty",
        "spa", "srl", "sl", "slu", "sau", "oy", "oyj", "ab", "as", "asa", "aps", "kk", "pte", "pvt", "sro",
        "kft", "zrt", "doo", "ou", "se", "cv", "sdn", "bhd", "lda", "ltda", "intl", "holding", "holdings",
    }
)  # fmt: skip
# Legal forms written as several words once punctuation is gone ("Sp. z o.o." -> "sp z oo").
_MULTIWORD_SUFFIXES: tuple[tuple[str, ...], ...] = (("sp", "z", "oo"), ("s", "a"), ("b", "v"), ("n", "v"))
_EU_VAT_PREFIXES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
        "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
    }
)  # fmt: skip
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TAX_NOISE = re.compile(r"[\s\-./_]+")

Outcome = Literal["matched", "created", "pending_review"]
Reason = Literal[
    "same_tax_id",
    "same_duns",
    "same_name_and_postal_code",
    "same_name_other_duns",
    "same_name_other_tax_id",
    "same_duns_other_tax_id",
    "similar_name_same_postal_code",
    "same_address_other_name",
    "same_name_other_postal_code",
    "several_candidates",
]


# ------------------------------------------------------------------------------------------------- normalizing
def normalize_name(name: str) -> str:
    """`"ACME Industrial Supply, Inc."` -> `"acme industrial supply"`: accents, case, punctuation, `&`,
    legal suffixes and spacing do not tell suppliers apart. A name made only of legal words is kept whole."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = text.replace("ß", "ss").replace("&", " and ").replace("+", " and ")
    text = re.sub(r"(?<=\w)['\u2019.](?=\w)", "", text)  # S.r.l. -> srl, O'Brien -> obrien
    tokens = _NON_ALNUM.sub(" ", text).split()
    if tokens and tokens[0] == "the":
        tokens = tokens[1:]
    kept = _strip_suffixes(tokens)
    return " ".join(kept or tokens)


def _strip_suffixes(tokens: list[str]) -> list[str]:
    kept = list(tokens)
    while len(kept) > 1:
        for words in _MULTIWORD_SUFFIXES:
            n = len(words)
            if len(kept) > n and tuple(kept[-n:]) == words:
                del kept[-n:]
                break
        else:
            # "Smith & Co." -> "smith": an "and" left dangling by a dropped legal form goes too.
            if kept[-1] in LEGAL_SUFFIXES or (kept[-1] == "and" and len(kept) < len(tokens)):
                kept.pop()
            else:
                break
    return kept


def normalize_tax_id(tax_id: str | None, country: str | None = None) -> str | None:
    """Spaces, dashes, dots and case removed; an EU VAT number carries its country prefix (Greece: EL), so
    `"DE 123.456.789"` and `"123456789"` of a German supplier are the same id."""
    if not tax_id:
        return None
    value = _TAX_NOISE.sub("", tax_id).upper()
    if not value:
        return None
    prefix = "EL" if country and country.upper() == "GR" else (country or "").upper()
    if value[:2] == "GR" and value[2:].isdigit():
        value = "EL" + value[2:]
    if prefix in _EU_VAT_PREFIXES and value[:2] not in _EU_VAT_PREFIXES:
        value = prefix + value
    return value


def normalize_duns(duns: str | None) -> str | None:
    digits = re.sub(r"\D", "", duns or "")
    return digits if len(digits) == 9 else None


def normalize_postal(postal_code: str | None) -> str | None:
    value = re.sub(r"[\s\-]+", "", postal_code or "").upper()
    return value or None


def address_key(line1: str | None, postal_code: str | None, country: str | None) -> str | None:
    """The street address as a key: `"12 Harbour Rd."` and `"12 harbour rd"` at the same postal code agree."""
    postal = normalize_postal(postal_code)
    if not line1 or not postal or not country:
        return None
    street = unicodedata.normalize("NFKD", line1)
    street = _NON_ALNUM.sub(" ", "".join(c for c in street if not unicodedata.combining(c)).casefold()).strip()
    return f"{country.upper()}:{postal}:{street}" if street else None


# --------------------------------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class Identity:
    """What identifies one source record: its normalized names, tax id, DUNS, postal code and street address."""

    names: frozenset[str]
    tax_id: str | None = None
    duns: str | None = None
    country: str | None = None
    postal_code: str | None = None
    address: str | None = None

    @classmethod
    def of(
        cls,
        *,
        legal_name: str,
        trading_name: str | None = None,
        tax_id: str | None = None,
        duns: str | None = None,
        country: str | None = None,
        postal_code: str | None = None,
        line1: str | None = None,
    ) -> Identity:
        names = {normalize_name(legal_name)} | ({normalize_name(trading_name)} if trading_name else set())
        return cls(
            names=frozenset(n for n in names if n),
            tax_id=normalize_tax_id(tax_id, country),
            duns=normalize_duns(duns),
            country=country.upper() if country else None,
            postal_code=normalize_postal(postal_code),
            address=address_key(line1, postal_code, country),
        )


@dataclass(frozen=True)
class Profile:
    """A golden supplier as the matcher sees it: the union of its source records' identities."""

    names: frozenset[str] = frozenset()
    name_postals: frozenset[str] = frozenset()  # "<name>|<postal>"
    tax_ids: frozenset[str] = frozenset()
    duns: frozenset[str] = frozenset()
    postal_codes: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()

    @classmethod
    def of(cls, identities: Iterable[Identity]) -> Profile:
        ids = list(identities)
        return cls(
            names=frozenset(n for i in ids for n in i.names),
            name_postals=frozenset(f"{n}|{i.postal_code}" for i in ids if i.postal_code for n in i.names),
            tax_ids=frozenset(i.tax_id for i in ids if i.tax_id),
            duns=frozenset(i.duns for i in ids if i.duns),
            postal_codes=frozenset(f"{i.country}:{i.postal_code}" for i in ids if i.postal_code and i.country),
            addresses=frozenset(i.address for i in ids if i.address),
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in self.__dict__.items() if v}

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable[str]]) -> Profile:
        return cls(**{k: frozenset(data.get(k) or ()) for k in cls.__dataclass_fields__})


def keys_of(profile: Profile) -> frozenset[str]:
    """The match keys of a golden (or of one record's own profile: the keys to look up)."""
    keys = {f"TAX#{t}" for t in profile.tax_ids} | {f"DUNS#{d}" for d in profile.duns}
    keys |= {f"NAME#{n}" for n in profile.names}
    keys |= {f"POSTAL#{p}" for p in profile.postal_codes}
    return frozenset(keys)


# ---------------------------------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class Candidate:
    supplier_id: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class MatchResult:
    outcome: Outcome
    supplier_id: str | None = None  # matched: the golden
    reasons: tuple[Reason, ...] = ()  # matched: why
    candidates: tuple[Candidate, ...] = field(default=())  # pending_review: whom a steward should compare


def match(record: Identity, candidates: Mapping[str, Profile]) -> MatchResult:
    """Decide for `record` among the goldens found by its match keys (`candidates`: golden id -> profile)."""
    strong: dict[str, list[Reason]] = {}
    review: dict[str, list[Reason]] = {}
    for gid, profile in sorted(candidates.items()):
        tax_conflict = bool(record.tax_id and profile.tax_ids and record.tax_id not in profile.tax_ids)
        duns_conflict = bool(record.duns and profile.duns and record.duns not in profile.duns)
        same_name = bool(record.names & profile.names)
        if record.tax_id and record.tax_id in profile.tax_ids:
            strong.setdefault(gid, []).append("same_tax_id")  # one legal entity may have several sites' DUNS
            continue
        if tax_conflict:
            if same_name:
                review.setdefault(gid, []).append("same_name_other_tax_id")
            elif record.duns and record.duns in profile.duns:
                review.setdefault(gid, []).append("same_duns_other_tax_id")
            continue
        if record.duns and record.duns in profile.duns:
            strong.setdefault(gid, []).append("same_duns")
            continue
        if record.postal_code and {f"{n}|{record.postal_code}" for n in record.names} & profile.name_postals:
            if duns_conflict:
                review.setdefault(gid, []).append("same_name_other_duns")
            else:
                strong.setdefault(gid, []).append("same_name_and_postal_code")
            continue
        reasons = _doubts(record, profile, same_name)
        if reasons:
            review.setdefault(gid, []).extend(reasons)
    by_identifier = [gid for gid, reasons in strong.items() if "same_name_and_postal_code" not in reasons]
    by_name = [gid for gid in strong if gid not in by_identifier]
    contradicted = any(r in ("same_name_other_tax_id", "same_duns_other_tax_id") for rs in review.values() for r in rs)
    if len(by_identifier) == 1:
        return MatchResult("matched", by_identifier[0], tuple(strong[by_identifier[0]]))
    if not by_identifier and len(by_name) == 1 and not contradicted:
        return MatchResult("matched", by_name[0], tuple(strong[by_name[0]]))
    for gid, reasons in strong.items():
        extra: list[Reason] = ["several_candidates"] if len(strong) > 1 else []
        review.setdefault(gid, []).extend([*reasons, *extra])
    if review:
        return MatchResult(
            "pending_review",
            candidates=tuple(Candidate(gid, tuple(dict.fromkeys(r))) for gid, r in sorted(review.items())),
        )
    return MatchResult("created")


def _doubts(record: Identity, profile: Profile, same_name: bool) -> list[Reason]:
    reasons: list[Reason] = []
    local = f"{record.country}:{record.postal_code}" if record.postal_code and record.country else None
    same_postal = local is not None and local in profile.postal_codes
    if same_name and not same_postal:
        reasons.append("same_name_other_postal_code")
    if same_postal and not same_name and _near_names(record.names, profile.names):
        reasons.append("similar_name_same_postal_code")
    if record.address and record.address in profile.addresses and not same_name:
        reasons.append("same_address_other_name")
    return reasons


def _near_names(ours: Iterable[str], theirs: Iterable[str]) -> bool:
    return any(near(a, b) for a in ours for b in theirs)


def near(a: str, b: str) -> bool:
    """Two normalized names a typo apart (one edit per 8 characters, at most 2), or the same words reordered."""
    if a == b:
        return True
    if sorted(a.split()) == sorted(b.split()):
        return True
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    budget = min(2, max(1, shorter // 8))
    return abs(len(a) - len(b)) <= budget and edit_distance(a, b, budget) <= budget


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap two neighbours); stops early once
    every path exceeds `limit` (returns limit + 1)."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if limit is not None and min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[len(b)]
