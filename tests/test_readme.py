"""The README stays true: its rule table is the registry, its commands are what CI runs."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from preflight import __version__
from preflight.checks import RULES

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_the_registry() -> None:
    table = README.split("<!-- rules-table")[1].split("<!-- /rules-table -->")[0]
    rows = re.findall(r"^\| (\w+) \| ([a-z0-9-]+) \| ([\w/]+) \| (.+) \|$", table, re.M)
    assert rows == [
        (r.code, r.name, "/".join(s.value for s in r.severities), r.summary) for r in RULES
    ]


def _sh_block(after: str) -> list[str]:
    """The command lines of the first ```sh block after the heading ``after``."""
    section = README.split(f"\n{after}\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines()]


def test_ci_runs_the_readme_install_command() -> None:
    install, *commands = _sh_block("## Work on preflight")
    assert install.startswith("pip install ")
    ci = (REPO / ".ci/run").read_text(encoding="utf-8")
    assert install in ci.splitlines()
    for command in commands:
        assert command in ci, command


def test_the_readme_commands_pass_and_then_show_a_finding() -> None:
    """A newcomer's first commands in a clone: preflight's own repository passes, the next
    command shows what a finding looks like (and fails, as CI would)."""
    _, clean, finding = _sh_block("## Work on preflight")
    exe = Path(sys.executable).with_name("preflight")
    prefix = [str(exe)] if exe.exists() else [sys.executable, "-m", "preflight"]

    def run(command: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "NO_COLOR": "1"}
        argv = [*prefix, *shlex.split(command)[1:]]
        return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)

    passed = run(clean)
    assert passed.returncode == 0, passed.stderr
    assert "All checks passed" in passed.stdout
    failed = run(finding)
    assert failed.returncode == 1, failed.stderr
    first = failed.stdout.splitlines()[0]
    assert re.match(r"fixtures/\S+/Dockerfile:\d+:\d+: .*\bPKG001\b", first), first


def test_the_user_install_line_names_our_distribution() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name = project["name"]
    # `preflight` on PyPI is an unrelated project: installing it gives a user something else.
    assert name != "preflight"
    assert project["scripts"] == {"preflight": "preflight.entry:main"}
    assert f"{name}[test]" in project["optional-dependencies"]["dev"]
    install = _sh_block("## Install and use")[0]
    assert install == f"pipx install {name}"
    assert f"uv tool install {name}" in README
    action = (REPO / "action.yml").read_text(encoding="utf-8")
    assert f'pip install "{name}${{PREFLIGHT_VERSION}}"' in action


def test_ci_snippets_name_the_current_release_tag() -> None:
    tag = f"v{__version__}"
    revs = re.findall(r"^\s+rev: (\S+)", README, re.M)
    uses = re.findall(r"uses: preflight-dev/preflight@(\S+)", README)
    assert revs == [tag] and uses == [tag]
    assert "release tag" in README.split("## In pre-commit and CI")[1]
