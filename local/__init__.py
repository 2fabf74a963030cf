"""The embedded AWS runtime: the synthesized CDK stack on moto, with the Lambda handlers in-process.

Entry point: `local.runtime.LocalRuntime`. See docs/adr/0004-embedded-aws-runtime.md.
"""
