"""Worker: X12 parse throughput of our reader against pyx12's `X12Reader`, on the corpus files, in the same run.

`python -m bench.edi_parse <seconds> <out.json>`, run by `python -m bench` in a fresh process. Both readers get
the file's bytes and stop at the same point: every segment split into elements and the envelope checked.

- ours: `shared.adapters.x12.read(bytes)`;
- pyx12: the bytes decoded as Latin-1 (one character per byte, no decoding error of its own: pyx12 opens a path
  as ASCII), `X12Reader` over a StringIO, every segment iterated (pyx12 splits it into elements and checks
  ISA/GS/ST control numbers and counts as it goes), `cleanup()` for the missing trailers, `pop_errors()`.

Right or wrong is judged once per file, outside the timing, against tests/unit/x12_corpus.py (the values read off
the files, shared with tests/unit/test_x12_reader.py): a file is right when its interchanges, groups and sets with
their control numbers, versions, sender and SE01 are those expected and the reader reports no envelope error; the
malformed-ISA16 file is right when refused (ours: an error and no interchange; pyx12: `X12Error` or an
envelope error). Any other exception is wrong.

Timing: rounds of every file once through each reader, alternating, each call timed alone (wall and thread CPU),
until each reader has spent `seconds` inside its calls. MB/s = bytes parsed / time inside the calls; the ratio
is taken on the files both readers got right (a reader that gives up at the ISA is fast but has not parsed).
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyx12.errors
import pyx12.x12file

from bench.common import write_json
from shared.adapters.x12 import read
from tests.unit.x12_corpus import EXPECTED, MALFORMED, X12, shape

Shape = list[tuple[Any, ...]]
READERS = ("ours", "pyx12")
WARMUP_ROUNDS = 2
MB = 1_000_000


def parse_ours(data: bytes) -> Any:
    return read(data)


def parse_pyx12(data: bytes) -> Any:
    """pyx12's reader to the end of the file; its segments and its envelope errors (the `seg` kind is left out:
    leading spaces and trailing separators, not envelope checks)."""
    reader = pyx12.x12file.X12Reader(io.StringIO(data.decode("latin-1")))
    segments = list(reader)
    reader.cleanup()
    errors = [e for e in reader.pop_errors() if e[0] != "seg"]
    return segments, errors


def shape_ours(result: Any) -> tuple[Shape, list[str]]:
    return shape(result), [f"{e.kind}: {e.message}" for e in result.errors]


def shape_pyx12(result: Any) -> tuple[Shape, list[str]]:
    """The same shape built from pyx12's segments: ISA opens an interchange, GS a group, ST a set closed by SE01."""
    segments, errors = result
    shape: Shape = []
    groups: list[tuple[Any, ...]] = []
    sets: list[tuple[Any, ...]] = []
    set_head: tuple[str, str] = ("", "")

    def value(segment: Any, ref: str) -> str:
        return (segment.get_value(ref) or "").strip()

    for segment in segments:
        seg_id = segment.get_seg_id()
        if seg_id == "ISA":
            groups = []
            sender = (value(segment, "ISA05"), value(segment, "ISA06"))
            shape.append((value(segment, "ISA13"), value(segment, "ISA12"), sender, groups))
        elif seg_id == "GS":
            sets = []
            groups.append((value(segment, "GS01"), value(segment, "GS06"), value(segment, "GS08"), sets))
        elif seg_id == "ST":
            set_head = (value(segment, "ST01"), value(segment, "ST02"))
        elif seg_id == "SE":
            count = value(segment, "SE01")
            sets.append((*set_head, int(count) if count.isdigit() else count))
    return shape, [f"{kind} {code}: {message}" for kind, code, message, *_ in errors]


PARSERS: dict[str, Callable[[bytes], Any]] = {"ours": parse_ours, "pyx12": parse_pyx12}
SHAPES: dict[str, Callable[[Any], tuple[Shape, list[str]]]] = {"ours": shape_ours, "pyx12": shape_pyx12}
REFUSALS: dict[str, type[Exception]] = {"pyx12": pyx12.errors.X12Error}


def judge(reader: str, name: str, data: bytes) -> dict[str, Any]:
    """Whether `reader` got file `name` right, and in a few words what it did."""
    try:
        shape, errors = SHAPES[reader](PARSERS[reader](data))
    except Exception as exc:  # a reader that raises is judged, not propagated
        refusal = REFUSALS.get(reader)
        refused = refusal is not None and isinstance(exc, refusal)
        what = f"{'refused' if refused else 'raised'} {type(exc).__name__}: {str(exc)[:90]}"
        return {"right": refused and name == MALFORMED, "outcome": what}
    if name == MALFORMED:
        refused = bool(errors) and (reader != "ours" or not shape)
        return {"right": refused, "outcome": f"refused: {errors[0][:90]}" if refused else "read as if valid"}
    if errors:
        return {"right": False, "outcome": f"{len(errors)} envelope error(s): {errors[0][:90]}"}
    if shape != EXPECTED[name]:
        return {"right": False, "outcome": "miscounted: interchanges/groups/sets differ from the expected"}
    return {"right": True, "outcome": "right"}


def _timed(parse: Callable[[bytes], Any], data: bytes) -> tuple[int, int]:
    t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
    with contextlib.suppress(Exception):  # judged apart; a refusal still costs its time
        parse(data)
    return time.perf_counter_ns() - t0, time.thread_time_ns() - c0


def measure(files: dict[str, bytes], seconds: float) -> tuple[int, dict[str, dict[str, list[int]]]]:
    """Rounds of every file through each reader in turn until each spent `seconds` inside its calls."""
    spent = {r: {name: [0, 0] for name in files} for r in READERS}  # reader -> file -> [wall ns, cpu ns]
    for _ in range(WARMUP_ROUNDS):
        for reader in READERS:
            for data in files.values():
                _timed(PARSERS[reader], data)
    rounds, limit = 0, seconds * 1e9
    while min(sum(t[0] for t in spent[r].values()) for r in READERS) < limit:
        rounds += 1
        for reader in READERS:
            parse = PARSERS[reader]
            for name, data in files.items():
                wall, cpu = _timed(parse, data)
                spent[reader][name][0] += wall
                spent[reader][name][1] += cpu
    return rounds, spent


def _rate(nbytes: int, ns: int) -> float:
    return round(nbytes / MB / (ns / 1e9), 3) if ns else 0.0


def run(seconds: float) -> dict[str, Any]:
    files = {p.name: p.read_bytes() for p in sorted(X12.iterdir())}
    verdicts = {name: {r: judge(r, name, data) for r in READERS} for name, data in files.items()}
    rounds, spent = measure(files, seconds)

    def totals(reader: str, names: list[str]) -> dict[str, Any]:
        nbytes = sum(len(files[n]) for n in names) * rounds
        wall = sum(spent[reader][n][0] for n in names)
        cpu = sum(spent[reader][n][1] for n in names)
        return {"mb_per_s": _rate(nbytes, wall), "mb_per_cpu_s": _rate(nbytes, cpu), "seconds": round(wall / 1e9, 3)}

    both = [n for n, v in verdicts.items() if all(v[r]["right"] for r in READERS)]
    readers = {
        r: {
            "right": sum(v[r]["right"] for v in verdicts.values()),
            "all_files": totals(r, list(files)),
            "files_both_right": totals(r, both),
        }
        for r in READERS
    }
    ours, theirs = readers["ours"]["files_both_right"], readers["pyx12"]["files_both_right"]
    return {
        "files": {
            name: {
                "bytes": len(data),
                **{r: {**verdicts[name][r], "mb_per_s": _rate(len(data) * rounds, spent[r][name][0])} for r in READERS},
            }
            for name, data in files.items()
        },
        "file_count": len(files),
        "corpus_bytes": sum(len(d) for d in files.values()),
        "rounds": rounds,
        "readers": readers,
        "files_both_right": len(both),
        "ratio": round(ours["mb_per_s"] / theirs["mb_per_s"], 2) if theirs["mb_per_s"] else None,
        "cpu_ratio": round(ours["mb_per_cpu_s"] / theirs["mb_per_cpu_s"], 2) if theirs["mb_per_cpu_s"] else None,
        "goal": {"ratio": 10, "every_file_right": True},
        "pyx12_version": version("pyx12"),
    }


def main() -> None:
    seconds, out = float(sys.argv[1]), Path(sys.argv[2])
    write_json(out, run(seconds))


if __name__ == "__main__":
    main()
