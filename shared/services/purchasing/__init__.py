"""Purchasing: purchase orders from the ERP, acknowledgments, ship notices and invoices from the supplier, lead
times, and the overdue-acknowledgment sweep (docs/supplier-collaboration.md, "Purchasing" and "Invoices").

`PurchasingService` is the one object the routes and the ack_overdue function use; its parts live in one module
each: `purchase_orders`, `acknowledgments`, `ship_notices`, `invoices`, `lead_times`, `ack_overdue`, and `_base`
for what they share (dependencies, document writes and publication, the change's events, supplier ownership).
"""

from __future__ import annotations

from shared.services.purchasing._base import (
    Contended,
    DocumentConflict,
    PositionsLike,
    SupplierDirectoryLike,
    SupplierRefLike,
    body_hash,
    expected_lines,
)
from shared.services.purchasing.ack_overdue import AckOverdueSweep, OverdueReport
from shared.services.purchasing.acknowledgments import Acknowledgments, AckReply
from shared.services.purchasing.invoices import InvoiceReply, Invoices, invoice_metric
from shared.services.purchasing.lead_times import LeadTimes, LeadTimeWriteResult
from shared.services.purchasing.purchase_orders import OrderWritten, PurchaseOrders
from shared.services.purchasing.ship_notices import ShipNotices, ShipReply


class PurchasingService(PurchaseOrders, Acknowledgments, ShipNotices, Invoices, LeadTimes, AckOverdueSweep):
    """Purchase orders, acknowledgments, ship notices, invoices, lead times and the overdue sweep over one store and
    bus."""


__all__ = [
    "AckReply",
    "Contended",
    "DocumentConflict",
    "InvoiceReply",
    "LeadTimeWriteResult",
    "OrderWritten",
    "OverdueReport",
    "PositionsLike",
    "PurchasingService",
    "ShipReply",
    "SupplierDirectoryLike",
    "SupplierRefLike",
    "body_hash",
    "expected_lines",
    "invoice_metric",
]
