"""Contract outputs, cdk-nag and cfn-lint over the synthesized templates."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_sqs as sqs
from cfnlint.api import lint_file

from infra.synth import build_app

CONTRACT_OUTPUTS = {
    "ApiUrl",
    "EventBusName",
    "PartnersTableName",
    "IdempotencyTableName",
    "InventoryTableName",
    "ReservationsTableName",
    "SuppliersTableName",
    "PurchasingTableName",
    "OrdersTableName",
    "OrderFlowStateMachineArn",
    "SystemSecretsPrefix",
    "PartnerSecretsPrefix",
    "DataKeyArn",
    "AlarmTopicArn",
    "EdiBucketName",
    "EdiTableName",
    "ClaimCheckBucketName",
    "EventArchiveName",
    "JournalTableName",
    "UsagePlanIdSandbox",
    "UsagePlanIdStandard",
    "UsagePlanIdPremium",
}
ALLOWED_LINT_RULES = {"W3005"}  # CDK's redundant DependsOn next to a GetAtt


def test_outputs_are_exactly_the_contract(template_dict):
    assert set(template_dict["Outputs"]) == CONTRACT_OUTPUTS


def test_static_outputs(dev_template_dict):
    outputs = dev_template_dict["Outputs"]
    assert outputs["PartnerSecretsPrefix"]["Value"] == "distrosync-dev/partners/"
    assert outputs["EventBusName"]["Value"]["Ref"].startswith("EventsBus")
    assert outputs["DataKeyArn"]["Value"]["Fn::GetAtt"] == [outputs["DataKeyArn"]["Value"]["Fn::GetAtt"][0], "Arn"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cdk_nag_passes(request, env):
    """The session synth ran the AwsSolutions checks (a finding raises); the report shows no violation."""
    path = request.getfixturevalue(f"{env}_template_path")
    report = json.loads((path.parent / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []


def test_cdk_nag_findings_fail_synth(tmp_path):
    app, stack = build_app("dev", outdir=tmp_path, bundling=False)
    sqs.Queue(stack, "CarelessQueue")  # no DLQ, no SSL enforcement: AwsSolutions-SQS3 / SQS4
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cfn_lint_finds_no_errors(request, env):
    matches = lint_file(request.getfixturevalue(f"{env}_template_path"))
    problems = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in ALLOWED_LINT_RULES]
    assert problems == []
