"""ENV001 setting-not-provided: a required setting has no provider in the container."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from preflight.checks import _env
from preflight.checks.rule import Rule
from preflight.findings import (
    Applicability,
    Autofix,
    Edit,
    Finding,
    RuleContext,
    Severity,
    YamlValue,
)
from preflight.model.graph import Deployment
from preflight.model.project import ContainerRun
from preflight.model.settings import Defined, Setting
from preflight.spans import Related


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    project = graph.files
    known = _env.known(graph)
    for checked in _env.containers(graph):
        container = checked.serving.run.container
        if checked.env.unknown:
            ctx.silent(container.span, f"{checked.serving.label}: {checked.env.unknown[0]}")
            continue
        for setting in checked.settings:
            if not setting.required or checked.env.provides(setting):
                continue
            cls = setting.cls
            if cls is not None and cls.secrets_dir and checked.env.secret_volume:
                ctx.silent(container.span, f"{setting.owner} may come from a mounted Secret volume")
                continue
            if cls is not None and any(
                posixpath.join(checked.root, name).lstrip("/") in project.all_paths
                for name in cls.env_file
            ):
                ctx.silent(container.span, f"{setting.owner} may come from the class's env_file")
                continue
            if setting.env_file is not None:
                ctx.silent(container.span, f"{setting.owner} may come from {setting.env_file}")
                continue
            names = " or ".join(
                f"`{n if setting.case_sensitive else n.upper()}`" for n in setting.env_names
            )
            yield ctx.report(
                f"{checked.serving.label} runs an app that requires {names} "
                f"({setting.derivation}{f' of `{cls.name}`' if cls else ''}), but nothing in "
                "the container's "
                f"environment provides it: the pod crashes at start with {_failure(setting)}.",
                container.span,
                (Related(setting.span, f"{setting.owner} is required here"),),
                f"Add `- name: {setting.display_name}` to the container's env (from a Secret with "
                f"`valueFrom.secretKeyRef` if it is sensitive), or {_optional(setting)}.",
                headline=f"Required setting {names} is not provided",
                autofix=_from_the_secret(known, checked.serving.run, setting),
            )


def _from_the_secret(known: Defined, run: ContainerRun, setting: Setting) -> Autofix | None:
    """An env entry reading the variable from the one Secret that holds it (a key named like
    the variable, else one alike but for case and `-`/`_`): unsafe, that the Secret is meant
    for this container is a guess. None when no Secret, several (or a ConfigMap too) hold it,
    or a Secret's keys are unknown (it may hold it as well)."""
    if run.unmerged_patches is not None:
        return None  # a kustomize patch preflight does not merge may add it already
    tables = [*known.secrets.values(), *known.config_maps.values()]
    if any(keys is None for keys in tables):
        return None
    names = [n if setting.case_sensitive else n.upper() for n in setting.env_names]
    for same in (_same, _alike):
        found = [
            (kind, owner, key, name)
            for kind, table in (("Secret", known.secrets), ("ConfigMap", known.config_maps))
            for owner, keys in table.items()
            for key in keys or ()
            for name in names
            if same(key, name)
        ]
        if found:
            break
    if len(found) != 1 or found[0][0] != "Secret":
        return None
    _, secret, key, name = found[0]
    container = run.container
    entry: dict[str, YamlValue] = {
        "name": name,
        "valueFrom": {"secretKeyRef": {"name": secret, "key": key}},
    }
    return Autofix(
        Applicability.UNSAFE,
        f"Add env `{name}` from Secret `{secret}`" + (f" key `{key}`" if key != name else ""),
        (
            Edit.yaml_add(
                container.span.path,
                container.span.line,
                container.span.col,
                "env",
                entry,
                item=True,
            ),
        ),
    )


def _same(key: str, name: str) -> bool:
    return key == name


def _alike(key: str, name: str) -> bool:
    return key.lower().replace("-", "_") == name.lower().replace("-", "_")


def _failure(setting: Setting) -> str:
    """What the pod's log says when the variable is missing, per reader."""
    name = setting.display_name
    if setting.reader == "os.environ":
        return f"`KeyError: '{name}'`"
    if setting.reader == "django-environ":
        return f"`ImproperlyConfigured: Set the {name} environment variable`"
    if setting.reader == "decouple":
        return f"`UndefinedValueError: {name} not found`"
    if setting.reader == "list":
        return "the code's own check of its required variables"
    return "`Field required [type=missing]`"


def _optional(setting: Setting) -> str:
    """How to make the read optional, in the form the code uses."""
    name = setting.display_name
    if setting.reader == "os.environ":
        return f'read it with a default (`os.environ.get("{name}", …)`)'
    if setting.reader in ("django-environ", "decouple") and setting.text.endswith(")"):
        call = setting.text[:-1]
        separator = "" if call.endswith("(") else ", "
        return f"give the read a default (`{call}{separator}default=…)`)"
    if setting.reader == "list":
        return "drop it from the list if the app can start without it"
    return "give the field a default"


RULE = Rule(
    code="ENV001",
    name="setting-not-provided",
    severity=Severity.ERROR,
    summary="A required setting of the app a container runs is missing from its environment.",
    check=check,
)
