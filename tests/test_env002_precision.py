"""ENV002 on the shapes real repositories showed (issue 16): Secrets created outside manifests,
kustomize generators, and one finding per missing name."""

from __future__ import annotations

from pathlib import Path

from conftest import lint, write_tree


def deployment(name: str, *refs: str) -> str:
    env = "".join(
        f"            - name: V{i}\n              valueFrom:\n"
        f"                secretKeyRef: {{name: {ref}, key: password}}\n"
        for i, ref in enumerate(refs)
    )
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
        "  template:\n    spec:\n      containers:\n        - name: app\n"
        f"          image: app:1\n          env:\n{env}"
    )


DEFINED = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: other\nstringData:\n  a: b\n"


def env002(root: Path) -> list[tuple[str, int, tuple[int, ...]]]:
    result = lint(root, select=["ENV002"])
    return [
        (f.span.path, f.span.line, tuple(r.span.line for r in f.related)) for f in result.findings
    ]


def test_a_secret_created_with_kubectl_in_the_readme_is_defined(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "k8s/app.yaml": deployment("app", "cloud-sql-admin"),
            "k8s/other.yaml": DEFINED,
            "extras/README.md": "Create it first:\n\n```sh\nkubectl create secret -n $NS generic "
            "cloud-sql-admin --from-literal=password=$PASSWORD\n```\n",
        },
    )
    assert env002(root) == []


def test_a_script_or_workflow_creating_it_counts_too(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "k8s/app.yaml": deployment("app", "db-creds"),
            "k8s/other.yaml": DEFINED,
            "scripts/setup.sh": "#!/bin/sh\nkubectl -n prod create secret generic db-creds \\\n"
            "  --from-env-file=.env\n",
        },
    )
    assert env002(root) == []


def test_kustomize_generators_define_secrets_and_config_maps(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "k8s/app.yaml": deployment("app", "db-creds"),
            "k8s/other.yaml": DEFINED,
            "k8s/kustomization.yaml": "resources: [app.yaml, other.yaml]\nsecretGenerator:\n"
            "  - name: db-creds\n    literals: [password=x]\n",
        },
    )
    assert env002(root) == []


def test_one_finding_per_missing_name_with_every_reference_related(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "k8s/a.yaml": deployment("a", "missing", "missing"),
            "k8s/b.yaml": deployment("b", "missing"),
            "k8s/other.yaml": DEFINED,
        },
    )
    assert env002(root) == [("k8s/a.yaml", 14, (17, 14))]
    (finding,) = lint(root, select=["ENV002"]).findings
    assert "and 2 more place(s)" in finding.message
    assert {r.span.path for r in finding.related} == {"k8s/a.yaml", "k8s/b.yaml"}


def test_the_clean_fixture_names_where_each_secret_is_created(tmp_path: Path) -> None:
    """Issue 16: each Secret created outside manifests is defined, and --verbose says where;
    without the file that creates it, the same reference is reported."""
    import shutil

    from conftest import FIXTURES

    fixture = FIXTURES / "env002-clean-created-outside"
    result = lint(fixture, select=["ENV002"])
    assert result.findings == []
    told = " ".join(result.notes)
    for name, where in [
        ("payments-db", "README.md:6"),
        ("payments-webhooks", "Makefile:2"),
        ("payments-signing", "k8s/kustomization.yaml:6"),
        ("payments-sentry", ".github/workflows/deploy.yml:8"),
    ]:
        assert f"`{name}` is defined outside manifests" in told and where in told
    for creator, name in [
        ("README.md", "payments-db"),
        ("Makefile", "payments-webhooks"),
        (".github/workflows/deploy.yml", "payments-sentry"),
        ("k8s/vault.yaml", "payments-vault"),
    ]:
        root = tmp_path / creator.replace("/", "_")
        shutil.copytree(fixture, root)
        (root / creator).unlink()
        if creator == "k8s/vault.yaml":
            kustomization = root / "k8s" / "kustomization.yaml"
            kustomization.write_text(kustomization.read_text().replace("  - vault.yaml\n", ""))
        (finding,) = lint(root, select=["ENV002"]).findings
        assert f"`{name}`" in finding.message
