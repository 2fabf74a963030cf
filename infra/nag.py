"""cdk-nag (3.x) wiring and the one way we acknowledge a finding. Policy: docs/adr/0003-cdk-nag-acknowledgments.md."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

MIN_REASON_LENGTH = 40


def check(app: cdk.App) -> None:
    """Run the AwsSolutions pack at synth; any unacknowledged finding makes synth raise."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge `rule` (e.g. `AwsSolutions-IAM5[Resource::*]`) for `scope` and everything below it.

    The reason must say why the finding does not apply or what mitigates it, concretely.
    """
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledging {rule} needs a concrete reason, got {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
