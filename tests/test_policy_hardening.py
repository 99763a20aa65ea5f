"""Policy files as an attack surface: size, YAML aliases, nesting, NUL, paths, tiny epsilon.

Each hostile policy is refused at load with one message naming the file and line, and the
CLI exits 2 with that message and no traceback.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sdc.errors import PolicyError
from sdc.policy import MAX_POLICY_BYTES, load_policy, parse_policy
from tests.cli._runner import run

HEAD = "version: 1\nname: t\n"
COLUMNS = "columns:\n  v: {role: quasi}\n"


def write(folder: Path, text: str | bytes, name: str = "p.yaml") -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def billion_laughs() -> str:
    """Nine levels of nine aliases each: 9**9 strings once expanded."""
    lines = [HEAD, 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n']
    for level in range(1, 10):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n")
    return "".join(lines) + COLUMNS


# ---------------------------------------------------------------------- size


def test_a_policy_over_one_mebibyte_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + COLUMNS + "#" * (3 * MAX_POLICY_BYTES))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == (
        "p.yaml: the policy file is 3 MiB, more than the 1 MiB a policy may have; "
        "is it the right file?"
    )


def test_parse_policy_applies_the_same_cap() -> None:
    with pytest.raises(PolicyError, match=r"^policy: the policy file is 1\.5 MiB, more than"):
        parse_policy(HEAD + COLUMNS + "#" * (MAX_POLICY_BYTES // 2 * 3))


# ---------------------------------------------------------------------- aliases and anchors


def test_a_billion_laughs_policy_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    path = write(tmp_path, billion_laughs())
    started = time.perf_counter()
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert time.perf_counter() - started < 1.0
    assert str(info.value) == (
        "p.yaml line 3: YAML anchors (&a) are not allowed in a policy; write each value out in full"
    )


def test_an_alias_is_refused_even_without_its_anchor() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(HEAD + COLUMNS + "thresholds: *limits\n", source=Path("p.yaml"))
    assert str(info.value) == (
        "p.yaml line 5: YAML aliases (*limits) are not allowed in a policy; write the value "
        "out in full"
    )


def test_a_merge_key_with_an_alias_is_refused() -> None:
    text = HEAD + "base: &base {role: quasi}\ncolumns:\n  v: {<<: *base}\n"
    with pytest.raises(PolicyError, match=r"^p\.yaml line 3: YAML anchors \(&base\)"):
        parse_policy(text, source=Path("p.yaml"))


def test_the_cli_refuses_the_bomb_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, billion_laughs())
    code, out, err = run("policy", "validate", str(path))
    assert (code, out) == (2, "")
    assert err == (
        "Error: p.yaml line 3: YAML anchors (&a) are not allowed in a policy; write each "
        "value out in full\n"
    )


# ---------------------------------------------------------------------- nesting


@pytest.mark.parametrize(
    ("nested", "line"),
    [
        ("z: " + "[" * 100_000 + "]" * 100_000 + "\n", 5),  # flow style, deep enough to overflow
        ("".join("  " * i + f"k{i}:\n" for i in range(25)) + "  " * 25 + "x\n", 25),  # block
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused_not_a_recursion_error(nested: str, line: int) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(HEAD + COLUMNS + nested, source=Path("p.yaml"))
    assert str(info.value) == (
        f"p.yaml line {line}: nested more than 20 levels deep; a policy needs far fewer "
        "(is it the right file?)"
    )


def test_twenty_levels_are_still_parsed_up_to_validation() -> None:
    nested = "extra: " + "[" * 19 + "]" * 19 + "\n"  # 20 levels with the top mapping
    with pytest.raises(PolicyError, match=r"^p\.yaml line 5: unknown key extra"):
        parse_policy(HEAD + COLUMNS + nested, source=Path("p.yaml"))


def test_the_cli_refuses_deep_nesting_with_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + COLUMNS + "z: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n")
    code, out, err = run("policy", "validate", str(path))
    assert (code, out) == (2, "")
    assert err == (
        "Error: p.yaml line 5: nested more than 20 levels deep; a policy needs far fewer "
        "(is it the right file?)\n"
    )


# ---------------------------------------------------------------------- NUL


def test_a_nul_byte_in_the_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, (HEAD + COLUMNS + "thresholds: {k: 3}\x00\n").encode())
    code, out, err = run("policy", "validate", str(path))
    assert (code, out) == (2, "")
    assert err == (
        "Error: p.yaml line 5: holds a NUL character; a policy is plain text: remove it "
        "(a word processor or a binary file saved as .yaml?)\n"
    )


def test_an_escaped_nul_in_a_value_is_refused() -> None:
    text = 'version: 1\nname: "a\\0b"\n' + COLUMNS
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source=Path("p.yaml"))
    assert str(info.value) == "p.yaml line 2: a value holds a NUL character (\\0); remove it"


# ---------------------------------------------------------------------- paths


def mapped(path: str) -> str:
    return HEAD + f"columns:\n  village: {{role: quasi, recode: {{map: {path}}}}}\n"


def test_a_hierarchy_beside_the_policy_is_read(tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "v.csv").write_text("A;*\nB;*\n")
    policy = load_policy(write(tmp_path, mapped("h/v.csv")))
    hierarchy = policy.hierarchy("village")
    assert hierarchy is not None and hierarchy.source == "h/v.csv"


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("/etc/passwd", "/etc/passwd"),
        ("../secret.csv", "../secret.csv"),
        ("h/../../secret.csv", "h/../../secret.csv"),
    ],
)
def test_a_path_outside_the_policy_folder_is_refused(
    tmp_path: Path, written: str, shown: str
) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (tmp_path / "secret.csv").write_text("A;*\n")
    with pytest.raises(PolicyError) as info:
        load_policy(write(folder, mapped(written)))
    assert str(info.value) == (
        f"p.yaml line 4: columns.village.recode.map points outside the policy's folder "
        f"({shown}); keep hierarchy files beside the policy"
    )


def test_a_symlink_leading_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    key = tmp_path / "pseudonym.key"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    (folder / "v.csv").symlink_to(key)
    with pytest.raises(PolicyError) as info:
        load_policy(write(folder, mapped("v.csv")))
    assert str(info.value) == (
        "p.yaml line 4: columns.village.recode.map points outside the policy's folder "
        f"(v.csv -> {key.resolve()}); keep hierarchy files beside the policy"
    )


def test_an_absolute_path_inside_the_folder_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("A;*\n")
    inside = tmp_path.resolve() / "v.csv"
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, mapped(str(inside))))
    assert str(info.value) == (
        f"p.yaml line 4: columns.village.recode.map is an absolute path ({inside}); write it "
        "relative to the policy's folder, e.g. v.csv"
    )


def test_the_cli_refuses_etc_passwd_as_a_hierarchy(tmp_path: Path) -> None:
    path = write(tmp_path, mapped("/etc/passwd"))
    code, out, err = run("policy", "validate", str(path))
    assert (code, out) == (2, "")
    assert err == (
        "Error: p.yaml line 4: columns.village.recode.map points outside the policy's folder "
        "(/etc/passwd); keep hierarchy files beside the policy\n"
    )


# ---------------------------------------------------------------------- numbers


def dp_table(epsilon: str) -> str:
    return (
        HEAD
        + "columns:\n  v: {role: quasi, categories: [a, b]}\n"
        + f"outputs:\n  tables:\n    - {{by: [v], count: true, dp: {{epsilon: {epsilon}}}}}\n"
        + "privacy: {dataset: d}\n"
    )


@pytest.mark.parametrize("epsilon", ["1e-300", "5e-324", "0.0000009"])
def test_an_underflowing_epsilon_is_refused_at_load(epsilon: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(dp_table(epsilon), source=Path("p.yaml"))
    shown = f"{float(epsilon):g}"
    assert str(info.value) == (
        f"p.yaml line 7: outputs.tables.0.dp.epsilon: epsilon {shown} is below 1e-06: the "
        "noise would drown every value (or overflow); use an epsilon of at least 1e-06"
    )


def test_a_tiny_synthetic_epsilon_is_refused_too() -> None:
    text = HEAD + COLUMNS + "outputs:\n  synthetic: {epsilon: 1e-300}\n"
    with pytest.raises(PolicyError, match=r"^p\.yaml line 6: outputs\.synthetic\.epsilon: "):
        parse_policy(text, source=Path("p.yaml"))


def test_the_smallest_allowed_epsilon_loads() -> None:
    policy = parse_policy(dp_table("1e-6"), source=Path("p.yaml"))
    assert policy.dp_epsilon == 1e-6


def test_an_infinite_budget_is_refused() -> None:
    text = HEAD + COLUMNS + "privacy: {budget: .inf}\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source=Path("p.yaml"))
    assert str(info.value) == "p.yaml line 5: privacy.budget: Input should be a finite number"


def test_the_cli_refuses_epsilon_1e_300_with_exit_2(tmp_path: Path) -> None:
    code, out, err = run("policy", "validate", str(write(tmp_path, dp_table("1e-300"))))
    assert (code, out) == (2, "")
    assert err == (
        "Error: p.yaml line 7: outputs.tables.0.dp.epsilon: epsilon 1e-300 is below 1e-06: "
        "the noise would drown every value (or overflow); use an epsilon of at least 1e-06\n"
    )


# ---------------------------------------------------------------------- table file names


def tables(*entries: str) -> str:
    return (
        HEAD
        + "columns:\n  v: {role: quasi}\n  s: {role: quasi}\n"
        + "outputs:\n  tables:\n"
        + "".join(f"    - {e}\n" for e in entries)
    )


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            ("{by: [v], count: true}", "{by: [s], count: true, name: count_by_v}"),
            "p.yaml line 9: outputs.tables.1 and outputs.tables.0 (line 8) would both write "
            "tables/count_by_v.csv; give one of them its own name: NAME",
        ),
        (
            ("{by: [v], count: true, name: Sex}", "{by: [s], count: true, name: sex}"),
            "p.yaml line 9: outputs.tables.1 and outputs.tables.0 (line 8) would both write "
            "tables/sex.csv; give one of them its own name: NAME",
        ),
        (
            ("{by: [v], count: true}", "{by: [s], count: true, name: count_by_v-pivot}"),
            "p.yaml line 9: outputs.tables.1 and outputs.tables.0 (line 8) would both write "
            "tables/count_by_v-pivot.csv; give one of them its own name: NAME",
        ),
        (
            ("{by: [v], count: true}", "{by: [s], count: true}", "{by: [v], count: true}"),
            "p.yaml line 10: outputs.tables.2 and outputs.tables.0 (line 8) would both write "
            "tables/count_by_v.csv; give one of them its own name: NAME",
        ),
    ],
    ids=["named-like-another", "case", "pivot", "same-spec"],
)
def test_two_tables_writing_one_file_are_refused_at_load(
    entries: tuple[str, ...], message: str
) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(tables(*entries), source=Path("p.yaml"))
    assert str(info.value) == message


def test_the_cli_refuses_duplicate_table_names_with_exit_2(tmp_path: Path) -> None:
    text = tables("{by: [v], count: true}", "{by: [s], count: true, name: count_by_v}")
    code, out, err = run("policy", "validate", str(write(tmp_path, text)))
    assert (code, out) == (2, "")
    assert err == (
        "Error: p.yaml line 9: outputs.tables.1 and outputs.tables.0 (line 8) would both "
        "write tables/count_by_v.csv; give one of them its own name: NAME\n"
    )


EXAMPLES = sorted((Path(__file__).parent.parent / "policies").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_policy_table_names_are_the_tables_modules_names(path: Path) -> None:
    from sdc.release.pipeline import table_spec

    policy = load_policy(path)
    for i, entry in enumerate(policy.outputs.tables):
        assert entry.table_name == table_spec(policy, i).table_name
