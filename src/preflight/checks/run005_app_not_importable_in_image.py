"""RUN005 app-not-importable-in-image: the server's `module:attr` cannot be imported where the
image runs it.

uvicorn and gunicorn import the module of their `module:attr` from the directories on
``sys.path`` — the directory they start in (the image's WORKDIR, a Kubernetes ``workingDir``,
compose's ``working_dir``, gunicorn's ``--chdir``), uvicorn's ``--app-dir``, gunicorn's
``--pythonpath``, ``PYTHONPATH`` — and the packages the image installs. The image's file tree
(model/imagetree.py) says whether the module's file is in one of those directories; when the
repository has the module but COPY put it elsewhere, or no COPY brought it, the container exits
at start. When the module is there, the attribute must be too, and gunicorn must be told to
call a factory (`module:create_app()`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from preflight.checks.rule import Rule
from preflight.findings import Finding, RuleContext, Severity
from preflight.model.apps import AppResolver
from preflight.model.graph import Deployment
from preflight.model.imagetree import ImageTree, Opaque, Placed
from preflight.model.serving import Served, dev_path
from preflight.spans import Related, Span

CODE = "RUN005"

_SERVERS = ("uvicorn", "gunicorn")
_MODULE = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*")
_ATTR = re.compile(r"([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)(\(.*\))?")
_ASGI_WORKERS = ("uvicorn", "asgi", "aiohttp", "tornado", "gevent", "eventlet")


@dataclass(frozen=True, slots=True)
class _Problem:
    message: str
    headline: str
    related: tuple[Related, ...]
    fix: str
    anchor: Span | None = None  # where to report it, when not at the command's `module:attr`


def check(graph: Deployment, ctx: RuleContext) -> Iterator[Finding]:
    resolver = AppResolver(graph.files.python, graph.files.python_paths)
    outcomes: dict[tuple[str, int, int], list[tuple[Span, _Problem | None]]] = {}
    for unit in graph.served:
        if unit.command.server not in _SERVERS:
            continue
        if not _judged(unit, ctx):
            continue
        target = (unit.command.target or "").strip().strip("'\"")
        anchor = unit.word_span(target) if target else unit.span
        problem = _problem(unit, graph, resolver, target, ctx)
        if problem is not None and problem.anchor is not None:
            anchor = problem.anchor  # this deploy's own mistake: reported where it is made
        key = (anchor.path, anchor.line, anchor.col)
        outcomes.setdefault(key, []).append((anchor, problem))
    for found in outcomes.values():
        problems = [p for _, p in found]
        first = problems[0]
        if first is None or any(p is None for p in problems):
            continue  # one deploy of the same command can import it: not sure it is wrong
        yield ctx.report(
            first.message, found[0][0], first.related, first.fix, headline=first.headline
        )


def _judged(unit: Served, ctx: RuleContext) -> bool:
    if unit.dockerfile is None or unit.files is None:
        return False  # no image built here: its files are not known
    if unit.alternatives > 1:
        ctx.silent(unit.span, f"{unit.label}: its script starts one of several servers")
        return False
    if unit.kind == "image":
        if unit.overridden_by and not unit.deployed_by:
            ctx.silent(unit.span, f"{unit.overridden_by[0][1]} runs the image with its own command")
            return False
        if dev_path(unit.dockerfile):
            ctx.silent(
                unit.span, f"{unit.dockerfile} is a development image (code is often mounted)"
            )
            return False
        return not unit.deployed_by  # judged where it is deployed, with that environment
    evidence = unit.node.image_evidence if unit.node is not None else None
    if unit.node is not None and (evidence is None or _loose(evidence.how)):
        how = evidence.how if evidence is not None else "nothing ties it"
        ctx.silent(unit.span, f"{unit.label}: its image may not be {unit.dockerfile}'s ({how})")
        return False
    return True


def _loose(how: str) -> bool:
    """A link from a container to a Dockerfile that only a placeholder or a nearby directory
    suggests (a name match, or the only Dockerfile, are taken as the other rules take them)."""
    return "placeholder" in how or "nearest" in how


def _problem(
    unit: Served, graph: Deployment, resolver: AppResolver, target: str, ctx: RuleContext
) -> _Problem | None:
    """What keeps the unit's server from importing its app (None: nothing, or not sure)."""
    assert unit.dockerfile is not None
    tree = graph.image_trees.get(unit.dockerfile)
    image = graph.files.images.get(unit.dockerfile)
    if tree is None or image is None:
        return None
    module_name, colon, attr_text = target.partition(":")
    if not target:
        return None
    if not colon or not _MODULE.fullmatch(module_name):
        ctx.silent(unit.span, f"{unit.label}: `{target}` is not a literal `module:attr`")
        return None
    attr = _ATTR.fullmatch(attr_text.strip())
    if attr is None:
        ctx.silent(unit.span, f"{unit.label}: `{attr_text}` is not an attribute preflight reads")
        return None
    if unit.compose is not None and unit.compose[1].build_target:
        ctx.silent(unit.span, f"{unit.label} builds the stage `{unit.compose[1].build_target}`")
        return None
    found = _search_path(unit, tree, ctx)
    if found is None:
        return None
    cwd, dirs, how = found
    why = _installed(unit, graph, tree, module_name)
    if why is not None:
        installed = _installed_module(unit, graph, resolver, tree, module_name)
        if installed is not None:  # the project's own module, installed: its names still count
            return _attribute_problem(unit, graph, tree, target, module_name, attr, installed, ctx)
        ctx.silent(unit.span, f"{unit.label}: {why}")
        return None
    relative = module_name.replace(".", "/")
    located: tuple[str, Placed] | None = None
    for directory in dirs:
        for candidate in (f"{relative}.py", f"{relative}/__init__.py"):
            path = posixpath.normpath(posixpath.join(directory, candidate))
            state, by = tree.presence(path)
            if state == "unknown":
                assert isinstance(by, Opaque)
                ctx.silent(unit.span, f"{unit.label}: {path} may be in the image: {by.why}")
                return None
            if state == "present" and located is None:
                assert isinstance(by, Placed)
                located = (path, by)
    if located is not None:
        hidden = _hidden_by_volume(unit, tree, target, module_name, located)
        if hidden is not None:
            return hidden
    for directory in dirs:
        volume = _volume_over(unit, directory)
        if volume is not None:
            ctx.silent(
                unit.span, f"{unit.label}: {volume} is mounted where it imports from ({directory})"
            )
            return None
    if located is not None:
        image_path, _ = located
        found_at = (image_path, tree.repo_path(image_path))
        return _attribute_problem(unit, graph, tree, target, module_name, attr, found_at, ctx)
    return _missing_module(unit, tree, resolver, target, module_name, cwd, dirs, how, ctx)


def _search_path(
    unit: Served, tree: ImageTree, ctx: RuleContext
) -> tuple[str, list[str], list[str]] | None:
    """The directory the server starts in, the directories it imports from, and what put each
    there (for the message); None when one of them is not known."""
    if unit.moves_dir is not None:
        ctx.silent(unit.span, f"{unit.label}: {unit.moves_dir} may change where it imports from")
        return None
    cwd = unit.cwd
    how: list[str] = []
    if unit.compose is not None and unit.compose[1].working_dir:
        cwd = unit.compose[1].working_dir
        how.append(f"`working_dir: {cwd}`")
    elif unit.node is not None and unit.node.run.container.working_dir:
        how.append(f"`workingDir: {cwd}`")
    elif tree.workdir_span is not None:
        how.append(f"WORKDIR {tree.workdir}")
    else:
        how.append("no WORKDIR: /")
    if cwd is None or "$" in cwd:
        ctx.silent(unit.span, f"{unit.label}: the directory it starts in is not known")
        return None
    if unit.env.open is not None and not unit.env.open.startswith("envFrom Secret"):
        # a Secret holds credentials, not PYTHONPATH; a ConfigMap or an env_file may set it
        ctx.silent(unit.span, f"{unit.label}: PYTHONPATH may be set: {unit.env.open}")
        return None
    dirs = [cwd]
    command = unit.command
    args = list(command.args)
    if command.server == "uvicorn":
        is_set, app_dir = unit.env.get("UVICORN_APP_DIR")
        if is_set and app_dir is None:
            ctx.silent(unit.span, f"{unit.label}: UVICORN_APP_DIR is set to an unknown value")
            return None
        app_dir = command.chdir or app_dir
        if app_dir:
            dirs.append(posixpath.join(cwd, app_dir))
            how.append(f"`--app-dir {app_dir}`")
    else:
        if _gunicorn_config_may_move(unit, tree, cwd, args, ctx):
            return None
        chdir = command.chdir
        if chdir:
            cwd = posixpath.join(cwd, chdir)
            dirs.append(cwd)
            how.append(f"`--chdir {chdir}`")
        for index, word in enumerate(args):
            name, eq, inline = word.partition("=")
            if name != "--pythonpath":
                continue
            value = inline if eq else (args[index + 1] if index + 1 < len(args) else "")
            for entry in value.split(","):
                if entry:
                    dirs.append(posixpath.join(cwd, entry))
            how.append(f"`--pythonpath {value}`")
    is_set, pythonpath = unit.env.get("PYTHONPATH")
    if is_set:
        if pythonpath is None:
            ctx.silent(
                unit.span, f"{unit.label}: PYTHONPATH is set to a value preflight cannot read"
            )
            return None
        for entry in pythonpath.split(":"):
            if entry:
                dirs.append(posixpath.join(cwd, entry))
        how.append(f"PYTHONPATH={pythonpath}")
    if any("$" in d for d in dirs):
        ctx.silent(unit.span, f"{unit.label}: a directory it imports from depends on a variable")
        return None
    return cwd, [posixpath.normpath(d) for d in dict.fromkeys(dirs)], how


def _gunicorn_config_may_move(
    unit: Served, tree: ImageTree, cwd: str, args: list[str], ctx: RuleContext
) -> bool:
    """gunicorn reads `--chdir`/`--pythonpath` from GUNICORN_CMD_ARGS and its config file too."""
    is_set, env_args = unit.env.get("GUNICORN_CMD_ARGS")
    if is_set and (env_args is None or "--chdir" in env_args or "--pythonpath" in env_args):
        ctx.silent(unit.span, f"{unit.label}: GUNICORN_CMD_ARGS may move where it imports from")
        return True
    if any(w.partition("=")[0] in ("-c", "--config") or w.startswith("-c") for w in args):
        ctx.silent(unit.span, f"{unit.label}: its `--config` file may set `chdir`/`pythonpath`")
        return True
    state, _ = tree.presence(posixpath.join(cwd, "gunicorn.conf.py"))
    if state != "absent":
        ctx.silent(unit.span, f"{unit.label}: a gunicorn.conf.py may set `chdir`/`pythonpath`")
        return True
    return False


def _installed(unit: Served, graph: Deployment, tree: ImageTree, module: str) -> str | None:
    """Why the module may be importable from the packages the image installs, or None."""
    assert unit.dockerfile is not None
    image = graph.files.images[unit.dockerfile]
    environment = image.environment
    if environment.unknown:
        span, why = environment.unknown[0]
        return f"what the image installs is not fully known ({why}, {span.path}:{span.line})"
    if environment.projects:
        return f"the image installs the project {environment.projects[0].path}"
    if tree.local_installs:
        span = tree.local_installs[0]
        return f"the image may install its code as a package ({span.path}:{span.line})"
    top = module.split(".")[0].lower().replace("_", "-")
    if top in environment.distributions or top in environment.base_bundles:
        return f"the image installs a distribution named `{top}`"
    return None


def _installed_module(
    unit: Served, graph: Deployment, resolver: AppResolver, tree: ImageTree, module: str
) -> tuple[str, str] | None:
    """(where it is imported from, its repository file) when the module is one of the files of
    the project the image installs (``pip install .`` of the pyproject beside it)."""
    assert unit.dockerfile is not None
    environment = graph.files.images[unit.dockerfile].environment
    if environment.unknown or len(environment.projects) != 1:
        return None
    repo_file = resolver.module_file(module, tree.context)
    root = posixpath.dirname(environment.projects[0].path)
    if repo_file is None or not repo_file.startswith(f"{root}/" if root else ""):
        return None
    return f"the installed project {environment.projects[0].path}", repo_file


def _hidden_by_volume(
    unit: Served, tree: ImageTree, target: str, module_name: str, located: tuple[str, Placed]
) -> _Problem | None:
    """A compose bind mount over the module whose source the repository does not have: Docker
    creates an empty directory for a missing bind source, and the mount hides the image's code.
    (A named volume starts as a copy of the image's files; a source the repository has is the
    same code, mounted for development.)"""
    if unit.node is not None:
        return _hidden_by_empty_dir(unit, target, module_name, located)
    if unit.compose is None or tree.repo is None:
        return None
    compose, service = unit.compose
    image_path, placed = located
    base = posixpath.dirname(compose.path)
    for source, mount, span in service.volumes:
        if mount == "?" or not mount.startswith("/"):
            continue
        mount = posixpath.normpath(mount)
        if not (image_path == mount or image_path.startswith(mount.rstrip("/") + "/")):
            continue
        if not source.startswith(("./", "../")) and source != ".":
            return None  # a named volume, an absolute host path, `~`: not known here
        repo = posixpath.normpath(posixpath.join(base, source))
        if repo.startswith("..") or repo == ".":
            return None
        if tree.repo.exists(repo):
            return None  # the repository's own code, mounted over the image's
        server = unit.command.server
        message = (
            f"`{server} {target}` imports `{module_name}` from {image_path}, but compose service "
            f"`{service.name}` mounts `{source}` over {mount}, and {compose.path} resolves that "
            f"to {repo}, which the repository does not have: Docker creates an empty directory "
            f"for a missing bind source, and it hides the code COPY put in {mount}. The "
            f"container exits at start: {_import_error(server, module_name)}."
        )
        related = (
            Related(unit.word_span(target), f"`{target}`: the app it cannot import"),
            Related(placed.span, f"puts the code at {image_path}"),
        )
        fix = (
            f"Mount the directory that holds the code (a path relative to {compose.path}), or "
            "drop the mount and use the code the image holds."
        )
        headline = f"`{source}` does not exist: the mount hides the image's `{module_name}`"
        return _Problem(message, headline[:80], related, fix, anchor=span)
    return None


def _hidden_by_empty_dir(
    unit: Served, target: str, module_name: str, located: tuple[str, Placed]
) -> _Problem | None:
    """A Kubernetes `emptyDir` mounted over the module that no other container of the pod
    mounts (an init container or a sidecar that fills it would): the code is hidden."""
    assert unit.node is not None
    container = unit.node.run.container
    workload = unit.node.run.workload
    image_path, placed = located
    for mount in container.volume_mounts:
        path = posixpath.normpath(mount.mount_path or "")
        if mount.name not in workload.empty_dir_volumes or not path.startswith("/"):
            continue
        if not (image_path == path or image_path.startswith(path.rstrip("/") + "/")):
            continue
        others = [
            c
            for c in workload.containers
            if c is not container and any(m.name == mount.name for m in c.volume_mounts)
        ]
        if others:
            return None  # filled by another container (an init container copying the code)
        server = unit.command.server
        message = (
            f"`{server} {target}` imports `{module_name}` from {image_path}, but {unit.label} "
            f"mounts the emptyDir volume `{mount.name}` over {path}: the volume starts empty and "
            f"hides the code COPY put in {path}. The container exits at start: "
            f"{_import_error(server, module_name)}."
        )
        related = (
            Related(unit.word_span(target), f"`{target}`: the app it cannot import"),
            Related(placed.span, f"puts the code at {image_path}"),
        )
        fix = (
            f"Mount the volume somewhere the code is not (a data directory), or fill it from an "
            f"init container that copies the code; {path} then keeps the image's files."
        )
        headline = f"an emptyDir mounted over {path} hides the image's `{module_name}`"
        return _Problem(message, headline[:80], related, fix, anchor=mount.span)
    return None


def _volume_over(unit: Served, directory: str) -> str | None:
    """A volume mounted at or above ``directory`` (its files are the volume's, not the
    image's), or under it (it may hold the module)."""
    targets: list[str] = []
    if unit.compose is not None:
        targets.extend(target for _, target, _ in unit.compose[1].volumes)
    if unit.node is not None:
        targets.extend(m.mount_path or "?" for m in unit.node.run.container.volume_mounts)
    for target in targets:
        if target == "?" or not target.startswith("/"):
            return f"a volume (`{target}`)"
        normal = posixpath.normpath(target)
        if directory == normal or directory.startswith(normal.rstrip("/") + "/"):
            return f"a volume at {normal}"
        if normal.startswith(directory.rstrip("/") + "/"):
            return f"a volume at {normal}"
    return None


def _missing_module(
    unit: Served,
    tree: ImageTree,
    resolver: AppResolver,
    target: str,
    module_name: str,
    cwd: str,
    dirs: list[str],
    how: list[str],
    ctx: RuleContext,
) -> _Problem | None:
    repo_file = resolver.module_file(module_name, tree.context)
    if repo_file is None:
        ctx.silent(
            unit.span,
            f"{unit.label}: the module `{module_name}` is not one file of the repository (it may "
            "be installed, generated, or ambiguous)",
        )
        return None
    prefix = f"{tree.context}/" if tree.context else ""
    if not repo_file.startswith(prefix):
        ctx.silent(unit.span, f"{unit.label}: {repo_file} is outside the build context")
        return None
    server = unit.command.server
    where = tree.where(repo_file)
    searched = ", ".join(dirs)
    started = f"{server} starts in {cwd} ({'; '.join(how)})"
    related: list[Related] = []
    if tree.workdir_span is not None:
        related.append(Related(tree.workdir_span, f"WORKDIR {tree.workdir}: where it starts"))
    if where:
        image_path, placed = where[0]
        code_dir = posixpath.dirname(image_path)
        package_root = _package_root(image_path, module_name)
        related.append(Related(placed.span, f"puts {repo_file} at {image_path}"))
        message = (
            f"`{server} {target}` imports `{module_name}` from {searched}, but the image has "
            f"it at {image_path}: {started}, and COPY put {repo_file} in {code_dir}. The "
            f"container exits at start: {_import_error(server, module_name)}."
        )
        fix = _fix(server, cwd, package_root)
        headline = f"`{module_name}` is not importable where the image starts `{server}`"
    else:
        relative = repo_file[len(prefix) :]
        expected = posixpath.join(dirs[0], module_name.replace(".", "/") + ".py")
        elsewhere = next(
            ((name, w) for name, _ in tree.stages for w in tree.where(repo_file, name)), None
        )
        built = ""
        if elsewhere is not None:
            stage, (stage_path, placed) = elsewhere
            built = (
                f" (the build stage `{stage}` has it at {stage_path}, and no COPY --from brings it)"
            )
            related.append(Related(placed.span, f"puts {repo_file} at {stage_path} in `{stage}`"))
        message = (
            f"`{server} {target}` imports `{module_name}`, but the final stage of the image holds "
            f"no {relative}{built}: {started}, and nothing puts {expected} there. The container "
            f"exits at start: {_import_error(server, module_name)}."
        )
        source = posixpath.dirname(relative) or relative
        fix = (
            f"Copy the code into the final stage: `COPY --from={elsewhere[0]} "
            f"{posixpath.dirname(elsewhere[1][0])} {posixpath.join(cwd, source)}`."
            if elsewhere is not None
            else "Copy the code into the final stage: "
            f"`COPY {source} {posixpath.join(cwd, source)}`."
        )
        headline = f"the image holds no `{module_name}` for `{server}` to import"
    return _Problem(message, headline[:80], tuple(related), fix)


def _import_error(server: str, module_name: str) -> str:
    if server == "uvicorn":
        return f'`Error loading ASGI app. Could not import module "{module_name}"`'
    return f"`ModuleNotFoundError: No module named '{module_name.split('.')[0]}'`"


def _package_root(image_path: str, module_name: str) -> str:
    """The directory ``module_name`` must be imported from to be found at ``image_path``."""
    depth = module_name.count(".") + (2 if image_path.endswith("/__init__.py") else 1)
    root = image_path
    for _ in range(depth):
        root = posixpath.dirname(root)
    return root or "/"


def _fix(server: str, cwd: str, package_root: str) -> str:
    relative = posixpath.relpath(package_root, cwd)
    if server == "uvicorn":
        option = f"`--app-dir {relative}`" if not relative.startswith("..") else None
    else:
        option = f"`--chdir {relative}`" if not relative.startswith("..") else None
    ways = [f"`WORKDIR {package_root}`", f"`ENV PYTHONPATH={package_root}`"]
    if option:
        ways.insert(0, option)
    return f"Import it from {package_root}: " + ", or ".join(ways) + "."


def _attribute_problem(
    unit: Served,
    graph: Deployment,
    tree: ImageTree,
    target: str,
    module_name: str,
    attr: re.Match[str],
    located: tuple[str, str | None],
    ctx: RuleContext,
) -> _Problem | None:
    image_path, repo_file = located  # where it is imported from, and its repository file
    module = graph.files.python.get(repo_file) if repo_file else None
    if module is None or module.names is None or module.problems or module.unread:
        return None
    name, _, call = attr.group(1), attr.group(2), attr.group(3)
    server = unit.command.server
    if name not in module.names:
        assert repo_file is not None
        if repo_file.endswith("__init__.py"):
            package = posixpath.dirname(repo_file)
            if f"{package}/{name}.py" in graph.files.all_paths or any(
                p.startswith(f"{package}/{name}/") for p in graph.files.python_paths
            ):
                return None  # a submodule: imported by something else first, it is an attribute
        apps = [r.name for r in module.routers if r.kind == "app" and r.scope is None]
        apps += [n for n in ("application", "app", "api", "create_app") if n in module.names]
        hint = f" It defines `{apps[0]}`." if apps and apps[0] != name else ""
        message = (
            f"`{server} {target}` looks for `{name}` in `{module_name}` ({repo_file}, "
            f"{_from(image_path)}), which defines no `{name}` at module level.{hint} "
            f"The container exits at start: {_attribute_error(server, name, module_name)}."
        )
        related = (Related(Span(repo_file, 1), f"`{module_name}`: no `{name}` here"),)
        fix = (
            f"Name the object the module defines: `{module_name}:{apps[0]}`."
            if hint
            else (
                "Point the command at the object that is the app, or define "
                f"`{name}` in {repo_file}."
            )
        )
        return _Problem(message, f"`{module_name}` has no attribute `{name}`", related, fix)
    if server != "gunicorn" or call is not None:
        return None
    factory = next((h for h in module.handlers if h.name == name and h.returns), None)
    if factory is None or len(factory.params) > 1:
        return None
    if _asgi_worker(unit):
        return None  # uvicorn's worker calls a factory itself (with a warning)
    message = (
        f"`gunicorn {target}` serves `{name}` itself, but `{name}` is a factory that builds "
        f"the app ({repo_file}:{factory.span.line}): gunicorn loads it as the WSGI app and "
        f"calls it with `(environ, start_response)` on every request, which fails with a "
        f"`TypeError` (500 Internal Server Error)."
    )
    related = (Related(factory.span, f"`{name}` returns `{factory.returns}`, the app"),)
    fix = f"Call the factory: `gunicorn '{module_name}:{name}()'` (gunicorn 20.1+)."
    return _Problem(
        message, f"gunicorn serves the factory `{name}` instead of its app", related, fix
    )


def _from(image_path: str) -> str:
    return image_path if image_path.startswith("the ") else f"at {image_path} in the image"


def _attribute_error(server: str, name: str, module_name: str) -> str:
    if server == "uvicorn":
        return f'`Error loading ASGI app. Attribute "{name}" not found in module "{module_name}"`'
    return f"`Failed to find attribute '{name}' in '{module_name}'`"


def _asgi_worker(unit: Served) -> bool:
    args = list(unit.command.args)
    for index, word in enumerate(args):
        name, eq, inline = word.partition("=")
        if name in ("-k", "--worker-class") or (word.startswith("-k") and len(word) > 2):
            value = inline if eq else (word[2:] if name not in ("-k", "--worker-class") else "")
            if not value and index + 1 < len(args):
                value = args[index + 1]
            if not value or any(w in value.lower() for w in _ASGI_WORKERS) or "$" in value:
                return True
            return value.lower() not in ("sync", "gthread")
    is_set, env_args = unit.env.get("GUNICORN_CMD_ARGS")
    return is_set and (env_args is None or "-k" in env_args or "worker" in env_args)


RULE = Rule(
    code=CODE,
    name="app-not-importable-in-image",
    severity=Severity.ERROR,
    summary="The server's `module:attr` cannot be imported where the image runs it.",
    check=check,
)
