"""Connection secrets of the systems distrosync calls: `<SystemSecretsPrefix><partner id>` in Secrets Manager.

The secret is a JSON document: erpnext `{"base_url", "api_key", "api_secret"}`, webhook `{"url",
"signing_secret"}`. Reads are cached for 5 minutes per process (Powertools parameters); when a system refuses
the credentials, the dispatcher asks for a fresh copy (at most once per 30 s per secret) so that a rotation
takes effect at once. Only the outbound function may read them (IAM on the prefix).
"""

from __future__ import annotations

import json
import time
from typing import Any

from shared.aws.clients import client

SECRET_CACHE_SECONDS = 300
FORCE_INTERVAL = 30.0


class SystemSecrets:
    def __init__(self) -> None:
        self._provider: Any = None
        self._forced_at: dict[str, float] = {}

    def _secrets_provider(self) -> Any:
        """A Powertools SecretsProvider of our own (its cache lives with this object), on the shared client."""
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._provider = SecretsProvider(boto3_client=client("secretsmanager"))
        return self._provider

    def get(self, secret_name: str, *, fresh: bool = False) -> dict[str, Any]:
        """The connection document; `fresh` bypasses the cache (at most once per FORCE_INTERVAL per secret)."""
        force = False
        if fresh and time.monotonic() - self._forced_at.get(secret_name, -FORCE_INTERVAL) >= FORCE_INTERVAL:
            self._forced_at[secret_name] = time.monotonic()
            force = True
        value: Any = self._secrets_provider().get(secret_name, max_age=SECRET_CACHE_SECONDS, force_fetch=force)
        doc = json.loads(value)
        if not isinstance(doc, dict):
            raise ValueError(f"secret {secret_name} is not a JSON object")
        return doc

    def forget(self, secret_name: str) -> None:
        """Drop the cached copies (refusals are rare: all of them) and let the next `get(fresh=True)` read at once:
        a refusal stood, and ops may fix the connection and redrive any moment (the redrive must not meet the old
        copy)."""
        self._forced_at.pop(secret_name, None)
        if self._provider is not None:
            self._provider.clear_cache()

    @staticmethod
    def create(secret_name: str, connection: dict[str, Any], kms_key_id: str | None, partner_id: str) -> str:
        kwargs: dict[str, Any] = {"KmsKeyId": kms_key_id} if kms_key_id else {}
        response = client("secretsmanager").create_secret(
            Name=secret_name,
            SecretString=json.dumps(connection),
            Description=f"distrosync connection to system {partner_id}",
            Tags=[{"Key": "distrosync:partner", "Value": partner_id}, {"Key": "distrosync:kind", "Value": "system"}],
            **kwargs,
        )
        return str(response["ARN"])

    @staticmethod
    def put(secret_name: str, connection: dict[str, Any]) -> None:
        client("secretsmanager").put_secret_value(SecretId=secret_name, SecretString=json.dumps(connection))

    @staticmethod
    def restore(secret_name: str) -> None:
        """Cancel a scheduled deletion."""
        client("secretsmanager").restore_secret(SecretId=secret_name)

    @staticmethod
    def delete(secret_name: str) -> None:
        """Delete at once (no recovery window): used to undo a registration that failed half-way."""
        client("secretsmanager").delete_secret(SecretId=secret_name, ForceDeleteWithoutRecovery=True)
