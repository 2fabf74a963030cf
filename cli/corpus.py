"""Third-party deliveries from the read-only corpus beside the project (`../shared/corpus/`), as they are.

A recorded webhook is `{"headers": {...}, "body": {...}}`. Its body is sent as the exact JSON text the file
holds (sliced, not re-serialized: a signature covers bytes, not values, and re-serializing would also hide how
the platform writes numbers such as Shopify's rounded 64-bit ids).
"""

from __future__ import annotations

import json
from pathlib import Path

from cli.assembly import REPO_ROOT

CORPUS = REPO_ROOT.parent / "shared" / "corpus"
ECOMMERCE = CORPUS / "ecommerce"
SHOPIFY_INVENTORY_LEVEL = ECOMMERCE / "shopify_inventory_levels_update_2023-01.hookdeck.json"
BIGCOMMERCE_SKU_INVENTORY = ECOMMERCE / "bigcommerce_store_sku_inventory_updated.hookdeck.json"


def corpus_body(path: Path) -> bytes:
    """The `body` member's JSON text exactly as the file has it."""
    text = path.read_text()
    start = text.index('"body":') + len('"body":')
    start += len(text[start:]) - len(text[start:].lstrip())
    _, end = json.JSONDecoder().raw_decode(text, start)
    return text[start:end].encode()


def corpus_headers(path: Path) -> dict[str, str]:
    """The recorded headers, lower-cased, without Content-Length (the HTTP client sets it for the body sent)."""
    headers = json.loads(path.read_text())["headers"]
    return {k.lower(): v for k, v in headers.items() if k.lower() != "content-length"}
