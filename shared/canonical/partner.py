"""A partner: a system allowed to call distrosync's API, and what it may act for."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PartnerKind = Literal["supplier", "warehouse", "carrier", "channel", "erp", "finance"]
PARTNER_KINDS: tuple[str, ...] = PartnerKind.__args__  # type: ignore[attr-defined]
ScopeKind = Literal["location", "supplier", "channel"]
SCOPE_KINDS: tuple[str, ...] = ScopeKind.__args__  # type: ignore[attr-defined]

PARTNER_ID_PATTERN = r"^[a-z0-9][a-z0-9\-]{1,62}$"


class Partner(BaseModel):
    """A registered partner. Scopes read `location:DC-EAST`, `supplier:SUP-1`, `channel:shopify` or `*`."""

    model_config = ConfigDict(extra="ignore")

    partner_id: str = Field(pattern=PARTNER_ID_PATTERN)
    kind: PartnerKind
    scopes: list[str] = Field(default_factory=list)
    tier: str = "standard"
    status: Literal["active", "disabled"] = "active"
    api_key_id: str
    secret_name: str
    created_at: datetime
    rotated_at: datetime | None = None
