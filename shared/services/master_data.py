"""Item and location master: the ERP writes it (`PUT /v1/items/{sku}`, `PUT /v1/locations/{code}`), every
inventory input is checked against it (unknown SKU, unknown location, unit of measure without conversion).

Reads on the request path go through a per-process cache (60 s for records found, 5 s for absent ones) and
cost at most one BatchGetItem per request for up to 100 keys: items and locations share the inventory table,
so one call fetches both. A write in this process updates the cache at once; other processes see it when
their entry expires (an item created a moment ago may be unknown elsewhere for up to `NEGATIVE_TTL_SECONDS`).

Writes are ordered by the ERP's `sequence` (an older or equal one is `stale`) and publish `item.updated` /
`location.updated`. The envelope is stored with the record (`outbox`) and removed once published, so an event
that could not be published is published by the next write that reads the record (e.g. the ERP's retry).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from shared.aws.bus import publish
from shared.aws.master_store import CrossReferenceTaken, GlnTaken, MasterStore, Superseded, Versioned
from shared.canonical.envelope import Envelope
from shared.canonical.items import EACH, Item, ItemUpdated, Location, LocationUpdated
from shared.canonical.partner import Partner
from shared.http import problems as p
from shared.http.problems import Problem

POSITIVE_TTL_SECONDS = 60.0
NEGATIVE_TTL_SECONDS = 5.0
CACHE_MAX_ENTRIES = 20_000
WRITE_ATTEMPTS = 3

R = TypeVar("R", Item, Location)
B = TypeVar("B", bound=BaseModel)
_GLN = re.compile(r"\d{13}")
WriteStatus = Literal["created", "updated", "stale"]


class RequestContext(Protocol):
    """What a write needs to know about the request (shared.services.inventory_ingest.RequestMeta fits)."""

    @property
    def correlation_id(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...


@dataclass(frozen=True)
class Need:
    """One reference a request makes to master data. `at` is the JSON pointer of the object holding the
    `sku`, `location` and `unit` fields ("" for the body itself, "/lines/3" for a line): problems name it."""

    sku: str | None = None
    location: str | None = None
    unit: str | None = None
    at: str = ""


@dataclass(frozen=True)
class Resolved:
    items: dict[str, Item]
    locations: dict[str, Location]

    def eaches(self, sku: str, quantity: int, unit: str, *, at: str = "") -> int:
        return MasterData.eaches(self.items[sku], quantity, unit, at=at)


@dataclass(frozen=True)
class Written(Generic[R]):
    status: WriteStatus
    stored: Versioned[R]
    event_id: str | None


@dataclass
class _TtlCache:
    """Present values for `positive` seconds, absences (None) for `negative` seconds; oldest entries go first."""

    positive: float
    negative: float
    max_entries: int
    clock: Callable[[], float]
    _entries: OrderedDict[tuple[str, ...], tuple[float, Any]] = field(default_factory=OrderedDict)

    def get(self, key: tuple[str, ...]) -> tuple[bool, Any]:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self.clock():
            return False, None
        return True, entry[1]

    def put(self, key: tuple[str, ...], value: Any) -> None:
        ttl = self.positive if value is not None else self.negative
        self._entries.pop(key, None)
        self._entries[key] = (self.clock() + ttl, value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def may_write_master(partner: Partner) -> bool:
    return partner.kind == "erp" or "*" in partner.scopes


def _error(pointer: str, message: str, kind: p.ProblemKind, **extra: Any) -> dict[str, Any]:
    return {"in": "body", "pointer": pointer or "/", "message": message, "code": kind.slug, **extra}


class MasterData:
    def __init__(
        self,
        store: MasterStore,
        *,
        bus_name: str,
        clock: Callable[[], float] = time.monotonic,
        positive_ttl: float = POSITIVE_TTL_SECONDS,
        negative_ttl: float = NEGATIVE_TTL_SECONDS,
    ) -> None:
        self.store = store
        self.bus_name = bus_name
        self._cache = _TtlCache(positive_ttl, negative_ttl, CACHE_MAX_ENTRIES, clock)

    # ------------------------------------------------------------------------------------------- lookups
    def lookup(self, skus: Iterable[str] = (), locations: Iterable[str] = ()) -> Resolved:
        """The known items and locations among those asked; what is not cached costs one BatchGetItem."""
        items: dict[str, Item] = {}
        found: dict[str, Location] = {}
        missing_skus: list[str] = []
        missing_locations: list[str] = []
        for sku in dict.fromkeys(skus):
            hit, value = self._cache.get(("item", sku))
            if not hit:
                missing_skus.append(sku)
            elif value is not None:
                items[sku] = value
        for code in dict.fromkeys(locations):
            hit, value = self._cache.get(("location", code))
            if not hit:
                missing_locations.append(code)
            elif value is not None:
                found[code] = value
        if missing_skus or missing_locations:
            stored_items, stored_locations = self.store.read(missing_skus, missing_locations)
            for sku in missing_skus:
                stored_item = stored_items.get(sku)
                self._cache.put(("item", sku), stored_item.record if stored_item else None)
                if stored_item:
                    items[sku] = stored_item.record
            for code in missing_locations:
                stored_location = stored_locations.get(code)
                self._cache.put(("location", code), stored_location.record if stored_location else None)
                if stored_location:
                    found[code] = stored_location.record
        return Resolved(items, found)

    def items(self, skus: Iterable[str]) -> dict[str, Item]:
        return self.lookup(skus=skus).items

    def locations(self, codes: Iterable[str]) -> dict[str, Location]:
        return self.lookup(locations=codes).locations

    def skus_for(self, system: str, external_ids: Iterable[str]) -> dict[str, str]:
        """Cross-references of `system` (e.g. a channel's inventory item ids) -> our SKUs, for those that exist."""

        def fetch(ids: list[str]) -> dict[str, str]:
            found = self.store.cross_references((system, i) for i in ids)
            return {external_id: sku for (_, external_id), sku in found.items()}

        return self._cached(("xref", system), external_ids, fetch)

    def location_codes(self, identifiers: Iterable[str]) -> dict[str, str]:
        """Each location identifier -> its location code: a known code is itself; a GLN (13 digits) that is not a
        code resolves through the location master's GLNs; anything else is left as given (and later refused as
        unknown). Costs nothing for identifiers that cannot be GLNs."""
        wanted = list(dict.fromkeys(identifiers))
        shaped = [i for i in wanted if _GLN.fullmatch(i)]  # only these can be a GLN: no lookup for the others
        known = self.lookup(locations=shaped).locations if shaped else {}
        glns = [i for i in shaped if i not in known]
        return {i: i for i in wanted} | self._cached(("gln",), glns, self.store.locations_by_gln)

    def _cached(
        self, kind: tuple[str, ...], keys: Iterable[str], fetch: Callable[[list[str]], dict[str, str]]
    ) -> dict[str, str]:
        """`key -> value` for the keys that have one: cached ones from the cache (absences too), the rest from
        one `fetch` call."""
        out: dict[str, str] = {}
        missing: list[str] = []
        for key in dict.fromkeys(keys):
            hit, value = self._cache.get((*kind, key))
            if not hit:
                missing.append(key)
            elif value is not None:
                out[key] = value
        if missing:
            found = fetch(missing)
            for key in missing:
                self._cache.put((*kind, key), found.get(key))
                if key in found:
                    out[key] = found[key]
        return out

    def with_location_codes(self, body: B) -> B:
        """`body` with every `location` (top level and in `lines`) given by GLN replaced by its code, so that
        scopes, events and positions always name locations by code."""
        identifiers = [body.location] if isinstance(getattr(body, "location", None), str) else []
        lines = getattr(body, "lines", None) or []
        identifiers += [line.location for line in lines if isinstance(getattr(line, "location", None), str)]
        if not identifiers:
            return body
        codes = self.location_codes(identifiers)
        if all(codes[i] == i for i in identifiers):
            return body
        update: dict[str, Any] = {}
        if isinstance(getattr(body, "location", None), str):
            update["location"] = codes[body.location]  # type: ignore[attr-defined]
        if lines and any(isinstance(getattr(line, "location", None), str) for line in lines):
            update["lines"] = [line.model_copy(update={"location": codes[line.location]}) for line in lines]
        return body.model_copy(update=update)

    # -------------------------------------------------------------------------------------------- checks
    def require(self, needs: Sequence[Need]) -> Resolved:
        """Every location, SKU and unit named must be known, or the matching problem names all offenders:
        `unknown-location` first, then `unknown-sku`, then `unknown-unit-of-measure`."""
        resolved = self.lookup((n.sku for n in needs if n.sku), (n.location for n in needs if n.location))
        locations = [
            (f"{n.at}/location", n.location) for n in needs if n.location and n.location not in resolved.locations
        ]
        if locations:
            _refuse_unknown(p.UNKNOWN_LOCATION, "location", "locations", locations)
        skus = [(f"{n.at}/sku", n.sku) for n in needs if n.sku and n.sku not in resolved.items]
        if skus:
            _refuse_unknown(p.UNKNOWN_SKU, "SKU", "skus", skus)
        units = [
            (f"{n.at}/unit", resolved.items[n.sku], n.unit)
            for n in needs
            if n.sku and n.unit and resolved.items[n.sku].eaches(1, n.unit) is None
        ]
        if units:
            _refuse_units(units)
        return resolved

    def require_items(self, skus: Iterable[str]) -> dict[str, Item]:
        return self.require([Need(sku=s) for s in dict.fromkeys(skus)]).items

    def require_locations(self, codes: Iterable[str]) -> dict[str, Location]:
        return self.require([Need(location=c) for c in dict.fromkeys(codes)]).locations

    @staticmethod
    def eaches(item: Item, quantity: int, unit: str, *, at: str = "") -> int:
        """`quantity` of `unit` in eaches; `unknown-unit-of-measure` when the item has no such conversion."""
        converted = item.eaches(quantity, unit)
        if converted is None:
            _refuse_units([(f"{at}/unit", item, unit)])
        return converted  # type: ignore[return-value]

    # ----------------------------------------------------------------------------------------- the master
    def get_item(self, sku: str) -> Versioned[Item] | None:
        return self.store.item(sku)

    def get_location(self, code: str) -> Versioned[Location] | None:
        return self.store.location(code)

    def put_item(self, item: Item, sequence: int, *, partner: Partner, meta: RequestContext) -> Written[Item]:
        def write(stored: Versioned[Item], previous: Versioned[Item] | None) -> None:
            try:
                self.store.put_item(stored, previous)
            except CrossReferenceTaken as exc:
                raise Problem(
                    p.CONFLICT,
                    str(exc),
                    {"cross_reference": {"system": exc.system, "id": exc.external_id}, "sku": exc.sku},
                ) from None
            except ValueError as exc:
                raise Problem(p.VALIDATION_FAILED, str(exc)) from None

        def written(previous: Versioned[Item] | None) -> None:
            for ref in previous.record.cross_references if previous else ():
                self._cache.put(("xref", ref.system, ref.id), None)
            for ref in item.cross_references:
                self._cache.put(("xref", ref.system, ref.id), item.sku)

        return self._put(
            ("item", item.sku),
            item,
            ItemUpdated(item=item, sequence=sequence),
            partner=partner,
            meta=meta,
            read=self.store.item,
            write=write,
            clear=self.store.clear_item_outbox,
            written=written,
        )

    def put_location(
        self, location: Location, sequence: int, *, partner: Partner, meta: RequestContext
    ) -> Written[Location]:
        def write(stored: Versioned[Location], previous: Versioned[Location] | None) -> None:
            try:
                self.store.put_location(stored, previous)
            except GlnTaken as exc:
                raise Problem(p.CONFLICT, str(exc), {"gln": exc.gln, "location": exc.location}) from None

        def written(previous: Versioned[Location] | None) -> None:
            if previous and previous.record.gln and previous.record.gln != location.gln:
                self._cache.put(("gln", previous.record.gln), None)
            if location.gln:
                self._cache.put(("gln", location.gln), location.code)

        return self._put(
            ("location", location.code),
            location,
            LocationUpdated(location=location, sequence=sequence),
            partner=partner,
            meta=meta,
            read=self.store.location,
            write=write,
            clear=self.store.clear_location_outbox,
            written=written,
        )

    def _put(
        self,
        cache_key: tuple[str, str],
        record: R,
        data: ItemUpdated | LocationUpdated,
        *,
        partner: Partner,
        meta: RequestContext,
        read: Callable[[str], Versioned[R] | None],
        write: Callable[[Versioned[R], Versioned[R] | None], None],
        clear: Callable[[str, int], None],
        written: Callable[[Versioned[R] | None], None],
    ) -> Written[R]:
        """Write a master record over the version read, ordered by the ERP's sequence, then publish its event
        (stored with it until published) and update this process's cache."""
        _check_writer(partner)
        kind, key = cache_key
        for _ in range(WRITE_ATTEMPTS):
            previous = read(key)
            flushed = self._flush(previous, clear, type(data)) if previous else None
            if previous and data.sequence <= previous.sequence:
                self._cache.put(cache_key, previous.record)
                return _stale_or_completed(previous, record, data.sequence, flushed)
            envelope = _envelope(data, partner, meta)
            stored = Versioned(record, data.sequence, meta.received_at, partner.partner_id, envelope.model_dump_json())
            try:
                write(stored, previous)
            except Superseded:
                continue
            self._publish(envelope, lambda: clear(key, data.sequence))
            self._cache.put(cache_key, record)
            written(previous)
            return Written("created" if previous is None else "updated", replace(stored, outbox=None), envelope.id)
        raise _busy(kind, key)

    def _publish(self, envelope: Envelope[Any], cleared: Callable[[], None]) -> None:
        publish([envelope], self.bus_name)
        cleared()

    def _flush(
        self, stored: Versioned[Any], clear: Callable[[str, int], None], data_type: type[ItemUpdated | LocationUpdated]
    ) -> str | None:
        """Publish the event a record still owes (an earlier write stored it but could not publish it)."""
        if stored.outbox is None:
            return None
        envelope = Envelope[data_type].model_validate_json(stored.outbox)  # type: ignore[valid-type]
        key = stored.record.sku if isinstance(stored.record, Item) else stored.record.code
        self._publish(envelope, lambda: clear(key, stored.sequence))
        return envelope.id


def _stale_or_completed(previous: Versioned[R], record: R, sequence: int, flushed: str | None) -> Written[R]:
    """An older or equal version is stale, unless it is the very version whose owed event was just published:
    then this request (a retry) completes the earlier one."""
    if flushed and previous.sequence == sequence and previous.record == record:
        return Written("updated", replace(previous, outbox=None), flushed)
    return Written("stale", replace(previous, outbox=None), None)


def _envelope(data: ItemUpdated | LocationUpdated, partner: Partner, meta: RequestContext) -> Envelope[Any]:
    return Envelope[type(data)].wrap(  # type: ignore[misc]
        data,
        source_partner=partner.partner_id,
        occurred_at=meta.received_at,
        received_at=meta.received_at,
        correlation_id=meta.correlation_id,
        causation_id=meta.request_id or None,
    )


def _check_writer(partner: Partner) -> None:
    if not may_write_master(partner):
        raise Problem(
            p.OUT_OF_SCOPE,
            f"partner '{partner.partner_id}' ({partner.kind}) may not write master data: only ERP partners may",
            {"scope": "kind:erp"},
        )


def _busy(what: str, key: str) -> Problem:
    return Problem(
        p.CONFLICT, f"the {what} '{key}' kept changing while being written; retry", headers={"Retry-After": "1"}
    )


def _refuse_unknown(kind: p.ProblemKind, noun: str, extension: str, offenders: list[tuple[str, str]]) -> None:
    values = list(dict.fromkeys(v for _, v in offenders))
    master = "item" if noun == "SKU" else "location"
    raise Problem(
        kind,
        f"not in the {master} master: {', '.join(values)}",
        {
            extension: values,
            "errors": [
                _error(ptr, f"{noun} '{value}' is not in the {master} master", kind, value=value)
                for ptr, value in dict.fromkeys(offenders)
            ],
        },
    )


def _units(item: Item) -> list[str]:
    return sorted({EACH, *item.units})


def _refuse_units(offenders: list[tuple[str, Item, str]]) -> None:
    kind = p.UNKNOWN_UNIT
    pairs = list(dict.fromkeys((item.sku, unit) for _, item, unit in offenders))
    raise Problem(
        kind,
        "no conversion to eaches for: " + ", ".join(f"'{unit}' of {sku}" for sku, unit in pairs),
        {
            "units": [{"sku": sku, "unit": unit} for sku, unit in pairs],
            "errors": [
                _error(
                    ptr,
                    f"{item.sku} has no conversion for unit '{unit}' (it has: {', '.join(_units(item))})",
                    kind,
                    sku=item.sku,
                    unit=unit,
                    known_units=_units(item),
                )
                for ptr, item, unit in offenders
            ],
        },
    )
