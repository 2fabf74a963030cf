"""Generated, committed artifacts: one JSON Schema per event type and the OpenAPI document.

`python -m cli.generate` writes them; `tests/contract` fails when the code and the committed files differ.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli.assembly import REPO_ROOT
from shared.canonical.envelope import Envelope
from shared.canonical.registry import EVENT_TYPES

SCHEMA_DIR = REPO_ROOT / "events" / "schemas"
OPENAPI_FILE = REPO_ROOT / "docs" / "openapi.json"


def event_schemas() -> dict[str, str]:
    """File name -> JSON text, for every canonical event type."""
    out = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = Envelope[model].model_json_schema()  # type: ignore[valid-type]
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:distrosync:event:{event_type}:{model.schema_version}",
            **schema,
            "title": event_type,
            "description": (model.__doc__ or "").strip(),
        }
        schema["properties"]["type"]["const"] = event_type
        schema["properties"]["schema_version"]["const"] = model.schema_version
        out[f"{event_type}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def openapi_document() -> str:
    from shared.api.app import openapi_json

    return json.dumps(json.loads(openapi_json()), indent=2, sort_keys=True) + "\n"


def write_all() -> list[Path]:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in event_schemas().items():
        path = SCHEMA_DIR / name
        path.write_text(text)
        written.append(path)
    OPENAPI_FILE.write_text(openapi_document())
    written.append(OPENAPI_FILE)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path.relative_to(REPO_ROOT))
