"""The .gitignore matcher agrees with git itself, and discover leaves ignored env files unread."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import lint, write_tree
from preflight.discover import FileKind, discover
from preflight.gitignore import GitIgnore

ROOT_IGNORE = """\
# local settings
.env
.env.*
!.env.example
*.log
/build-output/
secrets/**
docs/**/draft.md
logs/
\\#literal
\\!bang
[Tt]emp?.txt
"""  # and an escaped trailing space, which an editor would strip from the string above:
ROOT_IGNORE += "keep.txt\\ \n"
SUB_IGNORE = """\
!.env
local.*
"""
PATHS = [
    (".env", False),
    (".env.local", False),
    (".env.example", False),
    ("app/.env", False),
    ("app/.env.server", False),
    ("service/.env", False),
    ("service/local.cfg", False),
    ("service/app/local.py", False),
    ("x.log", False),
    ("deep/er/y.log", False),
    ("build-output/file", False),
    ("sub/build-output/file", False),
    ("secrets/a/b.yaml", False),
    ("docs/draft.md", False),
    ("docs/a/b/draft.md", False),
    ("docs/a/other.md", False),
    ("logs/today.txt", False),
    ("logs", True),
    ("#literal", False),
    ("!bang", False),
    ("keep.txt ", False),
    ("Temp1.txt", False),
    ("temp12.txt", False),
    ("README.md", False),
]


def matcher() -> GitIgnore:
    ignore = GitIgnore()
    ignore.add("", ROOT_IGNORE, ".gitignore")
    ignore.add("service", SUB_IGNORE, "service/.gitignore")
    return ignore


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_matcher_agrees_with_git(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text(ROOT_IGNORE)
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / ".gitignore").write_text(SUB_IGNORE)
    # a trailing slash tells git the path is a directory (it cannot look: nothing exists)
    paths = "\n".join(path + ("/" if is_dir else "") for path, is_dir in PATHS) + "\n"
    # --no-index: ask about paths whether or not they exist; -v -n: every path, matched or not
    result = subprocess.run(
        ["git", "-C", str(tmp_path), "check-ignore", "--no-index", "-v", "-n", "--stdin"],
        input=paths,
        capture_output=True,
        text=True,
        check=False,
    )
    by_git = {}
    for line in result.stdout.splitlines():
        info, path = line.split("\t", 1)
        source = info.split(":", 1)[0]
        pattern = info.rsplit(":", 1)[-1]
        by_git[path.rstrip("/")] = bool(source) and not pattern.startswith("!")
    ignore = matcher()
    ours = {path: ignore.ignored(path, is_dir) is not None for path, is_dir in PATHS}
    assert ours == {path: by_git[path] for path, _ in PATHS}


def test_matcher_without_git() -> None:
    ignore = matcher()
    assert ignore.ignored(".env") == ".gitignore:2"
    assert ignore.ignored(".env.example") is None
    assert ignore.ignored("service/.env") is None  # re-included by the deeper file
    assert ignore.ignored("logs/today.txt") == ".gitignore:9"  # inside an ignored directory
    assert ignore.ignored("docs/a/other.md") is None


def test_discover_does_not_read_ignored_env_files(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text(".env\n")
    (tmp_path / ".env").write_text("SECRET_KEY=real-local-value-9f8e\n")
    (tmp_path / ".env.server").write_text("DATABASE_URL=postgresql://app:pw@db/app\n")
    (tmp_path / ".env.dist").write_text("SECRET_KEY=\n")
    inventory = discover(tmp_path)
    kinds = {f.path: f.kind for f in inventory.files}
    assert kinds == {".env.server": FileKind.ENV_FILE, ".env.dist": FileKind.ENV_EXAMPLE}
    assert (".env", "ignored by git (.gitignore:1)") in inventory.skipped
    # without respecting .gitignore, every file is read but an ignored env file (not committed)
    kept = discover(tmp_path, respect_gitignore=False)
    assert {f.path for f in kept.files} == {".env.server", ".env.dist"}
    assert (".env", "ignored by git (.gitignore:1): not committed") in kept.skipped


REAL_SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\n"
    "stringData:\n  API_TOKEN: ghp_9fQ2LxWm7TzR4vBn8Kd\n"
)
COMPOSE = "services:\n  api:\n    image: api:1\n    env_file: .env\n"
LOCAL_ENV = "SECRET_KEY=9c1f4e7a2b8d3f6e0a5c7b9d1e3f5a7c\n"


def test_env005_skips_a_secret_manifest_git_ignores(tmp_path: Path) -> None:
    files = {"k8s/secret.yaml": REAL_SECRET, "k8s/secret.yaml.example": "x"}
    assert codes(lint(write_tree(tmp_path / "a", files), select=["ENV005"])) == ["ENV005"]
    ignored = {**files, ".gitignore": "# local credentials\nk8s/secret.yaml\n"}
    result = lint(write_tree(tmp_path / "b", ignored), select=["ENV005"])
    assert codes(result) == []


def test_env005_skips_an_env_file_git_ignores(tmp_path: Path) -> None:
    files = {"docker-compose.yml": COMPOSE, ".env": LOCAL_ENV}
    assert codes(lint(write_tree(tmp_path / "a", files), select=["ENV005"])) == ["ENV005"]
    ignored = {**files, ".gitignore": ".env\n"}
    assert codes(lint(write_tree(tmp_path / "b", ignored), select=["ENV005"])) == []


def test_an_ignored_dotenv_is_not_the_example(tmp_path: Path) -> None:
    settings = (
        "from pydantic_settings import BaseSettings\n\n\n"
        "class Settings(BaseSettings):\n    secret_key: str\n\n\nsettings = Settings()\n"
    )
    files = {
        "pyproject.toml": '[project]\nname = "a"\nversion = "1"\ndependencies = ["pydantic-settings"]\n',
        "app/config.py": settings,
        ".env": "OTHER=1\n",
    }
    committed = lint(write_tree(tmp_path / "a", files), select=["ENV003"])
    assert [(f.code, f.severity.value, f.span.path) for f in committed.findings] == [
        ("ENV003", "warning", ".env")  # the committed .env is the example, and lacks SECRET_KEY
    ]
    ignored = lint(write_tree(tmp_path / "b", {**files, ".gitignore": "*.env\n.env\n"}))
    assert [(f.code, f.severity.value) for f in ignored.findings] == [("ENV003", "info")]


def codes(result: object) -> list[str]:
    return [f.code for f in result.findings]  # type: ignore[attr-defined]
