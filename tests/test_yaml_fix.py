"""Issue 21: fixes that add to Kubernetes YAML (ENV001's env entry, PRB001's readinessProbe)
keep every byte outside the inserted lines — comments, quoting, anchors, CR LF, a last line
without a newline, zero-indented lists, other documents of the stream — write the addition in
the file's own style, and give no fix where they cannot be sure (a flow mapping, an anchor
shared with another place, a key already there). Then the rules' choices: which Secret, which
key, which route."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import lint, write_tree
from preflight.findings import Applicability, Autofix, Edit, Finding, Severity
from preflight.fix import apply_fixes, resolve
from preflight.parse.yamledit import add
from preflight.parse.yamlnodes import YNode, load_documents
from preflight.spans import Span

ENTRY = {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "API_TOKEN"}}}
PROBE = {"httpGet": {"path": "/ready", "port": 8000}, "periodSeconds": 10}

ENV_LINES = """- name: API_TOKEN
  valueFrom:
    secretKeyRef:
      name: api
      key: API_TOKEN
"""


def finding(edit: Edit) -> Finding:
    fix = Autofix(Applicability.UNSAFE, "add", (edit,))
    return Finding("ENV001", Severity.ERROR, "m", Span(edit.path, 1), autofix=fix)


def added(tmp_path: Path, raw: str, edit: Edit) -> str | None:
    """The file (as written, CR LF and all) with ``edit`` resolved and applied; None when
    the engine drops the fix."""
    (tmp_path / edit.path).write_bytes(raw.encode())
    resolved = resolve(finding(edit), {edit.path: raw.replace("\r\n", "\n")})
    if resolved.autofix is None:
        return None
    applied = apply_fixes(tmp_path, [resolved], unsafe=True)
    assert applied.skipped == []
    return applied.after[edit.path]


def env_of(line: int, col: int) -> Edit:
    return Edit.yaml_add("d.yaml", line, col, "env", ENTRY, item=True)


def probe_of(line: int, col: int) -> Edit:
    return Edit.yaml_add("d.yaml", line, col, "readinessProbe", PROBE)


def indented(block: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line for line in block.splitlines(True))


MULTI = """# the service's objects, in one file
kind: ConfigMap
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels: &labels {app: api}
spec:
  selector:
    matchLabels: *labels
  template:
    spec:
      containers:
      - name: 'api'   # quoted, with a comment
        image: "ghcr.io/acme/api:1"
        args: ["--port", '8000']
        ports:
        - containerPort: 8000
          name: http
        # more ports may follow
      - name: sidecar
        image: envoy:1
---
kind: Service
"""


def test_an_env_list_is_added_in_the_files_zero_indented_style(tmp_path: Path) -> None:
    after = added(tmp_path, MULTI, env_of(15, 15))
    expected = MULTI.replace(
        "          name: http\n",
        "          name: http\n        env:\n" + indented(ENV_LINES, 8),
    )
    assert after == expected


def test_crlf_and_a_last_line_without_a_newline_are_kept(tmp_path: Path) -> None:
    raw = "spec:\r\n  containers:\r\n    - name: api\r\n      image: x  # pinned"
    after = added(tmp_path, raw, probe_of(3, 13))
    assert after == (
        "spec:\r\n  containers:\r\n    - name: api\r\n      image: x  # pinned\r\n"
        "      readinessProbe:\r\n        httpGet:\r\n          path: /ready\r\n"
        "          port: 8000\r\n        periodSeconds: 10"
    )


def test_an_entry_is_appended_to_the_list_in_its_own_style(tmp_path: Path) -> None:
    raw = (
        "spec:\n"
        "    containers:\n"
        "        -   name: api\n"
        "            env:\n"
        "                # from the ConfigMap\n"
        "                -   name: REGION\n"
        "                    value: eu\n"
        "            script: |\n"
        "                #!/bin/sh\n"
        "                exec app\n"
        "\n"
        "        -   name: other\n"
    )
    after = added(tmp_path, raw, env_of(3, 19))
    assert after == raw.replace(
        "                    value: eu\n",
        "                    value: eu\n"
        "                -   name: API_TOKEN\n"
        "                    valueFrom:\n"
        "                        secretKeyRef:\n"
        "                            name: api\n"
        "                            key: API_TOKEN\n",
    )


@pytest.mark.parametrize(
    ("chomping", "after_line"),
    [("|", "    exec app\n"), ("|+", "    exec app\n\n")],
)
def test_a_block_scalar_keeps_its_text(tmp_path: Path, chomping: str, after_line: str) -> None:
    raw = f"- name: api\n  script: {chomping}\n    #!/bin/sh\n    exec app\n\n- name: b\n"
    after = added(tmp_path, raw, probe_of(1, 9))
    probe = "  readinessProbe:\n    httpGet:\n      path: /ready\n      port: 8000\n"
    assert after == raw.replace(after_line, after_line + probe + "    periodSeconds: 10\n", 1)


@pytest.mark.parametrize(
    ("raw", "line", "col"),
    [
        # a flow mapping, or a flow list to append to: no fix
        ("spec:\n  containers: [{name: api, image: x}]\n", 2, 24),
        ("- name: api\n  env: []\n", 1, 9),
        ("- name: api\n  env:\n", 1, 9),  # an empty value: not a list to append to
        # the container is an anchor another place uses: the addition would land in both
        ("a: &c\n  name: api\n  image: x\nb:\n  - *c\n  - *c\n", 2, 9),
        # its env comes from a merged anchor, which other containers share
        (
            "x: &defaults\n  env:\n  - name: A\n    value: b\nc:\n- <<: *defaults\n  name: api\n",
            7,
            9,
        ),
        # no mapping has a node there
        ("- name: api\n", 5, 1),
    ],
)
def test_no_fix_where_the_addition_is_not_sure(
    tmp_path: Path, raw: str, line: int, col: int
) -> None:
    assert added(tmp_path, raw, env_of(line, col)) is None


def test_a_key_already_there_gets_no_second_one(tmp_path: Path) -> None:
    raw = "- name: api\n  readinessProbe:\n    tcpSocket: {port: 80}\n"
    assert added(tmp_path, raw, probe_of(1, 9)) is None


def test_two_additions_at_one_place_wait_for_the_next_pass(tmp_path: Path) -> None:
    raw = "- name: api\n  image: x\n"
    (tmp_path / "d.yaml").write_text(raw)
    first = resolve(finding(env_of(1, 9)), {"d.yaml": raw})
    second = resolve(finding(probe_of(1, 9)), {"d.yaml": raw})
    applied = apply_fixes(tmp_path, [first, second], unsafe=True)
    assert [why for _, why in applied.skipped] == [
        "another fix edits the same text; run --fix again"
    ]
    # no list under a key shows where the file puts a dash: under the key, one level in
    assert applied.after["d.yaml"] == raw + "  env:\n" + indented(ENV_LINES, 4)


def test_values_yaml_would_read_as_another_type_are_quoted() -> None:
    edit = Edit.yaml_add("d.yaml", 1, 1, "x", {"a": "yes", "b": "8000", "c": "/ready", "d": 3})
    assert edit.content == 'a: "yes"\nb: "8000"\nc: /ready\nd: 3\n'


# --- the rules' choices -------------------------------------------------------------------------

SETTINGS = """from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    api_token: str


settings = Settings()
"""
MAIN = """from fastapi import FastAPI

from app.config import settings

app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1
          command: ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
          readinessProbe:
            httpGet: {path: /health, port: 8000}
"""


def secret(name: str, *keys: str) -> str:
    data = "".join(f"  {key}: CHANGE_ME\n" for key in keys)
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n{data}"


def service(tmp_path: Path, files: dict[str, str]) -> Path:
    tree = {
        "pyproject.toml": PYPROJECT,
        "app/__init__.py": "",
        "app/config.py": SETTINGS,
        "app/main.py": MAIN,
        "k8s/deployment.yaml": DEPLOYMENT,
    }
    return write_tree(tmp_path, {**tree, **files})


PYPROJECT = (
    '[project]\nname = "api"\nversion = "1"\n'
    'dependencies = ["fastapi", "uvicorn", "pydantic-settings"]\n'
)


def fixes(root: Path, code: str) -> list[str | None]:
    return [
        f.autofix.message if f.autofix is not None else None
        for f in lint(root, select=[code]).findings
    ]


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        ({"k8s/a.yaml": secret("api", "API_TOKEN")}, "Add env `API_TOKEN` from Secret `api`"),
        (
            {"k8s/a.yaml": secret("api", "api-token")},
            "Add env `API_TOKEN` from Secret `api` key `api-token`",
        ),
        # two Secrets hold it: which one is meant is not known
        ({"k8s/a.yaml": secret("api", "API_TOKEN") + "---\n" + secret("b", "API_TOKEN")}, None),
        # a Secret whose keys preflight cannot see may hold it too
        (
            {
                "k8s/a.yaml": secret("api", "API_TOKEN"),
                "pyproject.toml": PYPROJECT + '[tool.preflight]\nexternal-secrets = ["vault"]\n',
            },
            None,
        ),
        # a key alike in one Secret, the exact key in another: the exact one is meant
        (
            {"k8s/a.yaml": secret("a", "api-token") + "---\n" + secret("b", "API_TOKEN")},
            "Add env `API_TOKEN` from Secret `b`",
        ),
        # no Secret holds it: nothing to point at
        ({"k8s/a.yaml": secret("api", "OTHER")}, None),
    ],
)
def test_env001_points_at_the_one_secret_that_holds_the_key(
    tmp_path: Path, secrets: dict[str, str], expected: str | None
) -> None:
    root = service(tmp_path, secrets)
    assert fixes(root, "ENV001") == [expected]


def test_env001_fix_then_check_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from preflight.cli import main

    root = service(tmp_path, {"k8s/a.yaml": secret("api", "API_TOKEN")})
    with pytest.raises(SystemExit):
        main(["check", "--fix", "--unsafe-fixes", "--no-cache", "--select", "ENV001", str(root)])
    capsys.readouterr()
    assert lint(root, select=["ENV001", "ENV002"]).findings == []
    assert (root / "k8s/deployment.yaml").read_text() == DEPLOYMENT + (
        "          env:\n" + indented(ENV_LINES, 12)
    )


def starts(messages: list[str | None], expected: str | None) -> bool:
    """One finding, whose fix's message starts with ``expected`` (None: it has no fix)."""
    (message,) = messages
    return message is None if expected is None else (message or "").startswith(expected)


KEY_REF = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1
          env:
            - name: API_TOKEN
              valueFrom:
                secretKeyRef:
                  name: {name}
                  key: {key}
"""


@pytest.mark.parametrize(
    ("name", "key", "secrets", "expected"),
    [
        ("api", "API_TOKEN", [("api", "api-token")], "Use key `api-token` of Secret `api`"),
        ("api", "API_TOKN", [("api", "API_TOKEN")], "Use key `API_TOKEN` of Secret `api`"),
        ("api", "API_TOKEN", [("api", "X"), ("b", "API_TOKEN")], "Use Secret `b`, which has key"),
        # the same Secret has one alike and another Secret the exact key: no guess
        ("api", "API_TOKEN", [("api", "api-token"), ("b", "API_TOKEN")], None),
        # two alike keys
        ("api", "API_TOKEN", [("api", "api-token", "api_token")], None),
        # a longer name, or another number, is another credential, not a typo
        ("api", "DATABASE_URL", [("api", "DATABASE_URL_RO")], None),
        ("api", "API_KEY_1", [("api", "API_KEY_2")], None),
        # an undefined Secret: the one holding the key, not a close name without it
        ("apii", "API_TOKEN", [("api", "API_TOKEN")], "Use Secret `api`"),
        ("apii", "API_TOKEN", [("api", "X"), ("other", "API_TOKEN")], None),
    ],
)
def test_env002_renames_to_the_only_candidate(
    tmp_path: Path,
    name: str,
    key: str,
    secrets: list[tuple[str, ...]],
    expected: str | None,
) -> None:
    manifest = "---\n".join(secret(s[0], *s[1:]) for s in secrets)
    root = write_tree(
        tmp_path,
        {
            "k8s/deployment.yaml": KEY_REF.format(name=name, key=key),
            "k8s/secrets.yaml": manifest,
        },
    )
    assert starts(fixes(root, "ENV002"), expected)


ENV_FROM = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1
          envFrom:
            - secretRef:
                name: {name}
"""


@pytest.mark.parametrize(
    ("name", "secrets", "expected"),
    [
        ("api-secret", ["api-secrets"], "Use Secret `api-secrets`"),
        ("api-secret", ["api-secrets", "api-secret2"], None),  # two a typo away
        ("gateway-secret", ["gateway-secret-credentials"], None),  # a longer name
    ],
)
def test_env002_envfrom_names_the_one_secret_a_typo_away(
    tmp_path: Path, name: str, secrets: list[str], expected: str | None
) -> None:
    manifest = "---\n".join(secret(s, "X") for s in secrets)
    root = write_tree(
        tmp_path,
        {"k8s/deployment.yaml": ENV_FROM.format(name=name), "k8s/secrets.yaml": manifest},
    )
    assert starts(fixes(root, "ENV002"), expected)


@pytest.mark.parametrize(("written", "expected"), [("fals", None), ('"fals"', "Use key `false`")])
def test_env002_never_makes_a_plain_name_read_as_another_type(
    tmp_path: Path, written: str, expected: str | None
) -> None:
    """`false` written plain is a boolean; inside the quotes it is the key."""
    root = write_tree(
        tmp_path,
        {
            "k8s/deployment.yaml": KEY_REF.format(name="api", key=written),
            "k8s/secrets.yaml": secret("api", "'false'"),
        },
    )
    assert starts(fixes(root, "ENV002"), expected)


READY = (
    MAIN
    + """

@app.get("/ready")
def ready() -> dict[str, str]:
    return {"status": "ready"}
"""
)
UNPROBED = DEPLOYMENT.replace(
    "          readinessProbe:\n            httpGet: {path: /health, port: 8000}\n",
    "          ports:\n            - containerPort: 8000\n              name: web\n",
)


@pytest.mark.parametrize(
    ("main", "command", "expected"),
    [
        (READY, None, "Add a readinessProbe on `GET /ready`, port web"),
        # no readiness route: the endpoint is code the service must own
        (MAIN, None, None),
        # two of them: which one is meant is not known
        (READY + '\n\n@app.get("/readyz")\ndef readyz() -> None:\n    pass\n', None, None),
        # a server speaking TLS would need `scheme: HTTPS`
        (READY, '"--ssl-keyfile", "/tls/key.pem", ', None),
    ],
)
def test_prb001_probes_the_one_readiness_route(
    tmp_path: Path, main: str, command: str | None, expected: str | None
) -> None:
    manifest = UNPROBED
    if command is not None:
        manifest = manifest.replace('"--port", "8000"]', f'"--port", "8000", {command[:-2]}]')
    root = service(tmp_path, {"app/main.py": main, "k8s/deployment.yaml": manifest})
    assert fixes(root, "PRB001") == [expected]


def test_a_crlf_manifest_stays_crlf_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from conftest import FIXTURES
    from preflight.cli import main

    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "env001-secret-holds-the-key", root)
    manifest = root / "k8s/app.yaml"
    lf = manifest.read_text()
    manifest.write_bytes(lf.replace("\n", "\r\n").encode())
    with pytest.raises(SystemExit):
        main(["check", "--fix", "--unsafe-fixes", "--no-cache", str(root)])
    capsys.readouterr()
    entry = "        env:\n" + indented(ENV_LINES, 8).replace("API_TOKEN", "STRIPE_API_KEY")
    entry = entry.replace("name: api\n", "name: billing-api\n")
    anchor = "          httpGet: {path: /health, port: 8000}\n"
    assert (
        manifest.read_bytes() == lf.replace(anchor, anchor + entry).replace("\n", "\r\n").encode()
    )
    assert lint(root).findings == []


def _containers(node: YNode | None) -> list[YNode]:
    """The block-style containers (with a name) of a manifest's tree."""
    found: list[YNode] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        for key, value in current.items():
            if key.value in ("containers", "initContainers"):
                found.extend(c for c in value.seq() if c.is_map and c.get("name") is not None)
            stack.append(value)
        stack.extend(current.seq())
    return found


def _block(node: YNode | None, lines: list[str]) -> bool:
    return node is None or lines[node.span.line - 1][node.span.col - 1] not in "{["


def test_every_block_container_of_the_fixtures_takes_both_additions() -> None:
    """On every manifest the repository's fixtures hold: each block-style container gets the
    env entry (when its env is absent or a block list) and the readinessProbe (when it has
    none), and the file changes only by the lines inserted."""
    from conftest import FIXTURES

    tried = 0
    for path in sorted(FIXTURES.rglob("*.y*ml")):
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        documents, problem = load_documents(path.name, text)
        if problem is not None:
            continue
        lines = text.split("\n")
        for container in (c for d in documents for c in _containers(d)):
            name = container.get("name")
            if name is None or not name.is_scalar or not _block(container, lines):
                continue
            edits = []
            env = container.get("env")
            if env is None or (env.is_seq and env.seq() and _block(env, lines)):
                edits.append(
                    Edit.yaml_add(path.name, name.span.line, name.span.col, "env", ENTRY, item=True)
                )
            if container.get("readinessProbe") is None:
                edits.append(
                    Edit.yaml_add(path.name, name.span.line, name.span.col, "readinessProbe", PROBE)
                )
            for edit in edits:
                tried += 1
                placed = add(edit, text)
                assert placed is not None, (path, name.span.line, edit.yaml)
                # the range replaced is one line break, and the content starts with it
                start = sum(len(line) + 1 for line in lines[: placed.line - 1]) + placed.col - 1
                end = (
                    sum(len(line) + 1 for line in lines[: placed.end_line - 1]) + placed.end_col - 1
                )
                assert text[start:end] == "\n" and placed.content.startswith("\n")
    assert tried > 100
