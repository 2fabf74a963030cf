"""Configuration and bundlers, without synthesizing anything."""

from __future__ import annotations

import pytest

from infra import layers
from infra.config import UnknownEnvironmentError, load_config


def test_environments():
    for env in ("dev", "staging", "prod"):
        config = load_config(env, account="111111111111", region="eu-west-1")
        assert config.prefix == f"distrosync-{env}"
        assert config.stage_name == env
        assert config.partner_secrets_prefix == f"distrosync-{env}/partners/"
        assert set(config.tiers) == {"sandbox", "standard", "premium"}
        assert (config.account, config.region) == ("111111111111", "eu-west-1")
    assert load_config("prod").retain_data and not load_config("dev").retain_data


def test_unknown_environment_is_a_clear_error():
    with pytest.raises(UnknownEnvironmentError, match=r"unknown environment 'qa'.*dev, staging, prod"):
        load_config("qa")


def test_default_account_and_region(monkeypatch):
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)
    config = load_config("dev")
    assert (config.account, config.region) == ("123456789012", "us-east-1")
    monkeypatch.setenv("CDK_DEFAULT_ACCOUNT", "222222222222")
    assert load_config("dev").account == "222222222222"


def test_visibility_timeout_is_six_times_the_function_timeout():
    assert load_config("dev").queue.visibility_timeout_seconds(30) == 180


def test_dependencies_hash_follows_requirements(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic==2.0\n")
    first = layers.dependencies_hash(requirements)
    assert layers.dependencies_hash(requirements) == first
    requirements.write_text("pydantic==2.1\n")
    assert layers.dependencies_hash(requirements) != first


def test_shared_layer_copy_skips_bytecode(tmp_path):
    source = tmp_path / "shared"
    (source / "http" / "__pycache__").mkdir(parents=True)
    (source / "http" / "problems.py").write_text("X = 1\n")
    (source / "http" / "__pycache__" / "problems.cpython-311.pyc").write_bytes(b"\0")
    output = tmp_path / "out"
    assert layers.CopySharedPackage(source).try_bundle(str(output), None)
    assert (output / "python" / "shared" / "http" / "problems.py").is_file()
    assert not list(output.rglob("__pycache__"))
