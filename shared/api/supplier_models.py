"""Request and response bodies of the supplier master's routes (the request is `SupplierRecord` itself)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.canonical.supplier import SupplierId

SupplierOutcome = Literal["created", "matched", "updated", "unchanged", "pending_review"]


class SupplierRecordAccepted(BaseModel):
    """What became of a supplier record."""

    model_config = ConfigDict(extra="forbid")

    supplier_id: SupplierId = Field(description="The golden supplier the record belongs to.")
    outcome: SupplierOutcome = Field(
        description="created: a new golden supplier; matched: the record joined an existing one; updated: a "
        "record sent before changed; unchanged: a replay or an older version (superseded); pending_review: kept "
        "as its own golden supplier and queued for a steward with its candidates."
    )
    changed: list[str] = Field(default_factory=list, description="Golden attributes the record changed.")
    superseded: bool = Field(default=False, description="The record is older than the version sent before.")
    review_id: str | None = None
    candidates: dict[SupplierId, list[str]] | None = Field(
        default=None, description="pending_review: the goldens a steward will compare it with, and why."
    )
    event_ids: list[str] = Field(default_factory=list)
