"""How long to wait before retrying after a conflicting write or a throttled call: exponential backoff with full
jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), so that writers who collided spread out."""

from __future__ import annotations

import random

# Conflicting DynamoDB writes (version conditions, transaction conflicts) clear within milliseconds.
CONFLICT_BACKOFF_SECONDS = 0.02


def full_jitter(attempt: int, base_seconds: float = CONFLICT_BACKOFF_SECONDS) -> float:
    """A delay drawn uniformly from [0, base * 2**attempt]."""
    return random.uniform(0, base_seconds * 2**attempt)
