"""Tables, key and logs: contract layouts, encryption, and what survives a stack deletion."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template
from cfn_reader import props, resources

KEPT_IN_PROD = ("AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::Logs::LogGroup")


@pytest.mark.parametrize("type_", KEPT_IN_PROD)
def test_prod_retains_data(prod_template_dict, type_):
    found = list(resources(prod_template_dict, type_))
    assert found
    for logical_id, resource in found:
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


@pytest.mark.parametrize("type_", KEPT_IN_PROD)
def test_dev_deletes_data(dev_template_dict, type_):
    for logical_id, resource in resources(dev_template_dict, type_):
        assert resource.get("DeletionPolicy") == "Delete", logical_id


def test_prod_tables_have_deletion_protection(prod_template_dict, dev_template_dict):
    assert all(props(t)["DeletionProtectionEnabled"] for _, t in resources(prod_template_dict, "AWS::DynamoDB::Table"))
    assert not any(
        props(t)["DeletionProtectionEnabled"] for _, t in resources(dev_template_dict, "AWS::DynamoDB::Table")
    )


def test_every_table_is_encrypted_with_the_data_key_and_has_pitr(template_dict):
    for logical_id, table in resources(template_dict, "AWS::DynamoDB::Table"):
        p = props(table)
        assert p["SSESpecification"]["SSEEnabled"] is True, logical_id
        assert p["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0].startswith("DataKey"), logical_id
        assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, logical_id
        assert p["BillingMode"] == "PAY_PER_REQUEST"


def test_partners_table_layout(dev_template: Template):
    dev_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "distrosync-dev-partners",
            "KeySchema": [{"AttributeName": "partner_id", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by-api-key",
                    "KeySchema": [{"AttributeName": "api_key_id", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )


def test_idempotency_table_layout(dev_template: Template):
    dev_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "distrosync-dev-idempotency",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )


def test_inventory_table_layout(dev_template: Template):
    dev_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": "distrosync-dev-inventory",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        },
    )


def test_one_rotating_key_usable_by_logs_alarms_and_eventbridge(dev_template: Template):
    dev_template.resource_count_is("AWS::KMS::Key", 1)
    dev_template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    for service in ("logs.us-east-1.amazonaws.com", "cloudwatch.amazonaws.com", "events.amazonaws.com"):
        dev_template.has_resource_properties(
            "AWS::KMS::Key",
            {
                "KeyPolicy": {
                    "Statement": Match.array_with(
                        [Match.object_like({"Principal": {"Service": service}, "Effect": "Allow"})]
                    )
                }
            },
        )


@pytest.mark.parametrize(("env", "days"), [("dev", 7), ("prod", 90)])
def test_log_groups_are_encrypted_with_retention(request, env, days):
    template = request.getfixturevalue(f"{env}_template_dict")
    groups = list(resources(template, "AWS::Logs::LogGroup"))
    functions = list(resources(template, "AWS::Lambda::Function"))
    machines = list(resources(template, "AWS::StepFunctions::StateMachine"))
    assert len(groups) == len(functions) + len(machines) + 1  # one per function and state machine + API access logs
    for logical_id, group in groups:
        assert "KmsKeyId" in props(group), logical_id
        assert props(group)["RetentionInDays"] == days, logical_id


def test_bus_and_archive(dev_template: Template, prod_template: Template):
    dev_template.has_resource_properties("AWS::Events::EventBus", {"Name": "distrosync-dev-bus"})
    dev_template.has_resource_properties("AWS::Events::Archive", {"RetentionDays": 7})
    prod_template.has_resource_properties("AWS::Events::Archive", {"RetentionDays": 90})
