"""Channel availability of one SKU: what each channel may sell, what we last told it, what it says it has.

The projector calls `ChannelAvailability.refresh` once per SKU touched by a batch, with the SKU's partition
(read with one Query). For every active channel it computes the sellable figure (shared/domain/availability.py)
and returns the events to publish:

- `availability.changed` when the figure differs from the one last published for that channel (the AVAIL
  record). Channels that map locations (they sell per location, e.g. Shopify) also publish when only the
  per-location figures change; the others publish on a change of the total only.
- `inventory.discrepancy_detected` for a channel report that disagrees with what the channel may sell now:
  per location when the report names one (the per-location figure), else the total. `quantity` None (the
  channel does not track the item, so it sells without limit) is always a discrepancy of kind `untracked`,
  whatever our figure: with stock it may oversell it, without stock it sells what we do not have.
  Of several reports for one channel location in a batch only the newest counts; one older than the figure
  already stored (`reported_at`, then event id) is stale and ignored. A redelivered report is compared again
  and yields the same event id (`<report id>-discrepancy`), so consumers that deduplicate on ids see it once.

The AVAIL record and the channel records are written together, conditional on the AVAIL version read with the
partition; a conflict raises `AvailabilityConflict` (the projector's messages are retried with a fresh read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.api.channel_models import AvailabilityView, ChannelAvailabilityView, LocationFigure, ReportedFigure
from shared.aws.availability_store import AVAIL_SK, CHANNEL_SK_PREFIX, AvailabilityStore, channel_sk
from shared.aws.dynamo import from_item
from shared.canonical.channel import (
    AvailabilityChanged,
    ChannelInventoryReported,
    InventoryDiscrepancyDetected,
    LocationSellable,
)
from shared.canonical.envelope import Envelope
from shared.canonical.partner import Partner
from shared.domain.availability import ChannelFigure, ChannelRules, sellable
from shared.domain.inventory_position import Position
from shared.http import problems as p
from shared.http.problems import Problem

EVENT_SOURCE = "distrosync"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Published:
    """The figure last published for a channel (AVAIL record)."""

    sellable: int
    locations: dict[str, int]
    published_at: datetime | None

    def to_attributes(self) -> dict[str, Any]:
        return {"sellable": self.sellable, "locations": self.locations, "published_at": _iso(self.published_at)}

    @classmethod
    def from_attributes(cls, data: dict[str, Any]) -> Published:
        return cls(
            sellable=int(data.get("sellable", 0)),
            locations={k: int(v) for k, v in (data.get("locations") or {}).items()},
            published_at=_when(data.get("published_at")),
        )


@dataclass(frozen=True)
class ChannelRecord:
    """A channel's own latest figure for one location, or for all its locations (`location` None)."""

    channel: str
    location: str | None
    quantity: int | None
    reported_at: datetime
    event_id: str
    external_item_id: str
    external_location_id: str | None

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.reported_at, self.event_id)

    @property
    def sk(self) -> str:
        return channel_sk(self.channel, self.location)

    @classmethod
    def from_report(cls, envelope: Envelope[ChannelInventoryReported]) -> ChannelRecord:
        data = envelope.data
        return cls(
            channel=data.channel,
            location=data.location,
            quantity=data.quantity,
            reported_at=data.reported_at,
            event_id=envelope.id,
            external_item_id=data.external_item_id,
            external_location_id=data.external_location_id,
        )

    @classmethod
    def from_attributes(cls, data: dict[str, Any]) -> ChannelRecord:
        return cls(
            channel=str(data["channel"]),
            location=data.get("location"),
            quantity=int(data["quantity"]) if data.get("quantity") is not None else None,
            reported_at=datetime.fromisoformat(data["reported_at"]),
            event_id=str(data["event_id"]),
            external_item_id=str(data.get("external_item_id", "")),
            external_location_id=data.get("external_location_id"),
        )

    def to_attributes(self, sku: str, now: datetime) -> dict[str, Any]:
        return {
            "sk": self.sk,
            "sku": sku,
            "channel": self.channel,
            "location": self.location,
            "quantity": self.quantity,
            "tracked": self.quantity is not None,
            "reported_at": self.reported_at.isoformat(),
            "event_id": self.event_id,
            "external_item_id": self.external_item_id,
            "external_location_id": self.external_location_id,
            "updated_at": now.isoformat(),
        }


def rules_for(partner: Partner) -> ChannelRules:
    settings = partner.channel
    if settings is None:
        raise ValueError(f"partner {partner.partner_id} has no channel settings")
    return ChannelRules(
        channel=partner.partner_id,
        locations=tuple(settings.locations),
        share=settings.share,
        buffer=settings.buffer,
        safety_stock=settings.safety_stock,
        hold=settings.hold,
    )


def channel_figures(positions: Iterable[Position], channels: Iterable[Partner]) -> dict[str, ChannelFigure]:
    """The sellable figure of every channel (holds of each channel count against the others)."""
    available = {position.location: position.available for position in positions}
    rules = [rules_for(partner) for partner in channels if partner.channel is not None]
    return {rule.channel: sellable(available, rule, rules) for rule in rules}


def expected_for(record: ChannelRecord, figure: ChannelFigure) -> int:
    """What the channel should show for the record's scope: its location's figure, or its total."""
    if record.location is None:
        return figure.sellable
    return figure.by_location.get(record.location, 0)


def discrepancy(sku: str, record: ChannelRecord, figure: ChannelFigure) -> InventoryDiscrepancyDetected | None:
    """The discrepancy a channel record shows against the channel's figure, or None when they agree."""
    expected = expected_for(record, figure)
    common = {"sku": sku, "channel": record.channel, "location": record.location, "reported_at": record.reported_at}
    if record.quantity is None:
        return InventoryDiscrepancyDetected(
            kind="untracked", channel_quantity=None, sellable=expected, difference=None, **common
        )
    if record.quantity == expected:
        return None
    return InventoryDiscrepancyDetected(
        kind="mismatch",
        channel_quantity=record.quantity,
        sellable=expected,
        difference=record.quantity - expected,
        **common,
    )


def _stored_records(other_items: dict[str, dict[str, Any]]) -> dict[str, ChannelRecord]:
    return {
        sk: ChannelRecord.from_attributes(from_item(item))
        for sk, item in other_items.items()
        if sk.startswith(CHANNEL_SK_PREFIX)
    }


def _stored_avail(other_items: dict[str, dict[str, Any]]) -> tuple[int, dict[str, Published]]:
    raw = other_items.get(AVAIL_SK)
    if raw is None:
        return 0, {}
    data = from_item(raw)
    channels = {name: Published.from_attributes(entry) for name, entry in (data.get("channels") or {}).items()}
    return int(data.get("version", 0)), channels


def _changed(partner: Partner, figure: ChannelFigure, last: Published | None) -> bool:
    if last is None or last.sellable != figure.sellable:
        return True
    per_location = partner.channel is not None and bool(partner.channel.location_map)
    return per_location and last.locations != figure.by_location


@dataclass
class RefreshPlan:
    """What a refresh decided: events to publish, and the records to write (none: nothing changed)."""

    events: list[Envelope[Any]] = field(default_factory=list)
    avail: dict[str, Any] | None = None
    expected_version: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)


def plan_refresh(
    sku: str,
    positions: list[Position],
    other_items: dict[str, dict[str, Any]],
    reports: list[Envelope[ChannelInventoryReported]],
    channels: list[Partner],
    *,
    correlation_id: str,
    causation_id: str | None,
    now: datetime,
) -> RefreshPlan:
    """The pure part of `ChannelAvailability.refresh` (see the module docstring for the rules)."""
    active = {partner.partner_id: partner for partner in channels if partner.channel is not None}
    figures = channel_figures(positions, active.values())
    version, published = _stored_avail(other_items)
    as_of = max((position.as_of for position in positions if position.as_of), default=None) or now
    plan = RefreshPlan(expected_version=version)

    updated = dict(published)
    for name, figure in figures.items():
        last = published.get(name)
        if not _changed(active[name], figure, last):
            continue
        updated[name] = Published(figure.sellable, dict(figure.by_location), now)
        data = AvailabilityChanged(
            sku=sku,
            channel=name,
            sellable=figure.sellable,
            previous=last.sellable if last else None,
            locations=[LocationSellable(location=code, sellable=n) for code, n in sorted(figure.by_location.items())],
            as_of=as_of,
        )
        plan.events.append(
            Envelope[AvailabilityChanged].wrap(
                data,
                source_partner=EVENT_SOURCE,
                occurred_at=as_of,
                correlation_id=correlation_id,
                causation_id=causation_id,
                received_at=now,
            )
        )

    stored = _stored_records(other_items)
    newest: dict[str, tuple[ChannelRecord, Envelope[ChannelInventoryReported]]] = {}
    for envelope in reports:
        if envelope.data.sku != sku or envelope.data.channel not in figures:
            continue  # another SKU's, or a channel that is disabled or has no settings
        record = ChannelRecord.from_report(envelope)
        current = newest.get(record.sk)
        if current is None or record.order > current[0].order:
            newest[record.sk] = (record, envelope)
    for sk, (record, envelope) in sorted(newest.items()):
        before = stored.get(sk)
        if before is not None and record.order < before.order:
            continue  # stale: the channel reported a newer figure already
        if before is None or record.order > before.order:
            plan.records.append(record.to_attributes(sku, now))
        found = discrepancy(sku, record, figures[record.channel])
        if found is not None:
            plan.events.append(
                Envelope[InventoryDiscrepancyDetected].wrap(
                    found,
                    source_partner=EVENT_SOURCE,
                    occurred_at=now,
                    correlation_id=envelope.correlation_id,
                    causation_id=envelope.id,
                    received_at=now,
                    event_id=f"{envelope.id}-discrepancy",
                )
            )

    if updated != published or plan.records:
        plan.avail = {
            "sku": sku,
            "version": version + 1,
            "updated_at": now.isoformat(),
            "channels": {name: entry.to_attributes() for name, entry in sorted(updated.items())},
        }
    return plan


class ChannelAvailability:
    """Channel figures of one SKU at a time: `refresh` (projector) and `view` (GET /v1/availability/{sku})."""

    def __init__(self, *, inventory_table: str, channels: Callable[[], list[Partner]]) -> None:
        self.store = AvailabilityStore(inventory_table)
        self.channels = channels

    @classmethod
    def from_settings(cls, settings: Any) -> ChannelAvailability:
        """Built from settings with `inventory_table` and `partners_table` (e.g. ProjectorSettings); the channel
        list is read from the partners table at most once a minute."""
        from shared.aws.partners import PartnerRepository

        return cls(
            inventory_table=settings.inventory_table, channels=PartnerRepository(settings.partners_table).channels
        )

    def refresh(
        self,
        sku: str,
        positions: list[Position],
        other_items: dict[str, dict[str, Any]],
        reports: list[Envelope[ChannelInventoryReported]],
        *,
        correlation_id: str,
        causation_id: str | None,
        now: datetime,
    ) -> list[Envelope[Any]]:
        """Persist the new figures and channel reports; return the events to publish. Raises
        AvailabilityConflict when another writer updated the SKU's AVAIL record since `other_items` was read."""
        plan = plan_refresh(
            sku,
            positions,
            other_items,
            reports,
            self.channels(),
            correlation_id=correlation_id,
            causation_id=causation_id,
            now=now,
        )
        if plan.avail is not None:
            self.store.save(sku, plan.avail, plan.expected_version, plan.records)
        return plan.events

    def view(
        self, sku: str, positions: list[Position], other_items: dict[str, dict[str, Any]], channel: str | None
    ) -> AvailabilityView:
        """Every channel's figure (or the one asked for): sellable now, last published, last reported."""
        channels = [c for c in self.channels() if c.channel is not None]
        if channel is not None:
            channels = [c for c in channels if c.partner_id == channel]
            if not channels:
                raise Problem(p.UNKNOWN_CHANNEL, f"no active channel '{channel}'")
        figures = channel_figures(positions, channels)
        _, published = _stored_avail(other_items)
        records = sorted(_stored_records(other_items).values(), key=lambda r: (r.channel, r.location or ""))
        views = []
        for partner in channels:
            name, figure = partner.partner_id, figures[partner.partner_id]
            reported = [
                ReportedFigure(
                    location=r.location,
                    quantity=r.quantity,
                    reported_at=r.reported_at,
                    sellable=expected_for(r, figure),
                    agrees=discrepancy(sku, r, figure) is None,
                )
                for r in records
                if r.channel == name
            ]
            last = published.get(name)
            views.append(
                ChannelAvailabilityView(
                    channel=name,
                    platform=partner.channel.platform if partner.channel else "other",
                    sellable=figure.sellable,
                    locations=[LocationFigure(location=c, sellable=n) for c, n in sorted(figure.by_location.items())],
                    published=last.sellable if last else None,
                    published_at=last.published_at if last else None,
                    reported=reported,
                    agrees=all(r.agrees for r in reported) if reported else None,
                )
            )
        return AvailabilityView(sku=sku, channels=views)
