"""The inbound EDI gateway (docs/edi.md, "Gateway", steps 1-6): a file a trading partner dropped under
`inbound/<partner>/` (or posted to `POST /v1/edi/inbound`) -> envelope checks against the partner's profile -> the
interchange claimed once -> a 997 per group (and a TA1 for an interchange refused as a whole) written to
`outbound/<partner>/` -> each accepted set to the service its API route calls, as the partner ->
`edi.interchange_processed`.

Permanent refusals (no such partner, no profile, unreadable file) return a rejected `InboundReceipt`: retrying
cannot change them. Transient failures raise, so that the message is retried: the claim then says `same_object`,
the acknowledgments already written are found under their keys (named after the interchange they answer, so a
retry writes none twice), and the services are idempotent on the set's document id or idempotency key.

Acknowledgment keys: `outbound/<partner>/<inbound ISA13, 9 digits>-<8 hex of the inbound object key>-997.x12` and
`...-TA1.x12`. They are known before any control number is allocated (a retry looks them up), and a duplicate
ISA13 from another file never overwrites the first file's 997.

Envelope checks against the profile: the ISA's sender, receiver and test flag (TA1 R, nothing else), each group's
GS02/GS03 (the group rejected whole: AK9 R 7/8). The IEA: missing, TA1 R 023 and nothing else (not claimed: the
sender sends it again whole); lying (IEA01, IEA02), TA1 E 021/001 beside the 997 (see shared/adapters/x12/ack.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from shared.adapters.x12 import ParseResult, decode, read
from shared.adapters.x12 import ack as x12_ack
from shared.adapters.x12.canonical import SHIPPING_ADVICE, SHIPPING_ADVICE_BY_ALIAS, Mapped, to_canonical
from shared.adapters.x12.model import EnvelopeError, Group, Interchange, Transaction
from shared.aws.bus import publish
from shared.aws.edi_files import EdiFileError, EdiFiles, outbound_key, partner_of
from shared.aws.edi_store import EdiStore
from shared.canonical.edi import EdiInterchangeProcessed, InterchangeSet
from shared.canonical.envelope import Envelope, utcnow
from shared.canonical.partner import EdiSettings, Partner
from shared.observability import MetricUnit, logger, metrics
from shared.services.edi.inbound_dispatch import InboundDispatch, SetResult, set_meta

if TYPE_CHECKING:
    from shared.aws.partners import PartnerRepository
    from shared.settings import IngressSettings

_EVENT_NAMESPACE = uuid.UUID("6f1d2c8e-3b7a-4e55-9a0c-2d4e8b1f7a93")
FINISHED = frozenset({"accepted", "partially_accepted", "rejected"})
FUNCTIONAL_ACK_GROUP = "FA"  # GS01 of a group of 997s (and of 999s)
FUNCTIONAL_ACK_SET = "997"
IMPLEMENTATION_ACK = "999"
# An event stays well under EventBridge's 256 KB: sets past this many bytes of the event are counted, not listed.
MAX_EVENT_SET_BYTES = 150_000
MAX_REASON = 1000

ReceiptStatus = Literal["processed", "rejected"]
InterchangeStatus = Literal["accepted", "partially_accepted", "rejected", "duplicate", "already_processed"]


@dataclass(frozen=True)
class InterchangeReceipt:
    """What came of one interchange of the file (`already_processed`: the same file again, nothing done)."""

    control_number: str
    sender: str
    status: InterchangeStatus
    reason: str | None = None
    sets: tuple[InterchangeSet, ...] = ()
    acknowledgments: tuple[str, ...] = ()


@dataclass(frozen=True)
class InboundReceipt:
    """What came of one inbound file: `rejected` (for good, with the reason) or `processed` (per interchange)."""

    object_key: str
    partner_id: str | None
    status: ReceiptStatus
    reason: str | None = None
    interchanges: tuple[InterchangeReceipt, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Judged:
    """One set after step 4: the AK5 code the gateway adds for it (None: none), its refusal (None: it goes on)
    and the requests it maps to."""

    tx: Transaction
    group: Group
    code: str | None = None
    refusal: InterchangeSet | None = None
    requests: tuple[Mapped, ...] = ()


def correlation_id(partner_id: str, control_number: str) -> str:
    """The correlation id of an inbound interchange: `edi-<partner>-<ISA13>`."""
    return f"edi-{partner_id}-{control_number}"


def ack_key(partner_id: str, interchange: str, object_key: str, kind: Literal["997", "TA1"]) -> str:
    """The file name of the 997 or TA1 answering `interchange` (ISA13) of `object_key`."""
    number = interchange.zfill(9) if interchange.isdigit() else interchange
    digest = hashlib.sha256(object_key.encode()).hexdigest()[:8]
    return f"{number}-{digest}-{kind}.x12"


def _sender(ic: Interchange) -> str:
    return f"{ic.sender.qualifier}:{ic.sender.id}"


def _cut(text: str, limit: int = MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(name: str, value: int = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


class EdiGateway:
    def __init__(
        self,
        *,
        partners: PartnerRepository,
        files: EdiFiles,
        store: EdiStore,
        dispatch: InboundDispatch,
        bus_name: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.partners = partners
        self.files = files
        self.store = store
        self.dispatch = dispatch
        self.bus_name = bus_name
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: IngressSettings) -> EdiGateway:
        """The gateway over the ingress's own dependencies, so that each set reaches the services the routes use."""
        from shared.api.deps import Deps

        deps = Deps.from_settings(settings)
        store = EdiStore(settings.edi_table)
        return cls(
            partners=deps.partners,
            files=EdiFiles(settings.edi_bucket),
            store=store,
            dispatch=InboundDispatch(deps, store),
            bus_name=settings.event_bus_name,
        )

    def register_lambda_context(self, context: object) -> None:
        """The idempotent intake (inventory advice) needs the invocation's remaining time."""
        self.dispatch.deps.intake.register_lambda_context(context)

    # ------------------------------------------------------------------------------------------- entries
    def receive_object(self, bucket: str, key: str, *, received_at: datetime | None = None) -> InboundReceipt:
        """Steps 1-2 for an object created under `inbound/<partner>/`, then `receive`."""
        received_at = received_at or self._clock()
        partner_id = partner_of(key) if key.startswith("inbound/") else None
        if partner_id is None:
            return self._refused(None, key, f"'{key}' is not under inbound/<partner id>/", received_at)
        logger.append_keys(partner_id=partner_id, object_key=key)
        partner = self.partners.get(partner_id)
        if partner is None:
            return self._refused(partner_id, key, f"no partner '{partner_id}'", received_at)
        if partner.status != "active":
            return self._refused(partner_id, key, f"partner '{partner_id}' is {partner.status}", received_at)
        if partner.edi is None:
            return self._refused(partner_id, key, f"partner '{partner_id}' has no EDI profile", received_at)
        try:
            data = self.files.get(key, bucket=bucket)
        except EdiFileError as exc:
            return self._refused(partner_id, key, str(exc), received_at)
        return self.receive(partner, data, object_key=key, received_at=received_at)

    def receive(self, partner: Partner, data: bytes, *, object_key: str, received_at: datetime) -> InboundReceipt:
        """Steps 2-6 for a file from `partner` (which carries a profile), kept at `object_key`."""
        profile = partner.edi
        if profile is None:
            return self._refused(partner.partner_id, object_key, "the partner has no EDI profile", received_at)
        result = read(data)
        if not result.interchanges:
            reason = result.errors[0].message if result.errors else "no interchange (ISA) in the file"
            return self._refused(partner.partner_id, object_key, f"unreadable X12: {reason}", received_at)
        ids = (profile.gs_id, profile.our_gs_id)
        verdicts = {id(ic): acks for ic, acks in x12_ack.acknowledge(result, application_ids=ids)}
        owned = x12_ack.errors_by_owner(result)
        receipts = tuple(
            self._interchange(
                _Inbound(partner, profile, result, ic, object_key, received_at, data), verdicts[id(ic)], owned
            )
            for ic in result.interchanges
        )
        unread = [e.message for e in result.errors if e.interchange is None and e.kind == "isa_malformed"]
        return InboundReceipt(
            object_key=object_key,
            partner_id=partner.partner_id,
            status="processed",
            reason=_cut("; ".join(unread)) if unread else None,
            interchanges=receipts,
        )

    # ------------------------------------------------------------------------------------- one interchange
    def _interchange(
        self, inbound: _Inbound, acks: list[x12_ack.GroupAck], owned: dict[int, list[EnvelopeError]]
    ) -> InterchangeReceipt:
        ic, partner_id = inbound.ic, inbound.partner.partner_id
        logger.set_correlation_id(correlation_id(partner_id, ic.control_number))
        logger.append_keys(interchange=ic.control_number)
        _count("EdiInterchanges")
        note, why = _envelope_refusal(ic, inbound.profile)
        if note is not None:  # step 3: not the profile's sender, receiver or test flag: TA1 R and nothing else
            keys = self._write_acks(inbound, ta1=("R", note), with_997=False, fresh=False)
            return self._finish(inbound, "rejected", why, [], keys, claimed=False)
        trailer = x12_ack.trailer_note(_trailer_errors(inbound))
        iea = "; ".join(e.message for e in trailer[2]) if trailer else ""
        if trailer is not None and trailer[0] == "R":  # no IEA: maybe cut; TA1 R 023, nothing taken, not claimed
            why = f"{iea} (TA1 R {trailer[1]}: send the interchange again whole)"
            keys = self._write_acks(inbound, ta1=trailer[:2], with_997=False, fresh=False)
            return self._finish(inbound, "rejected", why, [], keys, claimed=False)

        claim = self.store.claim_interchange(
            _sender(ic),
            ic.control_number,
            partner_id=partner_id,
            object_key=inbound.object_key,
            received_at=inbound.received_at,
        )
        if claim.outcome == "duplicate":
            why = (
                f"duplicate interchange: {_sender(ic)} used ISA13 {ic.control_number} before, in "
                f"{claim.object_key} (received {claim.received_at})"
            )
            sets = [
                InterchangeSet(
                    set_id=tx.set_id,
                    control_number=tx.control_number,
                    group=g.control_number,
                    outcome="duplicate",
                    reason="its interchange is a duplicate",
                )
                for g in ic.groups
                for tx in g.transactions
            ]
            _count("EdiDuplicate")
            keys = self._write_acks(inbound, ta1=("R", x12_ack.NOTE_DUPLICATE), duplicate=True, fresh=False)
            return self._finish(inbound, "duplicate", why, sets, keys, claimed=False)
        if claim.outcome == "same_object" and claim.status in FINISHED:
            logger.info("interchange processed before (the same file again)", extra={"status": claim.status})
            return InterchangeReceipt(
                ic.control_number, _sender(ic), "already_processed", f"processed before: {claim.status}"
            )

        # step 4: each set judged (envelope, profile, mapping), a 997 per group
        judged = [
            j for group, ack in zip(ic.groups, acks, strict=True) for j in self._judge(inbound, group, ack, owned)
        ]
        rejections = {
            (ic.control_number, j.group.control_number, j.tx.control_number): j.code for j in judged if j.code
        }
        # an IEA that lies (IEA01, IEA02): TA1 E beside the 997; the groups stand as their 997 says
        ta1 = (trailer[0], trailer[1]) if trailer is not None else None
        keys = self._write_acks(inbound, ta1=ta1, rejections=rejections, fresh=claim.outcome == "new")

        # step 5: each accepted set to its flow
        sets: list[InterchangeSet] = []
        for j in judged:
            if j.refusal is not None:
                sets.append(j.refusal)
                continue
            for part, request in enumerate(j.requests, start=1):
                result = self._send(inbound, j.group, j.tx, request, part, len(j.requests))
                sets.append(
                    InterchangeSet(
                        set_id=j.tx.set_id,
                        control_number=j.tx.control_number,
                        group=j.group.control_number,
                        outcome=result.outcome,
                        reference=request.reference,
                        reason=_cut(result.reason) if result.reason else None,
                    )
                )
        _count("EdiSetAccepted", sum(1 for s in sets if s.outcome in ("accepted", "duplicate")))
        _count("EdiSetRejected", sum(1 for s in sets if s.outcome in ("rejected", "not_mapped")))
        status = _status(sets)
        refused_groups = [
            why for g in ic.groups for _, why in x12_ack.application_id_errors(g, inbound.application_ids)
        ]
        if refused_groups and status == "accepted":  # a group without sets refused: not all was taken
            status = "partially_accepted" if sets else "rejected"
        if trailer is not None:
            iea = f"{iea} (TA1 {trailer[0]} {trailer[1]})"
        reason = "; ".join(x for x in (*refused_groups, iea) if x) or None
        return self._finish(inbound, status, reason, sets, keys, claimed=True)

    def _judge(
        self, inbound: _Inbound, group: Group, ack: x12_ack.GroupAck, owned: dict[int, list[EnvelopeError]]
    ) -> list[_Judged]:
        """Each set of `group`: refused by its envelope (the reader's errors: AK5 R or AK9 R), not in the profile
        (AK5 R 1), not mapped or naming an order alias we never sent the partner (AK5 R 5), or its requests."""
        errors = owned.get(id(group), [])
        ids = x12_ack.application_id_errors(group, inbound.application_ids)
        group_reason = "; ".join([why for _, why in ids] + [e.message for e in errors if e.kind in x12_ack.GROUP_CODES])
        profile = inbound.profile
        out: list[_Judged] = []
        for tx, set_ack in zip(group.transactions, ack.sets, strict=True):
            if ack.codes or set_ack.status == "R":
                own = [e.message for e in errors if e.transaction == tx.control_number and e.kind in x12_ack.SET_CODES]
                reason = "; ".join(own) or group_reason or "envelope error"
                out.append(_Judged(tx, group, refusal=_refusal(tx, group, "rejected", reason)))
                continue
            if not _in_profile(tx.set_id, profile):
                listed = ", ".join(profile.inbound_sets) or "none"
                reason = f"transaction set {tx.set_id} is not in the partner's profile (inbound sets: {listed})"
                out.append(_Judged(tx, group, x12_ack.NOT_SUPPORTED, _refusal(tx, group, "rejected", reason)))
                continue
            mapped = _map(inbound, group, tx)
            failed = [m for m in mapped if not m.ok]
            if failed or not mapped:
                reason = str(failed[0].request) if failed else f"transaction set {tx.set_id} gave no request"
                out.append(_Judged(tx, group, x12_ack.SEGMENTS_IN_ERROR, _refusal(tx, group, "not_mapped", reason)))
                continue
            mapped, unknown = self._resolve_aliases(inbound.partner.partner_id, mapped)
            if unknown is not None:
                out.append(_Judged(tx, group, x12_ack.SEGMENTS_IN_ERROR, _refusal(tx, group, "not_mapped", unknown)))
                continue
            out.append(_Judged(tx, group, requests=tuple(mapped)))
        return out

    def _resolve_aliases(self, partner_id: str, mapped: list[Mapped]) -> tuple[list[Mapped], str | None]:
        """A 945 naming its order by the alias our 940 used (W0602 only) gets the order id the EDI table keeps for
        that alias and partner (one GetItem); the reason when no 940 to this partner used the alias."""
        out: list[Mapped] = []
        for m in mapped:
            if m.kind == SHIPPING_ADVICE_BY_ALIAS and m.reference is not None:
                order_id = self.store.aliased_order(partner_id, m.reference)
                if order_id is None:
                    return [], (
                        f"{m.set_id} {m.control_number}: W0602 '{m.reference}' is no order alias distrosync sent "
                        f"to partner '{partner_id}' (no 940 used it)"
                    )
                m = replace(m, kind=SHIPPING_ADVICE, reference=order_id)
            out.append(m)
        return out, None

    def _send(
        self, inbound: _Inbound, group: Group, tx: Transaction, mapped: Mapped, part: int, parts: int
    ) -> SetResult:
        ic = inbound.ic
        meta = set_meta(
            partner_id=inbound.partner.partner_id,
            sender=_sender(ic),
            interchange=ic.control_number,
            group=group.control_number,
            transaction=tx.control_number,
            part=part,
            parts=parts,
            correlation_id=correlation_id(inbound.partner.partner_id, ic.control_number),
            received_at=inbound.received_at,
        )
        result = self.dispatch.send(mapped, inbound.partner, meta)
        if result.outcome == "rejected":
            logger.warning(
                "set refused by its flow",
                extra={
                    "set": tx.set_id,
                    "transaction": tx.control_number,
                    "kind": mapped.kind,
                    "reason": result.reason,
                },
            )
        return result

    # ------------------------------------------------------------------------------------- acknowledgments
    def _write_acks(
        self,
        inbound: _Inbound,
        *,
        ta1: tuple[str, str] | None = None,
        with_997: bool = True,
        rejections: x12_ack.Rejections | None = None,
        duplicate: bool = False,
        fresh: bool,
    ) -> list[str]:
        """Write the TA1 (when `ta1` is given: TA104, TA105) and the 997 of `inbound.ic` (when `with_997`, and it
        has groups to acknowledge); returns their keys. Unless `fresh` (first time this interchange of this object
        is seen), files written by an earlier attempt are kept as they are. Functional groups that are
        997s or 999s themselves (GS01 FA) are never acknowledged: an ack for an ack would start an endless exchange."""
        ic, partner_id, profile = inbound.ic, inbound.partner.partner_id, inbound.profile
        acked = replace(ic, groups=[g for g in ic.groups if g.functional_id != FUNCTIONAL_ACK_GROUP])
        result = ParseResult(interchanges=[acked], errors=inbound.result.errors)
        with_997 = with_997 and bool(acked.groups)
        wanted: list[tuple[str, str]] = []  # (kind, key)
        if ta1 is not None:
            wanted.append(("TA1", ack_key(partner_id, ic.control_number, inbound.object_key, "TA1")))
        if with_997:
            wanted.append(("997", ack_key(partner_id, ic.control_number, inbound.object_key, "997")))
        keys = [outbound_key(partner_id, name) for _, name in wanted]
        missing = [
            (kind, name) for (kind, name), key in zip(wanted, keys, strict=True) if fresh or not self.files.exists(key)
        ]
        if not missing:
            return keys
        kinds = {kind for kind, _ in missing}
        isa, gs, st = x12_ack.numbers_needed(acked, acks="997" in kinds, ta1="TA1" in kinds)
        allocation = self.store.allocate(partner_id, interchanges=isa, groups=gs, sets=st)
        numbers = x12_ack.from_numbers(allocation.interchanges, allocation.groups, allocation.sets)
        now, line_break = self._clock(), "\n" if profile.line_break else ""
        for kind, name in missing:
            if kind == "TA1" and ta1 is not None:
                status, note = ta1
                text = x12_ack.write_ta1(ic, note, numbers, now, status=status, line_break=line_break)
            else:
                acked_sets = {(g.control_number, t.control_number) for g in acked.groups for t in g.transactions}
                text = x12_ack.write_acks(
                    result,
                    numbers,
                    now,
                    interchange=acked,
                    rejections={k: v for k, v in (rejections or {}).items() if (k[1], k[2]) in acked_sets},
                    duplicate=duplicate,
                    application_ids=inbound.application_ids,
                    line_break=line_break,
                )
            self.files.put_outbound(partner_id, name, text)
        return keys

    # --------------------------------------------------------------------------------------------- the end
    def _finish(
        self,
        inbound: _Inbound,
        status: Literal["accepted", "partially_accepted", "rejected", "duplicate"],
        reason: str | None,
        sets: Sequence[InterchangeSet],
        acknowledgments: Sequence[str],
        *,
        claimed: bool,
    ) -> InterchangeReceipt:
        """Step 6: `edi.interchange_processed` published, then the claim finished (when this file holds it)."""
        ic, partner_id = inbound.ic, inbound.partner.partner_id
        listed, unlisted = _fit(sets)
        if unlisted:
            reason = "; ".join(x for x in (reason, f"{unlisted} more set(s) not listed") if x)
        data = EdiInterchangeProcessed(
            partner_id=partner_id,
            sender=_sender(ic),
            control_number=ic.control_number,
            object_key=inbound.object_key,
            status=status,
            reason=_cut(reason) if reason else None,
            sets=listed,
            acknowledgments=list(acknowledgments),
        )
        self._publish(data, inbound.received_at, correlation_id(partner_id, ic.control_number), ic.control_number)
        if claimed:
            self.store.finish_interchange(_sender(ic), ic.control_number, status, acknowledgments=acknowledgments)
        log = logger.info if status in ("accepted", "partially_accepted") else logger.warning
        log(
            "interchange processed",
            extra={
                "status": status,
                "reason": data.reason,
                "sets": len(sets),
                "acknowledgments": list(acknowledgments),
            },
        )
        return InterchangeReceipt(
            ic.control_number, _sender(ic), status, data.reason, tuple(sets), tuple(acknowledgments)
        )

    def _refused(self, partner_id: str | None, object_key: str, reason: str, received_at: datetime) -> InboundReceipt:
        """A file refused for good before any interchange could be judged: logged, counted and (when a partner
        is named) published as a rejected interchange without a control number."""
        logger.warning("inbound EDI file refused", extra={"object_key": object_key, "reason": reason})
        _count("EdiFileRejected")
        if partner_id is not None:
            data = EdiInterchangeProcessed(
                partner_id=partner_id,
                sender="",
                control_number="",
                object_key=object_key,
                status="rejected",
                reason=_cut(reason),
            )
            digest = hashlib.sha256(object_key.encode()).hexdigest()[:12]
            self._publish(data, received_at, f"edi-{partner_id}-{digest}", "")
        return InboundReceipt(object_key=object_key, partner_id=partner_id, status="rejected", reason=reason)

    def _publish(self, data: EdiInterchangeProcessed, received_at: datetime, correlation: str, isa13: str) -> None:
        # The same interchange of the same file always gets the same event id: consumers drop a retry's copy.
        event_id = uuid.uuid5(_EVENT_NAMESPACE, f"{data.object_key}/{data.sender}/{isa13}").hex
        envelope = Envelope[EdiInterchangeProcessed].wrap(
            data,
            source_partner=data.partner_id,
            occurred_at=received_at,
            received_at=received_at,
            correlation_id=correlation,
            event_id=event_id,
        )
        publish([envelope], self.bus_name)


@dataclass(frozen=True)
class _Inbound:
    """One interchange being processed, with what it came with."""

    partner: Partner
    profile: EdiSettings
    result: ParseResult
    ic: Interchange
    object_key: str
    received_at: datetime
    data: bytes

    @property
    def text(self) -> str:
        return decode(self.data)

    @property
    def application_ids(self) -> x12_ack.ApplicationIds:
        """The GS02/GS03 every group must carry: the partner's GS id, then ours."""
        return self.profile.gs_id, self.profile.our_gs_id


def _envelope_refusal(ic: Interchange, profile: EdiSettings) -> tuple[str | None, str]:
    """The TA105 note code and reason when the ISA is not the profile's (sender, receiver, test flag)."""
    checks = (
        (ic.sender.qualifier, profile.isa_qualifier, x12_ack.NOTE_SENDER_QUALIFIER, "ISA05 (sender qualifier)"),
        (ic.sender.id, profile.isa_id, x12_ack.NOTE_SENDER, "ISA06 (sender id)"),
        (
            ic.receiver.qualifier,
            profile.our_isa_qualifier,
            x12_ack.NOTE_RECEIVER_QUALIFIER,
            "ISA07 (receiver qualifier)",
        ),
        (ic.receiver.id, profile.our_isa_id, x12_ack.NOTE_RECEIVER, "ISA08 (receiver id)"),
    )
    for got, want, note, what in checks:
        if got.strip() != want.strip():
            return note, f"{what} is '{got}'; the partner's profile says '{want}' (TA1 {note})"
    if ic.test != profile.test:
        flag, want = ("T" if ic.test else "P"), ("T" if profile.test else "P")
        note = x12_ack.NOTE_TEST_INDICATOR
        return note, f"ISA15 (test indicator) is {flag}; the partner's profile says {want} (TA1 {note})"
    return None, ""


def _in_profile(set_id: str, profile: EdiSettings) -> bool:
    """The profile lists the set; a 999 (implementation acknowledgment, 005010X231) is taken wherever a 997 is: it
    answers the same groups we sent, and 5010 partners send one or the other."""
    listed = profile.inbound_sets
    return set_id in listed or (set_id == IMPLEMENTATION_ACK and FUNCTIONAL_ACK_SET in listed)


def _refusal(tx: Transaction, group: Group, outcome: Literal["rejected", "not_mapped"], reason: str) -> InterchangeSet:
    return InterchangeSet(
        set_id=tx.set_id,
        control_number=tx.control_number,
        group=group.control_number,
        outcome=outcome,
        reason=_cut(reason),
    )


def _map(inbound: _Inbound, group: Group, tx: Transaction) -> list[Mapped]:
    """The requests of one set (mapped alone, so that each request is known to be this set's)."""
    only = ParseResult(interchanges=[replace(inbound.ic, groups=[replace(group, transactions=[tx])])])
    profile = inbound.profile
    return to_canonical(only, location=profile.default_location, transit_days=profile.transit_days)


def _trailer_errors(inbound: _Inbound) -> list[EnvelopeError]:
    """The IEA errors of `inbound.ic`: named after its ISA13 and placed from its ISA up to the next ISA included (a
    missing IEA is reported at the ISA that came instead)."""
    ic = inbound.ic
    after = [i.position for i in inbound.result.interchanges if i.position > ic.position]
    end = min(after) if after else float("inf")
    return [
        e
        for e in inbound.result.errors
        if e.kind in x12_ack.TRAILER_NOTES and e.interchange == ic.control_number and ic.position <= e.segment <= end
    ]


def _status(sets: Sequence[InterchangeSet]) -> Literal["accepted", "partially_accepted", "rejected"]:
    taken = sum(1 for s in sets if s.outcome in ("accepted", "duplicate"))
    if taken == len(sets):
        return "accepted"
    return "partially_accepted" if taken else "rejected"


def _fit(sets: Sequence[InterchangeSet]) -> tuple[list[InterchangeSet], int]:
    """The sets that fit the event (in order), and how many did not."""
    listed: list[InterchangeSet] = []
    size = 0
    for s in sets[:2000]:
        size += len(s.model_dump_json())
        if size > MAX_EVENT_SET_BYTES:
            break
        listed.append(s)
    return listed, len(sets) - len(listed)
