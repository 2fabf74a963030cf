"""Canonical EDI gateway events (issue #6, docs/edi.md): what ops watch on the X12 side.

The business content of an inbound document becomes the same events an API partner's request produces
(`purchase_order.acknowledged`, `ship_notice.received`, `order.created`...); these two say what happened to the
interchange itself and to the acknowledgments distrosync waits for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.envelope import EventData

SetOutcome = Literal["accepted", "rejected", "not_mapped", "duplicate"]


class InterchangeSet(BaseModel):
    """One transaction set of an inbound interchange and what came of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    set_id: str = Field(description="ST01, e.g. 855.")
    control_number: str = Field(description="ST02.")
    group: str = Field(description="GS06 of its group.")
    outcome: SetOutcome
    reference: str | None = Field(default=None, description="The business key it concerned (PO, order...).")
    reason: str | None = Field(default=None, max_length=1000, description="Why it was rejected or not mapped.")


class EdiInterchangeProcessed(EventData):
    """An inbound interchange was read, acknowledged (997 per group) and its sets handed to their flows."""

    event_type = "edi.interchange_processed"
    schema_version = "1.0"

    partner_id: str
    sender: str = Field(description="ISA05:ISA06 as read.")
    control_number: str = Field(description="ISA13.")
    object_key: str = Field(description="Where the file is kept (the EDI bucket's inbound/ prefix).")
    status: Literal["accepted", "partially_accepted", "rejected", "duplicate"]
    reason: str | None = Field(default=None, max_length=1000, description="Why (rejected, duplicate).")
    sets: list[InterchangeSet] = Field(default_factory=list, max_length=2000)
    acknowledgments: list[str] = Field(
        default_factory=list, description="Object keys of the 997 (and TA1) written back for the partner."
    )

    def subject(self) -> str:
        return f"{self.partner_id}/{self.control_number}"


class EdiAckOverdue(EventData):
    """A functional group distrosync sent (850, 940) has no 997 from the partner within its profile's window
    (published once per group)."""

    event_type = "edi.ack_overdue"
    schema_version = "1.0"

    partner_id: str
    functional_id: str = Field(description="GS01 of the group sent, e.g. PO (850) or OW (940).")
    group_control_number: str = Field(description="GS06 of the group sent.")
    interchange_control_number: str = Field(description="ISA13 of the interchange that carried it.")
    set_ids: list[str] = Field(description="ST01 of each set in the group.")
    references: list[str] = Field(default_factory=list, description="The documents sent (PO numbers, order ids).")
    sent_at: datetime
    due_at: datetime
    ack_due_hours: int = Field(ge=1)

    def subject(self) -> str:
        return f"{self.partner_id}/{self.group_control_number}"


EVENTS: tuple[type[EventData], ...] = (EdiInterchangeProcessed, EdiAckOverdue)
