"""Build and synthesize the distrosync CDK app (used by app.py, tests and the embedded runtime)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra import nag
from infra.config import load_config
from infra.stack import DistrosyncStack
from infra.wheelhouse import REPO_ROOT

CDK_JSON = REPO_ROOT / "cdk.json"
BUNDLING_STACKS = "aws:cdk:bundling-stacks"


def cdk_json_context() -> dict[str, Any]:
    """The feature flags of cdk.json, so that tests and plain `python app.py` match the CLI."""
    if not CDK_JSON.is_file():
        return {}
    return dict(json.loads(CDK_JSON.read_text()).get("context", {}))


def build_app(
    env_name: str | None = "dev",
    *,
    outdir: str | Path | None = None,
    bundling: bool = True,
    context: Mapping[str, Any] | None = None,
) -> tuple[cdk.App, DistrosyncStack]:
    """An App with the stack `distrosync-<env>` and the cdk-nag AwsSolutions checks.

    `env_name=None` takes the environment from the CDK context (`-c env=prod`), defaulting to dev.
    Context keys `account`, `region` and `alarm_email` override the defaults of infra/config.py.
    `bundling=False` skips layer bundling (the template still references the assets).
    Nothing is synthesized yet: call `app.synth()`; cdk-nag findings make it raise.
    """
    post_cli_context: dict[str, Any] = {}
    if not bundling:
        post_cli_context[BUNDLING_STACKS] = []
    app = cdk.App(
        outdir=str(outdir) if outdir is not None else None,
        context={**cdk_json_context(), **(context or {})},
        post_cli_context=post_cli_context or None,
    )
    name = env_name or app.node.try_get_context("env") or "dev"
    config = load_config(
        name,
        account=app.node.try_get_context("account"),
        region=app.node.try_get_context("region"),
        alarm_email=app.node.try_get_context("alarm_email"),
        edi_sftp=app.node.try_get_context("edi_sftp"),
    )
    stack = DistrosyncStack(app, config.stack_name, config=config)
    nag.check(app)
    return app, stack


def synth_template(env_name: str = "dev", outdir: str | Path = "cdk.out", bundling: bool = False) -> Path:
    """Synthesize `env_name` into the cloud assembly `outdir`; returns the stack's template path."""
    app, stack = build_app(env_name, outdir=outdir, bundling=bundling)
    assembly = app.synth()
    return Path(assembly.directory) / stack.template_file
