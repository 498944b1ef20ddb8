"""The README stays true: its rule table is the registry, its commands are what CI runs."""

from __future__ import annotations

import re

from conftest import REPO
from preflight.checks import RULES

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_rule_table_matches_the_registry() -> None:
    table = README.split("<!-- rules-table")[1].split("<!-- /rules-table -->")[0]
    rows = re.findall(r"^\| (\w+) \| ([a-z0-9-]+) \| ([\w/]+) \| (.+) \|$", table, re.M)
    assert rows == [
        (r.code, r.name, "/".join(s.value for s in r.severities), r.summary) for r in RULES
    ]


def test_ci_runs_the_readme_install_command() -> None:
    install = re.search(r"```sh\n(pip install [^\n]+)\npreflight check \.\n```", README)
    assert install is not None
    ci = (REPO / ".ci/run").read_text(encoding="utf-8")
    assert install.group(1) in ci
