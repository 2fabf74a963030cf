"""Lead times: a supplier's lead time for an item (at one location or all), ordered by sequence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from shared.aws.bus import publish
from shared.aws.purchasing_store import LeadTime
from shared.canonical.envelope import Envelope
from shared.canonical.partner import Partner
from shared.canonical.supplier import LeadTimeUpdated
from shared.domain.errors import OutOfScope
from shared.http import problems as p
from shared.http.problems import Problem
from shared.services.purchasing._base import ATTEMPTS, Contended, ServiceBase

if TYPE_CHECKING:  # the overdue sweeper imports this module: it needs none of these
    from shared.api.purchasing_models import LeadTimeRequest
    from shared.services.inventory_ingest import RequestMeta

LEAD_TIME_WRITER_KINDS = ("erp", "procurement")


@dataclass(frozen=True)
class LeadTimeWriteResult:
    outcome: Literal["created", "updated", "unchanged", "stale"]
    lead_time: LeadTime
    event_id: str | None = None


class LeadTimes(ServiceBase):
    """Lead times by supplier, SKU and location, written by the supplier, an ERP or a procurement system."""

    def put_lead_time(
        self, supplier_id: str, sku: str, body: LeadTimeRequest, partner: Partner, meta: RequestMeta
    ) -> LeadTimeWriteResult:
        """A supplier's lead time for an item (at one location or all), ordered by sequence: an older one is
        stale; the same value again is unchanged (no event)."""
        gid = self._authorize_lead_time(supplier_id, partner)
        master = self._master()
        from shared.services.master_data import Need

        location = master.location_codes([body.location])[body.location] if body.location else None
        master.require([Need(sku=sku, at=""), *([Need(location=location)] if location else [])])
        effective_at = body.effective_at or meta.received_at
        sequence = body.sequence if body.sequence is not None else int(effective_at.timestamp() * 1000)
        for attempt in range(ATTEMPTS):
            self._backoff(attempt)
            current, pending = self.store.get_lead_time(gid, sku, location)
            if pending and current is not None:
                publish([Envelope[LeadTimeUpdated].model_validate_json(pending)], self.bus_name)
                self.store.clear_lead_time_outbox(current)
            if current is not None and sequence <= current.sequence:
                same = sequence == current.sequence and current.lead_time_days == body.lead_time_days
                return LeadTimeWriteResult("unchanged" if same else "stale", current)
            lead_time = LeadTime(
                supplier_id=gid,
                sku=sku,
                location=location,
                lead_time_days=body.lead_time_days,
                sequence=sequence,
                effective_at=effective_at,
                updated_at=meta.received_at,
                updated_by=partner.partner_id,
            )
            envelope = None
            if current is None or current.lead_time_days != body.lead_time_days:
                data = LeadTimeUpdated(
                    supplier_id=gid,
                    sku=sku,
                    location=location,
                    lead_time_days=body.lead_time_days,
                    previous_lead_time_days=current.lead_time_days if current else None,
                    effective_at=effective_at,
                    sequence=sequence,
                )
                envelope = Envelope[LeadTimeUpdated].wrap(
                    data,
                    source_partner=partner.partner_id,
                    occurred_at=effective_at,
                    received_at=meta.received_at,
                    correlation_id=meta.correlation_id,
                    causation_id=meta.request_id or None,
                )
            expected = current.sequence if current else None
            outbox = envelope.model_dump_json() if envelope else None
            if not self.store.put_lead_time(lead_time, expected_sequence=expected, outbox=outbox):
                continue
            if envelope is None:
                return LeadTimeWriteResult("unchanged", lead_time)
            publish([envelope], self.bus_name)
            self.store.clear_lead_time_outbox(lead_time)
            return LeadTimeWriteResult("created" if current is None else "updated", lead_time, envelope.id)
        raise Contended(f"the lead time of '{sku}' from '{gid}' kept changing; retry")

    def get_lead_time(self, supplier_id: str, sku: str, location: str | None, partner: Partner) -> LeadTime:
        gid = self._authorize_lead_time(supplier_id, partner)
        current, _ = self.store.get_lead_time(gid, sku, location)
        if current is None:
            where = f" at {location}" if location else ""
            raise Problem(p.NOT_FOUND, f"no lead time of '{sku}'{where} from supplier '{gid}'")
        return current

    def _authorize_lead_time(self, supplier_id: str, partner: Partner) -> str:
        """The golden id the lead time is stored under (merges followed), if the partner may act for it: the
        supplier itself through its scope, or an ERP or procurement system."""
        ref = self._directory().get(supplier_id)
        if ref is None:
            raise Problem(p.UNKNOWN_SUPPLIER, f"supplier '{supplier_id}' is not in the supplier master")
        gid = ref.supplier_id
        if "*" in partner.scopes or partner.kind in LEAD_TIME_WRITER_KINDS:
            return gid
        if partner.kind == "supplier" and self._owns(partner, gid):
            return gid
        raise OutOfScope(partner.partner_id, "supplier", gid)
