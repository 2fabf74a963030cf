"""distrosync's Lambda layer: canonical models, domain logic, adapters and the only AWS access code."""
