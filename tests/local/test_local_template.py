"""Template loading, intrinsic functions and creation order (pure: no synth, no moto)."""

import json

import pytest

from local.provision import physical_name
from local.template import (
    PseudoParameters,
    Resolver,
    StackTemplate,
    TemplateError,
    UnresolvedReference,
    creation_order,
    load_template,
)

BODY = {
    "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
    },
    "Mappings": {"Sizes": {"dev": {"Memory": 128}}},
    "Resources": {
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}]}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "DependsOn": "Role",
            "Properties": {"Environment": {"Variables": {"T": {"Fn::Sub": "${Table}-${Queue.QueueName}"}}}},
        },
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": {"Ref": "Key"}}},
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Role": {"Type": "AWS::IAM::Role"},
        "Key": {"Type": "AWS::KMS::Key"},
    },
}
PSEUDO = PseudoParameters(region="eu-west-1", account_id="123456789012", stack_name="demo")
STATE = {
    ("Queue", None): "https://sqs/q",
    ("Queue", "Arn"): "arn:aws:sqs:eu-west-1:123456789012:q",
    ("Queue", "QueueName"): "q",
    ("Table", None): "items",
}


def lookup(logical_id, attribute):
    if (logical_id, attribute) not in STATE:
        raise UnresolvedReference(logical_id, attribute)
    return STATE[(logical_id, attribute)]


@pytest.fixture
def resolver():
    return Resolver(StackTemplate(body=BODY, stack_name="demo", path=None), PSEUDO, lookup)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "AWS::AccountId"}, "123456789012"),
        ({"Ref": "AWS::Partition"}, "aws"),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "AWS::StackName"}, "demo"),
        ({"Ref": "Env"}, "dev"),
        ({"Ref": "Queue"}, "https://sqs/q"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:123456789012:q"),
        ({"Fn::GetAtt": "Queue.QueueName"}, "q"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Table"}, 3]]}, "a-items-3"),
        (
            {"Fn::Sub": "${AWS::StackName}/${Table}/${Queue.Arn}/${!Literal}"},
            "demo/items/arn:aws:sqs:eu-west-1:123456789012:q/${Literal}",
        ),
        ({"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Table"}}]}, "items-eu-west-1"),
        ({"Fn::Select": [1, {"Fn::Split": [":", {"Fn::GetAtt": ["Queue", "Arn"]}]}]}, "aws"),
        ({"Fn::If": ["IsProd", "big", "small"]}, "small"),
        ({"Fn::If": ["NotProd", "yes", "no"]}, "yes"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Memory"]}, 128),
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::ToJsonString": {"a": {"Ref": "Table"}}}, '{"a":"items"}'),
    ],
)
def test_intrinsic_functions(resolver, expression, expected):
    assert resolver.resolve(expression) == expected


def test_no_value_removes_keys_and_list_items(resolver):
    no_value = {"Ref": "AWS::NoValue"}
    value = {"Keep": 1, "Drop": {"Fn::If": ["IsProd", 2, no_value]}, "List": [1, no_value]}
    assert resolver.resolve(value) == {"Keep": 1, "List": [1]}


def test_parameter_values_override_defaults():
    resolver = Resolver(StackTemplate(body=BODY, stack_name="demo", path=None), PSEUDO, lookup, {"Env": "prod"})
    assert resolver.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"


def test_a_reference_to_something_not_created_yet_is_an_error(resolver):
    with pytest.raises(UnresolvedReference, match="Rule"):
        resolver.resolve({"Ref": "Rule"})


def test_creation_order_follows_ref_getatt_sub_and_depends_on():
    order = [r.logical_id for r in creation_order(StackTemplate(body=BODY, stack_name="demo", path=None))]
    assert order.index("Key") < order.index("Queue") < order.index("Rule")
    assert order.index("Queue") < order.index("Fn") and order.index("Table") < order.index("Fn")
    assert order.index("Role") < order.index("Fn")  # DependsOn


def test_a_cycle_is_reported():
    body = {
        "Resources": {
            "A": {"Type": "AWS::SQS::Queue", "Properties": {"X": {"Ref": "B"}}},
            "B": {"Type": "AWS::SQS::Queue", "Properties": {"X": {"Fn::GetAtt": ["A", "Arn"]}}},
        }
    }
    with pytest.raises(TemplateError, match="circular"):
        creation_order(StackTemplate(body=body, stack_name="s", path=None))


def test_physical_names_are_readable_deterministic_and_fit():
    assert physical_name("demo", "WorkQueue1234ABCD", 80) == "demo-WorkQueue1234ABCD"
    long = physical_name("distrosync-dev", "A" * 100, 64)
    assert len(long) == 64 and long == physical_name("distrosync-dev", "A" * 100, 64)
    fifo = physical_name("s", "Q" * 90, 80, ".fifo")
    assert fifo.endswith(".fifo") and len(fifo) == 80


def test_load_from_a_cloud_assembly_or_a_template_file(tmp_path):
    (tmp_path / "one.template.json").write_text(json.dumps({"Resources": {}}))
    (tmp_path / "two.template.json").write_text(json.dumps({"Resources": {}}))
    manifest = {
        "artifacts": {
            name: {
                "type": "aws:cloudformation:stack",
                "environment": "aws://123456789012/eu-central-1",
                "properties": {"templateFile": f"{name}.template.json"},
            }
            for name in ("one", "two")
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TemplateError, match="several stacks"):
        load_template(tmp_path)
    from_dir = load_template(tmp_path, "two")
    from_file = load_template(tmp_path / "two.template.json")
    assert (from_dir.stack_name, from_dir.region, from_dir.account) == ("two", "eu-central-1", "123456789012")
    assert (from_file.stack_name, from_file.region) == ("two", "eu-central-1")
