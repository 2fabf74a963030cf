"""A partner: a system allowed to call distrosync's API, and what it may act for.

Sales channels are partners of kind `channel` whose record carries `ChannelSettings`: which locations feed
the channel, how much of their stock it may sell (docs/inventory.md, "Channel availability"), and how the
channel's own location ids map to ours. The partner id is the channel's name (`channel:<partner_id>` scope).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.canonical.channel import ChannelPlatform
from shared.canonical.inventory import LocationCode
from shared.domain.order_flow import OrderPolicy

PartnerKind = Literal[
    "supplier",
    "warehouse",
    "carrier",
    "channel",
    "erp",
    "finance",
    "procurement",
    "quality",
    "planning",
    "tms",
    "portal",
    "customer",
]
PARTNER_KINDS: tuple[str, ...] = PartnerKind.__args__  # type: ignore[attr-defined]
ScopeKind = Literal["location", "supplier", "channel"]
SCOPE_KINDS: tuple[str, ...] = ScopeKind.__args__  # type: ignore[attr-defined]
CHANNEL_PLATFORMS: tuple[str, ...] = ChannelPlatform.__args__  # type: ignore[attr-defined]

PARTNER_ID_PATTERN = r"^[a-z0-9][a-z0-9\-]{1,62}$"

ExternalLocationId = Annotated[str, Field(min_length=1, max_length=128)]


class ChannelSettings(BaseModel):
    """How a sales channel is fed and how its own ids map to ours."""

    model_config = ConfigDict(extra="ignore")

    platform: ChannelPlatform
    locations: list[LocationCode] = Field(
        default_factory=list, description="Location codes feeding the channel; empty: all locations."
    )
    share: float = Field(default=1.0, ge=0, le=1, description="Part of the free pool the channel may sell.")
    buffer: int = Field(default=0, ge=0, description="Units held back from the channel.")
    safety_stock: int = Field(default=0, ge=0, description="Units held back from the channel.")
    hold: int = Field(default=0, ge=0, description="Units ring-fenced for this channel.")
    location_map: dict[ExternalLocationId, LocationCode] = Field(
        default_factory=dict, description="The channel's location ids -> our location codes."
    )
    default_location: LocationCode | None = Field(
        default=None, description="Where a report without a location counts (None: all the channel's locations)."
    )
    webhook_secret_name: str | None = Field(
        default=None, description="Secrets Manager name of the webhook secret (Shopify client secret or our token)."
    )
    order_policy: OrderPolicy = Field(
        default="backorder", description="What the channel's orders do when stock is short: backorder or split."
    )
    store_hash: str | None = Field(
        default=None,
        max_length=64,
        description="BigCommerce: the store hash whose V2 API distrosync reads thin order webhooks from (the API "
        "token is the `api_token` field of the channel's webhook secret).",
    )
    api_base_url: str | None = Field(
        default=None,
        max_length=512,
        description="BigCommerce: the API's base URL (default https://api.bigcommerce.com).",
    )

    @model_validator(mode="after")
    def _mapped_locations_feed_the_channel(self) -> ChannelSettings:
        if not self.locations:
            return self
        fed = set(self.locations)
        strays = sorted({code for code in self.location_map.values() if code not in fed})
        if self.default_location is not None and self.default_location not in fed:
            strays.append(self.default_location)
        if strays:
            raise ValueError(
                f"location(s) {', '.join(strays)} do not feed the channel (its locations: {', '.join(self.locations)})"
            )
        return self


CarrierPlatform = Literal["easypost", "canonical"]


class CarrierSettings(BaseModel):
    """How a carrier (or tracking provider) sends tracking updates to `POST /v1/carriers/{carrier}/tracking`."""

    model_config = ConfigDict(extra="ignore")

    platform: CarrierPlatform = Field(description="easypost: signed EasyPost webhooks; canonical: our tracking events.")
    webhook_secret_name: str | None = Field(
        default=None, description="Secrets Manager name of the webhook secret (EasyPost's webhook secret)."
    )


X12SetId = Literal["810", "846", "850", "855", "856", "940", "945", "214", "997", "999"]
X12_INBOUND_SETS: tuple[str, ...] = ("810", "846", "850", "855", "856", "945", "214", "997", "999")
X12_OUTBOUND_SETS: tuple[str, ...] = ("850", "940", "997")
_DELIMITER = r"^[^A-Za-z0-9 ]$"


class EdiSettings(BaseModel):
    """A trading partner profile (docs/edi.md, "Trading partner profiles"): how the partner is named in X12
    envelopes, what it sends and receives, what distrosync emits to it and when its 997s are due.

    Inbound interchanges must come from (`isa_qualifier`, `isa_id`); everything the partner sends is read with the
    delimiters its own ISA declares. Outbound interchanges use `version`/`gs_version` and the separators here,
    with control numbers from the partner's sequences (ISA13, GS06, ST02, advanced atomically)."""

    model_config = ConfigDict(extra="ignore")

    isa_qualifier: str = Field(pattern=r"^[A-Z0-9]{2}$", examples=["ZZ"], description="ISA05/07 of the partner.")
    isa_id: str = Field(min_length=1, max_length=15, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$")
    gs_id: str = Field(min_length=2, max_length=15, description="GS02/03 of the partner.")
    our_isa_qualifier: str = Field(default="ZZ", pattern=r"^[A-Z0-9]{2}$")
    our_isa_id: str = Field(default="DISTROSYNC", min_length=1, max_length=15)
    our_gs_id: str = Field(default="DISTROSYNC", min_length=2, max_length=15)
    version: str = Field(default="00401", pattern=r"^00[2-5]\d\d$", description="ISA12 emitted.")
    gs_version: str = Field(default="004010", pattern=r"^00[3-5]0[0-9]0[A-Z0-9]*$", description="GS08 emitted.")
    element_separator: str = Field(default="*", pattern=_DELIMITER)
    component_separator: str = Field(default=">", pattern=_DELIMITER)
    segment_terminator: str = Field(default="~", pattern=r"^[^A-Za-z0-9 ]$")
    repetition_separator: str = Field(default="^", pattern=_DELIMITER, description="ISA11 from 00402 on.")
    line_break: bool = Field(default=True, description="A line break after each emitted segment terminator.")
    inbound_sets: list[X12SetId] = Field(default_factory=list, description="Sets accepted from the partner.")
    outbound_sets: list[X12SetId] = Field(default_factory=list, description="Sets sent to the partner (850, 940).")
    ack_due_hours: int = Field(
        default=24, ge=0, le=720, description="A 997 for what we send is due within this; 0: none expected."
    )
    test: bool = Field(default=False, description="ISA15 T on what we send; inbound ISA15 must match.")
    default_location: LocationCode | None = Field(
        default=None, description="Where an 850/846/945 without a ship-from location counts."
    )
    transit_days: int | None = Field(
        default=None, ge=0, le=120, description="856 without an ETA: ETA = ship date + this many days."
    )

    @model_validator(mode="after")
    def _sets_and_delimiters(self) -> EdiSettings:
        bad_in = [s for s in self.inbound_sets if s not in X12_INBOUND_SETS]
        bad_out = [s for s in self.outbound_sets if s not in X12_OUTBOUND_SETS]
        if bad_in or bad_out:
            raise ValueError(
                f"sets not supported: inbound {bad_in or '-'}, outbound {bad_out or '-'} "
                f"(inbound: {', '.join(X12_INBOUND_SETS)}; outbound: {', '.join(X12_OUTBOUND_SETS)})"
            )
        used = [self.element_separator, self.component_separator, self.segment_terminator]
        if self.version >= "00402":
            used.append(self.repetition_separator)
        if len(set(used)) != len(used):
            raise ValueError(f"the delimiters must differ: {used}")
        return self


OutboundAdapter = Literal["erpnext", "webhook"]
OUTBOUND_ADAPTERS: tuple[str, ...] = OutboundAdapter.__args__  # type: ignore[attr-defined]


class OutboundSettings(BaseModel):
    """How distrosync reaches a system it keeps in sync (docs/supplier-collaboration.md, "Partners and adapters").

    The secret (under the stack's `SystemSecretsPrefix`) holds the connection: erpnext `{"base_url",
    "api_key", "api_secret"}`, webhook `{"url", "signing_secret"}`.
    """

    model_config = ConfigDict(extra="ignore")

    adapter: OutboundAdapter
    secret_name: str = Field(min_length=1, max_length=512)
    subscriptions: list[str] = Field(
        default_factory=list, description="Event types delivered to the system (e.g. purchase_order.acknowledged)."
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="Per HTTP call.")
    max_attempts: int = Field(default=4, ge=1, le=10, description="Calls per delivery before SQS retries it.")


class Partner(BaseModel):
    """A registered partner. Scopes read `location:DC-EAST`, `supplier:SUP-1`, `channel:shopify` or `*`."""

    model_config = ConfigDict(extra="ignore")

    partner_id: str = Field(pattern=PARTNER_ID_PATTERN)
    kind: PartnerKind
    scopes: list[str] = Field(default_factory=list)
    tier: str = "standard"
    status: Literal["active", "disabled"] = "active"
    api_key_id: str
    secret_name: str
    created_at: datetime
    rotated_at: datetime | None = None
    channel: ChannelSettings | None = None
    carrier: CarrierSettings | None = None
    outbound: OutboundSettings | None = None
    edi: EdiSettings | None = None

    @model_validator(mode="after")
    def _channel_settings_only_for_channels(self) -> Partner:
        if self.channel is not None and self.kind != "channel":
            raise ValueError(f"only partners of kind 'channel' carry channel settings (kind is {self.kind!r})")
        if self.carrier is not None and self.kind != "carrier":
            raise ValueError(f"only partners of kind 'carrier' carry carrier settings (kind is {self.kind!r})")
        return self
