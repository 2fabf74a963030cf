"""What a 3PL's EDI tool answers one of our 940s with: the 945 (warehouse shipping advice). Pure: the demo, the
unit tests and the flow tests build their 945s here.

W06 echoes the 940's W0502 in W0602 (the depositor order number), G62 11 says when it shipped, and each 940 line
(LX) is shipped in full in one carton (MAN GM, an SSCC) with a W12. `echo_n9` copies the 940's header N9 segments,
as tools that echo the depositor's references do; without it the 945 names the order by W0602 alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.adapters.x12 import read
from shared.adapters.x12.writer import OutGroup, OutInterchange, OutTransaction, write
from shared.domain.purchase_orders import sscc_check_digit


@dataclass(frozen=True)
class ShippingAdvice:
    text: str
    lines: list[tuple[str, str]]  # (940 line number, units shipped)


def shipping_advice_945(
    text_940: str,
    isa13: int,
    shipped: datetime,
    *,
    echo_n9: bool = False,
    w0602: str | None = None,
    ship_from: tuple[str, str] | None = None,
    carrier: tuple[str, str] | None = None,
) -> ShippingAdvice:
    """The 945 for the one set of `text_940`, from its receiver back to its sender. `w0602` replaces the echoed
    depositor order number (a 3PL that names an order we never sent); `ship_from` (name, location code) adds an N1
    SF, `carrier` (SCAC, name) a W27."""
    result = read(text_940.encode())
    assert result.ok, result.errors
    [ic] = result.interchanges
    [group] = ic.groups
    [tx] = group.transactions
    body = tx.segments
    w05 = next(s for s in body if s[0] == "W05")
    header = body[: next(i for i, s in enumerate(body) if s[0] == "LX")]
    segments: list[list[str]] = [
        ["W06", "F", w0602 or w05[2], shipped.strftime("%Y%m%d"), f"SHP-{isa13}"],
        *([["N1", "SF", ship_from[0], "92", ship_from[1]]] if ship_from else []),
        *([s for s in header if s[0] == "N9"] if echo_n9 else []),
        ["G62", "11", shipped.strftime("%Y%m%d"), "8", shipped.strftime("%H%M")],
        *([["W27", "M", carrier[0], carrier[1]]] if carrier else []),
    ]
    lines: list[tuple[str, str]] = []
    for n, segment in enumerate(body):
        if segment[0] != "LX":
            continue
        w01 = body[n + 1]  # W0101 quantity, W0102 unit, W0104 qualifier, W0105 product id
        serial = f"0614141{isa13:06d}{len(lines) + 1:04d}"
        segments += [
            segment,
            ["MAN", "GM", "00" + serial + str(sscc_check_digit(serial))],
            ["W12", "CC", w01[1], w01[1], "0", w01[2], "", w01[4], w01[5]],
        ]
        lines.append((segment[1], w01[1]))
    out = OutInterchange(
        sender=ic.receiver,
        receiver=ic.sender,
        control_number=isa13,
        version=ic.version,
        separators=ic.separators,
        groups=[
            OutGroup("SW", group.receiver, group.sender, isa13, group.version, [OutTransaction("945", 1, segments)])
        ],
    )
    return ShippingAdvice(write([out], shipped, line_break="\n"), lines)
