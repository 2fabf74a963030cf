"""The overdue-acknowledgment sweep: `purchase_order.ack_overdue` for every PO whose supplier has not acknowledged
it within its window (run by functions/ack_overdue on a schedule)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.aws.bus import publish
from shared.aws.purchasing_store import DueEntry
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import PurchaseOrderAckOverdue
from shared.domain import purchase_orders as po
from shared.observability import logger
from shared.services.purchasing._base import ServiceBase

SWEEPER_SOURCE = "distrosync.ack-overdue"
SWEEP_PUBLISH_CHUNK = 50  # POs published (then marked) at a time by the overdue sweep


@dataclass(frozen=True)
class OverdueReport:
    overdue: int = 0
    skipped: int = 0  # listed, but acknowledged or changed meanwhile
    complete: bool = True


class AckOverdueSweep(ServiceBase):
    """Raises `purchase_order.ack_overdue` for the POs past their acknowledgment window."""

    def sweep_overdue(self, *, should_stop: Callable[[], bool] = lambda: False) -> OverdueReport:
        """Publish `purchase_order.ack_overdue` for every PO whose acknowledgment window has passed, then take it
        out of the index. Publishing first, with an id derived from the PO and its due time, means a sweep that
        dies in between publishes the same event again next time (consumers drop it), never loses it."""
        now = self._clock()
        report = OverdueReport()
        batch: list[DueEntry] = []
        for entry in self.store.due(now):
            if should_stop():
                report = OverdueReport(report.overdue, report.skipped, complete=False)
                break
            batch.append(entry)
            if len(batch) == SWEEP_PUBLISH_CHUNK:
                report = self._overdue(batch, now, report)
                batch = []
        if batch:
            report = self._overdue(batch, now, report)
        return report

    def _overdue(self, entries: Sequence[DueEntry], now: datetime, report: OverdueReport) -> OverdueReport:
        publish([_overdue_envelope(e) for e in entries], self.bus_name)
        marked = sum(1 for e in entries if self.store.mark_ack_overdue(e, now))
        if marked < len(entries):
            logger.info("POs changed while swept", extra={"listed": len(entries), "marked": marked})
        return OverdueReport(report.overdue + marked, report.skipped + len(entries) - marked, report.complete)


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
