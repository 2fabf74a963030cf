"""Flow tests run the real handlers on the embedded runtime built from the synthesized template."""

import pytest

from cli.assembly import REPO_ROOT
from cli.local_session import partner_client, register_partner


@pytest.fixture
def rt(dev_template_path):
    from local.runtime import LocalRuntime

    runtime = LocalRuntime.start(dev_template_path, source_root=REPO_ROOT, mode="inprocess")
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def warehouse(rt):
    return register_partner(rt, "wh-east", "warehouse", ["location:DC-EAST"])


@pytest.fixture
def client(rt, warehouse):
    return partner_client(rt, warehouse)
