"""Partner circuit breakers as synthesized (docs/reliability.md, "Partner outages"; ADR 0017): the functions that
call partner systems get the breaker policy of their environment and may read and conditionally write the
`BREAKER#<partner>` items of the idempotency table, and nothing else is granted for it."""

from __future__ import annotations

from typing import Any

from cfn_reader import props, ref_id, resources

from infra.config import load_config
from shared.domain.circuit import BreakerPolicy

# Functions that call partner systems through the outbound dispatcher.
BREAKER_FUNCTIONS = ("outbound", "order_flow")
BREAKER_ACTIONS = {"dynamodb:BatchGetItem", "dynamodb:PutItem"}


def _function(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found, *others) = [
        (lid, resource)
        for lid, resource in resources(template, "AWS::Lambda::Function")
        if resource["Metadata"]["distrosync:source"] == f"functions/{name}"
    ]
    assert not others
    return found


def _env_name(template: dict[str, Any]) -> str:
    return template["Description"].rsplit("(", 1)[1].rstrip(")")


def _statements(template: dict[str, Any], function_lid: str) -> list[dict[str, Any]]:
    role_id = ref_id(props(template["Resources"][function_lid])["Role"])
    return [
        statement
        for _, policy in resources(template, "AWS::IAM::Policy")
        if {"Ref": role_id} in props(policy)["Roles"]
        for statement in props(policy)["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _idempotency_table(template: dict[str, Any], env: dict[str, Any]) -> str:
    table = ref_id(env["IDEMPOTENCY_TABLE_NAME"])
    assert template["Resources"][table]["Type"] == "AWS::DynamoDB::Table"
    return table


def test_partner_callers_get_their_environments_breaker_policy(template_dict):
    config = load_config(_env_name(template_dict))
    for name in BREAKER_FUNCTIONS:
        _, function = _function(template_dict, name)
        env = props(function)["Environment"]["Variables"]
        policy = BreakerPolicy.from_json(env["PARTNER_BREAKER"])
        assert policy == config.breaker.policy(), name
        assert policy.probe_lease_seconds > 25, "a probe's lease must outlast one delivery's budget"
        assert policy.max_cool_down_seconds <= 900, "an open period longer than SQS's longest delay"


def test_partner_callers_may_read_and_write_breakers_on_the_idempotency_table_only(template_dict):
    for name in BREAKER_FUNCTIONS:
        lid, function = _function(template_dict, name)
        table = _idempotency_table(template_dict, props(function)["Environment"]["Variables"])
        granting = [s for s in _statements(template_dict, lid) if _actions(s) >= BREAKER_ACTIONS]
        assert granting, f"{name} cannot read and write its breakers"
        for statement in granting:
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            tables = {ref_id(t) for t in targets if ref_id(t)}
            # The outbound consumer writes nothing else; the order flow's steps write their own tables too.
            assert tables == {table} if name == "outbound" else table in tables, name


def test_breaker_items_live_in_an_encrypted_table_with_a_ttl(template_dict):
    _, function = _function(template_dict, "outbound")
    table = template_dict["Resources"][_idempotency_table(template_dict, props(function)["Environment"]["Variables"])]
    p = props(table)
    assert p["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert p["SSESpecification"]["SSEEnabled"] is True
    assert p["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
