"""Survivorship: per attribute, the best-ranked source kind that has a value, then the most recent record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.supplier_survivorship import (
    ATTRIBUTES,
    DEFAULT_PRIORITIES,
    InvalidPriorities,
    SourceValues,
    changed,
    parse_priorities,
    survive,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def src(key: str, kind: str, minutes: int = 0, **values) -> SourceValues:
    return SourceValues(key=key, kind=kind, as_of=T0 + timedelta(minutes=minutes), values=values)


def test_each_attribute_comes_from_its_configured_source_kind():
    erp = src(
        "erp#V1",
        "erp",
        legal_name="Acme Industrial Supply, Inc.",
        payment_terms="NET30",
        status="active",
        default_lead_time_days=10,
        contacts=[{"name": "ERP contact"}],
    )
    finance = src(
        "ap#77", "finance", legal_name="ACME IND SUPPLY", payment_terms="NET45", bank_account={"masked": "****3000"}
    )
    quality = src("qms#Q9", "quality", legal_name="Acme", status="on_hold")
    procurement = src(
        "buyer#B1", "procurement", trading_name="ACME", default_lead_time_days=14, contacts=[{"name": "Jane Buyer"}]
    )
    result = survive([erp, finance, quality, procurement])
    assert result.values["legal_name"] == "Acme Industrial Supply, Inc."  # the ERP's legal name
    assert result.values["payment_terms"] == "NET45"  # terms and bank from finance
    assert result.values["bank_account"] == {"masked": "****3000"}
    assert result.values["status"] == "on_hold"  # quality's hold wins over the ERP's active
    assert result.values["default_lead_time_days"] == 14  # procurement's lead time
    assert result.values["contacts"] == [{"name": "Jane Buyer"}]
    assert result.values["trading_name"] == "ACME"
    assert result.values["duns"] is None
    assert result.winners["payment_terms"] == "ap#77"
    assert "duns" not in result.winners


def test_a_source_without_a_value_does_not_compete():
    erp = src("erp#V1", "erp", legal_name="Acme", payment_terms="NET30", contacts=[])
    finance = src("ap#77", "finance", legal_name="Acme", payment_terms=None)
    procurement = src("buyer#B1", "procurement", contacts=[])
    result = survive([erp, finance, procurement])
    assert result.values["payment_terms"] == "NET30"
    assert result.values["contacts"] is None


def test_within_a_kind_the_most_recent_record_wins_and_ties_break_by_key():
    older = src("erp-eu#V1", "erp", 0, legal_name="Acme Europe GmbH")
    newer = src("erp-us#V9", "erp", 5, legal_name="Acme Inc.")
    assert survive([older, newer]).values["legal_name"] == "Acme Inc."
    assert survive([newer, older]).values["legal_name"] == "Acme Inc."
    tie_a, tie_b = src("a#1", "erp", legal_name="A"), src("b#1", "erp", legal_name="B")
    assert survive([tie_b, tie_a]).values["legal_name"] == survive([tie_a, tie_b]).values["legal_name"] == "A"


def test_kinds_not_listed_for_an_attribute_come_after_the_listed_ones():
    quality = src("qms#1", "quality", 10, payment_terms="NET10")
    assert survive([quality]).values["payment_terms"] == "NET10"  # better than nothing
    erp = src("erp#1", "erp", 0, payment_terms="NET30")
    assert survive([quality, erp]).values["payment_terms"] == "NET30"


def test_priorities_are_configurable_per_attribute():
    priorities = parse_priorities('{"payment_terms": ["erp", "finance"]}')
    assert priorities["payment_terms"] == ("erp", "finance")
    assert priorities["legal_name"] == DEFAULT_PRIORITIES["legal_name"]
    erp, finance = src("erp#1", "erp", payment_terms="NET30"), src("ap#1", "finance", payment_terms="NET45")
    assert survive([erp, finance], priorities).values["payment_terms"] == "NET30"
    assert parse_priorities(None) == dict(DEFAULT_PRIORITIES) == parse_priorities("  ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "JSON object"),
        ('{"colour": ["erp"]}', "unknown supplier attribute"),
        ('{"status": []}', "non-empty list"),
        ('{"status": ["warehouse"]}', "unknown source kind"),
    ],
)
def test_bad_configuration_is_refused_with_the_reason(text, message):
    with pytest.raises(InvalidPriorities, match=message):
        parse_priorities(text)


def test_every_attribute_has_a_default_priority():
    assert set(DEFAULT_PRIORITIES) == set(ATTRIBUTES)


def test_changed_lists_only_attributes_whose_winning_value_changed():
    before = {"legal_name": "Acme", "contacts": [], "payment_terms": "NET30", "duns": None}
    after = {"legal_name": "Acme", "contacts": None, "payment_terms": "NET45", "duns": "150483782"}
    assert changed(before, after) == ["duns", "payment_terms"]
    assert changed(after, after) == []


def test_an_echo_of_the_golden_value_from_a_lower_ranked_source_changes_nothing():
    finance = src("ap#1", "finance", payment_terms="NET45")
    erp = src("erp#1", "erp", 0, payment_terms="NET30")
    before = survive([finance, erp]).values
    echoed = src("erp#1", "erp", 10, payment_terms="NET45")  # the ERP sends back what it was told
    assert changed(before, survive([finance, echoed]).values) == []
