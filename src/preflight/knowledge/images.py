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

from preflight.knowledge.executables import image_basename

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
        "gce-proxy",  # the Cloud SQL Auth proxy v1 (gcr.io/cloudsql-docker/gce-proxy)
        "pgbouncer",
        "mailhog",  # development mail catchers (cookiecutter-django's compose and manifests)
        "mailpit",
        "busybox",
        "alpine",
        "curl",
        "defaultbackend",  # the ingress controller's default backend
        "defaultbackend-amd64",
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
# Docker Hub's official ("library") images: the only images a reference without a registry
# host or an account (`name:tag`) can be pulled as. Any other such name is built locally.
OFFICIAL_IMAGES = PUBLIC_IMAGES | frozenset(
    [
        "adminer",
        "aerospike",
        "almalinux",
        "alt",
        "amazoncorretto",
        "amazonlinux",
        "api-firewall",
        "arangodb",
        "archlinux",
        "backdrop",
        "bash",
        "bonita",
        "buildpack-deps",
        "busybox",
        "caddy",
        "cassandra",
        "centos",
        "chronograf",
        "cirros",
        "clearlinux",
        "clickhouse",
        "clojure",
        "composer",
        "consul",
        "convertigo",
        "couchbase",
        "couchdb",
        "crate",
        "dart",
        "debian",
        "docker",
        "drupal",
        "eclipse-mosquitto",
        "eclipse-temurin",
        "eggdrop",
        "elasticsearch",
        "elixir",
        "emqx",
        "erlang",
        "fedora",
        "flink",
        "fluentd",
        "friendica",
        "gazebo",
        "gcc",
        "geonetwork",
        "ghost",
        "golang",
        "gradle",
        "groovy",
        "haproxy",
        "haskell",
        "haxe",
        "hello-world",
        "hitch",
        "httpd",
        "hylang",
        "ibm-semeru-runtimes",
        "ibmjava",
        "influxdb",
        "irssi",
        "jenkins",
        "jetty",
        "joomla",
        "jruby",
        "julia",
        "kapacitor",
        "kibana",
        "kong",
        "krakend",
        "lightstreamer",
        "liquibase",
        "logstash",
        "mageia",
        "mariadb",
        "matomo",
        "maven",
        "mediawiki",
        "memcached",
        "mongo",
        "mongo-express",
        "monica",
        "mono",
        "mysql",
        "nats",
        "neo4j",
        "neurodebian",
        "nextcloud",
        "nginx",
        "node",
        "notary",
        "odoo",
        "open-liberty",
        "openjdk",
        "oraclelinux",
        "orientdb",
        "owncloud",
        "percona",
        "perl",
        "photon",
        "php",
        "php-zendserver",
        "phpmyadmin",
        "plone",
        "postfixadmin",
        "postgres",
        "pypy",
        "python",
        "r-base",
        "rabbitmq",
        "rakudo-star",
        "redis",
        "redmine",
        "registry",
        "rethinkdb",
        "rocket.chat",
        "rockylinux",
        "ros",
        "ruby",
        "rust",
        "sapmachine",
        "satosa",
        "sentry",
        "silverpeas",
        "solr",
        "sonarqube",
        "spiped",
        "storm",
        "swift",
        "swipl",
        "teamspeak",
        "telegraf",
        "tomcat",
        "tomee",
        "traefik",
        "ubuntu",
        "unit",
        "varnish",
        "vault",
        "websphere-liberty",
        "wordpress",
        "xwiki",
        "yourls",
        "znc",
        "zookeeper",
    ]
)
_EXPORTER = re.compile(r"-exporter$|^exporter-")


def stock_infrastructure(image: str | None) -> str | None:
    """The infrastructure an image reference names (``postgres:16`` → ``postgres``), or None."""
    if not image:
        return None
    last = image_basename(image)
    if last in STOCK_INFRASTRUCTURE or _EXPORTER.search(last):
        return last
    # a vendor's build names its version (`registry.redhat.io/rhel9/postgresql-16`, `redis-7`)
    unversioned = _VERSION_SUFFIX.sub("", last)
    if unversioned != last and unversioned in STOCK_INFRASTRUCTURE:
        return unversioned
    return None


_VERSION_SUFFIX = re.compile(r"-\d+(?:[.-]\d+)*$")


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


# An image named with one of these words is a JavaScript front end's (`vue-shop`, `react-builds`).
_JS_FRAMEWORKS = frozenset({"vue", "vuejs", "react", "angular", "svelte", "nuxt", "nextjs"})


def javascript_framework(image: str | None) -> bool:
    """The image reference's name carries a JavaScript framework's name as a word."""
    if not image:
        return False
    name = image_basename(image)
    return bool(_JS_FRAMEWORKS.intersection(re.split(r"[-_.]", name)))
