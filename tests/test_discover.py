"""Discovery: one walk, files classified by kind, the trees a deploy never reads skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import write_tree
from preflight.discover import FileKind, classify, discover


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("pyproject.toml", FileKind.PYPROJECT),
        ("requirements.txt", FileKind.REQUIREMENTS),
        ("requirements-dev.txt", FileKind.REQUIREMENTS),
        ("requirements/base.txt", FileKind.REQUIREMENTS),
        ("Dockerfile", FileKind.DOCKERFILE),
        ("docker/Dockerfile.prod", FileKind.DOCKERFILE),
        ("api.Dockerfile", FileKind.DOCKERFILE),
        ("Containerfile", FileKind.DOCKERFILE),
        ("docker-compose.yml", FileKind.COMPOSE),
        ("compose.prod.yaml", FileKind.COMPOSE),
        ("k8s/deployment.yaml", FileKind.YAML),
        (".env.example", FileKind.ENV_EXAMPLE),
        (".env.sample", FileKind.ENV_EXAMPLE),
        (".env.template", FileKind.ENV_EXAMPLE),
        ("app/main.py", FileKind.PYTHON),
        ("gunicorn.conf.py", FileKind.GUNICORN_CONFIG),
        ("Procfile", FileKind.PROCFILE),
        ("Tiltfile", FileKind.TILTFILE),
        ("cloudbuild.yaml", FileKind.CLOUDBUILD),
        ("docker-bake.hcl", FileKind.BAKE),
        ("docker-bake.override.json", FileKind.BAKE),
        ("scripts/entrypoint.sh", FileKind.SHELL),
        ("preflight.toml", FileKind.PREFLIGHT_CONFIG),
        ("README.md", FileKind.README),  # read for `kubectl create secret` only
        ("docs/guide.md", None),
        (".env", FileKind.ENV_FILE),  # read unless git ignores it; values never printed
        (".env.server", FileKind.ENV_FILE),
        ("deploy/prod.env", FileKind.ENV_FILE),
        (".env.dist", FileKind.ENV_EXAMPLE),
        (".env-dist", FileKind.ENV_EXAMPLE),
        ("env.example", FileKind.ENV_EXAMPLE),
        (".envrc", None),
    ],
)
def test_classify(path: str, kind: FileKind | None) -> None:
    assert classify(path) is kind


def test_skips_virtualenvs_vendored_and_build_trees(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "app/main.py": "",
            ".venv/lib/site.py": "",
            "env/pyvenv.cfg": "home = /usr",
            "env/lib/x.py": "",
            "node_modules/pkg/Dockerfile": "FROM node",
            "build/lib/app.py": "",
            ".git/config.py": "",
            "pkg.egg-info/requires.txt": "",
            "legacy/Dockerfile": "FROM python",
        },
    )
    inventory = discover(tmp_path, exclude=["legacy"])
    assert [f.path for f in inventory.files] == ["app/main.py"]
    assert ("env", "virtualenv (has pyvenv.cfg)") in inventory.skipped


def test_size_cap_and_binary_files_are_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("x = 1\n" * 100)
    (tmp_path / "Dockerfile").write_bytes(b"FROM python\x00\x01")
    (tmp_path / "latin.py").write_bytes("# caf\xe9\n".encode("latin-1"))
    inventory = discover(tmp_path, max_file_size=100)
    assert inventory.files == []
    reasons = dict(inventory.skipped)
    assert "size cap" in reasons["big.py"]
    assert reasons["Dockerfile"] == "binary or not UTF-8"
    assert reasons["latin.py"] == "binary or not UTF-8"


def test_crlf_is_normalised(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b'FROM python:3.12\r\nCMD ["x"]\r\n')
    (source,) = discover(tmp_path).files
    assert source.text == 'FROM python:3.12\nCMD ["x"]\n'


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_out_of_the_root_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "Dockerfile").symlink_to(outside / "Dockerfile")
    inventory = discover(root)
    assert inventory.files == []
    assert dict(inventory.skipped)["Dockerfile"].startswith("symlink")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_utf16_and_utf32_files_with_a_bom_are_read_as_pip_and_kubectl_read_them(
    tmp_path: Path, encoding: str
) -> None:
    """Windows editors and PowerShell's `>` write UTF-16 with a byte-order mark; pip decodes
    such a requirements file and kubectl such a manifest, so preflight reads them too."""
    import codecs

    from conftest import lint

    bom = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
    }[encoding]
    write_tree(
        tmp_path,
        {
            "Dockerfile": "FROM python:3.12-slim\nCOPY . .\nRUN pip install -r requirements.txt\n"
            'CMD ["gunicorn", "app.main:app", "-k", "uvicorn.workers.UvicornWorker"]\n',
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        },
    )
    (tmp_path / "requirements.txt").write_bytes(bom + "fastapi\nuvicorn\n".encode(encoding))
    inventory = discover(tmp_path)
    read = inventory.get("requirements.txt")
    assert read is not None and read.text == "fastapi\nuvicorn\n" and inventory.skipped == []
    findings = lint(tmp_path, select=["PKG"]).findings
    assert [(f.code, f.span.path, f.span.line) for f in findings] == [("PKG001", "Dockerfile", 4)]


def test_a_nul_byte_without_a_bom_is_still_binary(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"fastapi\n\0\0garbage")
    inventory = discover(tmp_path)
    assert inventory.get("requirements.txt") is None
    assert [why for _, why in inventory.skipped] == ["binary or not UTF-8"]
