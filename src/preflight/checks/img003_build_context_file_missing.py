"""IMG003 build-context-file-missing: a Dockerfile step needs a file the build cannot give it.

The facts come from ``model.buildcontext``: the build context of each Dockerfile (named by a
compose service, a CI/Makefile/skaffold build, or the Dockerfile at the root), the
.dockerignore that filters it, and what each step has copied into the image so far. A COPY of a
file the context leaves out or lacks fails the build at that COPY; an install step that builds
the project fails inside the build backend when the readme or license it reads, or the package
it looks for, is not there yet; `uv sync --frozen`/`--locked` fails without its uv.lock.
"""

from __future__ import annotations

from collections.abc import Iterator

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.buildcontext import ContextGap
from preflight.model.graph import Deployment
from preflight.spans import Related

CODE = "IMG003"

_COPY_ERROR = (
    'failed to compute cache key: failed to calculate checksum of ref …: "/{path}": not found'
)
_LOCK_ERROR = (
    "error: Unable to find lockfile at `uv.lock`, but `{flag}` was provided. To create a "
    "lockfile, run `uv lock` or `uv sync` without the flag."
)
_FILE_ERRORS = {
    ("hatchling", "readme"): "OSError: Readme file does not exist: {name}",
    ("hatchling", "license"): "OSError: License file does not exist: {name}",
    ("poetry-core", "readme"): "Readme path `{image}` does not exist",
    ("Poetry", "readme"): "The current project could not be installed: Readme path `{image}` "
    "does not exist",
    ("hatchling", "package"): "ValueError: Unable to determine which files to ship inside the "
    "wheel using the following heuristics",
    ("poetry-core", "package"): "No file/folder found for package {project}",
    ("Poetry", "package"): "The current project could not be installed: No file/folder found "
    "for package {project}",
}


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    report = graph.files.build_context
    if report is None:
        return
    for span, why in report.unsure:
        ctx.silent(span, why)
    seen: set[tuple[str, str, str, int]] = set()
    # what one install step lacks because it runs too early: one finding, every file named
    too_early: dict[tuple[str, int], list[ContextGap]] = {}
    for gap in report.gaps:
        key = (gap.kind, gap.needed, gap.step.path, gap.step.line)
        if key in seen:
            continue
        seen.add(key)
        if gap.kind == "copy-source":
            yield _copy_source(gap, ctx)
        elif gap.kind == "lock":
            yield _lock(gap, ctx)
        elif gap.state == "not-copied":
            too_early.setdefault((gap.step.path, gap.step.line), []).append(gap)
        else:
            yield _build_file(gap, ctx)
    for gaps in too_early.values():
        yield _not_copied(gaps, ctx)


def _short(headline: str, shorter: str) -> str:
    """The headline, or a shorter one when names make it long (headlines stay ≤ 80)."""
    return headline if len(headline) <= 80 else shorter[:80]


def _where(gap: ContextGap) -> str:
    context = gap.context
    return f"the build context (`{context.directory or '.'}`: {context.why})"


def _copy_source(gap: ContextGap, ctx: RuleContext) -> Finding:
    error = _COPY_ERROR.format(path=gap.needed)
    step = Related(gap.step, f"`{gap.step_text}` copies `{gap.needed}` here")
    if gap.state == "excluded":
        assert gap.pattern is not None and gap.context.ignore is not None
        ignore = gap.context.ignore.path
        return ctx.report(
            f"`{gap.pattern.written}` in {ignore} leaves `{gap.needed}` out of {_where(gap)}, "
            f"but {gap.dockerfile}:{gap.step.line} copies it: the build stops at that "
            f"{gap.reader} with `{error}`.",
            gap.pattern.span,
            (step,),
            f"Add `!{gap.needed}` below `{gap.pattern.written}` in {ignore}, or stop copying "
            f"`{gap.needed}` in {gap.dockerfile}.",
            headline=_short(
                f"`{gap.pattern.written}` keeps `{gap.needed}` out, but it is copied",
                ".dockerignore keeps a file out of the build context, but it is copied",
            ),
        )
    return ctx.report(
        f"`{gap.step_text}` copies `{gap.needed}`, but {_where(gap)} has no "
        f"`{gap.needed}` (nothing in the repository makes it): the build stops here with "
        f"`{error}`.",
        gap.step,
        (),
        f"Commit `{gap.needed}` at `{gap.context.repo_path(gap.needed)}`, or fix the path "
        "(it is relative to the build context, not to the Dockerfile).",
        headline=_short(
            f"`{gap.needed}` is not in the build context", "a copied file is not in the context"
        ),
    )


def _lock(gap: ContextGap, ctx: RuleContext) -> Finding:
    flag = "--locked" if "--locked" in gap.step_text else "--frozen"
    error = _LOCK_ERROR.format(flag=flag)
    reads = Related(gap.step, f"{gap.step_text} reads uv.lock here")
    if gap.state == "excluded":
        assert gap.pattern is not None and gap.context.ignore is not None
        ignore = gap.context.ignore.path
        return ctx.report(
            f"`{gap.pattern.written}` in {ignore} leaves `{gap.needed}` out of {_where(gap)}, "
            f"but {gap.step_text} at {gap.dockerfile}:{gap.step.line} refuses to run without "
            f"it: the build fails with `{error}`",
            gap.pattern.span,
            (reads,),
            f"Add `!{gap.needed}` below `{gap.pattern.written}` in {ignore}.",
            headline=_short(
                f"`{gap.pattern.written}` keeps uv.lock out, but {gap.step_text} needs it",
                f".dockerignore keeps uv.lock out, but {gap.step_text} needs it",
            ),
        )
    later = (
        (Related(gap.copied_later, "uv.lock is copied only here, after the install"),)
        if gap.copied_later is not None
        else ()
    )
    missing = (
        f"{_where(gap)} has no uv.lock"
        if gap.state == "absent"
        else "no step before it copies uv.lock into the image"
    )
    return ctx.report(
        f"{gap.step_text} refuses to run without uv.lock, but {missing}: the build fails "
        f"with `{error}`",
        gap.step,
        later,
        "Copy uv.lock with pyproject.toml before this step (`COPY pyproject.toml uv.lock ./`), "
        "or bind-mount it (`RUN --mount=type=bind,source=uv.lock,target=uv.lock …`).",
        headline=f"{gap.step_text} runs without uv.lock in the image",
    )


def _build_file(gap: ContextGap, ctx: RuleContext) -> Finding:
    name = gap.needed.rstrip("/")
    error = _FILE_ERRORS.get((gap.reader, gap.kind), "").format(
        name=name, image=f"…/{name}", project=name
    )
    what = {"readme": "the readme", "license": "the license file", "package": "the package"}[
        gap.kind
    ]
    reads = (
        f"{gap.reader} reads {what} `{name}` pyproject.toml names"
        if gap.kind != "package"
        else f"{gap.reader} looks for the package `{name}` named after the project"
    )
    related: list[Related] = []
    if gap.declared is not None:
        related.append(Related(gap.declared, f"{what} is named here"))
    if gap.state == "excluded":
        assert gap.pattern is not None and gap.context.ignore is not None
        ignore = gap.context.ignore.path
        related.insert(0, Related(gap.step, f"{gap.step_text} builds the project here"))
        return ctx.report(
            f"`{gap.pattern.written}` in {ignore} leaves `{name}` out of {_where(gap)}, but "
            f"{gap.step_text} at {gap.dockerfile}:{gap.step.line} builds the project, and "
            f"{reads}: the build fails with `{error}`.",
            gap.pattern.span,
            tuple(related),
            f"Add `!{name}` below `{gap.pattern.written}` in {ignore}.",
            headline=_short(
                f"`{gap.pattern.written}` keeps `{name}` out, but {gap.reader} reads it",
                f".dockerignore keeps `{name}` out, but {gap.reader} reads it",
            ),
        )
    raise AssertionError(gap.state)  # not-copied gaps go to _not_copied


def _not_copied(gaps: list[ContextGap], ctx: RuleContext) -> Finding:
    order = {"readme": 0, "license": 1, "package": 2}
    gaps = sorted(gaps, key=lambda g: order.get(g.kind, 3))
    first = gaps[0]
    names = [g.needed.rstrip("/") for g in gaps]
    error = _FILE_ERRORS.get((first.reader, first.kind), "").format(
        name=names[0], image=f"…/{names[0]}", project=names[0]
    )
    reads = " and ".join(
        f"looks for the package `{g.needed.rstrip('/')}` named after the project"
        if g.kind == "package"
        else f"reads the {g.kind} `{g.needed}` pyproject.toml names"
        for g in gaps
    )
    related: list[Related] = []
    for gap in gaps:
        name = gap.needed.rstrip("/")
        if gap.declared is not None:
            related.append(Related(gap.declared, f"the {gap.kind} `{name}` is named here"))
        if gap.copied_later is not None and all(r.span != gap.copied_later for r in related):
            related.append(Related(gap.copied_later, f"`{name}` is copied only here, after it"))
    step = first.step_text
    step_fix = (
        "run `uv sync --no-install-project` here and `uv sync` again after the source is copied"
        if step.startswith("`uv")
        else "run `poetry install --no-root` here and `poetry install` again after the source "
        "is copied"
        if step.startswith("`poetry")
        else "install only the dependencies here and the project after the source is copied"
    )
    quoted = [f"`{n}`" for n in names]
    shown = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    return ctx.report(
        f"{step} builds the project, and {first.reader} {reads}, but no step before it copies "
        f"{shown} into the image: the build fails with `{error}`.",
        first.step,
        tuple(related),
        f"Copy {shown} before this step, or {step_fix}.",
        headline=_short(
            f"{step} runs before {shown} {'is' if len(names) == 1 else 'are'} copied",
            f"{step} runs before the files it builds from are copied",
        ),
    )


RULE = Rule(
    code=CODE,
    name="build-context-file-missing",
    severity=Severity.ERROR,
    summary="A Dockerfile step needs a file that .dockerignore, the context or the step order "
    "keeps out of the image.",
    check=check,
)
