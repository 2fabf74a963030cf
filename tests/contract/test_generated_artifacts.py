"""The committed event schemas and OpenAPI document must be what the code generates (run `make generate`)."""

from cli.generate import OPENAPI_FILE, SCHEMA_DIR, event_schemas, openapi_document


def test_event_schemas_match_the_models():
    generated = event_schemas()
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert sorted(committed) == sorted(generated), "event types and schema files differ: run `make generate`"
    for name, text in generated.items():
        assert committed[name] == text, f"{name} is out of date: run `make generate`"


def test_openapi_document_matches_the_routes():
    assert OPENAPI_FILE.read_text() == openapi_document(), "docs/openapi.json is out of date: run `make generate`"
