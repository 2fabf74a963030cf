"""EDI outbound (docs/edi.md, "Gateway", "Outbound"): canonical events become X12 files for trading partners.

`purchase_order.created` -> an 850 to each active supplier partner whose profile lists 850 and whose `supplier:`
scope covers the PO's supplier; `order.released` -> a 940 to each active warehouse partner whose profile lists 940
and whose `location:` scope covers the release's location. The partners with a profile are read once a minute
(one filtered Scan, `PartnerRepository.active_with`), like the outbound dispatcher's systems.

Per target: `EdiStore.document_sent` says the event was written already (a retried or duplicated message) ->
nothing; else control numbers are allocated (one ISA13, GS06 and ST02 from the partner's atomic sequences), the
interchange is written to `outbound/<partner>/<ISA13>-<set>.x12`, and `record_sent` keeps the document and the
group awaiting its 997 (due `ack_due_hours` after sending; with 0 the group is kept as not expecting one) in one
transaction, with the order alias a 940 used in W0502 for an order id that does not fit it (documents.order_alias),
so that a 945 echoing only the alias finds its order. A document the partner's profile cannot carry
(`DocumentError`: a PO number longer than BEG03 allows, an SKU holding one of its delimiters...) is refused for
good: logged, counted (`EdiDocumentRefused`), never retried, and no control number is spent on it. So is a 940
whose alias stands for another order of the partner already (a digest collision, `AliasTaken`: its file is
withdrawn, its control numbers left as a gap).

Failures a retry may cure (throttling, S3 or DynamoDB unavailable) are raised after every target was tried, so that
the SQS message alone is retried and the targets already served are skipped. When the record cannot be written
after the file was, the file is deleted again, so that the retry's file (with new control numbers) is the only one;
so is the file of a delivery that lost a race with a concurrent copy of the same message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from aws_lambda_powertools.metrics import single_metric

from shared.adapters.x12.documents import (
    FUNCTIONAL_IDS,
    DocumentError,
    depositor_order_number,
    order_release_940,
    purchase_order_850,
)
from shared.aws.edi_files import EdiFiles
from shared.aws.edi_store import AliasTaken, DocumentSent, EdiStore, GroupSent, OrderAlias
from shared.aws.partners import PartnerRepository
from shared.canonical.envelope import Envelope, utcnow
from shared.canonical.partner import EdiSettings, Partner
from shared.domain.scopes import allows
from shared.observability import MetricUnit, logger
from shared.settings import EdiOutboundSettings


@dataclass(frozen=True)
class Route:
    """Which set an event type becomes, for which kind of partner, and the scope that must cover the event."""

    set_id: str
    partner_kind: str
    scope_kind: str


ROUTES: dict[str, Route] = {
    "purchase_order.created": Route("850", "supplier", "supplier"),
    "order.released": Route("940", "warehouse", "location"),
}


class EdiDeliveryDeferred(RuntimeError):
    """At least one partner's file could not be written now: the message goes back to SQS."""


class EdiOutbound:
    def __init__(
        self,
        partners: PartnerRepository,
        store: EdiStore,
        files: EdiFiles,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.partners = partners
        self.store = store
        self.files = files
        self.now = now

    @classmethod
    def from_settings(cls, settings: EdiOutboundSettings) -> EdiOutbound:
        return cls(
            PartnerRepository(settings.partners_table), EdiStore(settings.edi_table), EdiFiles(settings.edi_bucket)
        )

    # ------------------------------------------------------------------------------------------------ targets
    def profiles(self) -> list[Partner]:
        """Active partners with a trading partner profile (the repository caches the list a minute)."""
        return self.partners.active_with("edi")

    def targets(self, envelope: Envelope[Any]) -> list[Partner]:
        route = ROUTES.get(envelope.type)
        if route is None:
            return []
        scoped = _scoped_value(envelope)
        return [
            p
            for p in self.profiles()
            if p.kind == route.partner_kind
            and p.edi is not None
            and route.set_id in p.edi.outbound_sets
            and allows(p.scopes, route.scope_kind, scoped)
        ]

    # ----------------------------------------------------------------------------------------------- delivery
    def deliver(self, envelope: Envelope[Any]) -> list[DocumentSent]:
        """Write the event's document for every target not served yet; returns the documents written now.
        Raises `EdiDeliveryDeferred` after trying every target if one of them failed for a reason a retry may cure."""
        route = ROUTES.get(envelope.type)
        if route is None:
            logger.info("not an EDI outbound event", extra={"event_id": envelope.id, "type": envelope.type})
            return []
        written: list[DocumentSent] = []
        failed: list[tuple[str, Exception]] = []
        for partner in self.targets(envelope):
            try:
                document = self._send(envelope, partner, route.set_id)
            except Exception as exc:  # the other targets are still served; raised below
                logger.warning(
                    "EDI document not written, retried with the message",
                    extra={"event_id": envelope.id, "partner": partner.partner_id, "error": repr(exc)[:1000]},
                )
                failed.append((partner.partner_id, exc))
                continue
            if document is not None:
                written.append(document)
        if failed:
            names = ", ".join(f"{partner} ({type(exc).__name__})" for partner, exc in failed)
            raise EdiDeliveryDeferred(f"{envelope.type} {envelope.id} not written for {names}") from failed[0][1]
        return written

    def _send(self, envelope: Envelope[Any], partner: Partner, set_id: str) -> DocumentSent | None:
        profile = partner.edi
        assert profile is not None
        extra = {"event_id": envelope.id, "partner": partner.partner_id, "set": set_id, "subject": envelope.subject}
        if self.store.document_sent(partner.partner_id, envelope.id) is not None:
            logger.info("EDI document already written for this event", extra=extra)
            _count("EdiDocumentAlreadySent", set_id)
            return None
        render, reference = _renderer(envelope, profile)
        sent_at = self.now()
        try:  # with placeholder numbers: a document that cannot be written spends no control number
            render(interchange=1, group=1, set_=1, when=sent_at)
        except DocumentError as exc:
            logger.error("EDI document refused", extra={**extra, "reason": str(exc)})
            _count("EdiDocumentRefused", set_id)
            return None
        numbers = self.store.allocate(partner.partner_id)
        isa13, gs06, st02 = numbers.interchanges[0], numbers.groups[0], numbers.sets[0]
        text = render(interchange=isa13, group=gs06, set_=st02, when=sent_at)
        key = self.files.put_outbound(partner.partner_id, f"{isa13:09d}-{set_id}.x12", text)
        document = DocumentSent(
            partner_id=partner.partner_id,
            event_id=envelope.id,
            object_key=key,
            set_id=set_id,
            reference=reference,
            interchange_control_number=f"{isa13:09d}",
            group_control_number=f"{gs06:09d}",  # GS06 and ST02 as the writer pads them: what a 997 quotes
            set_control_number=f"{st02:04d}",
            sent_at=sent_at,
        )
        hours = profile.ack_due_hours
        group = GroupSent(
            partner_id=partner.partner_id,
            group_control_number=document.group_control_number,
            interchange_control_number=document.interchange_control_number,
            functional_id=FUNCTIONAL_IDS[set_id],
            set_ids=[set_id],
            references=[reference],
            sent_at=sent_at,
            due_at=sent_at + timedelta(hours=hours) if hours > 0 else None,
            ack_due_hours=hours,
            object_key=key,
            correlation_id=envelope.correlation_id,
        )
        alias = _alias(envelope, partner.partner_id, profile)
        try:
            recorded = self.store.record_sent(document, [group], alias=alias)
        except AliasTaken as exc:
            self._withdraw(key, "its order alias stands for another order")
            logger.error("EDI document refused", extra={**extra, "reason": str(exc)})
            _count("EdiDocumentRefused", set_id)
            return None
        except Exception:
            self._withdraw(key, "the record could not be written")
            raise
        if not recorded:  # a concurrent copy of the message wrote and recorded its own file first
            self._withdraw(key, "another delivery of the same event was recorded first")
            _count("EdiDocumentAlreadySent", set_id)
            return None
        numbers_used = {"isa13": document.interchange_control_number, "gs06": document.group_control_number}
        aliased = {"alias": alias.alias} if alias is not None else {}
        logger.info("EDI document written", extra={**extra, "object_key": key, **numbers_used, **aliased})
        _count("EdiDocumentSent", set_id)
        return document

    def _withdraw(self, key: str, why: str) -> None:
        """Delete a file written for nothing, before the partner picks it up. Best effort: a file that stays is a
        duplicate the partner can tell by its BEG03/W0502, and the error that made it one is the one to raise."""
        try:
            self.files.delete(key)
        except Exception as exc:  # the caller's own outcome (or error) stands
            logger.error(
                "EDI file written for nothing could not be withdrawn",
                extra={"object_key": key, "reason": why, "error": repr(exc)[:500]},
            )
            return
        logger.warning("EDI file withdrawn", extra={"object_key": key, "reason": why})


def _scoped_value(envelope: Envelope[Any]) -> str:
    """The supplier of a PO, the location of a release: what the partner's scope must cover."""
    if envelope.type == "purchase_order.created":
        return str(envelope.data.purchase_order.supplier_id)
    return str(envelope.data.location)


def _renderer(envelope: Envelope[Any], profile: EdiSettings) -> tuple[Callable[..., str], str]:
    """The document builder for the event with its data and the partner's profile bound, and its reference."""
    if envelope.type == "purchase_order.created":
        po = envelope.data.purchase_order
        return partial(purchase_order_850, po, profile), po.po_number
    return partial(order_release_940, envelope.data, profile), envelope.data.order_id


def _alias(envelope: Envelope[Any], partner_id: str, profile: EdiSettings) -> OrderAlias | None:
    """The alias a 940 carries in W0502 for an order id that does not fit it; None when the id goes as it is."""
    if envelope.type != "order.released":
        return None
    order_id = str(envelope.data.order_id)
    number = depositor_order_number(order_id, profile)
    return OrderAlias(partner_id, number, order_id) if number != order_id else None


def _count(name: str, set_id: str) -> None:
    """One metric with a `Set` dimension (kept apart from the function's other metrics)."""
    service = os.environ.get("POWERTOOLS_SERVICE_NAME", "distrosync")
    with single_metric(name=name, unit=MetricUnit.Count, value=1, default_dimensions={"service": service}) as metric:
        metric.add_dimension(name="Set", value=set_id)
