"""Fixtures of the embedded runtime's tests: the sample stacks (`sample_stack.py`), synthesized once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sample_stack import BASE, EXTENDED, SAMPLE, build_stack, make_api_key


@pytest.fixture(scope="session")
def assembly(tmp_path_factory) -> Path:
    """One cloud assembly with both sample stacks (the first synth in a process takes several seconds)."""
    import aws_cdk as cdk

    outdir = tmp_path_factory.mktemp("local-cdk.out")
    app = cdk.App(outdir=str(outdir))
    build_stack(app, BASE)
    build_stack(app, EXTENDED, extended=True)
    app.synth()
    return outdir


@pytest.fixture(scope="session")
def base_template(assembly) -> Path:
    return assembly / f"{BASE}.template.json"


@pytest.fixture(scope="session")
def extended_template(assembly) -> Path:
    return assembly / f"{EXTENDED}.template.json"


@pytest.fixture
def rt(base_template):
    """The base stack on a fresh in-process moto (each test starts from nothing)."""
    from local.runtime import LocalRuntime

    runtime = LocalRuntime.start(base_template, source_root=SAMPLE)
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def api_key(rt):
    """A partner key on the Standard plan, created at run time as the CLI does."""
    return make_api_key(rt, "UsagePlanIdStandard")
