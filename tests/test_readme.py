"""The README's examples are executed here, so they never drift from the code.

Python blocks (```python) run in one namespace, in order, in a temporary working directory.
Shell blocks marked ```console run each ``$ darkfigure ...`` line through the CLI entry point and check the
exit code given in a trailing ``# exit N`` comment (0 if absent).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import MSE_DIR, REPO

README = REPO / "README.md"
BLOCK = re.compile(r"```(python|console)\n(.*?)```", re.S)


def _blocks(kind: str) -> list[str]:
    return [body for k, body in BLOCK.findall(README.read_text(encoding="utf-8")) if k == kind]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # README examples refer to the shared tables as shared/data/mse/...; make that path exist here.
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "mse").symlink_to(MSE_DIR)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DARKFIGURE_PASSPHRASE", "readme example passphrase")
    return tmp_path


def test_readme_has_examples():
    assert _blocks("python"), "README must show Python API examples"
    assert _blocks("console"), "README must show CLI examples"


def test_readme_python_examples_run(workdir: Path):
    ns: dict[str, object] = {"__name__": "__readme__"}
    for code in _blocks("python"):
        exec(compile(code, str(README), "exec"), ns)


def test_readme_cli_examples_run(workdir: Path):
    env = dict(os.environ)
    for block in _blocks("console"):
        for line in block.splitlines():
            if not line.startswith("$ "):
                continue
            cmd, _, comment = line[2:].partition("#")
            expected = int(comment.split("exit", 1)[1]) if "exit" in comment else 0
            argv = shlex.split(cmd)
            assert argv[0] == "darkfigure", line
            proc = subprocess.run([sys.executable, "-m", "darkfigure", *argv[1:]], cwd=workdir, env=env,
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == expected, f"{line}\n{proc.stdout}\n{proc.stderr}"
