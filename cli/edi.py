"""`distrosync edi ...`: X12 files on the command line (issue #6). `parse` reads the envelopes and checks them;
`ack` prints the 997 functional acknowledgments for a file's groups; `to-canonical` prints the API request each
transaction set becomes; `partners set | show` manage trading partner profiles (cli/edi_partners.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from cli import edi_partners
from shared.adapters.x12 import ParseResult, read
from shared.adapters.x12.ack import counting_from, write_acks
from shared.adapters.x12.canonical import MappingError, to_canonical


def add_arguments(sub: argparse._SubParsersAction) -> None:
    edi = sub.add_parser("edi", help="read X12 EDI files; manage trading partner profiles")
    esub = edi.add_subparsers(dest="action", required=True)
    parse = esub.add_parser("parse", help="read a file's interchanges, groups and transaction sets; check envelopes")
    parse.add_argument("file", type=Path, help="an X12 file (any delimiters its ISA declares)")
    parse.add_argument("--json", action="store_true", help="machine-readable output")
    ack = esub.add_parser("ack", help="print the 997 functional acknowledgment for every functional group of a file")
    ack.add_argument("file", type=Path, help="an X12 file (any delimiters its ISA declares)")
    ack.add_argument(
        "--control-number",
        type=int,
        default=1,
        help="first ISA13, GS06 and ST02 of the 997s (each counts up on its own; default 1)",
    )
    canonical = esub.add_parser(
        "to-canonical", help="print the API request (or the mapping error) every transaction set of a file becomes"
    )
    canonical.add_argument("file", type=Path, help="an X12 file (810, 846, 850, 855, 856, 945, 214 and 997 are mapped)")
    canonical.add_argument(
        "--location", help="the location of an 850/846 whose N1 names none (code or GLN): a profile's default_location"
    )
    canonical.add_argument(
        "--transit-days",
        type=int,
        help="an 856 without a delivery DTM: ETA = ship date + this many days (a profile's transit_days)",
    )
    edi_partners.add_arguments(esub)


def run(args: argparse.Namespace) -> int:
    """parse: 0 when every envelope is right, 1 on envelope errors. ack: 0 when a 997 was written, 1 when the file
    has no group to acknowledge. to-canonical: 0 when every set was mapped and the envelopes are right, else 1.
    All: 2 when the file cannot be read. partners: see cli/edi_partners.py."""
    if args.action == "partners":
        return edi_partners.run(args)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"distrosync: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    result = read(data)
    if args.action == "ack":
        return ack(result, args.control_number)
    if args.action == "to-canonical":
        return canonical(result, args.location, args.transit_days)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(summary(result, str(args.file)))
    return 0 if result.ok else 1


def summary(result: ParseResult, name: str) -> str:
    """The envelopes, one line each, then the errors with where they are."""
    lines = [f"{name}: {len(result.interchanges)} interchange(s), {len(result.errors)} envelope error(s)"]
    for ic in result.interchanges:
        lines.append(
            f"  ISA {ic.control_number}  {ic.version}  from {ic.sender.qualifier}:{ic.sender.id} "
            f"to {ic.receiver.qualifier}:{ic.receiver.id}"
        )
        for group in ic.groups:
            sets = ", ".join(f"{t.set_id} {t.control_number} ({t.segment_count} seg)" for t in group.transactions)
            lines.append(f"    GS {group.functional_id} {group.control_number}  {group.version}  {sets or '-'}")
    for error in result.errors:
        where = [
            f"{label} {value}"
            for label, value in (("ISA", error.interchange), ("GS", error.group), ("ST", error.transaction))
            if value is not None
        ]
        where.append(f"segment {error.segment}")
        lines.append(f"  error {error.kind} ({', '.join(where)}): {error.message}")
    return "\n".join(lines)


def ack(result: ParseResult, first_control_number: int) -> int:
    """Print the 997 interchange(s), one segment a line; a file without any group gets none (exit 1)."""
    if first_control_number < 1:
        print("distrosync: --control-number must be at least 1", file=sys.stderr)
        return 2
    text = write_acks(result, counting_from(first_control_number), datetime.now(UTC), line_break="\n")
    if not text:
        reasons = "; ".join(e.message for e in result.errors) or "no functional group in the file"
        print(f"distrosync: nothing to acknowledge: {reasons}", file=sys.stderr)
        return 1
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def canonical(result: ParseResult, location: str | None = None, transit_days: int | None = None) -> int:
    """Print `{"sets": [...], "errors": [...]}`: per request its set, kind, PO and the request as the API takes it in
    JSON, or the set's mapping error; `errors` are the envelope errors. Exit 1 if any set failed or an envelope is
    wrong."""
    sets = []
    if transit_days is not None and transit_days < 0:
        print("distrosync: --transit-days must be 0 or more", file=sys.stderr)
        return 2
    for mapped in to_canonical(result, location, transit_days=transit_days):
        entry: dict[str, object] = {
            "set_id": mapped.set_id,
            "control_number": mapped.control_number,
            "kind": mapped.kind,
            "reference": mapped.reference,
        }
        if isinstance(mapped.request, MappingError):
            entry["error"] = mapped.request.to_dict() | {"message": str(mapped.request)}
        else:
            entry["request"] = mapped.request.model_dump(mode="json")
        sets.append(entry)
    errors = [error.to_dict() for error in result.errors]
    print(json.dumps({"sets": sets, "errors": errors}, indent=2))
    return 0 if result.ok and sets and all("request" in entry for entry in sets) else 1
