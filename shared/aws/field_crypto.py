"""Field-level encryption of a supplier's bank account with the stack's data key (KMS, `DATA_KEY_ARN`).

The whole account (number, routing, BIC, holder) is encrypted as one JSON value. The encryption context names
the source record it came from (`supplier_record: <system>/<local id>`): a ciphertext copied to another record
does not decrypt there, and CloudTrail shows which supplier's account was read. The context names the source
record rather than the golden id, so merges and splits never need to re-encrypt. Only `mask` output may be shown.
"""

from __future__ import annotations

import base64

from shared.aws.clients import client

PURPOSE = "supplier-bank-account"


def mask(number: str) -> str:
    """`DE89370400440532013000` -> `****3000`."""
    digits = "".join(number.split())
    return "****" + digits[-4:] if len(digits) > 4 else "****"


def context(record: str) -> dict[str, str]:
    return {"purpose": PURPOSE, "supplier_record": record}


class FieldCrypto:
    def __init__(self, key_arn: str) -> None:
        if not key_arn:
            raise ValueError("no data key: set DATA_KEY_ARN")
        self.key_arn = key_arn

    def encrypt(self, plaintext: str, *, record: str) -> str:
        """Base64 of the KMS ciphertext (one Encrypt call; the plaintext is at most a few hundred bytes)."""
        response = client("kms").encrypt(
            KeyId=self.key_arn, Plaintext=plaintext.encode(), EncryptionContext=context(record)
        )
        return base64.b64encode(response["CiphertextBlob"]).decode()

    def decrypt(self, ciphertext: str, *, record: str) -> str:
        response = client("kms").decrypt(
            KeyId=self.key_arn, CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=context(record)
        )
        return bytes(response["Plaintext"]).decode()
