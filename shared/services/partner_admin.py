"""Registering partners and rotating their credentials (run by operators through the CLI, not by Lambdas).

A partner gets an API Gateway API key on its tier's usage plan and a request-signing secret in Secrets
Manager. Both are shown once, at creation or rotation; distrosync keeps only the key id and secret name.
"""

from __future__ import annotations

import secrets as token
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.aws import api_keys
from shared.aws.partners import PartnerRepository, SigningSecrets
from shared.canonical.partner import PARTNER_KINDS, Partner
from shared.domain.scopes import parse_scope


class PartnerAdminError(ValueError):
    pass


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


class PartnerAdmin:
    def __init__(self, resources: StackResources) -> None:
        self.resources = resources
        self.repo = PartnerRepository(resources.partners_table)

    def add(self, partner_id: str, kind: str, scopes: list[str], tier: str = "standard") -> Credentials:
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
        try:
            SigningSecrets.create(secret_name, signing_secret, self.resources.data_key_arn, partner_id)
            partner = Partner(
                partner_id=partner_id,
                kind=kind,  # type: ignore[arg-type]
                scopes=scopes,
                tier=tier,
                api_key_id=key_id,
                secret_name=secret_name,
                created_at=datetime.now(UTC),
            )
            self.repo.put(partner, must_not_exist=True)
        except Exception:
            api_keys.delete_api_key(key_id)
            raise
        return Credentials(partner, api_key, signing_secret)

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


def _key_name(partner_id: str) -> str:
    return f"partner-{partner_id}-{datetime.now(UTC):%Y%m%d%H%M%S}"


def _new_api_key() -> str:
    return token.token_urlsafe(30)  # 40 characters; API Gateway wants at least 20


def _new_signing_secret() -> str:
    return token.token_urlsafe(32)
