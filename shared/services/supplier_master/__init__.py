"""The supplier master: source records in, golden suppliers out (docs/supplier-collaboration.md, ADR 0011).

`SupplierMaster` is assembled from one part per concern, over what they share:

- `intake`: a system's record of a supplier (`submit`): matching, survivorship, the change and its events;
- `stewardship`: the steward's `merge` and `split`, and the review queue;
- `views`: reading a supplier (`detail`, following merges) and the views events carry, bank accounts masked;
- `_core`: the store, bus and field crypto, survivorship priorities, recomputing a golden, and the events kept on
  a golden until published (ADR 0013).
"""

from __future__ import annotations

from shared.services.supplier_master._core import event_id, new_supplier_id
from shared.services.supplier_master.intake import Intake, Outcome, RequestContext, Submitted
from shared.services.supplier_master.stewardship import (
    STEWARD,
    Merged,
    MergeRefused,
    NothingToSplit,
    Split,
    Stewardship,
)
from shared.services.supplier_master.views import Reads

__all__ = [
    "STEWARD",
    "MergeRefused",
    "Merged",
    "NothingToSplit",
    "Outcome",
    "RequestContext",
    "Split",
    "Submitted",
    "SupplierMaster",
    "event_id",
    "new_supplier_id",
]


class SupplierMaster(Intake, Stewardship, Reads):
    """The service the ingress (shared/api/supplier_routes.py) and the steward's CLI (cli/suppliers.py) call."""
