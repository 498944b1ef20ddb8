"""``preflight graph``: what preflight believes the deployment is, and what it could not join.

The answer to "why didn't preflight check my Deployment?": each Kubernetes container with the
image and Dockerfile it was tied to (and the evidence), the command, server, app and routes,
the settings that app reads and who provides each one, the probes and the routes they reach;
each command the Dockerfiles, compose files and Procfiles start; each database engine and the
URLs that reach it; and every link that could not be made, with the reason. Values are never
shown: a provider is named by where it is (Secret and key, file and line), a URL by its scheme.

Three forms: ``text`` (fits 80 columns), ``json`` (versioned like the findings schema) and
``mermaid`` (a flowchart to paste into a Markdown file).
"""

from __future__ import annotations

import json
from typing import Any

from preflight import __version__
from preflight.model.graph import ContainerNode, Deployment
from preflight.redact import clean_text

SCHEMA_VERSION = 1


def describe(graph: Deployment, notes: list[str]) -> dict[str, Any]:
    """The graph as plain data (what every form renders)."""
    files = graph.files
    images = [
        {
            "dockerfile": path,
            "context": image.context or ".",
            "context_evidence": image.context_why,
            "command": list(image.command[0]) if image.command is not None else None,
            "installs_known": image.environment.complete,
        }
        for path, image in sorted(files.images.items())
    ]
    launches = [
        {
            "origin": launch.origin,
            "argv": list(launch.argv),
            "at": _at(launch.span.path, launch.span.line),
            "environment": launch.environment.description if launch.environment else None,
            "unresolved": launch.why_unknown,
        }
        for launch in files.launches
    ]
    workloads: dict[tuple[str, str, str], dict[str, Any]] = {}
    for node in graph.containers:
        run = node.run
        key = (run.manifest, run.workload.kind, run.workload.name or "")
        workload = workloads.setdefault(
            key,
            {
                "kind": run.workload.kind,
                "name": run.workload.name,
                "at": _at(run.manifest, run.workload.span.line),
                "containers": [],
            },
        )
        workload["containers"].append(_container(node))
    databases = []
    if graph.databases is not None:
        for use in graph.databases.uses:
            databases.append(
                {
                    "engine": use.engine.factory,
                    "at": _at(use.module, use.engine.span.line),
                    "service": graph.service_root(use.module) or ".",
                    "urls": [
                        {
                            "from": url.source.where,
                            "at": _at(url.source.span.path, url.source.span.line),
                            "scheme": url.url.scheme,
                            "rewritten": bool(url.rewrites),
                        }
                        for url in use.urls
                    ],
                    "unresolved": use.unresolved,
                }
            )
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": "preflight", "version": __version__},
        "root": files.root,
        "workloads": list(workloads.values()),
        "images": images,
        "launches": launches,
        "apps": [
            {
                "app": f"{item.app.module}:{item.app.name}",
                "started_at": _at(item.span.path, item.span.line),
            }
            for item in graph.launched
        ],
        "databases": databases,
        "helm_charts": _helm(graph),
        "notes": [clean_text(note) for note in notes],
    }


def _helm(graph: Deployment) -> list[dict[str, Any]]:
    """Each chart's images and the Dockerfile each is tied to (its templates are not read)."""
    charts: dict[str, dict[str, Any]] = {}
    for item in graph.files.helm_images:
        chart = charts.setdefault(
            item.chart,
            {"chart": item.chart or ".", "rendered": False, "images": []},
        )
        chart["images"].append(
            {
                "key": item.values.key,
                "ref": clean_text(item.values.ref),
                "at": _at(item.values.span.path, item.values.span.line),
                "dockerfile": item.dockerfile,
                "evidence": item.evidence.how if item.evidence else None,
                "strong": item.evidence.strong if item.evidence else None,
                "unresolved": item.why,
            }
        )
    return list(charts.values())


def _dotted(path: str) -> str:
    """``app/main.py`` → ``app.main`` (how a server command names the module)."""
    module = path[:-3] if path.endswith(".py") else path
    module = module[: -len("/__init__")] if module.endswith("/__init__") else module
    return module.replace("/", ".")


def _at(path: str, line: int) -> str:
    return f"{path}:{line}"


def _container(node: ContainerNode) -> dict[str, Any]:
    run = node.run
    container = run.container
    image: dict[str, Any] = {"ref": container.image}
    if run.dockerfile is not None:
        image["dockerfile"] = run.dockerfile.path
        image["context"] = run.context or "."
        if node.image_evidence is not None:
            image["evidence"] = {
                "how": node.image_evidence.how,
                "strength": "strong" if node.image_evidence.strong else "weak",
            }
    else:
        image["unresolved"] = run.why_unlinked
    server = None
    if node.server_command is not None:
        served = node.server_command
        server = {
            "kind": served.server,
            "target": served.target,
            "factory": served.factory,
            "port": served.port,
            "port_from": served.port_from,
            "started_at": str(node.server_at) if node.server_at is not None else None,
        }
    app = None
    if node.app is not None:
        app = {
            "app": f"{_dotted(node.app.module)}:{node.app.name}",
            "at": _at(node.app.span.path, node.app.span.line),
            "routes": [
                {
                    "methods": list(route.methods),
                    "path": route.path,
                    "at": _at(route.span.path, route.span.line),
                }
                for route in node.app.routes
            ],
            "mounts": list(node.app.mounts),
            "partial": list(node.app.partial),
        }
    settings = []
    for setting in node.settings:
        providers = node.env.provides(setting)
        settings.append(
            {
                "env": setting.display_name,
                "owner": setting.owner.strip("`"),
                "required": setting.required,
                "sensitive": setting.sensitive,
                "at": _at(setting.span.path, setting.span.line),
                "provided_by": [
                    {
                        "kind": provider.kind,
                        "where": provider.where,
                        "at": _at(provider.span.path, provider.span.line),
                    }
                    for provider in providers
                ],
            }
        )
    probes = []
    for probe in container.probes:
        route = None
        if node.app is not None and probe.handler == "httpGet" and probe.path is not None:
            found = node.app.serves(probe.path)
            route = found.path if found is not None else None
        probes.append(
            {
                "kind": probe.kind,
                "handler": probe.handler,
                "path": probe.path,
                "port": probe.port,
                "route": route,
                "at": _at(probe.span.path, probe.span.line),
            }
        )
    return {
        "name": container.name,
        "at": _at(container.span.path, container.span.line),
        "image": image,
        "command": list(run.argv) if run.argv is not None else None,
        "server": server,
        "app": app,
        "unresolved": node.why if node.app is None else None,
        "service": node.root,
        "settings": settings,
        "environment_unknown": list(node.env.unknown),
        "probes": probes,
    }


def render(data: dict[str, Any], form: str, width: int = 80) -> str:
    if form == "json":
        return json.dumps(data, indent=2)
    if form == "mermaid":
        return _mermaid(data)
    return _text(data, width)


def _text(data: dict[str, Any], width: int) -> str:
    out: list[str] = [f"Deployment graph of {data['root']}"]

    def line(indent: int, label: str, text: str) -> None:
        head = " " * indent + (f"{label:<9}" if label else "")
        room = max(20, width - len(head))
        words = text.split(" ")
        current = ""
        first = True
        for word in words:
            if current and len(current) + 1 + len(word) > room:
                out.append((head if first else " " * len(head)) + current)
                first, current = False, word
            else:
                current = f"{current} {word}" if current else word
        out.append((head if first else " " * len(head)) + current)

    for workload in data["workloads"]:
        out.append("")
        out.append(f"{workload['kind']} `{workload['name']}` ({workload['at']})")
        for container in workload["containers"]:
            out.append(f"  container `{container['name']}` ({container['at']})")
            image = container["image"]
            if "dockerfile" in image:
                evidence = image.get("evidence")
                how = f" [{evidence['strength']}: {evidence['how']}]" if evidence else ""
                line(
                    4,
                    "image",
                    f"{image['ref']} ← {image['dockerfile']} (context {image['context']}){how}",
                )
            else:
                line(
                    4, "image", f"{image['ref']} — not tied to a Dockerfile: {image['unresolved']}"
                )
            if container["command"] is not None:
                line(4, "command", " ".join(container["command"]))
            server = container["server"]
            if server is not None:
                line(
                    4,
                    "server",
                    f"{server['kind']} {server['target'] or ''}, port {server['port']} "
                    f"({server['port_from']})"
                    + (f", started by {server['started_at']}" if server["started_at"] else ""),
                )
            app = container["app"]
            if app is not None:
                routes = ", ".join(f"{'/'.join(r['methods'])} {r['path']}" for r in app["routes"])
                partial = f" (partial: {'; '.join(app['partial'])})" if app["partial"] else ""
                line(4, "app", f"{app['app']} ({app['at']}){partial}")
                line(4, "routes", routes or "(none)")
            else:
                line(4, "app", f"— {container['unresolved']}")
            for probe in container["probes"]:
                target = probe["path"] or probe["handler"] or "?"
                reach = (
                    f" → route {probe['route']}"
                    if probe["route"]
                    else " → no such route"
                    if probe["handler"] == "httpGet" and app is not None
                    else ""
                )
                line(4, "probe", f"{probe['kind']} {target} port {probe['port']}{reach}")
            for setting in container["settings"]:
                providers = "; ".join(
                    f"{p['kind']} {p['where']} ({p['at']})".replace("  ", " ")
                    for p in setting["provided_by"]
                )
                need = "required" if setting["required"] else "optional"
                line(
                    4,
                    "setting",
                    f"{setting['env']} ({need}, {setting['owner']}) ← {providers or 'nothing'}",
                )
            for why in container["environment_unknown"]:
                line(4, "unknown", why)
    if data["images"]:
        out.append("")
        out.append("Images built here")
        for image in data["images"]:
            line(
                2,
                "",
                f"{image['dockerfile']} (context {image['context']}: {image['context_evidence']})",
            )
    if data["launches"]:
        out.append("")
        out.append("Commands started")
        for launch in data["launches"]:
            where = launch["environment"] or f"environment unknown: {launch['unresolved']}"
            line(
                2,
                "",
                f"{launch['origin']} ({launch['at']}): {' '.join(launch['argv'])} — in {where}",
            )
    if data["helm_charts"]:
        out.append("")
        out.append("Helm charts (templates not rendered: their containers are not checked)")
        for chart in data["helm_charts"]:
            line(2, "chart", chart["chart"])
            for image in chart["images"]:
                if image["dockerfile"] is None:
                    tied = f"not tied to a Dockerfile: {image['unresolved']}"
                else:
                    strength = "strong" if image["strong"] else "weak"
                    tied = f"← {image['dockerfile']} [{strength}: {image['evidence']}]"
                line(4, image["key"], f"{image['ref']} ({image['at']}) {tied}")
    if data["databases"]:
        out.append("")
        out.append("Databases")
        for use in data["databases"]:
            sources = "; ".join(f"{u['from']} ({u['scheme']})" for u in use["urls"])
            line(
                2,
                "",
                f"{use['engine']} at {use['at']} "
                f"← {sources or use['unresolved'] or 'no URL found'}",
            )
    if data["notes"]:
        out.append("")
        out.append("Not joined, and why")
        for note in data["notes"]:
            line(2, "", note)
    if not data["workloads"] and not data["launches"]:
        out.append("")
        out.append("Nothing deployable found (no Kubernetes workload, Dockerfile command, compose")
        out.append("service or Procfile).")
    return "\n".join(out)


def _mermaid(data: dict[str, Any]) -> str:
    out = ["flowchart LR"]
    ids: dict[str, str] = {}

    def node(label: str) -> str:
        if label not in ids:
            ids[label] = f"n{len(ids)}"
            safe = label.replace('"', "'")
            out.append(f'  {ids[label]}["{safe}"]')
        return ids[label]

    for workload in data["workloads"]:
        w = node(f"{workload['kind']} {workload['name']}")
        for container in workload["containers"]:
            c = node(f"container {workload['name']}/{container['name']}")
            out.append(f"  {w} --> {c}")
            image = container["image"]
            if "dockerfile" in image:
                d = node(f"Dockerfile {image['dockerfile']}")
                evidence = image.get("evidence")
                label = evidence["strength"] if evidence else "image"
                out.append(f"  {c} -- {label} --> {d}")
            if container["app"] is not None:
                a = node(f"app {container['app']['app']}")
                server = container["server"]["kind"] if container["server"] else "runs"
                out.append(f"  {c} -- {server} --> {a}")
            for setting in container["settings"]:
                for provider in setting["provided_by"]:
                    p = node(f"{provider['kind']} {provider['where']}".strip())
                    out.append(f"  {p} -- {setting['env']} --> {c}")
    for use in data["databases"]:
        e = node(f"{use['engine']} {use['at']}")
        for url in use["urls"]:
            s = node(url["from"])
            out.append(f"  {s} -- {url['scheme']} --> {e}")
    return "\n".join(out)
