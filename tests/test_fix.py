"""Issue 21, `check --fix` / `--diff` / `--unsafe-fixes`: ruff's contract, through the real
entry point — the golden diff, the fixed tree checked again, a second `--fix` that changes
nothing, bytes outside the edit kept (CR LF, a last line without a newline), nothing written
by `--diff`, nothing outside the root, and the edits in JSON and SARIF."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from conftest import FIXTURES, SHARED
from preflight.cli import main
from preflight.findings import Applicability, Autofix, Edit, Finding, Severity
from preflight.fix import apply_fixes, resolve
from preflight.spans import Span

SCHEMA = json.loads((Path(__file__).parent / "findings.schema.json").read_text())
SARIF_SCHEMA = json.loads((SHARED / "data" / "sarif-schema-2.1.0.json").read_text())
SNAPSHOTS = Path(__file__).parent / "snapshots" / "fix"
UPDATE = os.environ.get("PREFLIGHT_UPDATE_SNAPSHOTS") == "1"

# Fixtures whose findings have a fix, the code it fixes, and whether it is safe.
FIXABLE = [
    ("env003-env-example-incomplete", "ENV003", True),
    ("db005-heroku-postgres-scheme", "DB005", True),
    ("db002-validator-keeps-sslmode", "DB002", False),
    ("db008-sqlalchemy-without-asyncio-extra", "DB008", True),
    ("db008-uv-lock-sqlalchemy-21", "DB008", True),
    ("env007-v1-import-fails-under-pydantic-2", "ENV007", False),
    ("img001-slim-curl-healthcheck", "IMG001", False),
    ("img001-continued-healthcheck", "IMG001", False),
    ("pkg001-gunicorn-missing", "PKG001", False),
    ("pkg001-requirements-project", "PKG001", False),
    ("pkg001-dev-group-only", "PKG001", False),
    ("pkg001-k8s-command", "PKG001", False),
    ("pkg001-poetry-pinned-lock", "PKG001", False),
    ("pkg001-uv-pinned-lock", "PKG001", False),
    ("pkg002-requirements-uvicorn-worker-missing", "PKG002", False),
    ("prb002-django-project", "PRB002", False),
    ("prb002-flask-factory", "PRB002", False),
    ("prb002-link-kustomize-images", "PRB002", False),
    ("pkg002-uv-log-config-yaml", "PKG002", False),
    ("run001-compose-localhost", "RUN001", True),
    ("run002-k8s-args", "RUN002", True),
    ("run002-exec-form-port", "RUN002", True),
    ("run003-k8s-command-django-asgi-gthread", "RUN003", False),
    ("run003-procfile-quart-gevent-conf", "RUN003", False),
    ("run003-uv-fastapi-default-sync-worker", "RUN003", False),
    ("run001-uvicorn-default-host", "RUN001", True),
    ("run001-uvicorn-run-in-main", "RUN001", False),
    ("env001-secret-holds-the-key", "ENV001", False),
    ("env001-kustomize-base", "ENV001", False),
    ("env002-secret-key-mismatch", "ENV002", False),
    ("env002-secret-name-typo", "ENV002", False),
    ("prb001-liveness-only", "PRB001", False),
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def codes(capsys: pytest.CaptureFixture[str], root: Path) -> list[tuple[str, str, int]]:
    return [(c, p, line) for c, p, line, _ in findings(capsys, root)]


def findings(capsys: pytest.CaptureFixture[str], root: Path) -> list[tuple[str, str, int, bool]]:
    """(code, path, line, has a fix) of every finding."""
    code, out, err = run(capsys, "check", "--format", "json", "--no-cache", str(root))
    assert code in (0, 1), err
    return [
        (f["code"], f["path"], f["line"], f["autofix"] is not None)
        for f in json.loads(out)["findings"]
    ]


def _added(before: dict[str, bytes], after: dict[str, bytes]) -> list[str]:
    """The lines a unified diff of ``before`` → ``after`` adds."""
    import difflib

    out: list[str] = []
    for name, data in after.items():
        old = before.get(name, b"").decode("utf-8", "replace").splitlines()
        new = data.decode("utf-8", "replace").splitlines()
        out += [line[1:] for line in difflib.unified_diff(old, new, lineterm="", n=0)
                if line.startswith("+") and not line.startswith("+++")]  # fmt: skip
    return sorted(out)


def _added_in_diff(diff: str) -> list[str]:
    return sorted(
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    )


@pytest.mark.parametrize(("fixture", "code", "safe"), FIXABLE)
def test_fix_contract_on_fixture(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fixture: str, code: str, safe: bool
) -> None:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    before = codes(capsys, root)
    fixable = {(c, p, line) for c, p, line, fix in findings(capsys, root) if fix and c == code}
    assert fixable
    flags = () if safe else ("--unsafe-fixes",)
    # --diff: the golden diff on stdout, exit 1, nothing written
    files = tree(root)
    exit_code, out, err = run(capsys, "check", "--diff", *flags, "--no-cache", str(root))
    assert exit_code == 1, err
    diff = out.replace(str(root), fixture)
    snapshot = SNAPSHOTS / f"{fixture}.diff"
    if UPDATE:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(diff, encoding="utf-8")
    assert diff == snapshot.read_text(encoding="utf-8")
    assert tree(root) == files
    # --fix: writes what --diff showed; the fixed tree has no finding of that code and nothing new
    exit_code, _, err = run(capsys, "check", "--fix", *flags, "--no-cache", str(root))
    assert "fixed" in err
    after = codes(capsys, root)
    # --diff showed every pass: as many added lines, and each it shows unmasked is written
    written, shown = _added(files, tree(root)), _added_in_diff(diff)
    assert len(written) == len(shown)
    assert not Counter(line for line in shown if "***" not in line) - Counter(written)
    assert not fixable & set(after)  # no finding of that code where it was fixed
    assert set(after) <= set(before)  # and nothing new
    assert exit_code == (1 if after else 0)
    # a second --fix changes nothing; --diff then exits 0
    fixed = tree(root)
    run(capsys, "check", "--fix", *flags, "--no-cache", str(root))
    assert tree(root) == fixed
    exit_code, out, _ = run(capsys, "check", "--diff", *flags, "--no-cache", str(root))
    assert (exit_code, out) == (0, "")


def test_unsafe_fixes_alone_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exit_code, _, err = run(capsys, "check", "--unsafe-fixes", str(tmp_path))
    assert exit_code == 2
    assert "--unsafe-fixes needs --fix or --diff" in err


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        # CR LF kept, the added line too; a comment and odd spacing untouched
        (
            b"# local set-up\r\nBILLING_STRIPE_API_KEY = x\r\n",
            b"# local set-up\r\nBILLING_STRIPE_API_KEY = x\r\nBILLING_WEBHOOK_SECRET=\r\n",
        ),
        # a last line without its newline gets one before the added line
        (
            b"BILLING_STRIPE_API_KEY=x",
            b"BILLING_STRIPE_API_KEY=x\nBILLING_WEBHOOK_SECRET=\n",
        ),
        # both missing: added in the order the settings are declared
        (
            b"# nothing yet\n",
            b"# nothing yet\nBILLING_STRIPE_API_KEY=\nBILLING_WEBHOOK_SECRET=\n",
        ),
    ],
)
def test_fix_keeps_every_byte_outside_the_edit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, example: bytes, expected: bytes
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "env003-env-example-incomplete", root)
    (root / ".env.example").write_bytes(example)
    run(capsys, "check", "--fix", "--no-cache", "--select", "ENV003", str(root))
    assert (root / ".env.example").read_bytes() == expected
    assert codes(capsys, root) == []


def finding_with(*edits: Edit, safe: bool = True) -> Finding:
    applicability = Applicability.SAFE if safe else Applicability.UNSAFE
    return Finding(
        "ENV003",
        Severity.WARNING,
        "m",
        Span("a.txt", 1),
        autofix=Autofix(applicability, "change", tuple(edits)),
    )


def test_overlapping_edits_wait_for_the_next_pass(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello world\n")
    first = finding_with(Edit("a.txt", 1, 1, 1, 6, "HELLO"))
    second = finding_with(Edit("a.txt", 1, 3, 1, 8, "xx"))
    applied = apply_fixes(tmp_path, [first, second], unsafe=False)
    assert applied.after["a.txt"] == "HELLO world\n"
    assert [why for _, why in applied.skipped] == [
        "another fix edits the same text; run --fix again"
    ]


def test_unsafe_fixes_apply_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    unsafe = finding_with(Edit("a.txt", 1, 1, 1, 2, "b"), safe=False)
    assert apply_fixes(tmp_path, [unsafe], unsafe=False).fixed == []
    assert apply_fixes(tmp_path, [unsafe], unsafe=True).after["a.txt"] == "b\n"


def test_no_edit_outside_the_root_or_in_a_lock_file(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.txt").symlink_to(outside)
    escape = finding_with(Edit("link.txt", 1, 1, 1, 5, "gone"))
    applied = apply_fixes(root, [escape], unsafe=True)
    assert applied.fixed == [] and "inside the checked root" in applied.skipped[0][1]
    # a lock file is its tool's: the engine drops a fix that would edit one
    lock = finding_with(Edit("uv.lock", 1, 1, 1, 1, "x"))
    assert resolve(lock, {"uv.lock": "version = 1\n"}).autofix is None
    # and an end-of-file edit is placed where the text ends
    placed = resolve(finding_with(Edit.append("a.txt", "B=\n")), {"a.txt": "A=1"}).autofix
    assert placed is not None
    assert placed.edits == (Edit("a.txt", 1, 4, 1, 4, "\nB=\n"),)


def test_json_and_sarif_carry_the_edits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "env003-env-example-incomplete", root)
    _, out, _ = run(capsys, "check", "--format", "json", "--no-cache", str(root))
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    (finding,) = document["findings"]
    assert finding["autofix"] == {
        "applicability": "safe",
        "message": "Add `BILLING_WEBHOOK_SECRET=` to .env.example",
        "edits": [
            {
                "path": f"{root}/.env.example",
                "line": 5,
                "column": 1,
                "end_line": 5,
                "end_column": 1,
                "content": "BILLING_WEBHOOK_SECRET=\n",
            }
        ],
    }
    _, out, _ = run(capsys, "check", "--format", "sarif", "--no-cache", str(root))
    sarif = json.loads(out)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    (result,) = sarif["runs"][0]["results"]
    (change,) = result["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"].endswith(".env.example")
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 5, "startColumn": 1, "endLine": 5, "endColumn": 1},
            "insertedContent": {"text": "BILLING_WEBHOOK_SECRET=\n"},
        }
    ]


def test_a_diff_never_prints_a_secret(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "db005-heroku-postgres-scheme", root)
    example = root / ".env.example"
    example.write_text(
        example.read_text().replace("CHANGE_ME@", "Zq8vLm3Kx9Tr@") + "API_TOKEN=Tq3Nw8Zr5Yx2\n"
    )
    exit_code, out, _ = run(capsys, "check", "--diff", "--no-cache", str(root))
    assert exit_code == 1
    assert "+DATABASE_URL=postgresql://invoice:***@localhost" in out
    assert "Zq8v" not in out and "Tq3N" not in out


@pytest.mark.parametrize(
    ("line", "fixed"),
    [
        ('    "SQLAlchemy[mypy]>=2.0",\n', '    "SQLAlchemy[mypy, asyncio]>=2.0",\n'),
        ("    'sqlalchemy >=2.1',\n", "    'sqlalchemy[asyncio] >=2.1',\n"),
    ],
)
def test_db008_adds_the_extra_as_the_requirement_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str, fixed: str
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "db008-sqlalchemy-without-asyncio-extra", root)
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text()
    original = next(x for x in text.splitlines(keepends=True) if "sqlalchemy>=" in x)
    pyproject.write_text(text.replace(original, line))
    run(capsys, "check", "--fix", "--no-cache", "--select", "DB008", str(root))
    assert pyproject.read_text() == text.replace(original, fixed)


POETRY = """[tool.poetry]
name = "svc"
version = "1.0.0"

[tool.poetry.dependencies]
python = "^3.12"  # the runtime
fastapi = "^0.115"

[tool.poetry.group.dev.dependencies]
pytest = "*"
"""


def test_pkg001_adds_a_key_to_poetrys_main_group(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "pyproject.toml").write_text(POETRY)
    (root / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
        "RUN pip install poetry && poetry install --only main\n"
        'CMD ["gunicorn", "-b", "0.0.0.0:8000", "svc.main:app"]\n'
    )
    assert [c for c, _, _ in codes(capsys, root)] == ["PKG001"]
    run(capsys, "check", "--fix", "--no-cache", str(root))  # unsafe: not applied
    assert (root / "pyproject.toml").read_text() == POETRY
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert (root / "pyproject.toml").read_text() == POETRY.replace(
        'fastapi = "^0.115"\n', 'fastapi = "^0.115"\ngunicorn = "*"\n'
    )
    assert codes(capsys, root) == []


def test_a_changed_secret_line_shows_masked() -> None:
    from preflight.fix import Applied, diff_text

    before = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\nstringData:\n"
        '  DATABASE_URL: "postgres://app:Zq8vLm3Kx9Tr@db:5432/app"\n'
    )
    after = before.replace("postgres://", "postgresql+asyncpg://")
    text = diff_text(".", Applied({"k8s/secret.yaml": before}, {"k8s/secret.yaml": after}))
    assert "-  DATABASE_URL: ***\n+  DATABASE_URL: ***\n" in text
    assert "Zq8v" not in text
    assert text.startswith("--- k8s/secret.yaml\n+++ k8s/secret.yaml\n@@ -3,4 +3,4 @@\n")


def test_rest_of_line_edits_keep_a_yaml_comment_and_skip_a_continued_line() -> None:
    yaml_text = '    test: ["CMD", "curl", "-f", "http://x/"]  # the app answers\n'
    edit = Edit.replace_rest("c.yml", 1, 5, '["CMD', '["CMD", "python"]')
    placed = resolve(finding_with(edit), {"c.yml": yaml_text}).autofix
    assert placed is not None
    (found,) = placed.edits
    assert (found.col, found.end_col) == (11, yaml_text.index("  #") + 1)
    continued = "HEALTHCHECK CMD curl -f \\\n  http://x/ || exit 1\n"
    edit = Edit.replace_rest("Dockerfile", 1, 1, "CMD", "CMD true")
    assert resolve(finding_with(edit), {"Dockerfile": continued}).autofix is None


def test_prb006_points_the_probe_at_the_port_the_server_binds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "prb006-port-mismatch", root)
    before = codes(capsys, root)
    assert [(c, p.rsplit("/", 1)[-1], line) for c, p, line in before] == [
        ("PRB006", "deployment.yaml", 32),  # a port name no containerPort has: no fix
        ("PRB006", "deployment.yaml", 37),
        ("PRB006", "service.yaml", 10),
    ]
    run(capsys, "check", "--fix", "--no-cache", str(root))  # unsafe: nothing written
    assert codes(capsys, root) == before
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    # the probe now targets 8000; the Service's targetPort has no fix (which side is wrong is
    # a choice: the message says both), so it stays
    assert [(c, p.rsplit("/", 1)[-1], line) for c, p, line in codes(capsys, root)] == [
        ("PRB006", "deployment.yaml", 32),
        ("PRB006", "service.yaml", 10),
    ]
    assert "port: 8000" in (root / "k8s/deployment.yaml").read_text()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "# settings\nfrom pydantic import Field, BaseSettings  # v1\nimport os\n",
            "# settings\nfrom pydantic import Field  # v1\nfrom pydantic_settings import "
            "BaseSettings\nimport os\n",
        ),
        (
            "from pydantic import BaseSettings as Base\n\n\nclass S(Base):\n    x: int = 1\n\n"
            "    class Config:\n        env_prefix = 'APP_'  # ours\n        case_sensitive = True\n",
            "from pydantic_settings import BaseSettings as Base, SettingsConfigDict\n\n\n"
            "class S(Base):\n    x: int = 1\n\n"
            "    model_config = SettingsConfigDict(env_prefix='APP_', case_sensitive=True)\n",
        ),
        # a Config with a method, or a renamed option, stays as it is (the import still moves)
        (
            "from pydantic import BaseSettings\nclass S(BaseSettings):\n    class Config:\n"
            "        fields = {'x': {'env': 'X'}}\n",
            "from pydantic_settings import BaseSettings\nclass S(BaseSettings):\n"
            "    class Config:\n        fields = {'x': {'env': 'X'}}\n",
        ),
        ("import pydantic\nclass S(pydantic.BaseSettings): pass\n", None),
        ("this is not python (\n", None),
    ],
)
def test_the_pydantic_settings_codemod(source: str, expected: str | None) -> None:
    from preflight.codemods import pydantic_settings

    assert pydantic_settings(source, "") == expected


@pytest.mark.parametrize(
    ("query", "fixed", "flags"),
    [
        ("?sslmode=require", "?ssl=require", ()),
        ("?sslmode=verify-full&channel_binding=require", "?ssl=verify-full", ("--unsafe-fixes",)),
    ],
)
def test_db002_writes_asyncpg_s_ssl_parameter_in_a_literal_url(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    query: str,
    fixed: str,
    flags: tuple[str, ...],
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "reference-service", root)
    config = root / "app/config.py"
    validator = "return to_asyncpg_url(value).render_as_string(hide_password=False)"
    config.write_text(config.read_text().replace(validator, "return value"))
    secret = root / "k8s/secret.example.yaml"
    url = "postgresql://app:CHANGE_ME@db.example.internal:5432/app?sslmode=require"
    asyncpg = url.replace("postgresql://", "postgresql+asyncpg://").replace("?sslmode=require", "")
    secret.write_text(secret.read_text().replace(url, asyncpg + query))
    assert [c for c, _, _ in codes(capsys, root) if c == "DB002"] == ["DB002"]
    run(capsys, "check", "--fix", *flags, "--no-cache", str(root))
    assert asyncpg + fixed in secret.read_text()
    assert not [c for c, _, _ in codes(capsys, root) if c == "DB002"]


def test_the_same_edit_asked_by_several_findings_is_made_once_and_fixes_them_all(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_text("sqlalchemy>=2\n")
    edit = Edit("a.txt", 1, 1, 1, 11, "sqlalchemy[asyncio]")
    applied = apply_fixes(tmp_path, [finding_with(edit), finding_with(edit)], unsafe=False)
    assert applied.after["a.txt"] == "sqlalchemy[asyncio]>=2\n"
    assert len(applied.fixed) == 2 and applied.skipped == []


REQUIREMENTS_IMAGE = (
    "FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
    "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\n"
    'CMD ["gunicorn", "-b", "0.0.0.0:8000", "wsgi:app"]\n'
)


@pytest.mark.parametrize(
    ("files", "added", "says"),
    [
        # pinned neighbours, the version another requirements file of the project pins
        (
            {"requirements/dev.txt": "-r ../requirements.txt\ngunicorn==22.0.0\n"},
            "gunicorn==22.0.0\n",
            "pinned like the others to the version in requirements/dev.txt",
        ),
        # pinned neighbours, a dev file's range only: written as it is, and the user told to pin
        (
            {"requirements-dev.txt": "gunicorn>=22\n"},
            "gunicorn>=22\n",
            "the others there are pinned (`==`): pin `gunicorn` to the version you test with",
        ),
        # pinned neighbours, no version known anywhere: unpinned, and the user told to pin it
        ({}, "gunicorn\n", "the others there are pinned"),
        # neighbours not pinned: another file's constraint as it is, nothing to say
        (
            {"requirements.txt": "flask>=3\n", "requirements-dev.txt": "gunicorn~=23.0\n"},
            "gunicorn~=23.0\n",
            "",
        ),
        # another service's pin (a directory of its own) is not this project's version
        ({"worker/requirements.txt": "gunicorn==19.0\n"}, "gunicorn\n", "the others"),
    ],
)
def test_pkg001_pins_the_added_requirement_like_its_neighbours(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    files: dict[str, str],
    added: str,
    says: str,
) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    requirements = "# runtime\r\nflask==3.1.0\r\nsqlalchemy==2.0.36  # the ORM\r\n"
    (root / "Dockerfile").write_text(REQUIREMENTS_IMAGE)
    (root / "wsgi.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    (root / "requirements.txt").write_bytes(requirements.encode())
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    requirements = (root / "requirements.txt").read_bytes().decode()
    _, out, _ = run(capsys, "check", "--format", "json", "--no-cache", str(root))
    (finding,) = [f for f in json.loads(out)["findings"] if f["code"] == "PKG001"]
    assert says in finding["autofix"]["message"]
    assert ("pin" in finding["autofix"]["message"]) == bool(says)
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    newline = "\r\n" if requirements.endswith("\r\n") else "\n"
    fixed = (root / "requirements.txt").read_bytes().decode()
    assert fixed == requirements + added.replace("\n", newline)
    assert [c for c, _, _ in codes(capsys, root)] == []
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert (root / "requirements.txt").read_bytes().decode() == fixed


def test_pkg001_adds_no_unhashed_line_to_a_hashed_requirements_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "Dockerfile").write_text(REQUIREMENTS_IMAGE)
    (root / "wsgi.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    (root / "requirements.txt").write_text("flask==3.1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    assert findings(capsys, root) == [("PKG001", f"{root}/Dockerfile", 6, False)]


PYTHON_CHECK = (
    'CMD ["python", "-c", "import urllib.request; '
    "urllib.request.urlopen('http://localhost:8000/healthz', timeout=3)\"]"
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(
    ("healthcheck", "fixed"),
    [
        # options on the first line, CMD on a later one, a comment inside the command
        (
            "HEALTHCHECK --interval=30s \\\n  CMD curl -fsS \\\n"
            "  # the app's own route\n  http://localhost:8000/healthz || exit 1\n",
            f"HEALTHCHECK --interval=30s \\\n  {PYTHON_CHECK}\n",
        ),
        # CMD on the first line, the URL on the next, trailing spaces after the last word
        (
            "HEALTHCHECK CMD curl -f \\\n    http://localhost:8000/healthz   \n",
            f"HEALTHCHECK {PYTHON_CHECK}\n",
        ),
        # an exec form continued over lines, a comment line naming CMD before the keyword
        (
            "HEALTHCHECK --retries=3 \\\n# CMD was wget once\n"
            '  CMD ["curl", "-f", \\\n  "http://localhost:8000/healthz"]\n',
            f"HEALTHCHECK --retries=3 \\\n# CMD was wget once\n  {PYTHON_CHECK}\n",
        ),
    ],
)
def test_img001_replaces_a_continued_healthcheck_command(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    healthcheck: str,
    fixed: str,
    newline: str,
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "img001-continued-healthcheck", root)
    dockerfile = root / "Dockerfile"
    head = "FROM python:3.12-slim\n# keep me\nWORKDIR /app\nCOPY requirements.txt .\n"
    head += "RUN pip install --no-cache-dir -r requirements.txt\nCOPY app ./app\n"
    tail = 'CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0"]'  # no newline at the end
    dockerfile.write_bytes((head + healthcheck + tail).replace("\n", newline).encode())
    assert [c for c, _, _, fix in findings(capsys, root) if fix] == ["IMG001"]
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    expected = (head + fixed + tail).replace("\n", newline).encode()
    assert dockerfile.read_bytes() == expected
    assert codes(capsys, root) == []
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert dockerfile.read_bytes() == expected


def test_a_continued_edit_needs_the_word_and_the_instruction_s_end() -> None:
    text = "HEALTHCHECK \\\n  --interval=5s \\\n  CMD curl http://x/ \\\n"
    edit = Edit.replace_through("Dockerfile", 1, 1, 3, "CMD", "CMD true")
    assert resolve(finding_with(edit), {"Dockerfile": text}).autofix is None  # goes on
    edit = Edit.replace_through("Dockerfile", 1, 1, 2, "CMD", "CMD true")
    assert resolve(finding_with(edit), {"Dockerfile": "HEALTHCHECK \\\n  NONE\n"}).autofix is None


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize(
    ("command", "fixed"),
    [
        (
            'CMD ["gunicorn", "api.main:app", "-b", "0.0.0.0:${PORT:-8000}", "--log-file", "-"]',
            'CMD ["sh", "-c", "exec gunicorn api.main:app -b \\"0.0.0.0:${PORT:-8000}\\" '
            '--log-file -"]',
        ),
        # a word with a space quoted by shlex.quote; `$PORT` and `${HOST}` in words of their own
        (
            'CMD [ "uvicorn", "api.main:app", "--env-file", "my env", \\\n'
            '      "--port=$PORT", "--host", "${HOST}" ]',
            'CMD [ "sh", "-c", "exec uvicorn api.main:app --env-file \'my env\' '
            '\\"--port=$PORT\\" --host \\"${HOST}\\"" ]',
        ),
        # continued over lines, with a comment line inside: one line in their place
        (
            'CMD ["uvicorn", "api.main:app", \\\n# the platform sets PORT\n'
            '     "--port", "${PORT}"]',
            'CMD ["sh", "-c", "exec uvicorn api.main:app --port \\"${PORT}\\""]',
        ),
        # what a shell would read otherwise: no fix
        ('CMD ["uvicorn", "api.main:app", "--port", "${PORT:?unset}"]', None),
        ('CMD ["uvicorn", "api.main:app", "--port", "${PORT}", "--root-path", "$$x"]', None),
        # a word the shell would read otherwise, without a reference: shlex.quote's quoting
        (
            'CMD ["uvicorn", "api.main:app", "--port", "${PORT}", "--root-path", "/a;b"]',
            'CMD ["sh", "-c", "exec uvicorn api.main:app --port \\"${PORT}\\" --root-path '
            "'/a;b'\"]",
        ),
        ('CMD ["uvicorn", "api.main:app", "--port", "${PORT};"]', None),
        ('CMD ["uvicorn", "api.main:app", "--port", "$PORTx"]', None),
        # a CMD that is an ENTRYPOINT's arguments cannot become a shell
        ('ENTRYPOINT ["uvicorn"]\nCMD ["api.main:app", "--port", "${PORT}"]', None),
    ],
)
def test_run002_runs_an_exec_form_cmd_through_a_shell(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    fixed: str | None,
    newline: str,
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "run002-exec-form-port", root)
    dockerfile = root / "Dockerfile"
    head = dockerfile.read_text().rsplit("CMD", 1)[0]
    head = head.replace("ENV PORT=8080", "ENV PORT=8080 HOST=0.0.0.0")
    written = (head + command + "\n").replace("\n", newline).encode()
    dockerfile.write_bytes(written)

    def run002() -> list[bool]:
        _, out, _ = run(capsys, "check", "--format", "json", "--no-cache", str(root))
        found = json.loads(out)["findings"]
        return [f["autofix"] is not None for f in found if f["code"] == "RUN002"]

    fixes = run002()
    assert fixes and all(fix == (fixed is not None) for fix in fixes)
    run(capsys, "check", "--fix", "--select", "RUN002", "--no-cache", str(root))
    if fixed is None:
        assert dockerfile.read_bytes() == written
        return
    expected = (head + fixed + "\n").replace("\n", newline).encode()
    assert dockerfile.read_bytes() == expected
    assert run002() == []
    run(capsys, "check", "--fix", "--select", "RUN002", "--no-cache", str(root))
    assert dockerfile.read_bytes() == expected


def test_run002_is_unsafe_when_no_env_sets_the_variable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "run002-exec-form-port", root)
    dockerfile = root / "Dockerfile"
    text = dockerfile.read_text().replace("ENV PORT=8080\n", "")
    dockerfile.write_text(text)
    _, out, _ = run(capsys, "check", "--format", "json", "--no-cache", str(root))
    (finding,) = json.loads(out)["findings"]
    assert finding["autofix"]["applicability"] == "unsafe"
    assert "no ENV sets `PORT`" in finding["autofix"]["message"]
    run(capsys, "check", "--fix", "--no-cache", str(root))
    assert dockerfile.read_text() == text
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert '"exec uvicorn api.main:app --host 0.0.0.0 --port \\"${PORT}\\""' in (
        dockerfile.read_text()
    )


VALIDATOR_ARGUMENT = '{"class": "Settings", "field": "database_url", "scheme": "postgresql"}'
SCHEME_VALIDATOR = (
    '\n    @field_validator("database_url", mode="before")\n    @classmethod\n'
    "    def _database_url_scheme(cls, value: object) -> object:\n"
    '        """SQLAlchemy loads no `postgres://` scheme: the same URL as `postgresql://`."""\n'
    "        if isinstance(value, str):\n"
    '            value = value.replace("postgres://", "postgresql://", 1)\n'
    "        return value\n"
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # `field_validator` added to the pydantic import; the class's last line kept
        (
            "from pydantic import Field  # fields\nfrom pydantic_settings import BaseSettings\n"
            "\n\nclass Settings(BaseSettings):\n    database_url: str = Field(...)  # Heroku\n",
            "from pydantic import Field, field_validator  # fields\n"
            "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n"
            "    database_url: str = Field(...)  # Heroku\n" + SCHEME_VALIDATOR,
        ),
        # a parenthesised import keeps its layout; no pydantic import: a line of its own
        (
            "from pydantic import (\n    Field,\n)\nclass Settings:\n    database_url: str\n",
            "from pydantic import (\n    Field,\n    field_validator,\n)\nclass Settings:\n"
            "    database_url: str\n" + SCHEME_VALIDATOR,
        ),
        (
            "import os\nfrom pydantic_settings import BaseSettings\n# the app's settings\n"
            "class Settings(BaseSettings):\n    database_url: str\n",
            "import os\nfrom pydantic_settings import BaseSettings\n"
            "from pydantic import field_validator\n# the app's settings\n"
            "class Settings(BaseSettings):\n    database_url: str\n" + SCHEME_VALIDATOR,
        ),
        # already there, two classes of that name, no such field: no fix
        ("class Settings:\n    database_url: str\n" + SCHEME_VALIDATOR, None),
        ("class Settings:\n    database_url: str\nclass Settings:\n    database_url: str\n", None),
        ("class Settings:\n    db_url: str\n", None),
    ],
)
def test_the_database_url_validator_codemod(source: str, expected: str | None) -> None:
    from preflight.codemods import database_url_validator

    assert database_url_validator(source, VALIDATOR_ARGUMENT) == expected


def test_the_database_url_validator_follows_the_module_s_indentation_and_newlines() -> None:
    from preflight.codemods import database_url_validator

    source = "from pydantic import field_validator\r\nclass Settings:\r\n  database_url: str\r\n"
    changed = database_url_validator(source, VALIDATOR_ARGUMENT)
    assert changed is not None and changed.startswith(source)
    added = changed[len(source) :]
    assert "\n" not in added.replace("\r\n", "")  # every line ends CR LF
    assert "\r\n  @field_validator(" in added and "\r\n      value = value.replace(" in added


def test_db005_adds_the_validator_where_the_secret_s_url_carries_sslmode(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The Heroku case: a literal URL is rewritten where it is written (safe), but a URL with
    `sslmode` would then hand asyncpg a libpq parameter: its fix is the settings validator
    (unsafe), which also translates `sslmode`; after both, the check is clean."""
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "db002-validator-keeps-sslmode", root)
    config = root / "app/config.py"
    validator = '        return value.replace("postgresql://", "postgresql+asyncpg://", 1)\n'
    config.write_text(config.read_text().replace(validator, "        return value\n"))
    secret = root / "k8s/secret.yaml"
    secret.write_text(secret.read_text().replace('"postgresql://', '"postgres://'))
    env = root / ".env.example"
    env.write_text(env.read_text().replace("=postgresql://", "=postgres://"))
    _, out, _ = run(capsys, "check", "--format", "json", "--no-cache", str(root))
    fixes = {
        f["path"].rsplit("/", 1)[-1]: (f["code"], f["autofix"]["applicability"])
        for f in json.loads(out)["findings"]
    }
    assert fixes == {".env.example": ("DB005", "safe"), "secret.yaml": ("DB005", "unsafe")}
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert "=postgresql+asyncpg://" in env.read_text()
    assert '"postgres://' in secret.read_text()  # the Secret is the platform's: not edited
    assert "def _database_url_for_asyncpg(cls, value: object) -> object:" in config.read_text()
    assert codes(capsys, root) == []
    fixed = tree(root)
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert tree(root) == fixed


def test_pkg001_declares_in_the_pip_compile_input_too(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "Dockerfile").write_text(REQUIREMENTS_IMAGE)
    (root / "wsgi.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    source_in = "flask>=3  # the web framework\nsqlalchemy"  # no newline at the end
    compiled = (
        "# This file is autogenerated by pip-compile with Python 3.12\n"
        "flask==3.1.0\n    # via -r requirements.in\nsqlalchemy==2.0.36\n"
        "    # via -r requirements.in\n"
    )
    (root / "requirements.in").write_text(source_in)
    (root / "requirements.txt").write_text(compiled)
    (root / "requirements-dev.txt").write_text("-r requirements.txt\ngunicorn==23.0.0\n")
    _, out, _ = run(capsys, "check", "--format", "json", "--no-cache", str(root))
    (finding,) = json.loads(out)["findings"]
    assert "then run `pip-compile requirements.in`" in finding["autofix"]["message"]
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert (root / "requirements.in").read_text() == source_in + "\ngunicorn\n"
    assert (root / "requirements.txt").read_text() == compiled + "gunicorn==23.0.0\n"
    assert codes(capsys, root) == []
    fixed = tree(root)
    run(capsys, "check", "--fix", "--unsafe-fixes", "--no-cache", str(root))
    assert tree(root) == fixed


@pytest.mark.parametrize(
    ("source", "at", "expected"),
    [
        (  # a literal host: replaced, its quotes and the comment kept
            "uvicorn.run(app, host='127.0.0.1', port=8000)  # dev\n",
            (1, 1),
            "uvicorn.run(app, host='0.0.0.0', port=8000)  # dev\n",
        ),
        (  # no host: added after the last argument
            'uvicorn.run("main:app", port=8000)\n',
            (1, 1),
            'uvicorn.run("main:app", port=8000, host="0.0.0.0")\n',
        ),
        (  # one argument per line, a trailing comma: the new one on a line of its own
            'if True:\n    uvicorn.run(\n        "main:app",\n        port=8000,\n    )\n',
            (2, 5),
            'if True:\n    uvicorn.run(\n        "main:app",\n        port=8000,\n'
            '        host="0.0.0.0",\n    )\n',
        ),
        ("app.run()\n", (1, 1), 'app.run(host="0.0.0.0")\n'),
        ("uvicorn.run(app, **options)\n", (1, 1), None),  # may pass a host
        ("uvicorn.run(app, host=HOST)\n", (1, 1), None),  # not a literal
        ("uvicorn.run(app)\n", (2, 1), None),  # no call there
    ],
)
def test_the_server_host_codemod(source: str, at: tuple[int, int], expected: str | None) -> None:
    from preflight.codemods import CODEMODS

    where = json.dumps({"line": at[0], "col": at[1]})
    assert CODEMODS["server-host"](source, where) == expected
