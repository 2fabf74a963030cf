"""Stewardship: merging two goldens that are one supplier, splitting a record off a golden into a new one, and the
review queue of records that may belong to an existing golden. These are the steward's (`distrosync suppliers
review | merge | split`); the CLI and any later API call them.

A merge or split is one TransactWriteItems and one PutEvents; its events are kept on the goldens it writes until
published (ADR 0013), so the steward's retry after a failed publication publishes them and answers again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from shared.aws.supplier_store import Conflict, Golden, Review, Transaction
from shared.canonical.envelope import Envelope, EventData
from shared.canonical.supplier import SupplierCreated, SupplierMerged, SupplierUpdated, SupplierView
from shared.domain.errors import NotFound
from shared.domain.supplier_matching import Profile
from shared.services.supplier_master._core import ATTEMPTS, Core, event_id, new_supplier_id, parsed
from shared.services.supplier_master.views import supplier_view

STEWARD = "steward"


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
class Merged:
    supplier: SupplierView
    merged_id: str
    event_id: str | None  # None: it was merged already


@dataclass(frozen=True)
class Split:
    created: SupplierView
    remaining: SupplierView


class Stewardship(Core):
    def merge(
        self, survivor_id: str, other_id: str, *, actor: str = STEWARD, correlation_id: str | None = None
    ) -> Merged:
        """Merge `other_id` into `survivor_id`: its records and cross-references move, survivorship runs again.
        Raises MergeRefused (different tax ids), NotFound."""
        if survivor_id == other_id:
            raise ValueError("a supplier cannot be merged into itself")
        for attempt in range(ATTEMPTS):
            self._pause(attempt)
            survivor, survivor_sources = self._existing(survivor_id)
            other, other_sources = self._existing(other_id, allow_merged=True)
            left = self._flush(survivor) + self._flush(other)
            if other.merged_into == survivor_id:
                # Merged already; if its event had been left on the survivor, it is published now.
                announced = next(
                    (e.id for e in left if e.type == SupplierMerged.event_type and e.data.get("merged_id") == other_id),
                    None,
                )
                return Merged(supplier_view(survivor), other_id, announced)
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
            data = SupplierMerged(supplier=supplier_view(after), merged_id=other_id, origin_system=actor)
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
            return Merged(supplier_view(after), other_id, envelope.id)
        raise Conflict(f"{survivor_id} or {other_id} kept changing; retry")

    def split(
        self, supplier_id: str, system: str, local_id: str, *, actor: str = STEWARD, correlation_id: str | None = None
    ) -> Split:
        """Detach the record `system`/`local_id` of `supplier_id` into a new golden. Raises NotFound, NothingToSplit."""
        for attempt in range(ATTEMPTS):
            self._pause(attempt)
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
                (created, SupplierCreated(supplier=supplier_view(created), origin_system=actor))
            ]
            if diff:
                events.append(
                    (remaining, SupplierUpdated(supplier=supplier_view(remaining), changed=diff, origin_system=actor))
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
            return Split(supplier_view(created), supplier_view(remaining))
        raise Conflict(f"{supplier_id} kept changing; retry")

    def _split_already(self, golden: Golden, system: str, local_id: str) -> Split | None:
        """A split of this record whose events were left unpublished (the steward's retry): they are published
        now and the split answered again. None: the record is not there and was not split off it."""
        gid = self.store.xref(system, local_id)
        if gid is None or gid == golden.supplier_id:
            return None
        created, _ = self.store.supplier(gid)
        if created is None or not any(e.type == SupplierCreated.event_type for e in parsed(created.outbox)):
            return None
        self._flush(created)
        return Split(supplier_view(created), supplier_view(golden))

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
