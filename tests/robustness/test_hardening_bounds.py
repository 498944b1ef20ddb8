"""Issue 13, bounds: expansion, aliases, Unicode digits, wrongly-typed TOML, include chains.

Work is bounded by COUNTING (what a parser visits, how much it expands) or by ``resource``
limits on a subprocess (RLIMIT_AS for memory, RLIMIT_CPU as the bound on work and the hang
guard), never by wall-clock time: the suite runs on loaded CI machines.
"""

from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preflight.cli import main
from preflight.config import Config
from preflight.digits import ascii_int, is_ascii_digits
from preflight.engine import Result, run
from preflight.parse import dockerfile as dockerfile_module
from preflight.parse import toml_positions
from preflight.parse.dockerfile import (
    MAX_EXPANDED_CHARS,
    MAX_VALUE_CHARS,
    _instructions,
    parse_dockerfile,
)
from preflight.parse.pyproject import MAX_GROUP_EXPANSION, parse_pyproject
from preflight.parse.yamlnodes import MAX_ALIAS_EXPANSION, YNode, load_documents

from ._support import fuzz_settings, pkg001_tree, preflight_env, write_files

GIB = 1 << 30


# --- helpers ---------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    """``preflight check --no-cache ROOT`` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(["check", "--no-cache", "--no-color", "--jobs", "1", *args, str(root)])
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def assert_clean(code: int, out: str, err: str) -> None:
    assert code in (0, 1), (code, out[-2000:], err[-2000:])
    for text in (out, err):
        assert "Traceback" not in text, text[-2000:]
        assert "internal error" not in text, text[-2000:]


def limited(
    args: list[str], *, home: Path, cpu_seconds: int = 60, memory: int = 2 * GIB
) -> subprocess.CompletedProcess[str]:
    """``python -m preflight ARGS`` under RLIMIT_CPU and RLIMIT_AS (killed, not slow, past them).

    RLIMIT_CPU counts CPU time, not wall time, so a loaded machine does not fail the test; it
    bounds the work and is the hang guard."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # killed: no core file to write

    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        capture_output=True,
        text=True,
        env=preflight_env(home),
        preexec_fn=limit,
        check=False,
    )


def limited_python(code: str, *, cpu_seconds: int, memory: int = 2 * GIB) -> str:
    """Run ``code`` in a fresh interpreter under the limits; its stdout (it must exit 0)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # killed: no core file to write

    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def engine(root: Path) -> Result:
    return run(root, str(root), Config())


# --- High 4: Dockerfile variable expansion ---------------------------------------------------


def _doubling(name: str, times: int, seed: str = "x") -> str:
    lines = ["FROM python:3.12-slim", f"ENV {name}={seed}"]
    lines += [f"ENV {name}=${name}${name}${name}${name}"] * times
    return "\n".join(lines) + "\n"


def test_exponential_env_becomes_unknown_not_huge() -> None:
    parsed = parse_dockerfile("Dockerfile", _doubling("A", 16) + "RUN echo $A\nWORKDIR /$A\n")
    stage = parsed.final
    assert stage is not None and not parsed.problems
    value, _ = stage.env["A"]
    assert value is None  # unknown: past the bound, not truncated
    # text that refers to an unknown value keeps the reference as written
    assert stage.runs[0].script == "echo $A"
    assert stage.workdir == "/$A"


def test_expansion_under_the_bound_is_exact() -> None:
    parsed = parse_dockerfile("Dockerfile", _doubling("A", 3))
    assert parsed.final is not None
    assert parsed.final.env["A"][0] == "x" * 64


def test_one_env_instruction_sees_the_values_before_it() -> None:
    text = "FROM x\nENV A=old\nENV A=new B=$A C=${A:-d} D=${Z:-d} E=${A:+set}\n"
    parsed = parse_dockerfile("Dockerfile", text)
    assert parsed.final is not None
    env = {name: value for name, (value, _) in parsed.final.env.items()}
    assert env == {"A": "new", "B": "old", "C": "old", "D": "d", "E": "set"}


def test_expansion_over_a_file_is_bounded_by_counting() -> None:
    """Many references to one long (legitimate) value: the copying stops at the file budget."""
    seen: list[Any] = []
    original = dockerfile_module.Expansion.__init__

    def record(self: Any) -> None:
        original(self)
        seen.append(self)

    text = "FROM x\nENV A=" + "a" * 60_000 + "\n" + "RUN echo $A\n" * 2_000
    patch = pytest.MonkeyPatch()
    patch.setattr(dockerfile_module.Expansion, "__init__", record)
    try:
        parsed = parse_dockerfile("Dockerfile", text)
    finally:
        patch.undo()
    (expansion,) = seen
    assert expansion.expanded <= MAX_EXPANDED_CHARS
    assert parsed.final is not None
    scripts = [step.script for step in parsed.final.runs]
    assert scripts[0] == "echo " + "a" * 60_000  # the first ones are expanded
    assert scripts[-1] == "echo $A"  # past the budget: as written
    assert sum(len(s) for s in scripts) <= MAX_EXPANDED_CHARS + len(text)


@given(st.integers(min_value=0, max_value=40), st.sampled_from(["ENV", "ARG"]))
@fuzz_settings(30)
def test_no_value_passes_the_bound(times: int, keyword: str) -> None:
    text = f"FROM x\n{keyword} A=xyz\n" + "ENV A=$A$A${A}$A\n" * times + "EXPOSE $A\n"
    parsed = parse_dockerfile("Dockerfile", text)
    assert parsed.final is not None
    for value, _ in parsed.final.env.values():
        assert value is None or len(value) <= MAX_VALUE_CHARS
    for word, _ in parsed.final.exposes:
        assert len(word) <= MAX_VALUE_CHARS


def test_dockerfile_bomb_through_the_cli_in_bounded_memory(tmp_path: Path) -> None:
    """The 303-byte file that reached 5.3 GB: under a 1.5 GB address-space limit it is read,
    other findings still come, and no rule judges the unknown value (ENV004 would)."""
    root = write_files(
        tmp_path / "repo",
        {**pkg001_tree(), "Dockerfile": _doubling("SECRET_KEY", 16) + 'CMD ["x"]\n'},
    )
    done = limited(
        ["check", "--no-cache", "--no-color", str(root)], home=tmp_path, memory=3 * GIB // 2
    )
    assert done.returncode == 1, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "internal error" not in done.stdout + done.stderr
    assert "docker/Dockerfile:7:" in done.stdout and "PKG001" in done.stdout, done.stdout
    assert "ENV004" not in done.stdout


def test_unknown_env_value_is_not_judged(tmp_path: Path) -> None:
    # a realistic seed: `xxxx…` is a placeholder, which ENV004 does not report
    small = write_files(tmp_path / "small", {"Dockerfile": _doubling("SECRET_KEY", 2, "k9")})
    assert "ENV004" in {f.code for f in engine(small).findings}  # a known value is judged
    big = write_files(tmp_path / "big", {"Dockerfile": _doubling("SECRET_KEY", 16, "k9")})
    result = engine(big)
    assert not result.internal_errors
    assert "ENV004" not in {f.code for f in result.findings}


def test_inherited_variables_are_bounded(tmp_path: Path) -> None:
    """``FROM base`` copies base's variables: a file of many such stages is not modelled."""
    text = "FROM x AS base\n" + "".join(f"ENV V{i}=1\n" for i in range(20_000))
    text += "FROM base\n" * 20_000
    parsed = parse_dockerfile("Dockerfile", text)
    assert parsed.stages == ()
    assert "too large for preflight to model" in parsed.problems[0].message


# --- Low: linear Dockerfile instruction splitting --------------------------------------------

_DOCKER_PIECES = st.sampled_from(
    [
        "FROM",
        "RUN",
        "ENV",
        "COPY",
        "#",
        "# escape=`",
        "# syntax=x",
        "\\",
        "`",
        " ",
        "\t",
        "\n",
        "\r",
        "a",
        "b=c",
        "--from=²",
        "\x0c",
        "\x85",
        "\u2028",
        "é",
        "<<EOF",
        "EOF",
        "run",
    ]
)


@given(st.lists(_DOCKER_PIECES, max_size=40).map("".join))
@fuzz_settings(2_000)
def test_instruction_splitting_matches_dockerfile_parse(text: str) -> None:
    """The linear splitter reads every file exactly as dockerfile-parse (the former parser)."""
    dockerfile_parse = pytest.importorskip("dockerfile_parse")
    parser = dockerfile_parse.DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8")))
    expected = [
        (item["instruction"], item["startline"], item["endline"], item["value"])
        for item in parser.structure
        if item["instruction"] != "COMMENT"
    ]
    assert list(_instructions(text)) == expected


def test_large_inputs_parse_in_linear_work() -> None:
    """Each input below took quadratic time before (a 2 MB continued RUN took 13 s; an 8 MB one
    takes minutes). Together, linear parsers need a few CPU seconds: 60 is the bound."""
    code = textwrap.dedent(
        """
        from preflight.parse.dockerfile import parse_dockerfile
        from preflight.parse.manifests import parse_manifests
        from preflight.parse.pyproject import parse_pyproject

        cont = "FROM x\\nRUN echo a \\\\\\n" + "  && echo bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb \\\\\\n" * 200_000
        parsed = parse_dockerfile("Dockerfile", cont + "  && true\\n")
        assert len(parsed.final.runs[0].script) > 7_000_000
        parse_dockerfile("Dockerfile", "FROM x\\nRUN " + "--x " * 1_000_000 + "true\\n")
        parse_dockerfile("Dockerfile", "FROM x\\nRUN " + "--mount=type=bind,target=a " * 100_000)
        env_then_runs = "".join(f"ENV V{i}=1\\n" for i in range(50_000)) + "RUN true\\n" * 50_000
        parse_dockerfile("Dockerfile", "FROM x\\n" + env_then_runs)
        items = "".join(f"- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c{i}}}}}\\n"
                        for i in range(20_000))
        listed = parse_manifests("k8s/list.yaml", "apiVersion: v1\\nkind: List\\nitems:\\n" + items)
        assert len(listed.objects) == 20_000
        deps = "".join(f'  "pkg{i}>=1",\\n' for i in range(40_000))
        parsed = parse_pyproject("pyproject.toml", "[project]\\nname = 'x'\\ndependencies = [\\n" + deps + "]\\n")
        assert parsed.runtime[-1].span.line == 40_003
        extras = "".join(f'e{i} = ["a"]\\n' for i in range(40_000))
        parse_pyproject("pyproject.toml", "[project.optional-dependencies]\\n" + extras)
        print("ok")
        """
    )
    assert limited_python(code, cpu_seconds=60).strip() == "ok"


# --- Medium 16: YAML aliases counted in characters -------------------------------------------


def _aliased_scalar(size: int, references: int) -> str:
    refs = "".join(f"  k{i}: *a\n" for i in range(references))
    return f'x-big: &a "{"y" * size}"\nservices:\n  web:\n    image: x\nx-refs:\n{refs}'


def test_aliases_of_one_large_scalar_are_capped() -> None:
    text = _aliased_scalar(100_000, 40)  # 4 MB through aliases, from a 100 KB file
    documents, problem = load_documents("compose.yaml", text)
    assert problem is not None and "aliases" in problem.message
    assert documents == []  # nothing else from the file is used


def test_documents_before_an_alias_bomb_are_not_used() -> None:
    first = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {K: v}\n---\n"
    documents, problem = load_documents("k8s/x.yaml", first + _aliased_scalar(100_000, 40))
    assert problem is not None and documents == []


def test_few_references_to_a_large_scalar_are_read() -> None:
    text = _aliased_scalar(100_000, 5)  # 500 KB expanded: under the allowance
    documents, problem = load_documents("compose.yaml", text)
    assert problem is None and len(documents) == 1


@given(st.integers(min_value=1, max_value=200_000), st.integers(min_value=0, max_value=3))
@fuzz_settings(20)
def test_a_file_without_aliases_never_reaches_the_cap(size: int, style: int) -> None:
    """The cap is twice the file's length plus the allowance: plain files of any size pass."""
    value = "z" * size
    scalar = [value, f'"{value}"', f"'{value}'", f"|\n    {value}"][style]
    text = f"a:\n  - {scalar}\n  - {{k: v, q}}\n  - [1, 2, {{}}]\n"
    _, problem = load_documents("x.yaml", text * 3)
    assert problem is None, problem


def _expanded_chars(node: YNode | None) -> int:
    """What a reader walking the tree visits, in the cap's units (one per node + text)."""
    if node is None:
        return 0
    if node.is_scalar:
        return 1 + len(node.text or "")
    if node.is_seq:
        return 1 + sum(_expanded_chars(item) for item in node.seq())
    return 1 + sum(_expanded_chars(k) + _expanded_chars(v) for k, v in node.items())


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=1, max_value=5_000))
@fuzz_settings(40)
def test_what_is_read_is_within_the_cap(references: int, size: int) -> None:
    """Whatever the shape, a tree that is returned expands to no more than the cap."""
    text = _aliased_scalar(size, references)
    documents, problem = load_documents("compose.yaml", text)
    limit = MAX_ALIAS_EXPANSION + 2 * len(text) + 2
    if problem is None:
        assert sum(_expanded_chars(d) for d in documents) <= limit
    else:
        assert documents == []
        assert (size + 1) * references > MAX_ALIAS_EXPANSION  # it was over the cap


def test_alias_bomb_in_compose_through_the_cli(tmp_path: Path) -> None:
    """A 150 KB compose file whose services run one 100 KB command took over 300 s."""
    big = "eHh4" * 25_000
    services = "".join(f"  s{i}:\n    image: x\n    command: *a\n" for i in range(2_000))
    root = write_files(
        tmp_path / "repo",
        {**pkg001_tree(), "compose.yaml": f'x-big: &a "{big}"\nservices:\n' + services},
    )
    done = limited(["check", "--no-cache", "--no-color", str(root)], home=tmp_path)
    assert done.returncode == 1, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "compose.yaml:1:1: PF001" in done.stdout and "aliases" in done.stdout
    assert "docker/Dockerfile:7:" in done.stdout  # the rest of the repository is checked


# --- Medium 13: Unicode digits ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("8000", 8000),
        ("0", 0),
        ("²", None),
        ("٣", None),
        ("\uff18", None),
        ("1_0", None),
        (" 1", None),
        ("+1", None),
        ("", None),
        ("1" * 65, None),
    ],
)
def test_ascii_int(text: str, value: int | None) -> None:
    assert ascii_int(text) == value
    assert is_ascii_digits(text) == (value is not None)


def test_ascii_int_bases() -> None:
    assert ascii_int("ff", 16) == 255 and ascii_int("٣", 16) is None
    assert ascii_int("17", 8) == 15 and ascii_int("8", 8) is None
    assert ascii_int("101", 2) == 5 and ascii_int("2", 2) is None


@given(st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4))
@fuzz_settings(300)
def test_ascii_int_never_raises_and_reads_only_ascii(text: str) -> None:
    value = ascii_int(text)
    assert value is None or text.isascii()


_PORT_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
        - name: api
          image: api:1
          command: ["gunicorn", "app.main:app", "-b", "0.0.0.0:8000"]
          ports:
            - {{name: http, containerPort: {container_port}}}
          readinessProbe:
            httpGet: {{path: /healthz, port: {probe_port}}}
          livenessProbe:
            tcpSocket: {{port: {probe_port}}}
---
apiVersion: v1
kind: Service
metadata: {{name: api}}
spec:
  selector: {{app: api}}
  ports:
    - {{port: {service_port}, targetPort: {target_port}}}
"""

_DIGITS = ["²", "٣", "\uff18", "8²", "¹⁰", "0x²", "0o٣", "1:٣", "!!int ²", "!!int ٣", '"²"', '"٣"']


def _unicode_trees(digit: str) -> Iterator[tuple[str, dict[str, str | bytes]]]:
    """A repository per file kind with the digits at every number a parser or rule reads.
    (Server options such as ``--port 8²`` are read in model/apps.py, tested with it.)"""
    bare = digit.strip('"')
    yield (
        "k8s",
        {
            "k8s/api.yaml": _PORT_DEPLOYMENT.format(
                container_port=digit, probe_port=digit, service_port=digit, target_port=digit
            )
        },
    )
    yield (
        "dockerfile",
        {
            "Dockerfile": (
                f"FROM python:3.12 AS build\nRUN pip install gunicorn\nFROM python:3.12-slim\n"
                f"COPY --from={bare} /usr/local /usr/local\nEXPOSE {bare}\n"
                f"RUN python3.{bare} -m pip install . {bare}>/dev/null\n"
                f'ENV PORT={bare}\nCMD ["gunicorn", "app.main:app"]\n'
            )
        },
    )
    yield (
        "compose",
        {
            "compose.yaml": (
                f"services:\n  api:\n    build: .\n    ports: [{digit}, '{bare}:{bare}']\n"
                f"    expose: [{digit}]\n    command: gunicorn app.main:app\n"
            )
        },
    )
    yield (
        "lock",
        {
            "uv.lock": f'version = 1\n[[package]]\nname = "sqlalchemy"\nversion = "{bare}.{bare}"\n',
            "app/db.py": "from sqlalchemy.ext.asyncio import create_async_engine\n"
            "engine = create_async_engine('postgresql+asyncpg://db/app')\n",
        },
    )
    yield (
        "requirements",
        {
            "requirements.txt": f"sqlalchemy=={bare}.{bare}\nuvicorn>={bare}\n",
            "Procfile": f"web: python3.{bare} -m uvicorn app.main:app {bare}>&2\n",
        },
    )


@pytest.mark.parametrize("digit", _DIGITS)
def test_unicode_digits_in_every_file_kind(
    digit: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind, files in _unicode_trees(digit):
        root = write_files(tmp_path / kind, {**pkg001_tree(), **files})
        assert_clean(*cli(capsys, root))


def test_unicode_probe_port_is_a_name_not_a_number(tmp_path: Path) -> None:
    """``port: "٣"`` is no number (int() would read 3): it is a port name the pod lacks."""
    text = _PORT_DEPLOYMENT.format(
        container_port=8000, probe_port='"٣"', service_port=80, target_port=8000
    )
    root = write_files(
        tmp_path / "repo",
        {**pkg001_tree(), "k8s/api.yaml": text, "docker/Dockerfile": "FROM x\nCMD ['x']\n"},
    )
    result = engine(root)
    assert not result.internal_errors
    messages = [f.message for f in result.findings if f.code == "PRB006"]
    assert any("declares no port by that name" in m for m in messages), messages


def test_unicode_stage_index_is_not_a_stage() -> None:
    parsed = parse_dockerfile("Dockerfile", "FROM a AS x\nFROM b\nCOPY --from=² /a /b\n")
    assert parsed.stage_named("²") is None and parsed.stage_named("\u0660") is None
    assert parsed.stage_named("0") is parsed.stages[0]


def test_yaml_int_is_ascii_only() -> None:
    text = "a: !!int ٣\nb: !!int 0x²\nc: 0x1F\nd: 1:30\ne: !!int 1:٣\nf: 017\n"
    (document,), problem = load_documents("x.yaml", text)
    assert problem is None and document is not None
    values = {k.text: v.as_int() for k, v in document.items()}
    assert values == {"a": None, "b": None, "c": 31, "d": 90, "e": None, "f": 15}


# --- Medium 14: wrongly-typed pyproject tables -----------------------------------------------


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _toml_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


_SCALARS = st.one_of(
    st.integers(min_value=-5, max_value=5),
    st.booleans(),
    st.sampled_from(["", "x", "fastapi>=0.1", "gunicorn", "dev", "all", "*", "1.0", "."]),
)
_ANY = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["version", "extras", "optional", "include-group", "dev", "x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=8,
)
# Every key the readers look at, each given a value of any type (right or wrong).
_KNOWN = [
    ("project",),
    ("project", "name"),
    ("project", "dependencies"),
    ("project", "optional-dependencies"),
    ("project", "optional-dependencies", "extra"),
    ("project", "scripts"),
    ("project", "scripts", "serve"),
    ("dependency-groups",),
    ("dependency-groups", "dev"),
    ("tool",),
    ("tool", "preflight"),
    ("tool", "uv"),
    ("tool", "uv", "dev-dependencies"),
    ("tool", "uv", "default-groups"),
    ("tool", "uv", "workspace"),
    ("tool", "uv", "workspace", "members"),
    ("tool", "poetry"),
    ("tool", "poetry", "name"),
    ("tool", "poetry", "dependencies"),
    ("tool", "poetry", "dependencies", "fastapi"),
    ("tool", "poetry", "dev-dependencies"),
    ("tool", "poetry", "extras"),
    ("tool", "poetry", "extras", "e"),
    ("tool", "poetry", "group"),
    ("tool", "poetry", "group", "dev"),
    ("tool", "poetry", "group", "dev", "dependencies"),
    ("tool", "poetry", "group", "dev", "optional"),
    ("tool", "poetry", "scripts"),
]


@st.composite
def wrongly_typed_pyproject(draw: st.DrawFn) -> str:
    document: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(_KNOWN), min_size=1, max_size=6, unique=True)):
        table = document
        for key in path[:-1]:  # a table on the way that is not a table stays as drawn
            existing = table.setdefault(key, {})
            if not isinstance(existing, dict):
                break
            table = existing
        else:
            table[path[-1]] = draw(_ANY)
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in document.items())


@given(wrongly_typed_pyproject())
@fuzz_settings(300)
def test_wrongly_typed_pyproject_never_raises(text: str) -> None:
    parsed = parse_pyproject("pyproject.toml", text)
    assert all(problem.message for problem in parsed.problems)


@given(wrongly_typed_pyproject())
@fuzz_settings(60)
def test_wrongly_typed_pyproject_through_the_whole_check(text: str) -> None:
    """Parse, link and every rule, with a Dockerfile that installs the project (so the model
    reads its groups, extras and scripts) and a requirements file that includes it."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        root = write_files(
            Path(scratch),
            {
                "pyproject.toml": text,
                "requirements.txt": "-e .[extra]\n",
                "Dockerfile": "FROM python:3.12\nCOPY . .\nRUN pip install .[extra,e] && "
                "uv sync --group dev && poetry install --with dev -E e\n"
                'CMD ["serve"]\n',
            },
        )
        result = engine(root)
    assert not result.internal_errors, result.internal_errors


@pytest.mark.parametrize(
    "text",
    [
        "tool = 1\n",
        "tool = [1]\n[project]\nname = 'x'\n",
        "project = 'x'\n",
        "[project]\ndependencies = 'fastapi'\n",
        "[tool]\npoetry = 'x'\n",
        "[tool.poetry]\ndependencies = 'x'\n",
        "[tool.poetry]\ngroup = 3\n",
        "[tool.poetry.group]\ndev = [1]\n",
        "[tool.uv]\nworkspace = 2\n",
        "[tool.uv.workspace]\nmembers = 'x'\n",
        "dependency-groups = 1\n",
        "[dependency-groups]\ndev = [{include-group = ['x']}]\n",
    ],
)
def test_known_wrong_types(text: str, tmp_path: Path) -> None:
    assert parse_pyproject("pyproject.toml", text) is not None
    root = write_files(tmp_path / "repo", {**pkg001_tree(), "pyproject.toml": text})
    result = engine(root)
    assert not result.internal_errors


# --- Low: include chains (requirements -r, PEP 735 include-group, re-exports) -----------------


def test_a_long_requirements_include_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,500 chained ``-r`` files (more than Python's recursion limit) are all followed."""
    depth = 1_500
    files: dict[str, str | bytes] = {
        "requirements.txt": "-r requirements/0.txt\nfastapi\n",
        "Dockerfile": "FROM python:3.12\nCOPY . .\nRUN pip install -r requirements.txt\n"
        'CMD ["gunicorn", "app:app"]\n',
    }
    for i in range(depth):
        files[f"requirements/{i}.txt"] = (f"-r {i + 1}.txt\n" if i < depth - 1 else "") + f"p{i}\n"
    files[f"requirements/{depth - 1}.txt"] = "gunicorn\n"
    root = write_files(tmp_path / "repo", files)
    code, out, err = cli(capsys, root)
    assert_clean(code, out, err)
    assert code == 0, out  # gunicorn, at the end of the chain, was found


def test_include_group_chains_and_diamonds_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each group's own list is read once: a diamond of 40 levels (2^40 paths) costs 40 reads."""
    from preflight.parse import pyproject as pyproject_module

    reads: list[str] = []
    original = pyproject_module.parse_requirement

    def counting(raw: str, span: Any) -> Any:
        reads.append(raw)
        return original(raw, span)

    monkeypatch.setattr(pyproject_module, "parse_requirement", counting)
    levels = 40
    text = "[dependency-groups]\n" + "".join(
        f'g{i} = ["p{i}", {{include-group = "g{i + 1}"}}, {{include-group = "G{i + 1}"}}]\n'
        for i in range(levels)
    )
    text += f'g{levels} = ["last"]\n'
    parsed = parse_pyproject("pyproject.toml", text)
    assert len(reads) == levels + 1
    first = parsed.group("group", "g0")
    assert first is not None and [r.name for r in first.requirements][-1] == "last"
    assert len(first.requirements) == levels + 1  # each group once
    assert not parsed.problems


def test_include_group_expansion_is_capped() -> None:
    chain = 1_500  # each group reaches all after it: ~1.1 M entries in all
    text = "[dependency-groups]\n" + "".join(
        f'g{i} = ["p{i}", {{include-group = "g{i + 1}"}}]\n' for i in range(chain)
    )
    text += f'g{chain} = ["last"]\n'
    parsed = parse_pyproject("pyproject.toml", text)
    assert any(f"{MAX_GROUP_EXPANSION:,}" in p.message for p in parsed.problems)


def test_reexport_cycle_is_not_followed_forever(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``from app.b import make_url`` in a, b from c, c from b: the URL's origin is a cycle."""
    root = write_files(
        tmp_path / "repo",
        {
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["sqlalchemy", "psycopg2"]\n',
            "app/__init__.py": "",
            "app/a.py": "from app.b import make_url\nfrom sqlalchemy import create_engine\n"
            "engine = create_engine(make_url())\n",
            "app/b.py": "# sqlalchemy create_engine DATABASE_URL\nfrom app.c import make_url\n",
            "app/c.py": "# sqlalchemy create_engine DATABASE_URL\nfrom app.b import make_url\n",
        },
    )
    assert_clean(*cli(capsys, root))


def test_toml_locator_work_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Locating every entry of a long list visits each line a bounded number of times."""
    calls = {"match": 0, "finditer": 0}

    class Counting:
        def __init__(self, pattern: Any, name: str) -> None:
            self.pattern, self.name = pattern, name

        def match(self, text: str) -> Any:
            calls["match"] += 1
            return self.pattern.match(text)

        def finditer(self, text: str) -> Any:
            calls["finditer"] += 1
            return self.pattern.finditer(text)

    monkeypatch.setattr(toml_positions, "_KEY_LINE", Counting(toml_positions._KEY_LINE, "k"))
    monkeypatch.setattr(toml_positions, "_QUOTED", Counting(toml_positions._QUOTED, "q"))
    n = 3_000
    text = "[project]\nname = 'x'\ndependencies = [\n" + "".join(
        f'  "p{i}>=1",\n' for i in range(n)
    )
    text += "]\n[project.optional-dependencies]\n" + "".join(f'e{i} = ["a"]\n' for i in range(n))
    text += "[tool.poetry.dependencies]\n" + "".join(f'q{i} = "1"\n' for i in range(n))
    parsed = parse_pyproject("pyproject.toml", text)
    assert len(parsed.runtime) == n and parsed.runtime[-1].span.line == n + 3
    lines = text.count("\n") + 1
    assert calls["match"] <= 3 * lines, calls
    assert calls["finditer"] <= lines, calls


def test_rlimit_helper_kills_runaway_work() -> None:
    """The CPU limit the tests above rely on really stops a runaway (so they cannot hang)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (1, 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    done = subprocess.run([sys.executable, "-c", "while True: pass"], preexec_fn=limit, check=False)
    assert done.returncode != 0


if os.name != "posix":  # pragma: no cover - resource limits are POSIX
    pytestmark = pytest.mark.skip(reason="needs POSIX resource limits")


def test_services_are_matched_to_servings_by_label_not_pairwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PRB006 compared every serving with every Service (2,000 services: 4 M comparisons)."""
    from preflight.model import graph as graph_module

    calls = {"selects": 0}
    original = graph_module.selects

    def counting(service: Any, labels: dict[str, str]) -> bool:
        calls["selects"] += 1
        return original(service, labels)

    monkeypatch.setattr(graph_module, "selects", counting)
    n = 60
    documents = "".join(
        _PORT_DEPLOYMENT.replace(": api}", f": api{i}}}").format(
            container_port=8000, probe_port=8000, service_port=80, target_port=8000
        )
        + "---\n"
        for i in range(n)
    )
    root = write_files(tmp_path / "repo", {**pkg001_tree(), "k8s/all.yaml": documents})
    result = engine(root)
    assert not result.internal_errors
    assert n <= calls["selects"] <= 2 * n, calls  # each serving looks at its own Service only
