"""distrosync's AWS CDK app: one stack per environment (see docs/contracts.md)."""
