"""One synth per environment per test session (bundling off), shared by every infra test.

Fixtures: `dev_template` / `prod_template` (aws_cdk.assertions.Template), `dev_template_dict` /
`prod_template_dict` (the raw CloudFormation dict), `dev_template_path` / `prod_template_path` (from tests/conftest.py).
Synthesis runs the cdk-nag AwsSolutions checks: if they find anything, the fixture raises.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# `import infra` must find the repository's package, not this tests/infra folder (without `pip install -e .`).
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from aws_cdk.assertions import Template  # noqa: E402  (after the jsii environment is set)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this folder's tests `infra` (`pytest -m "not infra"` skips the synths)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.infra)


@pytest.fixture(scope="session")
def dev_template_dict(dev_template_path: Path) -> dict[str, Any]:
    return json.loads(dev_template_path.read_text())


@pytest.fixture(scope="session")
def prod_template_dict(prod_template_path: Path) -> dict[str, Any]:
    return json.loads(prod_template_path.read_text())


@pytest.fixture(scope="session")
def dev_template(dev_template_dict: dict[str, Any]) -> Template:
    return Template.from_json(dev_template_dict)


@pytest.fixture(scope="session")
def prod_template(prod_template_dict: dict[str, Any]) -> Template:
    return Template.from_json(prod_template_dict)


@pytest.fixture(scope="session", params=["dev", "prod"])
def template_dict(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each environment's raw template in turn, for checks that must hold everywhere."""
    return request.getfixturevalue(f"{request.param}_template_dict")
