from __future__ import annotations

from pathlib import Path

from tether.render.scratch import scratch_copy, scratch_overlay


def make_repo(root: Path) -> None:
    for path, text in {
        "apps/web/kustomization.yaml": "resources: [../../bases/api]\n",
        "apps/web/sub/patch.yaml": "a: 1\n",
        "apps/other/x.yaml": "b: 2\n",
        "bases/api/kustomization.yaml": "resources: []\n",
        ".git/HEAD": "ref: refs/heads/main\n",
    }.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


async def test_overlay_copies_the_folder_and_links_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_repo(root)
    async with scratch_overlay(root, root / "apps/web") as scratch:
        web = scratch / "apps/web"
        assert not web.is_symlink()
        assert not (web / "kustomization.yaml").is_symlink()
        assert (web / "sub/patch.yaml").read_text() == "a: 1\n"
        assert (scratch / "apps/other").resolve() == root / "apps/other"
        assert (web / "../../bases/api/kustomization.yaml").read_text() == "resources: []\n"
        assert not (scratch / ".git").exists()
        (web / "kustomization.yaml").write_text("edited\n")
    assert not scratch.exists()
    assert (root / "apps/web/kustomization.yaml").read_text() == "resources: [../../bases/api]\n"


async def test_full_copy_leaves_out_git(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    make_repo(root)
    async with scratch_copy(root) as copy:
        assert (copy / "apps/other/x.yaml").read_text() == "b: 2\n"
        assert not (copy / ".git").exists()
    assert not copy.exists()
