"""The EDI bucket (docs/edi.md, "Gateway"): files partners drop under `inbound/<partner>/`, files distrosync writes
for them under `outbound/<partner>/`. Objects are encrypted with the bucket's default KMS key (nothing is passed per
request, so the key stays the bucket's business).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from shared.aws.clients import client

MAX_FILE_BYTES = 20 * 1024 * 1024
INBOUND_PREFIX = "inbound/"
OUTBOUND_PREFIX = "outbound/"
X12_CONTENT_TYPE = "application/edi-x12"
_PARTNER = re.compile(r"^[a-z0-9][a-z0-9\-]{1,62}$")  # PARTNER_ID_PATTERN
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$")


class EdiFileError(Exception):
    """An object that cannot be read for good (missing, too large): retrying changes nothing."""


class EdiFileMissing(EdiFileError):
    pass


class EdiFileTooLarge(EdiFileError):
    pass


def inbound_key(partner_id: str, body: bytes) -> str:
    """`inbound/<partner>/<sha256 of the body>.x12`: the same body sent twice is the same object."""
    return f"{INBOUND_PREFIX}{_partner(partner_id)}/{hashlib.sha256(body).hexdigest()}.x12"


def outbound_key(partner_id: str, name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"outbound file name {name!r} must be letters, digits, '.', '_' or '-' (no path)")
    return f"{OUTBOUND_PREFIX}{_partner(partner_id)}/{name}"


def partner_of(key: str) -> str | None:
    """The partner of an `inbound/<partner>/...` or `outbound/<partner>/...` key (None for any other key)."""
    parts = key.split("/")
    if len(parts) < 3 or f"{parts[0]}/" not in (INBOUND_PREFIX, OUTBOUND_PREFIX) or not parts[-1]:
        return None
    return parts[1] if _PARTNER.match(parts[1]) else None


def _partner(partner_id: str) -> str:
    if not _PARTNER.match(partner_id):
        raise ValueError(f"{partner_id!r} is not a partner id")
    return partner_id


class EdiFiles:
    def __init__(self, bucket: str) -> None:
        if not bucket:
            raise ValueError("no EDI bucket configured (EDI_BUCKET_NAME)")
        self.bucket = bucket

    def get(self, key: str, *, max_bytes: int = MAX_FILE_BYTES, bucket: str | None = None) -> bytes:
        """The object's bytes. Raises `EdiFileMissing`, or `EdiFileTooLarge` (from the size S3 announces, before
        the body is read)."""
        s3 = client("s3")
        try:
            response = s3.get_object(Bucket=bucket or self.bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            raise EdiFileMissing(f"s3://{bucket or self.bucket}/{key} does not exist (deleted since?)") from None
        body: Any = response["Body"]
        size = int(response.get("ContentLength", 0))
        if size > max_bytes:
            body.close()
            raise EdiFileTooLarge(f"{key} has {size} bytes; EDI files may have at most {max_bytes}")
        data: bytes = body.read(max_bytes + 1)
        body.close()
        if len(data) > max_bytes:  # the announced length lied
            raise EdiFileTooLarge(f"{key} has more than {max_bytes} bytes; EDI files may have at most {max_bytes}")
        return data

    def exists(self, key: str) -> bool:
        """Whether `key` is in the bucket (a retry finds the files an earlier attempt wrote). A listing, not a
        HeadObject: it needs s3:ListBucket only, not read access to what distrosync writes for partners."""
        response = client("s3").list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(item.get("Key") == key for item in response.get("Contents", []))

    def put_inbound(self, partner_id: str, body: bytes) -> str:
        """Keep a file the partner sent (webhook) where a dropped file would be; returns its key."""
        key = inbound_key(partner_id, body)
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=X12_CONTENT_TYPE)
        return key

    def delete(self, key: str) -> None:
        """Remove a file distrosync wrote (one that lost to a concurrent copy, before the partner picks it up)."""
        client("s3").delete_object(Bucket=self.bucket, Key=key)

    def put_outbound(self, partner_id: str, name: str, body: str) -> str:
        """Write a file for the partner to pick up (`outbound/<partner>/<name>`); returns its key."""
        key = outbound_key(partner_id, name)
        client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=body.encode("utf-8"), ContentType="text/plain; charset=utf-8"
        )
        return key
