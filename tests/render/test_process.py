"""The sandboxed process runner: limits, process-group kills, a scrubbed environment."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import psutil
import pytest

from tether.render.errors import ToolError, ToolTimeoutError
from tether.render.process import (
    Limits,
    Sandbox,
    ToolOutputLimitError,
    ToolStartError,
    run_process,
)

PY = sys.executable


def python(code: str) -> list[str]:
    return [PY, "-c", code]


async def wait_gone(pid: int, within: float = 5.0) -> bool:
    """Whether ``pid`` stops running (gone or a zombie awaiting its reaper) in time."""
    for _ in range(int(within / 0.05)):
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_returns_stdout_exit_code_and_duration(tmp_path: Path) -> None:
    result = await run_process(python("print('hello')"), cwd=tmp_path)
    assert (result.exit_code, result.stdout) == (0, b"hello\n")
    assert result.duration > 0
    assert result.argv[0] == PY


async def test_runs_in_the_given_directory(tmp_path: Path) -> None:
    result = await run_process(python("import os; print(os.getcwd())"), cwd=tmp_path)
    assert result.stdout.decode().strip() == str(tmp_path)


async def test_nonzero_exit_is_a_tool_error_with_stderr_tail(tmp_path: Path) -> None:
    code = "import sys; sys.stderr.write('x' * 100000 + 'the real error'); sys.exit(3)"
    with pytest.raises(ToolError) as caught:
        await run_process(python(code), cwd=tmp_path, subject="apps/demo")
    assert caught.value.exit_code == 3
    assert caught.value.stderr.endswith("the real error")
    assert str(caught.value).startswith("failed to render apps/demo: python")


async def test_nonzero_exit_without_check_returns_the_result(tmp_path: Path) -> None:
    result = await run_process(python("import sys; sys.exit(2)"), cwd=tmp_path, check=False)
    assert result.exit_code == 2


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleeper.pid"
    # The program forks a sleeper that would outlive it, then hangs itself.
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    with pytest.raises(ToolTimeoutError) as caught:
        await run_process(python(script), cwd=tmp_path, limits=Limits(timeout=1.0))
    assert caught.value.timeout == 1.0
    assert "timed out after 1s" in str(caught.value)
    assert await wait_gone(int(pidfile.read_text()))


async def test_children_left_behind_after_a_normal_exit_are_killed(tmp_path: Path) -> None:
    # The background sleeper inherits stdout; without the group sweep, reading stdout
    # would wait for it for a minute.
    script = "sleep 60 & echo $!"
    result = await run_process(["/bin/sh", "-c", script], cwd=tmp_path, limits=Limits(timeout=10))
    assert result.duration < 10
    assert await wait_gone(int(result.stdout))


async def test_output_over_the_cap_is_an_error_not_a_truncation(tmp_path: Path) -> None:
    code = "import sys\nfor _ in range(64): sys.stdout.write('x' * 65536)\n"
    with pytest.raises(ToolOutputLimitError) as caught:
        await run_process(python(code), cwd=tmp_path, limits=Limits(max_output=1024 * 1024))
    assert caught.value.limit == 1024 * 1024
    assert "wrote more than 1048576 bytes" in str(caught.value)


async def test_output_at_the_cap_is_accepted(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.write('x' * 4096)"
    result = await run_process(python(code), cwd=tmp_path, limits=Limits(max_output=4096))
    assert len(result.stdout) == 4096


async def test_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("HELM_REGISTRY_CONFIG", "/root/.config/helm/registry.json")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    result = await run_process(python(code), cwd=tmp_path, env={"ARGOCD_APP_NAME": "demo"})
    env = json.loads(result.stdout)
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "HELM_REGISTRY_CONFIG" not in env
    assert env["ARGOCD_APP_NAME"] == "demo"
    assert env["PATH"] == os.environ["PATH"]
    private = Path(env["HOME"]).parent
    assert private != Path.home()
    for key in ("TMPDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HELM_CACHE_HOME", "KUBECONFIG"):
        assert Path(env[key]).is_relative_to(private), key


async def test_private_directory_is_removed_afterwards(tmp_path: Path) -> None:
    script = 'echo left > "$HOME/file"; echo "$HOME"'
    result = await run_process(["/bin/sh", "-c", script], cwd=tmp_path)
    home = Path(result.stdout.decode().strip())
    assert not await asyncio.to_thread(home.parent.exists)


async def test_private_directory_is_removed_after_a_failure(tmp_path: Path) -> None:
    async with Sandbox() as sandbox:
        root = sandbox.root
        with pytest.raises(ToolTimeoutError):
            await sandbox.run(
                python("import time; time.sleep(30)"), cwd=tmp_path, limits=Limits(0.3)
            )
    assert not root.exists()


async def test_stdin_is_closed(tmp_path: Path) -> None:
    # Reading stdin must not block waiting for input: it is at end of file at once.
    code = "import sys; print(repr(sys.stdin.read()))"
    result = await run_process(python(code), cwd=tmp_path, limits=Limits(timeout=10))
    assert result.stdout == b"''\n"


async def test_commands_in_one_sandbox_share_its_home(tmp_path: Path) -> None:
    async with Sandbox() as sandbox:
        await sandbox.run(["/bin/sh", "-c", 'echo state > "$HOME/init"'], cwd=tmp_path)
        result = await sandbox.run(["/bin/sh", "-c", 'cat "$HOME/init"'], cwd=tmp_path)
        assert (sandbox.home / "init").is_file()
    assert result.stdout == b"state\n"


async def test_missing_program_is_a_start_error(tmp_path: Path) -> None:
    with pytest.raises(ToolStartError) as caught:
        await run_process([str(tmp_path / "no-such-tool"), "--password", "s3cret"], cwd=tmp_path)
    assert "no-such-tool could not be started" in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("name", ["", "A=B", "NUL\0"])
async def test_invalid_environment_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid environment variable"):
        await run_process(["/bin/true"], cwd=tmp_path, env={name: "x"})


@pytest.mark.parametrize("limits", [(0, 1), (1, 0), (-1, 1)])
def test_limits_must_be_positive(limits: tuple[float, int]) -> None:
    with pytest.raises(ValueError, match="positive"):
        Limits(*limits)


async def test_cancelling_the_caller_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleeper.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    task = asyncio.create_task(
        run_process(["/bin/sh", "-c", script], cwd=tmp_path, limits=Limits(timeout=60))
    )
    for _ in range(200):
        if await asyncio.to_thread(pidfile.exists) and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_gone(int(pidfile.read_text()))
