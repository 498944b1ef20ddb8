"""Issue 13 (redaction and output escaping): a canary password planted in every file kind and
every URL form never reaches any output, not even four characters of it; control characters from
file names, Secret names and keys are escaped in every format.

Items: High 7 (DB003 note), High 8 (PF001 message and baseline), Medium 9 (source snippets),
Medium 10 (--verbose notes), Medium 18 (control characters), Low (SARIF URIs).
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from ._support import assert_clean_exit, measure, preflight_env, write_files

FORMATS = ["text", "json", "sarif", "github", "junit", "gitlab"]
FRAGMENT = 4  # no run of this many characters of a planted secret may appear in any output


def _canaries(count: int) -> list[str]:
    """Distinct secrets whose every 4-character run holds an upper-case letter (so none of
    them can occur by chance in hex fingerprints or lower-case prose)."""
    rng = random.Random(13)
    out: list[str] = []
    while len(out) < count:
        word = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(12))
        if all(any(c.isupper() for c in word[i : i + FRAGMENT]) for i in range(9)):
            out.append(word)
    return out


_POOL = iter(_canaries(128))
WRITTEN: list[str] = []  # every secret as written into a file
PLANTED: list[str] = []  # and as a program would read it (percent escapes decoded)


def secret(text: str | None = None) -> str:
    value = text if text is not None else next(_POOL)
    WRITTEN.append(value)
    PLANTED.append(value)
    return value


def password(form: str) -> str:
    """A password in one of the URL forms the issue names."""
    a, b = next(_POOL), next(_POOL)
    written = {
        "plain": a,
        "at": f"{a}@{b}",
        "slash": f"{a}/{b}",
        "colon": f"{a}:{b}",
        "percent": f"{a}%40%2F{b}",
    }[form]
    WRITTEN.append(written)
    PLANTED.append(written)
    PLANTED.append(written.replace("%40", "@").replace("%2F", "/"))
    return written


URL_FORMS = ["plain", "at", "slash", "colon", "percent"]


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _build() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    bad_url = f"https://u:{password('plain')}@host/p.whl ; bad"
    files["pyproject.toml"] = f"""\
[project]
name = "vault"
version = "1.0.0"
dependencies = [
  "fastapi>=0.115",
  "pydantic-settings>=2.7",
  "sqlalchemy>=2.0",
  "psycopg2-binary",
  "{bad_url}",
  "private @ https://u:{password("slash")}@pkgs.example.com/private-1.0.whl",
]
"""
    files["requirements.txt"] = "".join(
        [
            f"-r https://ci:{password('plain')}@example.com/base.txt\n",
            f"--index-url https://__token__:{password('colon')}@pypi.example.com/simple\n",
            f"--extra-index-url https://u:{password('at')}@extra.example.com/simple\n",
            f"git+https://{secret()}@github.com/o/r.git#egg=r\n",
            f"https://u:{password('percent')}@host/p.whl ; not a marker\n",
            "fastapi\n",
        ]
    )
    files["Dockerfile"] = f"""\
FROM python:3.12-slim
ENV SECRET_KEY {secret()}
ENV A=1 API_TOKEN={secret()} B=2
ARG DB_PASSWORD={secret()}
ENV DATABASE_URL=postgresql://app:{password("at")}@db/app
ENV JWT_SECRET \\
    {secret()}
RUN pip install -r https://ci:{password("plain")}@example.com/req.txt
RUN pip install --index-url https://u:{password("slash")}@h.example.com/simple uvicorn
RUN curl -H "Authorization: Bearer {secret()}" https://h.example.com/x -o /x && tool --password {secret()}
COPY . .
RUN pip install .
CMD ["gunicorn", "app.main:app"]
"""
    files["compose.yaml"] = f"""\
services:
  api:
    build: .
    command: gunicorn app.main:app
    environment:
      - SECRET_KEY={secret()}
      - DATABASE_URL=postgresql://app:{password("colon")}@db/app
  worker:
    build: .
    command: gunicorn app.main:app
    environment:
      API_TOKEN: {secret()}
      DATABASE_URL: postgresql://app:{password("percent")}@db/app
  oneline:
    build: .
    command: gunicorn app.main:app
    environment: {{SECRET_KEY: {secret()}, DATABASE_URL: "postgresql://a:{password("slash")}@db/a"}}
  onelist:
    build: .
    command: gunicorn app.main:app
    environment: ["API_TOKEN={secret()}", "DB_PASSWORD={secret()}"]
"""
    files["k8s/deployment.yaml"] = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vault
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/example/vault:1
          command: ["gunicorn", "app.main:app"]
          env:
            - name: SECRET_KEY
              value: "{secret()}"
            - value: {secret()}
              name: API_TOKEN
            - name: JWT_SECRET
              value: |
                {secret()}
            - name: DATABASE_URL
              value: postgresql://app:{password("plain")}@db.internal/app
        - name: sidecar
          image: ghcr.io/example/vault:1
          command: ["gunicorn", "app.main:app"]
          env: [{{name: DB_PASSWORD, value: {secret()}}}, {{name: SECRET_KEY, value: "{secret()}"}}]
"""
    files["k8s/secret.yaml"] = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: vault
type: Opaque
stringData:
  SECRET_KEY: "{secret()}"
  DATABASE_URL: postgresql://app:{password("at")}@db.internal/app
  MULTI: |
    {secret()}
data:
  API_TOKEN: {secret(_b64(next(_POOL)))}
  NOT_BASE64: {secret()}!!
  ODD_LENGTH: {secret()}x
"""
    files["k8s/broken-secret.yaml"] = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: broken
stringData:
  SECRET_KEY: {secret()}
  OTHER: [unclosed, {secret()}
\tTAB: {secret()}
"""
    files[".env.example"] = f"""\
SECRET_KEY={secret()}
DATABASE_URL=postgresql://app:{password("slash")}@localhost:5432/app
export API_TOKEN={secret()}
"""
    files["app/__init__.py"] = ""
    files["app/config.py"] = f"""\
import os

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    secret_key: str = "{secret()}"
    database_url: str = "postgresql://app:{password("colon")}@db.internal/app"
    api_token: str = os.environ.get("API_TOKEN", "{secret()}")
    jwt_secret: str = (
        "{secret()}"
    )


settings = Settings()
"""
    engines = "\n".join(
        f'engine_{form} = create_engine("postgresql+asyncpg://u:{password(form)}@db/app")'
        for form in URL_FORMS
    )
    files["app/main.py"] = f"""\
from fastapi import FastAPI
from sqlalchemy import create_engine

{engines}
app = FastAPI()
"""
    return files


FILES = _build()


def _fragments(texts: list[str]) -> set[str]:
    return {t[i : i + FRAGMENT] for t in texts for i in range(len(t) - FRAGMENT + 1)}


FRAGMENTS = _fragments(PLANTED)


def _leaks(text: str) -> list[str]:
    return sorted(f for f in FRAGMENTS if f in text)


def _assert_no_leak(where: str, text: str) -> None:
    leaked = _leaks(text)
    if leaked:
        lines = [line for line in text.splitlines() if any(f in line for f in leaked)]
        pytest.fail(f"{where} shows part of a secret {leaked[:5]}:\n" + "\n".join(lines[:20]))


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(tmp_path_factory.mktemp("canary") / "repo", FILES)


def test_the_canaries_cannot_occur_by_chance(tmp_path: Path) -> None:
    """The check can fail: every planted secret is in a file, and no fragment of one is in the
    static text preflight prints (rule pages in SARIF, the rule list)."""
    written = "\n".join(str(v) for v in FILES.values())
    assert all(value in written for value in WRITTEN)
    empty = write_files(tmp_path / "empty", {"README.md": "nothing\n"})
    for fmt in FORMATS:
        result = measure(
            ["check", "--no-cache", "--format", fmt, str(empty)], env=preflight_env(tmp_path)
        )
        assert not _leaks(result.stdout), fmt
    assert _leaks(written), "the fragment check finds the secrets where they are"


def _run(vault: Path, tmp_path: Path, *args: str) -> Any:
    result = measure(
        ["check", "--no-cache", *args, str(vault)], env=preflight_env(tmp_path), timeout=120
    )
    assert_clean_exit(result)
    return result


def test_the_findings_point_at_the_secret_lines(vault: Path, tmp_path: Path) -> None:
    """Without this the snippets below would show nothing worth redacting."""
    result = _run(vault, tmp_path, "--format", "json")
    root = str(vault) + "/"
    found = {
        (f["code"], f["path"].removeprefix(root), f["line"])
        for f in json.loads(result.stdout)["findings"]
    }
    assert ("PF001", "pyproject.toml", 9) in found  # High 8
    for line in range(4, 9):
        assert ("DB003", "app/main.py", line) in found  # High 7, every URL form
    assert any(code == "PF001" and path == "k8s/broken-secret.yaml" for code, path, _ in found)
    for line in (2, 3, 4, 5, 6):  # ENV legacy, several pairs, ARG, URL, continued
        assert ("ENV004", "Dockerfile", line) in found
    for line in (13, 16, 20, 25):  # block, value before name, URL, flow style
        assert ("ENV004", "k8s/deployment.yaml", line) in found
    # one ENV005 per Secret, at its first committed credential, relating the others
    assert ("ENV005", "k8s/secret.yaml", 7) in found
    (env005,) = [
        f
        for f in json.loads(result.stdout)["findings"]
        if f["code"] == "ENV005" and f["path"].endswith("k8s/secret.yaml")
    ]
    assert {8, 12} <= {related["line"] for related in env005["related"]}


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_shows_a_fragment_of_a_secret(vault: Path, tmp_path: Path, fmt: str) -> None:
    result = _run(vault, tmp_path, "--format", fmt, "--show-source", "--verbose", "--statistics")
    _assert_no_leak(f"--format {fmt} (stdout)", result.stdout)
    _assert_no_leak(f"--format {fmt} (stderr)", result.stderr)
    assert "***" in result.stdout


def test_the_baseline_and_output_file_show_no_fragment(vault: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    result = _run(vault, tmp_path, "--write-baseline", str(baseline), "--verbose")
    _assert_no_leak("--write-baseline output", result.stdout + result.stderr)
    _assert_no_leak("baseline file", baseline.read_text(encoding="utf-8"))
    assert "***" in baseline.read_text(encoding="utf-8")
    report = tmp_path / "report.txt"
    result = _run(vault, tmp_path, "--show-source", "--verbose", "-o", str(report))
    _assert_no_leak("-o report", report.read_text(encoding="utf-8"))


def test_every_line_of_every_file_is_fit_to_show(vault: Path) -> None:
    """Whatever line a finding points at, its snippet holds no secret: the engine's redaction
    applied to every line of every planted file."""
    from preflight.config import Config
    from preflight.engine import run
    from preflight.redact import redact_source

    result = run(vault, "repo", Config(), workers=1)
    _assert_no_leak("messages", "\n".join(f.message for f in result.findings))
    _assert_no_leak("fixes", "\n".join(f.fix or "" for f in result.findings))
    _assert_no_leak("related", "\n".join(r.note for f in result.findings for r in f.related))
    _assert_no_leak("notes", "\n".join(result.notes))
    _assert_no_leak(
        "sources", "\n".join(line for lines in result.sources.values() for line in lines)
    )
    for path, content in FILES.items():
        lines = str(content).split("\n")
        shown = redact_source(lines, range(1, len(lines) + 1))
        _assert_no_leak(f"{path} (every line shown)", "\n".join(shown))


# --- Medium 18: control characters ---------------------------------------------------------

FORGED = "All checks passed (0 files)."
EVIL_DIR = f"svc\x1b]0;pwned\x07\r\n{FORGED}\u202e\x9b31m"
ODD_DIR = "odd dir #1 %41 é"
SERVICE = {
    "pyproject.toml": '[project]\nname = "a"\nversion = "1"\ndependencies = ["fastapi"]\n',
    "Dockerfile": 'FROM python:3.12-slim\nCOPY . .\nRUN pip install .\nCMD ["gunicorn", "app:app"]\n',
}
# Raw in the output, each of these rewrites a terminal, ends a line or a workflow command, or
# makes XML invalid.
RAW = ["\x1b", "\x07", "\r", "\x00", "\x0b", "\x9b", "\u202e", "\u2066", "\u2028"]
CONTROL_FILES: dict[str, str | bytes] = {
    **{f"{EVIL_DIR}/{name}": text for name, text in SERVICE.items()},
    **{f"{ODD_DIR}/{name}": text for name, text in SERVICE.items()},
    "k8s/secret.yaml": """\
apiVersion: v1
kind: Secret
metadata:
  name: "ev\\e]0;title\\a\\r\\nAll checks passed (9 files).\\u202e"
stringData:
  "K\\e[31m\\r\\n::error file=x::forged\\x9b\\0\\v\\L_TOKEN": "Zk8PqLw2XvN4"
""",
    "k8s/deploy.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "d\\e[2J\\a"
spec:
  template:
    spec:
      containers:
        - name: "c\\r\\n::warning::forged\\u2066"
          image: x
          command: ["gunicorn", "app:app"]
          env:
            - name: "SECRET\\e_KEY"
              valueFrom:
                secretKeyRef: {name: "missing\\e[5m\\r\\nAll checks passed", key: "k\\a"}
""",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_files(tmp_path_factory.mktemp("control") / "repo", CONTROL_FILES)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _assert_no_raw_control(where: str, text: str) -> None:
    found = sorted({repr(ch) for ch in RAW if ch in text})
    assert not found, f"{where} holds raw {found}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_control_characters_are_escaped_in_every_format(
    hostile: Path, tmp_path: Path, fmt: str
) -> None:
    result = _run(hostile, tmp_path, "--format", fmt, "--verbose", "--show-source")
    assert result.code == 1, str(result)
    out = result.stdout
    _assert_no_raw_control(f"--format {fmt}", out)
    assert "\\x1b" in out or "\\u001b" in out or "%1B" in out, out[:2000]  # shown, escaped
    lines = out.rstrip("\n").split("\n")
    assert not any(line.startswith(("All checks passed", "::warning::forged")) for line in lines)
    if fmt == "text":  # the footer ends it: counts, where to read more, what --fix can do
        if lines[-1].endswith(("`preflight check --fix`.", "--unsafe-fixes`.")):
            lines = lines[:-1]
        assert lines[-2].startswith("Found "), lines[-3:]
        assert lines[-1].startswith("Why and how to fix: "), lines[-3:]
    elif fmt == "github":  # one workflow command per finding, then the readable list
        commands = [line for line in lines if line.startswith("::")]
        assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in commands)
        assert len(commands) == 6  # PRB001, RUN001, ENV002, ENV005 and PKG001 twice
        readable = lines[len(commands) :]  # none of which a runner would take for a command
        assert len(readable) == 6 + 2 and not any(
            line.lstrip().startswith(("::", "##[")) for line in readable
        )
    elif fmt == "junit":
        root = ET.fromstring(out)  # XML 1.0 cannot hold ESC or BEL, even as a reference
        assert len(root.findall(".//testcase")) == 6
    else:
        document = json.loads(out)
        shown = document["runs"][0]["results"] if fmt == "sarif" else document
        for text in _strings(shown):
            _assert_no_raw_control(f"--format {fmt} string {text!r}", text)
            assert "\n" not in text, text


def test_sarif_artifact_uris_are_percent_encoded(hostile: Path, tmp_path: Path) -> None:
    from urllib.parse import unquote

    result = _run(hostile, tmp_path, "--format", "sarif")
    document = json.loads(result.stdout)
    uris = [
        location["physicalLocation"]["artifactLocation"]["uri"]
        for run in document["runs"]
        for item in run["results"]
        for location in item["locations"] + item.get("relatedLocations", [])
    ]
    root = hostile.as_posix()
    for uri in uris:
        assert all(c.isascii() and (c.isalnum() or c in "-._~/%") for c in uri), uri
        assert all(uri[i + 1 : i + 3].isalnum() for i, c in enumerate(uri) if c == "%"), uri
    decoded = {unquote(uri).removeprefix(root + "/") for uri in uris}
    assert f"{ODD_DIR}/Dockerfile" in decoded
    assert f"{EVIL_DIR}/Dockerfile" in decoded


def test_the_text_caret_stays_under_the_span_when_a_line_is_escaped() -> None:
    from preflight.report.text import _snippet
    from preflight.spans import Span

    line = 'x = "\x1b[31m" + "target"'
    start = line.index('"target"') + 1
    (_, text), (_, caret) = _snippet([line], Span("a.py", 1, start, 1, start + 8), None)
    assert "\x1b" not in text and "\\x1b[31m" in text
    assert text[caret.index("^") : caret.index("^") + 8] == '"target"'


def test_configuration_errors_are_redacted_and_escaped(tmp_path: Path) -> None:
    canary = next(_POOL)
    root = write_files(
        tmp_path / "repo",
        {
            "pyproject.toml": '[project]\nname = "a"\nversion = "1"\n[tool.preflight]\n'
            f'select = ["https://u:{canary}@h/\\u001b]0;x\\u0007"]\n'
        },
    )
    result = measure(["check", "--no-cache", str(root)], env=preflight_env(tmp_path))
    assert result.code == 2, str(result)
    assert "select" in result.stderr
    assert not any(canary[i : i + FRAGMENT] in result.stderr for i in range(len(canary) - 3))
    _assert_no_raw_control("stderr", result.stderr)


# --- The redaction functions themselves ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql+asyncpg://u:Zm9v/s3cr3t@db/app", "postgresql+asyncpg://u:***@db/app"),
        ("postgresql://u:p@ss@w0rd@db/app", "postgresql://u:***@db/app"),
        ("redis://:a:b:c@cache:6379/0", "redis://:***@cache:6379/0"),
        ("mysql://u:p%40ss%2Fw@db/x?ssl=1", "mysql://u:***@db/x?ssl=1"),
        ("(see https://ci:tok@example.com/r.txt)", "(see https://ci:***@example.com/r.txt)"),
        ("git+https://ghp_abcdef@github.com/o/r", "git+https://***@github.com/o/r"),
        ("git+ssh://git@github.com/o/r", "git+ssh://git@github.com/o/r"),
        ("https://registry.example.com/@scope/pkg", "https://registry.example.com/@scope/pkg"),
        ("https://tok@host/@scope/pkg", "https://***@host/@scope/pkg"),
        ("a://u:x@h b://v:y@k", "a://u:***@h b://v:***@k"),
        ("no url here: a@b", "no url here: a@b"),
    ],
)
def test_url_passwords_are_masked_whole(text: str, shown: str) -> None:
    from preflight.redact import mask_urls, redact_text

    assert mask_urls(text) == shown
    assert redact_text(text) == shown
    assert mask_urls(shown) == shown  # idempotent


def test_db_url_display_and_host_survive_a_slash_in_the_password() -> None:
    from preflight.model.settings import is_placeholder
    from preflight.model.urls import parse_db_url

    url = parse_db_url("postgresql://u:Zm9v/s3c@r3t@ep-1.eu.aws.neon.tech/db?sslmode=require")
    assert url is not None
    assert url.display() == "postgresql://u:***@ep-1.eu.aws.neon.tech/db?sslmode=require"
    assert url.host == "ep-1.eu.aws.neon.tech" and url.is_neon
    assert not is_placeholder("postgresql://u:Zm9v/s3cr3t@db/app")  # a real password
    assert is_placeholder("postgresql://u:CHANGE_ME@db/app")
    assert is_placeholder("postgresql://db/app")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("invalid line `ENV SECRET_KEY abc def`", "invalid line `ENV SECRET_KEY ***`"),
        ("word `API_TOKEN=abc` and more", "word `API_TOKEN=***` and more"),
        ("env: [{name: API_TOKEN, value: abc}]", "env: [{name: API_TOKEN, value: ***}]"),
        ("host=db password=abc dbname=x", "host=db password=*** dbname=x"),
        (
            "`SECRET_KEY` (Dockerfile) fails validation",
            "`SECRET_KEY` (Dockerfile) fails validation",
        ),
        ("uses ${API_TOKEN} from the env", "uses ${API_TOKEN} from the env"),
        ("`tool --password abc --db-token=def x`", "`tool --password *** --db-token=*** x`"),
        ('-H "Authorization: Bearer abc.def"', '-H "Authorization: Bearer ***"'),
        ("gunicorn --keyfile /k.pem app:app", "gunicorn --keyfile /k.pem app:app"),
    ],
)
def test_prose_is_redacted(text: str, shown: str) -> None:
    from preflight.redact import redact_text

    assert redact_text(text) == shown


def test_escape_control_is_visible_and_idempotent() -> None:
    from preflight.redact import escape_control

    text = "a\x1b[31mb\x07c\r\nd\x9be\u202ef\tg\udcff"
    once = escape_control(text)
    assert once == "a\\x1b[31mb\\x07c\\x0d\\x0ad\\x9be\\u202ef\tg\\udcff"
    assert escape_control(once) == once
    once.encode("utf-8")  # no lone surrogate left to fail the write


def test_internal_errors_are_redacted(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that crashes with a secret in its exception cannot print it."""
    import preflight.checks
    from preflight import engine
    from preflight.checks.rule import Rule
    from preflight.config import Config
    from preflight.findings import Severity

    canary = next(_POOL)

    def crash(project: object, ctx: object) -> Iterator[Any]:
        raise ValueError(f"cannot read postgresql://u:{canary}@db/app\x1b]0;x\x07")

    rule = Rule(
        code="PF001", name="parse-error", severity=Severity.ERROR, summary="crash", check=crash
    )
    monkeypatch.setattr(preflight.checks, "RULES", [rule])
    result = engine.run(vault, "repo", Config(), workers=1)
    assert result.internal_errors, "the rule ran"
    text = "\n".join(result.internal_errors)
    assert canary[:FRAGMENT] not in text and "***" in text
    _assert_no_raw_control("internal errors", text)


def test_redaction_is_linear_on_hostile_lines() -> None:
    """Counted, not timed: the work done per character of a 1 MB line is bounded (each pass is
    a regular expression without nested repetition or a single scan)."""
    from preflight import redact

    calls = {"n": 0}
    original = redact.is_sensitive_name

    def counting(name: str) -> bool:
        calls["n"] += 1
        return original(name)

    lines = [
        "api_key=x " * 100_000,
        "API_TOKEN: " + "x:" * 400_000,
        '"a" ' * 250_000 + "API_TOKEN",
        "x://" * 250_000 + "@",
    ]
    nested = [" " * i + "a_token:" for i in range(1_400)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redact, "is_sensitive_name", counting)
        for line in lines:
            calls["n"] = 0
            redact.redact_source([line], {1})
            assert calls["n"] <= len(line), (line[:20], calls["n"])  # at most one per character
        calls["n"] = 0
        redact.redact_source(nested, set(range(1, len(nested) + 1)))
        assert calls["n"] <= 10 * len(nested), calls["n"]
    # Many sensitive names on a line that opens a block: the block is walked once, not once
    # per name (50,000 names x 50,000 lines would be 2.5e9 steps).
    walked = {"n": 0}
    continuation = redact._continuation

    def counting_walk(lines: list[str], number: int, indent: int, opener: str) -> list[int]:
        out = continuation(lines, number, indent, opener)
        walked["n"] += len(out) + 1
        return out

    block = ["a_token=x " * 50_000 + "("] + ["  x"] * 50_000
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redact, "_continuation", counting_walk)
        shown = redact.redact_source(block, {1, 2})
    assert walked["n"] <= 2 * len(block), walked["n"]
    assert shown[1] == "  ***"
