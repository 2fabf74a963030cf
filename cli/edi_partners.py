"""`distrosync edi partners set | show`: trading partner profiles (docs/edi.md, "Gateway") on existing partners,
locally (`--local`, the runtime of 'distrosync serve') or on a deployed stack."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the admin service imports boto3: only the commands that act load it
    from shared.canonical.partner import Partner

# Profile fields -> the option that sets them, for error messages.
OPTIONS = {
    "isa_qualifier": "--isa",
    "isa_id": "--isa",
    "gs_id": "--gs",
    "our_isa_qualifier": "--our-isa",
    "our_isa_id": "--our-isa",
    "our_gs_id": "--our-gs",
    "inbound_sets": "--inbound",
    "outbound_sets": "--outbound",
    "version": "--version",
    "gs_version": "--gs-version",
    "element_separator": "--separators",
    "component_separator": "--separators",
    "segment_terminator": "--separators",
    "repetition_separator": "--separators",
    "line_break": "--line-break",
    "ack_due_hours": "--ack-due-hours",
    "test": "--test",
    "default_location": "--default-location",
    "transit_days": "--transit-days",
}


class UsageError(ValueError):
    """An option given in a form it cannot have."""


def add_arguments(esub: Any) -> None:
    """The `edi partners` sub-commands on `esub` (the `edi` subparsers)."""
    partners = esub.add_parser("partners", help="trading partner profiles: X12 ids, versions, delimiters, sets")
    psub = partners.add_subparsers(dest="partners_action", required=True)

    st = psub.add_parser(
        "set",
        help="give an existing partner its trading partner profile, or change it (options not given stay as they are)",
    )
    st.add_argument("partner", help="the partner id ('partners add' registers it)")
    st.add_argument("--isa", metavar="QUAL:ID", help="the partner's ISA05/06 (ISA07/08 toward it), e.g. ZZ:ACMESUPPLY")
    st.add_argument("--gs", metavar="ID", help="the partner's GS02/03 application id")
    st.add_argument("--our-isa", metavar="QUAL:ID", help="our ISA ids toward it (default ZZ:DISTROSYNC)")
    st.add_argument("--our-gs", metavar="ID", help="our GS id toward it (default DISTROSYNC)")
    st.add_argument("--inbound", metavar="SETS", help="sets accepted from it, comma-separated, e.g. 855,856,810")
    st.add_argument("--outbound", metavar="SETS", help="sets sent to it, comma-separated: 850 (suppliers), 940 (3PLs)")
    st.add_argument("--version", help="ISA12 of what we send (default 00401)")
    st.add_argument("--gs-version", help="GS08 of what we send (default 004010)")
    st.add_argument(
        "--separators",
        metavar="CHARS",
        help="element, component and segment separators, then the repetition separator (00402 on): default '*>~^'",
    )
    st.add_argument("--ack-due-hours", type=int, help="a 997 for what we send is due within this (0: none expected)")
    st.add_argument("--default-location", help="where its 850/846/945 without a ship-from location count")
    st.add_argument("--transit-days", type=int, help="its 856 without an ETA: ETA = ship date + this many days")
    st.add_argument("--test", action=argparse.BooleanOptionalAction, help="ISA15 T (test) both ways")
    st.add_argument(
        "--line-break", action=argparse.BooleanOptionalAction, help="a line break after each segment we send"
    )
    _targeted(st)

    show = psub.add_parser("show", help="print a partner's trading partner profile (JSON)")
    show.add_argument("partner")
    _targeted(show)


def _targeted(p: argparse.ArgumentParser) -> None:
    p.add_argument("--local", action="store_true", help="act on the runtime started by 'distrosync serve'")
    p.add_argument("--stack", default=None, help="deployed stack name (default distrosync-<env>)")
    p.add_argument("--env", default="dev", choices=["dev", "staging", "prod"])


def run(args: argparse.Namespace) -> int:
    """0 when done; 2 when the partner is unknown, an option is wrong or the target cannot be reached."""
    from cli.target import TargetError, resolve
    from shared.services.partner_admin import EdiProfileError, PartnerAdmin, PartnerAdminError, StackResources

    try:
        changes = profile_changes(args) if args.partners_action == "set" else {}
        target = resolve(args.local, args.stack or f"distrosync-{args.env}")
        admin = PartnerAdmin(StackResources.from_outputs(target.outputs))
        setting = args.partners_action == "set"
        partner = admin.set_edi(args.partner, changes) if setting else admin.get(args.partner)
    except EdiProfileError as exc:
        for field, message in exc.problems:
            where = OPTIONS.get(field, field)
            print(f"distrosync: {where}: {message}" if where else f"distrosync: {message}", file=sys.stderr)
        return 2
    except (UsageError, TargetError, PartnerAdminError) as exc:
        print(f"distrosync: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(profile_doc(partner), indent=2))
    return 0


def profile_changes(args: argparse.Namespace) -> dict[str, object]:
    """The profile fields the options set (only those given)."""
    changes: dict[str, object] = {}
    for option, fields in (("isa", ("isa_qualifier", "isa_id")), ("our_isa", ("our_isa_qualifier", "our_isa_id"))):
        value = getattr(args, option)
        if value is not None:
            qualifier, sep, ident = value.partition(":")
            if not sep or not qualifier or not ident:
                flag = "--" + option.replace("_", "-")
                raise UsageError(f"{flag} must be QUALIFIER:ID, e.g. ZZ:ACMESUPPLY (got {value!r})")
            changes.update(zip(fields, (qualifier, ident), strict=True))
    for option, field in (
        ("gs", "gs_id"),
        ("our_gs", "our_gs_id"),
        ("version", "version"),
        ("gs_version", "gs_version"),
        ("ack_due_hours", "ack_due_hours"),
        ("default_location", "default_location"),
        ("transit_days", "transit_days"),
        ("test", "test"),
        ("line_break", "line_break"),
    ):
        value = getattr(args, option)
        if value is not None:
            changes[field] = value
    for option, field in (("inbound", "inbound_sets"), ("outbound", "outbound_sets")):
        value = getattr(args, option)
        if value is not None:
            changes[field] = [s.strip() for s in value.split(",") if s.strip()]
    if args.separators is not None:
        chars = args.separators
        if len(chars) not in (3, 4):
            raise UsageError(
                f"--separators takes 3 or 4 characters (element, component, segment[, repetition]), got {chars!r}"
            )
        names = ("element_separator", "component_separator", "segment_terminator", "repetition_separator")
        changes.update(zip(names, chars, strict=False))
    return changes


def profile_doc(partner: Partner) -> dict[str, Any]:
    return {
        "partner_id": partner.partner_id,
        "kind": partner.kind,
        "status": partner.status,
        "scopes": partner.scopes,
        "edi": partner.edi.model_dump(mode="json") if partner.edi is not None else None,
    }
