"""The overdue-acknowledgment sweep: `purchase_order.ack_overdue` for every PO whose supplier has not acknowledged
it within its window (run by functions/ack_overdue on a schedule)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from shared.aws.bus import publish
from shared.aws.purchasing_store import DueEntry
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import PurchaseOrderAckOverdue
from shared.domain import purchase_orders as po
from shared.observability import logger
from shared.services.overdue_sweep import OverdueReport, sweep
from shared.services.purchasing._base import ServiceBase

SWEEPER_SOURCE = "distrosync.ack-overdue"


class AckOverdueSweep(ServiceBase):
    """Raises `purchase_order.ack_overdue` for the POs past their acknowledgment window."""

    def sweep_overdue(self, *, should_stop: Callable[[], bool] = lambda: False) -> OverdueReport:
        """Publish `purchase_order.ack_overdue` for every PO whose acknowledgment window has passed, then take it
        out of the index (shared/services/overdue_sweep.py: publishing first, with an id derived from the PO and
        its due time, never loses an event)."""
        now = self._clock()
        return sweep(self.store.due(now), lambda entries: self._overdue(entries, now), should_stop=should_stop)

    def _overdue(self, entries: Sequence[DueEntry], now: datetime) -> int:
        publish([_overdue_envelope(e) for e in entries], self.bus_name)
        marked = sum(1 for e in entries if self.store.mark_ack_overdue(e, now))
        if marked < len(entries):
            logger.info("POs changed while swept", extra={"listed": len(entries), "marked": marked})
        return marked


def _overdue_envelope(entry: DueEntry) -> Envelope[PurchaseOrderAckOverdue]:
    data = PurchaseOrderAckOverdue(
        po_number=entry.po_number,
        supplier_id=entry.supplier_id,
        location=entry.location,
        sent_at=entry.sent_at,
        ack_due_at=entry.ack_due_at,
        ack_window_hours=entry.ack_window_hours,
        erp_reference=entry.erp_reference,
    )
    event_id = po.event_id(entry.po_number, 0, data.event_type, entry.ack_due_at.isoformat())
    return Envelope[PurchaseOrderAckOverdue].wrap(
        data,
        source_partner=SWEEPER_SOURCE,
        occurred_at=entry.ack_due_at,
        correlation_id=entry.correlation_id,
        event_id=event_id,
    )
