"""A partner refusing our credentials (docs/reliability.md, "Error classes"): the adapters say `refused` for a
401/403 with the system's status and words (our secrets masked), the class is permanent (`partner_refused`), an
unusable connection secret is a refusal too, and a refusal tells the breaker the system is up.

Adapters call real HTTP servers (the ERPNext simulator, a webhook receiver); nothing here needs AWS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from local.simulators.erpnext import ErpNextSimulator
from local.simulators.webhook_receiver import WebhookReceiver
from shared.adapters.outbound import DeliveryResult, build_adapter, redact, refusal
from shared.adapters.outbound.http import RetryPolicy, SystemCall
from shared.canonical.envelope import Envelope
from shared.canonical.purchasing import ReplenishmentRiskChanged
from shared.canonical.supplier import SupplierUpdated, SupplierView
from shared.domain.failures import FailureClass, classify
from shared.services.outbound import DeliveryDeferred, DeliveryRefused, reachability, unusable_connection

NOW = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base_delay=0.0, budget_seconds=5.0)


def risk() -> Envelope:
    data = ReplenishmentRiskChanged(
        po_number="PO-1", line=1, sku="SKU-1", location="DC-EAST", supplier_id="SUP-01HZX4TESTACME", at_risk=True
    )
    return Envelope.wrap(data, source_partner="purchasing", occurred_at=NOW)


def supplier_updated() -> Envelope:
    view = SupplierView(
        supplier_id="SUP-01HZX4TESTACME",
        legal_name="Acme",
        status="active",
        cross_references={"erp": "ACME-001"},
        version=2,
    )
    return Envelope.wrap(
        SupplierUpdated(supplier=view, changed=["status"], origin_system="portal"),
        source_partner="suppliers",
        occurred_at=NOW,
    )


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "..."}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


def deliver(adapter, envelope: Envelope) -> DeliveryResult:
    return adapter.deliver(envelope, envelope.to_detail(), adapter.deadline())


# ------------------------------------------------------------------------------------------------ the class
def test_a_refusal_is_permanent_and_says_so():
    assert FailureClass.PARTNER_REFUSED.permanent and not FailureClass.PARTNER_REFUSED.transient
    assert classify(DeliveryRefused("order.released refused by wms (credentials refused: HTTP 401)")) is (
        FailureClass.PARTNER_REFUSED
    )
    assert classify(DeliveryDeferred("not delivered")) is FailureClass.PARTNER_UNAVAILABLE  # unchanged


# ----------------------------------------------------------------------------------------------- adapters
@pytest.mark.parametrize("status", [401, 403])
def test_a_webhook_answering_401_or_403_is_refused_once_without_retries(status):
    with WebhookReceiver() as receiver:
        receiver.secret = "their-secret"
        receiver.fail_next(1, status=status)
        adapter = build_adapter("webhook", "wms", {"url": receiver.url, "signing_secret": "their-secret"}, POLICY)
        result = deliver(adapter, risk())
        assert result.status == "refused"
        assert result.detail.startswith(f"credentials refused: HTTP {status}: ")
        assert [d.status for d in receiver.deliveries] == [status]  # not retried: waiting cannot help
        assert reachability(result)[0] is True  # it answered: the breaker counts it as up

        receiver.fail_next(1, status=400)  # any other 4xx is still a rejection of the document
        assert deliver(adapter, risk()).status == "rejected"


def test_a_webhook_with_the_wrong_signing_secret_is_refused():
    with WebhookReceiver() as receiver:
        receiver.secret = "rotated-by-them"
        adapter = build_adapter("webhook", "wms", {"url": receiver.url, "signing_secret": "ours-is-old"}, POLICY)
        result = deliver(adapter, risk())
        assert (result.status, [d.status for d in receiver.deliveries]) == ("refused", [401])


def test_erpnext_refusing_the_api_key_is_refused_with_frappes_words():
    with ErpNextSimulator() as erp:
        erp.add_supplier("ACME-001", "Acme")
        connection = {"base_url": erp.url, "api_key": erp.api_key, "api_secret": "not-the-secret"}
        result = deliver(build_adapter("erpnext", "erp", connection, POLICY), supplier_updated())
        assert result.status == "refused"
        assert result.detail == "credentials refused: HTTP 401: AuthenticationError: Invalid API key or secret"
        assert [c.status for c in result.calls] == [401]

        result = deliver(
            build_adapter("erpnext", "erp", {**connection, "api_secret": erp.api_secret}, POLICY), supplier_updated()
        )
        assert result.status == "delivered"


def test_a_refusal_keeps_a_short_excerpt_and_never_our_secret():
    detail = refusal(401, "token key-1234:s3cr3t-value is not valid\n" + "x" * 1000)
    assert detail.startswith("credentials refused: HTTP 401: token key-1234:s3cr3t-value is not valid x")
    assert len(detail) < 400
    masked = redact(detail, {"api_key": "key-1234", "api_secret": "s3cr3t-value", "base_url": "https://erp"})
    assert "key-1234" not in masked and "s3cr3t-value" not in masked and "token ***:*** is not valid" in masked
    assert refusal(403, "") == "credentials refused: HTTP 403: no body"


# --------------------------------------------------------------------------------------- connection secrets
def secrets_manager_error(code: str) -> Exception:
    """What Powertools' SecretsProvider raises: a GetParameterError with the ClientError as its context."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        try:
            raise client_error(code, 400)
        except ClientError as exc:
            raise GetParameterError(str(exc))  # noqa: B904  (Powertools raises it this way)
    except GetParameterError as wrapped:
        return wrapped


@pytest.mark.parametrize(
    "error",
    [
        secrets_manager_error("ResourceNotFoundException"),  # missing
        secrets_manager_error("InvalidRequestException"),  # marked for deletion
        secrets_manager_error("DecryptionFailure"),  # its key is unusable
        ValueError("secret distrosync-dev/systems/wms is not a JSON object"),
    ],
    ids=["missing", "deleted", "undecryptable", "not-an-object"],
)
def test_an_unusable_connection_secret_is_a_refusal(error):
    result = unusable_connection(error)
    assert result.status == "refused" and not result.calls
    assert reachability(result)[0] is None  # no call: the breaker learns nothing


def test_a_secrets_manager_that_fails_for_a_while_is_no_refusal():
    error = secrets_manager_error("ThrottlingException")
    with pytest.raises(type(error)):
        unusable_connection(error)


def test_reachability_of_refusals_and_outages():
    def result(status: int | None) -> DeliveryResult:
        call = SystemCall("wms", "post", "POST", "/hooks", status, 1, 1.0, error=None if status else "refused")
        return DeliveryResult("refused" if status in (401, 403) else "failed", "", [call])

    assert reachability(result(401))[0] is True
    assert reachability(result(403))[0] is True
    assert reachability(result(503))[0] is False
    assert reachability(result(None))[0] is False
