"""Record intake: one system's record of a supplier in, its golden supplier changed (docs/supplier-collaboration.md,
ADR 0011).

`submit` takes one system's record: it is matched (shared.domain.supplier_matching) unless the system sent it
before, the golden's attributes survive by source priority (shared.domain.supplier_survivorship), and the change is
written in one TransactWriteItems and published in one PutEvents. A record that changes no golden attribute
publishes nothing: a replay, an older version, or an ERP echoing back what it was sent all end there.

The answer is kept with the events left on the golden (ADR 0013): the retried request of a failed PutEvents gets the
first answer again once they are published.

AWS requests of a record: one BatchGetItem (its cross-reference and match keys), one Query of the golden it joins
(none for a new supplier), one KMS Encrypt when it brings a bank account (plus one Decrypt to compare it with the
one stored for the same record), one TransactWriteItems, and when a golden changed one PutEvents and one
UpdateItem (the outbox cleared).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from shared.aws.field_crypto import mask
from shared.aws.supplier_store import Conflict, Golden, Lookup, Review, Source, Transaction
from shared.canonical.envelope import Envelope, EventData
from shared.canonical.partner import Partner
from shared.canonical.supplier import BankAccount, SupplierCreated, SupplierRecord, SupplierUpdated
from shared.domain.supplier_matching import Identity, MatchResult, Profile, keys_of, match
from shared.domain.supplier_survivorship import SOURCE_KINDS
from shared.http import problems as p
from shared.http.problems import Problem
from shared.services.supplier_master._core import ATTEMPTS, Core, event_id, new_supplier_id
from shared.services.supplier_master.views import supplier_view

_RECORD_META = ("local_id", "sequence", "updated_at", "bank_account")

Outcome = Literal["created", "matched", "updated", "unchanged", "pending_review"]


class RequestContext(Protocol):
    @property
    def correlation_id(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...


@dataclass(frozen=True)
class Submitted:
    supplier_id: str
    outcome: Outcome
    changed: list[str]
    superseded: bool = False
    review_id: str | None = None
    candidates: dict[str, list[str]] | None = None  # pending_review: golden id -> reasons
    event_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Plan:
    """A decided change: the transaction, its events (already on the golden it writes) and the answer."""

    tx: Transaction | None
    envelopes: list[Envelope[Any]]
    result: Submitted
    carrier: Golden | None = None  # the golden written with the events: its outbox is cleared once published


class Intake(Core):
    def submit(self, record: SupplierRecord, partner: Partner, meta: RequestContext) -> Submitted:
        """Take `partner`'s own record of a supplier. Raises Problem(out-of-scope) for a partner that is not an
        ERP, finance, procurement or quality system."""
        if partner.kind not in SOURCE_KINDS:
            raise Problem(
                p.OUT_OF_SCOPE,
                f"partner '{partner.partner_id}' ({partner.kind}) may not send supplier records: only "
                f"{', '.join(SOURCE_KINDS)} systems may",
                {"scope": "kind:" + "|".join(SOURCE_KINDS)},
            )
        identity = identity_of(record)
        keys = keys_of(Profile.of([identity]))
        for attempt in range(ATTEMPTS):
            self._pause(attempt)
            lookup = self.store.lookup(partner.partner_id, record.local_id, keys)
            try:
                plan = (
                    self._plan_known(lookup.xref, record, partner, meta)
                    if lookup.xref
                    else self._plan_new(lookup, identity, record, partner, meta)
                )
                if plan.tx is not None:
                    plan.tx.commit()
            except Conflict:
                continue
            if not plan.envelopes:
                return plan.result
            self._publish(plan.envelopes, [plan.carrier] if plan.carrier else [])
            return replace(plan.result, event_ids=tuple(e.id for e in plan.envelopes))
        raise Problem(
            p.UNAVAILABLE, "the supplier master is busy with this supplier; retry", headers={"Retry-After": "1"}
        )

    def _plan_new(
        self, lookup: Lookup, identity: Identity, record: SupplierRecord, partner: Partner, meta: RequestContext
    ) -> _Plan:
        decision: MatchResult = match(identity, lookup.candidates())
        now = self._clock()
        tx = self.store.transaction()
        for key, entry in lookup.keys.items():
            tx.match_unchanged_since(key, entry.version)
        if decision.outcome == "matched":
            assert decision.supplier_id is not None
            golden, sources = self._current(decision.supplier_id)
            self._flush(golden)
            source = self._source(record, partner, now, previous=None, supplier_id=golden.supplier_id)
            after = self._golden(golden, [*sources, source], now)
            diff = self._diff(golden, after)
            events: list[EventData] = (
                [SupplierUpdated(supplier=supplier_view(after), changed=diff, origin_system=partner.partner_id)]
                if diff
                else []
            )
            matched = Submitted(after.supplier_id, "matched", diff)
            envelopes = [self._envelope(e, partner.partner_id, meta, record) for e in events]
            self._write_golden(tx, golden, after, envelopes=envelopes, result=_result(source.key, matched, envelopes))
            tx.put_source(after.supplier_id, source, must_be_new=True)
            tx.put_xref(partner.partner_id, record.local_id, after.supplier_id, was=None)
            return _Plan(tx, envelopes, matched, after)

        gid = new_supplier_id(now)
        source = self._source(record, partner, now, previous=None, supplier_id=gid)
        golden = self._golden(None, [source], now, supplier_id=gid)
        tx.put_source(gid, source, must_be_new=True)
        tx.put_xref(partner.partner_id, record.local_id, gid, was=None)
        created = SupplierCreated(supplier=supplier_view(golden), origin_system=partner.partner_id)
        if decision.outcome == "pending_review":
            review = Review(
                review_id=uuid.uuid4().hex[:12],
                created_at=now.isoformat(),
                supplier_id=gid,
                record=source.key,
                candidates={c.supplier_id: list(c.reasons) for c in decision.candidates},
            )
            tx.put_review(review)
            result = Submitted(gid, "pending_review", [], review_id=review.review_id, candidates=review.candidates)
        else:
            result = Submitted(gid, "created", [])
        envelopes = [self._envelope(created, partner.partner_id, meta, record)]
        self._write_golden(tx, None, golden, envelopes=envelopes, result=_result(source.key, result, envelopes))
        return _Plan(tx, envelopes, result, golden)

    def _plan_known(self, gid: str, record: SupplierRecord, partner: Partner, meta: RequestContext) -> _Plan:
        golden, sources = self._current(gid)
        key = f"{partner.partner_id}#{record.local_id}"
        previous = next((s for s in sources if s.key == key), None)
        if previous is None:
            raise Conflict(f"cross-reference {key} points at {gid}, which has no such record")
        answer = _kept_result(golden, key)
        self._flush(golden)
        if not _newer(record, previous):
            if answer is not None and not _older(record, previous):
                return _Plan(None, [], answer)  # the retry of the request whose events were left on the golden
            return _Plan(None, [], Submitted(gid, "unchanged", [], superseded=_older(record, previous)))
        now = self._clock()
        source = self._source(record, partner, now, previous=previous, supplier_id=gid)
        tx = self.store.transaction()
        if source.record == previous.record and source.bank_account == previous.bank_account:
            tx.put_source(gid, source)  # only its version moves on: an older one arriving later stays superseded
            return _Plan(tx, [], Submitted(gid, "unchanged", []))
        after = self._golden(golden, [*(s for s in sources if s.key != key), source], now)
        diff = self._diff(golden, after)
        updated = Submitted(gid, "updated", diff)
        envelopes: list[Envelope[Any]] = []
        if diff:
            data = SupplierUpdated(supplier=supplier_view(after), changed=diff, origin_system=partner.partner_id)
            envelopes.append(self._envelope(data, partner.partner_id, meta, record))
        if diff or after.profile != golden.profile or after.winners != golden.winners:
            self._write_golden(tx, golden, after, envelopes=envelopes, result=_result(key, updated, envelopes))
        tx.put_source(gid, source)
        return _Plan(tx, envelopes, updated, after)

    def _source(
        self, record: SupplierRecord, partner: Partner, now: datetime, *, previous: Source | None, supplier_id: str
    ) -> Source:
        key = f"{partner.partner_id}/{record.local_id}"
        bank: dict[str, str] | None = None
        if record.bank_account is not None:
            bank = self._sealed(record.bank_account, key, previous)
        updated_at = record.updated_at.isoformat() if record.updated_at else None
        return Source(
            system=partner.partner_id,
            local_id=record.local_id,
            kind=partner.kind,
            sequence=record.sequence,
            updated_at=updated_at,
            as_of=updated_at or now.isoformat(),
            received_at=now.isoformat(),
            record=record.model_dump(mode="json", exclude=set(_RECORD_META), exclude_none=True),
            bank_account=bank,
        )

    def _sealed(self, account: BankAccount, record_key: str, previous: Source | None) -> dict[str, str]:
        """The account encrypted for the record; the stored ciphertext again when the account did not change
        (so an unchanged account is not a change)."""
        plaintext = account.model_dump_json(exclude_none=True)
        old = previous.bank_account if previous else None
        if (
            old
            and old.get("record") == record_key
            and self.crypto.decrypt(old["ciphertext"], record=record_key) == plaintext
        ):
            return old
        ciphertext = self.crypto.encrypt(plaintext, record=record_key)
        return {"ciphertext": ciphertext, "masked": mask(account.number), "record": record_key}

    def _envelope(
        self, data: EventData, partner_id: str, meta: RequestContext, record: SupplierRecord
    ) -> Envelope[Any]:
        supplier = data.supplier  # type: ignore[attr-defined]
        return Envelope.wrap(
            data,
            source_partner=partner_id,
            occurred_at=record.updated_at or meta.received_at,
            correlation_id=meta.correlation_id,
            causation_id=meta.request_id,
            received_at=meta.received_at,
            event_id=event_id(supplier.supplier_id, supplier.version, data.event_type),
        )


def identity_of(record: SupplierRecord) -> Identity:
    address = record.address
    return Identity.of(
        legal_name=record.legal_name,
        trading_name=record.trading_name,
        tax_id=record.tax_id,
        duns=record.duns,
        country=address.country if address else None,
        postal_code=address.postal_code if address else None,
        line1=address.line1 if address else None,
    )


def _result(record_key: str, submitted: Submitted, envelopes: Sequence[Envelope[Any]]) -> str:
    """What a retry of the request that made this change is answered while its events wait on the golden."""
    answer = replace(submitted, event_ids=tuple(e.id for e in envelopes))
    return json.dumps({"record": record_key, **asdict(answer)}, separators=(",", ":"))


def _kept_result(golden: Golden, record_key: str) -> Submitted | None:
    """The answer kept with the golden's unpublished events, if the record `record_key` made that change."""
    if not golden.outbox or not golden.outbox_result:
        return None
    kept = json.loads(golden.outbox_result)
    if kept.pop("record") != record_key:
        return None
    kept["event_ids"] = tuple(kept.get("event_ids") or ())
    return Submitted(**kept)


def _newer(record: SupplierRecord, previous: Source) -> bool:
    """Is `record` a later version than the one stored? Sequences are compared when both have one, else the
    system's timestamps; a record that cannot be ordered against the stored one (the system switched from one to
    the other) is taken."""
    if record.sequence is not None and previous.sequence is not None:
        return record.sequence > previous.sequence
    if record.updated_at is not None and previous.updated_at is not None:
        return record.updated_at > datetime.fromisoformat(previous.updated_at)
    return True


def _older(record: SupplierRecord, previous: Source) -> bool:
    if record.sequence is not None and previous.sequence is not None:
        return record.sequence < previous.sequence
    if record.updated_at is not None and previous.updated_at is not None:
        return record.updated_at < datetime.fromisoformat(previous.updated_at)
    return False
