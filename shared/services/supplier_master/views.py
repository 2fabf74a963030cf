"""Reading golden suppliers: the view events and answers carry, a source record as a partner sees it (bank accounts
only ever masked), and a supplier's detail, following merges to the golden that absorbed it."""

from __future__ import annotations

from shared.aws.supplier_store import Golden, Source
from shared.canonical.supplier import SourceRecordView, SupplierDetail, SupplierView
from shared.domain.errors import NotFound
from shared.services.supplier_master._core import Core

DEFAULT_ACK_WINDOW_HOURS = 48


def supplier_view(golden: Golden) -> SupplierView:
    values = golden.values
    bank = values.get("bank_account")
    return SupplierView(
        supplier_id=golden.supplier_id,
        legal_name=values.get("legal_name") or "",
        trading_name=values.get("trading_name"),
        tax_id=values.get("tax_id"),
        duns=values.get("duns"),
        address=values.get("address"),
        remit_to=values.get("remit_to"),
        bank_account_masked=bank["masked"] if bank else None,
        payment_terms=values.get("payment_terms"),
        contacts=values.get("contacts") or [],
        status=values.get("status") or "active",
        default_lead_time_days=values.get("default_lead_time_days"),
        ack_window_hours=values.get("ack_window_hours") or DEFAULT_ACK_WINDOW_HOURS,
        cross_references=golden.cross_references,
        version=golden.version,
    )


def source_view(source: Source, golden: Golden) -> SourceRecordView:
    fields = {k: v for k, v in source.record.items() if k in SourceRecordView.model_fields}
    return SourceRecordView(
        **fields,
        system=source.system,
        kind=source.kind,
        local_id=source.local_id,
        sequence=source.sequence,
        updated_at=source.updated_at,
        received_at=source.received_at,
        bank_account_masked=source.bank_account["masked"] if source.bank_account else None,
        wins=sorted(a for a, k in golden.winners.items() if k == source.key),
    )


class Reads(Core):
    def detail(self, supplier_id: str) -> SupplierDetail:
        """The golden (following merges) with its source records, bank accounts masked. Raises NotFound."""
        merged: list[str] = []
        current = supplier_id
        for _ in range(8):
            golden, sources = self.store.supplier(current)
            if golden is None:
                raise NotFound(f"no supplier {current}")
            if not golden.merged_into:
                return SupplierDetail(
                    supplier=supplier_view(golden),
                    requested_id=supplier_id,
                    merged_ids=merged,
                    sources=[source_view(s, golden) for s in sorted(sources, key=lambda s: s.key)],
                )
            merged.append(current)
            current = golden.merged_into
        raise NotFound(f"supplier {supplier_id}: too many merges to follow")

    def view(self, golden: Golden) -> SupplierView:
        return supplier_view(golden)
