"""The journal: every distrosync event on the bus, one item per business key, for `distrosync trace`.

bus (source distrosync.*) --> queue --> journal --> journal table (pk KEY#<kind>:<value>, sk <received>#<id>, TTL)
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from constructs import Construct

from infra.flow import EventFlow
from infra.functions import ServiceFunction
from infra.platform import Platform
from infra.tables import data_table
from shared.canonical.envelope import EVENT_SOURCE_PREFIX

TTL_ATTRIBUTE = "expires_at"


class Journal(Construct):
    def __init__(self, scope: Construct, id: str, *, platform: Platform) -> None:
        super().__init__(scope, id)
        config = platform.config
        self.table = data_table(
            self,
            "Table",
            config=config,
            key=platform.key,
            name="journal",
            partition_key="pk",
            sort_key="sk",
            ttl_attribute=TTL_ATTRIBUTE,
        )
        self.handler = ServiceFunction(
            self,
            "Journal",
            name="journal",
            description="Journals every distrosync event under its business keys (distrosync trace)",
            platform=platform,
            environment={
                "JOURNAL_TABLE_NAME": self.table.table_name,
                "JOURNAL_RETENTION_DAYS": str(config.journal_retention_days),
            },
        )
        # BatchWriteItem only (the journal never reads, updates or deletes), and the table's key for it.
        self.table.grant(self.handler.function, "dynamodb:BatchWriteItem")
        platform.key.grant(
            self.handler.function, "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"
        )
        self.flow = EventFlow(
            self,
            "Flow",
            platform=platform,
            handler=self.handler,
            event_pattern=events.EventPattern(source=events.Match.prefix(f"{EVENT_SOURCE_PREFIX}.")),
            label="every distrosync event",
        )
