"""The canonical business-event envelope.

Every event distrosync publishes is an `Envelope[Data]`: who said what, about which business key,
when it happened and when we heard it, and which business flow it belongs to. The EventBridge
`source` and `detail-type` are derived from the event type so that rules never disagree with payloads.
"""

from __future__ import annotations

import uuid
from abc import abstractmethod
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENT_SOURCE_PREFIX = "distrosync"


def new_id() -> str:
    """A random, URL-safe event id (UUID4 hex)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class EventData(BaseModel):
    """Base for the typed `data` of an event. Subclasses declare `event_type` and `schema_version`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[str] = "1.0"

    @abstractmethod
    def subject(self) -> str:
        """The business key the event is about, e.g. `SKU-1@DC-EAST`."""


D = TypeVar("D", bound=EventData)


class Envelope(BaseModel, Generic[D]):
    """What every canonical business event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=new_id, description="Unique event id; consumers deduplicate on it.")
    type: str = Field(description="Event type, e.g. inventory.adjusted.", pattern=r"^[a-z_]+(\.[a-z_]+)+$")
    schema_version: str = Field(description="Version of the data schema for this type.")
    source_partner: str = Field(description="Partner (or internal component) the event came from.")
    occurred_at: datetime = Field(description="When it happened in the source system.")
    received_at: datetime = Field(default_factory=utcnow, description="When distrosync accepted it.")
    correlation_id: str = Field(description="Id of the business flow this event belongs to.")
    causation_id: str | None = Field(default=None, description="Id of the event or request that caused it.")
    subject: str = Field(description="The business key, e.g. SKU-1@DC-EAST.")
    data: D

    @field_validator("occurred_at", "received_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a time zone (e.g. 2026-01-31T10:00:00Z)")
        return value

    @property
    def domain(self) -> str:
        return self.type.split(".", 1)[0]

    @property
    def eventbridge_source(self) -> str:
        return eventbridge_source(self.type)

    @property
    def detail_type(self) -> str:
        return self.type

    @classmethod
    def wrap(
        cls,
        data: D,
        *,
        source_partner: str,
        occurred_at: datetime,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        received_at: datetime | None = None,
        event_id: str | None = None,
    ) -> Envelope[D]:
        """Build the envelope for `data`, deriving type, version and subject from it."""
        event_id = event_id or new_id()
        return cls(
            id=event_id,
            type=data.event_type,
            schema_version=data.schema_version,
            source_partner=source_partner,
            occurred_at=occurred_at,
            received_at=received_at or utcnow(),
            correlation_id=correlation_id or event_id,
            causation_id=causation_id,
            subject=data.subject(),
            data=data,
        )

    def to_detail(self) -> dict[str, Any]:
        """The JSON-ready EventBridge `detail`."""
        return self.model_dump(mode="json")


def eventbridge_source(event_type: str) -> str:
    """`inventory.adjusted` -> `distrosync.inventory`."""
    return f"{EVENT_SOURCE_PREFIX}.{event_type.split('.', 1)[0]}"
