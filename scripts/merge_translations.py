"""Merge JSON translation batches ({msgid: Polish} ) into the Polish catalogue and compile.

Usage: python scripts/merge_translations.py batch1.json [batch2.json ...]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "examportal" / "translations" / "pl" / "LC_MESSAGES" / "messages.po"


def main(paths: list[str]) -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="pl")
    merged = 0
    for path in paths:
        for msgid, text in json.loads(Path(path).read_text(encoding="utf-8")).items():
            message = catalog.get(msgid)
            if message is None:
                continue
            message.string = tuple(text) if isinstance(text, list) else text
            message.flags.discard("fuzzy")
            merged += 1
    with PO.open("wb") as handle:
        write_po(handle, catalog, width=100)
    print(f"merged {merged} translations into {PO}")


if __name__ == "__main__":
    main(sys.argv[1:])
