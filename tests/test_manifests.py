from __future__ import annotations

import base64
import textwrap

from preflight.parse.manifests import parse_manifests
from preflight.parse.yamlnodes import load_documents


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MULTI = textwrap.dedent(
    f"""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: api
      namespace: prod
    spec:
      template:
        metadata:
          labels:
            app: api
        spec:
          initContainers:
            - name: migrate
              image: registry/api:1.0
              command: ["python", "manage.py", "migrate"]
          containers:
            - name: web
              image: registry/api:1.0
              command:
                - gunicorn
                - app:app
              args: ["--workers", 4]
              env:
                - name: DATABASE_URL
                  valueFrom:
                    secretKeyRef:
                      name: db
                      key: url
                - name: DEBUG
                  value: "false"
              envFrom:
                - secretRef:
                    name: api-secrets
                  prefix: APP_
              ports:
                - containerPort: 8000
                  name: http
              readinessProbe:
                httpGet:
                  path: /healthz
                  port: http
                periodSeconds: 5
              volumeMounts:
                - name: certs
                  mountPath: /certs
          volumes:
            - name: certs
              secret:
                secretName: tls-certs
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: api
    spec:
      selector:
        app: api
      ports:
        - port: 80
          targetPort: http
    ---
    apiVersion: v1
    kind: Secret
    metadata:
      name: db
    type: Opaque
    data:
      url: {_b64("postgres://u:p@db/app")}
      token: {_b64("old")}
    stringData:
      token: new
    """
)


def test_multi_document_deployment_service_secret() -> None:
    result = parse_manifests("k8s/app.yaml", MULTI)
    assert result.is_manifest and not result.templated
    assert result.problems == ()
    assert [o.kind for o in result.objects] == ["Deployment", "Service", "Secret"]

    (workload,) = result.workloads
    assert (workload.kind, workload.name, workload.namespace) == ("Deployment", "api", "prod")
    assert workload.obj.span.line == 4
    assert workload.pod_labels == {"app": "api"}
    assert workload.secret_volumes == {"certs": "tls-certs"}

    init, web = workload.containers
    assert init.is_init and init.name == "migrate"
    assert init.command is not None and init.command.values == ("python", "manage.py", "migrate")
    assert not web.is_init and web.name == "web" and web.span.line == 17
    assert web.image == "registry/api:1.0"
    assert web.image_span is not None and web.image_span.line == 18
    assert web.command is not None
    assert web.command.values == ("gunicorn", "app:app")
    assert web.command.span.line == 20
    assert [s.line for s in web.command.item_spans] == [20, 21]
    assert web.args is not None and web.args.values == ("--workers", "4")

    db_url, debug = web.env
    assert db_url.name == "DATABASE_URL" and db_url.span.line == 24
    assert (db_url.span.col, db_url.span.end_col) == (21, 33)
    assert db_url.value is None
    assert db_url.value_from is not None
    assert db_url.value_from.kind == "secretKeyRef"
    assert (db_url.value_from.name, db_url.value_from.key) == ("db", "url")
    assert debug.value == "false" and debug.span.line == 29
    assert "false" not in repr(debug)

    (env_from,) = web.env_from
    assert (env_from.kind, env_from.name, env_from.prefix) == ("secretRef", "api-secrets", "APP_")

    (port,) = web.ports
    assert (port.port, port.name, port.protocol) == (8000, "http", "TCP")

    probe = web.probe("readinessProbe")
    assert probe is not None and web.probe("livenessProbe") is None
    assert probe.handler == "httpGet"
    assert probe.path == "/healthz" and probe.port == "http"
    assert probe.path_span is not None and probe.path_span.line == 40
    assert probe.span.line == 38
    assert probe.settings == {"periodSeconds": 5}
    assert [m.mount_path for m in web.volume_mounts] == ["/certs"]

    (service,) = result.services
    assert service.selector == {"app": "api"}
    assert [(p.port, p.target_port) for p in service.ports] == [(80, "http")]

    (secret,) = result.secrets
    assert secret.type == "Opaque"
    assert secret.keys["url"].value == "postgres://u:p@db/app"
    assert secret.keys["url"].from_data and secret.keys["url"].span.line == 68
    assert secret.keys["token"].value == "new"  # stringData wins over data
    assert not secret.keys["token"].from_data
    assert "postgres" not in repr(secret)


def test_cronjob_nesting() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: nightly
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  containers:
                    - name: job
                      image: registry/job
                      args: ["python", "-m", "app.nightly"]
                  restartPolicy: Never
        """
    )
    result = parse_manifests("cron.yaml", text)
    (workload,) = result.workloads
    (container,) = workload.containers
    assert container.name == "job" and container.span.line == 12
    assert container.args is not None
    assert container.args.values == ("python", "-m", "app.nightly")
    assert container.args.span.line == 14


def test_pod_knative_and_list() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: Pod
            metadata: {name: one, labels: {app: one}}
            spec:
              containers: [{name: c, image: busybox}]
          - apiVersion: serving.knative.dev/v1
            kind: Service
            metadata: {name: kn}
            spec:
              template:
                spec:
                  containers: [{image: registry/kn}]
        """
    )
    result = parse_manifests("list.yaml", text)
    assert [o.kind for o in result.objects] == ["Pod", "Service"]
    pod, knative = result.workloads
    assert pod.pod_labels == {"app": "one"}
    assert pod.containers[0].image == "busybox"
    assert knative.containers[0].image == "registry/kn"
    assert result.services == ()


def test_bad_base64_is_a_problem_without_the_value() -> None:
    text = textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: Secret
        metadata:
          name: creds
        data:
          good: {_b64("fine")}
          bad: hunter2!!
          binary: {base64.b64encode(bytes([0xFF, 0xFE, 0x00])).decode()}
        """
    )
    result = parse_manifests("secret.yaml", text)
    (problem,) = result.problems
    assert problem.span.line == 7 and problem.span.col == 3
    assert problem.message == "Secret `creds` data key `bad` is not valid base64"
    assert "hunter2" not in problem.message
    (secret,) = result.secrets
    assert secret.keys["good"].value == "fine"
    assert "bad" not in secret.keys
    assert secret.keys["binary"].value is None  # valid base64 of non-text bytes


def test_config_map_keys() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        "data: {A: '1'}\nbinaryData: {B: AA==}\n"
    )
    (config,) = parse_manifests("cm.yaml", text).config_maps
    assert config.keys["A"].value == "1" and not config.keys["A"].binary
    assert config.keys["B"].binary


def test_helm_template_is_not_parsed() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "chart.fullname" . }}
        spec:
          {{- if .Values.replicas }}
          replicas: {{ .Values.replicas }}
          {{- end }}
        """
    )
    result = parse_manifests("chart/templates/deployment.yaml", text)
    assert result.templated
    assert result.problems == () and result.objects == ()


def test_braces_in_comments_and_block_scalars_are_not_templates() -> None:
    text = textwrap.dedent(
        """\
        # rendered with {{ helm }} once upon a time
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: alerts
        data:
          rules.yaml: |
            summary: "{{ $labels.instance }} is down"
        """
    )
    result = parse_manifests("alerts.yaml", text)
    assert not result.templated
    assert list(result.config_maps[0].keys) == ["rules.yaml"]


def test_github_workflow_is_not_a_manifest() -> None:
    text = textwrap.dedent(
        """\
        name: ci
        on: [push]
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: pytest
              - run: echo ${{ github.sha }}
        """
    )
    result = parse_manifests(".github/workflows/ci.yml", text)
    assert not result.is_manifest
    assert result.problems == () and result.objects == ()


def test_syntax_error_in_manifest() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
        data:
          key: [unclosed
        """
    )
    result = parse_manifests("bad.yaml", text)
    assert result.is_manifest
    (problem,) = result.problems
    # the stream ended inside the flow sequence: shown at the end of its (last) line
    assert problem.span.line == 6 and problem.span.col == 17
    assert problem.message.startswith("invalid YAML")
    assert "\n" not in problem.message


def test_syntax_error_keeps_earlier_documents() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nfoo: bar: baz\n"
    result = parse_manifests("two.yaml", text)
    assert [o.name for o in result.objects] == ["a"]
    (problem,) = result.problems
    assert problem.span.line == 5 and problem.span.col == 9


def test_syntax_error_in_other_yaml_is_recorded_but_not_a_manifest() -> None:
    result = parse_manifests("values.yaml", "a:\n\tb: 1\n")
    assert not result.is_manifest
    (problem,) = result.problems
    assert (problem.span.line, problem.span.col) == (2, 1)
    assert "tab" in problem.message


def test_wrong_types_are_problems_not_exceptions() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: broken
        spec:
          template:
            spec:
              containers:
                - name: a
                  env: 3
                  ports: [abc, {containerPort: "80"}]
                  command: python app.py
                  readinessProbe: yes
                - name: b
                  image: ok
                  env:
                    - name: PORT
                      value: 8080
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: worse}
        spec:
          template:
            spec:
              containers: foo
        """
    )
    result = parse_manifests("broken.yaml", text)
    messages = {(p.span.line, p.message) for p in result.problems}
    assert (10, "`spec.template.spec.containers[0].env` should be a list, not a number") in messages
    assert (
        11,
        "`spec.template.spec.containers[0].ports[0]` should be a mapping, not a string",
    ) in messages
    assert (
        11,
        "`spec.template.spec.containers[0].ports[1].containerPort` should be an integer, "
        "not a string",
    ) in messages
    assert (12, "`spec.template.spec.containers[0].command` should be a list, not a string") in (
        messages
    )
    assert any(line == 13 and "readinessProbe" in m for line, m in messages)
    assert any(line == 18 and "quote it" in m for line, m in messages)
    assert (26, "`spec.template.spec.containers` should be a list, not a string") in messages
    first, second = result.workloads
    assert [c.name for c in first.containers] == ["a", "b"]
    assert first.containers[1].env[0].value == "8080"
    assert second.containers == ()


def test_alias_bomb_is_a_problem() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        prev, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + "\n".join(
        "  " + line for line in lines
    )
    result = parse_manifests("bomb.yaml", text)  # the alias budget stops it: nothing expanded
    assert result.is_manifest
    assert any("aliases" in p.message for p in result.problems)


def test_merge_keys_and_duplicate_keys() -> None:
    text = "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n  y: 4\n"
    (document,), problem = load_documents("m.yaml", text)
    assert problem is None and document is not None
    merged = document.get("m")
    assert merged is not None
    assert {k.text: v.as_int() for k, v in merged.items()} == {"x": 1, "y": 4}


def test_external_secret_targets() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata:
          name: app-es
        spec:
          target:
            name: app-secrets
          data:
            - secretKey: DATABASE_URL
              remoteRef: {key: prod/db}
            - secretKey: API_KEY
              remoteRef: {key: prod/api}
        ---
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata:
          name: everything
        spec:
          dataFrom:
            - extract: {key: prod/all}
        ---
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata:
          name: sealed
        spec:
          encryptedData:
            TOKEN: AgBy8hCi...
        ---
        apiVersion: secrets-store.csi.x-k8s.io/v1
        kind: SecretProviderClass
        metadata:
          name: vault
        spec:
          secretObjects:
            - secretName: from-vault
              type: Opaque
              data:
                - objectName: pw
                  key: PASSWORD
        """
    )
    result = parse_manifests("secrets.yaml", text)
    assert result.problems == ()
    targets = {(t.obj.kind, t.target_name): t.keys for t in result.external_secrets}
    assert targets == {
        ("ExternalSecret", "app-secrets"): ("DATABASE_URL", "API_KEY"),
        ("ExternalSecret", "everything"): None,
        ("SealedSecret", "sealed"): ("TOKEN",),
        ("SecretProviderClass", "from-vault"): ("PASSWORD",),
    }
    assert result.external_secrets[0].span.line == 7


def test_kustomization_is_a_manifest_without_workloads() -> None:
    text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n"
    result = parse_manifests("kustomization.yaml", text)
    assert result.is_manifest and result.workloads == () and result.problems == ()
