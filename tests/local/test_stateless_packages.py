"""The packages the embedded runtime shares between functions (`STATELESS_PACKAGES`) must stay stateless: no
settings, AWS clients or loggers reached from their code, or one function would run with another's."""

from pathlib import Path

import pytest

from local.functions import STATELESS_PACKAGES

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = (
    "os.environ",
    "getenv",
    "boto3",
    "shared.aws",
    "shared.settings",
    "shared.observability",
    "shared.services",
)


@pytest.mark.parametrize("package", STATELESS_PACKAGES)
def test_a_shared_package_reads_no_settings_and_reaches_no_aws(package):
    files = sorted((ROOT / package.replace(".", "/")).rglob("*.py"))
    assert files, package
    offending = [
        f"{path.relative_to(ROOT)}: {word}" for path in files for word in FORBIDDEN if word in path.read_text()
    ]
    assert offending == []
