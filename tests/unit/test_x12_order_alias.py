"""Order aliases (shared/adapters/x12/documents.py, docs/edi.md "Outbound documents"): an order id that does not fit
W0502 goes to the warehouse as a short deterministic alias with the full id in N9 OQ, and the 945 that answers is
mapped back to the order (N9 when echoed, else the alias for the gateway to resolve)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from local.simulators.warehouse_edi import shipping_advice_945
from shared.adapters.x12 import read
from shared.adapters.x12.canonical import SHIPPING_ADVICE, SHIPPING_ADVICE_BY_ALIAS, MappingError, to_canonical
from shared.adapters.x12.documents import (
    DocumentError,
    depositor_order_number,
    is_order_alias,
    order_alias,
    order_release_940,
)
from shared.api.fulfillment_models import PickCompleteRequest
from shared.canonical.fulfillment import OrderReleased
from shared.canonical.partner import EdiSettings

SHOPIFY = "shopify-main.820982911946154508"  # 31 characters, as the Shopify adapter names orders
WHEN = datetime(2026, 3, 2, 14, 7, tzinfo=UTC)
NUMBERS = {"interchange": 41, "group": 7, "set_": 3}


def profile(**overrides: Any) -> EdiSettings:
    data = {"isa_qualifier": "ZZ", "isa_id": "WHEAST3PL", "gs_id": "WHEAST", "outbound_sets": ["940"]}
    return EdiSettings.model_validate({**data, **overrides})


def release(order_id: str) -> OrderReleased:
    return OrderReleased.model_validate(
        {"order_id": order_id, "location": "DC-EAST", "customer_ref": "#1042",
         "lines": [{"line": 1, "sku": "SKU-2", "quantity": 5}, {"line": 2, "sku": "SKU-5", "quantity": 1}],
         "callback": f"https://api.example/v1/orders/{order_id}/pick-complete"}
    )  # fmt: skip


def header(text: str) -> list[list[str]]:
    """The 940's segments before its first LX, read back with the reader."""
    result = read(text.encode())
    assert result.errors == []
    segments = result.interchanges[0].groups[0].transactions[0].segments
    return segments[: next(i for i, s in enumerate(segments) if s[0] == "LX")]


# ------------------------------------------------------------------------------------------------ the alias
def test_ids_that_fit_w0502_go_as_they_are() -> None:
    for order_id in ("SO-2001", "shopify-main.1234", "A" * 22):
        assert depositor_order_number(order_id, profile()) == order_id


def test_a_long_id_gets_a_short_stable_alias() -> None:
    alias = order_alias(SHOPIFY)
    # Pinned: a 945 may answer a 940 sent months (and deployments) ago; the scheme must never change under it.
    assert alias == "DSSHTUYIL7VC4KNGKAEN4H"
    assert re.fullmatch(r"[A-Z0-9]{22}", alias) and is_order_alias(alias)
    assert depositor_order_number(SHOPIFY, profile()) == alias
    assert depositor_order_number(SHOPIFY, profile(isa_id="OTHER3PL", gs_version="005010")) == alias
    assert not is_order_alias(SHOPIFY) and not is_order_alias("SO-2001") and not is_order_alias(alias.lower())


def test_long_ids_map_to_distinct_aliases() -> None:
    ids = [f"shopify-main.{820982911946154508 + n}" for n in range(20_000)]
    ids += [f"bigcommerce-eu.{n:020d}" for n in range(5_000)]
    assert len({order_alias(order_id) for order_id in ids}) == len(ids)


def test_an_id_holding_a_delimiter_or_shaped_like_an_alias_is_aliased_too() -> None:
    assert depositor_order_number("SO-2001", profile(element_separator="-")) == order_alias("SO-2001")
    looks_like_one = order_alias("another order")
    assert depositor_order_number(looks_like_one, profile()) == order_alias(looks_like_one) != looks_like_one


# --------------------------------------------------------------------------------------------------- 940
def test_a_940_carries_the_alias_in_w0502_and_the_id_in_n9_oq() -> None:
    alias = order_alias(SHOPIFY)
    # 004010: N902 holds 30 characters, so the 31 go in N903 (free-form description, 45).
    assert header(order_release_940(release(SHOPIFY), profile(), when=WHEN, **NUMBERS)) == [
        ["W05", "N", alias, "#1042"],
        ["N1", "SF", "", "91", "DC-EAST"],
        ["N9", "OQ", "", SHOPIFY],
    ]
    # 005010: N902 holds 50.
    text = order_release_940(release(SHOPIFY), profile(gs_version="005010"), when=WHEN, **NUMBERS)
    assert header(text)[2] == ["N9", "OQ", SHOPIFY]
    thirty = "shopify-main.8209829119461545"
    assert header(order_release_940(release(thirty), profile(), when=WHEN, **NUMBERS))[2] == ["N9", "OQ", thirty]


def test_a_940_for_an_id_that_fits_has_no_n9() -> None:
    assert [s[0] for s in header(order_release_940(release("SO-2001"), profile(), when=WHEN, **NUMBERS))] == [
        "W05",
        "N1",
    ]


def test_ids_too_long_for_n9_are_refused_naming_the_elements() -> None:
    with pytest.raises(DocumentError, match=r"N902 '.*' does not fit its 30 characters, nor N903 its 45"):
        order_release_940(release("x" * 46), profile(), when=WHEN, **NUMBERS)
    assert header(order_release_940(release("x" * 50), profile(gs_version="005010"), when=WHEN, **NUMBERS))[2][2]
    with pytest.raises(DocumentError, match=r"does not fit its 50 characters, nor N903 its 45 \(an order id of 51"):
        order_release_940(release("x" * 51), profile(gs_version="005010"), when=WHEN, **NUMBERS)


def test_an_id_holding_a_delimiter_goes_as_the_alias_alone() -> None:
    text = order_release_940(release("SO_2001"), profile(component_separator="_"), when=WHEN, **NUMBERS)
    assert header(text) == [["W05", "N", order_alias("SO_2001"), "#1042"], ["N1", "SF", "", "91", "DC-EAST"]]


# --------------------------------------------------------------------------------------------------- 945
def _mapped_945(text_945: str) -> Any:
    [mapped] = to_canonical(read(text_945.encode()))
    return mapped


def test_the_945_echoing_only_the_alias_is_left_for_the_gateway_to_resolve() -> None:
    text_940 = order_release_940(release(SHOPIFY), profile(), when=WHEN, **NUMBERS)
    mapped = _mapped_945(shipping_advice_945(text_940, 945, WHEN).text)
    assert (mapped.kind, mapped.reference) == (SHIPPING_ADVICE_BY_ALIAS, order_alias(SHOPIFY))
    assert isinstance(mapped.request, PickCompleteRequest)
    assert [(x.line, x.quantity) for x in mapped.request.lines or []] == [(1, 5), (2, 1)]


@pytest.mark.parametrize("gs_version", ["004010", "005010"])
def test_the_945_echoing_the_n9_names_the_order_itself(gs_version: str) -> None:
    text_940 = order_release_940(release(SHOPIFY), profile(gs_version=gs_version), when=WHEN, **NUMBERS)
    mapped = _mapped_945(shipping_advice_945(text_940, 945, WHEN, echo_n9=True).text)
    assert (mapped.kind, mapped.reference) == (SHIPPING_ADVICE, SHOPIFY)


def test_a_945_for_an_id_that_fits_names_it_in_w0602_as_before() -> None:
    text_940 = order_release_940(release("SO-2001"), profile(), when=WHEN, **NUMBERS)
    mapped = _mapped_945(shipping_advice_945(text_940, 945, WHEN, echo_n9=True).text)
    assert (mapped.kind, mapped.reference) == (SHIPPING_ADVICE, "SO-2001")


def test_a_945_whose_n9_oq_names_another_order_than_w0602_is_refused() -> None:
    text_940 = order_release_940(release(SHOPIFY), profile(), when=WHEN, **NUMBERS)
    other = order_alias("shopify-main.1")
    error = _mapped_945(shipping_advice_945(text_940, 945, WHEN, echo_n9=True, w0602=other).text).request
    assert isinstance(error, MappingError)
    assert (error.segment, error.element, error.position) == ("N9", "N903", 5)
    assert f"N9 OQ '{SHOPIFY}' is another order than W0602 '{other}'" in error.reason
