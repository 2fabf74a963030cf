"""Every SQS-fed function knows its dead-letter queues (DEAD_LETTERS) and may do what its consumer does with them,
and nothing more (docs/reliability.md, "SQS consumers")."""

from __future__ import annotations

import json
from typing import Any

from cfn_reader import props, ref_id, resources

from infra.config import load_config


def _sqs_fed_functions(template: dict[str, Any]) -> dict[str, set[str]]:
    """Function logical id -> logical ids of the queues feeding it."""
    fed: dict[str, set[str]] = {}
    for _, mapping in resources(template, "AWS::Lambda::EventSourceMapping"):
        queue_id = ref_id(props(mapping)["EventSourceArn"])
        if template["Resources"][queue_id]["Type"] == "AWS::SQS::Queue":
            fed.setdefault(ref_id(props(mapping)["FunctionName"]), set()).add(queue_id)
    return fed


def _resolve_refs(value: Any) -> str:
    """A string environment value with every `{"Ref": id}` written as `ref:<id>` (what DEAD_LETTERS is made of)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_resolve_refs(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"ref:{value['Ref']}"
    raise AssertionError(f"unexpected token in an environment value: {value}")


def _environment(template: dict[str, Any], function_id: str) -> dict[str, Any]:
    return props(template["Resources"][function_id])["Environment"]["Variables"]


def _statements(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role_id = ref_id(props(template["Resources"][function_id])["Role"])
    return [
        statement
        for _, policy in resources(template, "AWS::IAM::Policy")
        if any(ref_id(role) == role_id for role in props(policy)["Roles"])
        for statement in props(policy)["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _resource_ids(statement: dict[str, Any]) -> set[str | None]:
    found = statement["Resource"]
    return {ref_id(r) for r in (found if isinstance(found, list) else [found])}


def test_every_sqs_fed_function_knows_exactly_its_dead_letter_queues(template_dict):
    fed = _sqs_fed_functions(template_dict)
    assert {"projector", "outbound", "promiser", "edi_inbound", "edi_outbound", "order_starter"} <= {
        _environment(template_dict, fid)["POWERTOOLS_SERVICE_NAME"] for fid in fed
    }
    for function_id, queue_ids in fed.items():
        variables = _environment(template_dict, function_id)
        dead_letters = json.loads(_resolve_refs(variables["DEAD_LETTERS"]))
        expected = {}
        for queue_id in queue_ids:
            queue = props(template_dict["Resources"][queue_id])
            expected[queue["QueueName"]] = {
                "dlq": f"ref:{ref_id(queue['RedrivePolicy']['deadLetterTargetArn'])}",
                "queue": f"ref:{queue_id}",
                "max_receive_count": queue["RedrivePolicy"]["maxReceiveCount"],
            }
        assert dead_letters == expected, function_id


def test_retry_settings_come_from_the_configuration(dev_template_dict, prod_template_dict):
    for env, template in (("dev", dev_template_dict), ("prod", prod_template_dict)):
        settings = load_config(env).queue
        for function_id in _sqs_fed_functions(template):
            variables = _environment(template, function_id)
            assert variables["RETRY_BASE_SECONDS"] == str(settings.retry_base_seconds)
            assert variables["RETRY_MAX_SECONDS"] == str(settings.retry_max_seconds)
            assert variables["PARTNER_WAIT_HOURS"] == str(settings.partner_wait_hours)
    assert load_config("dev").queue.retry_max_seconds < load_config("prod").queue.retry_max_seconds


def test_sqs_fed_functions_send_only_to_their_dlqs_and_source_queues(template_dict):
    for function_id, queue_ids in _sqs_fed_functions(template_dict).items():
        dlq_ids = {
            ref_id(props(template_dict["Resources"][q])["RedrivePolicy"]["deadLetterTargetArn"]) for q in queue_ids
        }
        statements = _statements(template_dict, function_id)
        send_to: set[str | None] = set()
        for statement in statements:
            sqs_actions = {a for a in _actions(statement) if a.startswith("sqs:")}
            assert "sqs:*" not in sqs_actions and "sqs:Send*" not in sqs_actions, function_id
            if "sqs:SendMessage" in sqs_actions:
                send_to |= _resource_ids(statement)
            if "sqs:ChangeMessageVisibility" in sqs_actions:
                assert _resource_ids(statement) <= queue_ids, function_id
        assert send_to == dlq_ids | queue_ids, function_id
        visibility = {
            rid
            for statement in statements
            if "sqs:ChangeMessageVisibility" in _actions(statement)
            for rid in _resource_ids(statement)
        }
        assert visibility == queue_ids, function_id


def test_sqs_fed_functions_may_encrypt_for_their_queues(template_dict):
    for function_id, queue_ids in _sqs_fed_functions(template_dict).items():
        key_ids = {ref_id(props(template_dict["Resources"][q])["KmsMasterKeyId"]) for q in queue_ids}
        allowed: dict[str | None, set[str]] = {}
        for statement in _statements(template_dict, function_id):
            for rid in _resource_ids(statement):
                allowed.setdefault(rid, set()).update(_actions(statement))
        for key_id in key_ids:
            assert {"kms:GenerateDataKey", "kms:Decrypt"} <= allowed.get(key_id, set()), function_id
