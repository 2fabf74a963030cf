"""Registering partners and rotating their credentials (run by operators through the CLI, not by Lambdas).

A partner gets an API Gateway API key on its tier's usage plan and a request-signing secret in Secrets
Manager. Both are shown once, at creation or rotation; distrosync keeps only the key id and secret name.

A sales channel is a partner of kind `channel` with channel settings, the scope `channel:<id>` and, besides
its API credentials (a channel may call the API like any partner, e.g. reservations for carts), a webhook
secret `<prefix><id>/webhook`: the Shopify app's client secret (given by the operator: Shopify signs with
it), or for other platforms a token we generate (shown once) that the webhook subscription sends in
`X-Distrosync-Webhook-Token`. A BigCommerce channel's webhook secret also holds, as its field `api_token`,
the store API token distrosync reads thin order webhooks' orders with (never shown back).

An EDI trading partner is a partner of any kind whose record carries a profile (`EdiSettings`, docs/edi.md,
"Gateway"); `set_edi` gives it one or changes it. The sets it is sent must reach it: an 850 goes to a supplier
partner with a `supplier:` scope, a 940 to a warehouse partner with a `location:` scope.
"""

from __future__ import annotations

import json
import secrets as token
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from pydantic import ValidationError

from shared.adapters.bigcommerce_api import API_TOKEN_FIELD
from shared.aws import api_keys
from shared.aws.clients import client
from shared.aws.partners import WEBHOOK_FIELD, PartnerRepository, SigningSecrets
from shared.canonical.partner import PARTNER_KINDS, ChannelSettings, EdiSettings, Partner
from shared.domain.scopes import parse_scope

WEBHOOK_TOKEN_HEADER = "X-Distrosync-Webhook-Token"
# Platforms whose inventory webhooks distrosync reads (shared/adapters), and those of them that sign with a
# secret the platform issues (the operator must give it to us).
WEBHOOK_PLATFORMS = frozenset({"shopify", "bigcommerce"})
PLATFORM_ISSUED_SECRET = frozenset({"shopify"})
# Platforms whose order webhooks are thin: distrosync reads the order from their API with a token.
API_TOKEN_PLATFORMS = frozenset({"bigcommerce"})
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class PartnerAdminError(ValueError):
    pass


class EdiProfileError(PartnerAdminError):
    """A trading partner profile that cannot be: `problems` lists (field, what is wrong); field "" for the whole."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" if field else message for field, message in problems))


@dataclass(frozen=True)
class StackResources:
    """What partner administration needs from the deployed stack (its outputs)."""

    partners_table: str
    secrets_prefix: str
    usage_plans: dict[str, str]  # tier -> usage plan id
    data_key_arn: str | None = None

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> StackResources:
        plans = {k.removeprefix("UsagePlanId").lower(): v for k, v in outputs.items() if k.startswith("UsagePlanId")}
        return cls(
            partners_table=outputs["PartnersTableName"],
            secrets_prefix=outputs["PartnerSecretsPrefix"],
            usage_plans=plans,
            data_key_arn=outputs.get("DataKeyArn"),
        )


@dataclass(frozen=True)
class Credentials:
    partner: Partner
    api_key: str
    signing_secret: str


@dataclass(frozen=True)
class ChannelCredentials:
    credentials: Credentials
    webhook_secret: str | None  # None: the platform sends no webhooks we read
    webhook_secret_generated: bool  # True: a token we issued (show it once); False: the operator's own secret


def channel_scopes(partner_id: str, settings: ChannelSettings) -> list[str]:
    """A channel acts for itself and for the locations that feed it (it holds stock there for its carts)."""
    locations = [f"location:{code}" for code in settings.locations] or ["location:*"]
    return [f"channel:{partner_id}", *locations]


class PartnerAdmin:
    def __init__(self, resources: StackResources) -> None:
        self.resources = resources
        self.repo = PartnerRepository(resources.partners_table)

    def add(
        self,
        partner_id: str,
        kind: str,
        scopes: list[str],
        tier: str = "standard",
        *,
        channel: ChannelSettings | None = None,
        webhook_secret: str | None = None,
        api_token: str | None = None,
    ) -> Credentials:
        """Register a partner; for a channel, `webhook_secret` (and `api_token`) is stored under
        `channel.webhook_secret_name`."""
        if kind not in PARTNER_KINDS:
            raise PartnerAdminError(f"kind must be one of {', '.join(PARTNER_KINDS)}")
        for scope in scopes:
            try:
                parse_scope(scope)
            except ValueError as exc:
                raise PartnerAdminError(str(exc)) from None
        plan = self._plan(tier)
        if self.repo.get(partner_id) is not None:
            raise PartnerAdminError(
                f"partner '{partner_id}' already exists (use 'partners rotate' for new credentials)"
            )
        api_key, signing_secret = _new_api_key(), _new_signing_secret()
        secret_name = f"{self.resources.secrets_prefix}{partner_id}"
        key_id = api_keys.create_api_key(_key_name(partner_id), api_key, partner_id, plan)
        created: list[str] = []
        try:
            SigningSecrets.create(secret_name, signing_secret, self.resources.data_key_arn, partner_id)
            created.append(secret_name)
            partner = Partner(
                partner_id=partner_id,
                kind=kind,  # type: ignore[arg-type]
                scopes=scopes,
                tier=tier,
                api_key_id=key_id,
                secret_name=secret_name,
                created_at=datetime.now(UTC),
                channel=channel,
            )
            if channel is not None and channel.webhook_secret_name and webhook_secret:
                self._create_webhook_secret(channel.webhook_secret_name, webhook_secret, partner_id)
                created.append(channel.webhook_secret_name)
                if api_token:
                    _put_webhook_fields(channel.webhook_secret_name, {API_TOKEN_FIELD: api_token})
            self.repo.put(partner, must_not_exist=True)
        except Exception:
            api_keys.delete_api_key(key_id)
            for name in created:
                SigningSecrets.delete(name)
            raise
        return Credentials(partner, api_key, signing_secret)

    def add_channel(
        self,
        partner_id: str,
        settings: ChannelSettings,
        *,
        tier: str = "standard",
        webhook_secret: str | None = None,
        api_token: str | None = None,
    ) -> ChannelCredentials:
        """Register a sales channel: API credentials, its scopes (see `channel_scopes`), its webhook secret and,
        for BigCommerce, the API token its orders are read with."""
        _check_api_settings(settings, api_token)
        if settings.platform not in WEBHOOK_PLATFORMS:
            if webhook_secret:
                raise PartnerAdminError(f"platform {settings.platform} sends no webhooks distrosync reads")
            settings = settings.model_copy(update={"webhook_secret_name": None})
            creds = self.add(partner_id, "channel", channel_scopes(partner_id, settings), tier, channel=settings)
            return ChannelCredentials(creds, None, False)
        if settings.platform in PLATFORM_ISSUED_SECRET and not webhook_secret:
            raise PartnerAdminError(
                f"{settings.platform} signs webhooks with your app's client secret: pass it (--secret-stdin)"
            )
        generated = not webhook_secret
        secret = webhook_secret or _new_signing_secret()
        settings = settings.model_copy(update={"webhook_secret_name": self._webhook_secret_name(partner_id)})
        creds = self.add(
            partner_id,
            "channel",
            channel_scopes(partner_id, settings),
            tier,
            channel=settings,
            webhook_secret=secret,
            api_token=api_token,
        )
        return ChannelCredentials(creds, secret, generated)

    def update_channel(
        self,
        partner_id: str,
        changes: dict[str, object],
        *,
        map_locations: dict[str, str] | None = None,
        unmap_locations: list[str] | None = None,
        webhook_secret: str | None = None,
        api_token: str | None = None,
    ) -> Partner:
        """Change a channel's settings (the fields in `changes`; location mappings added or removed one by
        one) and/or replace its webhook secret or API token. Takes effect in the Lambdas within their one-minute
        caches (a token BigCommerce refuses is read again at once)."""
        partner = self.repo.get(partner_id)
        if partner is None or partner.kind != "channel":
            raise PartnerAdminError(f"no channel '{partner_id}' (register it with 'channels add')")
        if partner.channel is None and "platform" not in changes:
            raise PartnerAdminError(f"channel '{partner_id}' has no settings yet: give its platform")
        current = partner.channel.model_dump() if partner.channel else {}
        location_map = {**current.get("location_map", {}), **(map_locations or {})}
        for external in unmap_locations or []:
            if location_map.pop(external, None) is None:
                raise PartnerAdminError(f"channel location {external!r} is not mapped")
        merged = {
            **current,
            **{k: v for k, v in changes.items() if k != "webhook_secret_name"},
            "location_map": location_map,
        }
        try:
            settings = ChannelSettings.model_validate(merged)
        except ValueError as exc:
            raise PartnerAdminError(str(exc)) from None
        _check_api_settings(settings, api_token)
        if webhook_secret:
            if settings.platform not in WEBHOOK_PLATFORMS:
                raise PartnerAdminError(f"platform {settings.platform} sends no webhooks distrosync reads")
            if settings.webhook_secret_name:  # the other fields (the API token) stay
                _put_webhook_fields(settings.webhook_secret_name, {WEBHOOK_FIELD: webhook_secret})
            else:  # a channel registered with 'partners add' and given settings later
                name = self._webhook_secret_name(partner_id)
                self._create_webhook_secret(name, webhook_secret, partner_id)
                settings = settings.model_copy(update={"webhook_secret_name": name})
        if api_token:
            if not settings.webhook_secret_name:
                raise PartnerAdminError(
                    f"channel '{partner_id}' has no webhook secret to keep the API token with: give it one too "
                    "(--secret-stdin)"
                )
            _put_webhook_fields(settings.webhook_secret_name, {API_TOKEN_FIELD: api_token})
        updated = partner.model_copy(update={"channel": settings, "scopes": channel_scopes(partner_id, settings)})
        self.repo.put(updated)
        return updated

    def channels(self) -> list[Partner]:
        return [p for p in self.repo.list() if p.kind == "channel"]

    def get(self, partner_id: str) -> Partner:
        partner = self.repo.get(partner_id)
        if partner is None:
            raise PartnerAdminError(f"no partner '{partner_id}' (register it with 'partners add')")
        return partner

    def set_edi(self, partner_id: str, changes: dict[str, object]) -> Partner:
        """Give a partner its trading partner profile, or change it: the fields in `changes` over the current
        profile (a new one needs at least the partner's ISA qualifier and id and its GS id). Takes effect in the
        Lambdas within their one-minute caches."""
        partner = self.get(partner_id)
        current = partner.edi.model_dump() if partner.edi is not None else {}
        try:
            settings = EdiSettings.model_validate({**current, **changes})
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"] if not isinstance(part, int))
                missing = error["type"] == "missing"
                message = "required (the partner has no profile yet)" if missing else error["msg"]
                problems.append((field, message.removeprefix("Value error, ")))
            raise EdiProfileError(problems) from None
        problems = edi_route_problems(partner, settings)
        if problems:
            raise EdiProfileError(problems)
        updated = partner.model_copy(update={"edi": settings})
        self.repo.put(updated)
        return updated

    def _webhook_secret_name(self, partner_id: str) -> str:
        return f"{self.resources.secrets_prefix}{partner_id}/webhook"

    def _create_webhook_secret(self, name: str, secret: str, partner_id: str) -> None:
        SigningSecrets.create(
            name,
            secret,
            self.resources.data_key_arn,
            partner_id,
            field=WEBHOOK_FIELD,
            description=f"distrosync webhook secret of channel {partner_id}",
        )

    def rotate(self, partner_id: str) -> Credentials:
        """New API key and signing secret; the old key stops working at once."""
        partner = self.repo.get(partner_id)
        if partner is None:
            raise PartnerAdminError(f"no partner '{partner_id}'")
        api_key, signing_secret = _new_api_key(), _new_signing_secret()
        key_id = api_keys.create_api_key(_key_name(partner_id), api_key, partner_id, self._plan(partner.tier))
        SigningSecrets.put(partner.secret_name, signing_secret)
        rotated = partner.model_copy(update={"api_key_id": key_id, "rotated_at": datetime.now(UTC)})
        self.repo.put(rotated)
        api_keys.delete_api_key(partner.api_key_id)
        return Credentials(rotated, api_key, signing_secret)

    def list(self) -> list[Partner]:
        return self.repo.list()

    def _plan(self, tier: str) -> str:
        plan = self.resources.usage_plans.get(tier)
        if plan is None:
            raise PartnerAdminError(f"tier must be one of {', '.join(sorted(self.resources.usage_plans))}")
        return plan


def edi_route_problems(partner: Partner, settings: EdiSettings) -> list[tuple[str, str]]:
    """Outbound sets that would never reach this partner (wrong kind, or no scope of the kind that routes them), by
    the routes the EDI outbound function follows."""
    from shared.services.edi.outbound import ROUTES

    receivers = {route.set_id: (route.partner_kind, route.scope_kind) for route in ROUTES.values()}
    problems = []
    for set_id in settings.outbound_sets:
        if set_id not in receivers:
            continue  # 997s go back to whoever sent the group
        kind, scope_kind = receivers[set_id]
        if partner.kind != kind:
            problems.append(
                ("outbound_sets", f"{set_id} is sent to {kind} partners; '{partner.partner_id}' is a {partner.kind}")
            )
        elif not any(s == "*" or s.startswith(f"{scope_kind}:") for s in partner.scopes):
            problems.append(
                (
                    "outbound_sets",
                    f"{set_id} is sent for the {scope_kind}s a partner's scopes cover; '{partner.partner_id}' has no "
                    f"{scope_kind}: scope",
                )
            )
    return problems


def _check_api_settings(settings: ChannelSettings, api_token: str | None) -> None:
    """The API settings only where they are used, and a base URL that keeps the token off plain HTTP."""
    if settings.platform not in API_TOKEN_PLATFORMS:
        given = [name for name, value in (("--api-token", api_token), ("--store-hash", settings.store_hash)) if value]
        if settings.api_base_url:
            given.append("--api-base-url")
        if given:
            raise PartnerAdminError(
                f"{', '.join(given)}: only {', '.join(sorted(API_TOKEN_PLATFORMS))} orders are read from an API"
            )
        return
    if settings.api_base_url:
        url = urlsplit(settings.api_base_url)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise PartnerAdminError(f"--api-base-url must be an https URL, got {settings.api_base_url!r}")
        if url.scheme == "http" and url.hostname not in LOCAL_HOSTS:
            raise PartnerAdminError("--api-base-url must use https (plain http only for a local simulator)")


def _put_webhook_fields(secret_name: str, fields: dict[str, str]) -> None:
    """Set fields of a channel's webhook secret, keeping the others (the webhook secret beside the API token)."""
    secrets_manager = client("secretsmanager")
    current = json.loads(secrets_manager.get_secret_value(SecretId=secret_name)["SecretString"])
    secrets_manager.put_secret_value(SecretId=secret_name, SecretString=json.dumps({**current, **fields}))


def _key_name(partner_id: str) -> str:
    return f"partner-{partner_id}-{datetime.now(UTC):%Y%m%d%H%M%S}"


def _new_api_key() -> str:
    return token.token_urlsafe(30)  # 40 characters; API Gateway wants at least 20


def _new_signing_secret() -> str:
    return token.token_urlsafe(32)
