"""The custom event bus of canonical business events, and an archive of everything on it."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from constructs import Construct

from infra.config import EnvConfig


class EventBus(Construct):
    def __init__(self, scope: Construct, id: str, *, config: EnvConfig) -> None:
        super().__init__(scope, id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{config.prefix}-bus")
        # Replays re-drive flows after a fix; every event of this account is kept for the retention.
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"{config.prefix}-all",
            description="Every event on the distrosync bus, for replay",
            event_pattern=events.EventPattern(account=[cdk.Stack.of(self).account]),
            retention=cdk.Duration.days(config.archive_retention_days),
        )

    @property
    def bus_name(self) -> str:
        return self.bus.event_bus_name
