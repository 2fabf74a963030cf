"""Use cases: they orchestrate domain logic and AWS access, and know nothing of HTTP or Lambda events."""
