"""The webhook adapter: the canonical envelope, exactly as published, POSTed to the system's URL.

Signed like the requests partners send us (shared/http/signing.py): `X-Distrosync-Timestamp` and
`X-Distrosync-Signature: sha256=<HMAC-SHA256(signing secret, timestamp + "." + body)>`, plus
`X-Distrosync-Event-Id` (receivers deduplicate on it) and `X-Distrosync-Event-Type`. Any 2xx is delivered;
401/403 are `refused` (a secret to fix), other 4xx reject, 408/425/429/5xx and no answer are retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.adapters.outbound import CREDENTIAL_STATUSES, DeliveryResult, refusal
from shared.adapters.outbound.http import Deadline, Outcome, RetryPolicy, Transport
from shared.canonical.envelope import Envelope
from shared.http.signing import signed_headers

EVENT_ID_HEADER = "X-Distrosync-Event-Id"
EVENT_TYPE_HEADER = "X-Distrosync-Event-Type"


class WebhookAdapter:
    name = "webhook"

    def __init__(
        self,
        system: str,
        connection: Mapping[str, Any],
        policy: RetryPolicy,
        *,
        now: Callable[[], float] = time.time,
        **transport: Any,
    ) -> None:
        self.system = system
        self.signing_secret = str(connection["signing_secret"])
        self.transport = Transport(system, str(connection["url"]), policy=policy, **transport)
        self.now = now

    def deadline(self) -> Deadline:
        return self.transport.deadline()

    def deliver(self, envelope: Envelope[Any], detail: Mapping[str, Any], deadline: Deadline) -> DeliveryResult:
        body = json.dumps(detail, separators=(",", ":")).encode()
        headers = {
            **signed_headers(self.signing_secret, body, int(self.now())),
            EVENT_ID_HEADER: envelope.id,
            EVENT_TYPE_HEADER: envelope.type,
            "Content-Type": "application/json",
        }
        call = self.transport.call(
            f"post_{envelope.type}",
            "POST",
            "",
            correlation_id=envelope.correlation_id,
            deadline=deadline,
            body=body,
            headers=headers,
        )
        if call.ok:
            return DeliveryResult("delivered", f"HTTP {call.status}", [call])
        if call.status in CREDENTIAL_STATUSES:
            return DeliveryResult("refused", refusal(call.status, call.body.decode("utf-8", "replace")), [call])
        transient = call.outcome is Outcome.TRANSIENT
        if call.status is None:
            reason = call.describe()
        else:
            reason = f"HTTP {call.status}: {call.body.decode('utf-8', 'replace').strip()[:500] or 'no body'}"
        return DeliveryResult("failed" if transient else "rejected", reason, [call])
