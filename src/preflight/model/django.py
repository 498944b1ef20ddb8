"""Django projects: the command that serves one, its settings module, and its URLconf as an App.

``gunicorn proj.wsgi:application``, ``uvicorn proj.asgi:application``, ``daphne …``,
``uwsgi --module proj.wsgi --http :8000`` and ``python manage.py runserver 0.0.0.0:8000`` all
serve the project whose settings module ``DJANGO_SETTINGS_MODULE`` names: from the container's
environment first, else the ``os.environ.setdefault(...)`` in the wsgi/asgi module or manage.py.
The settings (star imports followed) give ``ROOT_URLCONF``; its ``urlpatterns`` are expanded
through ``include()`` with their prefixes into the same :class:`~preflight.model.apps.App` the
FastAPI resolver builds, each route carrying the regex Django matches it with, so the probe
rules work unchanged. ``router.urls``, ``i18n_patterns`` and anything else not followable make
the app partial: the rules that would claim a path is missing stay silent.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from preflight.model.databases import resolve_import
from preflight.parse.python import HandlerInfo, ImportBinding, PythonModule
from preflight.parse.python.results import DjangoFacts, DjangoPattern, DjangoUrlList
from preflight.spans import Span

if TYPE_CHECKING:
    from preflight.model.apps import App, AppResolver, ServerCommand

RUNSERVER = frozenset({"manage.py runserver", "django-admin runserver"})
_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PLAIN_VIEW_BASES = frozenset({"View", "APIView", "object"})
_COMMON_MIDDLEWARE = "django.middleware.common.CommonMiddleware"
_MAX_DEPTH = 10
_MAX_ROUTES = 10_000
# Django's path converters (django.urls.converters); a custom one may match anything.
_CONVERTERS = {
    "int": "[0-9]+",
    "str": "[^/]+",
    "slug": "[-a-zA-Z0-9_]+",
    "uuid": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "path": ".+",
}
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")
_SIMPLE_GROUP = re.compile(r"\(\?P<(\w+)>[^()]*\)")  # shown as `{name}`


# commands ------------------------------------------------------------------------------------


def django_command(
    executable: str, args: Sequence[str], env: dict[str, str]
) -> ServerCommand | None:
    """``manage.py runserver``, ``django-admin runserver`` or ``uwsgi``: the server they start."""
    name = posixpath.basename(executable)
    words = list(args)
    script: str | None = None
    if name.startswith("python") and words[:1] == ["-m"] and words[1:2] == ["django"]:
        name, words = "django-admin", words[2:]
    elif name.startswith("python"):
        while words and words[0].startswith("-") and words[0] not in ("-m", "-c"):
            words = words[1:]  # python -u manage.py …
        if not words or posixpath.basename(words[0]) != "manage.py":
            return None
        script, words = words[0], words[1:]
        name = "manage.py"
    elif name == "manage.py":
        script = executable
    elif name in ("django-admin", "django-admin.py"):
        name = "django-admin"
    elif name == "uwsgi":
        return _uwsgi(words, env)
    else:
        return None
    return _runserver(name, script, words, env)


def _runserver(
    name: str, script: str | None, words: list[str], env: dict[str, str]
) -> ServerCommand | None:
    from preflight.model.apps import ServerCommand, _port

    subcommand = next((w for w in words if not w.startswith("-")), None)
    if subcommand not in ("runserver", "runserver_plus"):
        return None
    settings = env.get("DJANGO_SETTINGS_MODULE")
    chdir: str | None = None
    addrport: str | None = None
    index = words.index(subcommand) + 1
    while index < len(words):
        word = words[index]
        option, eq, inline = word.partition("=")
        value = inline if eq else (words[index + 1] if index + 1 < len(words) else "")
        if word.startswith("-"):
            if option == "--settings":
                settings = value
            elif option == "--pythonpath":
                chdir = value
            takes_value = option in ("--settings", "--pythonpath", "--verbosity", "-v")
            index += 2 if takes_value and not eq else 1
            continue
        if addrport is None:
            addrport = word
        index += 1
    port: int | None = 8000
    port_from = "default"
    if addrport is not None:
        text = addrport.rsplit(":", 1)[-1] if not addrport.startswith("[") else addrport
        text = text.rsplit("]:", 1)[-1]
        port, port_from = _port(text, env, "runserver")
        port_from = f"runserver {addrport}"
    if script is not None and posixpath.dirname(script) and not script.startswith("/"):
        chdir = chdir or posixpath.dirname(script)
    server = f"{name} runserver"
    return ServerCommand(server, script, False, port, port_from, chdir, settings, tuple(words))


def _uwsgi(words: list[str], env: dict[str, str]) -> ServerCommand | None:
    """``uwsgi --module proj.wsgi:application --http :8000``: only when it speaks HTTP."""
    from preflight.model.apps import ServerCommand, _port

    options: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = words[index]
        option, eq, inline = word.partition("=")
        if option.startswith("-"):
            value = inline if eq else (words[index + 1] if index + 1 < len(words) else "")
            options.setdefault(option.lstrip("-"), value)
            index += 1 if eq else 2
            continue
        index += 1
    bind_option = next((o for o in ("http", "http-socket") if o in options), None)
    if bind_option is None:
        return None  # a uwsgi socket behind a proxy, or options in an ini file: not HTTP here
    bind = options[bind_option]
    port, _ = _port(bind.rsplit(":", 1)[-1], env, f"--{bind_option}")
    target = options.get("module") or options.get("wsgi") or options.get("w")
    target = target or options.get("wsgi-file")
    settings = env.get("DJANGO_SETTINGS_MODULE")
    for given in (options.get("env"), options.get("e")):
        if given and given.startswith("DJANGO_SETTINGS_MODULE="):
            settings = given.partition("=")[2]
    return ServerCommand(
        "uwsgi",
        target,
        False,
        port,
        f"--{bind_option} {bind}",
        options.get("chdir"),
        settings,
        tuple(words),
    )


def with_settings(
    command: ServerCommand, args: Sequence[str], env: dict[str, str]
) -> ServerCommand:
    """The settings module a command's environment (or ``--env`` option) names."""
    settings = env.get("DJANGO_SETTINGS_MODULE")
    words = list(args)
    for index, word in enumerate(words):
        option, eq, inline = word.partition("=")
        if option in ("--env", "-e"):
            value = inline if eq else (words[index + 1] if index + 1 < len(words) else "")
            if value.startswith("DJANGO_SETTINGS_MODULE="):
                settings = value.partition("=")[2]
    return replace(command, settings=settings) if settings else command


# route matching ------------------------------------------------------------------------------


def route_matches(regex: str, path: str, append_slash: bool) -> bool:
    """A request path reaches a Django route: its regex matches the path after the leading
    slash; with APPEND_SLASH (and CommonMiddleware), a path that matches only with a slash
    added is redirected there (301, which Kubernetes counts as a probe success)."""
    text = path[1:] if path.startswith("/") else path
    if re.fullmatch(regex, text) is not None:
        return True
    return append_slash and not text.endswith("/") and re.fullmatch(regex, text + "/") is not None


def _piece(route: str, regex: bool, endpoint: bool) -> str:
    """The part of the full regex a pattern contributes (anchors removed, groups unnamed)."""
    if not regex:
        out: list[str] = []
        position = 0
        for match in _PARAMETER.finditer(route):
            out.append(re.escape(route[position : match.start()]))
            out.append(f"(?:{_CONVERTERS.get(match.group('converter') or 'str', '.+')})")
            position = match.end()
        out.append(re.escape(route[position:]))
        return "".join(out)
    text = _NAMED_GROUP.sub("(?:", route)
    anchored = text.startswith("^")
    text = text[1:] if anchored else text
    ends = text.endswith("$") and not text.endswith("\\$")
    if ends:
        text = text[:-1]
    elif text.endswith("\\Z"):
        text, ends = text[:-2], True
    start = "" if anchored else "(?:.*?)"  # Django searches: an unanchored regex matches anywhere
    return f"{start}(?:{text})" + ("" if ends or not endpoint else ".*")


def _display(route: str, regex: bool) -> str:
    if not regex:
        return route
    text = route.lstrip("^").removesuffix("$").removesuffix("\\Z")
    return _SIMPLE_GROUP.sub(lambda m: "{" + m.group(1) + "}", text)


def _literal_prefix(shown: str) -> str | None:
    """The literal path a prefix stands for (an admin mount), or None when it has parameters."""
    return shown if re.fullmatch(r"[\w\-/.]*", shown) else None


# resolution ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Settings:
    values: dict[str, str | bool | tuple[str, ...] | None] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


class DjangoResolver:
    """Resolves a command that serves a Django project into an App (or says it is not one)."""

    def __init__(self, apps: AppResolver) -> None:
        self.apps = apps
        self.python: dict[str, PythonModule] = apps.python

    def resolve(self, served: ServerCommand, near: str) -> tuple[App | None, str | None] | None:
        """None: not a Django project (the caller goes on); else the app, or why there is none."""
        if served.server in RUNSERVER:
            return self._runserver(served, near)
        target = served.target
        if target is None or served.server == "fastapi":
            return None
        module_name, _, attr = target.partition(":")
        module_name = module_name.strip("'\"")
        attr = attr.strip("'\"").removesuffix("()") or "application"
        if module_name.endswith(".py") or "/" in module_name:  # uwsgi --wsgi-file proj/wsgi.py
            path = posixpath.normpath(posixpath.join(near, module_name.lstrip("/")))
            if path not in self.python:
                candidates = [p for p in self.python if p.endswith("/" + module_name.lstrip("/"))]
                path = candidates[0] if len(candidates) == 1 else ""
            base = posixpath.dirname(path)
        else:
            path = self.apps.module_file(module_name, near) or ""
            relative = module_name.replace(".", "/")
            base = path
            for suffix in (f"{relative}.py", f"{relative}/__init__.py"):
                if path.endswith(suffix):
                    base = path[: -len(suffix)].rstrip("/")
        module = self.python.get(path)
        facts = module.django if module is not None else None
        if facts is None:
            return None
        found = next((span for name, span in facts.applications if name == attr), None)
        if found is None:
            return None
        app, why = self._build(path, attr, found, base, served.settings or facts.settings_default)
        if app is not None:
            app.kind = "Django"
            app.interface = dict(facts.application_interfaces).get(attr) or None
        return app, why

    def _runserver(self, served: ServerCommand, near: str) -> tuple[App | None, str | None]:
        manage = self._manage(served, near)
        facts = self._facts(manage) if manage is not None else None
        settings = served.settings or (facts.settings_default if facts else None)
        base = posixpath.dirname(manage) if manage is not None else near
        if settings is None:
            where = manage or "the image"
            return None, f"no DJANGO_SETTINGS_MODULE is set for `{served.server}` ({where})"
        return self._build(None, "urlpatterns", None, base, settings)

    def _manage(self, served: ServerCommand, near: str) -> str | None:
        script = served.target
        if script is not None and not script.startswith("/"):
            joined = posixpath.normpath(posixpath.join(near, script))
            if joined in self.python:
                return joined
        found = sorted(
            (p for p in self.python if posixpath.basename(p) == "manage.py"),
            key=lambda p: (p.count("/"), p),
        )
        if near:
            found = [p for p in found if p.startswith(near.rstrip("/") + "/")] or found
        if script is not None and script.startswith("/"):  # /app/web/manage.py: its tail
            tail = [p for p in found if script.endswith("/" + p)]
            found = tail or found
        if len(found) > 1 and found[0].count("/") == found[1].count("/"):
            return None
        return found[0] if found else None

    def _facts(self, path: str) -> DjangoFacts | None:
        module = self.python.get(path)
        return module.django if module is not None else None

    def _build(
        self,
        module_path: str | None,
        name: str,
        span: Span | None,
        base: str,
        settings_name: str | None,
    ) -> tuple[App | None, str | None]:
        from preflight.model.apps import App

        if settings_name is None:
            where = module_path or base or "the project"
            return None, f"no DJANGO_SETTINGS_MODULE is set for {where}"
        settings_path = self.apps.module_file(settings_name, base)
        if settings_path is None or settings_path not in self.python:
            return None, f"the settings module `{settings_name}` is not a file preflight read"
        settings = _Settings()
        self._settings(settings_path, settings, 0)
        values = settings.values
        middleware = values.get("MIDDLEWARE", values.get("MIDDLEWARE_CLASSES"))
        append_slash = values.get("APPEND_SLASH", True) is not False and (
            not isinstance(middleware, tuple) or _COMMON_MIDDLEWARE in middleware
        )
        urlconf = values.get("ROOT_URLCONF")
        urls_path = self.apps.module_file(urlconf, base) if isinstance(urlconf, str) else None
        urls = self._facts(urls_path) if urls_path is not None else None
        root = _last(urls, "urlpatterns")
        if module_path is None or span is None:  # runserver: the URLconf is the app
            module_path = urls_path or settings_path
            span = root.span if root is not None else Span(settings_path, 1)
        app = App(
            module_path,
            name,
            span,
            append_slash=append_slash,
            settings_module=settings_path,
            settings_files=tuple(settings.files),
        )
        if not isinstance(urlconf, str):
            app.partial.append(f"the settings `{settings_name}` set no ROOT_URLCONF preflight read")
        elif urls_path is None or root is None or urls is None:
            app.partial.append(f"ROOT_URLCONF `{urlconf}` has no `urlpatterns` preflight read")
        else:
            _Expander(self, app, base).expand(urls_path, urls, root)
        self._middleware(app, base, middleware)
        return app, None

    def _settings(self, path: str, out: _Settings, depth: int) -> None:
        if depth > _MAX_DEPTH or path in out.files:
            return
        out.files.append(path)
        facts = self._facts(path)
        if facts is None:
            return
        for setting in facts.settings:
            if setting.name != "*":
                out.values[setting.name] = setting.value
                continue
            module = str(setting.value or "")
            binding = ImportBinding("*", module, None, setting.level, setting.span)
            other = resolve_import(binding, path, self.python)
            if other is not None and other in self.python:
                self._settings(other, out, depth + 1)

    def _middleware(
        self, app: App, base: str, middleware: str | bool | tuple[str, ...] | None
    ) -> None:
        """A middleware of the repository that answers requests by path serves those paths."""
        listed = middleware if isinstance(middleware, tuple) else ()
        for entry in listed:
            module_name = entry.rpartition(".")[0]
            path = self.apps.module_file(module_name, base) if module_name else None
            facts = self._facts(path) if path is not None else None
            if facts is not None and facts.reads_request_path and not facts.request_paths:
                app.partial.append(f"the middleware `{entry}` answers requests by their path")
        prefix = base.rstrip("/") + "/" if base else ""
        for path, module in self.python.items():
            facts = module.django
            if facts is not None and facts.request_paths and path.startswith(prefix):
                app.mounts.extend(p.rstrip("/") or "/" for p in facts.request_paths)

    # views ---------------------------------------------------------------------------------

    def view(
        self, module_path: str, pattern: DjangoPattern, base: str
    ) -> tuple[tuple[str, ...], HandlerInfo | None, str]:
        """The methods a view answers, its handler facts (when found) and where it is."""
        found = self._locate(module_path, pattern.view, base) if pattern.view else None
        if found is None:
            return (("GET", "HEAD") if pattern.class_view else _ALL_METHODS), None, module_path
        path, attr = found
        module = self.python[path]
        facts = module.django
        handlers = {h.name: h for h in reversed(module.handlers)}
        if pattern.class_view:
            cls = next((v for v in facts.views if v.name == attr), None) if facts else None
            if cls is None:
                return ("GET", "HEAD"), None, path
            methods = set(cls.methods)
            if not methods or any(b.rsplit(".", 1)[-1] not in _PLAIN_VIEW_BASES for b in cls.bases):
                methods.add("GET")  # inherited methods (TemplateView's get) are not known
            if "GET" in methods:
                methods.add("HEAD")
            ordered = tuple(m for m in _ALL_METHODS if m in methods)
            return ordered, handlers.get(f"{attr}.get"), path
        limited = dict(facts.view_methods).get(attr) if facts else None
        return (limited or _ALL_METHODS), handlers.get(attr), path

    def _locate(self, module_path: str, name: str | None, base: str) -> tuple[str, str] | None:
        if not name:
            return None
        module = self.python.get(module_path)
        if module is None:
            return None
        head, _, rest = name.partition(".")
        if not rest:
            facts = module.django
            local = any(h.name == head for h in module.handlers) or (
                facts is not None and any(v.name == head for v in facts.views)
            )
            if local:
                return module_path, head
        for imported in module.imports:
            if imported.local != head:
                continue
            if imported.name is None:  # `import api.views` then `api.views.health`
                parts = name.split(".")
                for cut in range(len(parts) - 1, 0, -1):
                    path = self.apps.module_file(".".join(parts[:cut]), base)
                    if path is not None and path in self.python and cut == len(parts) - 1:
                        return path, parts[-1]
                return None
            if rest:  # `from . import views` then `views.health`
                sub = resolve_import(
                    replace(imported, module=_join(imported.module, imported.name), name=None),
                    module_path,
                    self.python,
                )
                if sub is not None and sub in self.python and "." not in rest:
                    return sub, rest
                return None
            other = resolve_import(imported, module_path, self.python)
            if other is not None and other in self.python:
                return other, imported.name
            return None
        return None

    def url_list(
        self, module_path: str, target: str, current: DjangoUrlList | None, base: str
    ) -> tuple[str, DjangoFacts, DjangoUrlList] | None:
        """The URL list an ``include(name)`` (or ``urlpatterns += name``) refers to."""
        module = self.python.get(module_path)
        facts = module.django if module is not None else None
        if facts is not None:
            lists = [u for u in facts.url_lists if u.name == target]
            if current is not None and current in lists:
                earlier = lists[: lists.index(current)]
                if earlier:
                    return module_path, facts, earlier[-1]
                lists = []  # `urlpatterns += …` on a list imported from elsewhere
            elif lists:
                return module_path, facts, lists[-1]
        head, _, rest = target.partition(".")
        for imported in module.imports if module is not None else ():
            if imported.local != head:
                continue
            candidates: list[tuple[ImportBinding, str]] = []
            if imported.name is None:
                path = self.apps.module_file(target, base)  # `import api.urls`; include(api.urls)
                if path is not None:
                    return self._urls_of(path, "urlpatterns")
                return None
            whole = _join(imported.module, imported.name)
            submodule = replace(imported, module=whole, name=None)
            if rest:  # `from api import urls` then include(urls.patterns)
                candidates.append((submodule, rest))
            else:
                candidates.append((submodule, "urlpatterns"))  # `from api import urls`
                candidates.append((imported, imported.name))  # `from api.urls import patterns`
            for binding, wanted in candidates:
                path = resolve_import(binding, module_path, self.python)
                if path is not None and path in self.python:
                    found = self._urls_of(path, wanted)
                    if found is not None:
                        return found
            return None
        if "." in target:  # include(api.urls) with `api` a package preflight can find
            path = self.apps.module_file(target, base)
            if path is not None:
                return self._urls_of(path, "urlpatterns")
        return None

    def _urls_of(self, path: str, name: str) -> tuple[str, DjangoFacts, DjangoUrlList] | None:
        facts = self._facts(path)
        found = _last(facts, name)
        return (path, facts, found) if facts is not None and found is not None else None


def _last(facts: DjangoFacts | None, name: str) -> DjangoUrlList | None:
    if facts is None:
        return None
    lists = [u for u in facts.url_lists if u.name == name]
    return lists[-1] if lists else None


def _join(module: str, name: str) -> str:
    return f"{module}.{name}" if module else name


class _Expander:
    """Expands a URL list into the app's routes, includes followed with their prefixes."""

    def __init__(self, resolver: DjangoResolver, app: App, base: str) -> None:
        self.resolver = resolver
        self.app = app
        self.base = base
        self.budget = _MAX_ROUTES

    def expand(self, path: str, facts: DjangoFacts, urls: DjangoUrlList) -> None:
        self._list(path, urls, "", "", 0, set())
        if self.budget < 0:
            self.app.partial.append(
                f"the URLconf expands to more than {_MAX_ROUTES:,} routes; preflight reads no more"
            )

    def _list(
        self,
        path: str,
        urls: DjangoUrlList,
        regex: str,
        text: str,
        depth: int,
        seen: set[tuple[str, int]],
    ) -> None:
        key = (path, urls.span.line)
        if depth > _MAX_DEPTH or key in seen:
            return
        seen.add(key)
        try:
            self._patterns(path, urls, urls.patterns, regex, text, depth, seen)
        finally:
            seen.discard(key)

    def _patterns(
        self,
        path: str,
        urls: DjangoUrlList,
        patterns: tuple[DjangoPattern, ...],
        regex: str,
        text: str,
        depth: int,
        seen: set[tuple[str, int]],
    ) -> None:
        from preflight.model.apps import Route

        app = self.app
        for pattern in patterns:
            self.budget -= 1
            if self.budget < 0:
                return
            where = f"{path}:{pattern.span.line}"
            if pattern.kind == "opaque":
                app.partial.append(f"{pattern.why} ({where})")
                continue
            if pattern.route is None:
                app.partial.append(f"a URL pattern's route in {where} is not a literal")
                continue
            is_route = pattern.kind == "route"
            full = regex + _piece(pattern.route, pattern.regex, is_route)
            shown = text + _display(pattern.route, pattern.regex)
            try:
                re.compile(full)
            except (re.error, RecursionError, OverflowError):
                app.partial.append(f"the regex of the URL pattern in {where} does not compile")
                continue
            if is_route:
                methods, handler, module = self.resolver.view(path, pattern, self.base)
                app.routes.append(
                    Route(methods, "/" + shown, handler, module, pattern.span, regex=full)
                )
            elif pattern.kind == "admin":
                prefix = _literal_prefix(shown)
                if prefix is None:
                    app.partial.append(f"the admin site's prefix in {where} is not a literal")
                else:
                    app.mounts.append("/" + prefix.rstrip("/"))
            elif pattern.children:
                self._patterns(path, urls, pattern.children, full, shown, depth + 1, seen)
            elif pattern.target is not None:
                self._include(path, urls, pattern, full, shown, depth, seen, where)

    def _include(
        self,
        path: str,
        urls: DjangoUrlList,
        pattern: DjangoPattern,
        regex: str,
        text: str,
        depth: int,
        seen: set[tuple[str, int]],
        where: str,
    ) -> None:
        target = pattern.target or ""
        if pattern.target_is_module:
            module_path = self.resolver.apps.module_file(target, self.base)
            found = self.resolver._urls_of(module_path, "urlpatterns") if module_path else None
            prefix = _literal_prefix(text) if module_path is None else None
            if found is None and prefix:
                # an installed app's URLconf (`include("allauth.urls")`) under a literal
                # prefix: that prefix is served by something preflight does not read
                self.app.mounts.append("/" + prefix.strip("/"))
                return
            if found is None:
                self.app.partial.append(
                    f"`include({target!r})` ({where}) is not a URLconf preflight read"
                )
                return
        else:
            found = self.resolver.url_list(path, target, urls, self.base)
            if found is None:
                self.app.partial.append(f"`{target}` ({where}) is not a URL list preflight found")
                return
        other_path, _facts, other = found
        self._list(other_path, other, regex, text, depth + 1, seen)


def other_settings_modules(app: App, python: dict[str, PythonModule]) -> frozenset[str]:
    """Settings modules beside the ones the app loads (``settings/local.py`` when it runs
    ``settings.production``): the variables they read are not the app's."""
    if not app.settings_files:
        return frozenset()
    loaded = set(app.settings_files)
    directories = {posixpath.dirname(path) for path in loaded}
    out: set[str] = set()
    for path, module in python.items():
        facts = module.django
        if path in loaded or posixpath.dirname(path) not in directories or facts is None:
            continue
        if any(s.name != "*" or s.value for s in facts.settings):
            out.add(path)
    return frozenset(out)
