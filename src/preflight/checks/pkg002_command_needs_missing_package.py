"""PKG002 command-needs-missing-package: the server is installed, something its command names
is not.

`gunicorn -k uvicorn_worker.UvicornWorker` without uvicorn-worker, `-k gevent` without
gevent, `uvicorn --loop uvloop` / `--http httptools` / `--ws websockets` with plain `uvicorn`
(not `uvicorn[standard]`), `uvicorn --log-config logging.yaml` without PyYAML: the image
builds, and the server dies at start on the import (`ModuleNotFoundError`, gunicorn's
`Error: class uri 'uvicorn_worker.UvicornWorker' invalid or not found`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from preflight.checks._fixes import add_extra, declare
from preflight.checks.rule import Rule
from preflight.findings import Autofix, Finding, RuleContext, Severity
from preflight.knowledge.executables import executable_providers
from preflight.knowledge.servers import UVICORN_OPTION_PACKAGES, WORKER_CLASSES, YAML_LOG_CONFIG
from preflight.model.graph import Deployment
from preflight.model.project import Environment
from preflight.model.serving import Served
from preflight.spans import Related, Span

CODE = "PKG002"


@dataclass(frozen=True, slots=True)
class _Need:
    dist: str  # the distribution the command needs (normalised)
    what: str  # "the `gevent` worker (`-k gevent`)", "`--loop uvloop`"
    short: str  # for the headline: "`gevent`", "`--loop uvloop`"
    span: Span  # where the command names it
    fix: str  # what to depend on: "uvicorn-worker", "uvicorn[standard]"


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    reported: set[tuple[str, int, int, str]] = set()
    for unit in graph.served:
        if unit.kind == "image" and (unit.deployed_by or unit.overridden_by):
            continue  # judged where it is deployed (or its CMD is not what runs here)
        needs = list(_needs(unit))
        if not needs:
            continue
        environment = unit.environment
        if environment is None or not environment.complete:
            why = (
                "no image linked"
                if environment is None
                else f"cannot tell everything the image installs: {environment.unknown[0][1]}"
            )
            ctx.silent(unit.span, f"{unit.label}: {why}")
            continue
        installed = environment.installed()
        server = unit.command.server
        if not executable_providers(server) & installed:
            ctx.silent(unit.span, f"{unit.label}: `{server}` itself is not installed (PKG001)")
            continue
        for need in needs:
            if need.dist in installed or need.dist in unit.versions:
                continue  # installed, or a lock file for the service lists it
            if any(need.dist in package for package in environment.system_packages):
                continue  # python3-gevent, py3-yaml: from the system's packages
            key = (need.span.path, need.span.line, need.span.col, need.dist)
            if key in reported:
                continue
            reported.add(key)
            yield _finding(ctx, unit, need, graph)


def _needs(unit: Served) -> Iterator[_Need]:
    """What the command names that needs a distribution of its own."""
    command = unit.command
    if command.server == "gunicorn":
        worker = unit.worker
        if worker is None or worker.name is None:
            return
        known = WORKER_CLASSES.get(worker.name)
        if known is None or known.needs is None:
            return
        span = unit.option_span(worker.word) if worker.word else worker.at or unit.span
        fix = "uvicorn-worker" if known.needs == "uvicorn-worker" else known.needs
        what = f"the `{worker.name}` worker ({worker.how})"
        yield _Need(known.needs, what, f"`-k {worker.name}`", span, fix)
    elif command.server == "uvicorn":
        args = list(command.args)
        for index, word in enumerate(args):
            option, eq, inline = word.partition("=")
            if not option.startswith("--"):
                continue
            value = inline if eq else (args[index + 1] if index + 1 < len(args) else "")
            value = value.strip("'\"")
            dist = UVICORN_OPTION_PACKAGES.get((option, value))
            if dist is not None:
                standard = dist in ("uvloop", "httptools", "websockets")
                fix = "uvicorn[standard]" if standard else dist
                given = f"`{option} {value}`"
                yield _Need(dist, given, given, unit.option_span(word), fix)
            elif option == "--log-config" and value.endswith(YAML_LOG_CONFIG):
                what = f"`--log-config {value}` (uvicorn reads YAML with PyYAML)"
                short = f"`--log-config {value}`"
                yield _Need("pyyaml", what, short, unit.option_span(word), "PyYAML")


def _finding(ctx: RuleContext, unit: Served, need: _Need, graph: Deployment) -> Finding:
    environment = unit.environment
    assert environment is not None
    server = unit.command.server
    where = unit.label if unit.kind != "image" else f"The CMD of {unit.dockerfile}"
    message = (
        f"{where} runs `{server}` with {need.what}, which needs `{_shown(need.dist)}`, but "
        f"{environment.description} does not install it"
    )
    related: list[Related] = []
    if need.span.path != unit.span.path or need.span.line != unit.span.line:
        related.append(Related(unit.span, f"the command that starts it ({unit.label})"))
    elsewhere = graph.declarations.get(need.dist, [])
    if elsewhere:
        message += f" (`{need.dist}` is declared only in {elsewhere[0][1]})"
    for span, declared in elsewhere:
        related.append(
            Related(span, f"declared here, in {declared}, which the image does not install")
        )
    target = environment.where_to_declare()
    for project in environment.runtime_of[:1]:
        related.append(Related(project.runtime_span, "the dependencies the image installs"))
    if not environment.runtime_of and target is not None and " " not in target:
        related.append(Related(Span(target, 1), "the requirements installed for it"))
    for span in environment.install_spans[:2]:
        related.append(Related(span, "what the image installs"))
    if need.fix == "uvicorn[standard]":
        fix = f"Depend on `uvicorn[standard]` (not plain `uvicorn`) in {target or 'the image'}."
    elif target:
        fix = f"Add `{need.fix}` to {target}."
    else:
        fix = f"Install `{need.fix}` where the server runs."
    return ctx.report(
        message + ": the server fails at start.",
        need.span,
        tuple(related),
        fix,
        headline=f"{need.short} needs `{_shown(need.dist)}`, which is not installed",
        autofix=_autofix(environment, need, graph),
    )


def _autofix(environment: Environment, need: _Need, graph: Deployment) -> Autofix | None:
    """`uvicorn[standard]`: the extra added to the uvicorn requirement as written (safe);
    another package: declared where the image installs from (unsafe, as PKG001's)."""
    locks = graph.files.locks
    if not need.fix.endswith("[standard]"):
        return declare(environment, need.fix, graph.files)
    base = need.fix.split("[", 1)[0]
    if environment.runtime_of:
        declared = environment.runtime_of[0].runtime
    else:
        target = environment.where_to_declare()
        listed = graph.files.requirements.get(target) if target else None
        declared = listed.requirements if listed is not None else ()
    found = next((r for r in declared if r.name == base), None)
    if found is None:
        return None
    return add_extra(found.raw, found.span, "standard", bool(locks))


def _shown(dist: str) -> str:
    return {"pyyaml": "PyYAML"}.get(dist, dist)


RULE = Rule(
    code=CODE,
    name="command-needs-missing-package",
    severity=Severity.ERROR,
    summary="The server is installed, but a worker or option its command names needs a package "
    "that is not.",
    check=check,
)
