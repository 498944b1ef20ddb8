"""ENV005 on the shapes real repositories showed (issue 16): what is a committed secret, and
what is configuration, a public key, a placeholder or ciphertext."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from conftest import lint, write_tree


def secret(body: str, name: str = "app", extra: str = "") -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{extra}{body}"


def env005(tmp_path: Path, text: str) -> list[tuple[int, str, tuple[int, ...]]]:
    result = lint(write_tree(tmp_path, {"k8s/secret.yaml": text}), select=["ENV005", "PF001"])
    return [(f.span.line, f.code, tuple(r.span.line for r in f.related)) for f in result.findings]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "body",
    [
        # configuration, not credentials (postgres/rabbitmq/redis images' usual keys)
        "stringData:\n  POSTGRES_DB: orders\n  POSTGRES_USER: orders\n  POSTGRES_HOST: db\n"
        "  POSTGRES_PORT: '5432'\n  REDIS_DB: '0'\n  RABBITMQ_DEFAULT_USER: admin\n",
        f"data:\n  USERNAME: {b64('admin')}\n  user: {b64('svc')}\n",
        # public keys and certificates
        "stringData:\n  jwtRS256.key.pub: |\n    -----BEGIN PUBLIC KEY-----\n    MIIBIjANBg\n"
        "    -----END PUBLIC KEY-----\n",
        "stringData:\n  id_ed25519.pub: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG user@host\n",
        # placeholders that describe themselves
        "stringData:\n  POSTGRES_PASSWORD: db-password\n  SECRET_KEY: your-secret-key\n"
        "  API_TOKEN: tu_valor_secreto\n  JWT_SECRET: <set me>\n",
        "stringData:\n  DATABASE_URL: postgresql://app:db_password@db/app\n",
    ],
)
def test_not_a_committed_secret(tmp_path: Path, body: str) -> None:
    assert env005(tmp_path, secret(body)) == []


def test_sops_encrypted_secret_is_neither_env005_nor_malformed(tmp_path: Path) -> None:
    body = (
        "data:\n"
        "  DATABASE_URI: ENC[AES256_GCM,data:3Vk1mA==,iv:Qm9v,tag:Zm9v,type:str]\n"
        "  POSTGRES_PASSWORD: ENC[AES256_GCM,data:aGVsbG8=,iv:Qm9v,tag:Zm9v,type:str]\n"
        "sops:\n  version: 3.7.3\n  lastmodified: '2023-07-20T20:19:44Z'\n"
    )
    assert env005(tmp_path, secret(body)) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # one finding per Secret, at the first credential, the others related
        (
            "stringData:\n  POSTGRES_USER: orders\n  POSTGRES_PASSWORD: k8Hq2xP0aZ41\n"
            "  POSTGRES_DB: orders\n  API_TOKEN: ghp_9fQ2LxWm7TzR4vBn\n",
            [(7, "ENV005", (9,))],
        ),
        (f"data:\n  DATABASE_URL: {b64('postgresql://app:Pq8Wn2x@db/app')}\n", [(6, "ENV005", ())]),
        (
            "stringData:\n  tls.key: |\n    -----BEGIN PRIVATE KEY-----\n    MIIEvQ\n"
            "    -----END PRIVATE KEY-----\n",
            [(6, "ENV005", ())],
        ),
    ],
)
def test_committed_secrets(
    tmp_path: Path, body: str, expected: list[tuple[int, str, tuple[int, ...]]]
) -> None:
    assert env005(tmp_path, secret(body)) == expected


def test_env004_skips_flags_and_placeholders_but_not_real_values(tmp_path: Path) -> None:
    """ENV004 judges the value as well as the name: a switch or a number is not a secret, and a
    placeholder (judged as ENV005 judges it) leaks nothing."""
    env = "".join(
        f"            - name: {name}\n              value: {value}\n"
        for name, value in (
            ("ALLOW_EMPTY_PASSWORD", '"yes"'),
            ("PASSWORD_MIN_LENGTH", '"8"'),
            ("DB_PASSWORD", "password"),
            ("SMTP_PASSWORD", "changeme"),
            ("API_TOKEN", "ghp_9fQ2LxWm7TzR4vBn"),
        )
    )
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: app\n          image: app:1\n"
        f"          env:\n{env}"
    )
    result = lint(write_tree(tmp_path, {"k8s/app.yaml": manifest}), select=["ENV004"])
    assert [(f.span.line, f.message.split("`")[1]) for f in result.findings] == [
        (20, "API_TOKEN"),
    ]


@pytest.mark.parametrize("value", ["postgres", "admin", "guest", "changeit"])
def test_a_well_known_default_credential_holds_no_secret(value: str) -> None:
    from preflight.model.settings import holds_no_secret

    assert holds_no_secret(value)
    assert holds_no_secret(f"postgresql://postgres:{value}@db:5432/app")
    assert not holds_no_secret(value + "-9f3Kq2")


@pytest.mark.parametrize(
    "value",
    [
        "postgrespwd",  # a describing word glued to the service's name
        "mysecretpassword",
        "s3cr3tP@ss",  # leetspeak for the same words
        "P@ssw0rd123!",
        "seekrit",  # spelled by sound: the same consonants, as many syllables
        "Passwurd1",
        "asdfqwer",  # keyboard walks: the first thing a password guesser tries
        "qwerty123",
        "postgres",  # the image's published default
    ],
)
def test_throwaway_values_hold_no_secret_in_env004_and_env005(tmp_path: Path, value: str) -> None:
    assert env005(tmp_path, secret(f"stringData:\n  POSTGRES_PASSWORD: '{value}'\n")) == []
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: db\n          image: acme/db:1\n"
        f"          env:\n            - name: POSTGRES_PASSWORD\n              value: '{value}'\n"
    )
    result = lint(write_tree(tmp_path / "dep", {"k8s/db.yaml": deployment}), select=["ENV004"])
    assert result.findings == []


@pytest.mark.parametrize(
    "value",
    # `skirt` and `spirit` share consonants with `secret`/`password` but not their syllables
    ["Kz8vQ2mW9xTr", "secret-9f3Kq2", "correcthorsebattery7Q", "skirt", "spirit"],
)
def test_a_realistic_value_is_still_a_secret(tmp_path: Path, value: str) -> None:
    assert env005(tmp_path, secret(f"stringData:\n  POSTGRES_PASSWORD: '{value}'\n")) == [
        (6, "ENV005", ())
    ]


def test_a_secret_its_comment_calls_a_demo_is_kept_at_warning(tmp_path: Path) -> None:
    text = (
        "# In practice this should never be checked into version control: it is provided\n"
        "# here to simplify the demo.\n"
        + secret("stringData:\n  SECRET_KEY: Kz8vQ2mW9xTr4Lp0\n")
        + "---\n"
        + secret("stringData:\n  API_TOKEN: Tq3Nw8Zr5Yx2Kb7M\n", name="other")
    )
    result = lint(write_tree(tmp_path, {"k8s/secret.yaml": text}), select=["ENV005"])
    found = [(f.span.line, f.severity.value) for f in result.findings]
    # the demo comment belongs to the first document only: the second Secret stays an error
    assert found == [(8, "warning"), (15, "error")]
    assert "(line 1) says they are for a demo" in result.findings[0].message
    assert "Kz8v" not in result.findings[0].message


LOCAL_APP = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n"
    "    spec:\n      containers:\n        - name: {name}\n          image: {image}\n"
    "          envFrom:\n            - secretRef:\n                name: app\n"
)


@pytest.mark.parametrize(
    ("images", "severity"),
    [
        # a locally built image (`skaffold dev`, `kind load`) beside the stock database image:
        # the Secret only reaches a developer's cluster
        (("webapp:latest", "postgres:16"), "warning"),
        # one consumer runs a pushed image: the manifests deploy anywhere
        (("webapp:latest", "ghcr.io/acme/webapp:1.2"), "error"),
        (("ghcr.io/acme/webapp:1.2",), "error"),
        # only the stock database reads it: nothing says the cluster is local
        (("postgres:16",), "error"),
    ],
)
def test_a_secret_only_a_local_cluster_reads_is_kept_at_warning(
    tmp_path: Path, images: tuple[str, ...], severity: str
) -> None:
    files = {"k8s/secret.yaml": secret("stringData:\n  SECRET_KEY: Kz8vQ2mW9xTr4Lp0\n")}
    for n, image in enumerate(images):
        files[f"k8s/app{n}.yaml"] = LOCAL_APP.format(name=f"app{n}", image=image)
    result = lint(write_tree(tmp_path, files), select=["ENV005"])
    assert [(f.span.line, f.severity.value) for f in result.findings] == [(6, severity)]
    if severity == "warning":
        assert "`webapp:latest`, an image no registry holds" in result.findings[0].message
    assert "Kz8v" not in result.findings[0].message


@pytest.mark.parametrize(
    ("readme", "severity"),
    [
        ("Replace the passwords in `k8s/secret.yaml` before you deploy.\n", "warning"),
        # the instruction may name the Secret, over several lines of one paragraph
        (
            "## Set-up\n\nThe Secret `backend-secrets` holds demo credentials:\nchange them.\n",
            "warning",
        ),
        # a README that names the file without telling anyone to replace it
        ("Apply `k8s/secret.yaml`, then the Deployment.\n", "error"),
        # an instruction in another paragraph, about another file
        ("Apply `k8s/secret.yaml`.\n\nReplace the token in `config/other.yaml`.\n", "error"),
    ],
)
def test_a_secret_a_readme_says_to_replace_is_kept_at_warning(
    tmp_path: Path, readme: str, severity: str
) -> None:
    files = {
        "README.md": readme,
        "k8s/secret.yaml": secret(
            "stringData:\n  SECRET_KEY: Kz8vQ2mW9xTr4Lp0\n", name="backend-secrets"
        ),
    }
    result = lint(write_tree(tmp_path, files), select=["ENV005"])
    assert [(f.span.line, f.severity.value) for f in result.findings] == [(6, severity)]
    if severity == "warning":
        (note,) = [r for r in result.findings[0].related if r.span.path == "README.md"]
        assert "tells the reader to replace them" in result.findings[0].message
        assert note.span.line in (1, 4)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("POSTGRES_USER: todo", "POSTGRES_PASSWORD: k8Hq2xP0aZ41"),
        ("PUBLIC KEY", "PRIVATE KEY"),
    ],
)
def test_the_clean_fixture_s_true_side(tmp_path: Path, old: str, new: str) -> None:
    """The clean fixture is silent for what it holds, not because ENV005 never reads it."""
    import shutil

    from conftest import FIXTURES

    root = tmp_path / "service"
    shutil.copytree(FIXTURES / "env005-clean-config-keys-public-keys-encrypted", root)
    secret_file = root / "k8s" / "secret.yaml"
    text = secret_file.read_text().replace(old, new)
    if new == "PRIVATE KEY":
        text = text.replace("jwt.pub:", "jwt.key:")
    secret_file.write_text(text)
    assert [f.code for f in lint(root, select=["ENV005"]).findings] == ["ENV005"]


def test_a_whole_env_file_in_a_secret_is_judged_line_by_line(tmp_path: Path) -> None:
    """Issue 16: `.env: |` in stringData; its real lines are reported (one finding, each line
    related), and the same file holding placeholders only is silent."""
    import shutil

    from conftest import FIXTURES

    fixture = FIXTURES / "env005-secret-holds-env-file"
    (finding,) = lint(fixture, select=["ENV005"]).findings
    assert (finding.span.line, [r.span.line for r in finding.related]) == (13, [14])
    assert "Zr4vN8qLm2Tx" not in finding.message
    root = tmp_path / "service"
    shutil.copytree(fixture, root)
    secret_file = root / "k8s" / "secret.yaml"
    text = secret_file.read_text()
    text = text.replace("Zr4vN8qLm2Tx", "change-me").replace(
        "KjVQ7M0lqSJWtuZjmp7Wk62fe3q8GIt3SG2-Rql_AXA", "your-secret-key"
    )
    secret_file.write_text(text)
    assert lint(root, select=["ENV005"]).findings == []
