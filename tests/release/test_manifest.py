"""``manifest.json`` is the typed model's dump; its JSON Schema in docs/ is generated from it."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.manifest import (
    SCHEMA,
    Manifest,
    ManifestFieldError,
    Microdata,
    TableRecord,
    read_fields,
    read_model,
)
from sdc.release.pipeline import release
from sdc.release.signing import load_signing_key, new_key_pair
from tests.release.test_pipeline import make

ROOT = Path(__file__).resolve().parents[2]

EVERY_OUTPUT = """\
outputs:
  microdata: {treatments: [recode, suppress]}
  tables:
    - {by: [village, sex], count: true, min_cell: 3}
    - {by: [village], sum: income, dp: {epsilon: 0.3}}
  synthetic: {epsilon: 0.4, rows: 40, seed: 3, columns: [sex, village, income]}
"""


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_manifest_schema", ROOT / "scripts" / "gen_manifest_schema.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signed release with every section: microdata, a rules and a DP table, synthetic."""
    folder = tmp_path_factory.mktemp("every")
    data, policy = make(folder, EVERY_OUTPUT)
    keys = new_key_pair(folder / "keys")
    release(
        read_table(data),
        policy,
        folder / "rel",
        ledger=Ledger(folder / "ledger.jsonl"),
        sign=load_signing_key(keys.private),
        seed=7,
    )
    return folder / "rel"


def _written(bundle: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    return data


def test_the_schema_file_is_up_to_date() -> None:
    current = (ROOT / "docs" / "manifest.schema.json").read_text(encoding="utf-8")
    assert current == _generator().render(), (
        "docs/manifest.schema.json is stale: run python scripts/gen_manifest_schema.py"
    )
    schema = json.loads(current)
    assert schema["$id"] == SCHEMA
    assert "schema" in schema["required"]


def test_the_readme_points_to_the_schema() -> None:
    assert "docs/manifest.schema.json" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_a_release_manifest_is_the_models_dump(bundle: Path) -> None:
    """Every section validates strictly (no unknown field) and dumps back to the same JSON."""
    written = _written(bundle)
    manifest = Manifest.model_validate(written)
    assert manifest.to_json() == written
    assert list(manifest.to_json()) == list(written)  # the same field order
    assert manifest.schema_id == SCHEMA and written["schema"] == SCHEMA
    assert manifest.finished is not None
    assert manifest.microdata is not None and manifest.signer is not None
    assert manifest.synthetic is not None and manifest.synthetic["epsilon"] == 0.4
    assert [t.budget.epsilon for t in manifest.tables] == [0.0, 0.3]
    assert manifest.privacy.spent.epsilon == pytest.approx(0.7)
    assert manifest.privacy.ledger_entry is not None
    assert manifest.non_dp_seed_given is True
    assert str(7) not in manifest.microdata.seed
    policy = parse_policy((bundle.parent / "p.yaml").read_text(), source=bundle.parent / "p.yaml")
    assert check_bundle(bundle, policy).passed


def test_every_field_the_schema_requires_is_written(bundle: Path) -> None:
    """The published schema's required fields are present in a real manifest, section by section."""
    schema = Manifest.json_schema()
    written = _written(bundle)

    def present(node: dict[str, Any], value: dict[str, Any], where: str) -> None:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        for name in node.get("required", []):
            assert name in value, f"{where}.{name} is required but not written"
        for name, sub in node.get("properties", {}).items():
            if isinstance(value.get(name), dict) and "$ref" in sub:
                present(sub, value[name], f"{where}.{name}")

    present(schema, written, "manifest")
    for i, table in enumerate(written["tables"]):
        present(schema["$defs"]["TableRecord"], table, f"tables[{i}]")


def test_sections_without_content_are_left_out(tmp_path: Path) -> None:
    data, policy = make(tmp_path, "outputs:\n  tables:\n    - {by: [sex], count: true}\n")
    release(read_table(data), policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l.jsonl"))
    written = _written(tmp_path / "rel")
    for absent in ("microdata", "synthetic", "signer"):
        assert absent not in written
    assert "ledger_entry" not in written["privacy"] and written["privacy"]["ledger"] is None
    assert written["risk"] == {"before": None, "after": None}
    assert Manifest.model_validate(written).to_json() == written


def test_writing_refuses_an_unknown_field_but_reading_ignores_it(bundle: Path) -> None:
    written = _written(bundle)
    written["microdata"]["added_by_a_newer_tool"] = 1
    written["tables"][0]["added"] = "x"
    with pytest.raises(ValidationError, match="added_by_a_newer_tool"):
        Manifest.model_validate(written)
    read = read_model(Manifest, written, "")
    assert read.microdata.rows == written["microdata"]["rows"]
    assert read_model(TableRecord, written["tables"][0], "tables[0]").name == "count_by_village_sex"


def test_reading_keeps_the_types_of_the_fields_it_reads(bundle: Path) -> None:
    written = _written(bundle)
    written["tables"][1]["budget"]["epsilon"] = "0.3"
    with pytest.raises(ManifestFieldError) as caught:
        read_model(TableRecord, written["tables"][1], "tables[1]")
    assert str(caught.value) == (
        "manifest.json: tables[1].budget.epsilon: Input should be a valid number"
    )
    with pytest.raises(ManifestFieldError, match="^manifest.json: microdata: Input should be"):
        read_fields(Microdata, [1], ["rows"], "microdata")


def test_reading_some_fields_of_an_older_section(bundle: Path) -> None:
    """A reader asks for the fields it needs; absent ones are None, present ones must fit."""
    section = {"rows": 10, "suppression_share": 0.1, "something_else": True}
    found = read_fields(Microdata, section, ["rows", "suppression_share", "treatments"], "m")
    assert found == {"rows": 10, "suppression_share": 0.1, "treatments": None}
    with pytest.raises(ManifestFieldError, match=r"^manifest.json: m.rows: Input should be"):
        read_fields(Microdata, {"rows": -1}, ["rows"], "m")


def test_the_check_script_fails_on_a_stale_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generator = _generator()
    stale = tmp_path / "manifest.schema.json"
    stale.write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(generator, "DOC", stale)
    monkeypatch.setattr("sys.argv", ["gen_manifest_schema.py", "--check"])
    assert generator.main() == 1
    monkeypatch.setattr("sys.argv", ["gen_manifest_schema.py"])
    assert generator.main() == 0
    assert stale.read_text(encoding="utf-8") == generator.render()


def test_check_passes_a_manifest_with_fields_it_does_not_know(bundle: Path, tmp_path: Path) -> None:
    """A bundle from a newer tool that writes more fields is still checked on what it has."""
    copy = tmp_path / "rel"
    shutil.copytree(bundle, copy)
    (copy / "manifest.sig").unlink()
    written = _written(copy)
    del written["signer"]
    written["added_section"] = {"x": 1}
    written["microdata"]["added"] = [1, 2]
    written["tables"][1]["added"] = "x"
    written["privacy"]["added"] = None
    written["outputs"]["report.html"]["added"] = True
    written["synthetic"]["added"] = 0
    (copy / "manifest.json").write_text(json.dumps(written), encoding="utf-8")
    with pytest.raises(ValidationError):
        Manifest.model_validate(written)
    policy = parse_policy((bundle.parent / "p.yaml").read_text(), source=bundle.parent / "p.yaml")
    result = check_bundle(copy, policy)
    assert result.passed, [i for i in result.items if not i.passed]
