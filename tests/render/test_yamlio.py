from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tether.render.errors import ManifestError, ManifestLimitError
from tether.render.yamlio import (
    YamlLimits,
    dump_documents,
    load_documents,
    load_file,
    load_json,
    to_objects,
)

DATA = Path(__file__).resolve().parents[2] / "testdata" / "render"


def test_empty_documents_are_skipped_and_lists_flattened() -> None:
    documents = load_file(DATA / "manifest-valid.yaml", name="manifest-valid.yaml")
    objects = to_objects(documents, name="manifest-valid.yaml")
    assert [o["metadata"]["name"] for o in objects] == ["one", "two", "three"]


def test_aliases_within_the_limit_are_expanded() -> None:
    (document,) = load_documents("a: &x [1, 2]\nb: *x\n", name="f.yaml")
    assert document == {"a": [1, 2], "b": [1, 2]}


def test_billion_laughs_is_refused_not_expanded() -> None:
    with pytest.raises(ManifestLimitError) as caught:
        load_file(DATA / "manifest-bomb.yaml", name="manifest-bomb.yaml")
    message = str(caught.value)
    assert message.startswith("failed to render manifest-bomb.yaml: document 1")
    assert "aliases expand" in message


def test_self_referencing_alias_is_refused() -> None:
    with pytest.raises(ManifestLimitError, match="recursive document"):
        load_file(DATA / "manifest-recursive.yaml", name="manifest-recursive.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 150 + "]" * 150,
        "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 150)) + "  " * 150 + "v\n",
    ],
)
def test_deep_nesting_is_refused(text: str) -> None:
    with pytest.raises(ManifestLimitError, match="nesting is deeper than 100 levels"):
        load_documents(text, name="deep.yaml")


@pytest.mark.parametrize(
    "text",
    ["[" * 1_000_000 + "]" * 1_000_000, "- " * 500_000 + "x\n", "[\n" * 100_000],
    ids=["flow", "compact-block", "flow-over-lines"],
)
def test_nesting_that_would_crash_the_composer_is_refused_first(text: str) -> None:
    # libyaml's composer recurses per level and crashes the process near 30,000 levels.
    with pytest.raises(ManifestLimitError, match="nesting is deeper than 100 levels"):
        load_documents(text, name="deep.yaml")


def test_aliases_that_nest_deeper_once_expanded_are_refused() -> None:
    # Each anchor nests the previous one 60 levels down: no level of text is deep, but
    # the expanded document is 60 * 10 levels deep.
    lines = ["a0: &a0 " + "[" * 60 + "1" + "]" * 60]
    lines += [f"a{i}: &a{i} " + "[" * 60 + f"*a{i - 1}" + "]" * 60 for i in range(1, 10)]
    with pytest.raises(ManifestLimitError, match="nesting is deeper than 100 levels"):
        load_documents("\n".join(lines) + "\n", name="deep.yaml")


def test_deep_json_is_refused() -> None:
    with pytest.raises(ManifestLimitError, match="nesting is deeper"):
        load_json("[" * 150 + "]" * 150, name="deep.json")


def test_a_50_mib_manifest_is_refused_by_its_size_without_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # sparse: the size is real, the bytes are never read
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(ManifestLimitError) as caught:
        load_file(big, name="big.yaml")
    assert "is 52428800 bytes, more than the limit of 10485760 bytes" in str(caught.value)


def test_stream_over_the_limit_is_refused() -> None:
    with pytest.raises(ManifestLimitError, match="more than the limit of 10 bytes"):
        load_documents("a: 1234567890\n", name="out", limits=YamlLimits(max_bytes=10))


def test_invalid_yaml_names_file_document_and_line() -> None:
    with pytest.raises(ManifestError) as caught:
        load_file(DATA / "manifest-invalid.yaml", name="manifest-invalid.yaml")
    assert caught.value.document == 2
    assert caught.value.line == 10
    assert str(caught.value).startswith(
        "failed to render manifest-invalid.yaml: document 2, line 10: invalid YAML:"
    )


@pytest.mark.parametrize(
    ("file", "cause"),
    [
        (
            "manifest-not-object.yaml",
            "document 2: is not a Kubernetes object: expected a mapping, got a list",
        ),
        ("manifest-missing-kind.yaml", "document 1: is not a Kubernetes object: missing kind"),
    ],
)
def test_documents_that_are_not_objects_name_the_file(file: str, cause: str) -> None:
    with pytest.raises(ManifestError) as caught:
        to_objects(load_file(DATA / file, name=file), name=file)
    assert str(caught.value) == f"failed to render {file}: {cause}"


def test_invalid_json_names_the_line() -> None:
    with pytest.raises(ManifestError, match=r"x.json: line 2: invalid JSON"):
        load_json('{"a": 1,\n "b": }', name="x.json")


def test_dump_keeps_key_order_and_writes_blocks() -> None:
    text = dump_documents([{"kind": "ConfigMap", "data": {"z": "1", "a": "two\nlines\n"}}])
    assert text == "---\nkind: ConfigMap\ndata:\n  z: '1'\n  a: |\n    two\n    lines\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("when: 2024-05-01\n", {"when": "2024-05-01"}),
        ("at: 2001-12-14t21:59:43.10-05:00\n", {"at": "2001-12-14t21:59:43.10-05:00"}),
        ("at: !!timestamp 2024-01-01\n", {"at": "2024-01-01"}),
        ("bin: !!binary aGVsbG8=\n", {"bin": "aGVsbG8="}),
        ("set: !!set {a, b}\n", {"set": {"a": None, "b": None}}),
        ("80: http\n", {"80": "http"}),
        ("true: 1\nnull: 2\n1.5: 3\n", {"true": 1, "null": 2, "1.5": 3}),
        ("big: 123456789012345678901234567890\n", {"big": 1.2345678901234568e29}),
        ("max: 18446744073709551615\n", {"max": 18446744073709551615}),
        ("enabled: yes\n", {"enabled": True}),
        ("m:\n  <<: {a: 1}\n  b: 2\n", {"m": {"a": 1, "b": 2}}),
    ],
    ids=[
        "date",
        "datetime",
        "explicit-timestamp",
        "binary",
        "set",
        "int-key",
        "other-keys",
        "huge-int",
        "uint64",
        "yaml11-bool",
        "merge-key",
    ],
)
def test_scalars_are_read_as_kubernetes_reads_them(text: str, expected: dict[str, object]) -> None:
    (document,) = load_documents(text, name="f.yaml")
    assert document == expected
    orjson.dumps(document)  # plain JSON data: every key a string, every value serialisable
