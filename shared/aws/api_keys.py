"""API Gateway API keys of partners, bound to the usage plan of their tier."""

from __future__ import annotations

from shared.aws.clients import client


def create_api_key(name: str, value: str, partner_id: str, usage_plan_id: str) -> str:
    apigw = client("apigateway")
    key_id = str(
        apigw.create_api_key(
            name=name,
            value=value,
            enabled=True,
            description=f"distrosync partner {partner_id}",
            tags={"distrosync:partner": partner_id},
        )["id"]
    )
    try:
        apigw.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id, keyType="API_KEY")
    except Exception:
        apigw.delete_api_key(apiKey=key_id)
        raise
    return key_id


def delete_api_key(key_id: str) -> None:
    client("apigateway").delete_api_key(apiKey=key_id)
