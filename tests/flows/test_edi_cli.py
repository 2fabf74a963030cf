"""`distrosync edi partners set | show` through the command's entry point, on the embedded runtime: trading partner
profiles on existing partners, changed option by option, and refused with the option to blame."""

from __future__ import annotations

import json

from cli.local_session import register_partner
from shared.aws.partners import PartnerRepository

SUPPLIER_SCOPE = "supplier:SUP-01JACME000000000000000000"


def test_set_gives_a_partner_its_profile_and_show_prints_it(rt, cli):
    register_partner(rt, "acme-edi", "supplier", [SUPPLIER_SCOPE])
    code, out, err = cli(
        "edi", "partners", "set", "acme-edi", "--isa", "01:123456789", "--gs", "ACMESUPPLY", "--our-isa",
        "ZZ:DISTROHQ", "--inbound", "855,856,810,997", "--outbound", "850", "--version", "00501", "--gs-version",
        "005010", "--separators", "|:\x1c^", "--ack-due-hours", "6", "--default-location", "DC-EAST", "--test",
        "--local",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["partner_id"] == "acme-edi" and doc["kind"] == "supplier" and doc["scopes"] == [SUPPLIER_SCOPE]
    profile = doc["edi"]
    assert (profile["isa_qualifier"], profile["isa_id"], profile["gs_id"]) == ("01", "123456789", "ACMESUPPLY")
    assert (profile["our_isa_qualifier"], profile["our_isa_id"], profile["our_gs_id"]) == (
        "ZZ",
        "DISTROHQ",
        "DISTROSYNC",
    )
    assert profile["inbound_sets"] == ["855", "856", "810", "997"] and profile["outbound_sets"] == ["850"]
    assert (profile["version"], profile["gs_version"], profile["ack_due_hours"]) == ("00501", "005010", 6)
    assert [profile[k] for k in ("element_separator", "component_separator", "segment_terminator")] == [
        "|",
        ":",
        "\x1c",
    ]
    assert profile["repetition_separator"] == "^" and profile["test"] is True and profile["line_break"] is True
    assert profile["default_location"] == "DC-EAST" and profile["transit_days"] is None

    stored = PartnerRepository(rt.outputs["PartnersTableName"]).get("acme-edi")
    assert stored is not None and stored.edi is not None and stored.edi.model_dump(mode="json") == profile

    # Options not given stay as they are.
    code, out, err = cli("edi", "partners", "set", "acme-edi", "--ack-due-hours", "0", "--no-test", "--no-line-break")
    assert code == 0, err
    changed = json.loads(out)["edi"]
    assert changed == {**profile, "ack_due_hours": 0, "test": False, "line_break": False}

    code, out, err = cli("edi", "partners", "show", "acme-edi", "--local")
    assert code == 0, err
    assert json.loads(out)["edi"] == changed


def test_a_partner_without_a_profile_shows_none(rt, cli):
    register_partner(rt, "wh-west", "warehouse", ["location:DC-WEST"])
    code, out, _ = cli("edi", "partners", "show", "wh-west")
    assert code == 0 and json.loads(out)["edi"] is None


def test_errors_name_the_option_and_exit_2(rt, cli):
    register_partner(rt, "acme-edi", "supplier", [SUPPLIER_SCOPE])
    register_partner(rt, "wh-east", "warehouse", ["location:DC-EAST"])
    register_partner(rt, "acme-portal", "supplier", [])

    def refused(*argv: str) -> str:
        code, out, err = cli("edi", "partners", *argv)
        assert code == 2 and out == "", (code, out, err)
        return err

    assert "no partner 'nobody'" in refused("set", "nobody", "--isa", "ZZ:X", "--gs", "XX")
    assert "no partner 'nobody'" in refused("show", "nobody")
    err = refused("set", "acme-edi", "--outbound", "850")
    assert "--isa: required (the partner has no profile yet)" in err and "--gs: required" in err
    assert "--isa must be QUALIFIER:ID" in refused("set", "acme-edi", "--isa", "ACME", "--gs", "ACME")
    assert "--isa: String should match pattern" in refused("set", "acme-edi", "--isa", "Z:ACME", "--gs", "ACME")
    err = refused("set", "acme-edi", "--isa", "ZZ:ACME", "--gs", "ACME", "--separators", "**~")
    assert "the delimiters must differ: ['*', '*', '~']" in err
    assert "--separators takes 3 or 4 characters" in refused("set", "acme-edi", "--separators", "*~")
    err = refused("set", "acme-edi", "--isa", "ZZ:ACME", "--gs", "ACME", "--inbound", "855,860")
    assert "--inbound: Input should be '810'" in err
    err = refused("set", "acme-edi", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "945")
    assert "sets not supported: inbound -, outbound ['945']" in err
    assert "--version: String should match pattern" in refused(
        "set", "acme-edi", "--isa", "ZZ:ACME", "--gs", "ACME", "--version", "4010"
    )
    err = refused("set", "acme-edi", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "850,940")
    assert "--outbound: 940 is sent to warehouse partners; 'acme-edi' is a supplier" in err
    err = refused("set", "wh-east", "--isa", "ZZ:WHEAST", "--gs", "WHEAST", "--outbound", "850")
    assert "--outbound: 850 is sent to supplier partners; 'wh-east' is a warehouse" in err
    err = refused("set", "acme-portal", "--isa", "ZZ:ACME", "--gs", "ACME", "--outbound", "850")
    assert "'acme-portal' has no supplier: scope" in err

    # Nothing refused was written.
    repo = PartnerRepository(rt.outputs["PartnersTableName"])
    assert all(repo.get(p).edi is None for p in ("acme-edi", "wh-east", "acme-portal"))  # type: ignore[union-attr]
