"""997s due (docs/edi.md, "Gateway", "Acknowledgments due"): `edi.ack_overdue` for every functional group sent
(850, 940) whose partner has not acknowledged it within its profile's `ack_due_hours` (run by
functions/edi_ack_overdue on a schedule).

Like the purchasing sweep, each chunk is published first and marked overdue after: the event id is derived from
the partner, the group's GS06 and when it was sent, so a sweep that dies in between publishes the same event again
next time (consumers drop it by id) instead of losing it. A group whose 997 came meanwhile is not marked (counted as
skipped); its verdict is recorded by the gateway, also when it comes after the group was reported overdue.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from shared.aws.bus import publish
from shared.aws.edi_store import EdiStore, GroupSent
from shared.canonical.edi import EdiAckOverdue
from shared.canonical.envelope import Envelope, utcnow
from shared.observability import logger
from shared.services.overdue_sweep import OverdueReport, sweep
from shared.settings import EdiAckOverdueSettings

SWEEPER_SOURCE = "distrosync.edi-ack-overdue"
_EVENT_NAMESPACE = uuid.UUID("6f0d8f7c-2b0e-4c1e-9a57-3e6c1b9d4a20")


class EdiAcks:
    def __init__(self, store: EdiStore, bus_name: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.bus_name = bus_name
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: EdiAckOverdueSettings) -> EdiAcks:
        return cls(EdiStore(settings.edi_table), settings.event_bus_name)

    def sweep_overdue(
        self, now: datetime | None = None, *, should_stop: Callable[[], bool] = lambda: False
    ) -> OverdueReport:
        """Publish `edi.ack_overdue` for every group whose 997 was due at or before `now` (default: the clock),
        then take it out of the due index as overdue."""
        now = now or self.clock()
        return sweep(self.store.due(now), lambda groups: self._overdue(groups, now), should_stop=should_stop)

    def _overdue(self, groups: Sequence[GroupSent], now: datetime) -> int:
        publish([overdue_envelope(g) for g in groups], self.bus_name)
        marked = [g for g in groups if self.store.mark_overdue(g, now)]
        for group in marked:
            logger.warning(
                "997 overdue",
                extra={
                    "partner": group.partner_id,
                    "gs06": group.group_control_number,
                    "functional_id": group.functional_id,
                    "references": group.references,
                    "due_at": group.due_at.isoformat() if group.due_at else None,
                },
            )
        if len(marked) < len(groups):
            logger.info("groups acknowledged while swept", extra={"listed": len(groups), "marked": len(marked)})
        return len(marked)


def overdue_event_id(group: GroupSent) -> str:
    """The same id every time the same group is reported: partner, GS06 (as a number) and when it was sent (GS06
    wraps after 999,999,999, so the number alone could come back one day)."""
    number = group.group_control_number.lstrip("0") or "0"
    return uuid.uuid5(_EVENT_NAMESPACE, f"{group.partner_id}/{number}/{group.sent_at.isoformat()}").hex


def overdue_envelope(group: GroupSent) -> Envelope[EdiAckOverdue]:
    assert group.due_at is not None  # only groups awaiting a 997 are in the due index
    data = EdiAckOverdue(
        partner_id=group.partner_id,
        functional_id=group.functional_id,
        group_control_number=group.group_control_number,
        interchange_control_number=group.interchange_control_number,
        set_ids=list(group.set_ids),
        references=list(group.references),
        sent_at=group.sent_at,
        due_at=group.due_at,
        ack_due_hours=group.ack_due_hours,
    )
    return Envelope[EdiAckOverdue].wrap(
        data,
        source_partner=SWEEPER_SOURCE,
        occurred_at=group.due_at,
        correlation_id=group.correlation_id,
        event_id=overdue_event_id(group),
    )
