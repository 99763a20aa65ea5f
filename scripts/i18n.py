"""The report translations: extract, update, compile and check the gettext catalogs (Babel).

    python scripts/i18n.py            # extract sdc/locale/sdc.pot, update fr/es .po, compile .mo
    python scripts/i18n.py --check    # exit 1 if a catalog is stale, untranslated or fuzzy

The sentences are marked in the code with ``_()``, ``ngettext()`` and ``N_()`` and in the
templates with ``{% trans %}`` and ``_()``; ``babel.cfg`` says where. The compiled ``.mo``
files are committed and shipped as package data, so ``pip install -e .`` and a plain wheel
both have them without a build step; ``--check`` (run by the test suite) keeps them in step.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "sdc" / "locale"
POT = LOCALE / "sdc.pot"
LANGUAGES = ("fr", "es")
KEYWORDS = ("_", "gettext", "ngettext:1,2", "N_")


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def update() -> None:
    """Extract the messages, merge them into each language's .po and compile the .mo files."""
    LOCALE.mkdir(exist_ok=True)
    keywords = [a for k in KEYWORDS for a in ("-k", k)]
    _pybabel(
        "extract", "-F", str(ROOT / "babel.cfg"), "--no-location", "--sort-output",
        "--project", "sdc", "--no-default-keywords", *keywords, "-o", str(POT), str(ROOT),
    )  # fmt: skip
    for lang in LANGUAGES:
        po = LOCALE / lang / "LC_MESSAGES" / "sdc.po"
        if po.exists():
            _pybabel("update", "-i", str(POT), "-D", "sdc", "-d", str(LOCALE), "-l", lang,
                     "--no-fuzzy-matching", "--ignore-obsolete")  # fmt: skip
        else:
            _pybabel("init", "-i", str(POT), "-D", "sdc", "-d", str(LOCALE), "-l", lang)
        _pybabel("compile", "-D", "sdc", "-d", str(LOCALE), "-l", lang, "--statistics")


def code_messages() -> set[str | tuple[str, str]]:
    """Every message the code and the templates mark, as extracted now (singular or pair)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords: dict[str, tuple[int, ...] | None] = {"_": None, "gettext": None, "N_": None}
    keywords["ngettext"] = (1, 2)
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def problems() -> list[str]:
    """What is wrong with the catalogs: stale, missing or fuzzy translations, stale .mo."""
    wanted = code_messages()
    out: list[str] = []
    for lang in LANGUAGES:
        po_path = LOCALE / lang / "LC_MESSAGES" / "sdc.po"
        mo_path = po_path.with_suffix(".mo")
        if not po_path.exists() or not mo_path.exists():
            out.append(f"{lang}: no catalog; run python scripts/i18n.py")
            continue
        with open(po_path, "rb") as f:
            catalog = read_po(f, locale=lang)
        have = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
        for msg in sorted(wanted - set(have), key=str):
            out.append(f"{lang}: not in the catalog: {msg!r}")
        for msg in sorted(set(have) - wanted, key=str):
            out.append(f"{lang}: no longer in the code: {msg!r}")
        for key, m in have.items():
            strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
            if m.fuzzy:
                out.append(f"{lang}: fuzzy: {key!r}")
            elif not all(strings):
                out.append(f"{lang}: untranslated: {key!r}")
            elif _fields(strings[-1]) != _fields(key) or any(
                not _fields(s) <= _fields(key) for s in strings
            ):
                out.append(f"{lang}: placeholders differ: {key!r}")
        out += _stale_mo(lang, catalog, mo_path)
    return out


def _stale_mo(lang: str, catalog: Catalog, mo_path: Path) -> list[str]:
    """A problem when the committed .mo is not what the .po compiles to."""
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    fresh = {_key(m.id): _key(m.string) for m in read_mo(buf) if m.id}
    with open(mo_path, "rb") as f:
        shipped = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    return [] if fresh == shipped else [f"{lang}: {mo_path.name} is stale; run scripts/i18n.py"]


def _fields(text: str | tuple[str, ...]) -> set[str]:
    """The placeholders of a message (``{n}``, ``%(n)s``); a plural's are its plural's."""
    plural = text if isinstance(text, str) else text[-1]
    return set(re.findall(r"\{\w*\}|%\(\w+\)s", plural))


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; change nothing")
    args = parser.parse_args()
    if not args.check:
        update()
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
