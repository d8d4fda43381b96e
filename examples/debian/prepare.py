"""Builds the Debian package-description dataset: a second, different text
set for the benchmarks (short, keyword-heavy texts; about 58 classes).

Usage:
  apt-get update   # Debian's package index: the registry CI can reach
  python examples/debian/prepare.py --output=/tmp/debian/debian_packages.tsv \
    [--packages=FILE]

Each binary package of Debian's `main` archive is a row: its one-line
description (the text) and its section (the class: `libs`, `python`,
`games`, `science`, ...). The package name, which often spells its section
(`python3-...`, `lib...-dev`), is kept out of the text. Descriptions that
several packages share become one row, of their most common section (ties:
the first in alphabetical order); sections with fewer than --min_count rows
are dropped. Rows are `package<TAB>description<TAB>section`, sorted by
package, the format of the WordNet TSV, so `examples/wordnet/data.py`'s
fixed split (20% test, 40% labeled, 40% unlabeled) and the WordNet scripts
(`embed.py`, `fine_tune_teacher.py`, `benchmarks/fine_tuned_students.py`)
read it as they read the glosses. Beside --output it writes that split:
`labeled.tsv` and `test.tsv` (text<TAB>section) and `unlabeled.tsv` (text
only), the files `student-init` and the students read.

--packages defaults to apt's copy of bookworm's `main` index
(/var/lib/apt/lists/*_dists_bookworm_main_binary-amd64_Packages*, read
through `apt-helper cat-file`, which undoes its compression). BENCHMARKS.md
names the index it was built from (Debian 12.15, its SHA-256).
"""

import argparse
import collections
import glob
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "wordnet"))
import data  # noqa: E402  (examples/wordnet/data.py: the fixed split)

INDEX = "/var/lib/apt/lists/*_dists_bookworm_main_binary-amd64_Packages*"


def read_index(path):
    """The index's text: apt keeps it compressed (lz4, xz, gz) or plain."""
    if path.endswith(("lz4", "xz", "gz", "bz2", "zst")):
        return subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path],
                              check=True, capture_output=True).stdout
    with open(path, "rb") as f:
        return f.read()


def stanzas(text):
    """Yields each package's fields, {name: value}; continuation lines
    (the long description) are dropped."""
    for block in text.split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line and not line[0].isspace() and ":" in line:
                name, value = line.split(":", 1)
                fields[name] = value.strip()
        if "Package" in fields:
            yield fields


def rows_of(text, min_count):
    """(package, description, section) rows, deduplicated and filtered."""
    by_description = collections.defaultdict(list)
    for fields in stanzas(text):
        description = " ".join(fields.get("Description", "").split())
        section = fields.get("Section", "").split("/")[-1]
        if description and section:
            by_description[description].append((fields["Package"], section))
    rows = []
    for description, owners in by_description.items():
        counts = collections.Counter(section for _, section in owners)
        top = max(counts.values())
        section = min(s for s, c in counts.items() if c == top)
        package = min(p for p, s in owners if s == section)
        rows.append((package, description, section))
    sizes = collections.Counter(section for _, _, section in rows)
    return sorted(r for r in rows if sizes[r[2]] >= min_count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--packages", default=None,
                        help="a Debian Packages index (default: apt's copy "
                        "of bookworm main, amd64)")
    parser.add_argument("--min_count", type=int, default=20)
    args = parser.parse_args()
    path = args.packages or next(iter(sorted(glob.glob(INDEX))), None)
    if path is None:
        raise SystemExit(f"no Debian package index at {INDEX}: run "
                         "`apt-get update` or pass --packages")
    raw = read_index(path)
    rows = rows_of(raw.decode("utf-8"), args.min_count)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output + ".tmp", "w", encoding="utf-8") as f:
        for row in rows:
            f.write("\t".join(row) + "\n")
    os.replace(args.output + ".tmp", args.output)
    folder = os.path.dirname(os.path.abspath(args.output))
    for name, chosen in data.split(len(rows)).items():
        data.write_tsv(os.path.join(folder, f"{name}.tsv"),
                       [rows[i][1] for i in chosen],
                       [rows[i][2] if name != "unlabeled" else None
                        for i in chosen])
    classes = collections.Counter(section for _, _, section in rows)
    print(f"{len(rows)} rows, {len(classes)} sections from {path} "
          f"(index SHA-256 {hashlib.sha256(raw).hexdigest()[:16]}...) "
          f"-> {args.output}, and its split beside it")


if __name__ == "__main__":
    main()
