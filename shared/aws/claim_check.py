"""Claim check (ADR 0016): reading the envelope a claim-check pointer names, for consumers.

`shared.aws.bus` writes an envelope too large for EventBridge to the claim-check bucket and publishes a pointer;
`envelope_from_eventbridge` here is `shared.canonical.parse`'s with the S3 read plugged in (the canonical package
reaches no AWS). The object is read only for a pointer; its sha256, id and type are checked against the pointer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.aws.clients import client
from shared.canonical import parse
from shared.canonical.envelope import Envelope, EventData


def fetch(claim: Mapping[str, Any]) -> bytes:
    """The bytes of a claim (`{bucket, key, sha256}`)."""
    return bytes(client("s3").get_object(Bucket=claim["bucket"], Key=claim["key"])["Body"].read())


def envelope_from_eventbridge(event: dict[str, Any] | str) -> Envelope[EventData]:
    """An EventBridge event (dict, or the JSON an SQS target receives) -> its whole canonical envelope."""
    return parse.envelope_from_eventbridge(event, fetch_claim=fetch)
