#!/usr/bin/env python3
"""CDK entry point: `cdk synth -c env=dev|staging|prod` (or `CDK_OUTDIR=cdk.out python app.py`)."""

from infra.synth import build_app

app, _stack = build_app(env_name=None)  # None: the environment comes from `-c env=...` (default dev)
app.synth()
