"""`distrosync carriers add | list`: carriers and tracking providers that report shipments' progress to
`POST /v1/carriers/{carrier}/tracking` (EasyPost webhooks, or canonical tracking events)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cli.channels import read_secret_stdin
from shared.canonical.partner import CarrierPlatform, Partner

if TYPE_CHECKING:  # the admin service imports boto3: only the commands that act load it
    from shared.services.carrier_admin import CarrierCredentials
    from shared.services.partner_admin import PartnerAdmin

CARRIER_PLATFORMS: tuple[str, ...] = CarrierPlatform.__args__  # type: ignore[attr-defined]
EASYPOST_EVENTS = "tracker.created, tracker.updated"


def add_arguments(sub: Any, targeted: Callable[[Any], None]) -> None:
    """Register the subcommand's parser on `sub` (argparse subparsers); `targeted` adds --local/--stack/--env/--json."""
    carriers = sub.add_parser("carriers", help="register carriers that report tracking (EasyPost or canonical)")
    csub = carriers.add_subparsers(dest="action", required=True)

    add = csub.add_parser("add", help="register a carrier; prints its credentials and the EasyPost webhook set-up")
    add.add_argument("name", help="carrier partner id, e.g. easypost or fedex (lowercase, digits, dashes)")
    add.add_argument("--platform", required=True, choices=CARRIER_PLATFORMS)
    add.add_argument(
        "--scopes",
        nargs="+",
        default=None,
        metavar="SCOPE",
        help="the locations whose shipments it tracks, e.g. location:DC-EAST (default location:*)",
    )
    add.add_argument("--tier", default="standard", help="usage-plan tier of its API key")
    add.add_argument(
        "--secret-stdin",
        action="store_true",
        help="easypost: read the webhook secret from stdin (default: one is generated and printed)",
    )
    targeted(add)

    lst = csub.add_parser("list", help="list carriers and their platforms")
    targeted(lst)


def tracking_url(api_url: str | None, name: str) -> str | None:
    return f"{api_url.rstrip('/')}/v1/carriers/{name}/tracking" if api_url else None


def _admin(outputs: dict[str, str]) -> PartnerAdmin:
    from shared.services.partner_admin import PartnerAdmin, StackResources

    return PartnerAdmin(StackResources.from_outputs(outputs))


def add(outputs: dict[str, str], args: Any) -> int:
    from shared.services.carrier_admin import add_carrier

    scopes = [s for value in args.scopes or [] for s in value.split(",") if s.strip()] or None
    creds = add_carrier(
        _admin(outputs), args.name, args.platform, scopes=scopes, tier=args.tier, webhook_secret=read_secret_stdin(args)
    )
    print_carrier_credentials(creds, outputs.get("ApiUrl"), args.json)
    return 0


def print_carrier_credentials(creds: CarrierCredentials, api_url: str | None, as_json: bool) -> None:
    partner = creds.credentials.partner
    platform = partner.carrier.platform if partner.carrier else "canonical"
    doc: dict[str, Any] = {
        "partner_id": partner.partner_id,
        "kind": partner.kind,
        "platform": platform,
        "tier": partner.tier,
        "scopes": partner.scopes,
        "api_key": creds.credentials.api_key,
        "signing_secret": creds.credentials.signing_secret,
        "api_url": api_url,
        "tracking_url": tracking_url(api_url, partner.partner_id),
    }
    if creds.webhook_secret is not None:
        doc["webhook_secret"] = creds.webhook_secret if creds.webhook_secret_generated else None
        doc["webhook_events"] = EASYPOST_EVENTS
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    print(f"carrier     {doc['partner_id']} ({platform}, tier {doc['tier']})")
    print(f"scopes      {', '.join(doc['scopes'])}")
    print(f"api key     {doc['api_key']}")
    print(f"signing key {doc['signing_secret']}")
    url = doc["tracking_url"] or "<ApiUrl>/v1/carriers/" + partner.partner_id + "/tracking"
    if creds.webhook_secret is not None:
        print("EasyPost    Dashboard > Webhooks > Add webhook (or POST /v2/webhooks), then paste:")
        print(f"  url             {url}")
        if creds.webhook_secret_generated:
            print(f"  webhook_secret  {creds.webhook_secret}")
        else:
            print("  webhook_secret  the secret you gave (stored; not shown)")
        print(f"  events          {EASYPOST_EVENTS} (others are answered 'ignored')")
    else:
        print(f"tracking    POST {url} with the API key and request signature")
    print("Store the keys now: they are not shown again ('partners rotate' issues new API credentials).")


def list_carriers(outputs: dict[str, str], args: Any) -> int:
    from shared.services.carrier_admin import carriers

    found: list[Partner] = carriers(_admin(outputs))
    api_url = outputs.get("ApiUrl")
    if args.json:
        rows = [
            {
                "partner_id": c.partner_id,
                "status": c.status,
                "platform": c.carrier.platform if c.carrier else None,
                "scopes": c.scopes,
                "tracking_url": tracking_url(api_url, c.partner_id),
            }
            for c in found
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not found:
        print("no carriers yet: add one with 'distrosync carriers add NAME --platform easypost'")
        return 0
    print(f"{'CARRIER':<20} {'PLATFORM':<10} {'STATUS':<8} SCOPES")
    for c in found:
        platform = c.carrier.platform if c.carrier else "(none)"
        print(f"{c.partner_id:<20} {platform:<10} {c.status:<8} {', '.join(c.scopes)}")
    return 0


ACTIONS = {"add": add, "list": list_carriers}
