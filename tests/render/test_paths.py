from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether.render.errors import PathEscapeError
from tether.render.paths import check_tree, resolve_in_repo


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "apps" / "web").mkdir(parents=True)
    (root / "shared").mkdir()
    (root / "shared" / "values.yaml").write_text("a: 1\n")
    (tmp_path / "outside.yaml").write_text("secret: 1\n")
    return root.resolve()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("values.yaml", "apps/web/values.yaml"),
        ("../../shared/values.yaml", "shared/values.yaml"),
        ("/shared/values.yaml", "shared/values.yaml"),  # absolute = repository root
        ("./a/../b.yaml", "apps/web/b.yaml"),
    ],
)
def test_paths_inside_the_repository_resolve(tree: Path, name: str, expected: str) -> None:
    resolved = resolve_in_repo(tree, tree / "apps" / "web", name, subject="apps/web")
    assert resolved == tree / expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../../etc/passwd", "resolves outside the repository"),
        ("/../../etc/passwd", "resolves outside the repository"),
        ("file:///etc/passwd", "is a file:// URL"),
    ],
)
def test_escaping_paths_are_refused(tree: Path, name: str, reason: str) -> None:
    with pytest.raises(PathEscapeError) as caught:
        resolve_in_repo(tree, tree / "apps" / "web", name, subject="apps/web")
    assert caught.value.path == name
    assert str(caught.value).startswith(f"failed to render apps/web: path {name!r} {reason}")


def test_symlink_to_a_file_outside_is_refused(tree: Path) -> None:
    os.symlink("/etc/passwd", tree / "apps" / "web" / "values.yaml")
    with pytest.raises(PathEscapeError, match="leaves the repository"):
        resolve_in_repo(tree, tree / "apps" / "web", "values.yaml", subject="apps/web")
    with pytest.raises(PathEscapeError, match=r"apps/web/values.yaml -> /etc/passwd"):
        check_tree(tree, tree, subject="apps/web")


def test_symlink_chain_that_leaves_and_comes_back_is_refused(tree: Path) -> None:
    outside = tree.parent / "hop"
    os.symlink(tree / "shared" / "values.yaml", outside)  # back into the repository
    os.symlink(outside, tree / "apps" / "web" / "values.yaml")
    with pytest.raises(PathEscapeError, match="leaves the repository"):
        resolve_in_repo(tree, tree / "apps" / "web", "values.yaml", subject="apps/web")


def test_relative_symlink_chain_climbing_out_is_refused(tree: Path) -> None:
    os.symlink("../../../outside.yaml", tree / "apps" / "web" / "step")
    os.symlink("step", tree / "apps" / "web" / "values.yaml")
    with pytest.raises(PathEscapeError, match="leaves the repository"):
        check_tree(tree, tree, subject="apps/web")


def test_symlink_loop_is_refused(tree: Path) -> None:
    os.symlink("b", tree / "apps" / "a")
    os.symlink("a", tree / "apps" / "b")
    with pytest.raises(PathEscapeError, match="is a symlink loop"):
        check_tree(tree, tree, subject="apps")


def test_symlinks_inside_the_repository_are_followed(tree: Path) -> None:
    os.symlink("../../shared/values.yaml", tree / "apps" / "web" / "values.yaml")
    os.symlink(tree / "shared", tree / "apps" / "shared-dir")
    check_tree(tree, tree, subject="apps/web")
    resolved = resolve_in_repo(tree, tree / "apps", "shared-dir/values.yaml", subject="apps")
    assert resolved == tree / "shared" / "values.yaml"


def test_dot_dot_after_a_symlink_is_resolved_from_its_target(tree: Path) -> None:
    # apps/web/up -> the repository root; "up/.." is then the root's parent, outside,
    # although "apps/web/up/.." reads as apps/web to a lexical check.
    os.symlink(tree, tree / "apps" / "web" / "up")
    os.symlink("up/../outside.yaml", tree / "apps" / "web" / "values.yaml")
    with pytest.raises(PathEscapeError, match="leaves the repository"):
        resolve_in_repo(tree, tree / "apps" / "web", "values.yaml", subject="apps/web")
    with pytest.raises(PathEscapeError, match="leaves the repository"):
        check_tree(tree, tree, subject="apps/web")


def test_dot_dot_through_an_inner_symlink_stays_inside(tree: Path) -> None:
    os.symlink("../../shared", tree / "apps" / "web" / "lib")
    os.symlink("lib/../shared/values.yaml", tree / "apps" / "web" / "values.yaml")
    resolved = resolve_in_repo(tree, tree / "apps" / "web", "values.yaml", subject="apps/web")
    assert resolved == tree / "shared" / "values.yaml"
    assert resolved.resolve() == (tree / "apps/web/values.yaml").resolve()


def test_a_named_path_through_a_symlink_to_the_root_cannot_climb_out(tree: Path) -> None:
    # What kustomize would open for "up/../../x" from apps/web is outside the repository.
    os.symlink(tree, tree / "apps" / "web" / "up")
    with pytest.raises(PathEscapeError, match="leaves the repository"):
        resolve_in_repo(tree, tree / "apps" / "web", "up/../../outside.yaml", subject="apps/web")
