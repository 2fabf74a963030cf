"""`distrosync partners add | list | rotate`."""

from __future__ import annotations

import json
from typing import Any

from shared.services.partner_admin import Credentials, PartnerAdmin, StackResources


def _credentials_doc(creds: Credentials, api_url: str | None) -> dict[str, Any]:
    return {
        "partner_id": creds.partner.partner_id,
        "kind": creds.partner.kind,
        "tier": creds.partner.tier,
        "scopes": creds.partner.scopes,
        "api_key": creds.api_key,
        "signing_secret": creds.signing_secret,
        "api_url": api_url,
    }


def print_credentials(creds: Credentials, api_url: str | None, as_json: bool) -> None:
    doc = _credentials_doc(creds, api_url)
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    print(f"partner     {doc['partner_id']} ({doc['kind']}, tier {doc['tier']})")
    print(f"scopes      {', '.join(doc['scopes']) or '(none)'}")
    print(f"api key     {doc['api_key']}")
    print(f"signing key {doc['signing_secret']}")
    print("Store both now: they are not shown again ('partners rotate' issues new ones).")


def admin_for(outputs: dict[str, str]) -> PartnerAdmin:
    return PartnerAdmin(StackResources.from_outputs(outputs))


def add(outputs: dict[str, str], args: Any) -> int:
    creds = admin_for(outputs).add(args.id, args.kind, args.scope or [], args.tier)
    print_credentials(creds, outputs.get("ApiUrl"), args.json)
    return 0


def rotate(outputs: dict[str, str], args: Any) -> int:
    creds = admin_for(outputs).rotate(args.id)
    print_credentials(creds, outputs.get("ApiUrl"), args.json)
    return 0


def list_partners(outputs: dict[str, str], args: Any) -> int:
    partners = admin_for(outputs).list()
    if args.json:
        print(json.dumps([p.model_dump(mode="json", exclude={"secret_name"}) for p in partners], indent=2))
        return 0
    if not partners:
        print("no partners yet: add one with 'distrosync partners add --id ID --kind KIND --scope location:CODE'")
        return 0
    print(f"{'PARTNER':<20} {'KIND':<10} {'TIER':<9} {'STATUS':<8} {'CREATED':<20} SCOPES")
    for p in partners:
        created = p.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{p.partner_id:<20} {p.kind:<10} {p.tier:<9} {p.status:<8} {created:<20} {', '.join(p.scopes)}")
    return 0
