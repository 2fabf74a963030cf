"""Registering the systems distrosync keeps in sync (run by operators through the CLI, not by Lambdas).

A system is a partner (it may call our API like any partner: API key + signing secret, through `PartnerAdmin`)
whose record carries `outbound` settings: its adapter, its subscriptions, and the name of its connection
secret `<SystemSecretsPrefix><partner id>` (erpnext `{"base_url", "api_key", "api_secret"}`, webhook `{"url",
"signing_secret"}`; for a webhook distrosync generates the signing secret and shows it once).

An existing partner (e.g. the ERP already sending us purchase orders) is connected in place: it keeps its API
credentials. Subscriptions an adapter cannot serve are refused here, not discovered at delivery time.
"""

from __future__ import annotations

import secrets as token
from dataclasses import dataclass
from typing import Any

from shared.adapters.outbound import (
    DELIVERABLE_EVENT_TYPES,
    ConnectionSettingsError,
    check_connection,
    unsupported,
)
from shared.aws.partners import PartnerRepository
from shared.aws.system_secrets import SystemSecrets
from shared.canonical.partner import OUTBOUND_ADAPTERS, OutboundSettings, Partner
from shared.services.partner_admin import Credentials, PartnerAdmin, PartnerAdminError, StackResources


@dataclass(frozen=True)
class Reconnection:
    partner: Partner
    changed: list[str]  # the connection fields replaced (never their values)
    webhook_signing_secret: str | None  # the new one, to give the receiver, when rotated


@dataclass(frozen=True)
class SystemRegistration:
    partner: Partner
    credentials: Credentials | None  # None: the partner existed, its API credentials are unchanged
    webhook_signing_secret: str | None  # webhook adapter: the secret distrosync signs with (show it once)


class SystemAdmin:
    def __init__(self, resources: StackResources, system_secrets_prefix: str) -> None:
        self.resources = resources
        self.system_secrets_prefix = system_secrets_prefix
        self.partners = PartnerAdmin(resources)
        self.repo = PartnerRepository(resources.partners_table)

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> SystemAdmin:
        return cls(StackResources.from_outputs(outputs), outputs["SystemSecretsPrefix"])

    def add(
        self,
        partner_id: str,
        kind: str,
        adapter: str,
        *,
        subscriptions: list[str],
        url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        scopes: list[str] | None = None,
        tier: str = "standard",
        timeout_seconds: float | None = None,
        max_attempts: int | None = None,
    ) -> SystemRegistration:
        """Register (or connect an existing partner as) a system reached through `adapter`."""
        subscriptions = list(dict.fromkeys(subscriptions))
        settings = self._settings(partner_id, adapter, subscriptions, timeout_seconds, max_attempts)
        signing_secret = token.token_urlsafe(32) if adapter == "webhook" else None
        connection = _connection(adapter, url, api_key, api_secret, signing_secret)
        existing = self.repo.get(partner_id)
        if existing is not None:
            if existing.outbound is not None:
                raise PartnerAdminError(f"system '{partner_id}' is already connected ({existing.outbound.adapter})")
            if existing.kind != kind:
                raise PartnerAdminError(f"partner '{partner_id}' exists with kind {existing.kind}, not {kind}")
        elif tier not in self.resources.usage_plans:
            raise PartnerAdminError(f"tier must be one of {', '.join(sorted(self.resources.usage_plans))}")
        try:
            SystemSecrets.create(settings.secret_name, connection, self.resources.data_key_arn, partner_id)
        except Exception as exc:
            if type(exc).__name__ == "ResourceExistsException":
                raise PartnerAdminError(f"a connection secret {settings.secret_name} exists already") from None
            raise
        try:
            credentials = None
            partner = existing
            if partner is None:
                credentials = self.partners.add(partner_id, kind, scopes or [], tier)
                partner = credentials.partner
            partner = partner.model_copy(update={"outbound": settings})
            self.repo.put(partner)
        except Exception:
            SystemSecrets.delete(settings.secret_name)
            raise
        if credentials is not None:
            credentials = Credentials(partner, credentials.api_key, credentials.signing_secret)
        return SystemRegistration(partner, credentials, signing_secret)

    def list(self) -> list[Partner]:
        return [p for p in self.repo.list() if p.outbound is not None]

    def connect(
        self,
        partner_id: str,
        *,
        url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        rotate_signing_secret: bool = False,
    ) -> Reconnection:
        """Fix or rotate a connected system's connection (what a refusal of our credentials asks ops for): the
        given fields replace those of its connection secret, which is checked as a whole before it is written.
        Deliveries read it afresh after a refusal, so a `dlq redrive` right after goes through."""
        partner = self.repo.get(partner_id)
        if partner is None or partner.outbound is None:
            raise PartnerAdminError(f"no connected system '{partner_id}' (see 'distrosync systems list')")
        adapter = partner.outbound.adapter
        changes: dict[str, str] = {}
        if url is not None:
            changes["base_url" if adapter == "erpnext" else "url"] = url
        if adapter == "erpnext":
            if rotate_signing_secret:
                raise PartnerAdminError("--rotate-signing-secret: an erpnext connection has no signing secret")
            changes.update({k: v for k, v in (("api_key", api_key), ("api_secret", api_secret)) if v is not None})
        elif api_key is not None or api_secret is not None:
            raise PartnerAdminError(
                f"--api-key/--api-secret: a {adapter} connection has none (--url, --rotate-signing-secret)"
            )
        signing_secret = token.token_urlsafe(32) if rotate_signing_secret else None
        if signing_secret is not None:
            changes["signing_secret"] = signing_secret
        if not changes:
            raise PartnerAdminError("nothing to change: give --url, --api-key, --api-secret or --rotate-signing-secret")
        name = partner.outbound.secret_name
        try:
            current = SystemSecrets().get(name, fresh=True)
        except Exception:  # missing or unreadable (what the refusal may have been about): start from nothing
            current = {}
        connection = {**current, **changes}
        try:
            check_connection(adapter, connection)
        except ConnectionSettingsError as exc:
            raise PartnerAdminError(str(exc).replace("base_url", "url (--url)")) from None
        try:
            SystemSecrets.put(name, connection)
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":  # deleted: a new one under the same name
                SystemSecrets.create(name, connection, self.resources.data_key_arn, partner_id)
            elif code == "InvalidRequestException" and "deletion" in str(exc):  # scheduled for deletion: undone
                SystemSecrets.restore(name)
                SystemSecrets.put(name, connection)
            else:
                raise
        return Reconnection(partner, sorted(changes), signing_secret)

    def _settings(
        self,
        partner_id: str,
        adapter: str,
        subscriptions: list[str],
        timeout_seconds: float | None,
        max_attempts: int | None,
    ) -> OutboundSettings:
        if adapter not in OUTBOUND_ADAPTERS:
            raise PartnerAdminError(f"adapter must be one of {', '.join(OUTBOUND_ADAPTERS)}")
        if not subscriptions:
            raise PartnerAdminError("subscribe the system to at least one event type (--subscribe TYPE)")
        unknown = sorted(set(subscriptions) - set(DELIVERABLE_EVENT_TYPES))
        if unknown:
            raise PartnerAdminError(
                f"not deliverable: {', '.join(unknown)} (deliverable: {', '.join(DELIVERABLE_EVENT_TYPES)})"
            )
        refused = unsupported(adapter, subscriptions)
        if refused:
            raise PartnerAdminError(f"the {adapter} adapter cannot deliver {', '.join(refused)}")
        extra: dict[str, Any] = {}
        if timeout_seconds is not None:
            extra["timeout_seconds"] = timeout_seconds
        if max_attempts is not None:
            extra["max_attempts"] = max_attempts
        try:
            return OutboundSettings(
                adapter=adapter,  # type: ignore[arg-type]
                secret_name=f"{self.system_secrets_prefix}{partner_id}",
                subscriptions=subscriptions,
                **extra,
            )
        except ValueError as exc:
            raise PartnerAdminError(str(exc)) from None


def _connection(
    adapter: str, url: str, api_key: str | None, api_secret: str | None, signing_secret: str | None
) -> dict[str, str]:
    if adapter == "erpnext":
        connection = {"base_url": url, "api_key": api_key or "", "api_secret": api_secret or ""}
    else:
        connection = {"url": url, "signing_secret": signing_secret or ""}
    try:
        check_connection(adapter, connection)
    except ConnectionSettingsError as exc:
        raise PartnerAdminError(str(exc).replace("base_url", "url (--url)")) from None
    return connection
