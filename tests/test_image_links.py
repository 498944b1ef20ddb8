"""Issue 15: a container's image is tied to the Dockerfile that builds it by what the repository
says (compose build+image, skaffold, kustomize images, CI workflows, Makefiles, scripts), with
the file and line that made the link; name guesses and fallbacks stay weak."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, write_tree
from preflight.config import Config
from preflight.engine import build
from preflight.model.graph import ContainerNode
from preflight.parse.buildcmds import (
    parse_bake,
    parse_build_script,
    parse_cloudbuild,
    parse_gitlab_ci,
    parse_tiltfile,
    parse_workflow,
)
from preflight.parse.skaffold import parse_skaffold

APP = """
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}
"""
PYPROJECT = """
    [project]
    name = "service"
    version = "1"
    dependencies = ["fastapi", "uvicorn"]
"""
DOCKERFILE = """
    FROM python:3.12-slim
    WORKDIR /srv
    COPY . .
    RUN pip install .
    CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
"""


def deployment(image: str) -> str:
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: web\n"
        "spec:\n"
        "  selector:\n"
        "    matchLabels: {app: web}\n"
        "  template:\n"
        "    metadata:\n"
        "      labels: {app: web}\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: web\n"
        f"          image: {image}\n"
    )


def container(root: Path) -> ContainerNode:
    (node,) = build(root, ".", Config()).graph.containers
    return node


# --- the five shapes, each a fixture whose EXPECTED finding needs the link ----------------

SHAPES = [
    (
        "prb002-link-compose-build",
        "docker/api.Dockerfile",
        "compose service `api` in docker-compose.yml:7 builds `ghcr.io/acme/storefront-api:1.4`",
    ),
    (
        "prb002-link-skaffold",
        "services/backend/Dockerfile.prod",
        "skaffold artifact in skaffold.yaml:9 builds `shop-backend`",
    ),
    (
        "pkg001-link-workflow",
        "deploy/Dockerfile",
        "docker/build-push-action step `Build and push` in .github/workflows/release.yml:26"
        " builds `ghcr.io/acme/billing-service`",
    ),
    (
        "prb002-link-makefile",
        "docker/Dockerfile",
        "`docker build` in Makefile:7 builds `registry.example.com/team/stock-keeper:$(TAG)`",
    ),
    (
        "prb002-link-kustomize-images",
        "Dockerfile",
        "deploy/overlays/prod/kustomization.yaml:7 renames `catalog` to"
        " `ghcr.io/acme/catalog-api`; `docker build` in scripts/build.sh:7 builds",
    ),
]


@pytest.mark.parametrize(("fixture", "dockerfile", "how"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shape_ties_the_image_to_its_dockerfile_strongly(
    fixture: str, dockerfile: str, how: str
) -> None:
    node = container(FIXTURES / fixture)
    assert node.run.dockerfile is not None and node.run.dockerfile.path == dockerfile
    assert node.image_evidence is not None and node.image_evidence.strong
    assert how in node.image_evidence.how
    assert node.app is not None  # the rule the fixture's EXPECTED lists needs the app


def test_compose_target_is_recorded_on_the_link() -> None:
    node = container(FIXTURES / "prb002-link-compose-build")
    assert node.image_evidence is not None
    assert "(target `runtime`)" in node.image_evidence.how


def test_a_target_that_is_not_the_last_stage_says_the_last_stage_is_checked(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "app/__init__.py": "",
            "app/main.py": APP,
            "Dockerfile": DOCKERFILE + "\nFROM python:3.12-slim AS debug\nCMD ['sh']\n",
            "Makefile": "build:\n\tdocker buildx build --target base -t acme/shop:dev .\n",
            "k8s/app.yaml": deployment("acme/shop:dev"),
        },
    )
    node = container(root)
    assert node.image_evidence is not None and node.image_evidence.strong
    assert "(target `base`)" in node.image_evidence.how
    assert "preflight checks its last stage" in node.image_evidence.how


# --- negative cases -------------------------------------------------------------------------

WORKFLOW = """
    on: push
    jobs:
      build:
        runs-on: ubuntu-latest
        steps:
          - uses: docker/build-push-action@v6
            with:
              context: {context}
              tags: ghcr.io/acme/shop:latest
"""


def test_two_workflows_building_one_tag_from_different_dockerfiles_stay_unresolved(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path,
        {
            "api/pyproject.toml": PYPROJECT,
            "api/app/__init__.py": "",
            "api/app/main.py": APP,
            "api/Dockerfile": DOCKERFILE,
            "legacy/Dockerfile": DOCKERFILE,
            ".github/workflows/a.yml": WORKFLOW.format(context="api"),
            ".github/workflows/b.yml": WORKFLOW.format(context="legacy"),
            "k8s/app.yaml": deployment("ghcr.io/acme/shop:1.0"),
        },
    )
    node = container(root)
    assert node.run.dockerfile is None and node.image_evidence is None
    why = node.run.why_unlinked or ""
    assert "is built from 2 Dockerfiles" in why
    assert ".github/workflows/a.yml:9" in why and ".github/workflows/b.yml:9" in why


def test_a_tag_built_for_another_image_does_not_link(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "app/__init__.py": "",
            "app/main.py": APP,
            "Dockerfile": DOCKERFILE,
            "Makefile": "IMAGE := acme/worker\nbuild:\n\tdocker build -t $(IMAGE) .\n",
            "k8s/app.yaml": deployment("acme/api:1.0"),
        },
    )
    node = container(root)
    assert node.run.dockerfile is None
    assert "the builds here make `acme/worker`" in (node.run.why_unlinked or "")


def test_registry_tag_and_digest_never_block_a_strong_match(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "app/__init__.py": "",
            "app/main.py": APP,
            "svc/Dockerfile": DOCKERFILE,
            "other/Dockerfile": DOCKERFILE,
            "scripts/build.sh": 'TAG=1.0\ndocker build -t "localhost:5000/team/shop:$TAG" svc\n',
            "k8s/app.yaml": deployment("registry.example.com/team/shop:2.0@sha256:abc"),
        },
    )
    node = container(root)
    assert node.run.dockerfile is not None and node.run.dockerfile.path == "svc/Dockerfile"
    assert node.image_evidence is not None and node.image_evidence.strong
    assert "scripts/build.sh:2" in node.image_evidence.how


# --- weak fallbacks ---------------------------------------------------------------------------


def _single(tmp_path: Path, image: str) -> ContainerNode:
    return container(
        write_tree(
            tmp_path,
            {
                "pyproject.toml": PYPROJECT,
                "app/__init__.py": "",
                "app/main.py": APP,
                "docker/Dockerfile": DOCKERFILE,
                "k8s/app.yaml": deployment(image),
            },
        )
    )


def test_the_only_dockerfile_is_a_weak_link(tmp_path: Path) -> None:
    node = _single(tmp_path, "ghcr.io/someone/thing:1")
    assert node.run.dockerfile is not None and node.run.dockerfile.path == "docker/Dockerfile"
    assert node.image_evidence is not None and not node.image_evidence.strong
    assert "only Dockerfile" in node.image_evidence.how


@pytest.mark.parametrize("image", ["'YOUR DOCKER IMAGE HERE'", "'<image>'", "'${IMAGE}'"])
def test_a_placeholder_links_weakly_to_the_only_dockerfile(tmp_path: Path, image: str) -> None:
    node = _single(tmp_path, image)
    assert node.run.dockerfile is not None
    assert node.image_evidence is not None and not node.image_evidence.strong
    assert "placeholder" in node.image_evidence.how


def test_a_public_service_image_never_falls_back_to_the_only_dockerfile(tmp_path: Path) -> None:
    node = _single(tmp_path, "postgres:16")
    assert node.run.dockerfile is None and node.image_evidence is None


def _two_services(tmp_path: Path, image: str) -> ContainerNode:
    """Two services, each with its Dockerfile; the manifest sits in the first one's directory."""
    return container(
        write_tree(
            tmp_path,
            {
                "services/api/pyproject.toml": PYPROJECT,
                "services/api/app/__init__.py": "",
                "services/api/app/main.py": APP,
                "services/api/Dockerfile": DOCKERFILE,
                "services/api/k8s/deployment.yaml": deployment(image),
                "services/worker/Dockerfile": 'FROM python:3.12-slim\nCMD ["python", "w.py"]\n',
                # another build names itself: the only-Dockerfile fallback is blocked here
                "Makefile": "build:\n\tdocker build -t ghcr.io/acme/worker services/worker\n",
            },
        )
    )


def test_a_local_image_name_links_weakly_to_the_nearest_dockerfile(tmp_path: Path) -> None:
    """`api-app:dev` has no registry and no account: it can only be built where it runs."""
    node = _two_services(tmp_path, "api-app:dev")
    assert node.run.dockerfile is not None
    assert node.run.dockerfile.path == "services/api/Dockerfile"
    assert node.image_evidence is not None and not node.image_evidence.strong
    assert "no registry or account" in node.image_evidence.how
    assert node.app is not None and node.app.module == "services/api/app/main.py"


@pytest.mark.parametrize("image", ["traefik:v2.11", "httpd", "acme/api-app:dev", "ghcr.io/a/b"])
def test_an_official_or_pullable_image_is_not_a_local_build(tmp_path: Path, image: str) -> None:
    node = _two_services(tmp_path, image)
    assert node.run.dockerfile is None and node.image_evidence is None


# --- README instructions and Helm values --------------------------------------------------------


def test_a_readme_code_block_build_ties_the_image(tmp_path: Path) -> None:
    """`docker build -t kube-app:v1 .` in a README's code block, run from its directory."""
    root = write_tree(
        tmp_path,
        {
            "svc/pyproject.toml": PYPROJECT,
            "svc/app/__init__.py": "",
            "svc/app/main.py": APP,
            "svc/Dockerfile": DOCKERFILE,
            "svc/README.md": "# Svc\n\n```bash\n$ docker build -t kube-app:v1 .\n```\n"
            "Then `docker build` is not run outside code blocks.\n",
            "other/Dockerfile": "FROM python:3.12-slim\n",
            "deploy/app.yaml": deployment("registry.local:5000/kube-app:v1"),
        },
    )
    node = container(root)
    assert node.run.dockerfile is not None and node.run.dockerfile.path == "svc/Dockerfile"
    assert node.image_evidence is not None and node.image_evidence.strong
    assert "`docker build` in svc/README.md:4" in node.image_evidence.how


def test_helm_values_images_are_tied_and_the_chart_is_said_to_be_unrendered(
    tmp_path: Path,
) -> None:
    root = write_tree(
        tmp_path,
        {
            "pyproject.toml": PYPROJECT,
            "app/__init__.py": "",
            "app/main.py": APP,
            "Dockerfile": DOCKERFILE,
            "Makefile": "image:\n\tdocker build -t ghcr.io/acme/shop-api .\n",
            "chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
            "chart/values.yaml": "api:\n  image:\n    repository: ghcr.io/acme/shop-api\n"
            "    tag: 1.2.0\nproxy:\n  image: nginx:1.27\n",
            "chart/templates/deployment.yaml": "kind: Deployment\nimage: {{ .Values.api }}\n",
            # not beside a Chart.yaml: an ordinary YAML file
            "config/values.yaml": "image:\n  repository: ghcr.io/acme/shop-api\n",
        },
    )
    built = build(root, ".", Config())
    project = built.graph.files
    assert sorted(project.helm_values) == ["chart/values.yaml"]
    tied = {(i.values.key, i.values.ref, i.dockerfile) for i in project.helm_images}
    assert tied == {
        ("api.image", "ghcr.io/acme/shop-api:1.2.0", "Dockerfile"),
        ("proxy.image", "nginx:1.27", None),
    }
    assert built.graph.containers == []
    assert any("a Helm chart; its templates are not rendered" in n for n in project.notes)


# --- the parsers --------------------------------------------------------------------------------


def test_makefile_and_script_variables_are_expanded() -> None:
    makefile = (
        "REGISTRY = ghcr.io/acme\n"
        "IMAGE ?= $(REGISTRY)/api\n"
        "TAG := $(shell git rev-parse HEAD)\n"
        "image:\n"
        "\t@docker build --build-arg X=1 -t $(IMAGE):$(TAG) \\\n"
        "\t\t--target prod -f docker/Dockerfile .\n"
        "\tpodman build --tag=${IMAGE}-debug docker\n"
    )
    (first, second) = parse_build_script("svc/Makefile", makefile).builds
    assert (first.image_ref, first.dockerfile, first.context, first.target) == (
        "ghcr.io/acme/api:$(TAG)",
        "svc/docker/Dockerfile",
        "svc",
        "prod",
    )
    assert (first.span.line, first.span.col) == (5, 35)
    assert (second.image_ref, second.dockerfile) == (
        "ghcr.io/acme/api-debug",
        "svc/docker/Dockerfile",
    )

    script = 'IMAGE=${IMAGE:-acme/web}\nTAG="$(date +%s)"\ndocker build -t "$IMAGE:$TAG" .\n'
    (build_,) = parse_build_script("scripts/release.sh", script).builds
    assert build_.image_ref == "acme/web:$TAG" and build_.dockerfile == "Dockerfile"
    assert build_.fallback == ("scripts/Dockerfile", "scripts")


def test_an_unknown_image_name_is_not_a_build() -> None:
    text = "docker build -t $(IMAGE) .\ndocker build -t ${REGISTRY}/$NAME:1 .\ndocker build .\n"
    assert parse_build_script("Makefile", text).builds == ()


def test_workflow_run_steps_use_env_and_working_directory() -> None:
    text = (
        "env:\n"
        "  IMAGE: ghcr.io/acme/api\n"
        "jobs:\n"
        "  b:\n"
        "    steps:\n"
        "      - name: build\n"
        "        working-directory: services/api\n"
        "        run: |\n"
        "          echo hi\n"
        "          docker buildx build -t $IMAGE:${{ github.sha }} --push .\n"
    )
    (found,) = parse_workflow(".github/workflows/ci.yml", text).builds
    assert found.image_ref == "ghcr.io/acme/api:${{github.sha}}"
    assert found.dockerfile == "services/api/Dockerfile" and found.context == "services/api"
    assert found.span.line == 10


def test_gitlab_scripts_and_kaniko() -> None:
    text = (
        "variables:\n"
        "  IMAGE: registry.gitlab.com/acme/api\n"
        "build:\n"
        "  script:\n"
        "    - docker build -t $IMAGE:$CI_COMMIT_SHA -f Dockerfile.prod .\n"
        "kaniko:\n"
        "  script:\n"
        "    - /kaniko/executor --context $CI_PROJECT_DIR/app --dockerfile Dockerfile"
        " --destination $IMAGE/kaniko:1\n"
    )
    docker, kaniko = parse_gitlab_ci(".gitlab-ci.yml", text).builds
    assert (docker.image_ref, docker.dockerfile) == (
        "registry.gitlab.com/acme/api:$CI_COMMIT_SHA",
        "Dockerfile.prod",
    )
    assert (kaniko.dockerfile, kaniko.context) == ("app/Dockerfile", "app")


def test_skaffold_artifacts_resolve_against_context() -> None:
    text = (
        "apiVersion: skaffold/v4beta6\nkind: Config\nbuild:\n  artifacts:\n"
        "    - image: api\n      context: ../api\n      docker: {dockerfile: Dockerfile.prod,"
        " target: runtime}\n    - image: js\n      context: ../js\n      buildpacks: {}\n"
    )
    (found,) = parse_skaffold("deploy/skaffold.yaml", text).builds
    assert (found.dockerfile, found.context, found.target) == (
        "api/Dockerfile.prod",
        "api",
        "runtime",
    )


@pytest.mark.parametrize(
    "text",
    ["jobs: [\n", "{{ bad", "\x00\x01", "jobs:\n  a: 3\n", "- 1\n", "jobs:\n  a:\n    steps: 4\n",
     "docker_build(", "docker_build('x'", 'target "a" {\n tags = [', "[" * 100_000,
     '{"target": {"a": {"tags": "x:1"}}}', '{"target": [1]}'],
)  # fmt: skip
def test_build_file_parsers_never_raise(text: str) -> None:
    for parser in (parse_workflow, parse_gitlab_ci, parse_skaffold, parse_cloudbuild):
        parser("x.yml", text)
    assert parse_build_script("Makefile", text).problems == ()
    assert parse_tiltfile("Tiltfile", text).problems == ()
    assert parse_bake("docker-bake.hcl", text).problems == ()
    assert parse_bake("docker-bake.json", text).builds == ()


def test_tiltfile_and_bake_builds_resolve_against_their_directories() -> None:
    tilt = (
        "docker_build(\n    'ghcr.io/acme/api',\n    'services/api',\n"
        "    dockerfile='services/api/docker/Dockerfile',\n    target=\"dev\",\n)\n"
        "custom_build('x', 'make x', ['.'])\n"
    )
    (found,) = parse_tiltfile("deploy/Tiltfile", tilt).builds
    assert (found.image_ref, found.dockerfile, found.context, found.target) == (
        "ghcr.io/acme/api",
        "deploy/services/api/docker/Dockerfile",
        "deploy/services/api",
        "dev",
    )
    assert (found.span.line, found.span.col) == (2, 6)
    bake = (
        'target "api" {\n  context = "api"\n  dockerfile = "Dockerfile.prod"\n'
        '  target = "runtime"\n  tags = ["ghcr.io/acme/api:latest", "ghcr.io/acme/api:${TAG}"]\n}\n'
    )
    (built,) = parse_bake("docker-bake.hcl", bake).builds
    assert (built.image_ref, built.dockerfile, built.context, built.target) == (
        "ghcr.io/acme/api:latest",
        "api/Dockerfile.prod",
        "api",
        "runtime",
    )
    assert built.span.line == 5


def test_cloud_build_steps_build_from_the_source_root_or_their_dir() -> None:
    text = (
        "substitutions:\n  _IMAGE: api\nsteps:\n"
        "  - name: gcr.io/cloud-builders/docker\n    dir: services/api\n"
        "    args: [build, -t, 'gcr.io/$PROJECT_ID/${_IMAGE}:$SHORT_SHA', -f, docker/Dockerfile, .]\n"
        "  - name: gcr.io/cloud-builders/docker\n    entrypoint: bash\n"
        "    args: ['-c', 'docker build -t europe-docker.pkg.dev/p/r/worker ./worker']\n"
        "  - name: gcr.io/cloud-builders/docker\n    args: [push, gcr.io/p/api]\n"
    )
    found = [
        (b.image_ref, b.dockerfile, b.context, b.span.line)
        for b in parse_cloudbuild("cloudbuild.yaml", text).builds
    ]
    assert found == [
        ("api:$SHORT_SHA", "services/api/docker/Dockerfile", "services/api", 6),
        ("europe-docker.pkg.dev/p/r/worker", "worker/Dockerfile", "worker", 9),
    ]


def test_an_unknown_account_still_leaves_the_image_name() -> None:
    """`ghcr.io/$OWNER/main-api`: the owner is computed at run time, the name is known."""
    script = 'NAME="main-api"\ndocker build -t ghcr.io/$OWNER/$NAME:$V services/main\n'
    (found,) = parse_build_script("build.sh", script).builds
    assert (found.image_ref, found.dockerfile) == ("main-api:$V", "services/main/Dockerfile")


def test_docker_tag_pushes_a_built_image_under_another_name() -> None:
    script = (
        "docker build -t billing-service ./billing --no-cache\n"
        "docker tag billing-service:latest ${PREFIX}/petclinic-billing:latest\n"
        "docker tag unknown:latest ${PREFIX}/other:latest\n"
    )
    found = [(b.image_ref, b.dockerfile) for b in parse_build_script("push.sh", script).builds]
    assert found == [
        ("billing-service", "billing/Dockerfile"),
        ("petclinic-billing:latest", "billing/Dockerfile"),
    ]


def test_a_broken_workflow_is_a_parse_problem() -> None:
    result = parse_workflow(".github/workflows/ci.yml", "jobs: [\n")
    assert len(result.problems) == 1 and result.builds == ()


def test_an_overlay_patch_is_merged_into_the_workload_it_patches(tmp_path: Path) -> None:
    """A strategic-merge patch is not a workload of its own: its env, probes and image merge
    into the base container, and keep pointing into the patch file."""
    root = FIXTURES / "prb002-kustomize-patch"
    (node,) = build(root, ".", Config()).graph.containers
    assert node.run.manifest == "base/deployment.yaml"
    probe = node.run.container.probe("readinessProbe")
    assert probe is not None and probe.path == "/readyz"
    assert probe.path_span is not None and probe.path_span.path == "overlays/prod/patch.yaml"
    assert [v.name for v in node.run.container.env] == ["SECRET_KEY"]


def test_a_patch_of_another_kustomization_does_not_apply(tmp_path: Path) -> None:
    """A patch applies only to the workloads its kustomization includes."""
    root = write_tree(
        tmp_path,
        {
            "a/deployment.yaml": deployment("a:1"),
            "a/kustomization.yaml": "resources:\n  - deployment.yaml\n",
            "b/deployment.yaml": deployment("b:1"),
            "b/kustomization.yaml": "resources:\n  - deployment.yaml\n"
            "patchesStrategicMerge:\n  - patch.yaml\n",
            "b/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
            "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n"
            "          image: patched:2\n",
        },
    )
    images = sorted(
        (n.run.manifest, n.run.container.image) for n in build(root, ".", Config()).graph.containers
    )
    assert images == [("a/deployment.yaml", "a:1"), ("b/deployment.yaml", "patched:2")]
