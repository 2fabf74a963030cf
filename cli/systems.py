"""`distrosync systems add | list`: the systems distrosync keeps in sync (ERP, WMS, planning), reached
through an outbound adapter (docs/supplier-collaboration.md, "Partners and adapters")."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.canonical.partner import OUTBOUND_ADAPTERS, PARTNER_KINDS, Partner

if TYPE_CHECKING:  # the admin service imports boto3: only the commands that act load it
    from shared.services.system_admin import SystemRegistration


def add_arguments(sub: Any, targeted: Callable[[Any], None]) -> None:
    """Register the subcommand's parser on `sub` (argparse subparsers); `targeted` adds --local/--stack/--env/--json."""
    systems = sub.add_parser("systems", help="connect the systems distrosync keeps in sync (ERP, WMS, planning)")
    ssub = systems.add_subparsers(dest="action", required=True)

    add = ssub.add_parser(
        "add", help="register a system (or connect an existing partner) with its adapter and subscriptions"
    )
    add.add_argument("--id", required=True, help="partner id, e.g. erp (lowercase, digits, dashes)")
    add.add_argument("--kind", required=True, choices=PARTNER_KINDS)
    add.add_argument("--adapter", required=True, choices=OUTBOUND_ADAPTERS)
    add.add_argument("--url", required=True, help="erpnext: the site URL; webhook: the URL events are POSTed to")
    add.add_argument("--api-key", default=None, help="erpnext: the API key of the integration user")
    add.add_argument("--api-secret", default=None, help="erpnext: its API secret (or --api-secret-stdin)")
    add.add_argument("--api-secret-stdin", action="store_true", help="read the API secret from stdin")
    add.add_argument(
        "--subscribe", action="append", required=True, metavar="TYPE", help="an event type to deliver (repeat)"
    )
    add.add_argument("--scope", action="append", help="scopes of its own API calls, e.g. location:* (repeat)")
    add.add_argument("--tier", default="standard", help="usage-plan tier of its API key (new partners)")
    add.add_argument("--timeout", type=float, default=None, help="seconds per HTTP call (default 10)")
    add.add_argument("--max-attempts", type=int, default=None, help="calls per delivery before SQS retries it")
    targeted(add)

    lst = ssub.add_parser("list", help="list connected systems, their adapters and subscriptions")
    targeted(lst)

    connect = ssub.add_parser(
        "connect", help="fix or rotate a system's connection (after it refused our credentials), then redrive"
    )
    connect.add_argument("id", help="the system's partner id")
    connect.add_argument("--url", default=None, help="erpnext: the site URL; webhook: the URL events are POSTed to")
    connect.add_argument("--api-key", default=None, help="erpnext: the API key of the integration user")
    connect.add_argument("--api-secret", default=None, help="erpnext: its API secret (or --api-secret-stdin)")
    connect.add_argument("--api-secret-stdin", action="store_true", help="read the API secret from stdin")
    connect.add_argument(
        "--rotate-signing-secret", action="store_true", help="webhook: a new signing secret (printed once)"
    )
    targeted(connect)


def add(outputs: dict[str, str], args: Any) -> int:
    from shared.services.system_admin import SystemAdmin

    api_secret = _api_secret(args)
    registration = SystemAdmin.from_outputs(outputs).add(
        args.id,
        args.kind,
        args.adapter,
        subscriptions=args.subscribe,
        url=args.url,
        api_key=args.api_key,
        api_secret=api_secret,
        scopes=args.scope,
        tier=args.tier,
        timeout_seconds=args.timeout,
        max_attempts=args.max_attempts,
    )
    print_registration(registration, outputs.get("ApiUrl"), args.json)
    return 0


def _api_secret(args: Any) -> str | None:
    """--api-secret, or the first line of stdin with --api-secret-stdin (kept out of the shell's history)."""
    from shared.services.partner_admin import PartnerAdminError

    if not args.api_secret_stdin:
        return args.api_secret
    secret = sys.stdin.readline().strip()
    if not secret:
        raise PartnerAdminError("--api-secret-stdin: stdin held no secret")
    return secret


def _system_doc(partner: Partner) -> dict[str, Any]:
    outbound = partner.outbound
    return {
        "partner_id": partner.partner_id,
        "kind": partner.kind,
        "status": partner.status,
        "adapter": outbound.adapter if outbound else None,
        "subscriptions": outbound.subscriptions if outbound else [],
        "timeout_seconds": outbound.timeout_seconds if outbound else None,
        "max_attempts": outbound.max_attempts if outbound else None,
    }


def print_registration(registration: SystemRegistration, api_url: str | None, as_json: bool) -> None:
    doc = _system_doc(registration.partner)
    creds = registration.credentials
    if creds is not None:
        doc.update(api_key=creds.api_key, signing_secret=creds.signing_secret, api_url=api_url)
    if registration.webhook_signing_secret:
        doc["webhook_signing_secret"] = registration.webhook_signing_secret
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    print(f"system      {doc['partner_id']} ({doc['kind']}, adapter {doc['adapter']})")
    print(f"subscribes  {', '.join(doc['subscriptions'])}")
    if creds is not None:
        print(f"api key     {creds.api_key}")
        print(f"signing key {creds.signing_secret}")
    else:
        print("api key     unchanged (the partner existed; 'partners rotate' issues new credentials)")
    if registration.webhook_signing_secret:
        print(f"webhook key {registration.webhook_signing_secret}")
        print("            verify X-Distrosync-Signature: sha256=HMAC-SHA256(key, X-Distrosync-Timestamp + '.' + body)")
    if creds is not None or registration.webhook_signing_secret:
        print("Store these now: they are not shown again.")


def list_systems(outputs: dict[str, str], args: Any) -> int:
    from shared.services.system_admin import SystemAdmin

    systems = SystemAdmin.from_outputs(outputs).list()
    if args.json:
        print(json.dumps([_system_doc(p) for p in systems], indent=2))
        return 0
    if not systems:
        print("no systems yet: add one with 'distrosync systems add --id ID --kind KIND --adapter ADAPTER ...'")
        return 0
    print(f"{'SYSTEM':<20} {'KIND':<12} {'ADAPTER':<9} {'STATUS':<8} SUBSCRIPTIONS")
    for p in systems:
        d = _system_doc(p)
        print(
            f"{d['partner_id']:<20} {d['kind']:<12} {d['adapter']:<9} {d['status']:<8} {', '.join(d['subscriptions'])}"
        )
    return 0


def connect(outputs: dict[str, str], args: Any) -> int:
    from shared.services.system_admin import SystemAdmin

    api_secret = _api_secret(args)
    done = SystemAdmin.from_outputs(outputs).connect(
        args.id,
        url=args.url,
        api_key=args.api_key,
        api_secret=api_secret,
        rotate_signing_secret=args.rotate_signing_secret,
    )
    doc: dict[str, Any] = {**_system_doc(done.partner), "changed": done.changed}
    if done.webhook_signing_secret:
        doc["webhook_signing_secret"] = done.webhook_signing_secret
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    changed = ", ".join(done.changed)
    print(f"system      {doc['partner_id']} ({doc['kind']}, adapter {doc['adapter']}): {changed} replaced")
    if done.webhook_signing_secret:
        print(f"webhook key {done.webhook_signing_secret}")
        print("Give it to the receiver now: it is not shown again.")
    print(f"then: distrosync dlq redrive outbound-dlq --where error_class=partner_refused (deliveries to {args.id})")
    return 0


ACTIONS: dict[str, Callable[[dict[str, str], Any], int]] = {"add": add, "list": list_systems, "connect": connect}
