"""Settings an app reads from its environment, and what each container's environment provides.

Environment names are derived as pydantic-settings derives them: ``env_prefix`` + field name,
or an alias / ``validation_alias`` / ``AliasChoices`` (no prefix), compared case-insensitively
unless ``case_sensitive=True``. A container's environment is its Dockerfile's ``ENV``, its
``env`` (values and refs) and its ``envFrom`` (every key of the referenced Secret/ConfigMap,
with the prefix). Where the picture is incomplete (a Secret defined outside the repository, an
``env_file`` that may be in the image) the environment says so and rules stay silent.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from dataclasses import field as _field

from preflight.knowledge.sensitive import is_sensitive_name as is_sensitive_name
from preflight.model.databases import resolve_import
from preflight.model.project import ContainerRun, Project
from preflight.parse.python import EnvRead, PythonModule, SettingsClass, SettingsField
from preflight.redact import url_password
from preflight.spans import Span

_PLACEHOLDER = re.compile(
    r"^$|^<.*>$|^\$\{.*\}$|^\$\(.*\)$|change.?me|replace.?me|placeholder|^x{3,}$|^\*+$|"
    r"^dummy|^example|^todo$|^your[-_]|^fake|^test$|^secret$|^password$|^redacted",
    re.I,
)


def is_placeholder(value: str) -> bool:
    """Obviously not a real secret: empty, ``<...>``, ``${...}``, CHANGE_ME, REPLACE_ME, …"""
    text = value.strip()
    if _PLACEHOLDER.search(text):
        return True
    if "://" in text:  # a URL whose password is a placeholder (or absent) holds no secret
        password = url_password(text)
        return password is None or bool(_PLACEHOLDER.search(password))
    return False


# A value made only of words that say what it stands for: `db-password`, `my_secret_key`,
# `tu_valor_secreto`. Real credentials are random or at least carry digits or symbols.
_SELF_DESCRIBING = re.compile(r"^[a-z]+(?:[-_.][a-z]+)*$", re.I)
_DESCRIBING_WORDS = re.compile(
    r"pass(?:word)?|pwd|secret|secreto|token|key|clave|valor|value|your|tu|my|mi|here|aqui",
    re.I,
)


# A describing word glued to another word: `postgrespwd`, `mysecretpassword`, `supersecret`.
_GLUED = re.compile(
    r"^[a-z]*(?:pass(?:word|wd)?|pwd|secret|token)$|^(?:pass(?:word)?|secret)[a-z]*$"
)
# Leetspeak spellings of the same words (`s3cr3tP@ss`, `P@ssw0rd`): what a person types when a
# form insists on digits and symbols, not a generated credential.
_LEET = str.maketrans({"3": "e", "0": "o", "1": "i", "@": "a", "$": "s", "4": "a", "5": "s"})


# Phonetic spellings of the same words (`seekrit`, `sekret`, `passwurd`): compared by their
# consonants (k/q/ck as c, z as s, doubled letters as one) and their number of syllables
# (vowel groups), so `skirt` and `security` are not `secret`. A skeleton is short, so only
# values made of letters alone are compared, and only with these words.
_SKELETONS = frozenset({("scrt", 2), ("pswrd", 2), ("pswd", 1)})


def _skeleton(word: str) -> tuple[str, int]:
    text = word.replace("ck", "c").replace("ph", "f").translate(_SOUNDS)
    syllables = len(re.findall(r"[aeiouy]+", text))
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouy]", "", text)), syllables


_SOUNDS = str.maketrans({"k": "c", "q": "c", "z": "s"})


def describes_itself(value: str) -> bool:
    """`db-password`, `your-secret-key`, `tu_valor_secreto`, `postgrespwd`, `s3cr3tP@ss`,
    `seekrit`: a placeholder written as words (glued, spelled in leetspeak or by sound, with
    at most a trailing number or `!`)."""
    text = value.strip()
    if _SELF_DESCRIBING.match(text):
        words = re.split(r"[-_.]", text)
        if any(_DESCRIBING_WORDS.fullmatch(word) for word in words):
            return True
    plain = re.sub(r"[-_.]?[0-9!]{1,4}$", "", text).translate(_LEET).lower()
    if plain.isalpha() and len(plain) <= 12 and _skeleton(plain) in _SKELETONS:
        return True
    return bool(_GLUED.match(plain)) or bool(
        _SELF_DESCRIBING.match(plain)
        and any(_GLUED.match(word) for word in re.split(r"[-_.]", plain))
    )


# Keyboard rows: a value typed as runs along them (`asdfqwer`, `qwerty123`, `zxcvbn`) is what a
# person types to get past a form, the first thing a password guesser tries.
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def is_keyboard_walk(value: str) -> bool:
    """Made only of runs of 3+ neighbouring keys on one keyboard row, forwards or backwards."""
    text = value.strip().lower()
    if len(text) < 4:
        return False
    i = 0
    while i < len(text):
        best = 0
        for row in _ROWS:
            for line in (row, row[::-1]):
                start = line.find(text[i])
                if start < 0:
                    continue
                n = 0
                while i + n < len(text) and text[i + n] == line[start + n : start + n + 1]:
                    n += 1
                best = max(best, n)
        if best < 3:
            return False
        i += best
    return True


# The stock credentials images and tutorials ship with (`postgres`/`postgres`, RabbitMQ's
# `guest`, Java's `changeit`): public knowledge, so nothing that can leak.
_WELL_KNOWN = frozenset({"postgres", "admin", "root", "guest", "mysql", "pass", "changeit"})


def holds_no_secret(value: str) -> bool:
    """A placeholder, a self-describing value, a well-known default, or a URL whose password
    is one: nothing that can leak (ENV004 and ENV005 judge values alike)."""
    text = value.strip().strip("'\"")
    if _throwaway(text):
        return True
    if "://" in text:
        password = url_password(text) or ""
        return _throwaway(password)
    return False


def _throwaway(text: str) -> bool:
    return (
        is_placeholder(text)
        or describes_itself(text)
        or text.lower() in _WELL_KNOWN
        or is_keyboard_walk(text)
    )


@dataclass(frozen=True, slots=True)
class Setting:
    """A variable an app reads: from a settings field, or the code itself."""

    env_names: tuple[str, ...]  # any one of them provides it, as written
    case_sensitive: bool
    required: bool
    sensitive: bool
    span: Span  # the field (or the os.environ read)
    module: str
    derivation: str  # how the name was derived, for messages
    owner: str  # "`Settings.secret_key`", "`os.environ[\"X\"]`"
    field: SettingsField | None = None
    cls: SettingsClass | None = None
    nested_delimiter: str | None = None  # `APP_DB__URL` provides a nested model field `db`
    # who reads it: "pydantic-settings", or the code ("os.environ", "django-environ",
    # "decouple", "list" for a REQUIRED_ENV_VARS list)
    reader: str = "pydantic-settings"
    # an env file in the repository the service's code loads at start: it may provide the
    # variable if the image holds it (rules stay silent)
    env_file: str | None = None
    text: str = ""  # a code read as written: `env.str("SECRET_KEY")`, `os.environ["X"]`
    # a literal string default (a field's, or a code read's `os.environ.get("X", "dev")`):
    # the value the app runs with when nothing provides the variable (never printed)
    default: str | None = _field(default=None, repr=False)
    default_span: Span | None = None

    def matches(self, name: str) -> bool:
        names = self.env_names if self.case_sensitive else tuple(n.lower() for n in self.env_names)
        wanted = name if self.case_sensitive else name.lower()
        if wanted in names:
            return True
        delimiter = self.nested_delimiter
        if not delimiter:
            return False
        return any(wanted.startswith(n + delimiter) for n in names)

    @property
    def display_name(self) -> str:
        name = self.env_names[0]
        return name if self.case_sensitive else name.upper()


_OPTIONAL = re.compile(r"^(?:typing\.)?Optional\[(.*)\]$|^(.*?)\s*\|\s*None$|^None\s*\|\s*(.*)$")
_ANNOTATED = re.compile(
    r"^(?:typing\.|typing_extensions\.)?Annotated\[\s*([^,\[]+(?:\[[^\]]*\])?)\s*,"
)
_NUMBERS = frozenset(
    {"int", "float", "Decimal", "PositiveInt", "NegativeInt", "NonNegativeInt", "NonPositiveInt",
     "PositiveFloat", "NegativeFloat", "NonNegativeFloat", "NonPositiveFloat", "conint",
     "confloat", "condecimal", "StrictInt", "StrictFloat"}
)  # fmt: skip
_STRINGS = frozenset({"str", "SecretStr", "constr", "StrictStr"})


def value_type(annotation: str) -> str | None:
    """What a settings field's annotation parses: "number" (`int`, `PositiveInt`,
    `Optional[int]`, `Annotated[int, …]`), "bool", "str" (`str`, `SecretStr`), or None (a URL
    type, a model, a union, anything else)."""
    text = annotation.strip().strip("'\"")
    for _ in range(3):
        match = _OPTIONAL.match(text) or _ANNOTATED.match(text)
        if match is None:
            break
        text = next(g for g in match.groups() if g is not None).strip()
    base = text.split("[", 1)[0].split("(", 1)[0].rsplit(".", 1)[-1]
    if base in _NUMBERS:
        return "number"
    if base in ("bool", "StrictBool"):
        return "bool"
    if base in _STRINGS:
        return "str"
    return None


class ServiceRoots:
    """The service directory of a file: the nearest directory above it holding a Dockerfile,
    pyproject or requirements file (answers kept: every module is asked about many times)."""

    def __init__(self, project: Project) -> None:
        markers = {*project.dockerfiles, *project.pyprojects, *project.requirements}
        self._dirs = frozenset(posixpath.dirname(m) for m in markers)
        self._found: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        found = self._found.get(path)
        if found is not None:
            return found
        directory = posixpath.dirname(path)
        while directory and directory not in self._dirs:
            directory = posixpath.dirname(directory)
        self._found[path] = directory
        return directory


class SettingsIndex:
    """Which service each module belongs to and which variables each service's code reads.

    Built once per check by the graph (``model.graph.build_graph``), every answer computed up
    front: rules read it, nothing adds to it afterwards.
    """

    def __init__(
        self, project: Project, roots: ServiceRoots, external_secrets: tuple[str, ...] = ()
    ) -> None:
        self.service_root = roots
        modules: dict[str, set[str]] = {}
        for path in project.python:
            modules.setdefault(self.service_root(path), set()).add(path)
        classes = _classes(project)
        live = _instantiated(project)
        given = _init_provided(project)
        subclassed = {b.rsplit(".", 1)[-1] for _, cls, _ in classes for b in cls.bases}
        # once per check, not once per service: a monorepo of N services would be N² here
        variants = _Variants(_selected_settings_modules(project), project.python)
        self.by_root: dict[str, list[Setting]] = {
            root: _settings_for(project, root, paths, classes, live, given, subclassed, variants)
            for root, paths in sorted(modules.items())
        }
        self.defined = _defined(project, external_secrets)
        self.defaulted_by_root: dict[str, list[Setting]] = {
            root: [
                *(s for s in self.by_root.get(root, []) if s.field and s.field.default is not None),
                *_defaulted_reads(project, paths, variants),
            ]
            for root, paths in sorted(modules.items())
        }

    def settings_for(self, root: str) -> list[Setting]:
        """Every variable the code of the service at ``root`` reads from its environment."""
        return self.by_root.get(root, [])

    def defaulted_for(self, root: str) -> list[Setting]:
        """The variables the code of the service at ``root`` reads with a literal string
        default: settings fields (``secret_key: str = "dev"``) and reads at import
        (``os.environ.get("SECRET_KEY", "dev")``, ``env("SECRET_KEY", default="dev")``)."""
        return self.defaulted_by_root.get(root, [])

    def settings_in(self, path: str) -> list[Setting]:
        """The variables one module reads (a Django settings module, wherever it lives)."""
        return [s for s in self.by_root.get(self.service_root(path), []) if s.module == path]


_Classes = list[tuple[str, SettingsClass, list[SettingsField]]]


def _classes(project: Project) -> _Classes:
    """Settings classes with the fields they inherit from the repository's own base classes."""
    by_name: dict[str, list[tuple[str, SettingsClass]]] = {}
    for path, module in project.python.items():
        for cls in module.settings:
            by_name.setdefault(cls.name, []).append((path, cls))
    out: _Classes = []
    for path, module in sorted(project.python.items()):
        for cls in module.settings:
            fields: dict[str, SettingsField] = {}
            chain = [cls]
            seen = {cls.name}
            while chain[-1].bases:
                parent_name = next(
                    (
                        b.rsplit(".", 1)[-1]
                        for b in chain[-1].bases
                        if b.rsplit(".", 1)[-1] in by_name
                    ),
                    None,
                )
                if parent_name is None or parent_name in seen:
                    break
                seen.add(parent_name)
                chain.append(by_name[parent_name][0][1])
            for ancestor in reversed(chain):
                for item in ancestor.fields:
                    fields[item.name] = item
            out.append((path, cls, list(fields.values())))
    return out


def _init_provided(project: Project) -> dict[str, set[str] | None]:
    """Fields given as constructor keywords, per class (None: ``**kwargs``, anything may be)."""
    out: dict[str, set[str] | None] = {}
    for module in project.python.values():
        for name, keywords, star in module.init_calls:
            if star:
                out[name] = None
            elif out.get(name, set()) is not None:
                current = out.setdefault(name, set())
                assert current is not None
                current.update(keywords)
    return out


def _instantiated(project: Project) -> set[str]:
    """Class names some module calls (``Settings()``, ``get_settings`` returning ``Settings()``)."""
    names: set[str] = set()
    for module in project.python.values():
        for binding in module.bindings:
            names.add(binding.call.rsplit(".", 1)[-1])
        for handler in module.handlers:
            names.update(call.rsplit(".", 1)[-1] for call in handler.calls)
    return names


def _settings_for(
    project: Project,
    root: str,
    modules: set[str],
    classes: _Classes,
    live: set[str],
    given: dict[str, set[str] | None],
    subclassed: set[str],
    variants: _Variants,
) -> list[Setting]:
    out: list[Setting] = []
    env_file = _loaded_env_file(project, root, modules)
    for path, cls, fields in classes:
        if path not in modules:
            continue
        if cls.name not in live and cls.name in subclassed:
            continue  # a base class only its subclasses are built from
        if cls.name not in live:
            continue
        passed = given.get(cls.name, set())
        for item in fields:
            if passed is None or item.name in passed:
                continue  # the code passes it to the constructor
            aliased = item.env_names != (
                (cls.env_prefix + item.name).lower(),
            ) and item.env_names != (cls.env_prefix + item.name,)
            derivation = (
                f"alias of field `{item.name}`"
                if aliased
                else f'env_prefix "{cls.env_prefix}" + field `{item.name}`'
                if cls.env_prefix
                else f"field `{item.name}`"
            )
            lowered = item.name.lower()
            sensitive = (
                item.secret
                or is_sensitive_name(item.name)
                or ("url" in lowered and ("database" in lowered or "db" in lowered))
            )
            out.append(
                Setting(
                    item.env_names,
                    cls.case_sensitive,
                    item.required,
                    sensitive,
                    item.span,
                    path,
                    derivation,
                    f"`{cls.name}.{item.name}`",
                    item,
                    cls,
                    cls.nested_delimiter,
                    env_file=env_file,
                    default=item.default,
                    default_span=item.default_span,
                )
            )
    for path in sorted(modules):
        module = project.python[path]
        if _is_test_module(path):
            continue  # tests set their own environment
        if variants.unselected(path):
            continue  # `settings/local.py` when the deploy runs `settings.production`
        for read in module.required_env:
            if read.imported is not None and not _env_instance_requires(project, path, read):
                continue
            out.append(
                Setting(
                    (read.name,),
                    True,
                    True,
                    is_sensitive_name(read.name),
                    read.span,
                    path,
                    _READ_WITH.get(read.reader, "read by the code"),
                    f"`{read.text}` in {path}",
                    reader=read.reader,
                    env_file=env_file,
                    text=read.text,
                )
            )
    return out


def _defaulted_reads(project: Project, modules: set[str], variants: _Variants) -> list[Setting]:
    """Reads at import with a literal default, from the modules that run (tests and Django
    settings variants no ``DJANGO_SETTINGS_MODULE`` selects left out, as for required reads)."""
    out: list[Setting] = []
    for path in sorted(modules):
        module = project.python[path]
        if not module.env_defaults or _is_test_module(path):
            continue
        if variants.unselected(path):
            continue
        for read in module.env_defaults:
            out.append(
                Setting(
                    (read.name,),
                    True,
                    False,
                    is_sensitive_name(read.name),
                    read.read,
                    path,
                    _READ_WITH.get(read.reader, "read by the code"),
                    f"`{read.text}` in {path}",
                    reader=read.reader,
                    text=read.text,
                    default=read.default,
                    default_span=read.span,
                )
            )
    return out


_READ_WITH = {
    "os.environ": "read with `os.environ[...]`",
    "django-environ": "read with django-environ",
    "decouple": "read with python-decouple",
    "list": "listed as required by the code",
}


# Modules of a settings package every variant imports (`from .base import *`).
_SHARED_SETTINGS = ("base", "common", "defaults", "default", "settings", "components", "__init__")


def _selected_settings_modules(project: Project) -> set[str]:
    """Every ``DJANGO_SETTINGS_MODULE`` value something in the repository sets: a container's or
    compose service's environment, a Dockerfile ``ENV``, ``os.environ.setdefault`` in code."""
    name = "DJANGO_SETTINGS_MODULE"
    values: set[str] = set()
    for module in project.python.values():
        values.update(value for key, value in module.env_sets if key == name)
    for manifest in project.manifests.values():
        for workload in manifest.workloads:
            for container in workload.containers:
                values.update(e.value for e in container.env if e.name == name and e.value)
    for compose in project.compose_files.values():
        for service in compose.services:
            values.update(e.value for e in service.environment if e.name == name and e.value)
    for dockerfile in project.dockerfiles.values():
        for stage in dockerfile.stages:
            found = stage.env.get(name)
            if found is not None and found[0]:
                values.add(found[0])
    return {value.strip() for value in values}


class _Variants:
    """Which modules of a settings package (``settings/local.py`` beside
    ``settings/production.py``) no ``DJANGO_SETTINGS_MODULE`` names: only the selected variant
    runs. Each package's modules counted once."""

    def __init__(self, selected: set[str], python: dict[str, PythonModule]) -> None:
        self.selected = selected
        self.modules: dict[str, int] = {}  # a `settings` directory -> its variant modules
        for path in python:
            directory, name = posixpath.split(path)
            if posixpath.basename(directory) == "settings" and not name.startswith(
                _SHARED_SETTINGS
            ):
                self.modules[directory] = self.modules.get(directory, 0) + 1

    def unselected(self, path: str) -> bool:
        directory, name = posixpath.split(path)
        if posixpath.basename(directory) != "settings":
            return False
        stem = name[:-3] if name.endswith(".py") else name
        if stem.startswith(_SHARED_SETTINGS):
            return False
        if self.modules.get(directory, 0) < 2:
            return False
        dotted = path[:-3].replace("/", ".")
        return not any(dotted == value or dotted.endswith("." + value) for value in self.selected)


def _is_test_module(path: str) -> bool:
    name = posixpath.basename(path)
    parts = path.split("/")[:-1]
    return (
        name == "conftest.py"
        or name.startswith("test_")
        or name.endswith("_test.py")
        or any(part in ("tests", "test", "testing") for part in parts)
    )


def _env_instance_requires(project: Project, path: str, read: EnvRead) -> bool:
    """A django-environ read through an imported ``env`` needs the variable when the module it
    is imported from defines that ``Env`` and its scheme gives the variable no default."""
    module = project.python[path]
    binding = next((b for b in module.imports if b.local == read.imported), None)
    if binding is None or binding.name is None:
        return False
    target = resolve_import(binding, path, project.python)
    source = project.python.get(target) if target is not None else None
    if source is None:
        return False
    instance = next((i for i in source.env_instances if i.name == binding.name), None)
    return instance is not None and not instance.open_scheme and read.name not in instance.defaults


def _loaded_env_file(project: Project, root: str, modules: set[str]) -> str | None:
    """An env file in the repository that the service's code loads at start (``read_env``,
    ``load_dotenv``, decouple's search), if any, said for ``--verbose``."""
    under = f"{root}/" if root else ""
    for path in sorted(modules):
        for load in project.python[path].env_file_loads:
            where = f"{load.span.path}:{load.span.line}"
            if not load.names:
                return f"the env file {where} loads (its path is not a literal)"
            directory = posixpath.dirname(path)
            ancestors = [directory]
            while directory:
                directory = posixpath.dirname(directory)
                ancestors.append(directory)
            for name in load.names:
                found = next(
                    (
                        posixpath.join(a, name)
                        for a in ancestors
                        if posixpath.join(a, name) in project.all_paths
                    ),
                    None,
                )
                if found is None and not load.search_up:  # a path built from BASE_DIR & co
                    found = next(
                        (
                            p
                            for p in sorted(project.all_paths)
                            if p.startswith(under) and posixpath.basename(p) == name
                        ),
                        None,
                    )
                if found is not None:
                    return f"`{found}`, which {where} loads"
    return None


@dataclass(slots=True)
class Provider:
    name: str
    kind: str  # "env value", "Secret", "ConfigMap", "Dockerfile ENV", "fieldRef", …
    span: Span
    value: str | None = field(repr=False)  # a literal value, when known (never printed)
    where: str = ""


@dataclass(slots=True)
class ContainerEnv:
    providers: dict[str, list[Provider]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # why more may be provided
    secret_volume: bool = False  # a Secret mounted as files (read by a settings secrets_dir)

    def add(self, provider: Provider) -> None:
        self.providers.setdefault(provider.name, []).append(provider)

    def provides(self, setting: Setting) -> list[Provider]:
        return [p for name, items in self.providers.items() if setting.matches(name) for p in items]


@dataclass(frozen=True, slots=True)
class Defined:
    """Secrets and ConfigMaps the repository defines (or declares as managed elsewhere)."""

    secrets: dict[str, dict[str, tuple[Span, str | None]] | None]  # None: keys unknown
    config_maps: dict[str, dict[str, tuple[Span, str | None]] | None]  # None: keys unknown
    manages_secrets: bool  # the repository defines any Secret-like resource or lists externals
    manages_config_maps: bool


def _defined(project: Project, external_secrets: tuple[str, ...]) -> Defined:
    secrets: dict[str, dict[str, tuple[Span, str | None]] | None] = {}
    config_maps: dict[str, dict[str, tuple[Span, str | None]] | None] = {}
    for manifest in project.manifests.values():
        for secret in manifest.secrets:
            keys = secrets.setdefault(secret.obj.name or "", {})
            if keys is not None:
                keys.update({k: (v.span, v.value) for k, v in secret.keys.items()})
        for target in manifest.external_secrets:
            if target.keys is None:
                secrets[target.target_name] = None
            else:
                existing = secrets.setdefault(target.target_name, {})
                if existing is not None:
                    existing.update({k: (target.span, None) for k in target.keys})
        for config_map in manifest.config_maps:
            table = config_maps.setdefault(config_map.obj.name or "", {})
            if table is not None:
                table.update({k: (v.span, v.value) for k, v in config_map.keys.items()})
    for created in project.created_objects:  # kubectl create in scripts/CI/README, generators
        tables = secrets if created.kind == "Secret" else config_maps
        if created.keys is None:
            tables[created.name] = None
        else:
            existing = tables.setdefault(created.name, {})
            if existing is not None:
                for created_key in created.keys:
                    existing.setdefault(created_key, (created.span, None))
    for name in external_secrets:
        secrets[name] = None
    return Defined(secrets, config_maps, bool(secrets), bool(config_maps))


def container_env(run: ContainerRun, known: Defined) -> ContainerEnv:
    env = ContainerEnv()
    dockerfile = run.dockerfile
    if dockerfile is not None and dockerfile.final is not None:
        for stage in dockerfile.lineage(dockerfile.final):
            for name, (text, span) in stage.env.items():
                if name not in stage.build_args:  # an ARG is gone once the image is built
                    env.add(Provider(name, "Dockerfile ENV", span, text, dockerfile.path))
    container = run.container
    for variable in container.env:
        ref = variable.value_from
        if ref is None:
            env.add(Provider(variable.name, "env value", variable.span, variable.value))
            continue
        literal: str | None = None
        kind = ref.kind
        if ref.kind == "secretKeyRef":
            secret = known.secrets.get(ref.name or "")
            found = secret.get(ref.key or "") if secret else None
            literal = found[1] if found else None
            kind = "Secret"
        elif ref.kind == "configMapKeyRef":
            entry = (known.config_maps.get(ref.name or "") or {}).get(ref.key or "")
            literal = entry[1] if entry else None
            kind = "ConfigMap"
        where = f"`{ref.name}` key `{ref.key}`"
        env.add(Provider(variable.name, kind, variable.span, literal, where))
    for source in container.env_from:
        is_secret = source.kind == "secretRef"
        table = (
            known.secrets.get(source.name or "")
            if is_secret
            else known.config_maps.get(source.name or "")
        )
        if table is None:
            what = "Secret" if is_secret else "ConfigMap"
            env.unknown.append(f"envFrom {what} `{source.name}` has keys preflight cannot see")
            continue
        for key, (_span, known_value) in table.items():
            kind = "Secret" if is_secret else "ConfigMap"
            where = f"`{source.name}`"
            env.add(Provider(source.prefix + key, kind, source.span, known_value, where))
    env.secret_volume = bool(run.workload.secret_volumes) and any(
        mount.name in run.workload.secret_volumes for mount in container.volume_mounts
    )
    return env
