"""Stock images of infrastructure (databases, caches, brokers, proxies, exporters).

A container that runs one of these, from an image the repository does not build, is not a
Python web service: its readiness is checked with its own tool (`pg_isready`, `redis-cli ping`,
`rabbitmq-diagnostics check_running`, a tcpSocket), not an HTTP route. Names are the image's
last path component (registry, namespace, tag and digest removed), as Docker Hub and the
vendors' registries publish them (checked 2026-11 against Docker Hub official images, Bitnami,
Quay and the Prometheus exporters' READMEs).
"""

from __future__ import annotations

import re

STOCK_INFRASTRUCTURE = frozenset(
    {
        # databases
        "postgres",
        "postgresql",
        "postgis",
        "timescaledb",
        "mysql",
        "mariadb",
        "mongo",
        "mongodb",
        "cassandra",
        "cockroach",
        "cockroachdb",
        "clickhouse-server",
        "couchdb",
        "neo4j",
        "influxdb",
        "elasticsearch",
        "opensearch",
        "mssql-server",
        "oracle",
        # caches and brokers
        "redis",
        "redis-stack",
        "valkey",
        "keydb",
        "memcached",
        "rabbitmq",
        "kafka",
        "zookeeper",
        "nats",
        "activemq",
        "pulsar",
        "mosquitto",
        "eclipse-mosquitto",
        # storage, proxies and platform services
        "minio",
        "etcd",
        "consul",
        "vault",
        "nginx",
        "nginx-unprivileged",
        "haproxy",
        "envoy",
        "traefik",
        "caddy",
        "httpd",
        "squid",
        "cloud-sql-proxy",
        "cloudsql-proxy",
        "pgbouncer",
        "busybox",
        "alpine",
        "curl",
        # observability
        "prometheus",
        "grafana",
        "jaeger",
        "otel-collector",
        "opentelemetry-collector",
        "opentelemetry-collector-contrib",
        "loki",
        "promtail",
        "fluentd",
        "fluent-bit",
    }
)
# Images pulled from a registry as they are (services and base images), which a repository
# never builds: the weak "only Dockerfile here" link is never made for a container running one.
PUBLIC_IMAGES = frozenset(
    {
        "postgres",
        "postgis",
        "mysql",
        "mariadb",
        "redis",
        "valkey",
        "memcached",
        "mongo",
        "mongodb",
        "rabbitmq",
        "nginx",
        "traefik",
        "haproxy",
        "envoy",
        "busybox",
        "alpine",
        "ubuntu",
        "debian",
        "curl",
        "elasticsearch",
        "opensearch",
        "kibana",
        "grafana",
        "prometheus",
        "minio",
        "nats",
        "kafka",
        "zookeeper",
        "pgbouncer",
        "cloud-sql-proxy",
        "jaeger",
        "localstack",
        "mailhog",
        "qdrant",
        "clickhouse-server",
        "python",
        "node",
    }
)
_EXPORTER = re.compile(r"-exporter$|^exporter-")


def stock_infrastructure(image: str | None) -> str | None:
    """The infrastructure an image reference names (``postgres:16`` → ``postgres``), or None."""
    if not image:
        return None
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    last = last.split(":", 1)[0].lower()
    if last in STOCK_INFRASTRUCTURE or _EXPORTER.search(last):
        return last
    return None


# The readiness check each kind of stock image answers (its own tool, not an HTTP route).
_READINESS = {
    (
        "postgres",
        "postgresql",
        "postgis",
        "timescaledb",
    ): "`exec: {command: [pg_isready, -U, postgres]}`",
    ("mysql", "mariadb"): "`exec: {command: [mysqladmin, ping, -h, 127.0.0.1]}`",
    ("redis", "redis-stack", "valkey", "keydb"): "`exec: {command: [redis-cli, ping]}`",
    (
        "mongo",
        "mongodb",
    ): "`exec: {command: [mongosh, --quiet, --eval, \"db.adminCommand('ping')\"]}`",
    ("rabbitmq",): "`exec: {command: [rabbitmq-diagnostics, -q, check_port_connectivity]}`",
}


def readiness_check_for(stock: str) -> str:
    """How to write the readiness probe of a stock image (a tcpSocket where nothing better)."""
    for names, check in _READINESS.items():
        if stock in names:
            return check
    return "`tcpSocket: {port: <its port>}` (or the health endpoint its documentation gives)"
