"""`distrosync channels add | list | set`: sales channels (partners of kind `channel` with channel settings)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from shared.canonical.partner import CHANNEL_PLATFORMS, ChannelSettings, Partner
from shared.domain.order_flow import ORDER_POLICIES

if TYPE_CHECKING:  # the admin service imports boto3: only the commands that act load it
    from shared.services.partner_admin import ChannelCredentials, PartnerAdmin

WEBHOOK_TOPICS = {"shopify": "inventory_levels/update", "bigcommerce": "store/sku/inventory/updated"}
# Every topic a channel's webhook subscriptions should carry: inventory first, then orders.
SUBSCRIBED_TOPICS = {
    "shopify": ["inventory_levels/update", "orders/create"],
    "bigcommerce": ["store/sku/inventory/updated", "store/order/created"],
}


def add_arguments(sub: Any, targeted: Any) -> None:
    """The `channels` sub-commands (`targeted` adds --local/--stack/--env/--json)."""
    channels = sub.add_parser("channels", help="register sales channels and set what they may sell")
    csub = channels.add_subparsers(dest="action", required=True)

    add = csub.add_parser("add", help="register a channel; prints its API key, signing secret and webhook set-up")
    add.add_argument("name", help="channel id, e.g. shopify-main (lowercase, digits, dashes)")
    add.add_argument("--platform", required=True, choices=CHANNEL_PLATFORMS)
    add.add_argument("--tier", default="standard", help="usage-plan tier of its API key")
    _settings_arguments(add)
    targeted(add)

    lst = csub.add_parser("list", help="list channels and their settings")
    targeted(lst)

    st = csub.add_parser("set", help="change a channel's settings or webhook secret (mappings one by one)")
    st.add_argument("name")
    st.add_argument("--platform", choices=CHANNEL_PLATFORMS, default=None)
    _settings_arguments(st)
    st.add_argument("--unmap-location", action="append", metavar="EXT", help="remove a location mapping (repeat)")
    st.add_argument("--no-default-location", action="store_true", help="reports without a location count for all")
    targeted(st)


def _settings_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--locations", default=None, help="location codes feeding it, comma-separated (none: all)")
    p.add_argument("--share", type=float, default=None, help="part of the free pool it may sell, 0..1 (default 1)")
    p.add_argument("--buffer", type=int, default=None, help="units held back from it")
    p.add_argument("--safety-stock", type=int, default=None, help="units held back from it")
    p.add_argument("--hold", type=int, default=None, help="units ring-fenced for it")
    p.add_argument(
        "--map-location", action="append", metavar="EXT=CODE", help="the channel's location id -> our code (repeat)"
    )
    p.add_argument(
        "--default-location", default=None, help="where reports without a location count, and orders ship from"
    )
    p.add_argument(
        "--order-policy",
        choices=ORDER_POLICIES,
        default=None,
        help="what the channel's orders do when stock is short (default backorder)",
    )
    p.add_argument("--store-hash", default=None, help="BigCommerce: the store hash its orders are read from")
    p.add_argument("--api-base-url", default=None, help="BigCommerce: the API's base URL (default its own)")
    p.add_argument(
        "--api-token",
        default=None,
        metavar="TOKEN",
        help="BigCommerce: the store API token orders are read with ('-': read it from stdin, after the webhook "
        "secret if --secret-stdin is given too)",
    )
    p.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the webhook secret from stdin (Shopify: the app's client secret; required for Shopify)",
    )


def _mappings(values: list[str] | None) -> dict[str, str]:
    from shared.services.partner_admin import PartnerAdminError

    out: dict[str, str] = {}
    for value in values or []:
        external, sep, code = value.partition("=")
        if not sep or not external.strip() or not code.strip():
            raise PartnerAdminError(f"--map-location takes EXT=CODE, e.g. 65616216276=DC-EAST (got {value!r})")
        out[external.strip()] = code.strip()
    return out


def _changes(args: Any) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.locations is not None:
        changes["locations"] = [code.strip() for code in args.locations.split(",") if code.strip()]
    for name in (
        "platform",
        "share",
        "buffer",
        "safety_stock",
        "hold",
        "default_location",
        "order_policy",
        "store_hash",
        "api_base_url",
    ):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "no_default_location", False):
        changes["default_location"] = None
    return changes


def read_secret_stdin(args: Any) -> str | None:
    """The webhook secret from stdin's first line with --secret-stdin (`channels`, `carriers`); None without."""
    from shared.services.partner_admin import PartnerAdminError

    if not args.secret_stdin:
        return None
    secret = sys.stdin.readline().strip()
    if not secret:
        raise PartnerAdminError("--secret-stdin: stdin held no secret")
    return secret


def _api_token(args: Any) -> str | None:
    """--api-token's value; `-` reads it from stdin (after the webhook secret, `read_secret_stdin` reads it first)."""
    from shared.services.partner_admin import PartnerAdminError

    value = getattr(args, "api_token", None)
    if value is None:
        return None
    if value != "-":
        return value.strip() or None
    token = sys.stdin.readline().strip()
    if not token:
        raise PartnerAdminError("--api-token -: stdin held no token")
    return token


def webhook_url(api_url: str | None, name: str) -> str | None:
    return f"{api_url.rstrip('/')}/v1/channels/{name}/webhooks" if api_url else None


def _settings_doc(partner: Partner) -> dict[str, Any]:
    return partner.channel.model_dump(mode="json", exclude={"webhook_secret_name"}) if partner.channel else {}


def _admin(outputs: dict[str, str]) -> PartnerAdmin:
    from shared.services.partner_admin import PartnerAdmin, StackResources

    return PartnerAdmin(StackResources.from_outputs(outputs))


def add(outputs: dict[str, str], args: Any) -> int:
    from shared.services.partner_admin import PartnerAdminError

    changes = _changes(args)
    try:
        settings = ChannelSettings.model_validate({**changes, "location_map": _mappings(args.map_location)})
    except ValueError as exc:
        raise PartnerAdminError(str(exc)) from None
    secret = read_secret_stdin(args)
    creds = _admin(outputs).add_channel(
        args.name, settings, tier=args.tier, webhook_secret=secret, api_token=_api_token(args)
    )
    print_channel_credentials(creds, outputs.get("ApiUrl"), args.json)
    return 0


def print_channel_credentials(creds: ChannelCredentials, api_url: str | None, as_json: bool) -> None:
    from shared.services.partner_admin import WEBHOOK_TOKEN_HEADER

    partner = creds.credentials.partner
    platform = partner.channel.platform if partner.channel else "other"
    doc: dict[str, Any] = {
        "partner_id": partner.partner_id,
        "kind": partner.kind,
        "tier": partner.tier,
        "scopes": partner.scopes,
        "api_key": creds.credentials.api_key,
        "signing_secret": creds.credentials.signing_secret,
        "api_url": api_url,
        "channel": _settings_doc(partner),
        "webhook_url": webhook_url(api_url, partner.partner_id) if creds.webhook_secret else None,
        "webhook_topic": WEBHOOK_TOPICS.get(platform),
        "webhook_topics": SUBSCRIBED_TOPICS.get(platform, []),
    }
    if creds.webhook_secret_generated:
        doc["webhook_header"] = WEBHOOK_TOKEN_HEADER
        doc["webhook_token"] = creds.webhook_secret
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    print(f"channel     {doc['partner_id']} ({platform}, tier {doc['tier']})")
    print(f"scopes      {', '.join(doc['scopes'])}")
    print(f"api key     {doc['api_key']}")
    print(f"signing key {doc['signing_secret']}")
    if doc["webhook_topics"]:
        topics = ", ".join(doc["webhook_topics"])
        print(f"webhook     subscribe {topics} to {doc['webhook_url'] or '<ApiUrl>/v1/channels/…'}")
    if creds.webhook_secret_generated:
        print(f"            with the header {WEBHOOK_TOKEN_HEADER}: {creds.webhook_secret}")
    elif platform == "shopify":
        print("            signed with your app's client secret (stored; not shown)")
    print("Store the keys now: they are not shown again ('partners rotate' issues new API credentials).")


def list_channels(outputs: dict[str, str], args: Any) -> int:
    channels = _admin(outputs).channels()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "partner_id": c.partner_id,
                        "status": c.status,
                        "tier": c.tier,
                        "channel": _settings_doc(c),
                        "webhook_url": webhook_url(outputs.get("ApiUrl"), c.partner_id)
                        if c.channel and c.channel.webhook_secret_name
                        else None,
                    }
                    for c in channels
                ],
                indent=2,
            )
        )
        return 0
    if not channels:
        print("no channels yet: add one with 'distrosync channels add NAME --platform shopify --secret-stdin'")
        return 0
    print(f"{'CHANNEL':<20} {'PLATFORM':<12} {'STATUS':<8} {'SHARE':>5} {'BUF':>4} {'SAFE':>4} {'HOLD':>4} LOCATIONS")
    for c in channels:
        s = c.channel
        if s is None:
            print(f"{c.partner_id:<20} {'(no settings)':<12} {c.status:<8}")
            continue
        mapped = ", ".join(f"{k}={v}" for k, v in sorted(s.location_map.items()))
        where = ", ".join(s.locations) or "(all)"
        print(
            f"{c.partner_id:<20} {s.platform:<12} {c.status:<8} {s.share:>5g} {s.buffer:>4} {s.safety_stock:>4} "
            f"{s.hold:>4} {where}" + (f"  map {mapped}" if mapped else "")
        )
    return 0


def set_channel(outputs: dict[str, str], args: Any) -> int:
    secret = read_secret_stdin(args)
    partner = _admin(outputs).update_channel(
        args.name,
        _changes(args),
        map_locations=_mappings(args.map_location),
        unmap_locations=args.unmap_location,
        webhook_secret=secret,
        api_token=_api_token(args),
    )
    doc = {"partner_id": partner.partner_id, "channel": _settings_doc(partner)}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"channel {partner.partner_id} updated: {json.dumps(doc['channel'])}")
        if args.secret_stdin:
            print("webhook secret replaced")
        if args.api_token:
            print("API token stored")
    return 0


ACTIONS = {"add": add, "list": list_channels, "set": set_channel}
