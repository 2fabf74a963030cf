"""The truth about every file of ../shared/corpus/x12, read off the files themselves (their ISA12/ISA13, ISA05/ISA06,
GS01/GS06/GS08, ST01/ST02 and SE01; GS04/GS05 and GE01), written literally, never computed by a reader.

Shared by tests/unit/test_x12_reader.py and `make bench` (bench/edi_parse.py), which judges our reader and pyx12's
against the same values."""

from __future__ import annotations

from typing import Any

from cli.corpus import CORPUS

X12 = CORPUS / "x12"

# file -> interchanges: (ISA13, ISA12, (ISA05, ISA06), groups: (GS01, GS06, GS08, sets: (ST01, ST02, SE01)))
EXPECTED = {
    "214_EDI.Net_MGCTLYST-SAMPLE.EDI": [
        ("000082265", "00403", ("02", "SCAC"), [("QM", "82265", "004030", [("214", "822650001", 16)])])
    ],
    "214_EDI.Net_x12.214.edi": [
        ("000082265", "00403", ("02", "SCAC"), [("QM", "82265", "004030", [("214", "822650001", 16)])])
    ],
    "214_omniparser_canadapost.edi": [
        (
            "000001644",
            "00401",
            ("02", "CPC"),
            [("QM", "000001644", "004010", [("214", f"{n:09d}", 14 if n == 4 else 13) for n in range(1, 20)])],
        )
    ],
    "810+850_staedi_invoice810_po850_dual.edi": [
        (
            "000000020",
            "00401",
            ("ZZ", "SENDERISA"),
            [
                ("IN", "1", "004010", [("810", "000000001", 32), ("810", "000000002", 22)]),
                ("PO", "165", "003010", [("850", "000191240", 17)]),
            ],
        )
    ],
    "810_staedi_simple810.edi": [
        (
            "000000020",
            "00401",
            ("ZZ", "SENDERISA"),
            [("IN", "1", "004010", [("810", "000000001", 32), ("810", "000000002", 22)])],
        )
    ],
    "850_EdiEngine_850.OK.edi": [
        ("000003438", "00400", ("ZZ", "ABCDEFGHIJKLMNO"), [("PO", "1421", "004010", [("850", "000000010", 33)])])
    ],
    "850_node-x12_850.edi": [
        ("000003438", "00400", ("12", "4405197800"), [("PO", "1421", "004010VICS", [("850", "000000010", 33)])])
    ],
    "850_node-x12_850_2.edi": [
        ("000003438", "00400", ("12", "4405197800"), [("PO", "1421", "004010VICS", [("850", "000000010", 33)])])
    ],
    "850_node-x12_850_fat.edi": [
        ("000003438", "00400", ("12", "4405197800"), [("PO", "1421", "004010VICS", [("850", "000000010", 33)])]),
        ("000003438", "00400", ("12", "4405197800"), [("PO", "1421", "004010VICS", [("850", "000000010", 33)])]),
    ],
    "850_x12-types_004010.edi": [
        ("000000001", "00401", ("ZZ", "SENDERISA"), [("PO", "1", "004010", [("850", "000000001", 35)])])
    ],
    "855_node-x12_855.edi": [("000000005", "00401", ("ZZ", "1556150"), [("PR", "5", "004010", [("855", "0005", 26)])])],
    "855_staedi_multi-tx.edi": [
        (
            "000001337",
            "00401",
            ("ZZ", "ALEXANDRE0JACOB"),
            [("PR", "0001", "004010", [("855", "0001", 3), ("855", "0002", 3)])],
        )
    ],
    "856_EdiEngine_Crossdock.edi": [
        ("000000091", "00401", ("ZZ", "SENDER"), [("SH", "91", "004010", [("856", "0001", 57)])])
    ],
    "856_node-x12_856.edi": [
        ("000000049", "00406", ("12", "4405197800"), [("SH", "49", "004060", [("856", "0008", 31)])])
    ],
    "856_x12-types_004060.edi": [
        ("000003438", "00400", ("ZZ", "ABCDEFGHIJKLMNO"), [("SH", "49", "004060", [("856", "0008", 31)])])
    ],
    "940_EdiEngine_940.OK.edi": [
        ("000003438", "00400", ("ZZ", "ABCDEFGHIJKLMNO"), [("OW", "3317", "004010", [("940", "0001", 29)])])
    ],
    "940_EdiEngine_AckTest.edi": [
        (
            "000009221",
            "00401",
            ("ZZ", "VENDOR"),
            [
                ("OW", "9221", "004010", [("940", "20066", 9), ("940", "20067", 9)]),
                ("OW", "9222", "004010", [("940", "20068", 9)]),
            ],
        )
    ],
    "997_staedi_multiple-interchanges.edi": [
        (f"00000000{n}", "00501", ("ZZ", "ReceiverID"), [("FA", "000005", "005010X230", [("997", "0001", 8)])])
        for n in (1, 2, 3)
    ],
    "997_staedi_simple997.edi": [
        ("508121953", "00501", ("ZZ", "ReceiverID"), [("FA", "000005", "005010X230", [("997", "0001", 8)])])
    ],
}
# file -> every group in file order: (GS04, GS05, GE01 as a number), as written (YYMMDD dates before 004010).
GROUP_STAMPS = {
    "214_EDI.Net_MGCTLYST-SAMPLE.EDI": [("20160726", "1303", 1)],
    "214_EDI.Net_x12.214.edi": [("20160726", "1303", 1)],
    "214_omniparser_canadapost.edi": [("20191103", "1800", 19)],  # GE*000019
    "810+850_staedi_invoice810_po850_dual.edi": [("19960807", "1548", 2), ("020906", "0809", 1)],
    "810_staedi_simple810.edi": [("19960807", "1548", 2)],
    "850_EdiEngine_850.OK.edi": [("20101127", "1719", 1)],
    "850_node-x12_850.edi": [("20101127", "1719", 1)],
    "850_node-x12_850_2.edi": [("20101127", "1719", 1)],
    "850_node-x12_850_fat.edi": [("20101127", "1719", 1), ("20101127", "1719", 1)],
    "850_x12-types_004010.edi": [("20020226", "1534", 1)],
    "855_node-x12_855.edi": [("20201015", "1534", 1)],
    "855_staedi_multi-tx.edi": [("20260127", "1808", 2)],
    "856_EdiEngine_Crossdock.edi": [("20091225", "1943", 1)],
    "856_node-x12_856.edi": [("20111206", "1045", 1)],
    "856_x12-types_004060.edi": [("20111206", "1045", 1)],
    "940_EdiEngine_940.OK.edi": [("20000128", "0557", 1)],
    "940_EdiEngine_AckTest.edi": [("20090902", "1700", 2), ("20090902", "1700", 1)],
    "997_staedi_multiple-interchanges.edi": [("20050812", "195335", 1)] * 3,
    "997_staedi_simple997.edi": [("20050812", "195335", 1)],
}
# The one file whose ISA16 is missing: right when refused.
MALFORMED = "850_EDI.Net_issue135_malformed-ISA16.edi"


def shape(result: Any) -> list[tuple[Any, ...]]:
    """What EXPECTED holds for a file, taken from a `ParseResult`: per interchange its ISA13, ISA12, sender, and
    per group its GS01, GS06, GS08 and (ST01, ST02, segments counted)."""
    return [
        (
            ic.control_number,
            ic.version,
            (ic.sender.qualifier, ic.sender.id),
            [
                (
                    g.functional_id,
                    g.control_number,
                    g.version,
                    [(t.set_id, t.control_number, t.segment_count) for t in g.transactions],
                )
                for g in ic.groups
            ],
        )
        for ic in result.interchanges
    ]
