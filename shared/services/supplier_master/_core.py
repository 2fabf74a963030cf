"""What the supplier master's parts share: the service's state (store, bus, field crypto, survivorship priorities
from `SUPPLIER_SURVIVORSHIP`), reading a golden with its source records, recomputing a golden from its records, and
the events kept on a golden until they are published (ADR 0013).

Events are kept on the golden they announce (ADR 0013): the transaction writes them on it (`outbox`, with the
answer the request got), the service publishes them, then removes them (one UpdateItem, conditioned on the version
written). A failed PutEvents (the partner gets 503) or a crash in between leaves them there; whoever touches that
golden next (the retried request, which then gets the first answer again, another record, a merge or split)
publishes them first (`_flush`). Event ids derive from the golden, its version and the type, so a second
publication is a duplicate consumers drop.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from shared.aws.bus import publish
from shared.aws.field_crypto import FieldCrypto
from shared.aws.supplier_store import Conflict, Golden, Source, SupplierStore, Transaction
from shared.canonical.envelope import Envelope, utcnow
from shared.domain.backoff import full_jitter
from shared.domain.errors import NotFound
from shared.domain.supplier_matching import Identity, Profile, keys_of
from shared.domain.supplier_survivorship import ATTRIBUTES, SourceValues, changed, parse_priorities, survive
from shared.observability import logger

ATTEMPTS = 5
SURVIVORSHIP_ENV = "SUPPLIER_SURVIVORSHIP"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


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


def parsed(outbox: Sequence[str]) -> list[Envelope[Any]]:
    """The envelopes kept in a golden's outbox."""
    return [Envelope[Any].model_validate_json(text) for text in outbox]


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


class Core:
    """The state and the golden-level operations the intake, stewardship and reads share."""

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

    def _pause(self, attempt: int) -> None:
        """Before a retry after a conflicting write: jittered exponential backoff (none before the first try)."""
        if attempt:
            self._sleep(full_jitter(attempt))

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
        envelopes = parsed(golden.outbox)
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


def _values(source: Source) -> SourceValues:
    values = {a: source.record.get(a) for a in ATTRIBUTES}
    values["bank_account"] = source.bank_account
    return SourceValues(key=source.key, kind=source.kind, as_of=datetime.fromisoformat(source.as_of), values=values)
