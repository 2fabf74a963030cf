"""Channel availability decisions (the pure `plan_refresh` and `view`), with hand-built positions and channels."""

from datetime import UTC, datetime, timedelta

from shared.aws.dynamo import to_item
from shared.canonical.channel import ChannelInventoryReported
from shared.canonical.envelope import Envelope
from shared.canonical.partner import ChannelSettings, Partner
from shared.domain.inventory_position import Position
from shared.services.availability import ChannelAvailability, plan_refresh

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
Reported = Envelope[ChannelInventoryReported]


def channel(name, platform="shopify", **settings):
    return Partner(
        partner_id=name,
        kind="channel",
        scopes=[f"channel:{name}"],
        api_key_id=f"key-{name}",
        secret_name=f"distrosync-dev/partners/{name}",
        created_at=T0,
        channel=ChannelSettings(platform=platform, **settings),
    )


SHOP = channel("shop", locations=["DC-EAST", "DC-WEST"], location_map={"1": "DC-EAST", "2": "DC-WEST"})
BIG = channel("big", "bigcommerce", locations=["DC-EAST"], share=0.5, buffer=1)


def positions(**on_hand):
    return [
        Position(sku="SKU-1", location=code.replace("_", "-"), base={"on_hand": n}, as_of=T0)
        for code, n in on_hand.items()
    ]


def report(name, quantity, *, location=None, minutes=0, event_id=None, sku="SKU-1"):
    data = ChannelInventoryReported(
        channel=name,
        platform="shopify" if name == "shop" else "bigcommerce",
        sku=sku,
        location=location,
        quantity=quantity,
        external_item_id="271878346596884015",
        external_location_id={"DC-EAST": "1", "DC-WEST": "2"}.get(location or ""),
        reported_at=T0 + timedelta(minutes=minutes),
    )
    return Reported.wrap(
        data, source_partner=name, occurred_at=data.reported_at, correlation_id="corr-1", event_id=event_id
    )


def plan(pos, other_items=None, reports=(), channels=(SHOP, BIG)):
    return plan_refresh(
        "SKU-1",
        pos,
        other_items or {},
        list(reports),
        list(channels),
        correlation_id="batch",
        causation_id="evt-last",
        now=NOW,
    )


def stored(result):
    """The partition items a refresh leaves behind, as the next Query returns them (typed attributes)."""
    items = {"AVAIL": to_item({**result.avail, "pk": "SKU#SKU-1", "sk": "AVAIL"})}
    for record in result.records:
        items[record["sk"]] = to_item({**record, "pk": "SKU#SKU-1"})
    return items


def by_type(result, event_type):
    return [e for e in result.events if e.type == event_type]


def test_first_refresh_publishes_every_channel_figure_and_creates_the_avail_record():
    result = plan(positions(DC_EAST=10, DC_WEST=4, DC_NORTH=50))
    changed = {e.data.channel: e.data for e in by_type(result, "availability.changed")}
    assert changed["shop"].sellable == 14 and changed["shop"].previous is None
    assert {(loc.location, loc.sellable) for loc in changed["shop"].locations} == {("DC-EAST", 10), ("DC-WEST", 4)}
    assert changed["big"].sellable == 4  # floor(10 x 0.5) - buffer 1, DC-EAST only
    assert changed["big"].as_of == T0
    assert result.expected_version == 0 and result.avail["version"] == 1
    assert result.avail["channels"]["shop"]["sellable"] == 14
    event = by_type(result, "availability.changed")[0]
    assert (event.source_partner, event.correlation_id, event.causation_id) == ("distrosync", "batch", "evt-last")


def test_nothing_is_published_or_written_when_no_figure_changed():
    first = plan(positions(DC_EAST=10, DC_WEST=4))
    again = plan(positions(DC_EAST=10, DC_WEST=4), stored(first))
    assert again.events == [] and again.avail is None and again.records == []


def test_only_the_channels_whose_figure_changed_are_published_with_the_previous_figure():
    first = plan(positions(DC_EAST=10, DC_WEST=4))
    after = plan(positions(DC_EAST=10, DC_WEST=1), stored(first))
    (changed,) = by_type(after, "availability.changed")
    assert (changed.data.channel, changed.data.sellable, changed.data.previous) == ("shop", 11, 14)
    assert after.expected_version == 1 and after.avail["version"] == 2
    assert after.avail["channels"]["big"]["sellable"] == 4  # unchanged entries are kept


def test_a_channel_that_sells_per_location_publishes_a_move_between_its_locations():
    first = plan(positions(DC_EAST=10, DC_WEST=4))
    moved = plan(positions(DC_EAST=11, DC_WEST=3), stored(first))  # same totals: shop 14, big 4
    assert [e.data.channel for e in by_type(moved, "availability.changed")] == ["shop"]
    unmapped = channel("shop", locations=["DC-EAST", "DC-WEST"])  # no location map: totals only
    first = plan(positions(DC_EAST=10, DC_WEST=4), channels=[unmapped])
    assert (
        by_type(plan(positions(DC_EAST=9, DC_WEST=5), stored(first), channels=[unmapped]), "availability.changed") == []
    )


def test_a_hold_of_another_channel_comes_out_of_the_shared_pool():
    holding = channel("b2b", "other", locations=["DC-EAST"], hold=6, share=0)  # its hold only
    result = plan(positions(DC_EAST=10), channels=[BIG, holding])
    figures = {e.data.channel: e.data.sellable for e in by_type(result, "availability.changed")}
    assert figures == {"b2b": 6, "big": 1}  # big: floor((10 - 6) x 0.5) - 1


def test_a_report_that_agrees_is_stored_and_raises_nothing():
    result = plan(positions(DC_EAST=10, DC_WEST=4), reports=[report("shop", 10, location="DC-EAST")])
    assert by_type(result, "inventory.discrepancy_detected") == []
    (record,) = result.records
    assert record["sk"] == "CHANNEL#shop#DC-EAST"
    assert (record["quantity"], record["tracked"], record["external_item_id"]) == (10, True, "271878346596884015")


def test_a_disagreeing_location_report_raises_a_mismatch_against_that_location():
    sent = report("shop", 12, location="DC-EAST")
    result = plan(positions(DC_EAST=10, DC_WEST=4), reports=[sent])
    (event,) = by_type(result, "inventory.discrepancy_detected")
    data = event.data
    assert (data.kind, data.channel, data.location) == ("mismatch", "shop", "DC-EAST")
    assert (data.channel_quantity, data.sellable, data.difference) == (12, 10, 2)
    assert event.id == f"{sent.id}-discrepancy"
    assert (event.correlation_id, event.causation_id) == ("corr-1", sent.id)


def test_a_report_without_location_is_compared_with_the_channel_total():
    result = plan(positions(DC_EAST=10), reports=[report("big", 5)])
    (event,) = by_type(result, "inventory.discrepancy_detected")
    assert (event.data.location, event.data.sellable, event.data.difference) == (None, 4, 1)
    assert result.records[0]["sk"] == "CHANNEL#big#*"


def test_an_untracked_item_is_a_discrepancy_whatever_our_figure():
    for stock in (10, 0):
        result = plan(positions(DC_EAST=stock, DC_WEST=0), reports=[report("shop", None, location="DC-EAST")])
        (event,) = by_type(result, "inventory.discrepancy_detected")
        assert (event.data.kind, event.data.channel_quantity, event.data.difference) == ("untracked", None, None)
        assert event.data.sellable == stock
        assert "quantity" not in result.records[0] or result.records[0]["quantity"] is None
        assert result.records[0]["tracked"] is False


def test_a_report_older_than_the_stored_one_is_stale():
    newer = plan(positions(DC_EAST=10, DC_WEST=4), reports=[report("shop", 10, location="DC-EAST", minutes=5)])
    late = plan(positions(DC_EAST=10, DC_WEST=4), stored(newer), reports=[report("shop", 3, location="DC-EAST")])
    assert late.events == [] and late.records == [] and late.avail is None


def test_a_redelivered_report_is_compared_again_under_the_same_event_id_and_not_rewritten():
    sent = report("shop", 12, location="DC-EAST")
    first = plan(positions(DC_EAST=10, DC_WEST=4), reports=[sent])
    again = plan(positions(DC_EAST=10, DC_WEST=4), stored(first), reports=[sent])
    assert again.records == [] and again.avail is None
    assert [e.id for e in again.events] == [f"{sent.id}-discrepancy"]


def test_of_several_reports_for_one_channel_location_in_a_batch_the_newest_counts():
    reports = [report("shop", 10, location="DC-EAST", minutes=2), report("shop", 3, location="DC-EAST", minutes=1)]
    result = plan(positions(DC_EAST=10, DC_WEST=4), reports=reports)
    assert by_type(result, "inventory.discrepancy_detected") == []
    assert [r["quantity"] for r in result.records] == [10]


def test_reports_of_unknown_channels_or_other_skus_are_left_alone():
    reports = [report("gone", 1), report("shop", 1, location="DC-EAST", sku="SKU-2")]
    result = plan(positions(DC_EAST=10, DC_WEST=4), reports=reports)
    assert by_type(result, "inventory.discrepancy_detected") == [] and result.records == []


def test_view_shows_sellable_published_and_reported_figures_per_channel():
    first = plan(positions(DC_EAST=10, DC_WEST=4), reports=[report("shop", 12, location="DC-EAST")])
    service = ChannelAvailability(inventory_table="unused", channels=lambda: [SHOP, BIG])
    view = service.view("SKU-1", positions(DC_EAST=9, DC_WEST=4), stored(first), None)
    shop = next(c for c in view.channels if c.channel == "shop")
    assert (shop.platform, shop.sellable, shop.published) == ("shopify", 13, 14)
    (seen,) = shop.reported
    assert (seen.location, seen.quantity, seen.sellable, seen.agrees) == ("DC-EAST", 12, 9, False)
    assert shop.agrees is False
    big = next(c for c in view.channels if c.channel == "big")
    assert (big.sellable, big.reported, big.agrees) == (3, [], None)
    only = service.view("SKU-1", positions(DC_EAST=9), {}, "big")
    assert [c.channel for c in only.channels] == ["big"] and only.channels[0].published is None
