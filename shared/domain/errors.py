"""Business errors raised by services; the API layer maps them to problem types."""

from __future__ import annotations


class OutOfScope(Exception):
    def __init__(self, partner_id: str, kind: str, value: str) -> None:
        self.partner_id, self.kind, self.value = partner_id, kind, value
        super().__init__(f"partner '{partner_id}' may not act for {kind} '{value}'")


class NotFound(Exception):
    pass
