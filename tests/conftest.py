"""Test-wide settings: the embedded AWS needs fake credentials, and no test may reach a real account."""

import os

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_TRACE_DISABLED="true",
    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
)
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Distrosync")
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)


import pytest

# Fixtures for the simulated systems distrosync calls (ERPNext, webhook receivers): tests/flows/systems_fixtures.py;
# for the order-to-ship flow (systems, stock, orders, waits): tests/flows/order_flow_fixtures.py; the fault
# injector and its end-of-session report: tests/faults/report.py.
pytest_plugins = ["tests.flows.systems_fixtures", "tests.flows.order_flow_fixtures", "tests.faults.report"]


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    return tmp_path_factory.mktemp("cdk")


def _synth(root, env_name):
    from infra.synth import synth_template

    return synth_template(env_name, outdir=root / env_name, bundling=False)


@pytest.fixture(scope="session")
def dev_template_path(synth_root):
    """The dev stack's template, synthesized once per test session (no bundling; cdk-nag runs)."""
    return _synth(synth_root, "dev")


@pytest.fixture(scope="session")
def prod_template_path(synth_root):
    return _synth(synth_root, "prod")
