"""Paths as users give them: files, subdirectories, pre-commit's file lists, configuration that
differs by directory, .gitignore, and a repository with nothing to deploy (issue 17).

Every test runs the real command line (``preflight.cli.main``) in a small repository: a backend
with its own pyproject.toml beside the Kubernetes manifests at the top, as most full-stack
templates lay it out. ``preflight check .`` there reports two findings:

- PKG001 on ``backend/Dockerfile.worker`` (celery is not installed), and
- PRB002 on ``k8s/deployment.yaml`` (the probe's ``/ready`` is no route), whose related
  location is ``backend/app/main.py``; it needs the Makefile's ``docker build -t api:dev
  backend`` to know which app the Deployment runs: a cross-file link.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, write_tree
from preflight.cli import main

REPOSITORY = {
    "backend/pyproject.toml": """
        [project]
        name = "api"
        version = "1"
        dependencies = ["fastapi", "uvicorn"]
    """,
    "backend/Dockerfile": """
        FROM python:3.12-slim
        WORKDIR /app
        COPY . .
        RUN pip install .
        CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
    """,
    "backend/Dockerfile.worker": """
        FROM python:3.12-slim
        WORKDIR /app
        COPY . .
        RUN pip install .
        CMD ["celery", "-A", "app.main", "worker"]
    """,
    "backend/app/__init__.py": "",
    "backend/app/main.py": """
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/health")
        def health() -> dict[str, bool]:
            return {"ok": True}
    """,
    "Makefile": "build:\n\tdocker build -t api:dev backend\n",
    "notes.txt": "deploy with make build\n",
    "k8s/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          selector:
            matchLabels:
              app: api
          template:
            metadata:
              labels:
                app: api
            spec:
              containers:
                - name: api
                  image: api:dev
                  ports:
                    - containerPort: 8000
                  readinessProbe:
                    httpGet:
                      path: /ready
                      port: 8000
    """,
}
PKG001 = ("PKG001", "backend/Dockerfile.worker", 5)
PRB002 = ("PRB002", "k8s/deployment.yaml", 21)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def repository(root: Path, extra: dict[str, str] | None = None) -> Path:
    """The repository above, a git checkout (a `.git` directory marks its top)."""
    (root / ".git").mkdir(parents=True)
    return write_tree(root, {**REPOSITORY, **(extra or {})})


def found(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[tuple[str, str, int]], dict[str, object]]:
    """Exit code, (code, path, line) of each finding, and the JSON report."""
    code, out, err = run(capsys, "check", "--format", "json", *args)
    assert code in (0, 1), err
    report = json.loads(out)
    return code, [(f["code"], f["path"], f["line"]) for f in report["findings"]], report


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = repository(tmp_path / "svc")
    monkeypatch.chdir(root)
    return root


# --- Files, subdirectories and pre-commit's file lists ----------------------------------------


def test_the_whole_repository(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    assert found(capsys)[:2] == (1, [PKG001, PRB002])
    assert found(capsys, ".")[:2] == (1, [PKG001, PRB002])


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["backend/Dockerfile.worker"], [PKG001]),
        (["k8s/deployment.yaml"], [PRB002]),
        (["backend/app/main.py"], [PRB002]),  # the finding's related location is in it
        (["backend/Dockerfile"], []),  # read for the model; nothing in or about it
        (["Makefile", "notes.txt"], []),  # the image's link; a file preflight does not read
        (["backend/Dockerfile.worker", "k8s/deployment.yaml"], [PKG001, PRB002]),
        (["k8s"], [PRB002]),  # a directory without a pyproject.toml: cross-file links intact
        (["backend"], [PKG001, PRB002]),  # its own pyproject.toml is no boundary in a repo
        # a pyproject.toml stands for its directory: a dependency dropped there is a finding
        # on a Dockerfile beside it
        (["backend/pyproject.toml"], [PKG001, PRB002]),
    ],
)
def test_paths_report_what_is_in_or_about_them(
    capsys: pytest.CaptureFixture[str], repo: Path, paths: list[str], expected: list[object]
) -> None:
    code, findings, _ = found(capsys, *paths)
    assert findings == expected
    assert code == (1 if expected else 0)


def test_a_file_keeps_the_fingerprint_of_the_whole_run(
    capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path
) -> None:
    baseline = str(tmp_path / "baseline.json")
    assert run(capsys, "check", "--write-baseline", baseline)[0] == 0
    for args in ((".",), ("k8s/deployment.yaml",), ("backend/Dockerfile.worker", "k8s")):
        assert found(capsys, "--baseline", baseline, *args)[:2] == (0, [])


def test_inside_a_subdirectory_paths_are_shown_from_there(
    capsys: pytest.CaptureFixture[str], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo / "k8s")
    for args in ((), (".",), ("deployment.yaml",)):
        code, out, _ = run(capsys, "check", "--no-color", *args)
        assert code == 1
        assert out.startswith("deployment.yaml:21:21: PRB002 ")
        assert "  = ../backend/app/main.py:3:1: the app `app`" in out
        assert "PKG001" not in out


def test_the_project_configuration_applies_to_a_subdirectory_run(
    capsys: pytest.CaptureFixture[str], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(repo, {"preflight.toml": 'ignore = ["PKG001"]\n'})
    monkeypatch.chdir(repo / "backend")
    code, findings, _ = found(capsys)
    assert (code, findings) == (1, [("PRB002", "../k8s/deployment.yaml", 21)])


def test_a_file_in_a_directory_the_configuration_excludes_is_a_project_of_its_own(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    demo = {
        f"examples/demo/{name}": text
        for name, text in REPOSITORY.items()
        if name.startswith("backend/")
    }
    write_tree(repo, {"preflight.toml": 'exclude = ["examples"]\n', **demo})
    assert found(capsys)[1] == [PKG001, PRB002]  # excluded from the repository's deployment
    worker = "examples/demo/backend/Dockerfile.worker"
    assert found(capsys, worker)[:2] == (1, [("PKG001", worker, 5)])
    # ...as ruff checks an excluded file it is given, unless --force-exclude (pre-commit's)
    assert found(capsys, "--force-exclude", worker)[:2] == (0, [])


def test_pre_commit_passes_the_changed_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["pass_filenames"] is True
    repository(tmp_path / "svc")
    monkeypatch.chdir(tmp_path / "svc")
    staged = ["README.md", "backend/app/main.py", "backend/Dockerfile"]
    write_tree(tmp_path / "svc", {"README.md": "# api\n"})
    passed = [path for path in staged if re.search(hook["files"], path)]
    assert passed == ["backend/app/main.py", "backend/Dockerfile"]  # pre-commit's filter
    code, out, _ = run(capsys, *hook["entry"].split()[1:], "--no-color", "-q", *passed)
    assert code == 1
    assert [line.split(" ")[:2] for line in out.splitlines()] == [
        ["k8s/deployment.yaml:21:21:", "PRB002"]  # about backend/app/main.py, where it is
    ]


def test_paths_in_two_repositories_are_checked_each_in_its_own(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository(tmp_path / "svc")
    repository(tmp_path / "other")
    monkeypatch.chdir(tmp_path)
    code, findings, _ = found(
        capsys, "svc/k8s/deployment.yaml", "other/backend/Dockerfile.worker", "svc/k8s"
    )
    assert code == 1
    assert findings == [
        ("PRB002", "svc/k8s/deployment.yaml", 21),
        ("PKG001", "other/backend/Dockerfile.worker", 5),
    ]
    # each root's findings keep their own fingerprints: one baseline covers both
    baseline = str(tmp_path / "baseline.json")
    paths = ("svc/k8s/deployment.yaml", "other/backend/Dockerfile.worker")
    assert run(capsys, "check", "--write-baseline", baseline, *paths)[0] == 0
    assert len(json.loads(Path(baseline).read_text())["findings"]) == 2
    assert found(capsys, "--baseline", baseline, *paths)[:2] == (0, [])


def test_a_home_directory_kept_in_git_is_no_project(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)  # dotfiles under version control
    write_tree(home, {"notes/Dockerfile": 'FROM python:3.12-slim\nCMD ["gunicorn", "x"]\n'})
    write_tree(home / "projects" / "api", REPOSITORY)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home / "projects" / "api" / "backend")
    # the project is backend/ (its pyproject.toml), not the whole home directory
    assert found(capsys, "Dockerfile.worker")[1] == [("PKG001", "Dockerfile.worker", 5)]
    code, _, _ = run(capsys, "check", "--verbose", "../../../notes/Dockerfile")
    assert code == 1  # a file outside any project: checked within the home repository


# --- Configuration by directory, as ruff has it -------------------------------------------------


def test_a_nested_configuration_governs_the_files_below_it(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    pyproject = REPOSITORY["backend/pyproject.toml"] + '\n[tool.preflight]\nignore = ["PKG001"]\n'
    write_tree(repo, {"backend/pyproject.toml": pyproject})
    assert found(capsys)[:2] == (1, [PRB002])
    # the closest configuration wins whole (no merging): the root's ignore does not reach k8s/
    write_tree(
        repo,
        {
            "preflight.toml": 'ignore = ["PRB002"]\n',
            "k8s/preflight.toml": '[severity]\nPRB = "warning"\n',
        },
    )
    code, findings, report = found(capsys)
    assert (code, findings) == (0, [PRB002])
    assert report["findings"][0]["severity"] == "warning"  # type: ignore[index]


def test_a_nested_configuration_says_which_keys_it_cannot_set(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write_tree(repo, {"k8s/preflight.toml": 'external-secrets = ["api"]\nignore = ["PRB002"]\n'})
    code, out, _ = run(capsys, "check", "--verbose", "--no-color")
    assert code == 1 and "PRB002" not in out
    assert (
        "note: k8s/preflight.toml: `external-secrets` only count in the checked root's "
        "configuration (check k8s as its own root to use them); ignored here"
    ) in out


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("ignore = [\n", 1, "configuration not applied: not valid TOML: Invalid value"),
        (
            'ignore = ["PRB002"]\nignroe = []\n',
            2,
            "configuration not applied: unknown key `ignroe`; did you mean `ignore`?",
        ),
    ],
)
def test_a_broken_nested_configuration_is_pf001_and_not_applied(
    capsys: pytest.CaptureFixture[str], repo: Path, text: str, line: int, why: str
) -> None:
    write_tree(repo, {"k8s/preflight.toml": text})
    code, findings, report = found(capsys)
    # the rest is checked, and the broken configuration's ignore is not applied
    assert (code, findings) == (1, [PKG001, PRB002, ("PF001", "k8s/preflight.toml", line)])
    assert report["findings"][2]["message"].startswith(why)  # type: ignore[index]


def test_config_file_without_a_tool_table_means_the_defaults(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write_tree(repo, {"k8s/preflight.toml": 'ignore = ["PRB002"]\n'})
    assert found(capsys)[1] == [PKG001]
    # --config governs every file: the nested preflight.toml is not read
    code, findings, _ = found(capsys, "--config", "backend/pyproject.toml")
    assert (code, findings) == (1, [PKG001, PRB002])


@pytest.mark.parametrize(
    ("config", "args", "expected"),
    [
        ('select = ["PRB"]\n', (), [PRB002]),
        ('select = ["PRB"]\nextend-select = ["PKG"]\n', (), [PKG001, PRB002]),
        ('select = ["PRB"]\n', ("--extend-select", "PKG"), [PKG001, PRB002]),
        # --select replaces the configuration's select and extend-select, as ruff's does
        ('select = ["PRB"]\nextend-select = ["PKG"]\n', ("--select", "PKG"), [PKG001]),
        ('exclude = ["k8s"]\n', (), [PKG001]),
        ('extend-exclude = ["*.worker"]\n', (), [PRB002]),
        ('exclude = ["k8s"]\n', ("--exclude", "Dockerfile.worker"), [PRB002]),
        ('exclude = ["k8s"]\n', ("--extend-exclude", "backend/Dockerfile.*"), []),
        # excluding the Makefile loses the link between the Deployment's image and its app
        ("", ("--exclude", "Makefile"), [PKG001]),
    ],
)
def test_selection_and_exclusion_from_configuration_and_command_line(
    capsys: pytest.CaptureFixture[str],
    repo: Path,
    config: str,
    args: tuple[str, ...],
    expected: list[object],
) -> None:
    write_tree(repo, {"preflight.toml": config})
    assert found(capsys, *args)[1] == expected


@pytest.mark.parametrize(
    "key",
    [
        "Dockerfile.worker",  # a name, anywhere
        "backend",  # a directory, and everything below it
        "backend/",
        "backend/*.worker",  # a pattern
        "**/Dockerfile.*",
    ],
)
def test_per_file_ignores_match_as_exclude_does(
    capsys: pytest.CaptureFixture[str], repo: Path, key: str
) -> None:
    write_tree(repo, {"preflight.toml": f'[per-file-ignores]\n"{key}" = ["PKG001", "PRB"]\n'})
    assert found(capsys)[1] == [PRB002]


def test_per_file_ignores_of_a_nested_configuration_are_relative_to_it(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write_tree(repo, {"preflight.toml": '[per-file-ignores]\n"/Dockerfile*" = ["PKG"]\n'})
    assert found(capsys)[1] == [PKG001, PRB002]  # a leading `/`: at the top only
    write_tree(repo, {"backend/preflight.toml": '[per-file-ignores]\n"/Dockerfile*" = ["PKG"]\n'})
    assert found(capsys)[1] == [PRB002]  # ...of the configuration's directory
    write_tree(repo, {"backend/preflight.toml": '[per-file-ignores]\n"Dockerfile.*" = ["PKG"]\n'})
    assert found(capsys)[1] == [PRB002]


def test_severity_per_rule(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    # the most specific selector wins: PKG001 over PKG over ALL
    write_tree(
        repo,
        {"preflight.toml": '[severity]\nALL = "info"\nPKG = "error"\nPKG001 = "warning"\n'},
    )
    code, findings, report = found(capsys)
    severities = [f["severity"] for f in report["findings"]]  # type: ignore[union-attr]
    assert (code, findings, severities) == (0, [PKG001, PRB002], ["warning", "info"])
    assert found(capsys, "--fail-on", "warning")[0] == 1


def test_severity_of_an_unknown_rule_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write_tree(repo, {"preflight.toml": '[severity]\nPKG009 = "warning"\n'})
    code, out, err = run(capsys, "check")
    assert (code, out) == (2, "")
    assert "unknown rule code `PKG009`" in err and err.count("\n") == 1


def test_a_project_of_its_own_takes_the_configuration_above_it(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    demo = {f"examples/{name}": text for name, text in REPOSITORY.items()}
    write_tree(repo, {"preflight.toml": 'exclude = ["examples"]\nignore = ["PRB"]\n', **demo})
    # examples/ has no configuration: the repository's applies, its patterns from the top
    assert found(capsys, "examples")[1] == [("PKG001", "examples/backend/Dockerfile.worker", 5)]


# --- .gitignore ---------------------------------------------------------------------------------

GENERATED = {
    ".gitignore": "# rendered by `helm template`\nout/\n",
    "out/deployment.yaml": REPOSITORY["k8s/deployment.yaml"],
    "out/secret.yaml": """
        apiVersion: v1
        kind: Secret
        metadata:
          name: api
        stringData:
          API_TOKEN: ghp_9fQ2LxWm7TzR4vBn8KdA
    """,
}


def test_files_git_ignores_are_not_checked(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    write_tree(repo, GENERATED)
    assert found(capsys)[1] == [PKG001, PRB002]
    out = run(capsys, "check", "--verbose", "--no-color")[1]
    assert "note: out: skipped (ignored by git (.gitignore:2))" in out
    # read when asked; the Secret is still not "committed" (.gitignore says so): no ENV005
    everything = [PKG001, PRB002, ("PRB002", "out/deployment.yaml", 21)]
    assert found(capsys, "--no-respect-gitignore")[1] == everything
    write_tree(repo, {"preflight.toml": "respect-gitignore = false\n"})
    assert found(capsys)[1] == everything
    assert found(capsys, "--respect-gitignore")[1] == [PKG001, PRB002]


def test_an_ignored_file_named_on_the_command_line_is_checked(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    write_tree(repo, GENERATED)
    assert found(capsys, "out/deployment.yaml")[1] == [("PRB002", "out/deployment.yaml", 21)]
    assert found(capsys, "out")[1] == [("PRB002", "out/deployment.yaml", 21)]
    assert found(capsys, "--force-exclude", "out/deployment.yaml")[1] == []


def test_a_gitignore_above_a_project_of_its_own_applies(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    demo = {f"examples/{name}": text for name, text in REPOSITORY.items()}
    write_tree(repo, {"preflight.toml": 'exclude = ["examples"]\n', **demo})
    write_tree(repo, {".gitignore": "Dockerfile.worker\n"})
    assert found(capsys, "examples")[1] == [("PRB002", "examples/k8s/deployment.yaml", 21)]


# --- Nothing to deploy --------------------------------------------------------------------------


def test_nothing_deployable_is_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = {name: REPOSITORY[name] for name in ("backend/pyproject.toml", "backend/app/main.py")}
    write_tree(tmp_path / "lib", library)
    monkeypatch.chdir(tmp_path / "lib" / "backend")
    code, out, err = run(capsys, "check")
    assert code == 0 and out.startswith("All checks passed")
    assert err == (
        "preflight: warning: nothing deployable found in . (no Dockerfile, compose file, "
        "Kubernetes manifest or Procfile): no deployment was checked\n"
    )
    assert run(capsys, "check", "--quiet")[1:] == ("", "")
    code, _, err = run(capsys, "check", "/dev/null")  # neither a file nor a directory
    assert code == 2 and "is neither a file nor a directory" in err
    # a malformed Dockerfile is something to deploy (and PF001), not nothing
    write_tree(tmp_path / "lib", {"backend/Dockerfile": "FROM python:3.12-slim\nCMDD x\n"})
    code, out, err = run(capsys, "check", "--no-color")
    assert (code, err) == (1, "") and "PF001" in out
