#!/usr/bin/env python3
"""statjson.py FILE... - make Yosys 0.23 `stat -json` output valid JSON, in place.

With a design hierarchy, Yosys 0.23 prints the text hierarchy tree (lines
such as `   $paramod...\\qnpu_pe     16`) into the middle of the JSON that
`stat -json` writes. Every line of real JSON there starts with a quote, a
brace or a bracket after its indentation; the tree lines do not. This drops
them, checks that what is left parses, and fails loudly if it does not.
"""
import json
import re
import sys

JSON_LINE = re.compile(r'^\s*(["{}\[\]]|$)')


def repair(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    kept = [ln for ln in lines if JSON_LINE.match(ln)]
    text = "\n".join(kept) + "\n"
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit(f"statjson: {path}: still not JSON after repair: {e}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return len(lines) - len(kept)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    for path in argv[1:]:
        repair(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
