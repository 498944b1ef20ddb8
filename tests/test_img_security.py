"""IMG004 (runAsNonRoot the kubelet cannot verify) and IMG005 (read-only root, no temporary
directory): the securityContext facts in the model, and the awkward cases of both rules.

The fixtures (fixtures/img00*) cover the layouts end to end; these tests pin the facts the
rules read and each reason to stay silent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import codes, write_tree
from preflight.config import Config
from preflight.engine import Result, build
from preflight.model.graph import ContainerNode
from preflight.model.security import ContainerSecurity, dockerfile_user
from preflight.parse.dockerfile import parse_dockerfile
from preflight.parse.manifests import parse_manifests

Project = Callable[..., Result]

REQUIREMENTS = "fastapi==0.115.6\ngunicorn==23.0.0\nuvicorn-worker==0.2.0\ncelery==5.4.0\n"
MAIN = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health():
    return {"status": "ok"}
"""
GUNICORN = (
    '["gunicorn", "app.main:app", "-k", "uvicorn_worker.UvicornWorker", "-b", "0.0.0.0:8000"]'
)
COMPOSE = "services:\n  api:\n    build: .\n    image: ghcr.io/acme/orders:latest\n"


@pytest.fixture
def families() -> tuple[str, ...]:
    return ("IMG",)


def dockerfile(user: str = "", cmd: str = GUNICORN, base: str = "python:3.12-slim") -> str:
    return (
        f"FROM {base}\nWORKDIR /app\nCOPY requirements.txt .\n"
        "RUN pip install -r requirements.txt\nCOPY app ./app\n"
        f"{user}CMD {cmd}\n"
    )


def deployment(
    pod: str = "", security: str = "", extra: str = "", volumes: str = "", command: str = ""
) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders\nspec:\n"
        "  selector:\n    matchLabels:\n      app: orders\n  template:\n    metadata:\n"
        "      labels:\n        app: orders\n    spec:\n"
        + pod
        + "      containers:\n        - name: orders\n          image: ghcr.io/acme/orders:1.0\n"
        + command
        + "          ports:\n            - containerPort: 8000\n"
        + security
        + extra
        + volumes
    )


def service(files: dict[str, str]) -> dict[str, str]:
    return {"requirements.txt": REQUIREMENTS, "app/__init__.py": "", "app/main.py": MAIN, **files}


POD_NON_ROOT = "      securityContext:\n        runAsNonRoot: true\n"
READ_ONLY = "          securityContext:\n            readOnlyRootFilesystem: true\n"
TMP = (
    "          volumeMounts:\n            - name: tmp\n              mountPath: {path}\n{extra}",
    "      volumes:\n        - name: tmp\n          {source}\n",
)


def mounted(path: str = "/tmp", source: str = "emptyDir: {}", extra: str = "") -> tuple[str, str]:
    return TMP[0].format(path=path, extra=extra), TMP[1].format(source=source)


def security_of(tmp_path: Path, files: dict[str, str]) -> tuple[ContainerNode, ContainerSecurity]:
    graph = build(write_tree(tmp_path, files), ".", Config()).graph
    (node,) = graph.containers
    assert node.security is not None
    return node, node.security


# --- the facts ---------------------------------------------------------------------------------


def test_manifest_security_context_fields_and_spans() -> None:
    text = deployment(
        pod="      securityContext:\n        runAsNonRoot: true\n        runAsUser: 1000\n",
        security=(
            "          securityContext:\n            runAsUser: 2000\n"
            "            readOnlyRootFilesystem: true\n"
        ),
        extra="          volumeMounts:\n            - name: cfg\n              mountPath: /etc/app\n"
        "              readOnly: true\n",
        volumes="      volumes:\n        - name: cfg\n          configMap:\n            name: app\n"
        "        - name: scratch\n          emptyDir: {}\n",
    )
    (workload,) = parse_manifests("k8s/d.yaml", text).workloads
    pod = workload.security_context
    assert pod is not None and pod.run_as_non_root is not None and pod.run_as_user is not None
    assert (pod.run_as_non_root.value, pod.run_as_non_root.span.line) == (True, 15)
    assert pod.run_as_user.value == 1000 and pod.read_only_root_filesystem is None
    (container,) = workload.containers
    own = container.security_context
    assert own is not None and own.run_as_user is not None and own.run_as_non_root is None
    assert own.run_as_user.value == 2000
    assert own.read_only_root_filesystem is not None
    assert own.read_only_root_filesystem.span.line == 24
    assert workload.volumes == {"cfg": "configMap", "scratch": "emptyDir"}
    (mount,) = container.volume_mounts
    assert mount.read_only and mount.mount_path == "/etc/app"


def test_a_security_context_field_of_the_wrong_type_is_set_to_unknown_not_a_problem() -> None:
    text = deployment(pod='      securityContext:\n        runAsUser: "1000"\n')
    manifest = parse_manifests("k8s/d.yaml", text)
    (workload,) = manifest.workloads
    assert workload.security_context is not None
    assert workload.security_context.run_as_user is not None
    assert workload.security_context.run_as_user.value is None
    assert manifest.problems == ()


def test_dockerfile_user_is_inherited_through_from_stage_with_its_line() -> None:
    parsed = parse_dockerfile(
        "Dockerfile",
        'FROM python:3.12 AS base\nUSER app\nVOLUME /data\n\nFROM base\nCMD ["x"]\n',
    )
    user = dockerfile_user(parsed)
    assert (user.user, user.uid, user.name) == ("app", None, "app")
    assert user.span is not None and user.span.line == 2
    assert parsed.stages[-1].volumes[0][0] == "/data"


@pytest.mark.parametrize(
    ("text", "user", "uid"),
    [
        ("FROM python:3.12-slim\nUSER 10001:10001\n", "10001:10001", 10001),
        ("FROM python:3.12-slim\nUSER 0\n", "0", 0),
        ("FROM python:3.12-slim\nUSER app:app\n", "app:app", None),
        ("FROM python:3.12-slim\n", "", 0),  # the official image sets no USER: root
        ("FROM gcr.io/distroless/python3-debian12:nonroot\n", "65532", 65532),
        ("FROM ghcr.io/acme/base:1\n", None, None),  # a company's base image: unknown
        ("ARG UID=1000\nFROM python:3.12\nUSER ${APP_UID}\n", None, None),
    ],
)
def test_dockerfile_user(text: str, user: str | None, uid: int | None) -> None:
    found = dockerfile_user(parse_dockerfile("Dockerfile", text))
    assert (found.user, found.uid) == (user, uid)


def test_container_fields_override_the_pods_and_patches_merge_in(tmp_path: Path) -> None:
    node, security = security_of(
        tmp_path,
        service(
            {
                "Dockerfile": dockerfile(),
                "compose.yaml": COMPOSE,
                "k8s/base/deployment.yaml": deployment(
                    pod="      securityContext:\n        runAsNonRoot: true\n",
                    security="          securityContext:\n            runAsNonRoot: false\n",
                ),
                "k8s/base/kustomization.yaml": "resources:\n  - deployment.yaml\n",
                "k8s/prod/kustomization.yaml": "resources:\n  - ../base\npatches:\n"
                "  - path: patch.yaml\n",
                "k8s/prod/patch.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                "  name: orders\nspec:\n  template:\n    spec:\n      securityContext:\n"
                "        runAsUser: 10001\n      containers:\n        - name: orders\n"
                "          volumeMounts:\n            - name: tmp\n              mountPath: /tmp\n"
                "      volumes:\n        - name: tmp\n          emptyDir: {}\n",
            }
        ),
    )
    assert security.run_as_non_root is not None
    assert (security.run_as_non_root.value, security.run_as_non_root.level) == (False, "container")
    assert security.run_as_user is not None and security.run_as_user.value == 10001
    assert security.run_as_user.span.path == "k8s/prod/patch.yaml"
    assert node.run.pod_volumes == {"tmp": "emptyDir"}
    assert [m.mount_path for m in node.run.container.volume_mounts] == ["/tmp"]


def test_writable_places_and_temporary_directory_candidates(tmp_path: Path) -> None:
    mount, volume = mounted("/scratch")
    _, security = security_of(
        tmp_path,
        service(
            {
                "Dockerfile": dockerfile("VOLUME /var/cache/app\n"),
                "compose.yaml": COMPOSE,
                "k8s/d.yaml": deployment(
                    security=READ_ONLY,
                    extra="          env:\n            - name: TMPDIR\n"
                    "              value: /scratch/tmp\n" + mount,
                    volumes=volume,
                ),
            }
        ),
    )
    assert [w.path for w in security.writable] == ["/dev/shm", "/scratch", "/var/cache/app"]
    assert security.temp_candidates is not None
    assert [d for d, _ in security.temp_candidates] == [
        "/scratch/tmp", "/tmp", "/var/tmp", "/usr/tmp", "/app",
    ]  # fmt: skip
    assert security.writable_at("/scratch/tmp") is not None
    assert security.writable_at("/scratchpad") is None
    (use,) = security.temp_uses
    assert use.program == "gunicorn" and use.directory is None
    assert (use.span.path, use.span.line) == ("Dockerfile", 7)


# --- IMG004 ------------------------------------------------------------------------------------


def img004(
    project: Project, user: str, pod: str = POD_NON_ROOT, security: str = "", **files: str
) -> Result:
    tree = {"Dockerfile": dockerfile(user), "compose.yaml": COMPOSE}
    tree.update(files)
    tree.setdefault("k8s/deployment.yaml", deployment(pod=pod, security=security))
    return project(service(tree))


def test_named_user_is_reported_at_run_as_non_root_with_the_user_line(project: Project) -> None:
    result = img004(project, "RUN useradd app\nUSER app:app\n")
    (finding,) = result.findings
    assert finding.code == "IMG004"
    assert (finding.span.path, finding.span.line, finding.span.col) == (
        "k8s/deployment.yaml",
        15,
        9,
    )
    assert "non-numeric user (app)" in finding.message
    assert (finding.related[0].span.path, finding.related[0].span.line) == ("Dockerfile", 7)


def test_no_user_on_a_root_base_is_reported_with_the_from_line(project: Project) -> None:
    (finding,) = img004(project, "").findings
    assert "image will run as root" in finding.message
    assert (finding.related[0].span.path, finding.related[0].span.line) == ("Dockerfile", 1)


@pytest.mark.parametrize(
    ("user", "pod", "security"),
    [
        ("USER 10001\n", POD_NON_ROOT, ""),  # numeric: verified
        ("USER app\n", POD_NON_ROOT, "          securityContext:\n            runAsUser: 1000\n"),
        (
            "USER app\n",
            "      securityContext:\n        runAsNonRoot: true\n        runAsUser: 1\n",
            "",
        ),
        (
            "USER app\n",
            POD_NON_ROOT,
            "          securityContext:\n            runAsNonRoot: false\n",
        ),
        ("USER app\n", "", ""),  # runAsNonRoot not set
    ],
)
def test_img004_silent(project: Project, user: str, pod: str, security: str) -> None:
    assert codes(img004(project, user, pod, security)) == []


def test_img004_silent_on_a_weak_image_link(project: Project) -> None:
    # no build names the image: only the Dockerfile's being the only one ties them
    result = project(
        service(
            {
                "Dockerfile": dockerfile("USER app\n"),
                "k8s/deployment.yaml": deployment(pod=POD_NON_ROOT),
            }
        )
    )
    assert codes(result) == []


def test_img004_silent_when_the_build_targets_another_stage(project: Project) -> None:
    result = img004(
        project,
        "USER app\n",
        **{
            "Dockerfile": "FROM python:3.12 AS prod\nUSER 10001\n\nFROM prod AS debug\nUSER app\n",
            "compose.yaml": COMPOSE.replace(
                "build: .", "build:\n      context: .\n      target: prod"
            ),
        },
    )
    assert codes(result) == []


# --- IMG005 ------------------------------------------------------------------------------------


def img005(
    project: Project,
    extra: str = "",
    volumes: str = "",
    user_dockerfile: str = "",
    cmd: str = GUNICORN,
    command: str = "",
    **files: str,
) -> Result:
    tree = {"Dockerfile": dockerfile(user_dockerfile, cmd), "compose.yaml": COMPOSE}
    tree.update(files)
    tree.setdefault(
        "k8s/deployment.yaml",
        deployment(security=READ_ONLY, extra=extra, volumes=volumes, command=command),
    )
    return project(service(tree))


def test_gunicorn_without_tmp_is_reported_at_read_only_root(project: Project) -> None:
    (finding,) = img005(project).findings
    assert finding.code == "IMG005"
    assert (finding.span.path, finding.span.line) == ("k8s/deployment.yaml", 20)
    assert "No usable temporary directory found in ['/tmp', '/var/tmp', '/usr/tmp', '/app']" in (
        finding.message
    )
    assert (finding.related[0].span.path, finding.related[0].span.line) == ("Dockerfile", 6)


def test_worker_tmp_dir_on_the_read_only_root_is_reported(project: Project) -> None:
    cmd = GUNICORN[:-1] + ', "--worker-tmp-dir", "/app/tmp"]'
    (finding,) = img005(project, cmd=cmd).findings
    assert "Read-only file system: '/app/tmp/wgunicorn-…'" in finding.message


@pytest.mark.parametrize(
    ("source", "extra"),
    [
        ("configMap:\n            name: tmp", ""),  # always mounted read-only
        ("emptyDir: {}", "              readOnly: true\n"),
    ],
)
def test_a_read_only_volume_at_tmp_does_not_count(
    project: Project, source: str, extra: str
) -> None:
    mount, volume = mounted("/tmp", source, extra)
    assert codes(img005(project, extra=mount, volumes=volume)) == ["IMG005"]


@pytest.mark.parametrize(
    "case",
    [
        "emptydir-tmp",
        "pvc-var",
        "workdir",
        "tmpdir-shm",
        "worker-tmp-dir",
        "env-args",
        "volume",
        "solo",
    ],
)
def test_img005_silent(project: Project, case: str) -> None:
    cmd = GUNICORN
    extra = volumes = dockerfile_user = command = ""
    if case == "emptydir-tmp":
        extra, volumes = mounted("/tmp")
    elif case == "pvc-var":
        extra, volumes = mounted("/var", "persistentVolumeClaim:\n            claimName: data")
    elif case == "workdir":
        extra, volumes = mounted("/app")
    elif case == "tmpdir-shm":
        extra = "          env:\n            - name: TMPDIR\n              value: /dev/shm\n"
    elif case == "worker-tmp-dir":
        cmd = GUNICORN[:-1] + ', "--worker-tmp-dir=/dev/shm"]'
    elif case == "env-args":
        extra = (
            "          env:\n            - name: GUNICORN_CMD_ARGS\n"
            '              value: "--worker-tmp-dir /dev/shm"\n'
        )
    elif case == "volume":
        dockerfile_user = "VOLUME /tmp\n"
    elif case == "solo":
        command = '          command: ["celery", "-A", "app.main", "worker", "-P", "solo"]\n'
    result = img005(project, extra, volumes, dockerfile_user, cmd, command)
    assert codes(result) == []


def test_img005_silent_when_tmpdir_comes_from_a_secret(project: Project) -> None:
    extra = (
        "          env:\n            - name: TMPDIR\n              valueFrom:\n"
        "                secretKeyRef:\n                  name: app\n                  key: tmp\n"
    )
    assert codes(img005(project, extra=extra)) == []


def test_celery_worker_in_the_container_command_is_reported(project: Project) -> None:
    command = '          command: ["celery", "-A", "app.main", "worker", "--concurrency=2"]\n'
    (finding,) = img005(project, command=command).findings
    assert "`celery worker`" in finding.message
    assert "Unrecoverable error: FileNotFoundError(2, " in finding.message
    assert finding.related[0].span.line == 17


def test_silent_when_a_kustomize_patch_preflight_does_not_merge_renders_the_pod(
    project: Project,
) -> None:
    # a component's JSON 6902 patch adds the /tmp emptyDir to every Deployment (bank-of-anthos)
    result = img005(
        project,
        **{
            "k8s/deployment.yaml": deployment(security=READ_ONLY),
            "k8s/kustomization.yaml": "resources:\n  - deployment.yaml\ncomponents:\n  - tmp\n",
            "k8s/tmp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
            "kind: Component\npatches:\n  - target:\n      kind: Deployment\n"
            "    path: add-tmp.yaml\n",
            "k8s/tmp/add-tmp.yaml": "- op: add\n  path: /spec/template/spec/volumes\n"
            "  value:\n    - name: tmp\n      emptyDir: {}\n",
        },
    )
    assert codes(result) == []


def test_user_root_by_name_is_a_name_to_the_kubelet(project: Project) -> None:
    (finding,) = img004(project, "USER root\n").findings
    assert "non-numeric user (root)" in finding.message


def test_one_finding_for_a_pod_field_shared_by_two_containers_of_one_image(
    project: Project,
) -> None:
    second = (
        "        - name: worker\n          image: ghcr.io/acme/orders:1.0\n"
        '          command: ["celery", "-A", "app.main", "worker"]\n'
    )
    text = deployment(pod=POD_NON_ROOT) + second
    assert codes(img004(project, "USER app\n", **{"k8s/deployment.yaml": text})) == ["IMG004"]


def test_celery_through_python_m_and_gunicorn_through_an_entrypoint_script(
    project: Project,
) -> None:
    command = '          command: ["python", "-m", "celery", "-A", "app.main", "worker"]\n'
    assert codes(img005(project, command=command)) == ["IMG005"]
    script = "#!/bin/sh\nset -e\nexec gunicorn app.main:app -b 0.0.0.0:8000\n"
    result = img005(
        project,
        **{
            "Dockerfile": dockerfile("COPY start.sh /start.sh\n", '["/start.sh"]'),
            "start.sh": script,
        },
    )
    (finding,) = result.findings
    assert (finding.related[0].span.path, finding.related[0].span.line) == ("start.sh", 3)


def test_img005_silent_when_worker_tmp_dir_is_computed_in_the_config(project: Project) -> None:
    conf = 'import os\nbind = "0.0.0.0:8000"\nworker_tmp_dir = os.environ["TMP_DIR"]\n'
    result = img005(
        project,
        cmd='["gunicorn", "app.main:app"]',
        user_dockerfile="COPY gunicorn.conf.py .\n",
        **{"gunicorn.conf.py": conf},
    )
    assert codes(result) == []


def test_a_patch_that_only_scales_the_deployment_does_not_silence_it(project: Project) -> None:
    result = img005(
        project,
        **{
            "k8s/kustomization.yaml": "resources:\n  - deployment.yaml\n",
            "k8s/dev/kustomization.yaml": "resources:\n  - ..\npatches:\n  - target:\n"
            "      kind: Deployment\n    patch: |\n      - op: replace\n"
            "        path: /spec/template/spec/containers/0/resources\n        value: {}\n"
            "      - op: replace\n        path: /spec/replicas\n        value: 1\n",
        },
    )
    assert codes(result) == ["IMG005"]
