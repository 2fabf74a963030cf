"""The supplier master: source records in, golden suppliers out (docs/supplier-collaboration.md, ADR 0011).

`submit` takes one system's record: it is matched (shared.domain.supplier_matching) unless the system sent it
before, the golden's attributes survive by source priority (shared.domain.supplier_survivorship), and the change is
written in one TransactWriteItems and published in one PutEvents. A record that changes no golden attribute
publishes nothing: a replay, an older version, or an ERP echoing back what it was sent all end there.

Events are kept on the golden they announce (ADR 0013): the transaction writes them on it (`outbox`, with the
answer the request got), the service publishes them, then removes them (one UpdateItem, conditioned on the version
written). A failed PutEvents (the partner gets 503) or a crash in between leaves them there; whoever touches that
golden next (the retried request, which then gets the first answer again, another record, a merge or split)
publishes them first. Event ids derive from the golden, its version and the type, so a second publication is a
duplicate consumers drop.

AWS requests of a record: one BatchGetItem (its cross-reference and match keys), one Query of the golden it joins
(none for a new supplier), one KMS Encrypt when it brings a bank account (plus one Decrypt to compare it with the
one stored for the same record), one TransactWriteItems, and when a golden changed one PutEvents and one
UpdateItem (the outbox cleared).

`merge` and `split` are the steward's (`distrosync suppliers merge | split`); the CLI and any later API call them.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from shared.aws.bus import publish
from shared.aws.field_crypto import FieldCrypto, mask
from shared.aws.supplier_store import Conflict, Golden, Lookup, Review, Source, SupplierStore, Transaction
from shared.canonical.envelope import Envelope, EventData, utcnow
from shared.canonical.partner import Partner
from shared.canonical.supplier import (
    BankAccount,
    SourceRecordView,
    SupplierCreated,
    SupplierDetail,
    SupplierMerged,
    SupplierRecord,
    SupplierUpdated,
    SupplierView,
)
from shared.domain.errors import NotFound
from shared.domain.supplier_matching import Identity, MatchResult, Profile, keys_of, match
from shared.domain.supplier_survivorship import (
    ATTRIBUTES,
    SOURCE_KINDS,
    SourceValues,
    changed,
    parse_priorities,
    survive,
)
from shared.http import problems as p
from shared.http.problems import Problem
from shared.observability import logger

ATTEMPTS = 5
BACKOFF_SECONDS = 0.02
DEFAULT_ACK_WINDOW_HOURS = 48
STEWARD = "steward"
SURVIVORSHIP_ENV = "SUPPLIER_SURVIVORSHIP"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RECORD_META = ("local_id", "sequence", "updated_at", "bank_account")

Outcome = Literal["created", "matched", "updated", "unchanged", "pending_review"]


class RequestContext(Protocol):
    @property
    def correlation_id(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...


class MergeRefused(Exception):
    """The two goldens carry different tax ids: they are different legal entities."""

    def __init__(self, survivor: str, other: str, survivor_tax: Iterable[str], other_tax: Iterable[str]) -> None:
        self.survivor, self.other = survivor, other
        self.tax_ids = {survivor: sorted(survivor_tax), other: sorted(other_tax)}
        super().__init__(
            f"{other} (tax id {', '.join(self.tax_ids[other])}) cannot be merged into {survivor} "
            f"(tax id {', '.join(self.tax_ids[survivor])}): different tax ids are different legal entities"
        )


class NothingToSplit(Exception):
    pass


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
class Merged:
    supplier: SupplierView
    merged_id: str
    event_id: str | None  # None: it was merged already


@dataclass(frozen=True)
class Split:
    created: SupplierView
    remaining: SupplierView


@dataclass(frozen=True)
class _Plan:
    """A decided change: the transaction, its events (already on the golden it writes) and the answer."""

    tx: Transaction | None
    envelopes: list[Envelope[Any]]
    result: Submitted
    carrier: Golden | None = None  # the golden written with the events: its outbox is cleared once published


def new_supplier_id(now: datetime) -> str:
    """`SUP-` + 26 Crockford base-32 characters: 48 bits of milliseconds then 80 random bits (ULID layout)."""
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "SUP-" + "".join(reversed(chars))


def event_id(supplier_id: str, version: int, event_type: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"distrosync:{supplier_id}:{version}:{event_type}").hex


class SupplierMaster:
    def __init__(
        self,
        store: SupplierStore,
        bus_name: str,
        crypto: FieldCrypto,
        *,
        priorities: dict[str, tuple[str, ...]] | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.bus_name = bus_name
        self.crypto = crypto
        self.priorities = priorities if priorities is not None else parse_priorities(os.environ.get(SURVIVORSHIP_ENV))
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------------------------------------ submit
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
            if attempt:
                self._sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))
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
                [SupplierUpdated(supplier=self.view(after), changed=diff, origin_system=partner.partner_id)]
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
        created = SupplierCreated(supplier=self.view(golden), origin_system=partner.partner_id)
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
            data = SupplierUpdated(supplier=self.view(after), changed=diff, origin_system=partner.partner_id)
            envelopes.append(self._envelope(data, partner.partner_id, meta, record))
        if diff or after.profile != golden.profile or after.winners != golden.winners:
            self._write_golden(tx, golden, after, envelopes=envelopes, result=_result(key, updated, envelopes))
        tx.put_source(gid, source)
        return _Plan(tx, envelopes, updated, after)

    # -------------------------------------------------------------------------------------------- stewardship
    def merge(
        self, survivor_id: str, other_id: str, *, actor: str = STEWARD, correlation_id: str | None = None
    ) -> Merged:
        """Merge `other_id` into `survivor_id`: its records and cross-references move, survivorship runs again.
        Raises MergeRefused (different tax ids), NotFound."""
        if survivor_id == other_id:
            raise ValueError("a supplier cannot be merged into itself")
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))
            survivor, survivor_sources = self._existing(survivor_id)
            other, other_sources = self._existing(other_id, allow_merged=True)
            left = self._flush(survivor) + self._flush(other)
            if other.merged_into == survivor_id:
                # Merged already; if its event had been left on the survivor, it is published now.
                announced = next(
                    (e.id for e in left if e.type == SupplierMerged.event_type and e.data.get("merged_id") == other_id),
                    None,
                )
                return Merged(self.view(survivor), other_id, announced)
            if other.merged_into:
                raise NotFound(f"supplier {other_id} was merged into {other.merged_into}")
            if survivor.profile.tax_ids and other.profile.tax_ids and survivor.profile.tax_ids != other.profile.tax_ids:
                raise MergeRefused(survivor_id, other_id, survivor.profile.tax_ids, other.profile.tax_ids)
            now = self._clock()
            after = self._golden(survivor, [*survivor_sources, *other_sources], now)
            retired = replace(
                other, version=other.version + 1, merged_into=survivor_id, match_keys=frozenset(),
                profile=Profile(), updated_at=now.isoformat(),
            )  # fmt: skip
            data = SupplierMerged(supplier=self.view(after), merged_id=other_id, origin_system=actor)
            envelope = Envelope.wrap(
                data,
                source_partner=actor,
                occurred_at=now,
                correlation_id=correlation_id,
                event_id=event_id(survivor_id, after.version, data.event_type),
            )
            tx = self.store.transaction()
            self._write_golden(tx, survivor, after, envelopes=[envelope])
            tx.put_golden(retired, read_version=other.version)
            for key in other.match_keys:
                tx.match_remove(key, other_id)
            for source in other_sources:
                tx.delete_source(other_id, source.key)
                tx.put_source(survivor_id, source, must_be_new=True)
                tx.put_xref(source.system, source.local_id, survivor_id, was=other_id)
            self._rewrite_reviews(tx, {other_id: survivor_id})
            try:
                tx.commit()
            except Conflict:
                continue
            self._publish([envelope], [after])
            return Merged(self.view(after), other_id, envelope.id)
        raise Conflict(f"{survivor_id} or {other_id} kept changing; retry")

    def split(
        self, supplier_id: str, system: str, local_id: str, *, actor: str = STEWARD, correlation_id: str | None = None
    ) -> Split:
        """Detach the record `system`/`local_id` of `supplier_id` into a new golden. Raises NotFound, NothingToSplit."""
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(random.uniform(0, BACKOFF_SECONDS * 2**attempt))
            golden, sources = self._existing(supplier_id)
            self._flush(golden)
            key = f"{system}#{local_id}"
            detached = next((s for s in sources if s.key == key), None)
            if detached is None:
                done = self._split_already(golden, system, local_id)
                if done is not None:
                    return done
                raise NotFound(f"supplier {supplier_id} has no record {system}:{local_id}")
            if len(sources) == 1:
                raise NothingToSplit(f"{system}:{local_id} is the only record of {supplier_id}: nothing to split")
            now = self._clock()
            new_id = new_supplier_id(now)
            created = self._golden(None, [detached], now, supplier_id=new_id)
            remaining = self._golden(golden, [s for s in sources if s.key != key], now)
            diff = self._diff(golden, remaining)
            events: list[tuple[Golden, EventData]] = [
                (created, SupplierCreated(supplier=self.view(created), origin_system=actor))
            ]
            if diff:
                events.append(
                    (remaining, SupplierUpdated(supplier=self.view(remaining), changed=diff, origin_system=actor))
                )
            envelopes = {
                g.supplier_id: Envelope.wrap(
                    data,
                    source_partner=actor,
                    occurred_at=now,
                    correlation_id=correlation_id,
                    event_id=event_id(g.supplier_id, g.version, data.event_type),
                )
                for g, data in events
            }
            tx = self.store.transaction()
            for before, after in ((None, created), (golden, remaining)):
                carried = [envelopes[after.supplier_id]] if after.supplier_id in envelopes else []
                self._write_golden(tx, before, after, envelopes=carried)
            tx.delete_source(supplier_id, key)
            tx.put_source(new_id, detached, must_be_new=True)
            tx.put_xref(system, local_id, new_id, was=supplier_id)
            try:
                tx.commit()
            except Conflict:
                continue
            self._publish(list(envelopes.values()), [g for g, _ in events])
            return Split(self.view(created), self.view(remaining))
        raise Conflict(f"{supplier_id} kept changing; retry")

    def _split_already(self, golden: Golden, system: str, local_id: str) -> Split | None:
        """A split of this record whose events were left unpublished (the steward's retry): they are published
        now and the split answered again. None: the record is not there and was not split off it."""
        gid = self.store.xref(system, local_id)
        if gid is None or gid == golden.supplier_id:
            return None
        created, _ = self.store.supplier(gid)
        if created is None or not any(e.type == SupplierCreated.event_type for e in _parsed(created.outbox)):
            return None
        self._flush(created)
        return Split(self.view(created), self.view(golden))

    def reviews(self) -> list[Review]:
        return self.store.reviews()

    def _rewrite_reviews(self, tx: Transaction, renamed: dict[str, str]) -> None:
        """Reviews naming a merged golden name its survivor; a review left comparing a golden with itself is done."""
        for review in self.store.reviews():
            subject = renamed.get(review.supplier_id, review.supplier_id)
            candidates: dict[str, list[str]] = {}
            for gid, reasons in review.candidates.items():
                target = renamed.get(gid, gid)
                if target != subject:
                    candidates.setdefault(target, []).extend(r for r in reasons if r not in candidates.get(target, []))
            if subject == review.supplier_id and candidates == review.candidates:
                continue
            tx.delete_review(review.sk)
            if candidates:
                tx.put_review(replace(review, supplier_id=subject, candidates=candidates))

    # ------------------------------------------------------------------------------------------------ reads
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
                    supplier=self.view(golden),
                    requested_id=supplier_id,
                    merged_ids=merged,
                    sources=[self._source_view(s, golden) for s in sorted(sources, key=lambda s: s.key)],
                )
            merged.append(current)
            current = golden.merged_into
        raise NotFound(f"supplier {supplier_id}: too many merges to follow")

    def view(self, golden: Golden) -> SupplierView:
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

    @staticmethod
    def _source_view(source: Source, golden: Golden) -> SourceRecordView:
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

    # -------------------------------------------------------------------------------------------- internals
    def _current(self, supplier_id: str) -> tuple[Golden, list[Source]]:
        golden, sources = self.store.supplier(supplier_id)
        if golden is None or golden.merged_into:
            raise Conflict(f"supplier {supplier_id} is gone or merged")  # a stale match key: read again
        return golden, sources

    def _existing(self, supplier_id: str, *, allow_merged: bool = False) -> tuple[Golden, list[Source]]:
        golden, sources = self.store.supplier(supplier_id)
        if golden is None:
            raise NotFound(f"no supplier {supplier_id}")
        if golden.merged_into and not allow_merged:
            raise NotFound(f"supplier {supplier_id} was merged into {golden.merged_into}")
        return golden, sources

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

    def _golden(
        self, before: Golden | None, sources: Sequence[Source], now: datetime, *, supplier_id: str | None = None
    ) -> Golden:
        survived = survive([_values(s) for s in sources], self.priorities)
        profile = Profile.of(identity_of_stored(s) for s in sources)
        xrefs: dict[str, tuple[str, str]] = {}
        for s in sorted(sources, key=lambda s: (s.as_of, s.local_id)):
            xrefs[s.system] = (s.as_of, s.local_id)  # a system with two records of one supplier: its latest
        gid = before.supplier_id if before else supplier_id
        assert gid is not None
        return Golden(
            supplier_id=gid,
            version=(before.version + 1) if before else 1,
            values=survived.values,
            winners=survived.winners,
            cross_references={system: local for system, (_, local) in sorted(xrefs.items())},
            profile=profile,
            match_keys=keys_of(profile),
            created_at=before.created_at if before else now.isoformat(),
            updated_at=now.isoformat(),
        )

    @staticmethod
    def _diff(before: Golden, after: Golden) -> list[str]:
        diff = changed(before.values, after.values)
        if before.cross_references != after.cross_references:
            diff.append("cross_references")
        return diff

    @staticmethod
    def _write_golden(
        tx: Transaction,
        before: Golden | None,
        after: Golden,
        *,
        envelopes: Sequence[Envelope[Any]] = (),
        result: str | None = None,
    ) -> None:
        """`after` over `before` (as read) with its match keys, carrying the events of the change about it."""
        outbox = tuple(e.model_dump_json() for e in envelopes)
        tx.put_golden(after, read_version=before.version if before else None, outbox=outbox, result=result)
        old_keys = before.match_keys if before else frozenset()
        for key in after.match_keys:
            if before is None or key not in old_keys or before.profile != after.profile:
                tx.match_set(key, after.supplier_id, after.profile)
        for key in old_keys - after.match_keys:
            tx.match_remove(key, after.supplier_id)

    def _flush(self, golden: Golden) -> list[Envelope[Any]]:
        """Publish the events a change left on `golden` (its PutEvents failed, or its writer stopped before it),
        then remove them. Called before anything is written over the golden, which would replace them."""
        if not golden.outbox:
            return []
        envelopes = _parsed(golden.outbox)
        logger.info(
            "publishing events left on a golden supplier",
            extra={
                "supplier_id": golden.supplier_id,
                "version": golden.version,
                "event_ids": [e.id for e in envelopes],
            },
        )
        publish(envelopes, self.bus_name)
        self.store.clear_outbox(golden.supplier_id, golden.version)
        return envelopes

    def _publish(self, envelopes: Sequence[Envelope[Any]], carriers: Sequence[Golden]) -> None:
        """Publish a committed change's events (one PutEvents up to 10), then remove them from the goldens that
        carry them; if the publication fails they stay there for the next writer of those goldens."""
        publish(envelopes, self.bus_name)
        for golden in carriers:
            self.store.clear_outbox(golden.supplier_id, golden.version)

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


# ------------------------------------------------------------------------------------------------ helpers
def _parsed(outbox: Sequence[str]) -> list[Envelope[Any]]:
    return [Envelope[Any].model_validate_json(text) for text in outbox]


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


def identity_of_stored(source: Source) -> Identity:
    record = source.record
    address = record.get("address") or {}
    return Identity.of(
        legal_name=record["legal_name"],
        trading_name=record.get("trading_name"),
        tax_id=record.get("tax_id"),
        duns=record.get("duns"),
        country=address.get("country"),
        postal_code=address.get("postal_code"),
        line1=address.get("line1"),
    )


def _values(source: Source) -> SourceValues:
    values = {a: source.record.get(a) for a in ATTRIBUTES}
    values["bank_account"] = source.bank_account
    return SourceValues(key=source.key, kind=source.kind, as_of=datetime.fromisoformat(source.as_of), values=values)


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
