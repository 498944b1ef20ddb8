"""Model-level nonsense: files that parse but describe something impossible. No rule may crash
(an internal error is exit 2), every finding has a location, and the known PKG001 survives."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight.config import Config
from preflight.engine import run

from ._support import assert_span_ok, measure, pkg001_tree, preflight_env, write_files

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
{spec}
"""


def _deployment(spec: str) -> str:
    return DEPLOYMENT.format(spec="\n".join("      " + line for line in spec.splitlines()))


CASES: dict[str, dict[str, str]] = {
    "deployment-with-0-containers": {"k8s/d.yaml": _deployment("containers: []")},
    "deployment-with-null-containers": {"k8s/d.yaml": _deployment("containers:")},
    "deployment-without-spec": {
        "k8s/d.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
    },
    "probe-with-no-handler": {
        "k8s/d.yaml": _deployment(
            "containers:\n  - name: api\n    image: x\n    command: [uvicorn, app.main:app]\n"
            "    ports: [{containerPort: 8000}]\n    readinessProbe: {}\n"
            "    livenessProbe: {periodSeconds: 5}\n    startupProbe: null\n"
        )
    },
    "probe-with-two-handlers": {
        "k8s/d.yaml": _deployment(
            "containers:\n  - name: api\n    image: x\n    command: [uvicorn, app.main:app]\n"
            "    readinessProbe:\n      httpGet: {path: /ready, port: 99999}\n"
            "      tcpSocket: {port: -1}\n      exec: {command: []}\n"
        )
    },
    "probe-port-name-unknown": {
        "k8s/d.yaml": _deployment(
            "containers:\n  - name: api\n    image: x\n    command: [uvicorn, app.main:app]\n"
            "    readinessProbe: {httpGet: {path: '', port: nope}}\n"
        )
    },
    "secret-data-is-a-list": {
        "k8s/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: [a, b]\nstringData: [c]\n",
        "k8s/d.yaml": _deployment(
            "containers:\n  - name: api\n    image: x\n    env:\n      - name: SECRET_KEY\n"
            "        valueFrom: {secretKeyRef: {name: s, key: SECRET_KEY}}\n"
        ),
    },
    "secret-data-not-base64": {
        "k8s/s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {K: '%%%not base64', E: '', N: null, L: [1]}\n",
    },
    "secret-without-name": {"k8s/s.yaml": "apiVersion: v1\nkind: Secret\ndata: {K: dg==}\n"},
    "settings-with-dynamic-base": {
        "app/settings.py": (
            "from pydantic_settings import BaseSettings\n\n"
            "def base():\n    return BaseSettings\n\n"
            "class Settings(base()):\n    secret_key: str\n\n"
            "class Other(*[BaseSettings]):\n    database_url: str = 'postgresql://u:p@h/d'\n\n"
            "class Third(getattr(__import__('pydantic_settings'), 'BaseSettings')):\n    x: int = 1\n"
            "Settings = type('Settings', (BaseSettings,), {})\n"
        )
    },
    "settings-recursive-and-odd": {
        "app/settings.py": (
            "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n"
            "class A(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix=5, env_file=None)\n"
            "    a: 'A' = None\n\nclass B(A, B):\n    pass\n\nclass A(B):\n    pass\n"
        )
    },
    "dockerfile-only-comments": {"other/Dockerfile": "# just a comment\n# another\n"},
    "dockerfile-empty": {"other/Dockerfile": ""},
    "dockerfile-cmd-empty-list": {
        "other/Dockerfile": "FROM python:3.12\nCMD []\n",
        "k8s/d.yaml": _deployment(
            "containers:\n  - name: api\n    image: other\n    args: []\n    command: []\n"
        ),
    },
    "dockerfile-entrypoint-empty-and-cmd-empty-string": {
        "other/Dockerfile": 'FROM python:3.12\nENTRYPOINT []\nCMD [""]\n'
    },
    "dockerfile-from-itself": {
        "other/Dockerfile": "FROM a AS a\nFROM a AS b\nCOPY --from=b . .\nCMD x\n"
    },
    "compose-service-empty": {
        "compose.yaml": "services:\n  web:\n  api: {}\n  db: {command: []}\n"
    },
    "procfile-empty-command": {"Procfile": "web:\nworker: \n:\n"},
    "env-example-only-keys": {".env.example": "SECRET_KEY\nDATABASE_URL=\n=\n"},
}


@pytest.mark.parametrize("files", list(CASES.values()), ids=list(CASES))
def test_model_nonsense_is_handled(files: dict[str, str], tmp_path: Path) -> None:
    root = write_files(tmp_path, {**pkg001_tree(), **files})
    result = run(root, "repo", Config())
    assert result.internal_errors == []
    texts = {name: (root / name).read_text() for name in {f.span.path for f in result.findings}}
    for finding in result.findings:
        assert finding.message.strip()
        assert_span_ok(finding.span, finding.span.path, texts.get(finding.span.path))
    assert any(
        f.code == "PKG001" and f.span.path == "docker/Dockerfile" and f.span.line == 7
        for f in result.findings
    ), [(f.code, str(f.span), f.message) for f in result.findings]


def test_model_nonsense_all_at_once_through_the_cli(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = dict(pkg001_tree())
    for index, case in enumerate(CASES.values()):
        for name, text in case.items():
            files[f"case{index}/{name}"] = text
    root = write_files(tmp_path / "repo", files)
    for output_format in ("text", "json", "sarif", "github", "junit", "gitlab"):
        result = measure(
            ["check", "--verbose", "--format", output_format, str(root)],
            env=preflight_env(tmp_path),
        )
        assert result.code == 1, str(result)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
