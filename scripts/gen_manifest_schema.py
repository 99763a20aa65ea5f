"""Generate docs/manifest.schema.json from the manifest model, so the schema cannot drift.

Run: python scripts/gen_manifest_schema.py         (writes docs/manifest.schema.json)
     python scripts/gen_manifest_schema.py --check (exit 1 if it is out of date)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sdc.release.manifest import Manifest

DOC = Path(__file__).resolve().parent.parent / "docs" / "manifest.schema.json"


def render() -> str:
    """The JSON Schema of ``manifest.json`` (``sdc.manifest/1``), as the file holds it."""
    return json.dumps(Manifest.json_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write (or with --check, compare) docs/manifest.schema.json."""
    text = render()
    if "--check" in sys.argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC.name} is out of date: run python scripts/gen_manifest_schema.py")
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
