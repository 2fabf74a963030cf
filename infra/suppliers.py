"""Supplier master: the suppliers table (golden records, source records, cross-references, match keys, the
stewardship queue) and its API routes on the ingress (docs/supplier-collaboration.md)."""

from __future__ import annotations

from constructs import Construct

from infra.api import PartnerApi
from infra.functions import ApiHandlers
from infra.platform import Platform
from infra.tables import OUTBOX_STREAM, data_table

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/supplier-records"),
    ("GET", "/v1/suppliers/{supplier_id}"),  # the same path part as purchasing's lead-time routes (one resource)
)


class Suppliers(Construct):
    def __init__(self, scope: Construct, id: str, *, platform: Platform, api: PartnerApi, ingress: ApiHandlers) -> None:
        super().__init__(scope, id)
        self.table = data_table(
            self,
            "Table",
            config=platform.config,
            key=platform.key,
            name="suppliers",
            partition_key="pk",
            sort_key="sk",
            stream=OUTBOX_STREAM,
        )
        ingress.add_environment("SUPPLIERS_TABLE_NAME", self.table.table_name)
        ingress.add_environment("DATA_KEY_ARN", platform.key.key_arn)
        ingress.grant_table(self.table, write=True)
        # Bank accounts are encrypted field by field with the data key before they are stored
        # (shared/aws/field_crypto.py): Encrypt and Decrypt only, no data keys or re-encryption.
        ingress.grant(lambda function: platform.key.grant(function, "kms:Encrypt", "kms:Decrypt"))
        for method, path in ROUTES:
            api.add_route(method, path, ingress.function)
